"""Repeated failed logins are locked out; the right password still works for others."""

from django.urls import reverse

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
