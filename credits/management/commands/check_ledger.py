"""`manage.py check_ledger`: recompute every stored total and status from the rows and list any mismatch.

The triggers keep the stored figures true; this is the operator's independent audit of that
(after a restore, a manual fix, or `session_replication_role = replica`). Each check is one
set-based query — the child sums are grouped once and hash-joined to their parents — so it
stays fast on millions of rows. All checks read one snapshot, so a busy live database gives
no false alarms.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

# Each query returns (label, what is stored, what the rows say) for every row that disagrees.
INVOICE_MISMATCHES = """
WITH expected AS (
    SELECT i.id, i.number, i.total, i.paid, i.credited, i.outstanding, i.status,
           i.voided_at IS NOT NULL AS void,
           COALESCE(l.total, 0.00) AS e_total, COALESCE(p.paid, 0.00) AS e_paid, COALESCE(a.credited, 0.00) AS e_credited
    FROM billing_invoice i
    LEFT JOIN (SELECT invoice_id, SUM(amount) AS total FROM billing_invoiceline GROUP BY invoice_id) l ON l.invoice_id = i.id
    LEFT JOIN (SELECT invoice_id, SUM(amount) AS paid FROM billing_payment GROUP BY invoice_id) p ON p.invoice_id = i.id
    LEFT JOIN (SELECT invoice_id, SUM(amount) AS credited FROM credits_creditassignment GROUP BY invoice_id) a
        ON a.invoice_id = i.id
), judged AS (
    SELECT *,
        CASE WHEN void THEN 0.00 ELSE e_total - e_paid - e_credited END AS e_outstanding,
        CASE
            WHEN void THEN 'void'
            WHEN e_total > 0 AND e_total <= e_paid + e_credited THEN 'paid'
            WHEN e_paid > 0 OR e_credited > 0 THEN 'part_paid'
            ELSE 'unpaid'
        END AS e_status
    FROM expected
)
SELECT number, total, e_total, paid, e_paid, credited, e_credited, outstanding, e_outstanding, status, e_status, void
FROM judged
WHERE total <> e_total OR paid <> e_paid OR credited <> e_credited
   OR outstanding <> e_outstanding OR status <> e_status
   OR e_paid + e_credited > e_total OR (void AND e_paid + e_credited > 0)
ORDER BY number
"""

CREDIT_MISMATCHES = """
WITH expected AS (
    SELECT c.id, c.amount, c.assigned, c.refunded, c.remaining, c.status,
           COALESCE(a.assigned, 0.00) AS e_assigned, COALESCE(r.refunded, 0.00) AS e_refunded
    FROM credits_credit c
    LEFT JOIN (SELECT credit_id, SUM(amount) AS assigned FROM credits_creditassignment GROUP BY credit_id) a
        ON a.credit_id = c.id
    LEFT JOIN (
        SELECT credit_id, SUM(amount) AS refunded FROM credits_refund WHERE reversed_at IS NULL GROUP BY credit_id
    ) r ON r.credit_id = c.id
), judged AS (
    SELECT *,
        amount - e_assigned - e_refunded AS e_remaining,
        CASE
            WHEN e_refunded > 0 AND e_assigned + e_refunded >= amount THEN 'refunded'
            WHEN e_assigned = 0 THEN 'unassigned'
            WHEN e_assigned + e_refunded < amount THEN 'part_assigned'
            ELSE 'fully_assigned'
        END AS e_status
    FROM expected
)
SELECT id, amount, assigned, e_assigned, refunded, e_refunded, remaining, e_remaining, status, e_status
FROM judged
WHERE assigned <> e_assigned OR refunded <> e_refunded OR remaining <> e_remaining OR status <> e_status
   OR e_assigned + e_refunded > amount
ORDER BY id
"""

# Assignments whose credit or invoice is missing, of another customer, or void.
ASSIGNMENT_MISMATCHES = """
SELECT a.id, a.credit_id, a.invoice_id, c.id IS NULL, i.id IS NULL, c.customer_id, i.customer_id
FROM credits_creditassignment a
LEFT JOIN credits_credit c ON c.id = a.credit_id
LEFT JOIN billing_invoice i ON i.id = a.invoice_id
WHERE c.id IS NULL OR i.id IS NULL OR c.customer_id <> i.customer_id OR i.voided_at IS NOT NULL
ORDER BY a.id
"""

BATCH_MISMATCHES = """
SELECT id, amount, count, total FROM credits_creditbatch WHERE total <> amount * count ORDER BY id
"""


def _rows(sql: str) -> Iterator[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        while rows := cursor.fetchmany(1000):
            yield from rows


def _differences(pairs: dict[str, tuple[object, object]]) -> str:
    return ", ".join(
        f"{name} is {stored} but the rows say {expected}"
        for name, (stored, expected) in pairs.items()
        if stored != expected
    )


def find_mismatches() -> Iterator[str]:
    """Every disagreement between a stored figure and the rows it summarises, as a sentence."""
    for (
        number,
        total,
        e_total,
        paid,
        e_paid,
        credited,
        e_credited,
        outstanding,
        e_outstanding,
        status,
        e_status,
        void,
    ) in _rows(INVOICE_MISMATCHES):
        detail = _differences(
            {
                "total": (total, e_total),
                "paid": (paid, e_paid),
                "credited": (credited, e_credited),
                "outstanding": (outstanding, e_outstanding),
                "status": (status, e_status),
            }
        )
        if e_paid + e_credited > e_total:
            detail = ", ".join(
                filter(None, [detail, f"payments and credits ({e_paid + e_credited}) exceed the lines ({e_total})"])
            )
        if void and e_paid + e_credited > 0:
            detail = ", ".join(filter(None, [detail, "it is void but still has payments or credits"]))
        yield f"Invoice INV-{number:06d}: {detail}"
    for pk, amount, assigned, e_assigned, refunded, e_refunded, remaining, e_remaining, status, e_status in _rows(
        CREDIT_MISMATCHES
    ):
        detail = _differences(
            {
                "assigned": (assigned, e_assigned),
                "refunded": (refunded, e_refunded),
                "remaining": (remaining, e_remaining),
                "status": (status, e_status),
            }
        )
        if e_assigned + e_refunded > amount:
            used = f"its assignments ({e_assigned})" + (f" and refunds ({e_refunded})" if e_refunded else "")
            detail = ", ".join(filter(None, [detail, f"{used} exceed its amount ({amount})"]))
        yield f"Credit #{pk}: {detail}"
    for pk, credit_id, invoice_id, no_credit, no_invoice, credit_customer, invoice_customer in _rows(
        ASSIGNMENT_MISMATCHES
    ):
        if no_credit or no_invoice:
            detail = f"credit #{credit_id} or invoice id {invoice_id} does not exist"
        elif credit_customer != invoice_customer:
            detail = f"credit #{credit_id} (customer {credit_customer}) is assigned to an invoice of customer {invoice_customer}"
        else:
            detail = f"credit #{credit_id} is assigned to void invoice id {invoice_id}"
        yield f"Assignment #{pk}: {detail}"
    for pk, amount, count, total in _rows(BATCH_MISMATCHES):
        yield f"Batch #{pk}: total is {total} but {count} × {amount} = {amount * count}"


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed table names
        return cursor.fetchone()[0]


class Command(BaseCommand):
    help = "Recompute every stored invoice and credit figure (refunds too) from the rows; exit 1 if any disagrees."

    def handle(self, *args, **options) -> None:
        outermost = not connection.in_atomic_block
        with transaction.atomic():
            if outermost:
                # One snapshot for every query, and a promise not to write.
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            found = 0
            for message in find_mismatches():
                found += 1
                self.stdout.write(message)
            invoices, credits = _count("billing_invoice"), _count("credits_credit")
        if found:
            raise CommandError(
                f"Ledger has {found} mismatch{'es' if found != 1 else ''} ({invoices} invoices, {credits} credits checked)."
            )
        self.stdout.write(self.style.SUCCESS(f"Ledger OK: {invoices} invoices, {credits} credits checked"))
