"""Sessions end after 30 minutes idle and 12 hours at most, say why, and no logged-in page is cached."""

from __future__ import annotations

import time

import pytest
from django.urls import NoReverseMatch, reverse

from billing_site.sessions import SEEN, STARTED
from tests.conftest import PASSWORD


def _age(client, **seconds_ago):
    session = client.session
    now = int(time.time())
    for key, ago in seconds_ago.items():
        session[{"started": STARTED, "seen": SEEN}[key]] = now - ago
    session.save()


def test_it_keeps_an_active_session(client, staff):
    client.force_login(staff)
    client.get(reverse("customers:list"))
    _age(client, seen=29 * 60, started=11 * 3600)
    assert client.get(reverse("customers:list")).status_code == 200


def test_it_ends_a_session_after_thirty_minutes_idle_and_says_why(client, staff):
    client.force_login(staff)
    client.get(reverse("customers:list"))
    _age(client, seen=31 * 60)
    response = client.get(reverse("customers:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?ended=idle")
    assert "_auth_user_id" not in client.session
    page = client.get(response["Location"]).content.decode()
    assert "logged out after 30 minutes without activity" in page
    # Logging in again carries on where the person was.
    again = client.post(response["Location"], {"username": staff.username, "password": PASSWORD})
    assert again["Location"] == reverse("customers:list")


def test_it_ends_a_session_after_twelve_hours_however_busy(client, staff):
    client.force_login(staff)
    client.get(reverse("customers:list"))
    _age(client, seen=10, started=12 * 3600 + 60)
    response = client.get(reverse("credits:list"))
    assert response["Location"].startswith(reverse("login") + "?ended=expired")
    assert "logged in for 12 hours" in client.get(response["Location"]).content.decode()


def test_an_htmx_request_after_the_limit_sends_the_whole_page_to_log_in(client, staff):
    client.force_login(staff)
    client.get(reverse("customers:list"))
    _age(client, seen=31 * 60)
    response = client.get(reverse("customers:list"), headers={"HX-Request": "true"})
    assert response["HX-Redirect"].startswith(reverse("login") + "?ended=idle")


def test_the_login_page_says_nothing_for_an_unknown_reason(client):
    page = client.get(reverse("login"), {"ended": "<script>x</script>"}).content.decode()
    assert "logged out" not in page and "<script>x" not in page


def test_no_logged_in_page_is_cached(client, staff):
    client.force_login(staff)
    for name in ("customers:list", "credits:list", "billing:invoice_list", "home"):
        cache_control = client.get(reverse(name))["Cache-Control"]
        assert "no-store" in cache_control and "private" in cache_control, (name, cache_control)


def test_password_reset_is_not_offered_while_the_product_sends_no_email(client, staff):
    assert client.get("/accounts/password_reset/").status_code == 404
    with pytest.raises(NoReverseMatch):
        reverse("password_reset")
    client.force_login(staff)
    assert client.get("/accounts/password_reset/").status_code == 404


def test_the_session_store_reads_a_live_session_and_nothing_else(db):
    """billing_site.sessions.SessionStore reads with its own query what Django's database store reads."""
    import datetime

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from billing_site.sessions import SessionStore

    live, expired = SessionStore(), SessionStore()
    live["who"], expired["who"] = "staff", "someone"
    live.create()
    expired.create()
    Session.objects.filter(session_key=expired.session_key).update(expire_date=timezone.now() - datetime.timedelta(1))
    assert SessionStore(live.session_key).load() == {"who": "staff"}
    for key in (expired.session_key, "no-such-session-key-at-all-here"):
        gone = SessionStore(key)
        assert gone.load() == {} and gone.session_key is None
