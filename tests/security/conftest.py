"""What the hardening suite shares: a small studio with every kind of object, logged-in clients, and a
snapshot of the whole database that any write would change."""

from __future__ import annotations

import html
import types

import pytest
from axes.models import AccessAttempt
from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone

from billing import services as billing
from billing.invoice_run import start_invoice_run
from credits import roles
from credits import services as credits
from documents.models import Email
from tests.factories import CustomerFactory, UserFactory, credit_for, invoice_for

# Every table a request could write to: the three apps (with their history tables), the create keys,
# history's context, who may log in (users, groups, permissions) and axes' login records (Locked logins'
# Unlock deletes them). Sessions are left out: a refused form may still leave a message in the session,
# which is not the ledger.
SNAPSHOT_APPS = (
    "customers",
    "billing",
    "credits",
    "runs",
    "idempotency",
    "pghistory",
    "auth",
    "admin",
    "axes",
    "documents",
)

MONEY_TOTALS = """
SELECT
    (SELECT COALESCE(SUM(amount), 0) FROM credits_credit),
    (SELECT COALESCE(SUM(assigned), 0) FROM credits_credit),
    (SELECT COALESCE(SUM(amount), 0) FROM credits_creditassignment),
    (SELECT COALESCE(SUM(total), 0) FROM credits_creditbatch),
    (SELECT COALESCE(SUM(total), 0) FROM billing_invoice),
    (SELECT COALESCE(SUM(paid), 0) FROM billing_invoice),
    (SELECT COALESCE(SUM(credited), 0) FROM billing_invoice),
    (SELECT COALESCE(SUM(amount), 0) FROM billing_payment)
"""
MONEY_NAMES = [
    "credit amount",
    "credit assigned",
    "assignments",
    "batch totals",
    "invoice total",
    "invoice paid",
    "invoice credited",
    "payments",
]


def snapshot_tables() -> list[str]:
    tables = {
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_label in SNAPSHOT_APPS and model._meta.managed and not model._meta.proxy
    }
    return sorted(tables)


def db_snapshot() -> dict[str, object]:
    """Row count and a digest of every row of every app table, plus the money totals by name.

    Equal snapshots mean the database is exactly as it was: no row added, removed or changed.
    """
    result: dict[str, object] = {}
    with connection.cursor() as cursor:
        parts = [
            f"SELECT '{table}', count(*), md5(COALESCE(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"{table}\" t"
            for table in snapshot_tables()
        ]
        cursor.execute(" UNION ALL ".join(parts))
        for table, rows, digest in cursor.fetchall():
            result[table] = (rows, digest)
        cursor.execute(MONEY_TOTALS)
        result["money"] = dict(zip(MONEY_NAMES, cursor.fetchone(), strict=True))
    return result


def assert_unchanged(before: dict[str, object]) -> None:
    after = db_snapshot()
    changed = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
    assert not changed, f"the database changed: {changed}"


def page_text(response) -> str:
    """A response's body as a person reads it (entities decoded)."""
    return html.unescape(response.content.decode())


def build_world() -> types.SimpleNamespace:
    """Two customers with every kind of object: open, paid and void invoices, credits (one deleted, one assigned),
    a bulk batch across both customers, and the cast of users (one for each role, and one with no role)."""
    w = types.SimpleNamespace()
    w.staff = UserFactory(username="sam.staff", groups=[roles.BILLING_STAFF])
    w.manager = UserFactory(username="maria.manager", groups=[roles.MANAGERS])
    w.superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    w.nobody = UserFactory(username="nora.nobody")
    w.amy = CustomerFactory(name="Amy Parent", email="amy@example.com", phone="07700 900001", tags=["Ballet Tue 4pm"])
    w.ben = CustomerFactory(name="Ben Other", email="ben@example.com", phone="07700 900002", tags=["Swim Sat 10am"])
    w.open = invoice_for(w.amy, "100.00")
    w.open2 = invoice_for(w.amy, "80.00")
    w.paid = invoice_for(w.amy, "30.00")
    billing.record_payment(w.paid, "30.00")
    w.void = invoice_for(w.amy, "45.00")
    billing.void_invoice(w.void)
    w.ben_open = invoice_for(w.ben, "50.00")
    w.credit = credit_for(w.amy, "250.00", note="Cancelled classes")
    w.assignment = credits.assign_credit(w.credit, {w.open: "20.00"})[0]
    w.ben_credit = credit_for(w.ben, "40.00")
    w.ben_assignment = credits.assign_credit(w.ben_credit, {w.ben_open: "5.00"})[0]
    w.gone = credit_for(w.amy, "15.00")
    credits.delete_credit(w.gone)
    w.batch = credits.add_bulk_credits([w.amy, w.ben], "10.00", reason="goodwill", auto_apply=False)
    w.batch_amy = w.batch.credits.get(customer=w.amy)
    w.batch_ben = w.batch.credits.get(customer=w.ben)
    # A credit with £40.00 left after one refund, and one already reversed: for Refund and Reverse.
    w.refunded_credit = credit_for(w.amy, "60.00", note="Leaving at end of term")
    w.refund = credits.refund_credit(w.refunded_credit, "20.00", method="cash")
    w.reversed_refund = credits.refund_credit(w.refunded_credit, "1.00")
    credits.reverse_refund(w.reversed_refund, reason="Typed the wrong amount")
    # A queued invoice run, for Billing › Runs and Cancel.
    w.run = start_invoice_run([w.amy.pk, w.ben.pk], [("Spring term", 1, "90.00")], by=w.manager)
    # A login locked after five wrong passwords, for Locked logins' Unlock.
    w.locked = AccessAttempt.objects.create(
        username="locked.out", ip_address="127.0.0.1", user_agent="test", failures_since_start=5,
        get_data="", post_data="", http_accept="", path_info="/accounts/login/", attempt_time=timezone.now(),
    )  # fmt: skip
    # An email the mail server refused, for the Outbox's Retry.
    w.failed_email = Email.objects.create(
        to="amy@example.com", subject="Invoice", body="Dear Amy", message_id="<failed@studio.example>",
        customer=w.amy, attachment="invoice", invoice=w.open, status="failed", error="550 No such mailbox", attempts=1,
        attachment_name="invoice.pdf", attachment_pdf=b"%PDF-1.7 (a stand-in)",
    )  # fmt: skip
    return w


def reload(w: types.SimpleNamespace) -> types.SimpleNamespace:
    """Fresh copies of the world's rows (a deleted one keeps its last known state, as a stale page would)."""
    fresh = types.SimpleNamespace()
    for name, obj in vars(w).items():
        fresh.__dict__[name] = type(obj).objects.filter(pk=obj.pk).first() or obj
    return fresh


@pytest.fixture(scope="module")
def shared_world(django_db_setup, django_db_blocker):
    """The world, built once per module inside a transaction that is rolled back at the end of the module;
    each test runs in a savepoint within it (pytest-django's `db`), so tests cannot see each other's writes."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def world(shared_world, db):
    return reload(shared_world)
