"""Sessions for a back office that moves money: they end after 30 minutes idle and 12 hours at most,
and no logged-in page is kept by a browser or a proxy cache (Back after Log out shows nothing)."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django_htmx.http import HttpResponseClientRedirect

STARTED, SEEN = "session_started_at", "session_seen_at"
SEEN_EVERY = 60  # seconds: the last activity is written at most once a minute, not on every request
ENDED = {
    "idle": "You were logged out after {idle} minutes without activity, so that nobody else at this computer can "
    "see customers' accounts. Log in again to carry on.",
    "expired": "You were logged out because you had been logged in for {hours} hours. Log in again to carry on.",
}


def ended_message(reason: str | None) -> str:
    """What the login page says after a session ended by itself ("" for anything else)."""
    template = ENDED.get(reason or "")
    idle, hours = settings.SESSION_IDLE_SECONDS // 60, settings.SESSION_COOKIE_AGE // 3600
    return template.format(idle=idle, hours=hours) if template else ""


@receiver(user_logged_in)
def _start(sender, request: HttpRequest, **kwargs) -> None:
    """A session's clocks start at login (saved with the login itself, not by the first page after it)."""
    request.session[STARTED] = request.session[SEEN] = int(time.time())


class SessionLimitsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated:
            return self.get_response(request)
        now, session = int(time.time()), request.session
        started, seen = session.setdefault(STARTED, now), session.get(SEEN, now)
        reason = (
            "idle"
            if now - seen > settings.SESSION_IDLE_SECONDS
            else "expired"
            if now - started > settings.SESSION_COOKIE_AGE
            else None
        )
        if reason:
            logout(request)
            url = f"{reverse('login')}?{urlencode({'ended': reason, 'next': request.get_full_path()})}"
            return HttpResponseClientRedirect(url) if request.headers.get("HX-Request") else HttpResponseRedirect(url)
        if now - seen >= SEEN_EVERY:
            session[SEEN] = now
        response = self.get_response(request)
        add_never_cache_headers(response)  # no-cache, no-store, must-revalidate, private
        return response
