"""`python -m bench`: set up the benchmark database, measure everything in one run, print and save the table."""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import sys
import time
from pathlib import Path

from . import database
from .config import DEFAULT_NAME, DEFAULT_SERVER, FIXTURES_VERSION, SIZES, Size
from .stats import Row

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--size",
        choices=sorted(SIZES),
        default=os.environ.get("BENCH_SIZE") or "full",
        help="full: 1,000,000 customers / 5,000,000 invoices / 2,000,000 credits; small: a tenth; tiny: a smoke test "
        "(env BENCH_SIZE)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL") or "",
        help=f"the bench database (env BENCH_DATABASE_URL; default {DEFAULT_SERVER}/{DEFAULT_NAME}[_SIZE])",
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="build the data again even if a bench database of this size exists"
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=int(os.environ.get("BENCH_REQUESTS") or 60),
        help="requests per page for p50/p95 (at least 50 for the record; default 60)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=int(os.environ.get("BENCH_REPEAT") or 3),
        help="runs of each bulk write and its baseline (median; default 3)",
    )
    parser.add_argument(
        "--invoice-repeat",
        type=int,
        default=int(os.environ.get("BENCH_INVOICE_REPEAT") or 1),
        help="runs of the invoice run and its baseline (each takes tens of seconds at full size; default 1)",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=float(os.environ.get("BENCH_DURATION") or 30),
        help="seconds of each wrk load (env BENCH_DURATION; default 30)",
    )
    parser.add_argument(
        "--connections", type=int, default=int(os.environ.get("BENCH_CONNECTIONS") or 8), help="wrk connections"
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated parts to run: writes, runs, pages, documents, load, memory, reports (default: all)",
    )
    parser.add_argument("--skip-load", action="store_true", help="no gunicorn/wrk throughput")
    parser.add_argument("--skip-memory", action="store_true", help="no peak-memory subprocesses")
    parser.add_argument(
        "--check-ledger",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run check_ledger at the end (default on)",
    )
    parser.add_argument(
        "--drop", action="store_true", help="drop the bench database at the end (its build time is kept in the JSON)"
    )
    parser.add_argument("--output", default=str(RESULTS / "latest.json"), help="where to write the JSON")
    return parser.parse_args(argv)


def bench_url(args: argparse.Namespace, size: Size) -> str:
    if args.database_url:
        return args.database_url
    return f"{DEFAULT_SERVER}/{DEFAULT_NAME}" + ("" if size.name == "full" else f"_{size.name}")


def configure(url: str) -> str:
    """Point Django at the bench database with DEBUG off, before it is imported; returns the secret key gunicorn shares."""
    secret_key = os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(48)
    os.environ.update(
        {
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "billing_site.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_HTTPS": "false",
            "DJANGO_SECRET_KEY": secret_key,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,testserver",
            "DJANGO_ALLOW_ASYNC_UNSAFE": "true",
        }
    )
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    return secret_key


def say(text: str) -> None:
    print(text, flush=True)


def prepare(url: str, size: Size, rebuild: bool) -> tuple[dict, list[Row]]:
    """Reuse the bench database if it holds this size, else build it; returns what it holds and the setup rows."""
    info = database.recorded(url)
    name = database.database_name(url)
    if info is not None and database.matches(info, size) and not rebuild:
        say(
            f"Reusing the bench database {name}: built {info.get('built_at')} in {info.get('build_seconds', {}).get('total', '?')} s "
            f"({size.customers:,} customers, {size.invoices:,} invoices, {size.credits:,} credits). --rebuild builds it again."
        )
        migrate_seconds = database.migrate()
        fixtures_seconds = _fixtures_time(size)
        info = {**info, "reused": True}
        rows = [
            Row(
                "data set (reused)",
                f"built in {info.get('build_seconds', {}).get('total', '?')} s",
                notes=f"{name}, built {info.get('built_at')}; this run: migrate {migrate_seconds:.1f} s, fixtures {fixtures_seconds:.1f} s",
                data=info,
            )
        ]
        return info, rows
    say(
        f"Building the bench database {name}: {size.customers:,} customers, {size.invoices:,} invoices, {size.credits:,} credits."
    )
    database.create_empty(url)
    from django.db import connections

    connections.close_all()
    seconds = {"migrate": database.migrate()}
    say(f"  migrations: {seconds['migrate']:.1f} s")
    seconds["load"] = database.load(size, say)
    seconds["fixtures"] = _fixtures_time(size)
    say(f"  fixtures (tags, a busy customer, a split credit): {seconds['fixtures']:.1f} s")
    seconds["total"] = sum(seconds.values())
    info = {**database.describe_build(size, seconds), "fixtures": FIXTURES_VERSION}
    database.record(url, info)
    say(f"Built in {seconds['total']:.1f} s.")
    rows = [
        Row(
            "data set (built now)",
            f"{seconds['total']:.0f} s",
            notes=f"{name}: migrate {seconds['migrate']:.0f} s, seed_demo fast path {seconds['load']:.0f} s, "
            f"fixtures {seconds['fixtures']:.0f} s",
            data={**info, "reused": False},
        )
    ]
    return {**info, "reused": False}, rows


def _fixtures_time(size: Size) -> float:
    from . import fixtures

    started = time.monotonic()
    fixtures.ensure(size)
    return time.monotonic() - started


def collectstatic() -> None:
    """DEBUG off serves hashed static names from the manifest, so it must exist before any page renders."""
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)


def check_ledger() -> Row:
    from django.core.management import CommandError, call_command

    started = time.monotonic()
    try:
        call_command("check_ledger", stdout=open(os.devnull, "w"))
        clean = True
    except CommandError:
        clean = False
    seconds = time.monotonic() - started
    return Row(
        "check_ledger after the run",
        "clean" if clean else "MISMATCHES",
        target="clean",
        met=clean,
        notes=f"{seconds:.1f} s over every invoice and credit",
    )


def machine() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        shared_buffers = cursor.fetchone()[0]
    memory = next(
        (
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(memory / 1024 / 1024),
        "postgresql": pg,
        "shared_buffers": shared_buffers,
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
    }


def render(rows: list[Row]) -> str:
    headers = ["measure", "baseline", "value", "ratio", "target", "verdict"]
    cells = [[r.measure, r.baseline, r.value, r.ratio, r.target, r.verdict] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]

    def line(values: list[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(c) for c in cells]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    size = SIZES[args.size]
    url = bench_url(args, size)
    secret_key = configure(url)
    started = time.monotonic()
    info, rows = prepare(url, size, args.rebuild)
    collectstatic()
    from . import fixtures, load, memory, pages, writes

    fx = fixtures.ensure(size)
    about = machine()
    say(
        f"Machine: {about['cores']} cores, {about['memory_gib']} GiB, PostgreSQL {about['postgresql']} "
        f"(shared_buffers {about['shared_buffers']}), Python {about['python']}; load average {about['load_average_at_start'][0]:.1f}."
    )
    say(
        "Latency: in-process django.test.Client (force_login, DEBUG off, the whole middleware stack); "
        "throughput: gunicorn over loopback with wrk."
    )
    parts = set(filter(None, args.only.split(","))) or {
        "writes",
        "runs",
        "pages",
        "documents",
        "load",
        "memory",
        "reports",
    }
    n = size.bulk_customers
    if "writes" in parts:
        say(f"Bulk writes for {n:,} customers ({args.repeat} runs each, rolled back)…")
        cleared = writes.vacuum()
        say(f"  VACUUM of the written tables: {cleared:.1f} s")
        rows.append(writes.measure_bulk_credits(fx, n, args.repeat))
        from django.test import Client

        client = Client()
        client.force_login(pages._user(fx.manager_id))
        rows.append(writes.measure_bulk_post(client, fx, n, args.repeat))
        client.logout()
        writes.vacuum()
        rows.append(writes.measure_invoice_run(fx, n, args.invoice_repeat))
        writes.vacuum()
    if "runs" in parts:
        say(f"Invoice runs through the queue for {n:,} customers (real worker processes)…")
        from django.test import Client

        from . import runs

        client = Client()
        client.force_login(pages._user(fx.manager_id))
        rows += runs.measure(fx, n, size.memory_customers[1], url, client)
    if "pages" in parts:
        say(f"Pages ({args.requests} requests each)…")
        rows += pages.measure(size, fx, args.requests)
    if "documents" in parts:
        from . import documents

        say("Documents: PDFs beside the Billing tab, statement runs through real workers…")
        rows += documents.measure(size, fx, args.requests, memory=not args.skip_memory)
    if "reports" in parts:
        from . import reports

        say(f"Overview, unapplied report and CSV export ({args.requests} requests each)…")
        rows += reports.measure(size, fx, args.requests)
    if "load" not in parts:
        pass
    elif args.skip_load:
        say("Throughput skipped (--skip-load).")
    elif not load.wrk_available():
        rows.append(
            Row("Throughput (gunicorn + wrk)", "not measured: wrk is not installed (apt-get install wrk)", met=False)
        )
    else:
        say(f"Throughput under gunicorn, {args.duration:g} s per load…")
        rows += load.measure(
            size, fx, secret_key=secret_key, seconds=args.duration, connections=args.connections, threads=2
        )
    if "memory" not in parts:
        pass
    elif args.skip_memory:
        say("Peak memory skipped (--skip-memory).")
    else:
        say("Peak memory, each in a fresh process…")
        rows += memory.measure(size, fx)
    if "memory" in parts and not args.skip_memory:
        writes.vacuum()
    if args.check_ledger:
        rows.append(check_ledger())
    elapsed = time.monotonic() - started
    say("")
    say(render(rows))
    unmet = [r.measure for r in rows if r.met is False]
    say("")
    say(
        f"{len([r for r in rows if r.met])} targets met, {len(unmet)} not met"
        + (": " + "; ".join(unmet) if unmet else "")
        + f". Whole run {elapsed:.0f} s."
    )
    result = {
        "size": {"name": size.name, "customers": size.customers, "invoices": size.invoices, "credits": size.credits},
        "database": database.database_name(url),
        "data_set": info,
        "machine": about,
        "method": {
            "latency": "in-process django.test.Client, force_login, DEBUG off",
            "throughput": "gunicorn 2 sync workers + wrk",
            "requests": args.requests,
            "repeat": args.repeat,
            "duration": args.duration,
            "connections": args.connections,
        },
        "finished_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "seconds": round(elapsed, 1),
        "rows": [r.as_json() for r in rows],
    }
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    say(f"Written to {output}.")
    if args.drop:
        from django.db import connections

        connections.close_all()
        database.drop(url)
        say(f"Dropped {database.database_name(url)}.")
    return 0
