"""Server-side permission checks that tell people what they are missing."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

View = Callable[..., HttpResponse]


def describe(perm: str) -> str:
    """'credits.delete_credit' -> 'Can delete credit'."""
    app_label, codename = perm.split(".", 1)
    name = (
        Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        .values_list("name", flat=True)
        .first()
    )
    return name or perm


def permission_required(perm: str) -> Callable[[View], View]:
    """Refuse with a 403 that names the missing permission (a hidden button is not a permission)."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.has_perm(perm):
                raise PermissionDenied(
                    f"This needs the permission “{describe(perm)}”, which your account does not have. Ask a manager."
                )
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
