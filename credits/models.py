"""Credits on customers' accounts, their assignments to invoices, and bulk batches.

`Credit.assigned` is kept by a PostgreSQL trigger from the assignment rows, `Credit.refunded` from
its refunds that are not reversed, and `remaining` (amount − assigned − refunded) and `status` are
generated columns. CHECK constraints and the assignment trigger refuse
over-assignment, cross-customer assignment and assignment to a void invoice, whatever wrote
the rows.
"""

from __future__ import annotations

import datetime
import re

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.urls import reverse

from billing.models import OPEN_STATUSES, Invoice, PaymentMethod
from billing_site.money import MAX_AMOUNT, ZERO, MoneyField
from billing_site.triggers import (
    BULK_DELETE_EVENT,
    BULK_INSERT_EVENT,
    keeps_parent_sum,
    kept_by_db,
    refuse_truncate_leaving,
)


class Reason(models.TextChoices):
    REFUND = "refund", "Refund"
    WRITE_OFF = "write_off", "Write-off"
    CANCELLED_CLASS = "cancelled_class", "Cancelled class"
    GOODWILL = "goodwill", "Goodwill"
    ADJUSTMENT = "adjustment", "Adjustment"
    OVERPAYMENT = "overpayment", "Overpayment"
    OTHER = "other", "Other"


class CreditStatus(models.TextChoices):
    UNASSIGNED = "unassigned", "Unassigned"
    PART_ASSIGNED = "part_assigned", "Part-assigned"
    FULLY_ASSIGNED = "fully_assigned", "Fully assigned"
    # Nothing left, and some of it went back to the family: "Fully assigned" would send staff looking for invoices.
    REFUNDED = "refunded", "Refunded"


_CHECK_ASSIGNMENT = """
    SELECT customer_id INTO credit_customer FROM credits_credit WHERE id = NEW.credit_id;
    SELECT customer_id, voided_at INTO invoice_customer, invoice_voided FROM billing_invoice WHERE id = NEW.invoice_id;
    IF credit_customer IS DISTINCT FROM invoice_customer THEN
        RAISE EXCEPTION 'A credit can only be assigned to an invoice of the same customer'
            USING ERRCODE = 'check_violation';
    END IF;
    IF invoice_voided IS NOT NULL THEN
        RAISE EXCEPTION 'Nothing can be assigned to a void invoice' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
"""


class CreditQuerySet(models.QuerySet):
    def with_remaining(self) -> CreditQuerySet:
        return self.filter(remaining__gt=0)

    def unapplied(self, *, days: int = 0, on: datetime.date | None = None) -> CreditQuerySet:
        """Auto-apply credits with something left, at least `days` old on the day `on` (today), whose customer has
        open invoices: credit that should have settled them. A credit with auto-apply off is kept for manual
        assignment on purpose, so it is not "unapplied"."""
        from django.utils import timezone

        on = on or timezone.localdate()
        has_open = models.Exists(
            Invoice.objects.filter(customer_id=models.OuterRef("customer_id"), status__in=OPEN_STATUSES)
        )
        return self.filter(has_open, remaining__gt=0, auto_apply=True, date__lte=on - datetime.timedelta(days=days))

    def auto_applicable_for(self, customer) -> CreditQuerySet:
        """The customer's credits that auto-apply to invoices, oldest first."""
        return self.filter(customer=customer, auto_apply=True, remaining__gt=0).order_by("date", "id")


@pghistory.track(pghistory.InsertEvent(), pghistory.DeleteEvent())
class CreditBatch(models.Model):
    """One bulk action: the same credit for many customers, created in one transaction."""

    amount = MoneyField(verbose_name="amount each")
    date = models.DateField(verbose_name="payment date")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.TextField(blank=True)
    auto_apply = models.BooleanField(default=True, verbose_name="auto-apply")
    count = models.PositiveIntegerField(verbose_name="customers", help_text="Credits created by the batch")
    total = MoneyField(help_text="Sum of the credits created by the batch")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    undone_at = models.DateTimeField(null=True, blank=True, verbose_name="undone")
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A bulk credit for more customers than settings.BULK_CREDITS_IN_BACKGROUND_ABOVE runs in the background: one batch
    # per chunk of that run (Billing › Runs).
    run = models.ForeignKey(
        "runs.Run", null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "credit batches"
        permissions = [("undo_creditbatch", "Can undo a bulk credit batch")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0) & Q(amount__lte=MAX_AMOUNT), name="batch_amount_in_range"),
            models.CheckConstraint(
                condition=Q(count__gt=0) & Q(total=F("amount") * F("count")), name="batch_total_is_count_times_amount"
            ),
        ]
        triggers = [
            pgtrigger.Protect(
                name="batch_figures_are_fixed",
                operation=pgtrigger.Update,
                condition=pgtrigger.AnyChange("amount", "count", "total"),
            )
        ]

    def __str__(self) -> str:
        return f"Bulk batch #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("credits:batch_detail", args=[self.pk])

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None


def credit_note_number(number: int | None) -> str:
    return f"CN-{number:06d}" if number else "CN-(new)"


def parse_credit_note_number(text: str) -> int | None:
    """The number in "CN-000042", "cn 42" or "42"; None when the text is not a credit note number."""
    match = re.fullmatch(r"\s*(?:CN[-\s]?)?0*([0-9]{1,9})\s*", text, flags=re.IGNORECASE)
    return int(match[1]) if match else None


class CreditNoteCounter(models.Model):
    """The last credit note number given: one row, locked by the transaction that takes the next numbers.

    A sequence would burn a number in every rolled-back transaction; this row's update rolls back with the
    credit, so numbers have no gaps. Two credits at once queue on it for the rest of their transaction."""

    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="one_credit_note_counter")]

    def __str__(self) -> str:
        return f"CN-{self.last:06d}"


class NumberFromTheDatabase(models.PositiveIntegerField):
    """A column the database fills on INSERT (a trigger), read back with RETURNING as an id is."""

    db_returning = True


# Takes the next number for a credit written without one (one row: add_credit, an overpayment, the admin, raw SQL);
# add_bulk_credits numbers its rows itself, all at once, in its INSERT. INSERT … ON CONFLICT locks the counter row
# (and makes it again after a test's flush emptied the table).
TAKE_NEXT_NUMBER = """
INSERT INTO credits_creditnotecounter (id, last) VALUES (1, 1)
ON CONFLICT (id) DO UPDATE SET last = credits_creditnotecounter.last + 1
RETURNING last INTO NEW.number;
RETURN NEW;
"""


# The number is fixed once given (credit_number_is_fixed), so history need not copy it.
@pghistory.track(
    BULK_INSERT_EVENT, pghistory.UpdateEvent(), BULK_DELETE_EVENT, exclude=["remaining", "status", "number"]
)
class Credit(models.Model):
    number = NumberFromTheDatabase(
        unique=True,
        editable=False,
        verbose_name="credit note number",
        help_text="CN-000001 onward, in the order credits were made, with no gaps (a counter row, not a sequence)",
    )
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="credits")
    date = models.DateField(default=datetime.date.today, verbose_name="payment date")
    amount = MoneyField()
    assigned = MoneyField(default=ZERO, editable=False)
    refunded = MoneyField(
        default=ZERO, db_default=ZERO, editable=False, help_text="Refunded to the family, not counting reversed refunds"
    )
    remaining = models.GeneratedField(
        expression=F("amount") - F("assigned") - F("refunded"), output_field=MoneyField(), db_persist=True
    )
    # Used up with some of it refunded: Refunded; otherwise judged by what is assigned, as before refunds existed
    # (a part-refunded credit with nothing assigned is Unassigned: its remaining can still be assigned).
    status = models.GeneratedField(
        expression=Case(
            When(
                Q(refunded__gt=0) & Q(amount__lte=F("assigned") + F("refunded")),
                then=Value(CreditStatus.REFUNDED.value),
            ),
            When(assigned=0, then=Value(CreditStatus.UNASSIGNED.value)),
            When(amount__gt=F("assigned") + F("refunded"), then=Value(CreditStatus.PART_ASSIGNED.value)),
            default=Value(CreditStatus.FULLY_ASSIGNED.value),
        ),
        output_field=models.CharField(max_length=15, choices=CreditStatus.choices),
        db_persist=True,
    )
    reason = models.CharField(max_length=20, choices=Reason.choices, default=Reason.OTHER)
    note = models.TextField(blank=True)
    auto_apply = models.BooleanField(
        default=True,
        verbose_name="auto-apply",
        help_text="Apply the remaining balance automatically to the next invoice",
    )
    batch = models.ForeignKey(
        CreditBatch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credits",
        verbose_name="bulk batch",
    )
    version = models.PositiveIntegerField(
        default=1, editable=False, help_text="Bumped by every modification; guards stale forms"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = CreditQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [
            models.Index(fields=["customer", "date", "id"], name="credit_customer_date"),
            models.Index(fields=["-date", "-id"], name="credit_date"),
            models.Index(fields=["status", "reason", "-date", "-id"], name="credit_status_reason_date"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0) & Q(amount__lte=MAX_AMOUNT), name="credit_amount_in_range"
            ),
            models.CheckConstraint(condition=Q(assigned__gte=0), name="credit_assigned_not_negative"),
            models.CheckConstraint(condition=Q(refunded__gte=0), name="credit_refunded_not_negative"),
            # Assigned and refunded together never exceed the amount (the name is older than refunds).
            models.CheckConstraint(
                condition=Q(amount__gte=F("assigned") + F("refunded")), name="credit_not_overassigned"
            ),
        ]
        triggers = [
            *kept_by_db(
                "credit_assigned_kept_by_db",
                ("assigned",),
                "A credit''s assigned figure is kept by the database from its assignments",
            ),
            *kept_by_db(
                "credit_refunded_kept_by_db",
                ("refunded",),
                "A credit''s refunded figure is kept by the database from its refunds",
            ),
            # Moving a credit to another customer would leave its assignments joining two customers.
            pgtrigger.Protect(
                name="credit_customer_is_fixed", operation=pgtrigger.Update, condition=pgtrigger.AnyChange("customer")
            ),
            pgtrigger.Trigger(
                name="credit_takes_next_number",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert,
                condition=pgtrigger.Condition("NEW.number IS NULL"),
                func=TAKE_NEXT_NUMBER,
            ),
            pgtrigger.Protect(
                name="credit_number_is_fixed", operation=pgtrigger.Update, condition=pgtrigger.AnyChange("number")
            ),
        ]

    def __str__(self) -> str:
        """The credit note number, as every page names a credit (a credit not yet saved has none)."""
        return self.display_number if self.number else f"Credit #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("credits:detail", args=[self.pk])

    @property
    def display_number(self) -> str:
        """The credit note number as the family reads it: CN-000042."""
        return credit_note_number(self.number)

    @property
    def status_label(self) -> str:
        return CreditStatus(self.status).label


@pghistory.track(BULK_INSERT_EVENT, BULK_DELETE_EVENT)
class CreditAssignment(models.Model):
    credit = models.ForeignKey(Credit, on_delete=models.PROTECT, related_name="assignments")
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, related_name="credit_assignments")
    amount = MoneyField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0) & Q(amount__lte=MAX_AMOUNT), name="assignment_amount_in_range"
            ),
        ]
        triggers = [
            pgtrigger.Protect(name="assignment_is_immutable", operation=pgtrigger.Update),
            refuse_truncate_leaving("credits_credit", "assigned", "assignments_truncated_alone"),
            pgtrigger.Trigger(
                name="assignment_same_customer_open_invoice",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert,
                func=_CHECK_ASSIGNMENT,
                declare=[
                    ("credit_customer", "bigint"),
                    ("invoice_customer", "bigint"),
                    ("invoice_voided", "timestamptz"),
                ],
            ),
            *keeps_parent_sum("assignment_keeps_credit_assigned", "credits_credit", "credit_id", "assigned"),
            *keeps_parent_sum("assignment_keeps_invoice_credited", "billing_invoice", "invoice_id", "credited"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} of {self.credit} to {self.invoice}"


def _refund_sum(counted: str) -> str:
    """Add to each credit the change in its refunds that count (are not reversed), from the transition tables."""
    return f"""
UPDATE credits_credit AS credit SET refunded = credit.refunded + changed.amount
FROM (
    SELECT credit_id AS id, SUM(amount) AS amount FROM ({counted}) AS counted GROUP BY credit_id HAVING SUM(amount) <> 0
) AS changed
WHERE credit.id = changed.id;
RETURN NULL;
"""


# Only one change is allowed: reversing a refund once, with a reason; every other column stays as it was.
_IS_A_REVERSAL = """
OLD.reversed_at IS NULL AND NEW.reversed_at IS NOT NULL AND NEW.reversal_reason <> ''
AND ROW(NEW.id, NEW.credit_id, NEW.amount, NEW.date, NEW.method, NEW.note, NEW.created_by_id, NEW.created_at)
    IS NOT DISTINCT FROM ROW(OLD.id, OLD.credit_id, OLD.amount, OLD.date, OLD.method, OLD.note, OLD.created_by_id,
    OLD.created_at)
"""


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class Refund(models.Model):
    """Money from a credit's remaining paid back to the family. Never edited nor deleted: a mistake is reversed
    (reversed_at, reversed_by, reversal_reason), which keeps both records; a reversed refund stops counting."""

    credit = models.ForeignKey(Credit, on_delete=models.PROTECT, related_name="refunds")
    amount = MoneyField()
    date = models.DateField(default=datetime.date.today, verbose_name="refund date")
    method = models.CharField(max_length=20, choices=PaymentMethod.choices, default=PaymentMethod.CARD)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reversed_at = models.DateTimeField(null=True, blank=True, verbose_name="reversed")
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reversal_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["-date", "-id"], name="refund_date")]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0) & Q(amount__lte=MAX_AMOUNT), name="refund_amount_in_range"
            ),
            models.CheckConstraint(
                condition=(Q(reversed_at=None) & Q(reversed_by=None) & Q(reversal_reason=""))
                | (~Q(reversed_at=None) & ~Q(reversal_reason="")),
                name="refund_reversal_has_a_reason",
            ),
        ]
        triggers = [
            pgtrigger.Protect(name="refund_is_never_deleted", operation=pgtrigger.Delete),
            pgtrigger.Protect(
                name="refund_is_only_reversed",
                operation=pgtrigger.Update,
                condition=pgtrigger.Condition(f"NOT ({_IS_A_REVERSAL.strip()})"),
            ),
            refuse_truncate_leaving("credits_credit", "refunded", "refunds_truncated_alone"),
            pgtrigger.Trigger(
                name="refund_keeps_credit_refunded_insert",
                level=pgtrigger.Statement,
                when=pgtrigger.After,
                operation=pgtrigger.Insert,
                referencing=pgtrigger.Referencing(new="new_rows"),
                func=_refund_sum("SELECT credit_id, amount FROM new_rows WHERE reversed_at IS NULL"),
            ),
            # A reversal is an UPDATE: the new rows that count, less the old rows that counted (one UPDATE per credit).
            pgtrigger.Trigger(
                name="refund_keeps_credit_refunded_update",
                level=pgtrigger.Statement,
                when=pgtrigger.After,
                operation=pgtrigger.Update,
                referencing=pgtrigger.Referencing(old="old_rows", new="new_rows"),
                func=_refund_sum(
                    "SELECT credit_id, amount FROM new_rows WHERE reversed_at IS NULL"
                    " UNION ALL SELECT credit_id, -amount FROM old_rows WHERE reversed_at IS NULL"
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"Refund #{self.pk}"

    @property
    def is_reversed(self) -> bool:
        return self.reversed_at is not None
