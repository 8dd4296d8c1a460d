"""Tables for Billing › Credits and a batch's page (django-tables2, count-free pagination)."""

from __future__ import annotations

import datetime
import functools

import django_tables2 as tables
from django.urls import NoReverseMatch
from django.utils.formats import date_format
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from billing_site.money import format_money
from billing_site.web import url_for_pk

from .forms import AssignForm
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


@functools.lru_cache(maxsize=4096)
def _day(value: datetime.date, language: str | None) -> str:
    """A date as the tables show it ("5 Nov 2026"), formatted once per date and language."""
    return date_format(value, "j M Y")


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


# A page's rows, one string each (tables/rows.html says why). The same cells as CreditTable's columns render.
CREDIT_ROW = (
    '<tr class="{parity}"><td><a hx-boost="false" href="{url}">{date}</a></td>'
    '<td><a href="{customer_url}" hx-boost="false">{customer}</a></td>'
    '<td class="num">{amount}</td><td class="num">{assigned}</td><td class="num">{remaining}</td>'
    '<td><span class="badge badge-{status}">{status_label}</span></td><td>{reason}</td><td>{created_by}</td></tr>'
)


class CreditTable(tables.Table):
    date = tables.DateColumn(
        format="j M Y", verbose_name="Date", linkify=True, attrs=WHOLE_PAGE, order_by=("date", "id")
    )
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
        template_name = "tables/rows.html"

    def render_status(self, record: Credit) -> str:
        return status_badge(record)

    def render_created_by(self, value) -> str:
        return value.get_username()

    def rows_html(self) -> list[SafeString]:
        """The page's rows as HTML: what the columns render, for a fraction of the template engine's cost."""
        language, url, customer_url = get_language(), url_for_pk("credits:detail"), url_for_pk("customers:detail")
        rows = []
        for number, row in enumerate(self.paginated_rows):
            credit = row.record
            rows.append(mark_safe(CREDIT_ROW.format(
                parity="odd" if number % 2 else "even",
                url=url(credit.pk),
                date=_day(credit.date, language),
                customer_url=customer_url(credit.customer_id),
                customer=escape(credit.customer.name),
                amount=format_money(credit.amount),
                assigned=format_money(credit.assigned),
                remaining=format_money(credit.remaining),
                status=credit.status,
                status_label=credit.status_label,
                reason=credit.get_reason_display(),
                created_by=escape(credit.created_by.get_username()) if credit.created_by else "system",
            )))  # fmt: skip
        return rows


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
        return format_html(
            '<a href="{}" hx-boost="false">View credit<span class="visually-hidden"> for {}</span></a>',
            record.get_absolute_url(),
            record.customer.name,
        )


# Assignments › Add writes its rows here, as the Django admin writes its changelist rows: a busy customer has
# hundreds of open invoices, and the template engine spends ~0.2 ms a row (a widget template per amount box and
# ~15 variables), 64 ms for 300 rows against ~5 ms here. Only the invoice number and what was typed can hold
# markup; the rest are numbers, dates, amounts and our own labels.
ASSIGN_ROW = (
    '<tr><td><a href="{url}">{number}</a></td><td>{issued}</td><td><span class="badge badge-{status}">{status_label}</span></td>'
    '<td class="num">{total}</td><td class="num">{outstanding}</td>'
    '<td class="num{error_class}"><label for="id_{name}" class="visually-hidden">Amount for {number}</label>'
    '<input type="text" name="{name}"{value} inputmode="decimal" autocomplete="off" class="amount" data-outstanding="{raw}"'
    '{invalid} id="id_{name}">{error}</td></tr>'
)


def assign_rows(form: AssignForm) -> list[SafeString]:
    """The Add panel's table rows: each open invoice with its amount box, what was typed in it and its error."""
    language, invoice_url = get_language(), url_for_pk("billing:invoice_detail")
    rows = []
    for invoice, name, value, errors in form.rows():
        rows.append(mark_safe(ASSIGN_ROW.format(
            url=invoice_url(invoice.pk),
            number=escape(invoice),
            issued=_day(invoice.issue_date, language),
            status=invoice.status,
            status_label=invoice.status_label,
            total=format_money(invoice.total),
            outstanding=format_money(invoice.outstanding),
            error_class=" has-error" if errors else "",
            name=name,
            value=f' value="{escape(value)}"' if value else "",
            raw=invoice.outstanding,
            invalid=f' aria-invalid="true" aria-describedby="id_{name}_error"' if errors else "",
            error=f'<p class="error" id="id_{name}_error">{escape(" ".join(errors))}</p>' if errors else "",
        )))  # fmt: skip
    return rows
