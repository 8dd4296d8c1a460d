"""What every app's views share: htmx fragments, the redirect after a POST, service errors on forms, the customer picker."""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django_htmx.http import HttpResponseClientRedirect

from customers.models import Customer

PICKER_LIMIT = 10


def wants_partial(request: HttpRequest) -> bool:
    """htmx asked for a region; a history restore (Back after a cache miss) needs the whole page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


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


def pk_or_none(value: object) -> int | None:
    """A primary key from a form or query string, or None for anything that is not one."""
    text = str(value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def customer_or_none(value: object) -> Customer | None:
    pk = pk_or_none(value)
    return Customer.objects.filter(pk=pk).first() if pk else None


def customer_choices(text: str, chosen: Customer | None) -> list[Customer]:
    """The customer picker's options: the one already chosen first, then up to ten matches."""
    found = list(Customer.objects.active().search(text).order_by("name", "id")[:PICKER_LIMIT]) if text.strip() else []
    if chosen is not None:
        found = [chosen] + [customer for customer in found if customer.pk != chosen.pk]
    return found
