"""Search and filters of the Invoices and Payments lists (django-filter)."""

from __future__ import annotations

import datetime
import re

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet

from billing_site.ledger import today
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


# How long past its due date an open invoice is (the Overview's chart, and this filter): (key, label, first day, last
# day), None open-ended; "not yet due" keeps the buckets adding up to everything outstanding.
AGES: list[tuple[str, str, int | None, int | None]] = [
    ("not_due", "Not yet due", None, -1),
    ("0-30", "0–30 days past due", 0, 30),
    ("31-60", "31–60 days past due", 31, 60),
    ("61-90", "61–90 days past due", 61, 90),
    ("90+", "More than 90 days past due", 91, None),
]


PAST_DUE = ("overdue", "Past due", 1, None)


def due_between(age: str, on: datetime.date) -> tuple[datetime.date | None, datetime.date | None]:
    """The due dates (earliest, latest; None open-ended) of invoices `age` past due on the day `on`."""
    _, _, first, last = next(bucket for bucket in [*AGES, PAST_DUE] if bucket[0] == age)
    return (
        on - datetime.timedelta(days=last) if last is not None else None,
        on - datetime.timedelta(days=first) if first is not None else None,
    )


class InvoiceFilter(_InvoiceSearch):
    status = django_filters.ChoiceFilter(choices=InvoiceStatus.choices, empty_label="Any status", label="Status")
    # The invoices one invoice run raised: the run page's result link.
    run = django_filters.NumberFilter(field_name="run", widget=forms.HiddenInput)
    age = django_filters.ChoiceFilter(
        choices=[(key, label) for key, label, _, _ in [*AGES, PAST_DUE]],
        method="filter_age",
        empty_label="Any age",
        label="Age",
    )

    def filter_age(self, queryset, name, value):
        earliest, latest = due_between(value, today())
        due = Q(due_date__gte=earliest) if earliest else Q()
        if latest:
            due &= Q(due_date__lte=latest)
        return queryset.filter(due, status__in=OPEN_STATUSES)

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
