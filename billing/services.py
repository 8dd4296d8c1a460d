"""Billing service: invoices and payments.

The same design as `credits.services`: every write locks the customer first, checks the rules
to give a clear `ValidationError`, and leaves the final word to the database's triggers and
CHECK constraints. A new invoice takes the customer's auto-apply credits straight away, through
`billing.settlement` (credits sit above billing, so billing asks rather than imports).
`create_invoice` and `record_payment` take `idempotency_key=` like every create (`idempotency.services`):
the same form sent twice raises one invoice, records one payment.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from billing_site.ledger import check_choice, check_date, ledger_write
from billing_site.money import MAX_AMOUNT, ZERO, format_money, parse_amount
from billing_site.web import pk_or_none
from customers.models import Customer
from customers.services import NO_CUSTOMERS, customer_ids_sql, lock_customer
from idempotency import services as idempotency

from . import settlement
from .models import Invoice, InvoiceLine, InvoiceStatus, Payment, PaymentMethod

DEFAULT_TERMS_DAYS = 14
MAX_LINES = 200
MAX_QUANTITY = 10_000
NO_LINES = "Add at least one line."
DUE_BEFORE_ISSUE = "The due date cannot be before the issue date."
INVOICE_VOID = "This invoice is void."
INVOICE_PAID = "This invoice is already paid."
INVOICE_GONE = "That invoice does not exist."
CREATE_INVOICE = "billing.create_invoice"
RECORD_PAYMENT = "billing.record_payment"


def lock_invoice_customer(invoice: Invoice | int) -> tuple[int, int]:
    """Lock the customer of an invoice (first, like every ledger write); returns the invoice's and the customer's pk."""
    pk = invoice.pk if isinstance(invoice, Invoice) else invoice
    customer_id = Invoice.objects.filter(pk=pk).values_list("customer_id", flat=True).first()
    if customer_id is None:
        raise ValidationError(INVOICE_GONE)
    lock_customer(customer_id)
    return pk, customer_id


def lines_total(lines: Iterable[InvoiceLine]) -> Decimal:
    """What an invoice of these (checked) lines comes to."""
    return sum((line.quantity * line.unit_price for line in lines), ZERO)


def _check_lines(lines: Iterable[tuple[str, int, Decimal | int | str]]) -> list[InvoiceLine]:
    checked = []
    for number, line in enumerate(lines, start=1):
        try:
            description, quantity, unit_price = line
        except (TypeError, ValueError):
            raise ValidationError(
                {"lines": f"Line {number}: give a description, a quantity and a unit price."}
            ) from None
        description = str(description or "").strip()
        if not description:
            raise ValidationError({"lines": f"Line {number}: enter a description."})
        if len(description) > 200:
            raise ValidationError({"lines": f"Line {number}: keep the description under 200 characters."})
        if isinstance(quantity, str) and quantity.strip().isascii() and quantity.strip().isdigit():
            quantity = int(quantity)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
            raise ValidationError(
                {"lines": f"Line {number}: the quantity is a whole number from 1 to {MAX_QUANTITY:,}."}
            )
        try:
            price = parse_amount(unit_price, field="lines")
        except ValidationError as error:
            raise ValidationError({"lines": f"Line {number}: {error.messages[0]}"}) from None
        checked.append(InvoiceLine(description=description, quantity=quantity, unit_price=price))
    if not checked:
        raise ValidationError({"lines": NO_LINES})
    if len(checked) > MAX_LINES:
        raise ValidationError({"lines": f"An invoice has at most {MAX_LINES} lines."})
    # Like every amount, a total is at most MAX_AMOUNT; far beyond it the stored total would overflow.
    if lines_total(checked) > MAX_AMOUNT:
        raise ValidationError({"lines": f"An invoice's total can be at most {format_money(MAX_AMOUNT)}."})
    return checked


def _check_dates(
    issue_date: datetime.date | str | None, due_date: datetime.date | str | None
) -> tuple[datetime.date, datetime.date]:
    """The issue date (today by default) and the due date (DEFAULT_TERMS_DAYS later by default), not before it."""
    issue_date = check_date(issue_date, field="issue_date")
    due_date = (
        check_date(due_date, field="due_date") if due_date else issue_date + datetime.timedelta(days=DEFAULT_TERMS_DAYS)
    )
    if due_date < issue_date:
        raise ValidationError({"due_date": DUE_BEFORE_ISSUE})
    return issue_date, due_date


@ledger_write("create_invoice")
def create_invoice(
    customer: Customer,
    lines: Iterable[tuple[str, int, Decimal | int | str]],
    *,
    issue_date: datetime.date | str | None = None,
    due_date: datetime.date | str | None = None,
    by=None,
    idempotency_key: str | None = None,
) -> Invoice:
    """Raise an invoice, then settle what it can from the customer's auto-apply credits.

    The same idempotency key again with the same customer, lines and dates returns the first invoice.
    """
    checked = _check_lines(lines)
    issue_date, due_date = _check_dates(issue_date, due_date)
    claim = idempotency.claim(CREATE_INVOICE, idempotency_key, by=by)
    asked = idempotency.fingerprint(
        customer=customer.pk if isinstance(customer, Customer) else pk_or_none(customer),
        lines=[(line.description, line.quantity, line.unit_price) for line in checked],
        issue_date=issue_date,
        due_date=due_date,
    )
    if claim.taken:
        return claim.replay(asked, Invoice.objects.select_related("customer"), "invoice")
    customer = lock_customer(customer)
    invoice = Invoice.objects.create(customer=customer, issue_date=issue_date, due_date=due_date, created_by=by)
    for line in checked:
        line.invoice = invoice
    InvoiceLine.objects.bulk_create(checked)
    settlement.current().apply(invoice, by=by)
    invoice.refresh_from_db()
    claim.record(invoice, asked)
    return invoice


def _lock_invoice(invoice: Invoice | int) -> Invoice:
    return Invoice.objects.select_for_update().get(pk=lock_invoice_customer(invoice)[0])


@ledger_write("record_payment")
def record_payment(
    invoice: Invoice,
    amount: Decimal | int | str,
    *,
    date: datetime.date | str | None = None,
    method: str = PaymentMethod.CARD,
    overpayment_to_credit: bool = False,
    by=None,
    idempotency_key: str | None = None,
) -> Payment:
    """Record money received against an unpaid or part-paid invoice.

    More than the outstanding is refused, unless `overpayment_to_credit`: then the payment settles the invoice
    and the extra becomes a credit on the customer's account (reason overpayment, auto-apply on), in the same
    transaction; the payment's `overpayment_credit` names it (None when there was no extra, and on a replay).
    The same idempotency key again with the same invoice, amount, date and method returns the first payment
    (even though the invoice it paid may no longer take one).
    """
    amount = parse_amount(amount)
    date = check_date(date)
    method = check_choice(method, PaymentMethod, field="method")
    claim = idempotency.claim(RECORD_PAYMENT, idempotency_key, by=by)
    asked = idempotency.fingerprint(
        invoice=invoice.pk if isinstance(invoice, Invoice) else pk_or_none(invoice),
        amount=amount,
        date=date,
        method=method,
        **({"overpayment_to_credit": True} if overpayment_to_credit else {}),
    )
    if claim.taken:
        payment = claim.replay(asked, Payment.objects.select_related("invoice__customer"), "payment")
        payment.overpayment_credit = None  # the first submit made it (its note names the invoice); none is made now
        return payment
    locked = _lock_invoice(invoice)
    if locked.status == InvoiceStatus.VOID:
        raise ValidationError(INVOICE_VOID)
    if locked.status == InvoiceStatus.PAID:
        raise ValidationError(INVOICE_PAID)
    extra = amount - locked.outstanding
    if extra > 0 and not overpayment_to_credit:
        raise ValidationError(
            {"amount": f"That is more than the {format_money(locked.outstanding)} outstanding on {locked}."}
        )
    payment = Payment.objects.create(
        invoice=locked, amount=min(amount, locked.outstanding), date=date, method=method, created_by=by
    )
    payment.overpayment_credit = None
    if extra > 0:
        payment.overpayment_credit = settlement.current().credit_overpayment(
            locked.customer_id,
            extra,
            date=date,
            note=f"Overpayment of {locked}: {format_money(amount)} paid, {format_money(locked.outstanding)} outstanding.",
            by=by,
        )
    claim.record(payment, asked)
    return payment


@ledger_write("void_invoice")
def void_invoice(invoice: Invoice, *, by=None) -> Invoice:
    """Void an invoice that has no payments; the credits assigned to it are released."""
    pk, _ = lock_invoice_customer(invoice)
    locked = Invoice.objects.select_for_update().get(pk=pk)
    if locked.status == InvoiceStatus.VOID:
        raise ValidationError("This invoice is already void.")
    if locked.paid > 0:
        raise ValidationError(
            f"{format_money(locked.paid)} has been paid on this invoice, so it cannot be voided. Refund the payments first."
        )
    settlement.current().release(pk)
    locked.voided_at = timezone.now()
    locked.voided_by = by
    locked.save(update_fields=["voided_at", "voided_by"])
    locked.refresh_from_db()
    return locked


@dataclasses.dataclass(frozen=True)
class InvoiceRun:
    """What an invoice run did: how many invoices, their total, and how much credit it applied."""

    count: int
    total: Decimal
    credit_applied: Decimal


@contextlib.contextmanager
def _foreign_keys_checked_per_statement(cursor):
    """Check foreign keys at the end of each statement, then defer them again (Django's default).

    Deferred, the invoice run's 30,000 foreign-key checks wait in PostgreSQL's queue of pending
    trigger events, and every query a trigger runs afterwards (a history row for each invoice the
    sums update) walks that queue again: 25 s for 10,000 invoices, against 6 s checked as it goes.
    """
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    try:
        yield
    finally:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@ledger_write("create_invoices")
def create_invoices(
    customers: QuerySet[Customer],
    lines: Iterable[tuple[str, int, Decimal | int | str]],
    *,
    issue_date: datetime.date | str | None = None,
    due_date: datetime.date | str | None = None,
    by=None,
    run_id: int | None = None,
) -> InvoiceRun:
    """An invoice run: the same lines for every chosen customer, each invoice settled from the
    customer's auto-apply credits oldest first, exactly as create_invoice does one at a time.

    Set-based SQL, so 10,000 or 100,000 customers cost a handful of statements and no Python
    objects; the triggers keep every total and the history as for single invoices.
    """
    checked = _check_lines(lines)
    issue_date, due_date = _check_dates(issue_date, due_date)
    ids_sql, params = customer_ids_sql(customers)
    by_id = by.pk if by else None
    with connection.cursor() as cursor, _foreign_keys_checked_per_statement(cursor):
        # The same lock order as every single-customer write: customers (by id), then credits. The locks are
        # counted, not fetched: 100,000 ids would sit in the client's memory for nothing.
        cursor.execute(
            f"SELECT count(*) FROM (SELECT id FROM customers_customer WHERE id IN ({ids_sql}) ORDER BY id FOR NO KEY UPDATE) locked",
            params,
        )
        cursor.execute(
            f"""
            CREATE TEMPORARY TABLE invoice_run ON COMMIT DROP AS
            WITH new AS (
                INSERT INTO billing_invoice (customer_id, issue_date, due_date, total, paid, credited, created_at, created_by_id, run_id)
                SELECT c.id, %s, %s, 0, 0, 0, now(), %s, %s FROM customers_customer c WHERE c.id IN ({ids_sql})
                RETURNING id, customer_id
            ) SELECT * FROM new
            """,
            [issue_date, due_date, by_id, run_id, *params],
        )
        values = ", ".join(["(%s, %s::integer, %s::numeric)"] * len(checked))
        cursor.execute(
            f"""
            INSERT INTO billing_invoiceline (invoice_id, description, quantity, unit_price)
            SELECT r.id, l.description, l.quantity, l.unit_price
            FROM invoice_run r CROSS JOIN (VALUES {values}) AS l (description, quantity, unit_price)
            """,
            [value for line in checked for value in (line.description, line.quantity, line.unit_price)],
        )
        settlement.current().apply_to_run(cursor, by_id=by_id)
        cursor.execute(
            "SELECT count(*), COALESCE(SUM(i.total), 0), COALESCE(SUM(i.credited), 0) FROM invoice_run r JOIN billing_invoice i ON i.id = r.id"
        )
        count, total, applied = cursor.fetchone()
        cursor.execute("DROP TABLE invoice_run")
    if count == 0:
        raise ValidationError({"customers": NO_CUSTOMERS})
    return InvoiceRun(count=count, total=total, credit_applied=applied)
