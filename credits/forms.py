"""Forms for the credit screens: they only parse and check input; the services decide the rules."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone

from billing.models import Invoice, PaymentMethod
from billing_site.forms import AmountField, DateInput, MonthInput
from customers.models import Customer
from idempotency.forms import KeyedForm

from .mailing import EMAIL_BULK_LABEL, EMAIL_LABEL
from .models import Credit, CreditStatus, Reason, parse_credit_note_number

AUTO_APPLY_LABEL = "Apply the remaining balance automatically to the next invoice"
CHOOSE_CUSTOMER = "Choose a customer."
AGAIN_LABEL = "Yes, add another identical credit"
EVERYONE_LABEL = "All customers"
NOBODY_CHOSEN = (
    "Choose who gets the credit: search, choose a class tag, tick “Has outstanding balance”, or tick “All customers”."
)
CONFIRM_ABOVE = 50  # a bulk credit for more customers than this is confirmed once more, with the count and the total
INVOICE_KEY = re.compile(r"^invoice-([0-9]{1,18})$", re.ASCII)


class CreditFieldsForm(forms.Form):
    """What every credit form asks: payment date, amount, reason, note, auto-apply."""

    date = forms.DateField(
        label="Payment date",
        initial=timezone.localdate,
        widget=DateInput(),
        error_messages={"required": "Enter the payment date.", "invalid": "Enter a date like 2026-01-31."},
    )
    amount = AmountField(label="Amount", help_text="In pounds, for example 25.00")
    reason = forms.ChoiceField(
        label="Reason",
        choices=Reason.choices,
        initial=Reason.CANCELLED_CLASS,
        error_messages={"invalid_choice": "Choose a reason from the list."},
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": "Keep the note under 2,000 characters."},
    )
    auto_apply = forms.BooleanField(label=AUTO_APPLY_LABEL, required=False, initial=True)


class NewCreditForm(CreditFieldsForm, KeyedForm):
    """A new credit, single or bulk. The form's key makes a resend return the first result; a form fetched
    afresh (the back button on a browser that reloads the page) has a new key, so an identical credit made
    moments ago by the same person is pointed out (`services.find_twin_credit` / `find_twin_batch`) and
    needs `again` ticked.
    """

    again = forms.BooleanField(required=False, label=AGAIN_LABEL)


class AddCreditForm(NewCreditForm):
    email_credit_note = forms.BooleanField(label=EMAIL_LABEL, required=False, initial=False)
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.all(),
        widget=forms.HiddenInput,
        error_messages={"required": CHOOSE_CUSTOMER, "invalid_choice": "That customer does not exist: search again."},
    )
    field_order = [
        "customer",
        "date",
        "amount",
        "reason",
        "note",
        "auto_apply",
        "email_credit_note",
        "idempotency_key",
        "again",
    ]


class BulkCreditForm(NewCreditForm):
    """The credit every chosen customer gets; the choice itself is read by `read_selection`."""

    expected_count = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)
    # Sent by "Yes, credit N customers" (never a hidden field): what the person said yes to, `Selection.confirmation`.
    confirmed = forms.CharField(widget=forms.HiddenInput, required=False, max_length=100)
    email_credit_note = forms.BooleanField(label=EMAIL_BULK_LABEL, required=False, initial=False)


class UpdateCreditForm(CreditFieldsForm):
    version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        error_messages={"required": "This form has expired: please reload the page and try again."},
    )

    @classmethod
    def for_credit(cls, credit: Credit) -> UpdateCreditForm:
        return cls(
            initial={
                "amount": f"{credit.amount}",
                "date": credit.date,
                "reason": credit.reason,
                "note": credit.note,
                "auto_apply": credit.auto_apply,
                "version": credit.version,
            }
        )


class AssignForm(forms.Form):
    """One amount box per open invoice of the credit's customer ("invoice-<pk>"), blank boxes ignored.

    Amounts posted for invoices that are not in the list (paid meanwhile, another customer's)
    are still passed on, so that the service can say what is wrong with them.
    """

    def __init__(self, invoices: list[Invoice], data=None, initial=None) -> None:
        super().__init__(data, initial=initial)
        self.invoices = invoices
        # The boxes are written by credits.tables.AssignTable; fields exist to check what was sent.
        for invoice in invoices if self.is_bound else ():
            self.fields[f"invoice-{invoice.pk}"] = AmountField(label=f"Amount for {invoice}", required=False)
        self.extra: dict[int, str] = {}
        if data is not None:
            known = {invoice.pk for invoice in invoices}
            for key, value in data.items():
                match = INVOICE_KEY.match(key)
                if match and int(match.group(1)) not in known and value.strip():
                    self.extra[int(match.group(1))] = value

    def clean(self) -> dict:
        cleaned = super().clean()
        allocations: dict[int, Decimal | str] = {
            invoice.pk: amount for invoice in self.invoices if (amount := cleaned.get(f"invoice-{invoice.pk}"))
        }
        # Unknown invoices go to the service as typed: it names the invoice and what is wrong.
        allocations.update(self.extra)
        if not allocations and not self.errors:
            raise ValidationError("Enter an amount for at least one invoice.")
        cleaned["allocations"] = allocations
        return cleaned

    def rows(self):
        """(invoice, box name, what the box holds, its errors) per open invoice: the panel writes the boxes itself,
        since a widget template per box costs more than the rest of the page (~290 for a busy customer)."""
        values = self.data if self.is_bound else self.initial
        errors = self.errors if self.is_bound else {}
        for invoice in self.invoices:
            name = f"invoice-{invoice.pk}"
            yield invoice, name, values.get(name, ""), errors.get(name)

    def fill_oldest_first(self, remaining: Decimal) -> dict[str, str]:
        """Initial amounts: each invoice's outstanding, oldest first, until the credit runs out."""
        filled = {}
        for invoice in self.invoices:
            part = min(invoice.outstanding, remaining)
            if part <= 0:
                break
            filled[f"invoice-{invoice.pk}"] = f"{part}"
            remaining -= part
        return filled


class CreditFilter(django_filters.FilterSet):
    """Billing › Credits: search by customer name, status, reason and payment date range."""

    q = django_filters.CharFilter(
        method="search",
        label="Search customer or credit note",
        widget=forms.SearchInput(attrs={"placeholder": "Customer name or CN-000042"}),
    )
    status = django_filters.ChoiceFilter(choices=CreditStatus.choices, empty_label="Any status", label="Status")
    reason = django_filters.ChoiceFilter(choices=Reason.choices, empty_label="Any reason", label="Reason")
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte", label="From", widget=DateInput())
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte", label="To", widget=DateInput())
    # The credits a bulk credit run added (the run page's result link).
    run = django_filters.NumberFilter(field_name="batch__run", widget=forms.HiddenInput)
    # The Overview's bars link here with a reason and a month ("2026-05").
    month = django_filters.CharFilter(method="in_month", label="Month", widget=MonthInput())
    unapplied = django_filters.BooleanFilter(
        method="filter_unapplied", label="Unapplied while the customer has open invoices"
    )
    older_than = django_filters.NumberFilter(
        method="filter_older_than", label="Unapplied for more than (days)", min_value=0, max_value=3660
    )

    class Meta:
        model = Credit
        fields: list[str] = []

    def search(self, queryset: QuerySet[Credit], name: str, value: str) -> QuerySet[Credit]:
        """Customers' names, and a credit note number ("CN-000042", "cn42", "42") finds that credit."""
        found = Q(customer__name__icontains=value)
        if (number := parse_credit_note_number(value)) is not None:
            found |= Q(number=number)
        return queryset.filter(found)

    def in_month(self, queryset, name, value):
        first = month_of(value)
        if first is None:
            return queryset
        after = datetime.date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return queryset.filter(date__gte=first, date__lt=after)

    def filter_unapplied(self, queryset, name, value):
        if not value or self.form.cleaned_data.get("older_than") is not None:
            return queryset  # "more than N days" says unapplied too, and filters itself
        return queryset.unapplied()

    def filter_older_than(self, queryset, name, value):
        return queryset.unapplied(days=int(value))


def month_of(text: str) -> datetime.date | None:
    """The first day of the month typed as "2026-05", or None."""
    try:
        return datetime.date.fromisoformat(f"{text.strip()}-01")
    except ValueError:
        return None


class RefundForm(KeyedForm):
    """Refund part or all of a credit's remaining; the service checks it against what is left when it is sent."""

    amount = AmountField(label="Amount to refund", help_text="At most what is left on the credit")
    date = forms.DateField(
        label="Refund date",
        initial=timezone.localdate,
        widget=DateInput(),
        error_messages={"required": "Enter the refund date.", "invalid": "Enter a date like 2026-01-31."},
    )
    method = forms.ChoiceField(
        label="Method",
        choices=PaymentMethod.choices,
        initial=PaymentMethod.BANK_TRANSFER,
        error_messages={"invalid_choice": "Choose a method from the list."},
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"max_length": "Keep the note under 2,000 characters."},
    )


class ReverseRefundForm(forms.Form):
    reason = forms.CharField(
        label="Why is this refund being reversed?",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={
            "required": "Say why this refund is being reversed.",
            "max_length": "Keep the reason under 2,000 characters.",
        },
    )
