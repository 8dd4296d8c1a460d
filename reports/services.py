"""Reports' writes: Apply oldest first (one customer, or all listed, in the background above a few hundred), and
the compaction of the Overview's summaries.

Applying is the credits service's own "Apply available credit" (`credits.services.apply_available_credit`) for
each of the customer's open invoices, oldest first: the same rule (auto-apply credits, oldest first), the same
locks, and each assignment recorded in history as done by the person who asked — from a background run too, where
that person is the run's `created_by`.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db import connection, transaction

from billing.models import Invoice
from billing_site.ledger import ledger_write
from billing_site.money import ZERO
from credits import services as credits
from customers.models import Customer
from customers.services import lock_customer
from runs import services as runs
from runs.models import Kind, Run

# Up to this many customers Apply oldest first for all listed is done at once; above it, a run with progress.
AT_ONCE = 300


@ledger_write("apply_oldest_first")
def apply_oldest_first(customer: Customer | int, *, by=None) -> Decimal:
    """Settle the customer's open invoices, oldest first, from their auto-apply credits, oldest first; returns the
    amount applied (nothing when they have no credit or no open invoice left)."""
    customer_id = customer.pk if isinstance(customer, Customer) else customer
    lock_customer(customer_id)
    left = credits.available_for(customer_id)
    applied = ZERO
    for invoice in Invoice.objects.open_for(customer_id):
        if left <= 0:
            break
        part = credits.apply_available_credit(invoice, by=by)
        applied += part
        left -= part
    return applied


def apply_for_customers(ids: Iterable[int], *, by=None) -> tuple[int, Decimal]:
    """Apply oldest first for each customer, all in one transaction; returns (customers credited, amount)."""
    helped, total = 0, ZERO
    with transaction.atomic():
        for customer_id in sorted(ids):
            applied = apply_oldest_first(customer_id, by=by)
            if applied > 0:
                helped += 1
                total += applied
    return helped, total


def start_apply_run(ids: list[int], *, days: int, by=None, result_url: str = "", idempotency_key=None) -> Run:
    return runs.start_run(
        Kind.APPLY_CREDITS,
        items=ids,
        title=f"Apply credit oldest first for {len(ids):,} customers (unapplied for {days}+ days)",
        params={"days": days},
        by=by,
        result_url=result_url,
        result_label="Unapplied credits",
        idempotency_key=idempotency_key,
    )


def apply_chunk(run: Run, ids: list[int]) -> runs.ChunkResult:
    """The run's handler: each customer of the chunk, as the person who started the run."""
    for customer_id in ids:
        apply_oldest_first(customer_id, by=run.created_by)
    # A customer whose credit or invoices went meanwhile simply has nothing to apply: done, not a problem.
    return runs.ChunkResult(succeeded=len(ids))


SUMMARIES = {
    "reports_creditsummary": ("month, reason", "issued, issued_count, remaining"),
    "reports_invoicesummary": ("due_date", "open_count, outstanding"),
    "reports_assignedsummary": ("quarter", "amount, count"),
}


def compact() -> None:
    """Fold each summary's change rows into one row per key (a key that adds up to nothing goes), one statement
    each: a reader sees the rows before or after, never half."""
    with connection.cursor() as cursor:
        for table, (key, sums) in SUMMARIES.items():
            summed = ", ".join(f"SUM({column})" for column in sums.split(", "))
            nonzero = " OR ".join(f"SUM({column}) <> 0" for column in sums.split(", "))
            cursor.execute(
                f"WITH gone AS (DELETE FROM {table} RETURNING {key}, {sums}) "
                f"INSERT INTO {table} ({key}, {sums}) SELECT {key}, {summed} FROM gone GROUP BY {key} HAVING {nonzero}"
            )
