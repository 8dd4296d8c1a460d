"""Credits service: every write to credits, assignments and batches goes through here.

Design:
- The database is the last word. Triggers keep `Credit.assigned` and the invoice totals from
  the rows, and CHECK constraints refuse over-assignment and over-settlement, so even a race
  or raw SQL cannot corrupt the ledger. These functions check the same rules first, so that
  people get a clear `ValidationError` rather than a database error.
- Every write for one customer locks that customer's row first (`lock_customer`), then credits
  (by id), then invoices (by id). One fixed order means two staff members acting at once
  queue instead of deadlocking, and each sees the other's result.
- Bulk credits are one set-based `INSERT ... SELECT`, so 10,000 customers cost one statement
  and no Python objects.
- History is recorded by pghistory's triggers; `ledger_write` attaches who and what action.
- `add_credit` and `add_bulk_credits` take `idempotency_key=` like every create (`idempotency.services`):
  the same key with the same parameters returns the first credit or batch; a bulk credit's parameters
  include exactly which customers it chose.
- Refunds (`refund_credit`) take money out of a credit's remaining; a refund is never edited nor deleted,
  only reversed once (`reverse_refund`), which keeps both records. The database keeps `Credit.refunded`
  from the refunds that are not reversed and refuses assigned + refunded above the amount.
- An overpayment (`billing.record_payment(..., overpayment_to_credit=True)`) puts the extra on the account
  through `credit_overpayment`, registered with billing.settlement.
- "The same again?": `find_twin_credit` and `find_twin_batch` find an identical credit or bulk credit
  the same person made moments ago from another copy of the form (a new key), for the form to point out.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F, QuerySet, Sum, Value
from django.utils import timezone

from billing.models import OPEN_STATUSES, Invoice, InvoiceStatus, PaymentMethod, invoice_status
from billing.services import lock_invoice_customer
from billing.settlement import Settlement
from billing_site.ledger import check_choice, check_date, ledger_write
from billing_site.money import ZERO, MoneyField, format_money, parse_amount
from billing_site.web import pk_or_none
from customers.models import Customer
from customers.services import (
    NO_CUSTOMERS,
    chosen_digest_sql,
    customer_ids_sql,
    customer_set_digest,
    id_set_digest,
    lock_customer,
)
from idempotency import services as idempotency
from idempotency.services import KEY_TOO_LONG  # noqa: F401 - the message the shell and tests know it by

from .models import Credit, CreditAssignment, CreditBatch, Reason, Refund

CREDIT_GONE = "This credit has been deleted."
ASSIGNMENT_GONE = "This assignment has already been removed."
STALE_CREDIT = "Someone else changed this credit while you were editing it. Reload the page to see their change."
NO_ALLOCATIONS = "Enter an amount for at least one invoice."
BATCH_UNDONE = "This batch has already been undone."
NOTE_TOO_LONG = "Keep the note under 2,000 characters."
BATCH_UNDONE_SINCE = (
    "This form already made bulk batch #{pk}, which has since been undone. Reload the page to start a new one."
)
REFUND_GONE = "That refund does not exist."
NOTHING_TO_REFUND = "Nothing is left on this credit to refund: its whole amount is assigned or refunded already."
NO_REVERSAL_REASON = "Say why this refund is being reversed."
HAS_REFUNDS = "Money has been refunded from this credit, so it cannot be deleted: its refunds must stay on record."
ADD_CREDIT = "credits.add_credit"
REFUND_CREDIT = "credits.refund_credit"
ADD_BULK_CREDITS = "credits.add_bulk_credits"
# An identical credit by the same person this recently is most likely the same form sent again.
TWIN_WINDOW = datetime.timedelta(minutes=10)


def _check_note(note: object) -> str:
    note = "" if note is None else str(note)
    if len(note) > 2000:
        raise ValidationError({"note": NOTE_TOO_LONG})
    return note


def _lock_credit(credit: Credit | int) -> Credit:
    pk = credit.pk if isinstance(credit, Credit) else credit
    try:
        return Credit.objects.select_for_update().get(pk=pk)
    except Credit.DoesNotExist:
        raise ValidationError(CREDIT_GONE) from None


def _customer_of_credit(credit: Credit | int) -> int:
    pk = credit.pk if isinstance(credit, Credit) else credit
    customer_id = Credit.objects.filter(pk=pk).values_list("customer_id", flat=True).first()
    if customer_id is None:
        raise ValidationError(CREDIT_GONE)
    return customer_id


def check_credit_fields(amount, date, reason: str, note: str) -> tuple[Decimal, datetime.date, str, str]:
    """What every new credit is checked for: an amount in range, a date, a known reason, a note of a sane length."""
    return parse_amount(amount), check_date(date), check_choice(reason, Reason, field="reason"), _check_note(note)


@ledger_write("add_credit")
def add_credit(
    customer: Customer,
    amount: Decimal | int | str,
    *,
    date: datetime.date | str | None = None,
    reason: str = Reason.OTHER,
    note: str = "",
    auto_apply: bool = True,
    by=None,
    idempotency_key: str | None = None,
) -> Credit:
    """Add one credit to a customer's account; the same idempotency key and parameters again return the first credit."""
    amount, date, reason, note = check_credit_fields(amount, date, reason, note)
    claim = idempotency.claim(ADD_CREDIT, idempotency_key, by=by)
    asked = idempotency.fingerprint(
        customer=customer.pk if isinstance(customer, Customer) else pk_or_none(customer),
        amount=amount,
        date=date,
        reason=reason,
        note=note,
        auto_apply=bool(auto_apply),
    )
    if claim.taken:
        return claim.replay(asked, Credit.objects.select_related("customer"), "credit")
    credit = Credit.objects.create(
        customer=lock_customer(customer),
        amount=amount,
        date=date,
        reason=reason,
        note=note,
        auto_apply=bool(auto_apply),
        created_by=by,
    )
    claim.record(credit, asked)
    return credit


def _bulk_fingerprint(customers: str | None, amount: Decimal, date, reason: str, note: str, auto_apply: bool) -> str:
    """What a bulk credit was asked for: exactly which customers (their digest), and the credit each gets."""
    return idempotency.fingerprint(
        customers=customers, amount=amount, date=date, reason=reason, note=note, auto_apply=auto_apply
    )


@ledger_write("add_bulk_credits")
def add_bulk_credits(
    customers: QuerySet[Customer] | Iterable[Customer | int],
    amount: Decimal | int | str,
    *,
    date: datetime.date | str | None = None,
    reason: str = Reason.OTHER,
    note: str = "",
    auto_apply: bool = True,
    by=None,
    idempotency_key: str | None = None,
    run_id: int | None = None,
) -> CreditBatch:
    """The same credit for every chosen customer: all or nothing, one batch, one INSERT ... SELECT.

    The same idempotency key again, for exactly the same customers and credit, returns the first batch.
    """
    amount, date, reason, note = check_credit_fields(amount, date, reason, note)
    auto_apply = bool(auto_apply)
    idempotency.check_key(idempotency_key)
    ids_sql, params = customer_ids_sql(customers)
    claim = idempotency.claim(ADD_BULK_CREDITS, idempotency_key, by=by)
    if claim.taken:
        chosen = customer_set_digest(ids_sql, params)
        asked = _bulk_fingerprint(chosen, amount, date, reason, note, auto_apply)
        batch = claim.replay(asked, CreditBatch.objects.all(), "bulk credit")
        if batch.is_undone:
            raise ValidationError(BATCH_UNDONE_SINCE.format(pk=batch.pk))
        return batch
    now = timezone.now()
    with connection.cursor() as cursor:
        # Foreign keys are deferred to commit, so the credits can name their batch before it
        # exists; that lets the batch record the exact count the INSERT wrote.
        cursor.execute("SELECT nextval(pg_get_serial_sequence('credits_creditbatch', 'id'))")
        batch_id = cursor.fetchone()[0]
        # The INSERT also says exactly whom it credited (a digest of their ids), for the key's fingerprint.
        # It takes consecutive credit note numbers for them all at once: the counter row moves by the count, locked
        # until commit (a rollback gives the numbers back), and the credits take its last numbers in customer order.
        cursor.execute(
            f"""
            WITH chosen AS (
                SELECT c.id, row_number() OVER (ORDER BY c.id) AS n FROM customers_customer c WHERE c.id IN ({ids_sql})
            ), counter AS (
                INSERT INTO credits_creditnotecounter (id, last) SELECT 1, count(*) FROM chosen
                ON CONFLICT (id) DO UPDATE SET last = credits_creditnotecounter.last + EXCLUDED.last
                RETURNING last - (SELECT count(*) FROM chosen) AS before
            ), made AS (
                INSERT INTO credits_credit
                    (number, customer_id, date, amount, assigned, reason, note, auto_apply, batch_id, version, created_at,
                     created_by_id)
                SELECT counter.before + chosen.n, chosen.id, %s, %s, 0, %s, %s, %s, %s, 1, %s, %s
                FROM chosen, counter
                RETURNING customer_id
            )
            SELECT count(*), {id_set_digest("customer_id")} FROM made
            """,
            [*params, date, amount, reason, note, auto_apply, batch_id, now, by.pk if by else None],
        )
        count, chosen = cursor.fetchone()
    if count == 0:
        raise ValidationError({"customers": NO_CUSTOMERS})
    batch = CreditBatch.objects.create(
        id=batch_id,
        amount=amount,
        date=date,
        reason=reason,
        note=note,
        auto_apply=auto_apply,
        count=count,
        total=amount * count,
        created_by=by,
        run_id=run_id,
    )
    claim.record(batch, _bulk_fingerprint(chosen, amount, date, reason, note, auto_apply))
    return batch


def _made_moments_ago(amount: Decimal, date: datetime.date, reason: str, note: str, by) -> dict:
    """What makes a credit or a bulk credit the same as one this person made within TWIN_WINDOW."""
    same = {"amount": amount, "date": date, "reason": reason, "note": note, "created_by": by}
    return {**same, "created_at__gte": timezone.now() - TWIN_WINDOW}


def find_twin_credit(
    customer: Customer | int,
    amount: Decimal,
    *,
    date: datetime.date,
    reason: str,
    note: str,
    by=None,
    idempotency_key: str | None = None,
) -> Credit | None:
    """The same credit (customer, amount, payment date, reason, note) this person added in the last TWIN_WINDOW
    from another copy of the form; what this form's own key made is not a twin, it is this form."""
    return (
        Credit.objects.filter(customer=customer, **_made_moments_ago(amount, date, reason, note, by))
        .exclude(pk__in=idempotency.made_with(ADD_CREDIT, idempotency_key))
        .select_related("customer")
        .order_by("-created_at", "-id")
        .first()
    )


def find_twin_batch(
    customers: QuerySet[Customer] | Iterable[Customer | int],
    amount: Decimal,
    *,
    date: datetime.date,
    reason: str,
    note: str,
    by=None,
    idempotency_key: str | None = None,
) -> CreditBatch | None:
    """The same bulk credit (exactly these customers, amount, payment date, reason, note) this person made in the
    last TWIN_WINDOW from another copy of the form, and has not undone.

    Two classes credited the same amount a minute apart (a snow day) are two bulk credits, not one twice.
    """
    recent = list(
        CreditBatch.objects.filter(undone_at=None, **_made_moments_ago(amount, date, reason, note, by))
        .exclude(pk__in=idempotency.made_with(ADD_BULK_CREDITS, idempotency_key))
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)
    )
    if not recent:
        return None
    try:
        ids_sql, params = customer_ids_sql(customers)
    except ValidationError:
        return None  # nobody (or a stale choice) is nobody's twin: the create itself says what is wrong
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT b.id FROM unnest(%s::bigint[]) WITH ORDINALITY AS b (id, n)
            WHERE (SELECT {id_set_digest("customer_id")} FROM credits_credit WHERE batch_id = b.id)
                = {chosen_digest_sql(ids_sql)}
            ORDER BY n LIMIT 1
            """,
            [recent, *params],
        )
        row = cursor.fetchone()
    return CreditBatch.objects.get(pk=row[0]) if row else None


@ledger_write("update_credit")
def update_credit(
    credit: Credit,
    *,
    amount: Decimal | int | str | None = None,
    date: datetime.date | str | None = None,
    reason: str | None = None,
    note: str | None = None,
    auto_apply: bool | None = None,
    version: int | None = None,
    by=None,
) -> Credit:
    """Modify a credit; `version` (from the form) refuses a change made on stale data."""
    lock_customer(_customer_of_credit(credit))
    locked = _lock_credit(credit)
    if version is not None and pk_or_none(version) != locked.version:
        raise ValidationError(STALE_CREDIT)
    if amount is not None:
        new_amount = parse_amount(amount)
        used = locked.assigned + locked.refunded
        if new_amount < used:
            assigned = format_money(locked.assigned)
            message = (
                f"{assigned} of this credit is assigned and {format_money(locked.refunded)} refunded; "
                f"the amount cannot be less than {format_money(used)}."
                if locked.refunded
                else f"{assigned} of this credit is already assigned; the amount cannot be less than that."
            )
            raise ValidationError({"amount": message})
        locked.amount = new_amount
    if date is not None:
        locked.date = check_date(date)
    if reason is not None:
        locked.reason = check_choice(reason, Reason, field="reason")
    if note is not None:
        locked.note = _check_note(note)
    if auto_apply is not None:
        locked.auto_apply = bool(auto_apply)
    locked.version += 1
    locked.save(update_fields=["amount", "date", "reason", "note", "auto_apply", "version"])
    locked.refresh_from_db()
    return locked


def _allocation_error(invoice: Invoice | None, credit: Credit, amount: Decimal) -> str | None:
    if invoice is None:
        return "That invoice does not exist."
    if invoice.customer_id != credit.customer_id:
        return f"{invoice} belongs to another customer."
    if invoice.status == InvoiceStatus.VOID:
        return f"{invoice} is void."
    if invoice.status not in OPEN_STATUSES:
        return f"{invoice} is already paid."
    if amount > invoice.outstanding:
        return f"{invoice} has only {format_money(invoice.outstanding)} outstanding."
    return None


@ledger_write("assign_credit")
def assign_credit(
    credit: Credit, allocations: Mapping[Invoice | int, Decimal | int | str], *, by=None
) -> list[CreditAssignment]:
    """Assign parts of a credit to open invoices of the same customer: {invoice: amount, ...}."""
    amounts: dict[int, Decimal] = {}
    for invoice, value in allocations.items():
        pk = invoice.pk if isinstance(invoice, Invoice) else pk_or_none(invoice)
        if pk is None:
            raise ValidationError(f"{invoice!r} is not an invoice.")
        amounts[pk] = amounts.get(pk, ZERO) + parse_amount(value, field=f"invoice-{pk}")
    if not amounts:
        raise ValidationError(NO_ALLOCATIONS)
    lock_customer(_customer_of_credit(credit))
    locked = _lock_credit(credit)
    invoices = Invoice.objects.select_for_update().in_bulk(sorted(amounts))
    errors = {
        f"invoice-{pk}": message
        for pk, amount in amounts.items()
        if (message := _allocation_error(invoices.get(pk), locked, amount))
    }
    if errors:
        raise ValidationError(errors)
    wanted = sum(amounts.values(), ZERO)
    if wanted > locked.remaining:
        raise ValidationError(
            f"That assigns {format_money(wanted)}, but the credit has only {format_money(locked.remaining)} left to assign."
        )
    return CreditAssignment.objects.bulk_create(
        CreditAssignment(credit=locked, invoice=invoices[pk], amount=amount, created_by=by)
        for pk, amount in amounts.items()
    )


@ledger_write("unassign_credit")
def unassign_credit(assignment: CreditAssignment, *, by=None) -> None:
    """Remove one assignment: the credit's remaining grows and the invoice is reopened."""
    customer_id = (
        CreditAssignment.objects.filter(pk=assignment.pk).values_list("credit__customer_id", flat=True).first()
    )
    if customer_id is None:
        raise ValidationError(ASSIGNMENT_GONE)
    lock_customer(customer_id)
    _lock_credit(assignment.credit_id)
    if CreditAssignment.objects.filter(pk=assignment.pk).delete()[0] == 0:
        raise ValidationError(ASSIGNMENT_GONE)


class StatusChange(NamedTuple):
    invoice: Invoice
    before: InvoiceStatus
    after: InvoiceStatus


class DeletePreview(NamedTuple):
    """What `delete_credit` would do: the assignments it removes, and the invoices whose status changes."""

    assignments: list[CreditAssignment]
    changes: list[StatusChange]


def preview_delete(credit: Credit) -> DeletePreview:
    """The delete confirmation's facts; each invoice's status after is judged by the rule of its generated column."""
    assignments = list(credit.assignments.select_related("invoice").order_by("invoice__issue_date", "invoice_id", "id"))
    invoices = (
        Invoice.objects.filter(credit_assignments__credit=credit)
        .annotate(removed=Sum("credit_assignments__amount"))
        .alias(credited_after=F("credited") - F("removed"))
        .annotate(status_after=invoice_status(credited="credited_after"))
        .order_by("issue_date", "id")
    )
    changes = [
        StatusChange(invoice, InvoiceStatus(invoice.status), InvoiceStatus(invoice.status_after))
        for invoice in invoices
        if invoice.status_after != invoice.status
    ]
    return DeletePreview(assignments, changes)


def preview_unassign(assignment: CreditAssignment) -> Invoice:
    """The remove-assignment confirmation's facts: the invoice, with `status_after` and `outstanding_after`."""
    amount = Value(assignment.amount, output_field=MoneyField())
    return (
        Invoice.objects.filter(pk=assignment.invoice_id)
        .alias(credited_after=F("credited") - amount)
        .annotate(status_after=invoice_status(credited="credited_after"), outstanding_after=F("outstanding") + amount)
        .get()
    )


@ledger_write("delete_credit")
def delete_credit(credit: Credit, *, by=None) -> list[Invoice]:
    """Delete a credit and its assignments; returns the invoices that were reopened. History keeps the record."""
    lock_customer(_customer_of_credit(credit))
    locked = _lock_credit(credit)
    if locked.refunds.exists():
        raise ValidationError(HAS_REFUNDS)
    invoice_ids = list(locked.assignments.values_list("invoice_id", flat=True).distinct())
    locked.assignments.all().delete()
    locked.delete()
    return list(Invoice.objects.filter(pk__in=invoice_ids).order_by("id"))


@ledger_write("apply_available_credit")
def apply_available_credit(invoice: Invoice, *, by=None) -> Decimal:
    """Settle an open invoice from the customer's auto-apply credits, oldest first; returns the amount applied."""
    _, customer_id = lock_invoice_customer(invoice)
    credits = list(Credit.objects.auto_applicable_for(customer_id).select_for_update())
    locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if locked.status == InvoiceStatus.VOID:
        raise ValidationError(f"{locked} is void.")
    left = locked.outstanding
    assignments = []
    for credit in credits:
        if left <= 0:
            break
        part = min(credit.remaining, left)
        assignments.append(CreditAssignment(credit=credit, invoice=locked, amount=part, created_by=by))
        left -= part
    CreditAssignment.objects.bulk_create(assignments)
    return locked.outstanding - left


@ledger_write("undo_batch")
def undo_batch(batch: CreditBatch, *, by=None) -> CreditBatch:
    """Delete every credit of a bulk batch, while none of them is assigned."""
    locked = CreditBatch.objects.select_for_update().filter(pk=batch.pk).first()
    if locked is None:
        raise ValidationError("This batch does not exist.")
    if locked.is_undone:
        raise ValidationError(BATCH_UNDONE)
    # Lock the batch's credits (a plain SELECT: .count() would drop FOR UPDATE) so none is assigned meanwhile.
    assigned = [
        a
        for a in Credit.objects.filter(batch=locked)
        .select_for_update()
        .order_by("id")
        .values_list("assigned", flat=True)
        if a > 0
    ]
    if assigned:
        raise ValidationError(
            f"{len(assigned)} of this batch's credits {'is' if len(assigned) == 1 else 'are'} already assigned to invoices. "
            "Remove those assignments first."
        )
    refunded = Refund.objects.filter(credit__batch=locked).values("credit_id").distinct().count()
    if refunded:
        raise ValidationError(
            f"{refunded} of this batch's credits {'has' if refunded == 1 else 'have'} refunds, so the batch cannot be undone: "
            "money has left."
        )
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM credits_credit WHERE batch_id = %s", [locked.pk])
    locked.undone_at = timezone.now()
    locked.undone_by = by
    locked.save(update_fields=["undone_at", "undone_by"])
    return locked


@ledger_write("refund_credit")
def refund_credit(
    credit: Credit | int,
    amount: Decimal | int | str,
    *,
    date: datetime.date | str | None = None,
    method: str = PaymentMethod.CARD,
    note: str = "",
    by=None,
    idempotency_key: str | None = None,
) -> Refund:
    """Pay part or all of a credit's remaining back to the family; the same idempotency key and parameters again
    return the first refund."""
    amount = parse_amount(amount)
    date = check_date(date)
    method = check_choice(method, PaymentMethod, field="method")
    note = _check_note(note)
    claim = idempotency.claim(REFUND_CREDIT, idempotency_key, by=by)
    asked = idempotency.fingerprint(
        credit=credit.pk if isinstance(credit, Credit) else pk_or_none(credit),
        amount=amount,
        date=date,
        method=method,
        note=note,
    )
    if claim.taken:
        return claim.replay(asked, Refund.objects.select_related("credit__customer"), "refund")
    lock_customer(_customer_of_credit(credit))
    locked = _lock_credit(credit)
    if locked.remaining <= 0:
        raise ValidationError(NOTHING_TO_REFUND)
    if amount > locked.remaining:
        raise ValidationError({"amount": f"This credit has only {format_money(locked.remaining)} left to refund."})
    refund = Refund.objects.create(credit=locked, amount=amount, date=date, method=method, note=note, created_by=by)
    claim.record(refund, asked)
    return refund


@ledger_write("reverse_refund")
def reverse_refund(refund: Refund | int, *, reason: str, by=None) -> Refund:
    """Put a refund right: it stops counting (the credit's remaining grows back) and both records stay."""
    reason = "" if reason is None else str(reason).strip()
    if not reason:
        raise ValidationError({"reason": NO_REVERSAL_REASON})
    if len(reason) > 2000:
        raise ValidationError({"reason": "Keep the reason under 2,000 characters."})
    pk = refund.pk if isinstance(refund, Refund) else pk_or_none(refund)
    found = Refund.objects.filter(pk=pk).values_list("credit_id", "credit__customer_id").first()
    if found is None:
        raise ValidationError(REFUND_GONE)
    credit_id, customer_id = found
    lock_customer(customer_id)
    _lock_credit(credit_id)
    locked = Refund.objects.select_for_update(of=("self",)).select_related("reversed_by").get(pk=pk)
    if locked.is_reversed:
        who = f" by {locked.reversed_by.get_username()}" if locked.reversed_by else ""
        raise ValidationError(
            f"This refund was already reversed{who} on {timezone.localtime(locked.reversed_at):%-d %b %Y at %H:%M}."
        )
    locked.reversed_at = timezone.now()
    locked.reversed_by = by
    locked.reversal_reason = reason
    locked.save(update_fields=["reversed_at", "reversed_by", "reversal_reason"])
    return locked


def credit_overpayment(customer_id: int, amount: Decimal, *, date: datetime.date, note: str, by=None) -> Credit:
    """The part of a payment beyond its invoice's outstanding, as an auto-apply credit (record_payment's caller
    has locked the customer and holds the transaction)."""
    return Credit.objects.create(
        customer_id=customer_id,
        amount=amount,
        date=date,
        reason=Reason.OVERPAYMENT,
        note=note,
        auto_apply=True,
        created_by=by,
    )


def apply_credit_to_run(cursor, *, by_id: int | None) -> None:
    """apply_available_credit for every invoice of an invoice run (the temporary table `invoice_run`), set-based."""
    # The same lock order as every single-customer write: the run has locked its customers; credits by id next.
    cursor.execute(
        """
        SELECT count(*) FROM (
            SELECT c.id FROM credits_credit c JOIN invoice_run r ON r.customer_id = c.customer_id
            WHERE c.auto_apply AND c.remaining > 0 ORDER BY c.id FOR NO KEY UPDATE OF c
        ) locked
        """
    )
    # Oldest credit first: each credit covers what the older ones left of its customer's invoice.
    cursor.execute(
        """
        INSERT INTO credits_creditassignment (credit_id, invoice_id, amount, created_at, created_by_id)
        SELECT credit_id, invoice_id, LEAST(remaining, outstanding - covered_before), now(), %s
        FROM (
            SELECT c.id AS credit_id, r.id AS invoice_id, c.remaining, i.outstanding,
                   SUM(c.remaining) OVER (PARTITION BY c.customer_id ORDER BY c.date, c.id) - c.remaining AS covered_before
            FROM invoice_run r
            JOIN billing_invoice i ON i.id = r.id
            JOIN credits_credit c ON c.customer_id = r.customer_id AND c.auto_apply AND c.remaining > 0
        ) allocation
        WHERE covered_before < outstanding
        """,
        [by_id],
    )


def release_invoice(invoice_pk: int) -> None:
    """Before a void: lock the credits assigned to the invoice (by id), then remove its assignments."""
    list(Credit.objects.filter(assignments__invoice_id=invoice_pk).select_for_update().order_by("id").values_list("id"))
    CreditAssignment.objects.filter(invoice_id=invoice_pk).delete()


def available_for(customer_id: int) -> Decimal:
    """The customer's auto-apply credit still to assign: what "Apply available credit" would use."""
    return Credit.objects.auto_applicable_for(customer_id).aggregate(total=Sum("remaining"))["total"] or ZERO


def preview_credit_for_run(ids_sql: str, params: list, each: Decimal) -> tuple[int, Decimal]:
    """How many of the chosen customers would have credit applied to a new invoice of `each`, and how much in all."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT count(*), COALESCE(SUM(LEAST(available, %s)), 0) FROM (
                SELECT customer_id, SUM(remaining) AS available FROM credits_credit
                WHERE auto_apply AND remaining > 0 AND customer_id IN ({ids_sql}) GROUP BY customer_id
            ) a
            """,
            [each, *params],
        )
        customers, amount = cursor.fetchone()
    return (customers, amount) if each > 0 else (0, ZERO)


# How billing's invoices meet these credits (billing.settlement); registered by CreditsConfig.ready().
SETTLEMENT = Settlement(
    apply=apply_available_credit,
    apply_to_run=apply_credit_to_run,
    release=release_invoice,
    available=available_for,
    credit_overpayment=credit_overpayment,
    preview_run=preview_credit_for_run,
)
