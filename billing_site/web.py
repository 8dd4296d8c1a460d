"""What every app's views share: htmx fragments, the redirect after a POST, service errors on forms. Imports no app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Model
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django_htmx.http import HttpResponseClientRedirect


def wants_partial(request: HttpRequest) -> bool:
    """htmx asked for a region; a history restore (Back after a cache miss) needs the whole page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def page_or_partial(request: HttpRequest, template: str, partial: str) -> str:
    """The template to render: the whole page, or only its partial for htmx (the whole page for a history restore)."""
    return f"{template}#{partial}" if wants_partial(request) else template


def see_other(request: HttpRequest, url: str) -> HttpResponse:
    """After a successful POST: a 303 for a plain form, a full-page client redirect for htmx (which shows the message)."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def add_service_errors(form: Form, error: ValidationError) -> None:
    """Put a service's ValidationError next to the field it names, or above the form."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            target = field if field in form.fields and field != NON_FIELD_ERRORS else None
            for message in messages:
                form.add_error(target, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


def search_text(value: object) -> str:
    """What was typed in a search box, as PostgreSQL text can hold it (no NUL) and no longer than a name."""
    return str(value or "").replace("\x00", "")[:200]


def picker(typed: object, chosen: Model | None, find: Callable[[str, Any], list] | None) -> dict:
    """A picker's context: what was typed (`query`), the `choices` that `find` gives for it with the chosen one
    (none without `find`, when the choice is fixed) and `chosen_id`."""
    text = search_text(typed)
    return {"query": text, "choices": find(text, chosen) if find else [], "chosen_id": chosen.pk if chosen else None}


def pk_or_none(value: object) -> int | None:
    """A primary key from a form or query string, or None for anything that is not one."""
    text = str(value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None
