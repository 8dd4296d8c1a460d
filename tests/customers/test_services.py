"""customers.services: what the views, the shell and the tests call to add and edit customers."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from customers import services
from customers.models import Customer

pytestmark = pytest.mark.django_db


def test_it_creates_a_customer_with_clean_tags(staff):
    customer = services.create_customer(
        name=" Amy Parent ", email="amy@example.com", tags="Ballet Tue 4pm, , ballet tue 4pm,Swim  Sat 10am", by=staff
    )
    customer.refresh_from_db()
    assert (customer.name, customer.email, customer.tags) == (
        "Amy Parent",
        "amy@example.com",
        ["Ballet Tue 4pm", "Swim Sat 10am"],
    )


@pytest.mark.parametrize(
    ("details", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "Amy", "email": "nope"}, "email"),
        ({"name": "Amy", "tags": ["x" * 101]}, "tags"),
    ],
)
def test_it_refuses_bad_details_and_writes_nothing(details, field):
    with pytest.raises(ValidationError) as refused:
        services.create_customer(**details)
    assert field in refused.value.message_dict
    assert not Customer.objects.exists()


def test_it_updates_details(customer, manager):
    services.update_customer(
        customer,
        name="Amy Parent-Jones",
        email="",
        phone="01632 960000",
        tags=["Tap Wed 5pm"],
        notes="Moved",
        by=manager,
    )
    customer.refresh_from_db()
    assert (customer.name, customer.email, customer.phone, customer.tags, customer.notes) == (
        "Amy Parent-Jones",
        "",
        "01632 960000",
        ["Tap Wed 5pm"],
        "Moved",
    )


def test_a_refused_update_changes_nothing(customer, manager):
    with pytest.raises(ValidationError):
        services.update_customer(customer, name="", by=manager)
    customer.refresh_from_db()
    assert customer.name == "Amy Parent"


def test_updating_a_customer_that_is_gone_is_a_clear_error(customer):
    gone = Customer(pk=customer.pk + 1000, name="Nobody")
    with pytest.raises(ValidationError, match="no longer exists"):
        services.update_customer(gone, name="Somebody")
