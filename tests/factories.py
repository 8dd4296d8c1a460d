"""Test data: factories for rows, and the real services for anything with money in it."""

from __future__ import annotations

import factory
from django.contrib.auth.models import Group, User

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
            self.groups.set(Group.objects.filter(name__in=names))
        if create:
            self.save()
