"""Invoices, their lines and payments.

The stored totals (`total`, `paid`, `credited`) are kept by PostgreSQL triggers from the
child rows, and `outstanding` and `status` are generated columns, so what is stored always
equals what the rows say, whatever wrote them. CHECK constraints keep every invoice from
being settled beyond its total.
"""

from __future__ import annotations

import datetime

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.urls import reverse

from billing_site.money import ZERO, MoneyField
from billing_site.triggers import (
    BULK_DELETE_EVENT,
    BULK_INSERT_EVENT,
    keeps_parent_sum,
    kept_by_db,
    refuse_truncate_leaving,
)


class InvoiceStatus(models.TextChoices):
    UNPAID = "unpaid", "Awaiting payment"
    PART_PAID = "part_paid", "Part-paid"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


OPEN_STATUSES = (InvoiceStatus.UNPAID, InvoiceStatus.PART_PAID)


def invoice_status(*, credited: str = "credited") -> Case:
    """The rule of `Invoice.status`, as SQL: the generated column, and any "what if" over an annotation.

    `credited` names what credit settles: the column itself, or an annotation such as what would be
    left once a credit is deleted (`credits.services.preview_delete`), so a preview cannot disagree
    with what PostgreSQL will store. Called with no argument it is the column's expression in the
    migrations: a change to it needs a migration (`makemigrations --check` says so).
    """
    return Case(
        When(voided_at__isnull=False, then=Value(InvoiceStatus.VOID.value)),
        When(Q(total__gt=0) & Q(total__lte=F("paid") + F(credited)), then=Value(InvoiceStatus.PAID.value)),
        When(Q(paid__gt=0) | Q(**{f"{credited}__gt": 0}), then=Value(InvoiceStatus.PART_PAID.value)),
        default=Value(InvoiceStatus.UNPAID.value),
    )


class InvoiceQuerySet(models.QuerySet):
    def open(self) -> InvoiceQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def open_for(self, customer) -> InvoiceQuerySet:
        """The customer's unpaid and part-paid invoices, oldest first."""
        return self.filter(customer=customer, status__in=OPEN_STATUSES).order_by("issue_date", "id")


# Inserts and deletes come in sets (an invoice run), so their history is written once per statement, from the
# transition table; update events stay row-level, one per changed invoice with its old and new figures.
@pghistory.track(BULK_INSERT_EVENT, pghistory.UpdateEvent(), BULK_DELETE_EVENT, exclude=["outstanding", "status"])
class Invoice(models.Model):
    number = models.BigIntegerField(
        unique=True,
        editable=False,
        db_default=models.Func(
            Value("billing_invoice_number_seq"), function="nextval", output_field=models.BigIntegerField()
        ),
    )
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="invoices")
    issue_date = models.DateField(default=datetime.date.today)
    due_date = models.DateField()
    total = MoneyField(default=ZERO, editable=False)
    paid = MoneyField(default=ZERO, editable=False)
    credited = MoneyField(default=ZERO, editable=False)
    outstanding = models.GeneratedField(
        expression=Case(
            When(voided_at__isnull=False, then=Value(ZERO)), default=F("total") - F("paid") - F("credited")
        ),
        output_field=MoneyField(),
        db_persist=True,
    )
    status = models.GeneratedField(
        expression=invoice_status(),
        output_field=models.CharField(max_length=10, choices=InvoiceStatus.choices),
        db_persist=True,
    )
    voided_at = models.DateTimeField(null=True, blank=True, editable=False, verbose_name="voided")
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The invoice run that raised it (Billing › Runs), if any: at most one invoice per customer and run.
    run = models.ForeignKey(
        "runs.Run", null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        ordering = ["-issue_date", "-id"]
        permissions = [("void_invoice", "Can void an invoice")]
        indexes = [
            models.Index(fields=["customer", "issue_date", "id"], name="invoice_customer_date"),
            models.Index(fields=["status", "-issue_date", "-id"], name="invoice_status_date"),
            models.Index(fields=["-issue_date", "-id"], name="invoice_date"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(total__gte=0) & Q(paid__gte=0) & Q(credited__gte=0), name="invoice_amounts_not_negative"
            ),
            models.CheckConstraint(condition=Q(total__gte=F("paid") + F("credited")), name="invoice_not_oversettled"),
            models.CheckConstraint(
                condition=Q(voided_at__isnull=True) | (Q(paid=0) & Q(credited=0)), name="invoice_void_settles_nothing"
            ),
            models.CheckConstraint(condition=Q(due_date__gte=F("issue_date")), name="invoice_due_after_issue"),
            models.UniqueConstraint(
                fields=["run", "customer"], condition=Q(run__isnull=False), name="invoice_once_per_customer_and_run"
            ),
        ]
        triggers = [
            # Aggregates may only be written by the child-row triggers (which run one level deeper).
            *kept_by_db(
                "invoice_totals_kept_by_db",
                ("total", "paid", "credited"),
                "An invoice''s total, paid and credited figures are kept by the database from its lines, payments and credits",
            ),
            # Moving an invoice to another customer would leave its credit assignments joining two customers.
            pgtrigger.Protect(
                name="invoice_customer_is_fixed", operation=pgtrigger.Update, condition=pgtrigger.AnyChange("customer")
            ),
        ]

    def __str__(self) -> str:
        return self.display_number

    def get_absolute_url(self) -> str:
        return reverse("billing:invoice_detail", args=[self.pk])

    @property
    def display_number(self) -> str:
        return f"INV-{self.number:06d}" if self.number else "INV-(new)"

    @property
    def status_label(self) -> str:
        """What people call the status: "Awaiting payment", "Part-paid", "Paid", "Void"."""
        return InvoiceStatus(self.status).label

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@pghistory.track(BULK_INSERT_EVENT, BULK_DELETE_EVENT)
class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    description = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField(default=1)
    unit_price = MoneyField()
    amount = models.GeneratedField(
        expression=F("quantity") * F("unit_price"), output_field=MoneyField(), db_persist=True
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0) & Q(quantity__lte=10000), name="line_quantity_in_range"),
            models.CheckConstraint(
                condition=Q(unit_price__gt=0) & Q(unit_price__lte=1_000_000), name="line_price_in_range"
            ),
        ]
        triggers = [
            pgtrigger.Protect(name="line_is_immutable", operation=pgtrigger.Update),
            refuse_truncate_leaving("billing_invoice", "total", "lines_truncated_alone"),
            *keeps_parent_sum("line_keeps_invoice_total", "billing_invoice", "invoice_id", "total"),
        ]

    def __str__(self) -> str:
        return self.description


class PaymentMethod(models.TextChoices):
    CARD = "card", "Card"
    CASH = "cash", "Cash"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    CHEQUE = "cheque", "Cheque"
    OTHER = "other", "Other"


@pghistory.track(pghistory.InsertEvent(), pghistory.DeleteEvent())
class Payment(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount = MoneyField()
    date = models.DateField(default=datetime.date.today)
    method = models.CharField(max_length=20, choices=PaymentMethod.choices, default=PaymentMethod.CARD)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["-date", "-id"], name="payment_date")]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0) & Q(amount__lte=1_000_000), name="payment_amount_in_range"
            ),
        ]
        triggers = [
            pgtrigger.Protect(name="payment_is_immutable", operation=pgtrigger.Update),
            refuse_truncate_leaving("billing_invoice", "paid", "payments_truncated_alone"),
            *keeps_parent_sum("payment_keeps_invoice_paid", "billing_invoice", "invoice_id", "paid"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} on {self.invoice}"
