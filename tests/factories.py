"""Test data: factories for rows, and the real services for anything with money in it."""

from __future__ import annotations

import factory
from django.contrib.auth.models import Group, User

from credits.roles import ensure_staff_groups
from customers.models import Customer


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Faker("name", locale="en_GB")
    email = factory.LazyAttribute(lambda c: f"{c.name.lower().replace(' ', '.')}@example.com")
    phone = factory.Faker("phone_number", locale="en_GB")
    tags = factory.LazyFunction(lambda: ["Ballet Tue 4pm"])


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@studio.example")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def groups(self, create: bool, names: list[str] | None, **kwargs) -> None:
        if create and names:
            if Group.objects.filter(name__in=names).count() < len(set(names)):
                ensure_staff_groups()  # the migration made them, but a transactional test's flush removed them
            groups = list(Group.objects.filter(name__in=names))
            assert len(groups) == len(set(names)), f"no such group among {names}: a user without it would prove nothing"
            self.groups.set(groups)
        if create:
            self.save()


def invoice_for(customer: Customer, *prices: str, by=None, **kwargs):
    """An invoice with one line per price, raised through the billing service (so auto-apply runs)."""
    from billing import services as billing

    lines = [(f"Class {n}", 1, price) for n, price in enumerate(prices or ("100.00",), start=1)]
    return billing.create_invoice(customer, lines, by=by, **kwargs)


def credit_for(customer: Customer, amount: str = "50.00", *, auto_apply: bool = False, by=None, **kwargs):
    """A credit added through the credits service; auto-apply off unless asked, so tests choose where it goes."""
    from credits import services as credits

    return credits.add_credit(customer, amount, auto_apply=auto_apply, by=by, **kwargs)
