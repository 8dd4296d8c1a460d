"""Documents (issue 13): PDFs beside the same customer's Billing tab, and statement runs through real workers.

- A credit note PDF and a statement PDF of the busy customer (300 invoices, 100 credits at full size) take turns with
  that customer's Billing tab in the same run: within 5× and 20× of the tab's p50.
- A statement run (a PDF and an email each) to an SMTP server in this process (aiosmtpd), worked by 1 and then by 2
  `manage.py procrastinate worker` processes: statements per second, from the start of the run until the last email
  is sent; 2 workers must be faster than 1. Then the workers' peak memory (VmHWM) for N and for 10× N customers: flat.
The run's emails and the run itself are deleted afterwards.
"""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .config import Size
from .fixtures import Fixtures
from .stats import Row, mib, ms

ROOT = Path(__file__).resolve().parent.parent
CREDIT_NOTE_MAX = 5
STATEMENT_MAX = 20
MEMORY_FLAT = 1.2  # peak RSS for 10× the customers at most this many times the peak for N


def run_sizes(size: Size) -> tuple[int, int]:
    """Customers of the statement run, and of the larger one for memory: 1,000 and 10,000 (fewer on small data)."""
    small = min(1_000, max(10, size.customers // 20))
    return small, small * 10


def measure(size: Size, fx: Fixtures, requests: int, *, memory: bool) -> list[Row]:
    rows = pdf_rows(fx, max(3, min(requests, 20)))
    rows += statement_run_rows(size, fx, memory=memory)
    return rows


def pdf_rows(fx: Fixtures, requests: int) -> list[Row]:
    from django.test import Client

    from billing_site.ledger import today
    from credits.models import Credit

    from .pages import _user, sample

    client = Client()
    client.force_login(_user(fx.manager_id))
    credit = Credit.objects.filter(pk=fx.split_credit_id).values_list("pk", flat=True).get()
    start = today() - datetime.timedelta(days=3650)
    results = sample(
        {
            "billing_tab": (client, f"/customers/{fx.busy_customer_id}/billing/"),
            "credit_note": (client, f"/billing/credits/{credit}/pdf/"),
            "statement": (client, f"/billing/statements/{fx.busy_customer_id}/pdf/?start={start}&end={today()}"),
        },
        requests,
    )
    tab = results["billing_tab"]

    def row(label: str, name: str, limit: int) -> Row:
        result = results[name]
        ratio = result["p50"] / tab["p50"]
        return Row(
            label,
            f"p50 {ms(result['p50'])} / p95 {ms(result['p95'])}",
            baseline=f"the customer's Billing tab p50 {ms(tab['p50'])}",
            ratio=f"{ratio:.1f}× the Billing tab",
            target=f"≤ {limit}× the Billing tab (p50)",
            met=ratio <= limit,
            notes=f"{requests} requests, {result['queries']} queries; {result['url']}",
            data={"pdf": result, "billing_tab": tab, "times_tab": round(ratio, 2)},
        )

    return [
        row("Credit note PDF", "credit_note", CREDIT_NOTE_MAX),
        row("Statement PDF of the busy customer (all their invoices and credits)", "statement", STATEMENT_MAX),
    ]


class _Inbox:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"


def statement_run_rows(size: Size, fx: Fixtures, *, memory: bool) -> list[Row]:
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = _Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        n, big = run_sizes(size)
        one = _statement_run(fx, n, workers=1, port=port)
        two = _statement_run(fx, n, workers=2, port=port)
        rows = [
            Row(
                f"Statement run, {n:,} customers (PDF + email), 1 worker",
                f"{one['rate']:.1f} statements/s",
                notes=f"{one['seconds']:.1f} s; {one['sent']:,} sent, {one['failed']:,} failed; worker peak RSS {mib(one['rss'])}",
                data=one,
            ),
            Row(
                f"Statement run, {n:,} customers (PDF + email), 2 workers",
                f"{two['rate']:.1f} statements/s",
                baseline=f"1 worker {one['rate']:.1f}/s",
                ratio=f"{two['rate'] / one['rate']:.2f}×",
                target="faster than 1 worker",
                met=two["rate"] > one["rate"],
                notes=f"{two['seconds']:.1f} s; {two['sent']:,} sent, {two['failed']:,} failed",
                data=two,
            ),
        ]
        if memory:
            large = _statement_run(fx, big, workers=1, port=port)
            growth = large["rss"] / one["rss"]
            rows.append(
                Row(
                    f"statement run worker peak memory: {n:,} → {big:,} customers",
                    f"{mib(one['rss'])} → {mib(large['rss'])}",
                    ratio=f"{big // n}× customers, {growth:.2f}× RSS",
                    target=f"flat: ≤ {MEMORY_FLAT}×",
                    met=growth <= MEMORY_FLAT,
                    notes=f"{big:,} customers in {large['seconds']:.0f} s ({large['rate']:.1f}/s)",
                    data={"small": one, "large": large},
                )
            )
        return rows
    finally:
        server.stop()


def _statement_run(fx: Fixtures, n: int, *, workers: int, port: int) -> dict:
    from django.contrib.auth.models import User
    from django.db import connection

    from customers.models import Customer
    from documents.models import Email, EmailStatus
    from documents.runs import start_statement_run
    from documents.statements import default_period
    from runs.models import Run

    env = {**os.environ, "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "manage.py", "procrastinate", "worker", "--concurrency", "1"]
    processes = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(workers)
    ]
    try:
        _wait(lambda: _workers_up() >= workers, 60, "the workers to start")
        ids = list(Customer.objects.exclude(email="").order_by("pk").values_list("pk", flat=True)[:n])
        start, end = default_period()
        began = time.monotonic()
        run = start_statement_run(
            Customer.objects.filter(pk__in=ids), start, end, by=User.objects.get(pk=fx.manager_id)
        )
        done = Email.objects.filter(run=run, status__in=[EmailStatus.SENT, EmailStatus.FAILED])
        _wait(lambda: Run.objects.get(pk=run.pk).finished and done.count() >= _queued(run), 3600, "the run")
        seconds = time.monotonic() - began
        rss = max(_peak_rss(process.pid) for process in processes)
        sent = Email.objects.filter(run=run, status=EmailStatus.SENT).count()
        failed = Email.objects.filter(run=run, status=EmailStatus.FAILED).count()
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
    Email.objects.filter(run=run).delete()
    Run.objects.filter(pk=run.pk).delete()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) documents_email")
    return {"customers": n, "workers": workers, "seconds": seconds, "rate": n / seconds, "rss": rss,
            "sent": sent, "failed": failed}  # fmt: skip


def _queued(run) -> int:
    from documents.models import Email

    return Email.objects.filter(run=run).count()


def _workers_up() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - interval '10 seconds'"
        )
        return cursor.fetchone()[0]


def _peak_rss(pid: int) -> int:
    """The process's peak resident set (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def _wait(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise TimeoutError(f"timed out waiting for {what}")
