"""Search and filters of the Invoices and Payments lists (django-filter)."""

from __future__ import annotations

import re

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet

from customers.filters import CustomerFilter

from .models import OPEN_STATUSES, Invoice, InvoiceStatus, Payment, PaymentMethod

# "INV-001005", "inv1005", "1005": what people type for an invoice number.
_NUMBER_RE = re.compile(r"^(?:INV-?)?0*([0-9]{1,18})$", re.IGNORECASE | re.ASCII)


def invoice_number(text: str) -> int | None:
    """The invoice number in what was typed, if it reads like one."""
    match = _NUMBER_RE.match(text.strip())
    return int(match.group(1)) if match else None


def search_invoices(queryset: QuerySet, text: str, *, prefix: str = "") -> QuerySet:
    """Invoices whose number is the text, or whose customer's name contains it."""
    text = text.strip()
    if not text:
        return queryset
    condition = Q(**{f"{prefix}customer__name__icontains": text})
    number = invoice_number(text)
    if number is not None:
        condition |= Q(**{f"{prefix}number": number})
    return queryset.filter(condition)


class _InvoiceSearch(django_filters.FilterSet):
    """The search box of the Invoices and Payments lists; `prefix` leads from a listed row to its invoice."""

    prefix = ""
    q = django_filters.CharFilter(
        method="search",
        label="Search",
        widget=forms.SearchInput(attrs={"class": "wide-search", "placeholder": "Name or invoice number"}),
    )

    def search(self, queryset, name, value):
        return search_invoices(queryset, value, prefix=self.prefix)


class InvoiceFilter(_InvoiceSearch):
    status = django_filters.ChoiceFilter(choices=InvoiceStatus.choices, empty_label="Any status", label="Status")
    # The invoices one invoice run raised: the run page's result link.
    run = django_filters.NumberFilter(field_name="run", widget=forms.HiddenInput)

    class Meta:
        model = Invoice
        fields: list[str] = []


class PaymentFilter(_InvoiceSearch):
    prefix = "invoice__"
    method = django_filters.ChoiceFilter(choices=PaymentMethod.choices, empty_label="Any method", label="Method")

    class Meta:
        model = Payment
        fields: list[str] = []


class CustomerListFilter(CustomerFilter):
    """Customers › View All's filter, and bulk credits' "all matching": search, class tag, has outstanding balance."""

    outstanding = django_filters.BooleanFilter(method="filter_outstanding", label="Has outstanding balance")

    @property
    def narrows(self) -> bool:
        """A search, a class tag or "has outstanding balance" was given: without one the filter lets everyone through."""
        self.form.is_valid()
        given = getattr(self.form, "cleaned_data", {})
        return bool(str(given.get("q") or "").strip() or given.get("tag") or given.get("outstanding") is not None)

    def filter_outstanding(self, queryset, name, value):
        if value is None:
            return queryset
        has_open = Exists(Invoice.objects.filter(customer=OuterRef("pk"), status__in=OPEN_STATUSES))
        return queryset.filter(has_open) if value else queryset.exclude(has_open)
