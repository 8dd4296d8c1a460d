"""Throughput under gunicorn (2 sync workers, DEBUG off, persistent database connections) with wrk on loopback.

Three loads, each for `duration` seconds after a short warm-up: the sign-in page (no session, no
query: the ceiling of Django, gunicorn and wrk on this machine, shown as each row's baseline),
the Customers list as a logged-in manager, and Add Credit form POSTs (session + CSRF cookie and header), each for another
customer with its own idempotency key. The credits those POSTs create are deleted afterwards,
with their history rows, so every run starts from the same data.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from .config import LOAD_MIN_RPS, LOAD_P95_MAX, Size
from .fixtures import Fixtures
from .stats import Row, ms

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKERS = 2
WARMUP_SECONDS = 3
LOGIN = "/accounts/login/"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """gunicorn serving the app on a free loopback port, with the bench database and production-like settings."""

    def __init__(self, secret_key: str) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DJANGO_DEBUG": "false",
            "DJANGO_HTTPS": "false",
            "DJANGO_SECRET_KEY": secret_key,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            # A worker keeps its database connection between requests, as any production deployment does.
            "DJANGO_CONN_MAX_AGE": "60",
        }
        self.log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "billing_site.wsgi:application",
                "--workers",
                str(WORKERS),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                "--timeout",
                "120",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with {self.process.returncode}: {Path(self.log.name).read_text()[-2000:]}"
                )
            try:
                with urllib.request.urlopen(f"{self.base}{LOGIN}", timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not answer in time")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        os.unlink(self.log.name)


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _wrk(url: str, script: str, *, seconds: float, connections: int, threads: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    try:
        result = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "10s",
                "-s",
                lua.name,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        )
    finally:
        os.unlink(lua.name)
    line = next(line for line in result.stdout.splitlines() if line.startswith("BENCH "))
    stats = json.loads(line.removeprefix("BENCH "))
    seconds_run = stats["duration_us"] / 1e6
    errors = stats["status_errors"] + stats["connect"] + stats["read"] + stats["write"] + stats["timeout"]
    return {
        **stats,
        "seconds": seconds_run,
        "rps": stats["requests"] / seconds_run,
        "p95": stats["p95_us"] / 1e6,
        "p50": stats["p50_us"] / 1e6,
        "errors": errors,
    }


def _row(label: str, stats: dict, connections: int, ceiling: dict) -> Row:
    met = stats["rps"] >= LOAD_MIN_RPS and stats["p95"] <= LOAD_P95_MAX and stats["errors"] == 0
    return Row(
        label,
        f"{stats['rps']:.0f} req/s, p95 {ms(stats['p95'])}, {stats['errors']} errors",
        baseline=f"sign-in page {ceiling['rps']:.0f} req/s",
        ratio=f"{stats['rps'] / ceiling['rps']:.2f}×",
        target=f"≥ {LOAD_MIN_RPS:g} req/s, p95 ≤ {ms(LOAD_P95_MAX)}, 0 errors",
        met=met,
        notes=f"wrk {connections} connections for {stats['seconds']:.0f} s: {stats['requests']:,} requests, p50 {ms(stats['p50'])}; "
        f"gunicorn {WORKERS} sync workers",
        data={**stats, "ceiling": ceiling},
    )


def _check(
    base: str, path: str, cookie: str, *, data: bytes | None = None, headers: dict | None = None, expect=(200,)
) -> None:
    """One request before the load, so a misconfiguration shows as a clear message rather than as errors."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(f"{base}{path}", data=data, headers={"Cookie": cookie, **(headers or {})})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        status = opener.open(request, timeout=30).status
    except urllib.error.HTTPError as error:
        status = error.code
    if status not in expect:
        raise RuntimeError(f"{path} answered {status} under gunicorn, not {expect}")


def cleanup_credits(note: str) -> int:
    """Delete the credits a load run created, with their history events and contexts (no trigger writes more history)."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if cursor.fetchone()[0]:
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_gone ON COMMIT DROP AS SELECT id FROM credits_credit WHERE note = %s", [note]
        )
        cursor.execute("SELECT count(*) FROM credits_creditassignment WHERE credit_id IN (SELECT id FROM bench_gone)")
        assert cursor.fetchone()[0] == 0, "a load-test credit was assigned; refusing to delete it"
        cursor.execute("DELETE FROM credits_credit WHERE id IN (SELECT id FROM bench_gone)")
        deleted = cursor.rowcount
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_gone_contexts ON COMMIT DROP AS "
            "SELECT DISTINCT pgh_context_id AS id FROM credits_creditevent WHERE pgh_obj_id IN (SELECT id FROM bench_gone)"
        )
        cursor.execute("DELETE FROM credits_creditevent WHERE pgh_obj_id IN (SELECT id FROM bench_gone)")
        cursor.execute("DELETE FROM pghistory_context WHERE id IN (SELECT id FROM bench_gone_contexts)")
    return deleted


def measure(size: Size, fx: Fixtures, *, secret_key: str, seconds: float, connections: int, threads: int) -> list[Row]:
    from django.middleware.csrf import _get_new_csrf_string
    from django.test import Client

    from billing_site.ledger import today

    client = Client()
    client.force_login(_user(fx.manager_id))
    session = client.cookies["sessionid"].value
    csrf = _get_new_csrf_string()
    get_cookie = f"sessionid={session}"
    post_cookie = f"sessionid={session}; csrftoken={csrf}"
    run = f"bench-load-{uuid.uuid4().hex[:12]}"
    first = 1
    per_thread = max(1, size.customers // threads)
    post_script = (
        (HERE / "post_credit.lua")
        .read_text()
        .replace("__COOKIE__", post_cookie)
        .replace("__CSRF__", csrf)
        .replace("__FIRST__", str(first))
        .replace("__PER_THREAD__", str(per_thread))
        .replace("__DATE__", today().isoformat())
        .replace("__RUN__", run)
    )
    get_script = (HERE / "get_page.lua").read_text().replace("__COOKIE__", get_cookie)
    server = Gunicorn(secret_key)
    rows = []
    try:
        server.wait_ready()
        _check(server.base, "/customers/", get_cookie)
        _check(
            server.base,
            "/billing/add-credit/",
            post_cookie,
            data=f"customer=1&amount=oops&idempotency_key={run}-check".encode(),
            headers={"X-CSRFToken": csrf, "Content-Type": "application/x-www-form-urlencoded"},
            expect=(422,),
        )
        # The ceiling of this stack on this machine: the sign-in page, which reads no session and no table.
        ceiling_script = (HERE / "get_page.lua").read_text().replace("__COOKIE__", "")
        _wrk(server.base + LOGIN, ceiling_script, seconds=WARMUP_SECONDS, connections=connections, threads=threads)
        ceiling = _wrk(server.base + LOGIN, ceiling_script, seconds=seconds, connections=connections, threads=threads)
        for label, path, script in [
            ("Throughput: Customers › View All (GET)", "/customers/", get_script),
            ("Throughput: Add Credit (POST, creates a credit)", "/billing/add-credit/", post_script),
        ]:
            warm_script = script.replace(run, f"{run}-warm") if script is post_script else script
            _wrk(server.base + path, warm_script, seconds=WARMUP_SECONDS, connections=connections, threads=threads)
            stats = _wrk(server.base + path, script, seconds=seconds, connections=connections, threads=threads)
            rows.append(_row(label, stats, connections, ceiling))
    finally:
        server.stop()
        cleaned = cleanup_credits(run) + cleanup_credits(f"{run}-warm")
        client.logout()
    if len(rows) == 2:
        rows[1].notes += f"; {cleaned:,} credits created, then deleted"
    return rows


def _user(pk: int):
    from django.contrib.auth.models import User

    return User.objects.get(pk=pk)
