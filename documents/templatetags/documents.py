"""How documents write a balance: what the family owes, or how much they are in credit."""

from __future__ import annotations

from decimal import Decimal

from django import template

from billing_site.money import format_money

register = template.Library()


@register.filter
def balance(value: Decimal) -> str:
    """£30.00 owed reads "£30.00"; −£20.00 reads "£20.00 in credit" (a minus sign is easily lost in print)."""
    return f"{format_money(-value)} in credit" if value < 0 else format_money(value)


@register.simple_tag
def form_key() -> str:
    """A fresh idempotency key for a one-button form (Email): the same click sent twice queues one email."""
    from idempotency.forms import new_key

    return new_key()
