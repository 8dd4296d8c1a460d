"""Many staff at once, over real HTTP: gunicorn (2 workers × 8 threads, DEBUG off) against the test database.

50 requests assign from one credit to several invoices while 50 others pay one invoice, all released
together. Nothing may be over-assigned or over-settled, every success must be in the ledger (no lost
update), no request may fail with a 500, and check_ledger must be clean afterwards. The same form sent
from two tabs at once must create one credit (and one batch, one customer, one invoice, one payment).

`make soak` sends SOAK_REQUESTS=500 of each instead of 50.
"""

from __future__ import annotations

import html
import io
import os
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from billing.models import Invoice, Payment
from credits import roles
from credits.models import Credit, CreditAssignment, CreditBatch
from customers.models import Customer
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, UserFactory, credit_for, invoice_for
from tests.ledger import assert_ledger_clean, keep_staff_groups  # noqa: F401 - fixture
from tests.security.server import Browser, Gunicorn, Response, collectstatic, server_password

REQUESTS = int(os.environ.get("SOAK_REQUESTS", "50"))
# What a refused request may say: the credit or the invoice has run out (checked in Python, or by the database's rules).
ASSIGN_REFUSALS = (
    "left to assign",
    "has only",
    "is already paid.",
    "That is more than the credit has left to assign.",
    "Someone else changed this",
)
PAY_REFUSALS = (
    "outstanding on",
    "This invoice is already paid.",
    "That is more than the invoice has outstanding.",
    "Someone else changed this",
)


@pytest.fixture(scope="module")
def server(django_db_setup):
    collectstatic()
    running = Gunicorn(workers=2, threads=8)
    yield running
    running.stop()


MAX_IN_FLIGHT = 200  # the soak's 1,000 requests keep 200 in flight rather than open 1,000 sockets at once


def all_at_once(jobs) -> list[Response | Exception]:
    """Run the jobs on their own threads, released together once every thread is ready; each job's response or exception."""
    threads = min(len(jobs), MAX_IN_FLIGHT)
    ready, go = threading.Barrier(threads + 1), threading.Event()

    def run(job):
        if not go.is_set():
            ready.wait(timeout=60)
            go.wait(timeout=60)
        try:
            return job()
        except Exception as error:  # noqa: BLE001 - judged by the test
            return error

    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(run, job) for job in jobs]
        ready.wait(timeout=60)
        go.set()
        return [future.result(timeout=300) for future in futures]


def errors_in(response: Response) -> list[str]:
    """The messages a refused form shows (next to a field or above the form)."""
    return [html.unescape(text) for text in re.findall(r'<p class="error"[^>]*>(.*?)</p>', response.body, re.S)] or [
        response.body[-3000:]
    ]


def person(server, *groups: str) -> tuple[object, Browser]:
    user = UserFactory(groups=list(groups))
    server_password(user, PASSWORD)
    return user, Browser(server.url).log_in(user.username, PASSWORD)


@pytest.mark.usefixtures("keep_staff_groups")  # before transactional_db, so it tidies up after the flush
def test_staff_racing_over_http_never_over_assign_lose_an_update_or_see_a_500(server, transactional_db):
    amy, ben = CustomerFactory(), CustomerFactory()
    invoices = [invoice_for(amy, "40.00") for _ in range(5)]
    credit = credit_for(amy, "100.00")
    bill = invoice_for(ben, "100.00")
    sessions = [person(server, roles.BILLING_STAFF)[1] for _ in range(4)]
    today = timezone.localdate().isoformat()

    def assign(i: int):
        return lambda: sessions[i % 4].post(
            f"/billing/credits/{credit.pk}/assignments/add/", {f"invoice-{invoices[i % 5].pk}": "10.00"}
        )

    def pay(i: int):
        data = {
            "invoice": bill.pk,
            "amount": "7.00",
            "date": today,
            "method": "card",
            "idempotency_key": uuid.uuid4().hex,
        }
        return lambda: sessions[i % 4].post("/billing/payments/new/", data)

    results = all_at_once([assign(i) for i in range(REQUESTS)] + [pay(i) for i in range(REQUESTS)])
    assigns, pays = results[:REQUESTS], results[REQUESTS:]

    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors[:3]
    statuses = sorted({r.status for r in results})
    assert statuses == [303, 422], f"{statuses}\n{server.output()}"
    for response in assigns:
        assert response.status == 303 or any(text in response.body for text in ASSIGN_REFUSALS), errors_in(response)
    for response in pays:
        assert response.status == 303 or any(text in response.body for text in PAY_REFUSALS), errors_in(response)

    credit.refresh_from_db()
    bill.refresh_from_db()
    assigned_ok = sum(1 for r in assigns if r.status == 303)
    paid_ok = sum(1 for r in pays if r.status == 303)
    # Every success is in the ledger, nothing more: and as many succeeded as the money allowed.
    assert credit.assigned == Decimal("10.00") * assigned_ok == Decimal("100.00")
    assert CreditAssignment.objects.filter(credit=credit).count() == assigned_ok
    for invoice in Invoice.objects.filter(pk__in=[i.pk for i in invoices]):
        assert invoice.credited <= invoice.total
    assert (
        bill.paid == Payment.objects.filter(invoice=bill).aggregate(s=Sum("amount"))["s"] == Decimal("7.00") * paid_ok
    )
    assert paid_ok == 14 and bill.outstanding == Decimal("2.00")
    assert_ledger_clean()
    out = io.StringIO()
    call_command("check_ledger", stdout=out)
    assert "Ledger OK" in out.getvalue()


@pytest.mark.usefixtures("keep_staff_groups")
def test_the_same_add_credit_form_from_two_tabs_at_once_makes_one_credit(server, transactional_db):
    amy = CustomerFactory()
    _, tab = person(server, roles.BILLING_STAFF)
    form = {
        "customer": amy.pk,
        "date": timezone.localdate().isoformat(),
        "amount": "25.00",
        "reason": "goodwill",
        "note": "Two tabs",
        "auto_apply": "on",
        "idempotency_key": uuid.uuid4().hex,
    }
    results = all_at_once([lambda: tab.post("/billing/add-credit/", form) for _ in range(2)])
    assert [r.status for r in results] == [303, 303], results
    assert results[0].headers["location"] == results[1].headers["location"]
    results = [tab.post("/billing/add-credit/", form) for _ in range(5)]  # and pressed Create five more times
    assert {r.status for r in results} == {303}
    assert Credit.objects.filter(customer=amy).count() == 1


@pytest.mark.usefixtures("keep_staff_groups")
def test_the_same_bulk_credit_form_from_two_tabs_at_once_makes_one_batch(server, transactional_db):
    people = CustomerFactory.create_batch(3)
    _, tab = person(server, roles.MANAGERS)
    form = {
        "customer": [p.pk for p in people],
        "date": timezone.localdate().isoformat(),
        "amount": "5.00",
        "reason": "goodwill",
        "note": "Snow day",
        "auto_apply": "on",
        "idempotency_key": uuid.uuid4().hex,
        "expected_count": "3",
    }
    results = all_at_once([lambda: tab.post("/billing/credits/bulk/", form) for _ in range(2)])
    assert [r.status for r in results] == [303, 303], results
    results = [tab.post("/billing/credits/bulk/", form) for _ in range(5)]
    assert {r.status for r in results} == {303}
    assert CreditBatch.objects.count() == 1
    assert Credit.objects.count() == 3


@pytest.mark.usefixtures("keep_staff_groups")
def test_the_same_add_customer_form_from_two_tabs_at_once_adds_one_customer(server, transactional_db):
    """The hole: the key lived in the session, which both requests read before either wrote it."""
    _, tab = person(server, "Billing staff")
    form = {
        "name": "Beth Parent",
        "email": "beth@example.com",
        "phone": "07700 900123",
        "tags": "Ballet Tue 4pm",
        "notes": "",
        "idempotency_key": uuid.uuid4().hex,
    }
    results = all_at_once([lambda: tab.post("/customers/add/", form) for _ in range(2)])
    assert [r.status for r in results] == [303, 303], results
    assert results[0].headers["location"] == results[1].headers["location"]
    results = [tab.post("/customers/add/", form) for _ in range(3)]
    assert {r.status for r in results} == {303}
    assert Customer.objects.filter(name="Beth Parent").count() == 1


@pytest.mark.usefixtures("keep_staff_groups")
def test_the_same_invoice_and_payment_forms_from_two_tabs_at_once_make_one_each(server, transactional_db):
    amy = CustomerFactory()
    _, tab = person(server, "Billing staff")
    invoice_form = {
        "customer": amy.pk,
        "issue_date": timezone.localdate().isoformat(),
        "due_date": timezone.localdate().isoformat(),
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-description": "Ballet — autumn term",
        "lines-0-quantity": "1",
        "lines-0-unit_price": "120.00",
        "idempotency_key": uuid.uuid4().hex,
    }
    results = all_at_once([lambda: tab.post("/billing/invoices/new/", invoice_form) for _ in range(2)])
    assert [r.status for r in results] == [303, 303], results
    invoice = Invoice.objects.get(customer=amy)
    payment_form = {
        "invoice": invoice.pk,
        "amount": "40.00",
        "date": timezone.localdate().isoformat(),
        "method": "card",
        "idempotency_key": uuid.uuid4().hex,
    }
    results = all_at_once([lambda: tab.post("/billing/payments/new/", payment_form) for _ in range(2)])
    assert [r.status for r in results] == [303, 303], results
    assert list(Payment.objects.values_list("invoice_id", "amount")) == [(invoice.pk, Decimal("40.00"))]
