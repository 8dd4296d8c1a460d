"""Issue 12's rows: the invoice run through the queue, beside the direct `create_invoices` call on the same data.

- Total time of an invoice run for 10,000 customers (auto-apply included) through Procrastinate with 1 real worker
  process, then 2, from the request's commit to the run's last chunk; the baseline is the direct call
  (billing.create_invoices in one transaction, rolled back). Target: 1 worker ≤ 1.5× direct; 2 workers faster than 1.
- How soon the bar first moves (the first chunk done) after the start: ≤ 2 s.
- While a run is going, Billing › Runs' progress region (what the bar polls) against Billing › Credits, requests
  taking turns: p95 no worse.
- The worker's peak memory (VmHWM of a fresh worker process) after a run for 10,000 and for 100,000 customers: flat.

Runs made here commit (that is what a worker sees); each is undone afterwards: its credit assignments deleted through
the ledger's triggers (so every credit's figures come back), then its invoices and lines, the run, its chunks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from .config import tag_for
from .fixtures import Fixtures
from .stats import Row, median, ms, percentile

ROOT = Path(__file__).resolve().parents[1]
LINES = [("Bench term fees", 1, "45.00")]
MAX_RATIO = 1.5
FIRST_PROGRESS_SECONDS = 2.0
MEMORY_GROWTH = 1.25  # "flat": 10× the customers may cost at most this much more peak memory


def _registered() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - interval '30 seconds'"
        )
        return cursor.fetchone()[0]


def _workers(n: int, url: str) -> list[subprocess.Popen]:
    """n worker processes, waiting for work as in production: started, registered and listening before a run starts."""
    env = {**os.environ, "DATABASE_URL": url}
    command = [sys.executable, "manage.py", "procrastinate", "worker"]
    before = _registered()
    started = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(n)
    ]
    deadline = time.monotonic() + 120
    while _registered() < before + n:
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.2)
    time.sleep(1)  # a worker registers just before it listens
    return started


def _stop(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.wait(timeout=60)


def _peak_rss_kib(worker: subprocess.Popen) -> int:
    status = Path(f"/proc/{worker.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))


def _chosen(tag: str):
    from customers.models import Customer

    return Customer.objects.filter(tags__contains=[tag])


def _direct(tag: str, by) -> float:
    from django.db import transaction

    from billing import services as billing

    started = time.perf_counter()
    with transaction.atomic():
        billing.create_invoices(_chosen(tag), LINES, by=by)
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed


def _undo(run_id: int) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM credits_creditassignment WHERE invoice_id IN (SELECT id FROM billing_invoice WHERE run_id = %s)",
            [run_id],
        )
        # The invoices go whole (lines, totals and all): their own triggers would only recompute what is deleted.
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "DELETE FROM billing_invoiceline WHERE invoice_id IN (SELECT id FROM billing_invoice WHERE run_id = %s)",
            [run_id],
        )
        cursor.execute("DELETE FROM billing_invoice WHERE run_id = %s", [run_id])
        cursor.execute("DELETE FROM runs_problem WHERE run_id = %s", [run_id])
        cursor.execute("DELETE FROM runs_chunk WHERE run_id = %s", [run_id])
        cursor.execute("DELETE FROM runs_run WHERE id = %s", [run_id])


def _queued(tag: str, by, *, watch=None) -> dict:
    """Start a run and wait for it to finish; `watch()` is called in the waiting loop (the page requests)."""
    from billing.invoice_run import start_invoice_run
    from runs.models import Chunk, Run, Status

    started = time.perf_counter()
    run = start_invoice_run(_chosen(tag), LINES, by=by)
    first = None
    while True:
        if watch is not None:
            watch(run.pk)
        else:
            time.sleep(0.05)
        if first is None and Chunk.objects.filter(run=run, done=True).exists():
            first = time.perf_counter() - started
        status = Run.objects.values_list("status", flat=True).get(pk=run.pk)
        if status != Status.QUEUED and status != Status.RUNNING:
            break
    total = time.perf_counter() - started
    made = run.total
    assert status == Status.DONE, f"the bench's run ended {status}"
    _undo(run.pk)
    return {"seconds": total, "first_progress": first or total, "customers": made}


def measure(fx: Fixtures, count: int, large: int, url: str, pages_client) -> list[Row]:
    from django.contrib.auth.models import User

    from . import writes

    manager = User.objects.get(pk=fx.manager_id)
    tag = fx.tags[count]
    rows: list[Row] = []

    direct = [_direct(tag, manager) for _ in range(2)]
    writes.vacuum()
    base = median(direct)

    workers = _workers(1, url)
    try:
        timings: dict[str, list[float]] = {"runs": [], "credits": []}

        def watch(run_id: int) -> None:
            for name, path, headers in (
                ("runs", f"/billing/runs/{run_id}/", {"HTTP_HX_REQUEST": "true"}),
                ("credits", "/billing/credits/?status=unassigned&reason=refund", {}),
            ):
                began = time.perf_counter()
                response = pages_client.get(path, **headers)
                assert response.status_code == 200, f"{path} answered {response.status_code}"
                timings[name].append(time.perf_counter() - began)

        one = _queued(tag, manager, watch=watch)
        writes.vacuum()
        one_plain = _queued(tag, manager)
        small_peak = _peak_rss_kib(workers[0])
        writes.vacuum()
    finally:
        _stop(workers)
    workers = _workers(2, url)
    try:
        two = _queued(tag, manager)
    finally:
        _stop(workers)
    writes.vacuum()

    value = one_plain["seconds"]
    rows.append(
        Row(
            f"invoice run through the queue, {count:,} customers, 1 worker",
            ms(value),
            baseline=f"{ms(base)} (direct create_invoices)",
            ratio=f"{value / base:.2f}×",
            target=f"≤ {MAX_RATIO:g}×",
            met=value / base <= MAX_RATIO,
            notes="from the commit of the request to the last chunk; auto-apply included",
            data={
                "seconds": value,
                "baseline_seconds": base,
                "baseline_runs": direct,
                "with_pages_seconds": one["seconds"],
            },
        )
    )
    rows.append(
        Row(
            f"invoice run through the queue, {count:,} customers, 2 workers",
            ms(two["seconds"]),
            baseline=f"{ms(value)} (1 worker)",
            ratio=f"{two['seconds'] / value:.2f}×",
            target="< 1×",
            met=two["seconds"] < value,
            data={"seconds": two["seconds"], "one_worker_seconds": value},
        )
    )
    first = max(one["first_progress"], one_plain["first_progress"], two["first_progress"])
    rows.append(
        Row(
            "invoice run: first progress after the start",
            ms(first),
            target=f"≤ {FIRST_PROGRESS_SECONDS:g} s",
            met=first <= FIRST_PROGRESS_SECONDS,
            notes="the slowest of the three runs",
            data={"seconds": [one["first_progress"], one_plain["first_progress"], two["first_progress"]]},
        )
    )
    runs_p95, credits_p95 = percentile(timings["runs"], 95), percentile(timings["credits"], 95)
    rows.append(
        Row(
            "Billing › Runs progress (htmx) while a run is going",
            f"p95 {ms(runs_p95)}",
            baseline=f"p95 {ms(credits_p95)} (Billing › Credits, taking turns)",
            ratio=f"{runs_p95 / credits_p95:.2f}×",
            target="≤ 1×",
            met=runs_p95 <= credits_p95,
            notes=f"{len(timings['runs'])} requests each",
            data={"runs_p95": runs_p95, "credits_p95": credits_p95, "requests": len(timings["runs"])},
        )
    )

    workers = _workers(1, url)
    try:
        _queued(tag_for(large), manager)
        large_peak = _peak_rss_kib(workers[0])
    finally:
        _stop(workers)
    writes.vacuum()
    growth = large_peak / small_peak
    rows.append(
        Row(
            f"worker peak memory, invoice run for {large:,} vs {count:,} customers",
            f"{large_peak / 1024:.0f} MiB",
            baseline=f"{small_peak / 1024:.0f} MiB",
            ratio=f"{growth:.2f}×",
            target=f"≤ {MEMORY_GROWTH:g}× (flat)",
            met=growth <= MEMORY_GROWTH,
            notes="VmHWM of a fresh worker process after the run",
            data={"small_kib": small_peak, "large_kib": large_peak},
        )
    )
    return rows
