"""Tables for Billing › Credits and a batch's page (django-tables2, count-free pagination)."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import NoReverseMatch
from django.utils.html import format_html

from billing_site.money import format_money

from .models import Credit

NUM = {"th": {"class": "num"}, "td": {"class": "num"}}
# Links inside a boosted table container open whole pages, not table swaps.
WHOLE_PAGE = {"a": {"hx-boost": "false"}}


def url_of(obj: object) -> str | None:
    """The object's page, or None while that page does not exist yet."""
    try:
        return obj.get_absolute_url()  # type: ignore[attr-defined]
    except NoReverseMatch:
        return None


def status_badge(credit: Credit) -> str:
    return format_html('<span class="badge badge-{}">{}</span>', credit.status, credit.status_label)


class MoneyColumn(tables.Column):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, attrs=NUM, **kwargs)

    def render(self, value) -> str:
        return format_money(value)


class CustomerColumn(tables.Column):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, order_by=("customer__name", "customer_id"), **kwargs)

    def render(self, value, record) -> str:
        url = url_of(record.customer)
        return format_html('<a href="{}" hx-boost="false">{}</a>', url, value) if url else str(value)


class CreditTable(tables.Table):
    date = tables.DateColumn(format="j M Y", verbose_name="Date", linkify=True, attrs=WHOLE_PAGE, order_by=("date", "id"))
    customer = CustomerColumn(verbose_name="Customer")
    amount = MoneyColumn(verbose_name="Amount")
    assigned = MoneyColumn(verbose_name="Assigned")
    remaining = MoneyColumn(verbose_name="Remaining")
    status = tables.Column(verbose_name="Status")
    reason = tables.Column(verbose_name="Reason")
    created_by = tables.Column(verbose_name="Created by", order_by=("created_by__username",), default="system")

    class Meta:
        model = Credit
        fields = ["date", "customer", "amount", "assigned", "remaining", "status", "reason", "created_by"]
        order_by = ("-date",)
        empty_text = "No credits match."
        attrs = {"aria-label": "Credits"}
        template_name = "credits/_table.html"

    def render_status(self, record: Credit) -> str:
        return status_badge(record)

    def render_created_by(self, value) -> str:
        return value.get_username()


class BatchCreditTable(tables.Table):
    customer = CustomerColumn(verbose_name="Customer")
    amount = MoneyColumn(verbose_name="Amount")
    assigned = MoneyColumn(verbose_name="Assigned")
    remaining = MoneyColumn(verbose_name="Remaining")
    status = tables.Column(verbose_name="Status")
    credit = tables.Column(accessor="pk", verbose_name="Credit", orderable=False)

    class Meta:
        model = Credit
        fields = ["customer", "amount", "assigned", "remaining", "status", "credit"]
        order_by = ("customer",)
        empty_text = "This batch has no credits: it was undone."
        attrs = {"aria-label": "Credits of this batch"}

    def render_status(self, record: Credit) -> str:
        return status_badge(record)

    def render_credit(self, record: Credit) -> str:
        return format_html('<a href="{}" hx-boost="false">View credit<span class="visually-hidden"> for {}</span></a>',
                           record.get_absolute_url(), record.customer.name)
