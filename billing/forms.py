"""Forms of the Invoices and Payments screens: they parse and check input, the services write."""

from __future__ import annotations

import datetime

from django import forms
from django.core.exceptions import ValidationError

from billing_site.forms import AmountField, DateInput
from billing_site.ledger import today
from customers.models import Customer
from idempotency.forms import KeyedForm

from .models import Invoice, PaymentMethod
from .services import DEFAULT_TERMS_DAYS, DUE_BEFORE_ISSUE, MAX_LINES, MAX_QUANTITY, NO_LINES

ENTER_A_DATE = "Enter a date like 2026-01-31."


def date_field(label: str) -> forms.DateField:
    return forms.DateField(
        label=label, widget=DateInput(), error_messages={"required": ENTER_A_DATE, "invalid": ENTER_A_DATE}
    )


class InvoiceDatesForm(KeyedForm):
    """An invoice's issue and due dates (today and the usual terms by default); due never before issue."""

    issue_date = date_field("Issue date")
    due_date = date_field("Due date")

    @staticmethod
    def defaults() -> dict[str, object]:
        issued = today()
        return {
            "issue_date": issued,
            "due_date": issued + datetime.timedelta(days=DEFAULT_TERMS_DAYS),
        }

    def clean(self):
        cleaned = super().clean()
        issue_date, due_date = cleaned.get("issue_date"), cleaned.get("due_date")
        if issue_date and due_date and due_date < issue_date:
            self.add_error("due_date", DUE_BEFORE_ISSUE)
        return cleaned


class InvoiceForm(InvoiceDatesForm):
    # The picker (radios, or a fixed customer) is drawn by the template; never render a <select> of every customer.
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.all(),
        widget=forms.HiddenInput,
        error_messages={"required": "Choose a customer.", "invalid_choice": "That customer does not exist."},
    )
    field_order = ["customer", "issue_date", "due_date"]


class InvoiceRunForm(InvoiceDatesForm):
    """An invoice run's dates; its lines are the invoice form's, its customers a Selection (billing.selection)."""

    email_invoices = forms.BooleanField(
        label="Email each invoice to the family, as a PDF", required=False, help_text="Billing › Outbox lists them."
    )
    expected_count = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)
    # Sent by "Yes, create N invoices" (never a hidden field): what the person said yes to.
    confirmed = forms.CharField(widget=forms.HiddenInput, required=False, max_length=100)


class InvoiceLineForm(forms.Form):
    description = forms.CharField(
        max_length=200,
        error_messages={"required": "Enter a description.", "max_length": "Keep the description under 200 characters."},
    )
    quantity = forms.IntegerField(
        initial=1,
        min_value=1,
        max_value=MAX_QUANTITY,
        widget=forms.NumberInput(attrs={"class": "quantity"}),
        error_messages={
            "required": "Enter a quantity.",
            "invalid": "Enter the quantity as a whole number.",
            "min_value": "The quantity is at least 1.",
            "max_value": f"The quantity is at most {MAX_QUANTITY:,}.",
        },
    )
    unit_price = AmountField(label="Unit price")


class BaseLineFormSet(forms.BaseFormSet):
    """Invoice lines: blank lines are left out, at least one must be filled in."""

    default_error_messages = {
        **forms.BaseFormSet.default_error_messages,
        "too_many_forms": f"An invoice has at most {MAX_LINES} lines.",
    }

    def clean(self):
        if any(self.errors):
            return
        if not self.lines():
            raise ValidationError(NO_LINES)

    def lines(self) -> list[tuple[str, int, object]]:
        """(description, quantity, unit price) of each filled-in line, for billing.services.create_invoice."""
        return [
            (form.cleaned_data["description"], form.cleaned_data["quantity"], form.cleaned_data["unit_price"])
            for form in self.forms
            if form.cleaned_data
        ]


LINES_PREFIX = "lines"
LineFormSet = forms.formset_factory(
    InvoiceLineForm,
    formset=BaseLineFormSet,
    extra=1,
    max_num=MAX_LINES,
    validate_max=True,
    absolute_max=MAX_LINES,
)


def line_formset(data=None, *, add_line: bool = False) -> BaseLineFormSet:
    """The lines formset; `add_line` redraws the posted lines with one more empty line."""
    if data is not None and add_line:
        data = data.copy()
        try:
            total = int(data.get(f"{LINES_PREFIX}-TOTAL_FORMS", "0"))
        except ValueError:
            total = 0
        data[f"{LINES_PREFIX}-TOTAL_FORMS"] = str(min(max(total, 0) + 1, MAX_LINES))
    return LineFormSet(data, prefix=LINES_PREFIX)


class PaymentForm(KeyedForm):
    invoice = forms.ModelChoiceField(
        queryset=Invoice.objects.select_related("customer"),
        widget=forms.HiddenInput,
        error_messages={"required": "Choose an invoice.", "invalid_choice": "That invoice does not exist."},
    )
    amount = AmountField()
    date = date_field("Payment date")
    method = forms.ChoiceField(choices=PaymentMethod.choices, initial=PaymentMethod.CARD)
    # Offered (with the extra in its label) once an amount above the outstanding has been refused.
    overpayment_to_credit = forms.BooleanField(required=False, label="Put the extra on the account as a credit")
