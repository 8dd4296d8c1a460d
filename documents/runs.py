"""Statement runs: email a statement to each chosen customer, as a Run with progress (runs.services)."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse

from billing.models import Invoice
from credits.models import Credit
from customers.models import Customer
from runs import services as runs
from runs.models import Kind, Run

from . import services
from .statements import check_period

CHUNK = 100


def with_balance_or_credit() -> QuerySet[Customer]:
    """The default choice: everyone with an outstanding balance or available credit."""
    owes = Invoice.objects.filter(customer=OuterRef("pk"), outstanding__gt=0)
    has_credit = Credit.objects.filter(customer=OuterRef("pk"), remaining__gt=0)
    return Customer.objects.filter(Q(Exists(owes)) | Q(Exists(has_credit)))


def start_statement_run(
    customers: QuerySet[Customer],
    start: datetime.date,
    end: datetime.date,
    *,
    by=None,
    idempotency_key: str | None = None,
) -> Run:
    """A Run that emails each chosen customer their statement for start..end (one Outbox email each)."""
    check_period(start, end)
    ids = list(customers.order_by("id").values_list("pk", flat=True))
    return runs.start_run(
        Kind.STATEMENTS,
        items=ids,
        title=f"Statements {start:%-d %b %Y} to {end:%-d %b %Y} for {len(ids):,} customers",
        params={"start": start.isoformat(), "end": end.isoformat()},
        by=by,
        chunk_size=CHUNK,
        result_url=reverse("documents:outbox") + "?carries=statement",
        result_label="Open the Outbox",
        idempotency_key=idempotency_key,
    )


def email_statements(run: Run, ids: list[int]) -> runs.ChunkResult:
    """The run's handler, inside the chunk's transaction: one queued email per customer; the others are listed."""
    start = datetime.date.fromisoformat(run.params["start"])
    end = datetime.date.fromisoformat(run.params["end"])
    customers = Customer.objects.in_bulk(ids)
    done, problems = 0, []
    for pk in ids:
        customer = customers.get(pk)
        if customer is None:
            problems.append((pk, f"Customer {pk}", "This customer no longer exists"))
            continue
        try:
            services.email_statement(customer, start, end, by=run.created_by, run=run)
        except ValidationError as error:
            problems.append((pk, customer.name, " ".join(error.messages)))
        else:
            done += 1
    return runs.ChunkResult(done, problems)
