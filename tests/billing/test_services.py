"""billing.services: every function's happy path and every rule it enforces (a refusal writes nothing)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from billing import services as billing
from billing.models import Invoice, InvoiceStatus, Payment
from credits import services as credits
from credits.models import CreditAssignment
from customers.models import Customer
from tests.factories import CustomerFactory, credit_for, invoice_for
from tests.ledger import ledger_fingerprint, refused

pytestmark = pytest.mark.django_db

D = Decimal


# create_invoice


def test_it_creates_an_invoice_with_its_lines(customer, staff):
    invoice = billing.create_invoice(
        customer, [("Ballet — autumn term", 1, "120.00"), ("Leotard", 2, "15.50")], issue_date="2026-01-05", by=staff
    )
    assert [(line.description, line.quantity, line.amount) for line in invoice.lines.all()] == [
        ("Ballet — autumn term", 1, D("120.00")),
        ("Leotard", 2, D("31.00")),
    ]
    assert (invoice.total, invoice.paid, invoice.credited, invoice.outstanding) == (
        D("151.00"),
        D("0"),
        D("0"),
        D("151.00"),
    )
    assert (invoice.status, InvoiceStatus(invoice.status).label, invoice.created_by) == (
        "unpaid",
        "Awaiting payment",
        staff,
    )
    assert (invoice.issue_date, invoice.due_date) == (datetime.date(2026, 1, 5), datetime.date(2026, 1, 19))
    assert invoice.events.get(pgh_label="insert").pgh_context.metadata["action"] == "create_invoice"


def test_it_numbers_invoices_in_sequence(customer):
    first, second = invoice_for(customer, "10.00"), invoice_for(customer, "10.00")
    assert second.number == first.number + 1
    assert str(first) == f"INV-{first.number:06d}"


def test_it_takes_a_due_date_and_a_quantity_written_as_text(customer):
    invoice = billing.create_invoice(customer, [("Swim", "3", "10.00")], issue_date="2026-01-05", due_date="2026-01-05")
    assert (invoice.total, invoice.due_date) == (D("30.00"), datetime.date(2026, 1, 5))


def test_it_settles_a_new_invoice_from_auto_apply_credit(customer):
    credit = credit_for(customer, "30.00", auto_apply=True)
    invoice = invoice_for(customer, "100.00")
    credit.refresh_from_db()
    assert (invoice.credited, invoice.outstanding, invoice.status) == (D("30.00"), D("70.00"), "part_paid")
    assert (credit.remaining, credit.status) == (D("0.00"), "fully_assigned")


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        pytest.param([], "Add at least one line", id="no-lines"),
        pytest.param([("Ballet", 1)], "give a description, a quantity and a unit price", id="two-parts"),
        pytest.param([None], "give a description, a quantity and a unit price", id="none"),
        pytest.param([("", 1, "10.00")], "enter a description", id="empty-description"),
        pytest.param([("   ", 1, "10.00")], "enter a description", id="blank-description"),
        pytest.param([("x" * 201, 1, "10.00")], "under 200 characters", id="long-description"),
        pytest.param([("Ballet", 0, "10.00")], "whole number from 1 to 10,000", id="zero-quantity"),
        pytest.param([("Ballet", -1, "10.00")], "whole number from 1 to 10,000", id="negative-quantity"),
        pytest.param([("Ballet", 10_001, "10.00")], "whole number from 1 to 10,000", id="huge-quantity"),
        pytest.param([("Ballet", 1.5, "10.00")], "whole number from 1 to 10,000", id="float-quantity"),
        pytest.param([("Ballet", True, "10.00")], "whole number from 1 to 10,000", id="bool-quantity"),
        pytest.param([("Ballet", "٣", "10.00")], "whole number from 1 to 10,000", id="arabic-indic-quantity"),
        pytest.param([("Ballet", 1, 10.0)], "not float", id="float-price"),
        pytest.param([("Ballet", 1, "0.00")], "more than zero", id="zero-price"),
        pytest.param([("Ballet", 1, "-10.00")], "more than zero", id="negative-price"),
        pytest.param([("Ballet", 1, "10.001")], "at most 2 decimal places", id="three-places"),
        pytest.param([("Ballet", 1, "NaN")], "as a number", id="nan-price"),
        pytest.param([("Ballet", 1, "1e309")], "as a number", id="1e309-price"),
        pytest.param([("Ballet", 1, "1000000.01")], "at most £1,000,000.00", id="price-too-large"),
        pytest.param([("Ballet", 1, "1.00")] * 201, "at most 200 lines", id="too-many-lines"),
        pytest.param(
            [("Ballet", 10_000, "1000000.00")] * 101, "total can be at most £1,000,000.00", id="total-overflows"
        ),
        pytest.param([("Ballet", 2, "500000.01")], "total can be at most £1,000,000.00", id="total-too-large"),
        pytest.param(
            [("Ballet", 1, "10.00"), ("Swim", 1, "ten")], "Line 2: Enter the amount as a number", id="second-line-bad"
        ),
    ],
)
def test_it_refuses_bad_invoice_lines(customer, lines, message):
    with refused(message):
        billing.create_invoice(customer, lines)


def test_it_accepts_an_invoice_of_exactly_the_largest_total(customer):
    assert invoice_for(customer, "600000.00", "400000.00").total == D("1000000.00")


@pytest.mark.parametrize(
    ("dates", "message"),
    [
        ({"issue_date": "2026-02-30"}, "Enter a date"),
        ({"issue_date": datetime.date(2001, 1, 1)}, "more than ten years ago"),
        ({"due_date": "soon"}, "Enter a date"),
        ({"issue_date": "2026-01-10", "due_date": "2026-01-09"}, "cannot be before the issue date"),
    ],
)
def test_it_refuses_bad_invoice_dates(customer, dates, message):
    with refused(message):
        billing.create_invoice(customer, [("Ballet", 1, "10.00")], **dates)


def test_it_refuses_an_invoice_for_a_customer_that_does_not_exist():
    with refused("customer does not exist"):
        billing.create_invoice(Customer(pk=987654), [("Ballet", 1, "10.00")])


def test_it_returns_the_first_invoice_when_the_same_key_comes_again(customer, staff):
    lines = [("Ballet — autumn term", 1, "120.00"), ("Leotard", 2, "15.50")]
    first = billing.create_invoice(customer, lines, issue_date="2026-01-05", idempotency_key="form-1", by=staff)
    before = ledger_fingerprint()
    again = billing.create_invoice(
        customer.pk, [("Ballet — autumn term", "1", D("120")), ("Leotard", 2, "15.50")], issue_date="2026-01-05",
        due_date="2026-01-19", idempotency_key="form-1", by=staff,
    )  # fmt: skip
    assert ledger_fingerprint() == before
    assert (again.pk, again.total, again.customer) == (first.pk, D("151.00"), customer)


@pytest.mark.parametrize(
    "changes",
    [
        {"customer": "another"},
        {"lines": [("Ballet — autumn term", 1, "120.00")]},
        {"lines": [("Ballet — autumn term", 1, "120.00"), ("Leotard", 3, "15.50")]},
        {"lines": [("Leotard", 2, "15.50"), ("Ballet — autumn term", 1, "120.00")]},
        {"issue_date": "2026-01-06"},
        {"due_date": "2026-02-05"},
    ],
    ids=["customer", "fewer-lines", "quantity", "line-order", "issue-date", "due-date"],
)
def test_it_refuses_the_same_key_for_a_different_invoice(customer, changes):
    asked = {"lines": [("Ballet — autumn term", 1, "120.00"), ("Leotard", 2, "15.50")], "issue_date": "2026-01-05"}
    billing.create_invoice(customer, **asked, idempotency_key="form-1")
    who = CustomerFactory() if changes.pop("customer", None) else customer
    with refused("This form was already used for a different invoice."):
        billing.create_invoice(who, **{**asked, **changes}, idempotency_key="form-1")
    assert Invoice.objects.count() == 1


def test_it_refuses_an_invoice_key_that_is_too_long(customer):
    with refused("An idempotency key is at most 64 characters."):
        billing.create_invoice(customer, [("Ballet", 1, "10.00")], idempotency_key="k" * 65)


# record_payment


def test_it_records_payments_until_the_invoice_is_paid(customer, staff):
    invoice = invoice_for(customer, "100.00")
    payment = billing.record_payment(invoice, "40.00", date="2026-01-07", method="cash", by=staff)
    assert (payment.amount, payment.date, payment.method, payment.created_by) == (
        D("40.00"),
        datetime.date(2026, 1, 7),
        "cash",
        staff,
    )
    invoice.refresh_from_db()
    assert (invoice.paid, invoice.outstanding, invoice.status) == (D("40.00"), D("60.00"), "part_paid")
    billing.record_payment(invoice, 60)
    invoice.refresh_from_db()
    assert (invoice.paid, invoice.outstanding, invoice.status) == (D("100.00"), D("0.00"), "paid")
    assert payment.events.get(pgh_label="insert").pgh_context.metadata["username"] == "sam.staff"


def test_it_returns_the_first_payment_when_the_same_key_comes_again_even_on_the_invoice_it_paid(customer):
    invoice = invoice_for(customer, "100.00")
    first = billing.record_payment(invoice, "100.00", date="2026-01-07", method="cash", idempotency_key="form-1")
    before = ledger_fingerprint()
    again = billing.record_payment(invoice.pk, D("100"), date="2026-01-07", method="cash", idempotency_key="form-1")
    assert ledger_fingerprint() == before
    assert again.pk == first.pk and Payment.objects.count() == 1


@pytest.mark.parametrize(
    "changes",
    [{"amount": "40.01"}, {"date": "2026-01-08"}, {"method": "card"}, {"invoice": "another"}],
    ids=["amount", "date", "method", "invoice"],
)
def test_it_refuses_the_same_key_for_a_different_payment(customer, changes):
    invoice, other = invoice_for(customer, "100.00"), invoice_for(customer, "100.00")
    asked = {"amount": "40.00", "date": "2026-01-07", "method": "cash"}
    billing.record_payment(invoice, **asked, idempotency_key="form-1")
    target = other if changes.pop("invoice", None) else invoice
    with refused("This form was already used for a different payment."):
        billing.record_payment(target, **{**asked, **changes}, idempotency_key="form-1")
    assert Payment.objects.count() == 1


def test_it_dates_a_payment_today_and_takes_card_by_default(customer):
    payment = billing.record_payment(invoice_for(customer, "10.00"), D("5.00"))
    assert (payment.date, payment.method) == (timezone.localdate(), "card")


def test_it_refuses_a_payment_on_a_void_invoice(customer):
    invoice = billing.void_invoice(invoice_for(customer, "100.00"))
    with refused("This invoice is void"):
        billing.record_payment(invoice, "10.00")


def test_it_refuses_a_payment_on_a_paid_invoice(customer):
    invoice = invoice_for(customer, "100.00")
    billing.record_payment(invoice, "100.00")
    with refused("already paid"):
        billing.record_payment(invoice, "0.01")


def test_it_refuses_a_payment_over_what_credits_and_payments_left_outstanding(customer):
    invoice = invoice_for(customer, "100.00")
    credits.assign_credit(credit_for(customer, "30.00"), {invoice: "30.00"})
    billing.record_payment(invoice, "50.00")
    with refused("more than the £20.00 outstanding"):
        billing.record_payment(invoice, "20.01")


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (10.0, "not float"),
        ("10.001", "at most 2 decimal places"),
        ("0", "more than zero"),
        ("-1", "more than zero"),
        ("1000000.01", "at most £1,000,000.00"),
        ("Infinity", "as a number"),
        ("１０", "as a number"),
    ],
)
def test_it_refuses_a_bad_payment_amount(customer, amount, message):
    invoice = invoice_for(customer, "100.00")
    with refused(message):
        billing.record_payment(invoice, amount)


def test_it_refuses_a_bad_payment_method_or_date(customer):
    invoice = invoice_for(customer, "100.00")
    with refused("Choose one of: card, cash"):
        billing.record_payment(invoice, "10.00", method="bitcoin")
    with refused("Enter a date"):
        billing.record_payment(invoice, "10.00", date="2026-02-30")
    with refused("more than a year ahead"):
        billing.record_payment(invoice, "10.00", date=timezone.localdate() + datetime.timedelta(days=400))


def test_it_refuses_a_payment_on_an_invoice_that_does_not_exist():
    with refused("That invoice does not exist"):
        billing.record_payment(Invoice(pk=987654), "10.00")


# void_invoice


def test_it_voids_an_invoice_and_releases_its_credits(customer, manager):
    credit = credit_for(customer, "250.00")
    invoice, other = invoice_for(customer, "100.00"), invoice_for(customer, "200.00")
    credits.assign_credit(credit, {invoice: "100.00", other: "150.00"})
    voided = billing.void_invoice(invoice, by=manager)
    credit.refresh_from_db()
    assert (voided.status, voided.outstanding, voided.credited, voided.voided_by) == (
        "void",
        D("0.00"),
        D("0.00"),
        manager,
    )
    assert voided.total == D("100.00")
    assert (credit.assigned, credit.remaining, credit.status) == (D("150.00"), D("100.00"), "part_assigned")
    removed = CreditAssignment.pgh_event_model.objects.get(invoice_id=invoice.pk, pgh_label="delete")
    assert removed.pgh_context.metadata["action"] == "void_invoice"


def test_it_refuses_to_void_an_invoice_with_payments(customer):
    invoice = invoice_for(customer, "100.00")
    billing.record_payment(invoice, "0.01")
    with refused("£0.01 has been paid on this invoice"):
        billing.void_invoice(invoice)


def test_it_refuses_to_void_an_invoice_twice(customer):
    invoice = billing.void_invoice(invoice_for(customer, "100.00"))
    with refused("already void"):
        billing.void_invoice(invoice)


def test_it_refuses_to_void_an_invoice_that_does_not_exist():
    with refused("That invoice does not exist"):
        billing.void_invoice(Invoice(pk=987654))


def test_a_void_invoice_takes_no_auto_apply_credit_later(customer):
    invoice = billing.void_invoice(invoice_for(customer, "100.00"))
    credit_for(customer, "50.00", auto_apply=True)
    later = invoice_for(customer, "20.00")
    assert not CreditAssignment.objects.filter(invoice=invoice).exists()
    assert later.credited == D("20.00")  # the credit was there to take: the next invoice took it
    assert Payment.objects.count() == 0
