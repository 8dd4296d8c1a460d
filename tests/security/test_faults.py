"""Faults in the middle of a bulk credit, with the app under gunicorn (DEBUG off) on the test database.

A trigger installed only for these tests makes the bulk INSERT sleep once its rows are written (while
the transaction is still open); then either PostgreSQL's backend is terminated or the gunicorn worker
is killed. Nothing partial may be left, the person must get a clean error (not a stack trace), and the
next request must work without restarting anything; the same form sent again makes exactly one batch.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from credits import roles
from credits.models import Credit, CreditBatch
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, UserFactory
from tests.ledger import assert_ledger_clean, keep_staff_groups  # noqa: F401 - fixture
from tests.security.server import Browser, Gunicorn, collectstatic, server_password

SLOW_NOTE = "fault injection: sleep here"
SLOW_TRIGGER = f"""
CREATE OR REPLACE FUNCTION sb_test_slow_bulk() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows WHERE note = '{SLOW_NOTE}') THEN
        PERFORM pg_sleep(20);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER sb_test_slow_bulk AFTER INSERT ON credits_credit REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sb_test_slow_bulk();
"""
DROP_TRIGGER = (
    "DROP TRIGGER IF EXISTS sb_test_slow_bulk ON credits_credit; DROP FUNCTION IF EXISTS sb_test_slow_bulk();"
)


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    """gunicorn, whose database sessions notice within 100 ms that their client is gone (set before it connects)."""
    collectstatic()
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            f'ALTER DATABASE "{connection.settings_dict["NAME"]}" SET client_connection_check_interval = 100'
        )
    running = Gunicorn(workers=2, threads=4)
    yield running
    running.stop()
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(f'ALTER DATABASE "{connection.settings_dict["NAME"]}" RESET client_connection_check_interval')


@pytest.fixture
def slow_bulk(transactional_db):
    with connection.cursor() as cursor:
        cursor.execute(SLOW_TRIGGER)
    yield
    with connection.cursor() as cursor:
        cursor.execute(DROP_TRIGGER)


def drop_slow_trigger() -> None:
    with connection.cursor() as cursor:
        cursor.execute(DROP_TRIGGER)


def sleeping_backend(timeout: float = 15) -> tuple[int, int]:
    """(pid, client port) of the app's database backend asleep in the trigger, with its INSERT written but not committed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid, client_port FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep' "
                "AND pid <> pg_backend_pid()"
            )
            row = cursor.fetchone()
        if row:
            return row
        time.sleep(0.05)
    raise AssertionError("the bulk credit never reached the slow trigger")


def backend_gone(pid: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
            if cursor.fetchone() is None:
                return
        time.sleep(0.05)
    raise AssertionError(f"backend {pid} is still there")


def in_background(job) -> tuple[threading.Thread, list]:
    result: list = []

    def run():
        try:
            result.append(job())
        except Exception as error:  # noqa: BLE001 - judged by the test
            result.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def a_manager(server) -> Browser:
    user = UserFactory(groups=[roles.MANAGERS])
    server_password(user, PASSWORD)
    return Browser(server.url).log_in(user.username, PASSWORD)


def bulk_form(people) -> dict:
    return {
        "customer": [p.pk for p in people],
        "date": timezone.localdate().isoformat(),
        "amount": "12.50",
        "reason": "goodwill",
        "note": SLOW_NOTE,
        "auto_apply": "on",
        "idempotency_key": uuid.uuid4().hex,
        "expected_count": str(len(people)),
    }


def nothing_partial() -> None:
    assert not Credit.objects.filter(note=SLOW_NOTE).exists()
    assert not CreditBatch.objects.exists()
    assert_ledger_clean()


@pytest.mark.usefixtures("keep_staff_groups")
def test_the_database_connection_killed_mid_bulk_credit_leaves_nothing_and_the_next_request_works(server, slow_bulk):
    people = CustomerFactory.create_batch(40)
    manager = a_manager(server)
    form = bulk_form(people)
    thread, result = in_background(lambda: manager.post("/billing/credits/bulk/", form))
    pid, _ = sleeping_backend()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    thread.join(timeout=30)
    response = result[0]
    assert response.status == 500, response
    assert "Something went wrong" in response.body and "Nothing was saved" in response.body
    assert "Traceback" not in response.body and "OperationalError" not in response.body
    nothing_partial()

    drop_slow_trigger()
    for _ in range(4):  # every worker thread, including the one whose connection died, answers again
        assert manager.get("/billing/credits/").status == 200
    again = manager.post("/billing/credits/bulk/", form)
    assert again.status == 303, again.body[:2000]
    assert CreditBatch.objects.get().count == 40
    assert Credit.objects.filter(note=SLOW_NOTE).count() == 40


@pytest.mark.usefixtures("keep_staff_groups")
def test_the_worker_killed_mid_bulk_credit_leaves_nothing_and_the_next_request_works(server, slow_bulk):
    people = CustomerFactory.create_batch(40)
    manager = a_manager(server)
    form = bulk_form(people)
    thread, result = in_background(lambda: manager.post("/billing/credits/bulk/", form))
    pid, port = sleeping_backend()
    worker = server.worker_with_db_port(port)
    assert worker is not None, f"no gunicorn worker owns the connection from port {port}"
    os.kill(worker, signal.SIGKILL)
    thread.join(timeout=30)
    assert isinstance(result[0], ConnectionError | OSError), result  # what the browser shows: the connection dropped
    backend_gone(pid)  # PostgreSQL noticed the client is gone and rolled the transaction back
    nothing_partial()

    drop_slow_trigger()
    deadline = time.monotonic() + 20
    while worker in server.workers() or len(server.workers()) < 2:  # gunicorn replaces the worker by itself
        assert time.monotonic() < deadline, "gunicorn did not replace the killed worker"
        time.sleep(0.1)
    for _ in range(4):
        assert manager.get("/billing/credits/").status == 200
    again = manager.post("/billing/credits/bulk/", form)  # the person presses Create again: the same form, one batch
    assert again.status == 303, again.body[:2000]
    assert CreditBatch.objects.get().count == 40


@pytest.mark.usefixtures("keep_staff_groups")
def test_database_connections_dropped_between_requests_are_replaced_without_an_error(server, transactional_db):
    """A database restart or failover closes the workers' idle persistent connections; the next requests must not fail."""
    manager = a_manager(server)
    for _ in range(8):
        assert manager.get("/billing/credits/").status == 200
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone()[0] >= 1
    statuses = [manager.get("/billing/credits/").status for _ in range(8)]
    assert statuses == [200] * 8, server.output()
