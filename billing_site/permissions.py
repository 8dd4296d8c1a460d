"""Server-side permission checks that tell people, in their words, what they cannot do and whom to ask.

What each permission lets someone do ("add bulk credits") and whom to ask come from settings
(PERMISSION_WORDS, PERMISSION_ASK); which roles may is read from the groups' permissions, as the
roles (credits.roles) set them, so that the page never disagrees with what the server allows.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.text import get_text_list

View = Callable[..., HttpResponse]

NAMED_AT_MOST = 3  # people named on the page to ask; "and 2 more" after them


def _listed(words: list[str]) -> str:
    """["A", "B", "C"] -> "A, B and C"."""
    return get_text_list(words, "and")


def _people(names: list[str]) -> str:
    shown = names[:NAMED_AT_MOST]
    if len(names) > NAMED_AT_MOST:
        return f"{', '.join(shown)} and {len(names) - NAMED_AT_MOST} more"
    return _listed(shown)


def describe(user: Any, perm: str) -> str:
    """Why a page is refused: who may do it, what the person's role is, and whom to ask (named).

    "Only Managers can add bulk credits. Your role, Billing staff, cannot: ask a manager (Maria Manager)."
    """
    app_label, codename = perm.split(".", 1)
    doing = settings.PERMISSION_WORDS[perm]
    may = list(
        Group.objects.filter(permissions__content_type__app_label=app_label, permissions__codename=codename)
        .order_by("name")
        .values_list("name", flat=True)
    )
    roles = sorted(group.name for group in user.groups.all())
    ask_group, ask_whom = settings.PERMISSION_ASK
    people = [
        f"{first} {last}".strip() or username
        for first, last, username in get_user_model()
        .objects.filter(groups__name=ask_group, is_active=True)
        .exclude(pk=user.pk)
        .order_by("first_name", "last_name", "username")
        .values_list("first_name", "last_name", "username")
    ]
    who_may = f"Only {_listed(may)} can {doing}." if may else f"Only an administrator can {doing}."
    if not roles:
        yours = "Your account has no role yet"
    elif len(roles) == 1:
        yours = f"Your role, {roles[0]}, cannot"
    else:
        yours = f"Your roles, {_listed(roles)}, cannot"
    ask = f"ask {ask_whom} ({_people(people)})" if people else f"ask {ask_whom}"
    return f"{who_may} {yours}: {ask}."


def permission_required(perm: str) -> Callable[[View], View]:
    """Refuse with a 403 that says what the person cannot do and whom to ask (a hidden button is not a permission)."""
    if perm not in settings.PERMISSION_WORDS:
        raise ImproperlyConfigured(f"Say what {perm!r} lets people do in settings.PERMISSION_WORDS")

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.has_perm(perm):
                raise PermissionDenied(describe(request.user, perm))
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
