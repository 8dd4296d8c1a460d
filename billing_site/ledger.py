"""What every app's services share: input checks and the write wrapper (transaction, history, database refusals).

Plumbing: it imports no app. Each app locks its own rows (`customers.services.lock_customer`,
`billing.services.lock_invoice_customer`).
"""

from __future__ import annotations

import datetime
import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pghistory
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

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
