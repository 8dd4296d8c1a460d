"""The shared cast: a billing staff member, a manager, a superuser, and a browser."""

from __future__ import annotations

import os

import pytest

from credits import roles
from tests.factories import CustomerFactory, UserFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing():
    """Tests make many users; the real hasher spends half a second on each, on purpose."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache (the tag suggestions are kept for a minute)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def staff(db):
    return UserFactory(username="sam.staff", groups=[roles.BILLING_STAFF])


@pytest.fixture
def manager(db):
    return UserFactory(username="maria.manager", groups=[roles.MANAGERS])


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def customer(db):
    return CustomerFactory(name="Amy Parent")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }
