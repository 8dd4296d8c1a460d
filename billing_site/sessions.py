"""Sessions for a back office that moves money: they end after 30 minutes idle and 12 hours at most,
and no logged-in page is kept by a browser or a proxy cache (Back after Log out shows nothing).
They are Django's database sessions (SESSION_ENGINE names this module), read with a query written out."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.sessions.backends import db
from django.db import connection
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
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


class SessionStore(db.SessionStore):
    """Django's database session store, reading a session with one query written out: every page reads one, and the
    ORM took longer to build the query (~0.35 ms) than PostgreSQL takes to answer it."""

    def _get_session_from_db(self):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT session_data, expire_date FROM django_session WHERE session_key = %s AND expire_date > %s",
                [self.session_key, timezone.now()],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None  # unknown or expired: a new session is made as Django's store makes one
            return None
        return self.model(session_key=self.session_key, session_data=row[0], expire_date=row[1])


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
