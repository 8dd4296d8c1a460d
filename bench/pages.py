"""Page latency: the real views through the whole middleware stack, in process, DEBUG off.

A django.test.Client logged in with force_login sends each request; that leaves out the socket
and the WSGI server (the load test under gunicorn covers those) and keeps the timings to what
the application does. Each page is fetched a few times to warm up, then `requests` times.
"""

from __future__ import annotations

import time

from .config import ADMIN_MIN_SPEEDUP, PAGE_P95_MAX, PER_PAGE, Size
from .fixtures import Fixtures
from .stats import Row, ms, percentile

HTMX = {"HTTP_HX_REQUEST": "true"}
WARMUP = 5


def sample(client, url: str, requests: int, headers: dict | None = None) -> dict:
    """p50 / p95 seconds of `requests` GETs, and the number of queries one of them makes."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    headers = headers or {}
    for _ in range(WARMUP):
        response = client.get(url, **headers)
        assert response.status_code == 200, f"{url} answered {response.status_code}"
    reset_queries()  # each request clears the log (request_started), so start it empty
    with CaptureQueriesContext(connection) as captured:
        client.get(url, **headers)
    queries = len(captured)  # now: the next request empties the log this reads from
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url, **headers)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, f"{url} answered {response.status_code}"
    return {
        "url": url,
        "p50": percentile(times, 50),
        "p95": percentile(times, 95),
        "max": max(times),
        "queries": queries,
        "requests": requests,
    }


def _p(result: dict) -> str:
    return f"p50 {ms(result['p50'])} / p95 {ms(result['p95'])}"


def _page_row(
    label: str, result: dict, admin: dict | None = None, *, vs_admin: bool = False, judged: bool = True
) -> Row:
    data = {"page": result}
    baseline, ratio, met = "–", "–", result["p95"] <= PAGE_P95_MAX
    target = f"p95 ≤ {ms(PAGE_P95_MAX)}"
    if not judged:
        met, target = None, "– (reference)"
    if admin is not None:
        data["admin"] = admin
        speedup = admin["p95"] / result["p95"]
        baseline, ratio = f"admin {_p(admin)}", f"{speedup:.1f}× faster"
        if vs_admin:
            target += f", ≥ {ADMIN_MIN_SPEEDUP:g}× faster than admin"
            met = met and speedup >= ADMIN_MIN_SPEEDUP
    notes = f"{result['requests']} requests, {result['queries']} queries; {result['url']}"
    if admin is not None:
        notes += f"; admin {admin['queries']} queries: {admin['url']}"
    return Row(label, _p(result), baseline=baseline, ratio=ratio, target=target, met=met, notes=notes, data=data)


def deep_page_url(page: int) -> str:
    """The customer list's page `page` as the Next link of the page before gives it: ?page=N&after=<id of its last row>."""
    from customers.models import Customer

    last_before = (
        Customer.objects.active().order_by("name", "pk").values_list("pk", flat=True)[(page - 1) * PER_PAGE - 1]
    )
    return f"/customers/?page={page}&after={last_before}"


def search_text() -> str:
    """A full name from the middle of the table, as someone would type it."""
    from customers.models import Customer

    count = Customer.objects.order_by().values("pk").count()
    customer = Customer.objects.filter(pk__gte=max(1, count // 2)).order_by("pk").first()
    return customer.name


def measure(size: Size, fx: Fixtures, requests: int) -> list[Row]:
    from django.test import Client

    from accounts.views import PER_PAGE as VIEW_PER_PAGE

    assert VIEW_PER_PAGE == PER_PAGE
    manager, admin = Client(), Client()
    manager.force_login(_user(fx.manager_id))
    admin.force_login(_user(fx.admin_id))
    query = search_text()
    deep = size.deep_page
    deep_url = deep_page_url(deep)
    admin_deep = (deep - 1) * PER_PAGE // 100 + 1  # the admin shows 100 a page: the page holding the same rows
    rows = [
        _page_row(
            "Customers › View All, first page",
            sample(manager, "/customers/", requests),
            sample(admin, "/admin/customers/customer/", requests),
            vs_admin=True,
        ),
        _page_row(
            f"Customers › View All, page {deep:,} (Next links)",
            sample(manager, deep_url, requests),
            sample(admin, f"/admin/customers/customer/?p={admin_deep}", requests),
            vs_admin=True,
        ),
        _page_row(
            f"Customers › View All, ?page={deep:,} typed (OFFSET)",
            sample(manager, f"/customers/?page={deep}", requests),
            judged=False,
        ),
        _page_row(
            f"Customers › View All, search “{query}”",
            sample(manager, f"/customers/?q={_q(query)}", requests),
            sample(admin, f"/admin/customers/customer/?q={_q(query)}", requests),
            vs_admin=True,
        ),
        _page_row(
            "Billing › Credits, status + reason filter",
            sample(manager, "/billing/credits/?status=unassigned&reason=refund", requests),
            sample(admin, "/admin/credits/credit/?status__exact=unassigned&reason__exact=refund", requests),
        ),
        _page_row(
            f"Customer Billing tab ({size.busy[0]} invoices, {size.busy[1]} credits)",
            sample(manager, f"/customers/{fx.busy_customer_id}/billing/", requests),
        ),
        _page_row(
            "Credit Assignments tab", sample(manager, f"/billing/credits/{fx.split_credit_id}/assignments/", requests)
        ),
        _page_row(
            "Assignments › Add panel (htmx)",
            sample(manager, f"/billing/credits/{fx.split_credit_id}/assignments/add/", requests, HTMX),
        ),
    ]
    return rows


def _q(text: str) -> str:
    from urllib.parse import quote_plus

    return quote_plus(text)


def _user(pk: int):
    from django.contrib.auth.models import User

    return User.objects.get(pk=pk)
