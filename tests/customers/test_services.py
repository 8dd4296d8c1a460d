"""customers.services: what the views, the shell and the tests call to add and edit customers."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from customers import services
from customers.models import Customer
from idempotency.models import IdempotencyKey

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


DETAILS = {"name": "Beth Parent", "email": "beth@example.com", "phone": "07700 900123", "tags": "Ballet Tue 4pm"}


def test_it_returns_the_first_customer_when_the_same_key_comes_again(staff):
    first = services.create_customer(**DETAILS, idempotency_key="form-1", by=staff)
    again = services.create_customer(
        **{**DETAILS, "name": " Beth Parent ", "tags": ["Ballet Tue 4pm", "ballet tue 4pm"]}, idempotency_key="form-1"
    )
    assert again.pk == first.pk and Customer.objects.count() == 1
    assert IdempotencyKey.objects.get().created == first


@pytest.mark.parametrize("field", ["name", "email", "phone", "tags", "notes"])
def test_it_refuses_the_same_key_for_a_different_customer(field):
    services.create_customer(**DETAILS, idempotency_key="form-1")
    changed = {**DETAILS, field: "x@example.com" if field == "email" else "01632 960000" if field == "phone" else "X"}
    with pytest.raises(ValidationError) as refused:
        services.create_customer(**changed, idempotency_key="form-1")
    assert refused.value.messages == [
        "This form was already used for a different customer. Reload the page to start a new one."
    ]
    assert Customer.objects.count() == 1 and IdempotencyKey.objects.count() == 1


def test_a_deleted_customer_does_not_free_its_key():
    services.create_customer(**DETAILS, idempotency_key="form-1").delete()
    with pytest.raises(ValidationError) as refused:
        services.create_customer(**DETAILS, idempotency_key="form-1")
    assert refused.value.messages == [
        "This form already made a customer, which has since been deleted. Reload the page to start a new one."
    ]
    assert not Customer.objects.exists()


def test_a_customer_refused_for_bad_details_leaves_the_key_free():
    with pytest.raises(ValidationError):
        services.create_customer(**{**DETAILS, "email": "nope"}, idempotency_key="form-1")
    assert not IdempotencyKey.objects.exists()
    assert services.create_customer(**DETAILS, idempotency_key="form-1").name == "Beth Parent"


def test_it_refuses_a_customer_key_that_is_too_long():
    with pytest.raises(ValidationError) as refused:
        services.create_customer(**DETAILS, idempotency_key="k" * 65)
    assert refused.value.message_dict == {"idempotency_key": ["An idempotency key is at most 64 characters."]}
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
