"""Forms for the credit screens: they only parse and check input; the services decide the rules."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from decimal import Decimal

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from billing.filters import CustomerListFilter
from billing.models import Invoice, PaymentMethod
from billing_site.forms import AmountField, DateInput
from customers.models import Customer
from customers.services import NO_CUSTOMERS
from idempotency.forms import KeyedForm

from .mailing import EMAIL_BULK_LABEL, EMAIL_LABEL
from .models import Credit, CreditStatus, Reason, parse_credit_note_number

AUTO_APPLY_LABEL = "Apply the remaining balance automatically to the next invoice"
CHOOSE_CUSTOMER = "Choose a customer."
AGAIN_LABEL = "Yes, add another identical credit"
MAX_BULK_IDS = 1000
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

    class Meta:
        model = Credit
        fields: list[str] = []

    def search(self, queryset: QuerySet[Credit], name: str, value: str) -> QuerySet[Credit]:
        """Customers' names, and a credit note number ("CN-000042", "cn42", "42") finds that credit."""
        found = Q(customer__name__icontains=value)
        if (number := parse_credit_note_number(value)) is not None:
            found |= Q(number=number)
        return queryset.filter(found)


@dataclasses.dataclass
class Selection:
    """Who a bulk credit is for: ticked customer ids (at most 1,000), or everyone matching the customer list's filter.

    A filter chooses nobody until it is given (a search, a class tag, "has outstanding balance") or `everyone` says
    "All customers" on purpose: an empty filter must never mean every customer by default.
    """

    ids: list[int] | None = None
    filterset: CustomerListFilter | None = None
    everyone: bool = False
    error: str | None = None

    @property
    def by_filter(self) -> bool:
        return self.filterset is not None

    @property
    def nobody(self) -> bool:
        """A filter that nobody has chosen yet."""
        return self.filterset is not None and not self.everyone and not self.filterset.narrows

    @property
    def queryset(self) -> QuerySet[Customer]:
        if self.nobody:
            return Customer.objects.none()
        if self.filterset is not None:
            return self.filterset.qs
        return Customer.objects.filter(pk__in=self.ids or [])

    @property
    def for_service(self) -> QuerySet[Customer] | list[int]:
        """Ids stay a list so that the service can say when some of them no longer exist."""
        return self.queryset if self.filterset is not None else list(self.ids or [])

    @property
    def filters(self) -> dict[str, str]:
        """The customer list's filter as typed (q, tag, outstanding), to show and carry on."""
        data = self.filterset.data if self.filterset is not None else {}
        return {name: data.get(name, "") for name in ("q", "tag", "outstanding")}

    def confirmation(self, count: int, amount: Decimal) -> str:
        """What "Yes, credit N customers" says yes to: the count, the amount and exactly this choice.

        Any change (another filter or tick, another amount, customers added meanwhile) makes another one, so the
        question is asked again."""
        choice = repr(sorted(self.ids or [])) if self.filterset is None else repr((self.filters, self.everyone))
        digest = hashlib.sha256(choice.encode()).hexdigest()[:16]
        return f"{count}:{amount}:{digest}"


def read_selection(data: QueryDict, *, required: bool) -> Selection:
    """`customer=<id>` repeated, or `all_matching=1` with the list's `q` / `tag` / `outstanding`, or `everyone=1`."""
    raw_ids = data.getlist("customer")
    if raw_ids:
        if len(raw_ids) > MAX_BULK_IDS:
            return Selection(ids=[], error=f"Tick at most {MAX_BULK_IDS:,} customers, or use “select all matching”.")
        if not all(value.isascii() and value.isdigit() and len(value) <= 18 for value in raw_ids):
            return Selection(ids=[], error="Choose customers from the customer list.")
        return Selection(ids=sorted({int(value) for value in raw_ids}))
    if data.get("all_matching") == "1" or not required:
        # The customer list shows active customers, so "all matching" means the same ones it counted.
        return Selection(
            filterset=CustomerListFilter(data, queryset=Customer.objects.active()), everyone=data.get("everyone") == "1"
        )
    return Selection(ids=[], error=NO_CUSTOMERS)


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
