"""The shared cast (a billing staff member, a manager, a superuser, each with a browser of their own) and the
helpers every view test uses: htmx's headers, and counting a page's queries with pytest-django's fixtures."""

from __future__ import annotations

import os
import threading

import pytest
from django.test import Client

from credits import roles
from tests.factories import CustomerFactory, UserFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct horse battery"

# The most queries any page may make, whatever the rows; the heaviest (a customer's Billing tab, an invoice)
# make 10. test_query_counts.py and the "same queries with ten times the rows" tests hold every page to it.
PAGE_QUERY_BUDGET = 15


def htmx(*, history_restore: bool = False) -> dict[str, str]:
    """The headers htmx sends with its requests: `client.get(url, headers=htmx())`."""
    headers = {"HX-Request": "true"}
    if history_restore:
        headers["HX-History-Restore-Request"] = "true"
    return headers


def logged_in(user) -> Client:
    """A browser of its own (its own cookies and session), logged in as `user`."""
    client = Client()
    client.force_login(user)
    return client


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
def staff_client(staff):
    """Sam's browser; a test may ask for manager_client too, and get Maria's, logged in beside it."""
    return logged_in(staff)


@pytest.fixture
def manager_client(manager):
    return logged_in(manager)


@pytest.fixture
def page_queries(django_assert_max_num_queries, django_assert_num_queries):
    """GET a page with nothing cached (the tag suggestions are kept a minute) and count its queries.

    `page_queries(client, url)` returns how many it made, and fails past PAGE_QUERY_BUDGET;
    `page_queries(client, url, exactly=n)` fails unless it made exactly n (pytest -v lists them).
    A streamed response (the CSV export) is read to the end, since it queries as it streams.
    """
    from django.core.cache import cache

    def get(client: Client, url: str, *, exactly: int | None = None, headers: dict[str, str] | None = None) -> int:
        cache.clear()
        if exactly is None:
            counting = django_assert_max_num_queries(PAGE_QUERY_BUDGET, info=url)
        else:
            counting = django_assert_num_queries(exactly, info=f"{url} made a different number of queries")
        with counting as captured:
            response = client.get(url, headers=headers)
            if response.streaming:
                b"".join(response.streaming_content)
        assert response.status_code == 200, f"{url} answered {response.status_code}"
        return len(captured)

    return get


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


@pytest.fixture
def run_worker(transactional_db):
    """Work the queue with Procrastinate's real worker, in this process against the test database, until it is
    empty: `run_worker()`. The jobs see only committed rows, hence transactional_db."""
    from procrastinate.contrib.django import app

    def work(options: dict, failed: list) -> None:
        try:
            with app.replace_connector(app.connector.get_worker_connector()) as worker_app:
                worker_app.run_worker(wait=False, install_signal_handlers=False, listen_notify=False, **options)
        except BaseException as error:  # handed to the test's thread
            failed.append(error)
        finally:
            from django.db import connection

            connection.close()

    def run(**options) -> None:
        # In a thread of its own: after a browser test, Playwright's event loop is running in this one.
        failed: list[BaseException] = []
        thread = threading.Thread(target=work, args=(options, failed))
        thread.start()
        thread.join()
        if failed:
            raise failed[0]

    return run


@pytest.fixture
def worker_processes(transactional_db):
    """Start real workers (`manage.py procrastinate worker`) on the test database: `start()` returns a Popen.
    Each is killed at the end of the test if it is still running."""
    import signal
    import subprocess
    import sys

    from django.db import connection

    started: list[subprocess.Popen] = []
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"

    def start(*args: str) -> subprocess.Popen:
        env = {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
        command = [sys.executable, "manage.py", "procrastinate", "worker", *args]
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
