"""Test data: factories for rows, and the real services for anything with money in it."""

from __future__ import annotations

import importlib

import factory
from django.contrib.auth.models import Group, Permission, User

from customers.models import Customer


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Faker("name", locale="en_GB")
    email = factory.LazyAttribute(lambda c: f"{c.name.lower().replace(' ', '.')}@example.com")
    phone = factory.Faker("phone_number", locale="en_GB")
    tags = factory.LazyFunction(lambda: ["Ballet Tue 4pm"])


def ensure_staff_groups() -> None:
    """The staff groups come from a data migration, which a transactional test's flush removes: put them back."""
    groups = importlib.import_module("credits.migrations.0004_staff_groups").GROUPS
    if Group.objects.filter(name__in=groups).count() == len(groups):
        return
    for name, codes in groups.items():
        group, _ = Group.objects.get_or_create(name=name)
        for code in codes:
            app_label, codename = code.split(".")
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


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
            ensure_staff_groups()
            self.groups.set(Group.objects.filter(name__in=names))
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
