"""Issue 14's speed, measured in the same run as its baselines (`python -m bench --only reports`).

- The Overview and the unapplied report's first page, each against Billing › Credits (the same filtered page the
  pages part measures), p95 against p95, their requests taking turns: within REPORT_MAX_RATIO.
- The CSV export of every credit (2,000,000 at full size) through the real view, read to the end, against
  PostgreSQL's own `COPY` of the same rows and columns read by psycopg: rows per second, at least
  EXPORT_MIN_RATE of COPY's. A bare `COPY credits_credit TO STDOUT` (no join, no labels) is reported beside it.
- Its memory: the peak resident size while streaming every credit against streaming a seventh of them (one
  reason): flat, within MEMORY_SLACK.
"""

from __future__ import annotations

import time
from pathlib import Path

from .config import Size
from .fixtures import Fixtures
from .pages import sample
from .stats import Row, mib, ms

REPORT_MAX_RATIO = 2.0
EXPORT_MIN_RATE = 0.25
MEMORY_SLACK = 4 * 1024 * 1024
CREDITS_PAGE = "/billing/credits/?status=unassigned&reason=refund"
EXPORT = "/billing/credits/export/"


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _stream(client, url: str) -> dict:
    """Read an export to the end; its time, bytes, rows and the most the process's resident size grew meanwhile."""
    started_rss = peak = _rss()
    started = time.perf_counter()
    response = client.get(url)
    assert response.status_code == 200 and response.streaming, url
    size = lines = 0
    for n, block in enumerate(response.streaming_content):
        size += len(block)
        lines += block.count(b"\n")
        if n % 16 == 0:
            peak = max(peak, _rss())
    response.close()
    return {
        "seconds": time.perf_counter() - started,
        "bytes": size,
        "rows": lines - 1,
        "rss_growth": max(peak, _rss()) - started_rss,
    }


def _python_peak(client, url: str) -> int:
    """tracemalloc's peak while an export is read to the end (a separate pass: tracing slows it down)."""
    import tracemalloc

    tracemalloc.start()
    try:
        response = client.get(url)
        for _ in response.streaming_content:
            pass
        response.close()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _copy(sql: str, params) -> dict:
    """PostgreSQL's COPY of a query, read by psycopg to the end (nothing kept)."""
    from django.db import connection

    started = time.perf_counter()
    size = lines = 0
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy:
            for data in copy:
                size += len(data)
                lines += 1
    return {"seconds": time.perf_counter() - started, "bytes": size, "rows": lines}


def _export_sql() -> tuple[str, tuple]:
    """The export view's own query (its columns, labels and order), compiled as it compiles it."""
    from django.db.models import F

    from credits.models import Credit
    from credits.views import EXPORT_COLUMNS

    names = {f"c{n}": value for n, (_, value) in enumerate(EXPORT_COLUMNS)}
    rows = (
        Credit.objects.order_by("-date", "-id")
        .annotate(**{k: F(v) if isinstance(v, str) else v for k, v in names.items()})
        .values_list(*names)
    )
    return rows.query.get_compiler("default").as_sql()


def measure(size: Size, fx: Fixtures, requests: int) -> list[Row]:
    from django.test import Client

    from .pages import _user

    manager = Client()
    manager.force_login(_user(fx.manager_id))
    targets = {
        "credits": (manager, CREDITS_PAGE),
        "overview": (manager, "/overview/"),
        "unapplied": (manager, "/billing/unapplied-credits/?days=30"),
    }
    results = sample(targets, requests)
    credits = results["credits"]
    rows = []
    for key, label in (("overview", "Overview"), ("unapplied", "Unapplied credits, first page (30 days)")):
        result = results[key]
        ratio = result["p95"] / credits["p95"]
        rows.append(
            Row(
                label,
                f"p50 {ms(result['p50'])} / p95 {ms(result['p95'])}",
                baseline=f"Billing › Credits p95 {ms(credits['p95'])}",
                ratio=f"{ratio:.2f}× Billing › Credits (p95)",
                target=f"≤ {REPORT_MAX_RATIO:g}× Billing › Credits (p95)",
                met=ratio <= REPORT_MAX_RATIO,
                notes=f"{result['requests']} requests, {result['queries']} queries; {result['url']}; "
                f"Billing › Credits: {credits['url']}",
                data={"page": result, "credits": credits, "ratio": round(ratio, 2)},
            )
        )

    from credits.models import Credit

    total = Credit.objects.order_by().count()
    sql, params = _export_sql()
    bare = _copy("SELECT * FROM credits_credit", ())
    copy = _copy(sql, params)
    export = _stream(manager, EXPORT)
    part = _stream(manager, f"{EXPORT}?reason=refund")
    full = _stream(manager, EXPORT)
    export = min(export, full, key=lambda r: r["seconds"])
    copy = min(copy, _copy(sql, params), key=lambda r: r["seconds"])
    assert export["rows"] == total == copy["rows"], (export["rows"], total, copy["rows"])
    rate, copy_rate, bare_rate = (r["rows"] / r["seconds"] for r in (export, copy, bare))
    share = rate / copy_rate
    rows.append(
        Row(
            f"CSV export of {total:,} credits (streamed, read to the end)",
            f"{export['seconds']:.2f} s, {rate:,.0f} rows/s, {mib(export['bytes'])}",
            baseline=f"COPY of the same rows and columns {copy['seconds']:.2f} s ({copy_rate:,.0f} rows/s); "
            f"bare COPY credits_credit {bare['seconds']:.2f} s ({bare_rate:,.0f} rows/s)",
            ratio=f"{share:.2f}× COPY's rate ({rate / bare_rate:.2f}× the bare table's)",
            target=f"≥ {EXPORT_MIN_RATE:g}× COPY's rate",
            met=share >= EXPORT_MIN_RATE,
            notes="best of two runs of each; the view's query run as COPY … TO STDOUT (FORMAT csv), 64 KiB blocks",
            data={"export": export, "copy": copy, "bare_copy": bare, "share": round(share, 3)},
        )
    )
    growth = max(export["rss_growth"], full["rss_growth"])
    python = {"part": _python_peak(manager, f"{EXPORT}?reason=refund"), "full": _python_peak(manager, EXPORT)}
    rows.append(
        Row(
            f"CSV export memory: {part['rows']:,} → {total:,} credits",
            f"RSS +{mib(part['rss_growth'])} → +{mib(growth)}; Python peak {mib(python['part'])} → {mib(python['full'])}",
            ratio=f"{total / max(part['rows'], 1):.1f}× rows",
            target=f"flat: ≤ +{mib(MEMORY_SLACK)} more",
            met=growth <= part["rss_growth"] + MEMORY_SLACK and python["full"] <= python["part"] + MEMORY_SLACK,
            notes="peak resident size of the benchmark's process while it reads the stream, above where it started; "
            "tracemalloc's peak in a separate pass",
            data={"part": part, "full": full, "python_peak": python},
        )
    )
    return rows
