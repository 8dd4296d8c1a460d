"""Login throttling with django-axes, keyed on the username *and* the address it is tried from.

A studio's staff share one address, so a lock on an address or on a username alone would let anyone
at the front desk lock the manager out. Instead five wrong passwords for one username from one
address pause that pair briefly, and each further lock of the pair within a day doubles the pause
(1, 2, 4 … minutes, at most an hour): a guessing script is slowed to a crawl, while a colleague's
typos (or mischief) cost the owner of the login a minute, and a manager can unlock it at once
(Locked logins, `billing_site.views.locked_logins`).
"""

from __future__ import annotations

import datetime

from axes.backends import AxesStandaloneBackend
from axes.models import AccessFailureLog
from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

FIRST_PAUSE = datetime.timedelta(minutes=1)
LONGEST_PAUSE = datetime.timedelta(hours=1)
REMEMBERED = datetime.timedelta(days=1)


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' check for web logins; logins without a request (shell, test client) have no IP to throttle."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def _username(request: HttpRequest) -> str | None:
    credentials = getattr(request, "axes_credentials", None) or {}
    return credentials.get("username") or request.POST.get("username")


def cool_off(request: HttpRequest | None) -> datetime.timedelta:
    """How long a locked username+address pair waits: doubling with each lock of the pair in the last day."""
    if request is None or not (username := _username(request)):
        return FIRST_PAUSE
    # Axes logs every failure; those before a lock are logged "not locked out", FAILURE_LIMIT - 1 of them per lock
    # (the one that locks, and every try while locked, are logged "locked out", so they cannot count locks).
    checked = AccessFailureLog.objects.filter(
        username=username,
        ip_address=getattr(request, "axes_ip_address", None),
        locked_out=False,
        attempt_time__gte=timezone.now() - REMEMBERED,
    ).count()
    locks = max(checked // (settings.AXES_FAILURE_LIMIT - 1), 1)
    return min(FIRST_PAUSE * 2 ** (locks - 1), LONGEST_PAUSE)
