"""TRUNCATE skips row triggers, so PostgreSQL refuses one that would leave stored sums without their rows."""

import pytest
from django.db import DatabaseError, connection, transaction

from billing import services as billing
from credits import services as credits
from credits.management.commands.check_ledger import find_mismatches


@pytest.fixture
def settled_invoice(transactional_db, customer):
    """Committed rows: TRUNCATE refuses tables with deferred trigger events pending in the same transaction."""
    invoice = billing.create_invoice(customer, [("Ballet — autumn term", 1, "120.00")])
    credit = credits.add_credit(customer, "50.00", auto_apply=False)
    credits.assign_credit(credit, {invoice: "20.00"})
    billing.record_payment(invoice, "40.00")
    credits.refund_credit(credit, "10.00")
    return invoice


@pytest.mark.parametrize(
    "table, message",
    [
        ("billing_payment", "billing_invoice.paid"),
        ("billing_invoiceline", "billing_invoice.total"),
        ("credits_creditassignment", "credits_credit.assigned"),
        ("credits_refund", "credits_credit.refunded"),
    ],
)
def test_it_refuses_to_truncate_child_rows_alone(settled_invoice, table, message):
    with pytest.raises(DatabaseError, match=message), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table} CASCADE")
    assert list(find_mismatches()) == []


def test_it_lets_the_parents_be_truncated_with_their_rows(settled_invoice):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE billing_payment, billing_invoiceline, credits_creditassignment, billing_invoice, credits_credit CASCADE"
        )
        cursor.execute("SELECT count(*) FROM billing_invoice")
        assert cursor.fetchone() == (0,)
        transaction.set_rollback(True)
