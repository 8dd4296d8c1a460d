"""Each money rule, proved in PostgreSQL itself: we go around the services and the database refuses."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, ProgrammingError, connection, transaction
from django.utils import timezone

from billing.models import Invoice, InvoiceLine, Payment
from credits.management.commands.check_ledger import find_mismatches
from credits.models import Credit, CreditAssignment, CreditBatch
from tests.factories import CustomerFactory, credit_for, invoice_for

pytestmark = pytest.mark.django_db


@contextlib.contextmanager
def refused(error: type[DatabaseError], match: str):
    """The block must be refused by the database with this kind of error; the test transaction carries on."""
    with pytest.raises(error, match=match), transaction.atomic():
        yield


def sql(statement: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def figures(invoice: Invoice) -> tuple:
    invoice.refresh_from_db()
    return invoice.total, invoice.paid, invoice.credited, invoice.outstanding, invoice.status


@pytest.fixture
def invoice(customer):
    return invoice_for(customer, "100.00")


@pytest.fixture
def credit(customer):
    return credit_for(customer, "50.00")


# Amounts are more than zero (and at most £1,000,000.00).


@pytest.mark.parametrize("amount", ["0.00", "-5.00", "1000000.01"])
def test_it_refuses_a_credit_amount_out_of_range_written_with_update(credit, amount):
    with refused(IntegrityError, "credit_amount_in_range"):
        Credit.objects.filter(pk=credit.pk).update(amount=Decimal(amount))
    credit.refresh_from_db()
    assert credit.amount == Decimal("50.00")


def test_it_refuses_a_zero_credit_from_bulk_create(customer):
    with refused(IntegrityError, "credit_amount_in_range"):
        Credit.objects.bulk_create([Credit(customer=customer, amount=Decimal("0.00"))])
    assert Credit.objects.count() == 0


def test_it_refuses_a_negative_payment_from_raw_sql(invoice):
    with refused(IntegrityError, "payment_amount_in_range"):
        sql(
            "INSERT INTO billing_payment (invoice_id, amount, date, method, created_at) VALUES (%s, -10, now(), 'card', now())",
            [invoice.pk],
        )
    assert figures(invoice)[1] == Decimal("0.00")


def test_it_refuses_a_zero_assignment_from_bulk_create(credit, invoice):
    with refused(IntegrityError, "assignment_amount_in_range"):
        CreditAssignment.objects.bulk_create([CreditAssignment(credit=credit, invoice=invoice, amount=Decimal("0.00"))])
    assert CreditAssignment.objects.count() == 0


def test_it_refuses_a_line_with_a_zero_price(invoice):
    with refused(IntegrityError, "line_price_in_range"):
        InvoiceLine.objects.create(invoice=invoice, description="Free", quantity=1, unit_price=Decimal("0.00"))
    assert figures(invoice)[0] == Decimal("100.00")


def test_it_refuses_a_batch_with_a_negative_amount(customer):
    with refused(IntegrityError, "batch_amount_in_range"):
        CreditBatch.objects.create(
            amount=Decimal("-1.00"), date=timezone.localdate(), reason="other", count=1, total=Decimal("-1.00")
        )
    assert CreditBatch.objects.count() == 0


# A credit's assignments never exceed its amount.


def test_it_refuses_an_assignment_beyond_what_the_credit_has_left(customer, credit):
    big = invoice_for(customer, "500.00")
    CreditAssignment.objects.create(credit=credit, invoice=big, amount=Decimal("30.00"))
    with refused(IntegrityError, "credit_not_overassigned"):
        CreditAssignment.objects.bulk_create([CreditAssignment(credit=credit, invoice=big, amount=Decimal("20.01"))])
    credit.refresh_from_db()
    assert (credit.assigned, credit.remaining) == (Decimal("30.00"), Decimal("20.00"))


def test_it_refuses_raw_sql_that_over_assigns_a_credit_across_two_invoices(customer, credit):
    first, second = invoice_for(customer, "40.00"), invoice_for(customer, "40.00")
    with refused(IntegrityError, "credit_not_overassigned"):
        sql(
            "INSERT INTO credits_creditassignment (credit_id, invoice_id, amount, created_at) VALUES (%s, %s, 30, now()), (%s, %s, 30, now())",
            [credit.pk, first.pk, credit.pk, second.pk],
        )
    assert CreditAssignment.objects.count() == 0


def test_it_refuses_lowering_a_credit_below_what_is_assigned(credit, invoice):
    CreditAssignment.objects.create(credit=credit, invoice=invoice, amount=Decimal("40.00"))
    with refused(IntegrityError, "credit_not_overassigned"):
        Credit.objects.filter(pk=credit.pk).update(amount=Decimal("39.99"))
    credit.refresh_from_db()
    assert credit.amount == Decimal("50.00")


# An invoice's payments and credits never exceed its total.


def test_it_refuses_a_payment_beyond_the_outstanding(invoice):
    Payment.objects.create(invoice=invoice, amount=Decimal("60.00"))
    with refused(IntegrityError, "invoice_not_oversettled"):
        Payment.objects.create(invoice=invoice, amount=Decimal("40.01"))
    assert figures(invoice)[1:4] == (Decimal("60.00"), Decimal("0.00"), Decimal("40.00"))


def test_it_refuses_a_credit_that_with_payments_over_settles_the_invoice(customer, invoice):
    credit = credit_for(customer, "500.00")
    sql(
        "INSERT INTO billing_payment (invoice_id, amount, date, method, created_at) VALUES (%s, 70, now(), 'card', now())",
        [invoice.pk],
    )
    with refused(IntegrityError, "invoice_not_oversettled"):
        sql(
            "INSERT INTO credits_creditassignment (credit_id, invoice_id, amount, created_at) VALUES (%s, %s, 30.01, now())",
            [credit.pk, invoice.pk],
        )
    assert figures(invoice)[1:3] == (Decimal("70.00"), Decimal("0.00"))


def test_it_refuses_removing_a_line_that_the_payments_need(customer):
    invoice = invoice_for(customer, "60.00", "40.00")
    Payment.objects.create(invoice=invoice, amount=Decimal("90.00"))
    with refused(IntegrityError, "invoice_not_oversettled"):
        InvoiceLine.objects.filter(invoice=invoice, unit_price=Decimal("40.00")).delete()
    assert figures(invoice)[0] == Decimal("100.00")


# An assignment joins a credit and an invoice of the same customer.


def test_it_refuses_assigning_a_credit_to_another_customers_invoice(credit):
    other_invoice = invoice_for(CustomerFactory(), "100.00")
    with refused(IntegrityError, "same customer"):
        CreditAssignment.objects.create(credit=credit, invoice=other_invoice, amount=Decimal("10.00"))
    assert figures(other_invoice)[2] == Decimal("0.00")


def test_it_refuses_moving_an_assigned_credit_to_another_customer(credit, invoice):
    CreditAssignment.objects.create(credit=credit, invoice=invoice, amount=Decimal("10.00"))
    other = CustomerFactory()
    with refused(ProgrammingError, "Cannot update rows from credits_credit table"):
        Credit.objects.filter(pk=credit.pk).update(customer=other)
    assert Credit.objects.get(pk=credit.pk).customer_id == invoice.customer_id


def test_it_refuses_moving_a_credited_invoice_to_another_customer(credit, invoice):
    CreditAssignment.objects.create(credit=credit, invoice=invoice, amount=Decimal("10.00"))
    other = CustomerFactory()
    with refused(ProgrammingError, "Cannot update rows from billing_invoice table"):
        sql("UPDATE billing_invoice SET customer_id = %s WHERE id = %s", [other.pk, invoice.pk])
    assert Invoice.objects.get(pk=invoice.pk).customer_id == credit.customer_id


# Nothing is assigned to (or paid on) a void invoice.


def test_it_refuses_assigning_to_a_void_invoice(credit, invoice):
    Invoice.objects.filter(pk=invoice.pk).update(voided_at=timezone.now())
    with refused(IntegrityError, "void invoice"):
        CreditAssignment.objects.create(credit=credit, invoice=invoice, amount=Decimal("10.00"))
    assert CreditAssignment.objects.count() == 0


def test_it_refuses_voiding_an_invoice_that_still_holds_a_credit(credit, invoice):
    CreditAssignment.objects.create(credit=credit, invoice=invoice, amount=Decimal("10.00"))
    with refused(IntegrityError, "invoice_void_settles_nothing"):
        Invoice.objects.filter(pk=invoice.pk).update(voided_at=timezone.now())
    assert figures(invoice)[4] == "part_paid"


def test_it_refuses_a_payment_on_a_void_invoice(invoice):
    Invoice.objects.filter(pk=invoice.pk).update(voided_at=timezone.now())
    with refused(IntegrityError, "invoice_void_settles_nothing"):
        Payment.objects.create(invoice=invoice, amount=Decimal("10.00"))
    assert figures(invoice)[1:] == (Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), "void")


# Stored totals cannot be written directly, and always equal the rows.


@pytest.mark.parametrize("field", ["total", "paid", "credited"])
def test_it_refuses_writing_an_invoice_figure_with_update(invoice, field):
    with refused(IntegrityError, "kept by the database"):
        Invoice.objects.filter(pk=invoice.pk).update(**{field: Decimal("1.00")})
    assert figures(invoice)[:3] == (Decimal("100.00"), Decimal("0.00"), Decimal("0.00"))


def test_it_refuses_inserting_an_invoice_with_a_made_up_total(customer):
    with refused(IntegrityError, "kept by the database"):
        sql(
            "INSERT INTO billing_invoice (customer_id, issue_date, due_date, total, paid, credited, created_at) "
            "VALUES (%s, now(), now(), 100, 0, 0, now())",
            [customer.pk],
        )
    assert Invoice.objects.count() == 0


def test_it_refuses_writing_a_credits_assigned_figure_with_update(credit):
    with refused(IntegrityError, "kept by the database"):
        Credit.objects.filter(pk=credit.pk).update(assigned=Decimal("10.00"))
    credit.refresh_from_db()
    assert (credit.assigned, credit.remaining) == (Decimal("0.00"), Decimal("50.00"))


def test_it_refuses_a_credit_created_already_assigned(customer):
    with refused(IntegrityError, "kept by the database"):
        Credit.objects.bulk_create([Credit(customer=customer, amount=Decimal("50.00"), assigned=Decimal("50.00"))])
    assert Credit.objects.count() == 0


@pytest.mark.parametrize(
    "statement", ["UPDATE billing_invoice SET status = 'paid'", "UPDATE billing_invoice SET outstanding = 0"]
)
def test_it_refuses_writing_a_generated_invoice_column(invoice, statement):
    with refused(ProgrammingError, "can only be updated to DEFAULT"):
        sql(statement)
    assert figures(invoice)[3:] == (Decimal("100.00"), "unpaid")


def test_it_refuses_writing_a_generated_credit_column(credit):
    with refused(ProgrammingError, "can only be updated to DEFAULT"):
        sql("UPDATE credits_credit SET remaining = 0")
    credit.refresh_from_db()
    assert credit.remaining == Decimal("50.00")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE billing_invoiceline SET unit_price = 1",
        "UPDATE billing_payment SET amount = 1",
        "UPDATE credits_creditassignment SET amount = 1",
    ],
)
def test_it_refuses_changing_a_row_that_a_total_is_made_of(credit, invoice, statement):
    Payment.objects.create(invoice=invoice, amount=Decimal("10.00"))
    CreditAssignment.objects.create(credit=credit, invoice=invoice, amount=Decimal("10.00"))
    with refused(ProgrammingError, "Cannot update rows"):
        sql(statement)
    assert figures(invoice) == (Decimal("100.00"), Decimal("10.00"), Decimal("10.00"), Decimal("80.00"), "part_paid")


def test_it_refuses_changing_a_batchs_figures(customer):
    batch = CreditBatch.objects.create(
        amount=Decimal("20.00"), date=timezone.localdate(), reason="other", count=2, total=Decimal("40.00")
    )
    with refused(ProgrammingError, "Cannot update rows"):
        CreditBatch.objects.filter(pk=batch.pk).update(count=3, total=Decimal("60.00"))
    with refused(IntegrityError, "batch_total_is_count_times_amount"):
        CreditBatch.objects.create(
            amount=Decimal("20.00"), date=timezone.localdate(), reason="other", count=2, total=Decimal("50.00")
        )
    batch.refresh_from_db()
    assert (batch.count, batch.total) == (2, Decimal("40.00"))


def test_it_refuses_deleting_a_credit_that_still_has_assignments(credit, invoice):
    CreditAssignment.objects.create(credit=credit, invoice=invoice, amount=Decimal("10.00"))
    sql("SET CONSTRAINTS ALL IMMEDIATE")  # Django's foreign keys are checked at commit; ask for it now
    with refused(IntegrityError, "foreign key"):
        sql("DELETE FROM credits_credit WHERE id = %s", [credit.pk])
    assert Credit.objects.filter(pk=credit.pk).exists()


def test_it_keeps_every_total_equal_to_the_rows_whatever_writes_them(customer, credit):
    """Raw inserts and deletes that break no rule are allowed, and the stored figures follow them."""
    invoice = invoice_for(customer, "100.00")
    sql(
        "INSERT INTO billing_invoiceline (invoice_id, description, quantity, unit_price) VALUES (%s, 'Extra', 2, 12.50)",
        [invoice.pk],
    )
    sql(
        "INSERT INTO billing_payment (invoice_id, amount, date, method, created_at) VALUES (%s, 30, now(), 'cash', now())",
        [invoice.pk],
    )
    sql(
        "INSERT INTO credits_creditassignment (credit_id, invoice_id, amount, created_at) VALUES (%s, %s, 45, now())",
        [credit.pk, invoice.pk],
    )
    assert figures(invoice) == (Decimal("125.00"), Decimal("30.00"), Decimal("45.00"), Decimal("50.00"), "part_paid")

    Payment.objects.create(invoice=invoice, amount=Decimal("50.00"))
    assert figures(invoice)[3:] == (Decimal("0.00"), "paid")

    sql("DELETE FROM billing_payment WHERE invoice_id = %s AND amount = 30", [invoice.pk])
    CreditAssignment.objects.filter(credit=credit).delete()
    credit.refresh_from_db()
    assert figures(invoice) == (Decimal("125.00"), Decimal("50.00"), Decimal("0.00"), Decimal("75.00"), "part_paid")
    assert (credit.assigned, credit.remaining, credit.status) == (Decimal("0.00"), Decimal("50.00"), "unassigned")
    assert list(find_mismatches()) == []


# Refunds: the database keeps `refunded` from the refunds that count, refuses more out than the credit has,
# and lets a refund be changed only by reversing it once.


def refund_sql(credit: Credit, amount: str) -> None:
    sql(
        "INSERT INTO credits_refund (credit_id, amount, date, method, note, created_at, reversal_reason) "
        "VALUES (%s, %s, now(), 'card', '', now(), '')",
        [credit.pk, amount],
    )


def test_raw_sql_refunds_are_summed_into_the_credit_per_statement(customer, credit):
    sql(
        "INSERT INTO credits_refund (credit_id, amount, date, method, note, created_at, reversal_reason) "
        "VALUES (%s, 10, now(), 'card', '', now(), ''), (%s, 15, now(), 'cash', '', now(), '')",
        [credit.pk, credit.pk],
    )
    credit.refresh_from_db()
    assert (credit.refunded, credit.remaining, credit.status) == (Decimal("25.00"), Decimal("25.00"), "unassigned")
    assert list(find_mismatches()) == []


def test_it_refuses_a_refund_beyond_what_the_credit_has_left(customer, credit):
    CreditAssignment.objects.create(credit=credit, invoice=invoice_for(customer, "30.00"), amount=Decimal("30.00"))
    with refused(IntegrityError, "credit_not_overassigned"):
        refund_sql(credit, "20.01")
    refund_sql(credit, "20.00")
    credit.refresh_from_db()
    assert (credit.assigned, credit.refunded, credit.remaining, credit.status) == (
        Decimal("30.00"),
        Decimal("20.00"),
        Decimal("0.00"),
        "refunded",
    )
    # And no assignment or lower amount can take the refunded money again.
    with refused(IntegrityError, "credit_not_overassigned"):
        CreditAssignment.objects.create(credit=credit, invoice=invoice_for(customer, "5.00"), amount=Decimal("0.01"))
    with refused(IntegrityError, "credit_not_overassigned"):
        Credit.objects.filter(pk=credit.pk).update(amount=Decimal("49.99"))


@pytest.mark.parametrize("amount", ["0", "-5", "1000000.01"])
def test_it_refuses_a_refund_amount_out_of_range(credit, amount):
    with refused(IntegrityError, "refund_amount_in_range"):
        refund_sql(credit, amount)


def test_it_refuses_writing_a_credits_refunded_figure_directly(credit):
    with refused(IntegrityError, "refunded figure is kept by the database"):
        Credit.objects.filter(pk=credit.pk).update(refunded=Decimal("10.00"))
    with refused(IntegrityError, "refunded figure is kept by the database"):
        sql(
            "INSERT INTO credits_credit (customer_id, date, amount, assigned, refunded, reason, note, auto_apply, version, "
            "created_at) VALUES (%s, now(), 10, 0, 5, 'other', '', true, 1, now())",
            [credit.customer_id],
        )


def test_a_refund_is_never_deleted(credit):
    refund_sql(credit, "10.00")
    with refused(ProgrammingError, "Cannot delete rows from credits_refund"):
        sql("DELETE FROM credits_refund")
    credit.refresh_from_db()
    assert credit.refunded == Decimal("10.00")


@pytest.mark.parametrize(
    "change",
    [
        "amount = 5",
        "credit_id = credit_id",  # even rewriting the same values is not a reversal
        "note = 'edited'",
        "method = 'cash'",
        "date = date - 1",
        "reversed_at = now(), reversal_reason = 'ok', amount = 5",
    ],
)
def test_a_refund_is_never_edited(credit, change):
    refund_sql(credit, "10.00")
    with refused(ProgrammingError, "Cannot update rows from credits_refund"):
        sql(f"UPDATE credits_refund SET {change}")  # noqa: S608 - fixed test strings
    credit.refresh_from_db()
    assert credit.refunded == Decimal("10.00")


def test_a_reversal_needs_a_reason_and_happens_once(credit):
    refund_sql(credit, "10.00")
    with refused(ProgrammingError, "Cannot update rows from credits_refund"):
        sql("UPDATE credits_refund SET reversed_at = now()")
    sql("UPDATE credits_refund SET reversed_at = now(), reversal_reason = 'Bounced'")
    credit.refresh_from_db()
    assert (credit.refunded, credit.remaining) == (Decimal("0.00"), Decimal("50.00"))
    for change in ["reversed_at = NULL, reversal_reason = ''", "reversed_at = now()", "reversal_reason = 'Other'"]:
        with refused(ProgrammingError, "Cannot update rows from credits_refund"):
            sql(f"UPDATE credits_refund SET {change}")  # noqa: S608 - fixed test strings
    credit.refresh_from_db()
    assert credit.refunded == Decimal("0.00")
    assert list(find_mismatches()) == []


def test_a_credit_with_refunds_cannot_be_deleted_by_raw_sql(credit):
    refund_sql(credit, "10.00")
    with refused(IntegrityError, "credits_refund"):
        sql("DELETE FROM credits_credit WHERE id = %s", [credit.pk])
        sql("SET CONSTRAINTS ALL IMMEDIATE")
