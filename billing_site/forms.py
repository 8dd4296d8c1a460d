"""Form pieces every app's forms share: the date box and the money box. Imports no app."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from .money import ENTER_AN_AMOUNT, parse_amount


class DateInput(forms.DateInput):
    """The browser's date picker, which reads and writes ISO dates whatever the locale."""

    input_type = "date"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


class AmountField(forms.CharField):
    """A money box: `parse_amount`'s checks and messages; cleans to a Decimal, or None when optional and blank."""

    default_error_messages = {"required": ENTER_AN_AMOUNT}

    def widget_attrs(self, widget: forms.Widget) -> dict:
        return {**super().widget_attrs(widget), "class": "amount", "inputmode": "decimal", "autocomplete": "off"}

    def clean(self, value: object) -> Decimal | None:
        text = super().clean(value)  # required, null characters, white space: as any text box
        if text in self.empty_values:
            return None
        try:
            return parse_amount(text)
        except ValidationError as error:  # the message only: the form knows which field it is
            raise ValidationError(error.messages) from None


class MonthInput(forms.TextInput):
    """The browser's month picker: "2026-05"."""

    input_type = "month"
