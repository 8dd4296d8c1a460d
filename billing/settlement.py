"""How invoices meet customers' credits, without billing importing credits.

Credits sit above billing in the layers (a credit is assigned to invoices), yet a new invoice takes
the customer's auto-apply credits at once, a void releases what was assigned to it, and the invoice
page offers "Apply available credit". Billing states here what it needs; the credits app registers
how it is done when Django starts (`credits.apps.CreditsConfig.ready`). Every caller of
`billing.services.create_invoice` (a page, the shell, an invoice run) gets auto-apply without
knowing about credits, and the rule lives in one place. Without the credits app nothing is settled.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal

from django.core.exceptions import ValidationError

from billing_site.money import ZERO


@dataclasses.dataclass(frozen=True)
class Settlement:
    # Settle one open invoice from its customer's auto-apply credits, oldest first; returns the amount applied.
    apply: Callable[..., Decimal]
    # The same, set-based, for every invoice in the invoice run's temporary table `invoice_run (id, customer_id)`.
    apply_to_run: Callable[..., None]
    # Before an invoice is voided: lock the credits assigned to it and remove those assignments.
    release: Callable[[int], None]
    # What `apply` would settle from now: the customer's auto-apply credit remaining.
    available: Callable[[int], Decimal]
    # An overpayment's extra as a credit (reason overpayment, auto-apply on): (customer_id, amount, *, date, note, by).
    credit_overpayment: Callable[..., object]
    # For an invoice run's summary: (customers who would get credit, how much) if each chosen customer (ids_sql,
    # params) got an invoice of this total now.
    preview_run: Callable[[str, list, Decimal], tuple[int, Decimal]]


def _no_credits(customer_id: int, amount: Decimal, **_: object) -> object:
    raise ValidationError("An overpayment cannot be put on the account as a credit: there are no credits here.")


NOTHING = Settlement(
    apply=lambda invoice, *, by=None: ZERO,
    apply_to_run=lambda cursor, *, by_id=None: None,
    release=lambda invoice_pk: None,
    available=lambda customer_id: ZERO,
    credit_overpayment=_no_credits,
    preview_run=lambda ids_sql, params, each: (0, ZERO),
)
_registered = NOTHING


def register(settlement: Settlement) -> None:
    global _registered
    _registered = settlement


def current() -> Settlement:
    return _registered
