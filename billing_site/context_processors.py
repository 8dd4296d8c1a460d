"""Which sidebar menu holds the current page, so it is open on arrival."""

from __future__ import annotations

from django.http import HttpRequest


def menu(request: HttpRequest) -> dict[str, str]:
    match = request.resolver_match
    namespace = match.namespace if match else ""
    return {
        "menu_section": "customers"
        if namespace == "customers"
        else "overview"
        if match and match.url_name == "overview"
        else "billing"
        if namespace in {"billing", "credits", "reports"}
        else ""
    }
