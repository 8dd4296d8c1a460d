"""A customer's statement for a period: the opening balance, every movement in date order with a running balance,
the closing balance, and the account credit available.

The balance is what the family owes the studio (less than zero: they are in credit). It moves with
- an invoice (+ its total, on its issue date), and back when it is voided (− its total, on the day it was voided);
- a payment (− its amount) and a credit (− its amount), on their dates;
- a refund of credit (+ its amount, on its date), and back when it is reversed (on the day it was reversed).
Assigning a credit to an invoice moves credit already counted onto that invoice: it is listed, and changes nothing.

So at any date the balance is the open invoices' outstanding less the credits' remaining, as those rows stood then;
today it is exactly `Σ outstanding − Σ remaining` of the stored figures (tests/documents/test_statements.py checks
both on random histories). Opening and closing come from the same movements the statement lists, so opening plus
the movements is the closing by construction.
"""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import timezone

from billing.models import Invoice, InvoiceLine, Payment
from billing_site.money import ZERO, format_money
from credits.models import Credit, CreditAssignment, Refund
from customers.models import Customer

FROM_AFTER_TO = "The period starts after it ends: choose a “From” date on or before the “To” date."
TOO_LONG = "A statement covers at most 10 years: choose a shorter period."
MAX_DAYS = 3653  # ten years, leap days included
DEFAULT_MONTHS = 3


@dataclasses.dataclass
class Movement:
    date: datetime.date
    order: int  # within a day: invoices, payments, credits, assignments, refunds, then voids and reversals
    at: datetime.datetime | int  # then by when the row was made
    description: str
    reference: str  # INV-000001, CN-000001
    charge: Decimal = ZERO  # what raises the balance
    paid: Decimal = ZERO  # what lowers it
    balance: Decimal = ZERO  # the running balance after this line

    @property
    def change(self) -> Decimal:
        return self.charge - self.paid


@dataclasses.dataclass
class Statement:
    customer: Customer
    start: datetime.date
    end: datetime.date
    opening: Decimal
    lines: list[Movement]
    closing: Decimal
    credit_available: Decimal
    made_on: datetime.date

    @property
    def title(self) -> str:
        return f"Statement for {self.customer.name}, {self.start:%-d %b %Y} to {self.end:%-d %b %Y}"

    @property
    def filename(self) -> str:
        return f"statement-{self.customer.pk}-{self.start.isoformat()}-{self.end.isoformat()}.pdf"


def default_period(today: datetime.date | None = None) -> tuple[datetime.date, datetime.date]:
    """The last three months: from the day after the same date three months ago, to today."""
    today = today or timezone.localdate()
    month, year = today.month - DEFAULT_MONTHS, today.year
    if month < 1:
        month, year = month + 12, year - 1
    day = min(today.day, _days_in(year, month))
    return datetime.date(year, month, day) + datetime.timedelta(days=1), today


def _days_in(year: int, month: int) -> int:
    following = datetime.date(year + (month == 12), month % 12 + 1, 1)
    return (following - datetime.timedelta(days=1)).day


def check_period(start: datetime.date, end: datetime.date) -> None:
    if start > end:
        raise ValidationError({"start": FROM_AFTER_TO})
    if (end - start).days > MAX_DAYS:
        raise ValidationError({"start": TOO_LONG})


def _local_day(moment: datetime.datetime) -> datetime.date:
    return timezone.localdate(moment)


def movements(customer_id: int, end: datetime.date) -> list[Movement]:
    """Every movement of the customer's account up to `end`, in statement order (balances not yet filled in)."""
    found: list[Movement] = []
    upto = datetime.datetime.combine(
        end + datetime.timedelta(days=1), datetime.time(), tzinfo=timezone.get_current_timezone()
    )
    invoices = Invoice.objects.filter(customer_id=customer_id, issue_date__lte=end)
    described: dict[int, list[str]] = {}  # the lines' descriptions as text: half the time of prefetching the rows
    for invoice_id, description in InvoiceLine.objects.filter(invoice__in=invoices).values_list(
        "invoice", "description"
    ):
        described.setdefault(invoice_id, []).append(description)
    for invoice in invoices.order_by("issue_date", "id"):
        lines = described.get(invoice.pk, [])
        what = "; ".join(lines[:3]) + (f" and {len(lines) - 3} more" if len(lines) > 3 else "")
        found.append(
            Movement(
                invoice.issue_date,
                0,
                invoice.pk,
                f"Invoice {invoice.display_number}: {what}",
                invoice.display_number,
                charge=invoice.total,
            )
        )
        if invoice.voided_at and invoice.voided_at < upto:
            found.append(
                Movement(
                    _local_day(invoice.voided_at),
                    5,
                    invoice.voided_at,
                    f"Invoice {invoice.display_number} voided",
                    invoice.display_number,
                    paid=invoice.total,
                )
            )
    payments = Payment.objects.filter(invoice__customer_id=customer_id, date__lte=end).select_related("invoice")
    for payment in payments.order_by("date", "id"):
        found.append(
            Movement(
                payment.date,
                1,
                payment.pk,
                f"Payment ({payment.get_method_display().lower()}) for {payment.invoice.display_number}",
                payment.invoice.display_number,
                paid=payment.amount,
            )
        )
    for credit in Credit.objects.filter(customer_id=customer_id, date__lte=end).order_by("date", "id"):
        found.append(
            Movement(
                credit.date,
                2,
                credit.pk,
                f"Credit note {credit.display_number}: {credit.get_reason_display()}",
                credit.display_number,
                paid=credit.amount,
            )
        )
    assignments = CreditAssignment.objects.filter(credit__customer_id=customer_id, created_at__lt=upto).select_related(
        "credit", "invoice"
    )
    for assignment in assignments.order_by("created_at", "id"):
        found.append(
            Movement(
                _local_day(assignment.created_at),
                3,
                assignment.created_at,
                f"{format_money(assignment.amount)} of {assignment.credit.display_number} applied to {assignment.invoice.display_number}",
                assignment.credit.display_number,
            )
        )
    refunds = Refund.objects.filter(credit__customer_id=customer_id, date__lte=end).select_related("credit")
    for refund in refunds.order_by("date", "id"):
        method = refund.get_method_display().lower()
        found.append(
            Movement(
                refund.date,
                4,
                refund.pk,
                f"Refund ({method}) from {refund.credit.display_number}",
                refund.credit.display_number,
                charge=refund.amount,
            )
        )
        if refund.reversed_at and refund.reversed_at < upto:
            found.append(
                Movement(
                    _local_day(refund.reversed_at),
                    6,
                    refund.reversed_at,
                    f"Refund from {refund.credit.display_number} reversed",
                    refund.credit.display_number,
                    paid=refund.amount,
                )
            )
    found.sort(key=lambda m: (m.date, m.order, m.at if isinstance(m.at, int) else m.at.timestamp()))
    return found


def build_statement(
    customer: Customer, start: datetime.date | None = None, end: datetime.date | None = None
) -> Statement:
    """The customer's statement for start..end (both included); the last three months by default."""
    default_start, default_end = default_period()
    start, end = start or default_start, end or default_end
    check_period(start, end)
    balance, lines = ZERO, []
    for movement in movements(customer.pk, end):
        balance += movement.change
        movement.balance = balance
        if movement.date >= start:
            lines.append(movement)
    opening = lines[0].balance - lines[0].change if lines else balance
    available = Credit.objects.filter(customer=customer, remaining__gt=0).aggregate(total=Sum("remaining"))["total"]
    return Statement(
        customer=customer,
        start=start,
        end=end,
        opening=opening,
        lines=lines,
        closing=balance,
        credit_available=available or ZERO,
        made_on=timezone.localdate(),
    )
