"""Real worker processes (`manage.py procrastinate worker`) on the test database: a worker killed with SIGKILL in the
middle of a chunk, and a run cancelled while a worker is in the middle of it.

To stop a worker at a known point, the test holds a lock on the first customer of the second chunk from another
connection: the worker's chunk transaction waits on it (create_invoices locks its customers first)."""

from __future__ import annotations

import contextlib
import signal
import time

import psycopg
import pytest
from django.db import connection
from django.db.models import Count, Sum

from billing.invoice_run import start_invoice_run
from billing.models import Invoice
from credits import services as credits
from credits.models import CreditAssignment
from runs import services as runs
from runs.models import Chunk, Run, Status
from tests.factories import CustomerFactory

LINES = [("Swimming — spring term", 1, "80.00")]
pytestmark = pytest.mark.usefixtures("transactional_db")


def _wait_for(what, *, seconds: float = 60, every: float = 0.2):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := what():
            return value
        time.sleep(every)
    raise AssertionError(f"waited {seconds} s for {what.__doc__ or what}")


@contextlib.contextmanager
def _customer_locked(customer_id: int):
    """Another session holds the customer's row until the block ends."""
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"]
    ) as other:
        other.execute("SELECT id FROM customers_customer WHERE id = %s FOR UPDATE", [customer_id])
        yield
        other.commit()


def _worker_waits_on_lock() -> bool:
    """a worker's chunk is waiting on the locked customer"""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def _family(n: int) -> list[int]:
    people = [CustomerFactory(name=f"Swimmer {i}") for i in range(n)]
    for person in people:
        credits.add_credit(person, "30.00", date="2026-11-01")
    return [p.pk for p in people]


def test_a_killed_worker_loses_nothing_and_invoices_nobody_twice(worker_processes, manager, settings, monkeypatch):
    settings.RUNS_JOBS_PER_RUN = 1  # one job: only the stalled-job retry can finish the run after the kill
    monkeypatch.setenv("RUNS_STALLED_AFTER_SECONDS", "2")
    ids = _family(6)
    run = start_invoice_run(ids, LINES, issue_date="2026-12-01", by=manager, chunk_size=2)

    with _customer_locked(ids[2]):
        first = worker_processes()
        _wait_for(_worker_waits_on_lock)
        assert Chunk.objects.filter(run=run, done=True).count() == 1
        first.send_signal(signal.SIGKILL)
        first.wait()
    # The killed worker's half-done chunk rolled back with its connection; a new worker finds the stalled job.
    worker_processes()

    def finished():
        """the run finishes on the second worker"""
        return Run.objects.filter(pk=run.pk, status=Status.DONE).exists()

    _wait_for(finished, seconds=90)
    per_customer = dict(Invoice.objects.filter(run=run).values_list("customer").annotate(n=Count("id")))
    assert per_customer == dict.fromkeys(ids, 1)
    assert Invoice.objects.count() == 6
    # Auto-apply once: each £80 invoice took the customer's £30 once.
    assert CreditAssignment.objects.aggregate(total=Sum("amount"))["total"] == 6 * 30
    assert runs.progress_of(run.pk).succeeded == 6


def test_cancel_while_running_keeps_what_is_done_and_starts_nothing_more(worker_processes, manager, client):
    ids = _family(6)
    run = start_invoice_run(ids, LINES, issue_date="2026-12-01", by=manager, chunk_size=2)
    client.force_login(manager)

    with _customer_locked(ids[2]):
        worker = worker_processes()
        _wait_for(_worker_waits_on_lock)
        response = client.post(f"/billing/runs/{run.pk}/cancel/")
        assert response.status_code == 303
    # The chunk in hand finishes (what is done stays done); the third is never started.

    def second_chunk_done():
        """the chunk the worker held is done"""
        return Chunk.objects.filter(run=run, number=1, done=True).exists()

    _wait_for(second_chunk_done)
    time.sleep(1)  # room for a wrong third chunk to show up
    worker.send_signal(signal.SIGTERM)
    run.refresh_from_db()
    assert run.status == Status.CANCELLED and run.cancelled_by == manager
    assert sorted(Invoice.objects.values_list("customer_id", flat=True)) == ids[:3]  # chunks [0], [1, 2]
    assert not Chunk.objects.get(run=run, number=2).done
    page = client.get(f"/billing/runs/{run.pk}/").content.decode()
    assert "3 of 6 done" in page and "Cancelled" in page
