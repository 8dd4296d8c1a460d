"""History tabs: the events pghistory's triggers recorded, in words people read.

Each event knows its tracked model ("credits.Credit"), so the words come from the models themselves, without
importing an app: a field's verbose_name is its label, its choices' labels replace codes, dates and money read as
the pages show them, and a reference (a customer, an invoice, a credit, a user) is the referenced row's name, linked
to its page when it has one. The referenced rows are read once per model for the whole tab, however many events.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
from collections import defaultdict
from decimal import Decimal

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.formats import date_format
from django.utils.text import capfirst
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
    "refund_credit": "Credit refunded",
    "reverse_refund": "Refund reversed",
    "create_invoice": "Invoice created",
    "create_invoices": "Invoice raised by an invoice run",
    "record_payment": "Payment recorded",
    "void_invoice": "Invoice voided",
}
HIDDEN_FIELDS = {"id", "version", "created_at", "pgh_obj", "pgh_context", "created_by_id"}

# A field that names its row (an invoice's number) is shown as the row's name in the What column: "INV-000123".
NAMING_FIELDS = {"number"}
HAPPENED = {"insert": "created", "update": "changed", "delete": "deleted"}
NOTHING = "—"


@dataclasses.dataclass(frozen=True)
class Link:
    """A row named as the pages name it, and its page."""

    text: str
    url: str

    def __str__(self) -> str:
        return self.text


Shown = str | Link


@dataclasses.dataclass(frozen=True)
class Change:
    label: str
    old: Shown | None  # None on a created or deleted row, which shows its values only
    new: Shown


@dataclasses.dataclass
class HistoryRow:
    when: datetime.datetime
    who: str
    action: str
    subject: Shown  # the row the event is about: "INV-000123", "Credit #7", "Payment"
    happened: str  # "created", "changed", "deleted"
    changes: list[Change]


@functools.cache
def _fields(model: type[models.Model]) -> dict[str, models.Field]:
    """The model's columns by the names pghistory records ("customer_id"), in the model's order."""
    return {field.attname: field for field in model._meta.concrete_fields}


def _recorded(event: Events, model: type[models.Model]) -> list[tuple[models.Field, object, object]]:
    """(field, old, new) for each shown field: old is None for a created or deleted row."""
    fields = {name: field for name, field in _fields(model).items() if name not in HIDDEN_FIELDS | NAMING_FIELDS}
    if event.pgh_label == "update" and event.pgh_diff:
        found = {name: tuple(pair) for name, pair in event.pgh_diff.items()}
        return [(field, *found[name]) for name, field in fields.items() if name in found]
    data = event.pgh_data or {}
    return [(field, None, data[name]) for name, field in fields.items() if data.get(name) not in (None, "", [])]


def _pk(model: type[models.Model], value: object) -> object:
    """An event's pgh_obj_id (text) as the model's primary key."""
    return model._meta.pk.to_python(value)


def _has_page(model: type[models.Model]) -> bool:
    return hasattr(model, "get_absolute_url")


def _named(row: models.Model) -> Shown:
    return Link(str(row), row.get_absolute_url()) if _has_page(type(row)) else str(row)


def _missing(model: type[models.Model], pk: object) -> str:
    """A row that is gone (a deleted credit): its kind and number, not linked."""
    return f"{capfirst(model._meta.verbose_name)} #{pk}"


def _shown(field: models.Field, value: object, rows: dict[type[models.Model], dict]) -> Shown:
    """A recorded value as the pages show it."""
    if value is None or value == "" or value == []:
        return NOTHING
    if field.is_relation:
        model = field.related_model
        row = rows.get(model, {}).get(value)
        return _named(row) if row is not None else _missing(model, value)
    if isinstance(field, models.GeneratedField):
        field = field.output_field
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(field, models.BooleanField):
        return "Yes" if value else "No"
    if isinstance(field, models.DateTimeField):
        moment = value if isinstance(value, datetime.datetime) else parse_datetime(str(value))
        return date_format(timezone.localtime(moment), "j M Y, H:i") if moment else str(value)
    if isinstance(field, models.DateField):
        day = value if isinstance(value, datetime.date) else parse_date(str(value))
        return date_format(day, "j M Y") if day else str(value)
    if isinstance(field, models.DecimalField):  # every decimal column is money (billing_site.money.MoneyField)
        return format_money(Decimal(str(value)))
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def _rows_referenced(events: list[tuple[Events, type[models.Model], list]]) -> dict[type[models.Model], dict]:
    """Every row the events name (their subjects with pages, what they point at, who did them), one query a model."""
    wanted: dict[type[models.Model], set] = defaultdict(set)
    for event, model, recorded in events:
        if _has_page(model):
            wanted[model].add(_pk(model, event.pgh_obj_id))
        for field, old, new in recorded:
            if field.is_relation:
                wanted[field.related_model].update(value for value in (old, new) if value is not None)
        context = event.pgh_context or {}
        if context.get("user") and not context.get("username"):
            wanted[get_user_model()].add(context["user"])
    return {model: model._default_manager.in_bulk(ids) for model, ids in wanted.items()}


def history(obj: models.Model, *, include_related: bool = False, limit: int = 200) -> list[HistoryRow]:
    """Newest first: the object's own events, or also those of rows that point at it."""
    events = Events.objects.references(obj) if include_related else Events.objects.tracks(obj)
    events = [
        (event, model, _recorded(event, model))
        for event in events.order_by("-pgh_created_at", "-pgh_id")[:limit]
        if (model := apps.get_model(event.pgh_obj_model))
    ]
    rows_by_model = _rows_referenced(events)
    users = rows_by_model.get(get_user_model(), {})
    rows = []
    for event, model, recorded in events:
        context = event.pgh_context or {}
        who = context.get("username") or (str(users[context["user"]]) if context.get("user") in users else "system")
        happened = HAPPENED.get(event.pgh_label, event.pgh_label)
        kind = capfirst(model._meta.verbose_name)
        if _has_page(model):
            row = rows_by_model[model].get(_pk(model, event.pgh_obj_id))
            subject = _named(row) if row is not None else _missing(model, event.pgh_obj_id)
        else:
            subject = kind
        changes = [
            Change(
                label=capfirst(field.verbose_name),
                old=_shown(field, old, rows_by_model) if event.pgh_label == "update" else None,
                new=_shown(field, new, rows_by_model),
            )
            for field, old, new in recorded
        ]
        when = (
            event.pgh_created_at
            if isinstance(event.pgh_created_at, datetime.datetime)
            else parse_datetime(str(event.pgh_created_at))
        )
        rows.append(
            HistoryRow(
                when=when,
                who=who,
                action=ACTIONS.get(context.get("action", ""), f"{kind} {happened}"),
                subject=subject,
                happened=happened,
                changes=changes,
            )
        )
    return rows
