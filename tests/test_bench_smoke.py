"""`make bench` works end to end on a tiny data set: it builds its database, measures every row and writes the JSON.

Nothing is judged against a target here (a tiny data set on a busy test machine says nothing about
speed); the load test and the memory subprocesses are left out to keep this quick.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def test_importing_the_bench_package_does_nothing():
    before = dict(os.environ)
    import bench.runner  # noqa: F401

    assert dict(os.environ) == before


def test_the_bench_measures_every_row_on_a_tiny_data_set(tmp_path):
    database = settings.DATABASES["default"]
    suffix = re.sub(r"[^a-z0-9_]", "_", str(database["NAME"]).lower())[-30:]
    url = f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/sb_bench_smoke_{suffix}"
    output = tmp_path / "bench.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--size",
            "tiny",
            "--database-url",
            url,
            "--rebuild",
            "--drop",
            "--requests",
            "3",
            "--repeat",
            "1",
            "--skip-load",
            "--skip-memory",
            "--output",
            str(output),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = {row["measure"]: row for row in json.loads(output.read_text())["rows"]}
    expected = [
        "data set (built now)",
        "add_bulk_credits, 20 customers",
        "bulk credit POST, all matching a tag (20)",
        "invoice run (create_invoices + auto-apply), 20 customers",
        "Customers › View All, first page",
        "Billing › Credits, status + reason filter",
        "Customer Billing tab (30 invoices, 10 credits)",
        "Credit Assignments tab",
        "Assignments › Add panel (htmx)",
        "check_ledger after the run",
    ]
    missing = [name for name in expected if name not in rows]
    assert not missing, f"rows missing: {missing}; got {list(rows)}"
    assert rows["check_ledger after the run"]["value"] == "clean"
    assert all(row["verdict"] in {"met", "NOT MET", "info"} for row in rows.values())
    assert "| measure" in result.stdout and "Written to" in result.stdout
