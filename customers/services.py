"""Customers service: adding a customer and editing their details.

Design:
- The form parses and checks what people type; these functions are what the views, the shell
  and the tests call to write. They run the model's own checks again (`full_clean`), so a
  shell caller gets the same `ValidationError` a form would show, and nothing is written.
- `ledger_write` runs each function in one transaction and records who did it, so the
  customer's History tab says "Customer created" / "Customer changed" by whom.
- Every ledger write of the apps above (billing, credits) starts with `lock_customer`: writes for
  one customer queue on that row, so locks never cross. Set-based writes choose their customers
  with `customer_ids_sql`, and compare two such choices by `customer_set_digest`.
- `create_customer`, like every create, takes `idempotency_key=` (see `idempotency.services`): the
  same Add Customer form sent twice, even at the same moment, adds one customer.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connection
from django.db.models import QuerySet

from billing_site.ledger import ledger_write
from billing_site.web import pk_or_none
from idempotency import services as idempotency

from .models import Customer, name_order

CUSTOMER_GONE = "This customer no longer exists."
NO_CUSTOMERS = "Choose at least one customer."
PICKER_LIMIT = 10
CREATE_CUSTOMER = "customers.create_customer"


def lock_customer(customer: Customer | int) -> Customer:
    """Lock the customer row: every ledger write for one customer queues here, so locks never cross."""
    pk = customer.pk if isinstance(customer, Customer) else customer
    try:
        return Customer.objects.select_for_update(no_key=True).get(pk=pk)
    except Customer.DoesNotExist:
        raise ValidationError({"customer": "That customer does not exist."}) from None


def customer_ids_sql(customers: QuerySet[Customer] | Iterable[Customer | int]) -> tuple[str, list]:
    """SQL (and its parameters) selecting the distinct ids of the chosen customers, for set-based writes.

    A queryset is used as it is; ids (or customers) must all exist, so that a stale choice is named, not skipped.
    """
    if not isinstance(customers, QuerySet):
        ids = {c.pk if isinstance(c, Customer) else pk_or_none(c) for c in customers}
        if None in ids:
            raise ValidationError({"customers": "Choose customers from the list."})
        customers = Customer.objects.filter(pk__in=sorted(ids))
        missing = len(ids) - customers.count()
        if missing:
            raise ValidationError({"customers": f"{missing} of the chosen customers do not exist."})
    elif customers.query.is_sliced:  # a slice cannot be reordered: select from it instead
        customers = Customer.objects.filter(pk__in=customers.values("pk"))
    try:
        sql, params = customers.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:
        raise ValidationError({"customers": NO_CUSTOMERS}) from None
    return sql, list(params)


def chosen_ids(customers: QuerySet[Customer] | Iterable[Customer | int]) -> list[int]:
    """The chosen customers' ids in id order (the lock order of every write), for a Run's items."""
    sql, params = customer_ids_sql(customers)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pk FROM ({sql}) chosen ORDER BY pk", params)
        return [row[0] for row in cursor.fetchall()]


def customer_set_digest(ids_sql: str, params: list) -> str | None:
    """A digest of exactly which customers `customer_ids_sql` chooses; None for nobody."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {chosen_digest_sql(ids_sql)}", params)
        return cursor.fetchone()[0]


def chosen_digest_sql(ids_sql: str) -> str:
    """SQL for `customer_set_digest`, to compare inside a larger query (it takes the same parameters as `ids_sql`)."""
    return f"(SELECT {id_set_digest('id')} FROM (SELECT DISTINCT id FROM ({ids_sql}) AS ids (id)) chosen)"


def id_set_digest(column: str) -> str:
    """The aggregate behind `customer_set_digest`: the ids in order, digested. Over the customer ids a set-based
    INSERT returns it gives the same digest, so a write records whom it chose without reading them twice."""
    return f"md5(string_agg({column}::text, ',' ORDER BY {column}))"


def customer_or_none(value: object) -> Customer | None:
    """The customer a form or query string names, or None."""
    pk = pk_or_none(value)
    return Customer.objects.filter(pk=pk).first() if pk else None


def customer_choices(text: str, chosen: Customer | None) -> list[Customer]:
    """A customer picker's options: the one already chosen first, then up to ten matches."""
    found = (
        list(Customer.objects.active().search(text).order_by(*name_order(text))[:PICKER_LIMIT]) if text.strip() else []
    )
    if chosen is not None:
        found = [chosen] + [customer for customer in found if customer.pk != chosen.pk]
    return found


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
    address: str = "",
    by=None,
    idempotency_key: str | None = None,
) -> Customer:
    """Add a customer; raises ValidationError (writing nothing) when a detail is not acceptable.

    The same idempotency key again with the same details returns the customer it added.
    """
    customer = Customer(
        name=name.strip(),
        email=email.strip(),
        phone=phone.strip(),
        tags=normalize_tags(tags),
        notes=notes.strip(),
        address=address.strip(),
    )
    customer.full_clean(exclude=["archived"])
    claim = idempotency.claim(CREATE_CUSTOMER, idempotency_key, by=by)
    asked = idempotency.fingerprint(
        name=customer.name,
        email=customer.email,
        phone=customer.phone,
        tags=customer.tags,
        notes=customer.notes,
        **({"address": customer.address} if customer.address else {}),  # keys made before addresses keep their digest
    )
    if claim.taken:
        return claim.replay(asked, Customer.objects.all(), "customer")
    customer.save()
    claim.record(customer, asked)
    return customer


@ledger_write("update_customer")
def update_customer(
    customer: Customer,
    *,
    name: str,
    email: str = "",
    phone: str = "",
    tags: Iterable[str] | str = (),
    notes: str = "",
    address: str = "",
    by=None,
) -> Customer:
    """Change a customer's contact details, tags, notes and postal address."""
    try:
        locked = Customer.objects.select_for_update(no_key=True).get(pk=customer.pk)
    except Customer.DoesNotExist:
        raise ValidationError(CUSTOMER_GONE) from None
    locked.name, locked.email, locked.phone = name.strip(), email.strip(), phone.strip()
    locked.tags, locked.notes, locked.address = normalize_tags(tags), notes.strip(), address.strip()
    return _check_and_save(locked, ["name", "email", "phone", "tags", "notes", "address"])
