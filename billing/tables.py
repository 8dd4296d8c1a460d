"""The Invoices and Payments tables (django-tables2)."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from billing_site.money import format_money

from .models import Invoice, InvoiceStatus, Payment

NUM = {"th": {"class": "num"}, "td": {"class": "num"}}
# The table's region is boosted so that sort and page links refresh only it; row links leave the page.
LEAVE = {"a": {"hx-boost": "false"}}


def status_badge(status: str) -> str:
    """The invoice status as a coloured badge ("Awaiting payment" for unpaid)."""
    return format_html('<span class="badge badge-{}">{}</span>', status, InvoiceStatus(status).label)


class MoneyColumn(tables.Column):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("attrs", NUM)
        super().__init__(*args, **kwargs)

    def render(self, value):
        return format_money(value)


class InvoiceTable(tables.Table):
    number = tables.Column(verbose_name="Number", linkify=True, attrs=LEAVE)
    customer = tables.Column(
        verbose_name="Customer",
        order_by=("customer__name", "customer_id"),
        linkify=lambda record: reverse("customers:detail", args=[record.customer_id]),
        attrs=LEAVE,
    )
    issue_date = tables.DateColumn(format="j M Y", verbose_name="Issued", order_by=("issue_date", "id"))
    due_date = tables.DateColumn(format="j M Y", verbose_name="Due", order_by=("due_date", "id"))
    total = MoneyColumn()
    paid = MoneyColumn()
    credited = MoneyColumn()
    outstanding = MoneyColumn()
    status = tables.Column(verbose_name="Status")

    class Meta:
        model = Invoice
        fields = ("number", "customer", "issue_date", "due_date", "total", "paid", "credited", "outstanding", "status")
        order_by = ("-issue_date",)
        empty_text = "No invoices match."

    def render_number(self, record: Invoice) -> str:
        return record.display_number

    def render_status(self, value: str) -> str:
        return status_badge(value)


class PaymentTable(tables.Table):
    date = tables.DateColumn(format="j M Y", order_by=("date", "id"))
    invoice = tables.Column(
        verbose_name="Invoice",
        order_by=("invoice__number",),
        linkify=lambda record: record.invoice.get_absolute_url(),
        attrs=LEAVE,
    )
    customer = tables.Column(
        verbose_name="Customer",
        accessor="invoice__customer",
        order_by=("invoice__customer__name", "invoice__customer_id"),
        linkify=lambda record: reverse("customers:detail", args=[record.invoice.customer_id]),
        attrs=LEAVE,
    )
    method = tables.Column()
    amount = MoneyColumn()
    created_by = tables.Column(verbose_name="Recorded by", order_by=("created_by__username",), default="system")

    class Meta:
        model = Payment
        fields = ("date", "invoice", "customer", "method", "amount", "created_by")
        order_by = ("-date",)
        empty_text = "No payments match."

    def render_invoice(self, record: Payment) -> str:
        return record.invoice.display_number
