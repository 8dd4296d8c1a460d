"""Peak memory of a bulk write, in a fresh process: `python -m bench.memory bulk_credits|invoice_run TAG USER_ID`.

The process imports everything and runs the write once for a single customer (so that what
stays loaded is not counted), then resets the kernel's peak-RSS mark and runs the write for
every customer with the tag, rolled back. It prints, as JSON, how far the resident set's peak
rose above where it was and the peak of Python's own allocations (tracemalloc).
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

from .config import MEMORY_MAX_GROWTH, MEMORY_SLACK, Size
from .fixtures import Fixtures
from .stats import Row, mib

ROOT = Path(__file__).resolve().parent.parent
KINDS = {"bulk_credits": "add_bulk_credits", "invoice_run": "create_invoices"}


def _status(field: str) -> int:
    """A VmRSS / VmHWM figure of this process, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _child(kind: str, tag: str, user_id: int) -> dict:
    import django

    django.setup()
    from django.contrib.auth.models import User

    from customers.models import Customer

    from . import writes

    user = User.objects.get(pk=user_id)
    make = {"bulk_credits": writes.bulk_credits_service, "invoice_run": writes.invoice_run_service}[kind]
    one = Customer.objects.filter(tags__contains=[tag]).order_by("pk").values_list("pk", flat=True).first()
    single = f"bench-memory-single-{one}"
    # Warm-up on a one-customer selection: imports, connection, prepared caches.
    from django.db import connection, transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE customers_customer SET tags = array_append(tags, %s) WHERE id = %s", [single, one])
        writes.rolled_back(make(single, user))
        transaction.set_rollback(True)
    gc.collect()
    before = _status("VmRSS")
    peak_reset = _reset_peak()
    tracemalloc.start()
    seconds, outcome = writes.rolled_back(make(tag, user))
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak = _status("VmHWM")
    return {
        "rss_before": before,
        "rss_peak": peak,
        "rss_growth": max(0, peak - before) if peak_reset else None,
        "traced_peak": traced_peak,
        "seconds": seconds,
        "outcome": str(outcome),
    }


def run_child(kind: str, tag: str, user_id: int) -> dict:
    """Run one measure in a fresh interpreter with this process's environment (the bench database)."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.memory", kind, tag, str(user_id)],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if result.returncode != 0:
        raise RuntimeError(f"bench.memory {kind} failed: {result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure(size: Size, fx: Fixtures) -> list[Row]:
    rows = []
    for kind, user_id, (small, large) in (
        ("bulk_credits", fx.manager_id, size.memory_customers),
        ("invoice_run", fx.staff_id, size.memory_customers),
    ):
        low, high = run_child(kind, fx.tags[small], user_id), run_child(kind, fx.tags[large], user_id)
        growth = [r["rss_growth"] if r["rss_growth"] is not None else r["traced_peak"] for r in (low, high)]
        limit = MEMORY_MAX_GROWTH * growth[0] + MEMORY_SLACK
        traced_ratio = high["traced_peak"] / max(1, low["traced_peak"])
        rows.append(
            Row(
                f"peak memory, {KINDS[kind]}: {small:,} → {large:,} customers",
                f"RSS +{mib(growth[0])} → +{mib(growth[1])}; Python peak {mib(low['traced_peak'])} → {mib(high['traced_peak'])}",
                ratio=f"{large / small:.0f}× customers, {growth[1] / max(1, growth[0]):.1f}× RSS, {traced_ratio:.1f}× Python",
                target=f"far slower than N: ≤ {MEMORY_MAX_GROWTH:g}× (+{mib(MEMORY_SLACK)})",
                met=growth[1] <= limit,
                notes=f"fresh process each, rolled back; {low['seconds']:.2f} s → {high['seconds']:.2f} s",
                data={"small": low, "large": high, "customers": [small, large]},
            )
        )
    return rows


if __name__ == "__main__":
    kind, tag, user_id = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(json.dumps(_child(kind, tag, user_id)))
