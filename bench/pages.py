"""Page latency: the real views through the whole middleware stack, in process, DEBUG off.

A django.test.Client logged in with force_login sends each request; that leaves out the socket
and the WSGI server (the load test under gunicorn covers those) and keeps the timings to what
the application does. Each page is fetched a few times to warm up, then `requests` times.

Each page is judged by ratios measured in this run (bench.config says why): against the Django admin showing the
same rows, and against the sign-in page, the cheapest page of this stack. A page's requests take turns with its
baselines' (page, admin, sign-in, page, admin, …), so whatever else the machine is doing weighs on all of them alike.
"""

from __future__ import annotations

import time

from .config import ADMIN_MIN_SPEEDUP, PAGE_MAX_SIGN_INS, PER_PAGE, SIGN_IN, Size
from .fixtures import Fixtures
from .stats import Row, ms, percentile

HTMX = {"HTTP_HX_REQUEST": "true"}
WARMUP = 5


def sample(targets: dict[str, tuple], requests: int) -> dict[str, dict]:
    """p50 / p95 seconds of `requests` GETs of each target, taking turns, and the number of queries one of them makes.

    `targets` maps a name to (client, url) or (client, url, headers).
    """
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    def get(client, url: str, headers: dict | None = None):
        response = client.get(url, **(headers or {}))
        assert response.status_code == 200, f"{url} answered {response.status_code}"

    queries = {}
    for name, target in targets.items():
        for _ in range(WARMUP):
            get(*target)
        reset_queries()  # each request clears the log (request_started), so start it empty
        with CaptureQueriesContext(connection) as captured:
            get(*target)
        queries[name] = len(captured)  # now: the next request empties the log this reads from
    times: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(requests):
        for name, target in targets.items():
            started = time.perf_counter()
            get(*target)
            times[name].append(time.perf_counter() - started)
    return {
        name: {
            "url": targets[name][1],
            "p50": percentile(times[name], 50),
            "p95": percentile(times[name], 95),
            "max": max(times[name]),
            "queries": queries[name],
            "requests": requests,
        }
        for name in targets
    }


def _p(result: dict) -> str:
    return f"p50 {ms(result['p50'])} / p95 {ms(result['p95'])}"


def _page_row(label: str, results: dict[str, dict], *, ceiling: str | None = None) -> Row:
    """A page beside its baselines: × the sign-in page (p50) for every page, × faster than the admin (p95) where it
    has one. `ceiling` names the page's entry in PAGE_MAX_SIGN_INS; without one the row is a reference, not judged."""
    result, floor, admin = results["page"], results["sign_in"], results.get("admin")
    sign_ins = result["p50"] / floor["p50"]
    data = {**results, "sign_ins": round(sign_ins, 2)}
    baseline = f"sign-in page p50 {ms(floor['p50'])}"
    ratios = [f"{sign_ins:.1f}× sign-in page"]
    targets, met = [], None
    if admin is not None:
        speedup = admin["p95"] / result["p95"]
        data["admin_speedup"] = round(speedup, 2)
        baseline = f"admin {_p(admin)}; {baseline}"
        ratios.insert(0, f"{speedup:.1f}× faster than admin")
    if ceiling is not None:
        limit = PAGE_MAX_SIGN_INS[ceiling]
        data["max_sign_ins"] = limit
        targets.append(f"≤ {limit:g}× sign-in page")
        met = sign_ins <= limit
        if admin is not None:
            targets.insert(0, f"≥ {ADMIN_MIN_SPEEDUP:g}× faster than admin")
            met = met and speedup >= ADMIN_MIN_SPEEDUP
    notes = f"{result['requests']} requests, {result['queries']} queries; {result['url']}"
    if admin is not None:
        notes += f"; admin {admin['queries']} queries: {admin['url']}"
    return Row(
        label,
        _p(result),
        baseline=baseline,
        ratio=", ".join(ratios),
        target=", ".join(targets) or "– (reference)",
        met=met,
        notes=notes,
        data=data,
    )


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
    manager, admin, anonymous = Client(), Client(), Client()
    manager.force_login(_user(fx.manager_id))
    admin.force_login(_user(fx.admin_id))
    # The yardstick: the sign-in page reads no session and no table, so what it costs is the stack itself.
    sign_in = (anonymous, SIGN_IN)
    query = search_text()
    deep = size.deep_page
    deep_url = deep_page_url(deep)
    admin_deep = (deep - 1) * PER_PAGE // 100 + 1  # the admin shows 100 a page: the page holding the same rows

    def page(label: str, url: str, admin_url: str | None = None, *, ceiling: str | None, htmx: bool = False) -> Row:
        targets = {"page": (manager, url, HTMX if htmx else None), "sign_in": sign_in}
        if admin_url is not None:
            targets["admin"] = (admin, admin_url)
        return _page_row(label, sample(targets, requests), ceiling=ceiling)

    return [
        page("Customers › View All, first page", "/customers/", "/admin/customers/customer/", ceiling="customers"),
        page(
            f"Customers › View All, page {deep:,} (Next links)",
            deep_url,
            f"/admin/customers/customer/?p={admin_deep}",
            ceiling="customers_deep",
        ),
        page(f"Customers › View All, ?page={deep:,} typed (OFFSET)", f"/customers/?page={deep}", ceiling=None),
        page(
            f"Customers › View All, search “{query}”",
            f"/customers/?q={_q(query)}",
            f"/admin/customers/customer/?q={_q(query)}",
            ceiling="customers_search",
        ),
        page(
            "Billing › Credits, status + reason filter",
            "/billing/credits/?status=unassigned&reason=refund",
            "/admin/credits/credit/?status__exact=unassigned&reason__exact=refund",
            ceiling="credits",
        ),
        page(
            f"Customer Billing tab ({size.busy[0]} invoices, {size.busy[1]} credits)",
            f"/customers/{fx.busy_customer_id}/billing/",
            ceiling="billing_tab",
        ),
        page(
            "Credit Assignments tab",
            f"/billing/credits/{fx.split_credit_id}/assignments/",
            ceiling="assignments_tab",
        ),
        page(
            "Assignments › Add panel (htmx)",
            f"/billing/credits/{fx.split_credit_id}/assignments/add/",
            ceiling="assign_panel",
            htmx=True,
        ),
    ]


def _q(text: str) -> str:
    from urllib.parse import quote_plus

    return quote_plus(text)


def _user(pk: int):
    from django.contrib.auth.models import User

    return User.objects.get(pk=pk)
