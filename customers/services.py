"""Customers service: adding a customer and editing their details.

Design:
- The form parses and checks what people type; these functions are what the views, the shell
  and the tests call to write. They run the model's own checks again (`full_clean`), so a
  shell caller gets the same `ValidationError` a form would show, and nothing is written.
- `ledger_write` runs each function in one transaction and records who did it, so the
  customer's History tab says "Customer created" / "Customer changed" by whom.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError

from billing_site.ledger import ledger_write

from .models import Customer

CUSTOMER_GONE = "This customer no longer exists."


def normalize_tags(tags: Iterable[str] | str) -> list[str]:
    """Tags as a clean list: comma-separated text or a list, trimmed, blanks and repeats dropped."""
    if isinstance(tags, str):
        tags = tags.split(",")
    clean: list[str] = []
    for tag in tags:
        tag = " ".join(str(tag).split())
        if tag and tag.casefold() not in {t.casefold() for t in clean}:
            clean.append(tag)
    return clean


def _check_and_save(customer: Customer, fields: list[str] | None = None) -> Customer:
    customer.full_clean(exclude=["archived"])
    customer.save(update_fields=fields)
    return customer


@ledger_write("create_customer")
def create_customer(
    *,
    name: str,
    email: str = "",
    phone: str = "",
    tags: Iterable[str] | str = (),
    notes: str = "",
    by=None,
) -> Customer:
    """Add a customer; raises ValidationError (writing nothing) when a detail is not acceptable."""
    customer = Customer(
        name=name.strip(), email=email.strip(), phone=phone.strip(), tags=normalize_tags(tags), notes=notes.strip()
    )
    return _check_and_save(customer)


@ledger_write("update_customer")
def update_customer(
    customer: Customer,
    *,
    name: str,
    email: str = "",
    phone: str = "",
    tags: Iterable[str] | str = (),
    notes: str = "",
    by=None,
) -> Customer:
    """Change a customer's contact details, tags and notes."""
    try:
        locked = Customer.objects.select_for_update(no_key=True).get(pk=customer.pk)
    except Customer.DoesNotExist:
        raise ValidationError(CUSTOMER_GONE) from None
    locked.name, locked.email, locked.phone = name.strip(), email.strip(), phone.strip()
    locked.tags, locked.notes = normalize_tags(tags), notes.strip()
    return _check_and_save(locked, ["name", "email", "phone", "tags", "notes"])
