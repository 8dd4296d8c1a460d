"""The app as it runs in production, for the tests that need a real server: gunicorn on a free loopback
port with DEBUG off, against the pytest test database, and a tiny cookie-keeping HTTP client.

Only loopback addresses are ever contacted; every wait is bounded.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


class QuickPBKDF2(PBKDF2PasswordHasher):
    """A real PBKDF2 hash that gunicorn's default hashers verify, with few iterations so tests stay fast."""

    iterations = 1000


def server_password(user, password: str) -> None:
    """Give `user` a password the production settings can check (the tests themselves hash with MD5)."""
    user.password = make_password(password, hasher=QuickPBKDF2())
    user.save(update_fields=["password"])


def test_database_url() -> str:
    settings = connection.settings_dict
    return f"postgres://{settings['USER']}@{settings['HOST'] or HOST}:{settings['PORT'] or 5432}/{settings['NAME']}"


def production_env(**extra: str) -> dict[str, str]:
    """DEBUG off, a fresh secret key, the test database; HTTPS off, because loopback serves plain HTTP."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST"))}
    env.update(
        DJANGO_DEBUG="false",
        DJANGO_HTTPS="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS=HOST,
        DATABASE_URL=test_database_url(),
        DJANGO_SETTINGS_MODULE="billing_site.settings",
    )
    env.update(extra)
    return env


def collectstatic() -> None:
    """Production settings serve hashed static files from a manifest: build it, unless it is newer than every source."""
    manifest = ROOT / "staticfiles" / "staticfiles.json"
    sources = [path for path in (ROOT / "static").rglob("*") if path.is_file()]
    if manifest.exists() and all(path.stat().st_mtime < manifest.stat().st_mtime for path in sources):
        return
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=production_env(),
        check=True,
        timeout=120,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Gunicorn:
    """gunicorn serving the app on a free loopback port; `stop()` ends it (and its workers)."""

    def __init__(self, *, workers: int = 2, threads: int = 8, conn_max_age: int = 60) -> None:
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="sb-security-gunicorn-", suffix=".log", delete=False)
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "billing_site.wsgi:application",
            "--bind",
            f"{HOST}:{self.port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            "gthread",
            "--timeout",
            "30",
            "--graceful-timeout",
            "3",
            "--backlog",
            "256",
            "--no-control-socket",  # one shared ~/.gunicorn/gunicorn.ctl would tangle parallel servers
        ]
        env = production_env(DJANGO_CONN_MAX_AGE=str(conn_max_age))
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_until_up()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def wait_until_up(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.output()}")
            try:
                status = request("GET", self.url, "/accounts/login/").status
            except OSError:
                time.sleep(0.1)
                continue
            if status == 200:
                return
            raise RuntimeError(f"gunicorn answered {status}:\n{self.output()}")
        raise RuntimeError(f"gunicorn did not answer within {timeout}s:\n{self.output()}")

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def worker_with_db_port(self, client_port: int) -> int | None:
        """The worker whose PostgreSQL connection leaves from `client_port` (from pg_stat_activity)."""
        inodes = _socket_inodes_by_local_port()
        inode = inodes.get(client_port)
        for pid in self.workers():
            if inode is not None and inode in _socket_inodes_of(pid):
                return pid
        return None

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-6000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def _socket_inodes_by_local_port() -> dict[int, int]:
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            parts = line.split()
            found[int(parts[1].rsplit(":", 1)[1], 16)] = int(parts[9])
    return found


def _socket_inodes_of(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if match := re.fullmatch(r"socket:\[(\d+)\]", target):
            inodes.add(int(match.group(1)))
    return inodes


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str
    set_cookies: list[str] = field(default_factory=list)


def request(
    method: str,
    base: str,
    path: str,
    *,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> Response:
    """One HTTP request on its own connection (so threads never share one); redirects are not followed."""
    parsed = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=timeout)
    try:
        conn.request(method, path, body=body.encode() if body is not None else None, headers=headers or {})
        raw = conn.getresponse()
        data = raw.read().decode(errors="replace")
        return Response(
            raw.status, {k.lower(): v for k, v in raw.getheaders()}, data, raw.headers.get_all("Set-Cookie") or []
        )
    finally:
        conn.close()


class Browser:
    """A logged-in person: keeps the session and CSRF cookies and sends the CSRF token with every POST."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies: dict[str, str] = {}

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Host": HOST}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return {**headers, **(extra or {})}

    def _keep(self, response: Response) -> Response:
        for cookie in response.set_cookies:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response

    def get(self, path: str, **kwargs) -> Response:
        return self._keep(request("GET", self.base, path, headers=self._headers(), **kwargs))

    def post(self, path: str, data: dict | list, **kwargs) -> Response:
        body = urllib.parse.urlencode(data, doseq=True)
        headers = self._headers(
            {"Content-Type": "application/x-www-form-urlencoded", "X-CSRFToken": self.cookies.get("csrftoken", "")}
        )
        return self._keep(request("POST", self.base, path, body=body, headers=headers, **kwargs))

    def log_in(self, username: str, password: str) -> Browser:
        self.get("/accounts/login/")
        response = self.post("/accounts/login/", {"username": username, "password": password})
        assert response.status == 302 and "sessionid" in self.cookies, (response.status, response.body[:500])
        return self
