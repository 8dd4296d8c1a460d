"""The term's invoices in one go: a Run (Billing › Runs) that raises one invoice per chosen customer in the background.

`start_invoice_run` checks the lines and dates, fixes the customers (their ids, in id order) and queues the run in
the caller's transaction. Workers then call `invoice_chunk` for each chunk of customers: the set-based
`create_invoices` engine, auto-apply included exactly as for a single invoice, in the chunk's transaction. A chunk is
done once (runs.services), and the database allows one invoice per customer and run
(`invoice_once_per_customer_and_run`), so a killed worker or a retried job never invoices anyone twice.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import QuerySet
from django.urls import reverse

from billing_site.money import format_money
from customers.models import Customer
from customers.services import NO_CUSTOMERS, chosen_ids, customer_ids_sql
from runs.models import Kind, Run
from runs.services import ChunkResult, start_run

from . import mailing, settlement
from .models import Invoice
from .services import _check_dates, _check_lines, create_invoices, lines_total

# Customers per chunk: big enough that the set-based engine pays off (250 cost ~1 ms a customer, 1,000 ~0.5 ms: as
# much as one statement for all), small enough that the bar moves within a second and a retried chunk repeats little.
CHUNK_SIZE = 1000
DELETED = "This customer was deleted before the run reached them: no invoice was raised."


def preview(customers: QuerySet[Customer] | Iterable[int], lines) -> dict:
    """What the run would do, for the summary before it starts: N invoices × £X = £total, and the credit that would be
    applied automatically (£Y for M customers) as things stand now."""
    checked = _check_lines(lines)
    each = lines_total(checked)
    sql, params = customer_ids_sql(customers)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({sql}) chosen", params)
        count = cursor.fetchone()[0]
    credited_customers, credit = settlement.current().preview_run(sql, params, each)
    return {
        "count": count,
        "each": each,
        "total": each * count,
        "credit_customers": credited_customers,
        "credit": credit,
    }


def start_invoice_run(
    customers: QuerySet[Customer] | Iterable[int],
    lines,
    *,
    issue_date: datetime.date | str | None = None,
    due_date: datetime.date | str | None = None,
    by=None,
    idempotency_key: str | None = None,
    chunk_size: int = CHUNK_SIZE,
    email: bool = False,
) -> Run:
    """Queue an invoice run for the chosen customers (a queryset, or ids that must all exist); returns the Run.

    Nothing is invoiced until a worker takes it; the same key with the same parameters returns the first run. With
    `email`, each chunk also queues its new invoices to the families (Billing › Outbox) in the same transaction; a
    customer without an email address is listed on the run, invoiced but not emailed."""
    checked = _check_lines(lines)
    issue_date, due_date = _check_dates(issue_date, due_date)
    ids = chosen_ids(customers)
    if not ids:
        raise ValidationError({"customers": NO_CUSTOMERS})
    each = lines_total(checked)
    params = {
        "lines": [[line.description, line.quantity, f"{line.unit_price}"] for line in checked],
        "issue_date": issue_date.isoformat(),
        "due_date": due_date.isoformat(),
        **({"email": True} if email else {}),
    }
    return start_run(
        Kind.INVOICES,
        ids,
        title=f"Invoices for {len(ids):,} customer{'s' if len(ids) != 1 else ''} × {format_money(each)}, "
        f"issued {issue_date:%-d %b %Y}{', each emailed' if email else ''}",
        params=params,
        by=by,
        chunk_size=chunk_size,
        result_url=f"{reverse('billing:invoice_list')}?run={{run}}",
        result_label="The invoices this run raised",
        idempotency_key=idempotency_key,
    )


def invoice_chunk(run: Run, ids: list[int]) -> ChunkResult:
    """One chunk of an invoice run, in the chunk's transaction: an invoice for each customer that still exists."""
    existing = sorted(Customer.objects.filter(pk__in=ids).values_list("pk", flat=True))
    gone = set(ids) - set(existing)
    problems = [(pk, f"Customer #{pk}", DELETED) for pk in sorted(gone)]
    if not existing:
        return ChunkResult(0, problems)
    made = create_invoices(
        existing,
        [(description, quantity, Decimal(price)) for description, quantity, price in run.params["lines"]],
        issue_date=run.params["issue_date"],
        due_date=run.params["due_date"],
        by=run.created_by,
        run_id=run.pk,
    )
    if run.params.get("email"):
        invoices = Invoice.objects.filter(run=run, customer_id__in=existing)
        problems += mailing.sender(mailing.INVOICES)(invoices, by=run.created_by, run=run)
    return ChunkResult(made.count, problems)
