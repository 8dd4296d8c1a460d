"""History tabs: the events pghistory's triggers recorded, in words people read."""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import models
from django.utils.dateparse import parse_datetime
from pghistory.models import Events

from billing_site.money import format_money

ACTIONS = {
    "add_credit": "Credit added",
    "add_bulk_credits": "Bulk credits added",
    "update_credit": "Credit modified",
    "assign_credit": "Credit assigned",
    "unassign_credit": "Assignment removed",
    "delete_credit": "Credit deleted",
    "apply_available_credit": "Available credit applied",
    "undo_batch": "Bulk batch undone",
    "create_invoice": "Invoice created",
    "record_payment": "Payment recorded",
    "void_invoice": "Invoice voided",
}
HIDDEN_FIELDS = {"id", "version", "created_at", "pgh_obj", "pgh_context", "created_by_id"}
MONEY_FIELDS = {"amount", "assigned", "total", "paid", "credited", "unit_price"}


def _value(name: str, value: object) -> object:
    """A recorded value as people read it: money as £, references as #id."""
    if value is None:
        return None
    if name in MONEY_FIELDS:
        return format_money(Decimal(str(value)))
    return f"#{value}" if name.endswith("_id") else value


def _change(name: str, old: object, new: object) -> tuple[str, object, object]:
    return name.removesuffix("_id").replace("_", " "), _value(name, old), _value(name, new)


@dataclasses.dataclass
class HistoryRow:
    when: datetime.datetime
    who: str
    action: str
    what: str
    changes: list[tuple[str, object, object]]


def _describe(event: Events) -> tuple[str, str]:
    model = event.pgh_obj_model.split(".")[-1]
    words = {"CreditAssignment": "assignment", "InvoiceLine": "invoice line", "CreditBatch": "bulk batch"}.get(
        model, model.lower()
    )
    label = {"insert": "created", "update": "changed", "delete": "deleted"}.get(event.pgh_label, event.pgh_label)
    return words, label


def history(obj: models.Model, *, include_related: bool = False, limit: int = 200) -> list[HistoryRow]:
    """Newest first: the object's own events, or also those of rows that point at it."""
    events = Events.objects.references(obj) if include_related else Events.objects.tracks(obj)
    events = list(events.order_by("-pgh_created_at", "-pgh_id")[:limit])
    user_ids = {e.pgh_context.get("user") for e in events if e.pgh_context and not e.pgh_context.get("username")}
    names = (
        dict(get_user_model().objects.filter(pk__in=user_ids - {None}).values_list("pk", "username"))
        if user_ids
        else {}
    )
    rows = []
    for event in events:
        context = event.pgh_context or {}
        who = context.get("username") or names.get(context.get("user")) or "system"
        words, label = _describe(event)
        action = ACTIONS.get(context.get("action", ""), f"{words.capitalize()} {label}")
        if event.pgh_label == "update" and event.pgh_diff:
            changes = [
                _change(name, old, new) for name, (old, new) in event.pgh_diff.items() if name not in HIDDEN_FIELDS
            ]
        else:
            changes = [
                _change(name, None, value)
                for name, value in sorted((event.pgh_data or {}).items())
                if name not in HIDDEN_FIELDS and value not in (None, "", [])
            ]
        when = (
            event.pgh_created_at
            if isinstance(event.pgh_created_at, datetime.datetime)
            else parse_datetime(str(event.pgh_created_at))
        )
        rows.append(
            HistoryRow(when=when, who=who, action=action, what=f"{words} #{event.pgh_obj_id} {label}", changes=changes)
        )
    return rows
