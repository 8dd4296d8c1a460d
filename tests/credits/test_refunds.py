"""Refunds of unused credit (credits.refund_credit, reverse_refund) and overpayments that become credit
(billing.record_payment(..., overpayment_to_credit=True)): every rule, and a refusal writes nothing."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing import services as billing
from billing.models import Payment
from credits import services as credits
from credits.models import Credit, Refund
from tests.factories import CustomerFactory, credit_for, invoice_for
from tests.ledger import assert_ledger_clean, keep_staff_groups, refused, run_together  # noqa: F401 - fixture

D = Decimal


def figures(credit: Credit) -> tuple:
    credit.refresh_from_db()
    return credit.assigned, credit.refunded, credit.remaining, credit.status


@pytest.mark.django_db
def test_a_refund_takes_money_from_the_remaining(customer, manager):
    credit = credit_for(customer, "100.00")
    refund = credits.refund_credit(credit, "40.00", method="bank_transfer", note="Leaving at end of term", by=manager)
    assert (refund.amount, refund.method, refund.note, refund.created_by) == (
        D("40.00"),
        "bank_transfer",
        "Leaving at end of term",
        manager,
    )
    assert refund.date == datetime.date.today() and not refund.is_reversed
    assert figures(credit) == (D("0.00"), D("40.00"), D("60.00"), "unassigned")
    assert_ledger_clean()


@pytest.mark.django_db
def test_a_credit_used_up_by_assignments_and_refunds_is_refunded(customer):
    credit = credit_for(customer, "100.00")
    invoice = invoice_for(customer, "30.00")
    credits.assign_credit(credit, {invoice: "30.00"})
    credits.refund_credit(credit, "20.00")
    assert figures(credit) == (D("30.00"), D("20.00"), D("50.00"), "part_assigned")
    credits.refund_credit(credit, "50.00")
    assert figures(credit) == (D("30.00"), D("70.00"), D("0.00"), "refunded")
    assert_ledger_clean()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "more than zero"),
        ("-5.00", "more than zero"),
        ("10.001", "at most 2 decimal places"),
        ("1000000.01", "at most £1,000,000.00"),
        (25.0, "not float"),
        ("60.01", "This credit has only £60.00 left to refund."),
    ],
)
def test_it_refuses_a_bad_refund_amount(customer, amount, message):
    credit = credit_for(customer, "100.00")
    credits.assign_credit(credit, {invoice_for(customer, "40.00"): "40.00"})
    with refused(message):
        credits.refund_credit(credit, amount)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "bitcoin"}, "Choose one of: card, cash, bank_transfer, cheque, other."),
        ({"date": "31/01/2026"}, "Enter a date like 2026-01-31."),
        ({"note": "x" * 2001}, "Keep the note under 2,000 characters."),
        ({"idempotency_key": "k" * 65}, "An idempotency key is at most 64 characters."),
    ],
)
def test_it_refuses_bad_refund_details(customer, kwargs, message):
    credit = credit_for(customer, "100.00")
    with refused(message):
        credits.refund_credit(credit, "10.00", **kwargs)


@pytest.mark.django_db
def test_it_refuses_to_refund_a_used_up_credit(customer):
    credit = credit_for(customer, "40.00")
    credits.refund_credit(credit, "40.00")
    with refused(credits.NOTHING_TO_REFUND):
        credits.refund_credit(credit, "0.01")


@pytest.mark.django_db
def test_it_refuses_to_refund_a_deleted_credit(customer):
    credit = credit_for(customer, "40.00")
    credits.delete_credit(credit)
    with refused(credits.CREDIT_GONE):
        credits.refund_credit(credit, "10.00")


@pytest.mark.django_db
def test_the_same_key_twice_makes_one_refund(customer):
    credit = credit_for(customer, "100.00")
    first = credits.refund_credit(credit, "10.00", idempotency_key="form-1")
    again = credits.refund_credit(credit, "10.00", idempotency_key="form-1")
    assert again == first and Refund.objects.count() == 1
    with refused("This form was already used for a different refund."):
        credits.refund_credit(credit, "11.00", idempotency_key="form-1")


@pytest.mark.django_db
def test_a_reversal_gives_the_money_back_to_the_remaining_and_keeps_both_records(customer, manager):
    credit = credit_for(customer, "100.00")
    refund = credits.refund_credit(credit, "100.00")
    assert figures(credit)[1:] == (D("100.00"), D("0.00"), "refunded")
    reversed_ = credits.reverse_refund(refund, reason="Card payment bounced", by=manager)
    assert reversed_.is_reversed and (reversed_.reversed_by, reversed_.reversal_reason) == (
        manager,
        "Card payment bounced",
    )
    assert figures(credit)[1:] == (D("0.00"), D("100.00"), "unassigned")
    assert Refund.objects.get().amount == D("100.00")
    events = list(Refund.pgh_event_model.objects.order_by("pgh_id").values_list("pgh_label", "pgh_context__metadata"))
    assert [(label, context["action"]) for label, context in events] == [
        ("insert", "refund_credit"),
        ("update", "reverse_refund"),
    ]
    assert events[1][1]["username"] == manager.get_username()
    assert_ledger_clean()


@pytest.mark.django_db
def test_it_refuses_to_reverse_twice_or_without_a_reason(customer, manager):
    refund = credits.refund_credit(credit_for(customer, "100.00"), "10.00")
    for reason in ["", "   ", None]:
        with refused(credits.NO_REVERSAL_REASON):
            credits.reverse_refund(refund, reason=reason)
    credits.reverse_refund(refund, reason="Typed the wrong amount", by=manager)
    with refused(f"This refund was already reversed by {manager.get_username()} on"):
        credits.reverse_refund(refund, reason="Again")
    with refused(credits.REFUND_GONE):
        credits.reverse_refund(123456789, reason="No such refund")


@pytest.mark.django_db
def test_a_credit_with_a_refund_is_never_deleted_even_once_reversed(customer):
    credit = credit_for(customer, "100.00")
    refund = credits.refund_credit(credit, "10.00")
    with refused(credits.HAS_REFUNDS):
        credits.delete_credit(credit)
    credits.reverse_refund(refund, reason="Mistake")
    with refused(credits.HAS_REFUNDS):
        credits.delete_credit(credit)


@pytest.mark.django_db
def test_the_amount_cannot_go_below_assigned_and_refunded(customer):
    credit = credit_for(customer, "100.00")
    credits.assign_credit(credit, {invoice_for(customer, "30.00"): "30.00"})
    credits.refund_credit(credit, "20.00")
    with refused("£30.00 of this credit is assigned and £20.00 refunded; the amount cannot be less than £50.00."):
        credits.update_credit(credit, amount="49.99")
    assert credits.update_credit(credit, amount="50.00").status == "refunded"


@pytest.mark.django_db
def test_a_batch_with_a_refunded_credit_cannot_be_undone(manager):
    CustomerFactory.create_batch(3)
    batch = credits.add_bulk_credits(CustomerFactory._meta.model.objects.all(), "10.00", by=manager)
    refund = credits.refund_credit(batch.credits.first(), "5.00")
    credits.reverse_refund(refund, reason="Mistake")
    with refused("1 of this batch's credits has refunds, so the batch cannot be undone"):
        credits.undo_batch(batch)


@pytest.mark.django_db
def test_auto_apply_and_apply_available_credit_use_what_is_left_after_refunds(customer):
    credit = credit_for(customer, "100.00", auto_apply=True)
    credits.refund_credit(credit, "70.00")
    invoice = invoice_for(customer, "50.00")
    assert (invoice.credited, invoice.outstanding) == (D("30.00"), D("20.00"))
    credits.update_credit(credit, amount="120.00")
    assert credits.apply_available_credit(invoice) == D("20.00")
    assert figures(credit) == (D("50.00"), D("70.00"), D("0.00"), "refunded")
    assert_ledger_clean()


# Overpayments.


@pytest.mark.django_db
def test_an_overpayment_is_refused_unless_asked(customer):
    invoice = invoice_for(customer, "100.00")
    with refused("That is more than the £100.00 outstanding on"):
        billing.record_payment(invoice, "150.00")


@pytest.mark.django_db
def test_an_overpayment_settles_the_invoice_and_puts_the_extra_on_the_account(customer, staff):
    invoice = invoice_for(customer, "100.00")
    payment = billing.record_payment(invoice, "150.00", overpayment_to_credit=True, by=staff, idempotency_key="p-1")
    invoice.refresh_from_db()
    assert (payment.amount, invoice.status, invoice.outstanding) == (D("100.00"), "paid", D("0.00"))
    credit = Credit.objects.get()
    assert payment.overpayment_credit == credit
    assert (credit.customer, credit.amount, credit.reason, credit.auto_apply, credit.created_by) == (
        customer,
        D("50.00"),
        "overpayment",
        True,
        staff,
    )
    assert credit.note == f"Overpayment of {invoice}: £150.00 paid, £100.00 outstanding."
    # The same form again records nothing more.
    again = billing.record_payment(invoice, "150.00", overpayment_to_credit=True, by=staff, idempotency_key="p-1")
    assert (again, again.overpayment_credit) == (payment, None)
    assert (Payment.objects.count(), Credit.objects.count()) == (1, 1)
    # The next invoice takes the credit.
    assert invoice_for(customer, "20.00").credited == D("20.00")
    assert_ledger_clean()


@pytest.mark.django_db
def test_a_payment_within_the_outstanding_makes_no_credit_even_when_allowed(customer):
    invoice = invoice_for(customer, "100.00")
    payment = billing.record_payment(invoice, "100.00", overpayment_to_credit=True)
    assert payment.overpayment_credit is None and Credit.objects.count() == 0


@pytest.mark.django_db
def test_a_refused_overpayment_writes_neither_payment_nor_credit(customer):
    invoice = invoice_for(customer, "100.00")
    billing.record_payment(invoice, "100.00")
    with refused(billing.INVOICE_PAID):
        billing.record_payment(invoice, "50.00", overpayment_to_credit=True)


# Races.


@pytest.mark.usefixtures("keep_staff_groups")  # before transactional_db, so it tidies up after the flush
def test_two_refunds_of_the_last_40_at_once_one_wins(transactional_db):
    credit = credit_for(CustomerFactory(), "40.00")
    results = run_together([lambda: credits.refund_credit(credit, "40.00")] * 2)
    made = [r for r in results if isinstance(r, Refund)]
    refused_ = [r for r in results if isinstance(r, ValidationError)]
    assert len(made) == 1 and len(refused_) == 1, results
    assert refused_[0].messages == [credits.NOTHING_TO_REFUND]
    assert figures(credit)[1:] == (D("40.00"), D("0.00"), "refunded")


@pytest.mark.usefixtures("keep_staff_groups")
def test_a_refund_and_an_assignment_of_the_same_money_at_once_one_wins(transactional_db):
    customer = CustomerFactory()
    credit = credit_for(customer, "40.00")
    invoice = invoice_for(customer, "40.00")
    results = run_together(
        [lambda: credits.refund_credit(credit, "40.00"), lambda: credits.assign_credit(credit, {invoice: "40.00"})]
    )
    assert sum(isinstance(r, ValidationError) for r in results) == 1, results
    credit.refresh_from_db()
    assert credit.remaining == D("0.00")
    assert_ledger_clean()
