"""The benchmark database: made once with seed_demo's fast path, then reused while its size matches.

What it holds is written into the database's own comment (sizes, seed, build time), so a later
run can tell whether to reuse it without counting millions of rows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from .config import FIXTURES_VERSION, OWN_PREFIXES, Size

SEED = 2024


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _maintenance_url(url: str) -> str:
    """The same server, its `postgres` database (to create, drop and describe the bench database)."""
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def _check_ours(name: str) -> None:
    if not name.startswith(OWN_PREFIXES):
        raise SystemExit(
            f"Refusing to build {name!r}: bench databases must be named {' or '.join(p + '*' for p in OWN_PREFIXES)}."
        )


def recorded(url: str) -> dict | None:
    """What the database's comment says it holds, or None if it does not exist (or is not a bench database)."""
    with psycopg.connect(_maintenance_url(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [database_name(url)]
        ).fetchone()
    if row is None:
        return None
    try:
        info = json.loads(row[0] or "")
    except ValueError:
        return {}
    return info if isinstance(info, dict) else {}


def matches(info: dict | None, size: Size) -> bool:
    return bool(info) and (info.get("customers"), info.get("invoices"), info.get("credits"), info.get("seed")) == (
        size.customers,
        size.invoices,
        size.credits,
        SEED,
    )


def create_empty(url: str) -> None:
    """Drop (if present) and create the bench database; only names the benchmark owns."""
    name = database_name(url)
    _check_ours(name)
    with psycopg.connect(_maintenance_url(url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop(url: str) -> None:
    name = database_name(url)
    _check_ours(name)
    with psycopg.connect(_maintenance_url(url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def record(url: str, info: dict) -> None:
    with psycopg.connect(_maintenance_url(url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(database_name(url)), sql.Literal(json.dumps(info))
            )
        )


def migrate() -> float:
    """Apply any migration the database lacks (all of them on a fresh one); returns the seconds it took."""
    from django.core.management import call_command

    started = time.monotonic()
    call_command("migrate", interactive=False, verbosity=0)
    return time.monotonic() - started


class _Lines:
    """seed_demo's output, line by line, without the logins' passwords (the benchmark logs in by itself)."""

    def __init__(self, report: Callable[[str], None]) -> None:
        self.report = report

    def write(self, text: str) -> None:
        for line in text.rstrip("\n").splitlines():
            if line.strip() and "Log in" not in line and "password" not in line:
                self.report(line)

    def flush(self) -> None:
        pass


def load(size: Size, report: Callable[[str], None]) -> float:
    """`seed_demo --customers ... --invoices ... --credits ...`: the fast path; returns the seconds it took."""
    from django.core.management import call_command

    started = time.monotonic()
    call_command(
        "seed_demo",
        customers=size.customers,
        invoices=size.invoices,
        credits=size.credits,
        seed=SEED,
        stdout=_Lines(report),
    )
    return time.monotonic() - started


def describe_build(size: Size, seconds: dict[str, float]) -> dict:
    return {
        "bench": 1,
        "customers": size.customers,
        "invoices": size.invoices,
        "credits": size.credits,
        "seed": SEED,
        "fixtures": FIXTURES_VERSION,
        "built_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "build_seconds": {name: round(value, 1) for name, value in seconds.items()},
    }
