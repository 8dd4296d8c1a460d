"""Repeated failed logins are locked out; the right password still works for others."""

import datetime

from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD


def _log_in(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_it_locks_out_after_five_wrong_passwords(client, staff):
    for _ in range(4):
        assert _log_in(client, staff.username, "wrong password").status_code == 200
    assert _log_in(client, staff.username, "wrong password").status_code == 429
    response = _log_in(client, staff.username, PASSWORD)
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session


def test_it_lets_the_right_password_in_before_the_limit(client, staff):
    for _ in range(3):
        _log_in(client, staff.username, "wrong password")
    response = _log_in(client, staff.username, PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(staff.pk)


def _lock(client, username):
    for _ in range(5):
        _log_in(client, username, "wrong password")


def _pause_ends(username):
    """When the current lock of the username (from the test client's address) ends."""
    from axes.models import AccessAttempt
    from django.test import RequestFactory

    from billing_site.auth import cool_off

    attempt = AccessAttempt.objects.get(username=username)
    request = RequestFactory().get("/")
    request.axes_credentials, request.axes_ip_address = {"username": username}, attempt.ip_address
    return attempt.attempt_time + cool_off(request)


def test_a_lock_is_brief_and_grows_each_time_it_happens_again(client, staff):
    from axes.models import AccessAttempt

    _lock(client, staff.username)
    first = _pause_ends(staff.username) - AccessAttempt.objects.get().attempt_time
    assert first == datetime.timedelta(minutes=1)
    # The pause passes; five more wrong passwords lock the pair again, for twice as long, then four times.
    for expected in (2, 4):
        AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(hours=1, minutes=1))
        _lock(client, staff.username)
        attempt = AccessAttempt.objects.get()
        assert attempt.failures_since_start == 5
        assert _pause_ends(staff.username) - attempt.attempt_time == datetime.timedelta(minutes=expected)
        assert _log_in(client, staff.username, PASSWORD).status_code == 429


def test_a_colleagues_wrong_passwords_lock_only_that_login(client, staff, manager):
    _lock(client, manager.username)
    assert _log_in(client, manager.username, PASSWORD).status_code == 429
    response = _log_in(client, staff.username, PASSWORD)
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(staff.pk)


def test_a_manager_unlocks_a_colleague_from_locked_logins(client, staff, manager):
    from tests.conftest import logged_in

    _lock(client, staff.username)
    assert _log_in(client, staff.username, PASSWORD).status_code == 429
    boss = logged_in(manager)
    page = boss.get(reverse("locked_logins")).content.decode()
    assert staff.username in page and "Unlock" in page
    from axes.models import AccessAttempt

    attempt = AccessAttempt.objects.get(username=staff.username)
    response = boss.post(reverse("locked_logins"), {"attempt": attempt.pk}, follow=True)
    assert f"{staff.username} can log in" in response.content.decode()
    assert "No login is locked." in response.content.decode()
    assert _log_in(client, staff.username, PASSWORD).status_code == 302


def test_billing_staff_cannot_unlock_logins(client, staff):
    from tests.conftest import logged_in

    sam = logged_in(staff)
    assert sam.get(reverse("locked_logins")).status_code == 403
    assert sam.post(reverse("locked_logins"), {"attempt": "1"}).status_code == 403
    assert "Locked logins" not in sam.get(reverse("customers:list")).content.decode()
