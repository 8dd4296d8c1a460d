"""Money: one definition of the field, one parser, one formatter.

Amounts are exact `Decimal`s with two places. Input with more places is refused,
never rounded; floats are refused because they cannot say 0.10 exactly.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

MAX_DIGITS = 14
DECIMAL_PLACES = 2
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("1000000.00")

# ASCII digits only: Decimal() would happily read Arabic-Indic or full-width digits.
_AMOUNT_RE = re.compile(r"^[0-9]+(\.[0-9]+)?$", re.ASCII)
_GROUPED_RE = re.compile(r"^[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$", re.ASCII)

ENTER_AN_AMOUNT = "Enter an amount, for example 25.00."
NOT_A_NUMBER = "Enter the amount as a number, for example 25.00."
TOO_MANY_PLACES = "Use at most 2 decimal places (pence)."
NOT_POSITIVE = "The amount must be more than zero."
TOO_LARGE = "The amount can be at most £1,000,000.00."
NO_FLOATS = "Pass amounts as Decimal, int or str, not float: floats cannot hold pence exactly."


def MoneyField(**kwargs) -> models.DecimalField:  # noqa: N802 - reads like a field class
    """A DecimalField with the project's one money precision."""
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)


def parse_amount(value: object, *, field: str = "amount") -> Decimal:
    """Turn user or caller input into a positive 2-place Decimal, or raise ValidationError."""
    if isinstance(value, bool) or value is None:
        raise ValidationError({field: ENTER_AN_AMOUNT})
    if isinstance(value, float):
        raise ValidationError({field: NO_FLOATS})
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str):
        text = value.strip().removeprefix("£").strip()
        if not text:
            raise ValidationError({field: ENTER_AN_AMOUNT})
        if _GROUPED_RE.match(text):
            text = text.replace(",", "")
        if not _AMOUNT_RE.match(text):
            message = NOT_POSITIVE if text.startswith("-") and _AMOUNT_RE.match(text[1:]) else NOT_A_NUMBER
            raise ValidationError({field: message})
        amount = Decimal(text)
        if amount.as_tuple().exponent < -DECIMAL_PLACES:  # "10.100": what was typed has three places
            raise ValidationError({field: TOO_MANY_PLACES})
    else:
        raise ValidationError({field: NOT_A_NUMBER})
    if not amount.is_finite():
        raise ValidationError({field: NOT_A_NUMBER})
    try:
        exact = amount.quantize(CENT)
    except InvalidOperation:
        raise ValidationError({field: TOO_LARGE}) from None
    if exact != amount:
        raise ValidationError({field: TOO_MANY_PLACES})
    if exact <= 0:
        raise ValidationError({field: NOT_POSITIVE})
    if exact > MAX_AMOUNT:
        raise ValidationError({field: TOO_LARGE})
    return exact


def format_money(amount: Decimal | int | None) -> str:
    """£1,234.50 in the studio's currency and locale."""
    if amount is None:
        return ""
    return _formatted(str(amount), settings.STUDIO_CURRENCY, settings.STUDIO_LOCALE)


@functools.lru_cache(maxsize=8192)
def _formatted(amount: str, currency: str, locale: str) -> str:
    """Babel spends ~70 µs a call; a page of 300 invoices shows a few dozen distinct amounts many times."""
    return format_currency(Decimal(amount), currency, locale=locale)
