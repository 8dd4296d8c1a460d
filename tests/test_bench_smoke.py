"""`make bench` works end to end on a tiny data set: it builds its database, measures every row and writes the JSON.

Whether targets are met is not asserted here (a tiny data set on a busy test machine says nothing about speed), but
every row must carry a verdict, and every page row its ratios and the verdict the ratio rules give; the load test and
the memory subprocesses are left out to keep this quick.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from bench.config import ADMIN_MIN_SPEEDUP, PAGE_MAX_SIGN_INS

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

    # Every page is measured beside the sign-in page of the same run, and judged by ratios only.
    pages = {name: row for name, row in rows.items() if "sign_in" in row["data"]}
    assert len(pages) == 8, list(pages)
    for name, row in pages.items():
        data = row["data"]
        page, sign_in = data["page"], data["sign_in"]
        assert page["requests"] == sign_in["requests"] == 3 and sign_in["url"] == "/accounts/login/", name
        assert 0 < sign_in["p50"] and 0 < page["p50"] <= page["p95"], name
        assert data["sign_ins"] == round(page["p50"] / sign_in["p50"], 2), name
        assert f"{page['p50'] / sign_in['p50']:.1f}× sign-in page" in row["ratio"], name
        assert "sign-in page p50" in row["baseline"] and "ms" not in row["target"], name
        met = None
        if "max_sign_ins" in data:
            assert data["max_sign_ins"] in PAGE_MAX_SIGN_INS.values(), name
            met = page["p50"] / sign_in["p50"] <= data["max_sign_ins"]
        if "admin" in data:
            speedup = data["admin"]["p95"] / page["p95"]
            assert f"{speedup:.1f}× faster than admin" in row["ratio"], name
            if met is not None:
                met = met and speedup >= ADMIN_MIN_SPEEDUP
        assert row["verdict"] == {True: "met", False: "NOT MET", None: "info"}[met], name
    judged = [name for name, row in pages.items() if row["verdict"] != "info"]
    assert len(judged) == 7 and sum("admin" in pages[name]["data"] for name in judged) == 4, judged
