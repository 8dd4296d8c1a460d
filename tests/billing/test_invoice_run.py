"""The invoice run: create_invoices does for many customers exactly what create_invoice does for one."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing import services as billing
from billing.models import Invoice
from credits import services as credits
from credits.models import Credit
from customers.models import Customer
from tests.factories import CustomerFactory

D = Decimal
LINES = [("Ballet — autumn term", 1, "120.00"), ("Costume", 2, "15.00")]


def _figures(invoice: Invoice) -> tuple:
    assignments = sorted((a.credit.amount, a.amount) for a in invoice.credit_assignments.select_related("credit"))
    return invoice.total, invoice.paid, invoice.credited, invoice.outstanding, invoice.status, assignments


def _cast(suffix: str) -> list[Customer]:
    """Four customers whose credits exercise oldest-first, auto-apply off, and more credit than owed."""
    oldest_first, manual_only, plenty, nothing = (
        CustomerFactory(name=f"{who} {suffix}") for who in ("A", "B", "C", "D")
    )
    credits.add_credit(oldest_first, "30.00", date="2026-11-01")
    credits.add_credit(oldest_first, "200.00", date="2026-11-02")
    credits.add_credit(oldest_first, "99.00", date="2026-11-03")
    credits.add_credit(manual_only, "10.00", auto_apply=False)
    credits.add_credit(plenty, "500.00")
    return [oldest_first, manual_only, plenty, nothing]


def test_it_settles_each_invoice_like_create_invoice_does(db, manager):
    one_by_one = [billing.create_invoice(c, LINES, issue_date="2026-11-20") for c in _cast("single")]
    run_cast = _cast("run")

    run = billing.create_invoices(
        Customer.objects.filter(pk__in=[c.pk for c in run_cast]), LINES, issue_date="2026-11-20", by=manager
    )

    in_run = [Invoice.objects.get(customer=c) for c in run_cast]
    assert [_figures(i) for i in in_run] == [_figures(i) for i in one_by_one]
    # And what both should come to, worked out by hand (equal figures alone would pass if both went wrong alike):
    # each invoice is £150.00; A's £30 (oldest) then £120 of its £200 settle it, B's credit is kept for manual
    # assignment, C's £500 covers all of it, D has none.
    assert [_figures(i) for i in in_run] == [
        (
            D("150.00"),
            D("0.00"),
            D("150.00"),
            D("0.00"),
            "paid",
            [(D("30.00"), D("30.00")), (D("200.00"), D("120.00"))],
        ),
        (D("150.00"), D("0.00"), D("0.00"), D("150.00"), "unpaid", []),
        (D("150.00"), D("0.00"), D("150.00"), D("0.00"), "paid", [(D("500.00"), D("150.00"))]),
        (D("150.00"), D("0.00"), D("0.00"), D("150.00"), "unpaid", []),
    ]
    assert (run.count, run.total, run.credit_applied) == (4, D("600.00"), D("300.00"))
    assert all(i.created_by == manager for i in in_run)


def test_it_leaves_credit_untouched_when_auto_apply_is_off(db):
    customer = CustomerFactory()
    credit = credits.add_credit(customer, "50.00", auto_apply=False)
    billing.create_invoices(Customer.objects.filter(pk=customer.pk), LINES)
    credit.refresh_from_db()
    assert credit.assigned == Decimal("0.00")


def test_it_refuses_bad_lines_and_writes_nothing(db):
    CustomerFactory()
    with pytest.raises(ValidationError):
        billing.create_invoices(Customer.objects.all(), [("Ballet", 1, "0.00")])
    assert Invoice.objects.count() == 0


def test_it_refuses_an_empty_selection(db):
    with pytest.raises(ValidationError, match="at least one customer"):
        billing.create_invoices(Customer.objects.none(), LINES)
    assert Invoice.objects.count() == 0
    assert Credit.objects.count() == 0


def test_it_leaves_foreign_keys_deferred_for_the_rest_of_the_transaction(db):
    """It checks foreign keys per statement while it runs (see _foreign_keys_checked_per_statement), then defers them again."""
    from django.db import connection, transaction

    customer = CustomerFactory()
    with transaction.atomic(), connection.cursor() as cursor:
        billing.create_invoices(Customer.objects.filter(pk=customer.pk), LINES)
        # A row naming a batch that does not exist yet is fine while the checks wait for the commit.
        cursor.execute("SELECT nextval(pg_get_serial_sequence('credits_creditbatch', 'id'))")
        batch_id = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO credits_credit (customer_id, date, amount, assigned, reason, note, auto_apply, batch_id, version, created_at)"
            " VALUES (%s, now(), 5, 0, 'other', '', false, %s, 1, now())",
            [customer.pk, batch_id],
        )
        cursor.execute(
            "INSERT INTO credits_creditbatch (id, amount, date, reason, note, auto_apply, count, total, created_at)"
            " VALUES (%s, 5, now(), 'other', '', false, 1, 5, now())",
            [batch_id],
        )
    assert Credit.objects.get(batch_id=batch_id).customer == customer
