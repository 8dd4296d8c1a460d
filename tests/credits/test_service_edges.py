"""Odd input from developers in the shell gets a ValidationError, never a crash, and writes nothing."""

from decimal import Decimal

from credits import services as credits
from credits.models import CreditBatch
from customers.models import Customer
from tests.ledger import refused


def test_it_refuses_three_decimal_places_even_when_the_last_is_zero(customer):
    with refused("at most 2 decimal places"):
        credits.add_credit(customer, "10.100")


def test_it_refuses_a_customer_id_that_is_not_a_number(customer):
    with refused("Choose customers from the list"):
        credits.add_bulk_credits([customer.pk, "x"], "5.00")


def test_it_credits_a_sliced_queryset(customer):
    batch = credits.add_bulk_credits(Customer.objects.order_by("pk")[:1], "5.00")
    assert (batch.count, batch.total) == (1, Decimal("5.00"))


def test_it_treats_a_version_that_is_not_a_number_as_stale(customer):
    credit = credits.add_credit(customer, "10.00")
    with refused("Someone else changed this credit"):
        credits.update_credit(credit, note="changed", version="abc")


def test_it_refuses_an_invoice_key_that_is_not_an_invoice(customer):
    credit = credits.add_credit(customer, "10.00")
    with refused("is not an invoice"):
        credits.assign_credit(credit, {"abc": "5.00"})


def test_it_refuses_to_undo_a_batch_that_does_not_exist(db):
    with refused("This batch does not exist"):
        credits.undo_batch(CreditBatch(pk=999_999))
