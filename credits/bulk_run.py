"""Bulk credits for more customers than settings.BULK_CREDITS_IN_BACKGROUND_ABOVE (20,000): a Run (Billing › Runs).

Below that a bulk credit is instant and all or nothing, as it always was. Above it the same set-based
`add_bulk_credits` runs in the background, one chunk of customers at a time, each chunk its own bulk batch made in the
chunk's transaction (runs.services does each chunk once, however workers fail), so the page answers at once and the
bar shows how far it has got.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse

from billing_site.money import format_money
from customers.models import Customer
from customers.services import chosen_ids
from runs.models import Kind, Run
from runs.services import ChunkResult, start_run

from .models import Reason
from .services import add_bulk_credits, check_credit_fields

CHUNK_SIZE = 5000
DELETED = "This customer was deleted before the run reached them: no credit was added."


def in_background(count: int) -> bool:
    return count > settings.BULK_CREDITS_IN_BACKGROUND_ABOVE


def start_bulk_credit_run(
    customers: QuerySet[Customer] | Iterable[int],
    amount: Decimal | int | str,
    *,
    date: datetime.date | str | None = None,
    reason: str = Reason.OTHER,
    note: str = "",
    auto_apply: bool = True,
    by=None,
    idempotency_key: str | None = None,
    chunk_size: int | None = None,
) -> Run:
    """Queue the same credit for every chosen customer; checked now as add_bulk_credits checks it."""
    amount, date, reason, note = check_credit_fields(amount, date, reason, note)
    ids = chosen_ids(customers)
    params = {
        "amount": f"{amount}",
        "date": date.isoformat(),
        "reason": reason,
        "note": note,
        "auto_apply": bool(auto_apply),
    }
    return start_run(
        Kind.BULK_CREDITS,
        ids,
        title=f"Bulk credit of {format_money(amount)} for {len(ids):,} customers ({Reason(reason).label})",
        params=params,
        by=by,
        chunk_size=chunk_size or CHUNK_SIZE,
        result_url=f"{reverse('credits:list')}?run={{run}}",
        result_label="The credits this run added",
        idempotency_key=idempotency_key,
    )


def bulk_credit_chunk(run: Run, ids: list[int]) -> ChunkResult:
    existing = sorted(Customer.objects.filter(pk__in=ids).values_list("pk", flat=True))
    problems = [(pk, f"Customer #{pk}", DELETED) for pk in sorted(set(ids) - set(existing))]
    if not existing:
        return ChunkResult(0, problems)
    batch = add_bulk_credits(existing, **run.params, by=run.created_by, run_id=run.pk)
    return ChunkResult(batch.count, problems)
