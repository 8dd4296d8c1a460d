"""What the credits and billing services share: input checks, locks and the write wrapper."""

from __future__ import annotations

import datetime
import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pghistory
from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from billing.models import Invoice
from customers.models import Customer

F = TypeVar("F", bound=Callable[..., Any])

EARLIEST_PAST_DAYS = 3653  # about ten years: older than that is almost surely a typo
LATEST_FUTURE_DAYS = 366

# What the database's own rules mean, for when a race slips past the checks in Python.
DB_RULE_MESSAGES = {
    "credit_not_overassigned": "That is more than the credit has left to assign.",
    "invoice_not_oversettled": "That is more than the invoice has outstanding.",
    "invoice_void_settles_nothing": "A void invoice cannot take payments or credits.",
    "credit_amount_in_range": "The amount must be more than zero and at most £1,000,000.00.",
}
CONCURRENT_CHANGE = "Someone else changed this at the same moment. Please try again."


def today() -> datetime.date:
    from django.utils import timezone

    return timezone.localdate()


def check_date(value: object, *, field: str = "date") -> datetime.date:
    """A date within ten years back and a year ahead; None means today."""
    if value is None or value == "":
        return today()
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError({field: "Enter a date like 2026-01-31."}) from None
    if not isinstance(value, datetime.date):
        raise ValidationError({field: "Enter a date like 2026-01-31."})
    if value < today() - datetime.timedelta(days=EARLIEST_PAST_DAYS):
        raise ValidationError({field: "That date is more than ten years ago."})
    if value > today() + datetime.timedelta(days=LATEST_FUTURE_DAYS):
        raise ValidationError({field: "That date is more than a year ahead."})
    return value


def check_choice(value: object, choices: type, *, field: str) -> str:
    if value not in choices.values:
        allowed = ", ".join(choices.values)
        raise ValidationError({field: f"Choose one of: {allowed}."})
    return str(value)


def lock_customer(customer: Customer | int) -> Customer:
    """Lock the customer row: every ledger write for one customer queues here, so locks never cross."""
    pk = customer.pk if isinstance(customer, Customer) else customer
    try:
        return Customer.objects.select_for_update(no_key=True).get(pk=pk)
    except Customer.DoesNotExist:
        raise ValidationError({"customer": "That customer does not exist."}) from None


INVOICE_GONE = "That invoice does not exist."


def lock_invoice_customer(invoice: Invoice | int) -> tuple[int, int]:
    """Lock the customer of an invoice (first, like every ledger write); returns the invoice's and the customer's pk."""
    pk = invoice.pk if isinstance(invoice, Invoice) else invoice
    customer_id = Invoice.objects.filter(pk=pk).values_list("customer_id", flat=True).first()
    if customer_id is None:
        raise ValidationError(INVOICE_GONE)
    lock_customer(customer_id)
    return pk, customer_id


def _explain(error: IntegrityError) -> str:
    diag = getattr(error.__cause__, "diag", None)
    constraint = getattr(diag, "constraint_name", None)
    if constraint in DB_RULE_MESSAGES:
        return DB_RULE_MESSAGES[constraint]
    primary = getattr(diag, "message_primary", None)
    return primary or CONCURRENT_CHANGE


_writing = threading.local()


def ledger_write(action: str) -> Callable[[F], F]:
    """Run a service atomically, record who did what in history, and turn a database refusal into a ValidationError."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, by: Any = None, **kwargs: Any) -> Any:
            if getattr(_writing, "action", None):
                # A service called by another (create_invoice applying credit): history keeps the outer action.
                with transaction.atomic():
                    return func(*args, by=by, **kwargs)
            who = {"user": by.pk, "username": by.get_username()} if by is not None else {}
            _writing.action = action
            try:
                with transaction.atomic(), pghistory.context(action=action, **who):
                    return func(*args, by=by, **kwargs)
            except IntegrityError as error:
                raise ValidationError(_explain(error)) from error
            finally:
                _writing.action = None

        return wrapper  # type: ignore[return-value]

    return decorate


NO_CUSTOMERS = "Choose at least one customer."


def customer_ids_sql(customers: QuerySet[Customer]) -> tuple[str, list]:
    """SQL (and its parameters) selecting the ids of the chosen customers, for set-based writes."""
    if customers.query.is_sliced:  # a slice cannot be reordered: select from it instead
        customers = Customer.objects.filter(pk__in=customers.values("pk"))
    try:
        sql, params = customers.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:
        raise ValidationError({"customers": NO_CUSTOMERS}) from None
    return sql, list(params)
