"""billing_site.forms: the one money box and the one date box every form uses."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django import forms

from billing_site.forms import AmountField, DateInput


class Payment(forms.Form):
    amount = AmountField()
    tip = AmountField(required=False)
    date = forms.DateField(widget=DateInput())


def errors(**data) -> dict:
    form = Payment(data)
    form.is_valid()
    return form.errors


def test_it_cleans_an_amount_to_an_exact_decimal():
    form = Payment({"amount": " £1,250.50 ", "tip": "", "date": "2026-01-31"})
    assert form.is_valid()
    assert form.cleaned_data == {"amount": Decimal("1250.50"), "tip": None, "date": datetime.date(2026, 1, 31)}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Enter an amount, for example 25.00."),
        ("   ", "Enter an amount, for example 25.00."),
        ("10.001", "Use at most 2 decimal places (pence)."),
        ("-5", "The amount must be more than zero."),
        ("12,50", "Enter the amount as a number, for example 25.00."),
        ("1\x00", "Null characters are not allowed."),
    ],
)
def test_it_says_what_is_wrong_with_an_amount_next_to_its_field(value, message):
    assert errors(amount=value, tip=value, date="2026-01-31")["amount"] == [message]


def test_it_leaves_an_optional_amount_blank_but_checks_one_that_is_given():
    assert "tip" not in errors(amount="5", tip=" ", date="2026-01-31")
    assert errors(amount="5", tip="0", date="2026-01-31")["tip"] == ["The amount must be more than zero."]


def test_it_draws_a_decimal_keypad_box_and_an_iso_date_picker():
    form = Payment(initial={"date": datetime.date(2026, 1, 31)})
    assert str(form["amount"]) == (
        '<input type="text" name="amount" class="amount" inputmode="decimal" autocomplete="off" required id="id_amount">'
    )
    assert str(form["date"]) == '<input type="date" name="date" value="2026-01-31" required id="id_date">'
