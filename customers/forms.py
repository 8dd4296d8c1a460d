"""The customer details form: parses and checks what people type; customers.services writes."""

from __future__ import annotations

import re

from django import forms

from idempotency.forms import KeyedForm

from .services import normalize_tags

PHONE_RE = re.compile(r"^[0-9+()./ -]*$", re.ASCII)

NAME_REQUIRED = "Enter the customer's name."
BAD_EMAIL = "Enter an email address like amy@example.com."
BAD_PHONE = "Enter a phone number using digits, spaces and + ( ) -, for example 07700 900123."
TAG_TOO_LONG = "Keep each tag under 100 characters."
NOTES_TOO_LONG = "Keep the notes under 5,000 characters."
ADDRESS_TOO_LONG = "Keep the address under 500 characters."


class CustomerForm(forms.Form):
    name = forms.CharField(
        max_length=200,
        error_messages={"required": NAME_REQUIRED},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    email = forms.EmailField(required=False, error_messages={"invalid": BAD_EMAIL})
    phone = forms.CharField(max_length=40, required=False, widget=forms.TextInput(attrs={"type": "tel"}))
    tags = forms.CharField(
        required=False,
        help_text="Classes, separated by commas, e.g. Ballet Tue 4pm, Swim Sat 10am",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    address = forms.CharField(
        label="Postal address",
        required=False,
        max_length=500,
        help_text="Printed on invoices, credit notes and statements",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": ADDRESS_TOO_LONG},
    )
    notes = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": NOTES_TOO_LONG},
    )

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError(NAME_REQUIRED)
        return name

    def clean_phone(self) -> str:
        phone = self.cleaned_data["phone"].strip()
        if not PHONE_RE.match(phone) or (phone and not re.search(r"[0-9]", phone)):
            raise forms.ValidationError(BAD_PHONE)
        return phone

    def clean_tags(self) -> list[str]:
        tags = normalize_tags(self.cleaned_data["tags"])
        if any(len(tag) > 100 for tag in tags):
            raise forms.ValidationError(TAG_TOO_LONG)
        return tags

    @classmethod
    def initial_for(cls, customer) -> dict[str, str]:
        """The form's starting values for an existing customer."""
        return {
            "name": customer.name,
            "email": customer.email,
            "phone": customer.phone,
            "tags": ", ".join(customer.tags),
            "notes": customer.notes,
            "address": customer.address,
        }


class AddCustomerForm(CustomerForm, KeyedForm):
    """Adding also carries the form's key, so a resubmit or the back button adds the customer once."""
