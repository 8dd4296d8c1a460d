"""The Overview's figures equal what the ledger's rows say, recomputed here independently, on random data written
through the services and by raw SQL; and compacting the summaries changes no figure."""

from __future__ import annotations

import datetime
import random
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from billing import services as billing
from billing.models import Invoice
from credits import services as credits
from credits.models import Credit, CreditAssignment, Reason, Refund
from reports import figures, services
from reports.models import AssignedSummary, CreditSummary, InvoiceSummary
from tests.factories import CustomerFactory, credit_for, invoice_for

pytestmark = pytest.mark.django_db
ZERO = Decimal("0.00")


def month_start(day: datetime.date, back: int = 0) -> datetime.date:
    index = day.year * 12 + day.month - 1 - back
    return datetime.date(index // 12, index % 12 + 1, 1)


def expected(on: datetime.date) -> dict:
    """The figures, from the rows one by one (no summary, no SQL sums)."""
    out = {"outstanding": ZERO, "open": 0, "overdue": ZERO, "overdue_n": 0, "ages": defaultdict(lambda: ZERO)}
    for invoice in Invoice.objects.all():
        if invoice.status not in ("unpaid", "part_paid"):
            continue
        owed = invoice.total - invoice.paid - invoice.credited
        days = (on - invoice.due_date).days
        out["outstanding"] += owed
        out["open"] += 1
        if days > 0:
            out["overdue"] += owed
            out["overdue_n"] += 1
        age = (
            "not_due"
            if days < 0
            else "0-30"
            if days <= 30
            else "31-60"
            if days <= 60
            else "61-90"
            if days <= 90
            else "90+"
        )
        out["ages"][age] += owed
    first = month_start(on, 11)
    issued: dict = defaultdict(lambda: ZERO)
    months: dict = defaultdict(lambda: [ZERO, 0])
    out["available"] = ZERO
    for credit in Credit.objects.all():
        out["available"] += credit.amount - credit.assigned - credit.refunded
        month = credit.date.replace(day=1)
        if first <= month <= on:
            issued[(month, credit.reason)] += credit.amount
        months[month][0] += credit.amount
        months[month][1] += 1
    out["issued"] = {key: value for key, value in issued.items()}
    out["months"] = months
    assigned: dict = defaultdict(lambda: ZERO)
    for assignment in CreditAssignment.objects.all():
        assigned[timezone.localtime(assignment.created_at).date().replace(day=1)] += assignment.amount
    out["assigned"] = assigned
    refunded: dict = defaultdict(lambda: ZERO)
    for refund in Refund.objects.filter(reversed_at=None):
        refunded[refund.date.replace(day=1)] += refund.amount
    out["refunded"] = refunded
    return out


def assert_figures_match(on: datetime.date) -> None:
    want, got = expected(on), figures.overview(on)
    assert (got.outstanding, got.open_invoices) == (want["outstanding"], want["open"])
    assert (got.overdue, got.overdue_invoices) == (want["overdue"], want["overdue_n"])
    assert {key: value for key, _, value in got.ages} == {key: want["ages"][key] for key, _, _ in got.ages}
    assert sum(value for _, _, value in got.ages) == got.outstanding
    assert got.available_credit == want["available"]
    assert {key: value for key, value in got.issued.items()} == {k: v for k, v in want["issued"].items() if v}
    for month in (got.this_month, got.last_month):
        assert (month.issued, month.issued_count) == tuple(want["months"].get(month.start, [ZERO, 0]))
        assert month.assigned == want["assigned"].get(month.start, ZERO)
        assert month.refunded == want["refunded"].get(month.start, ZERO)


def random_ledger(rng: random.Random, manager) -> None:
    today = timezone.localdate()
    reasons = [code for code, _ in Reason.choices if code != "overpayment"]
    for n in range(12):
        customer = CustomerFactory(name=f"Family {n}")
        for _ in range(rng.randint(0, 4)):
            issued = today - datetime.timedelta(days=rng.randint(0, 200))
            due = issued + datetime.timedelta(days=rng.randint(0, 60))
            invoice = invoice_for(
                customer, f"{rng.randint(10, 300)}.{rng.choice(['00', '50', '99'])}", issue_date=issued, due_date=due
            )
            if rng.random() < 0.3 and invoice.outstanding > 1:
                billing.record_payment(invoice, min(invoice.outstanding, Decimal(rng.randint(1, 50))), by=manager)
            invoice.refresh_from_db()
            if rng.random() < 0.1 and invoice.paid == 0:
                billing.void_invoice(invoice, by=manager)
        for _ in range(rng.randint(0, 4)):
            day = today - datetime.timedelta(days=rng.randint(0, 420))
            credit = credit_for(
                customer,
                f"{rng.randint(1, 200)}.00",
                reason=rng.choice(reasons),
                date=day,
                auto_apply=rng.random() < 0.7,
            )
            open_invoices = list(Invoice.objects.open_for(customer))
            if open_invoices and rng.random() < 0.5:
                credits.apply_available_credit(open_invoices[0], by=manager)
            credit.refresh_from_db()
            if credit.remaining > 1 and rng.random() < 0.3:
                refund = credits.refund_credit(
                    credit, "1.00", date=today - datetime.timedelta(days=rng.randint(0, 40)), by=manager
                )
                if rng.random() < 0.3:
                    credits.reverse_refund(refund, reason="Bounced", by=manager)
            if rng.random() < 0.2:
                credits.update_credit(
                    credit,
                    date=today - datetime.timedelta(days=rng.randint(0, 60)),
                    reason=rng.choice(reasons),
                    by=manager,
                )
            elif rng.random() < 0.1 and not credit.refunds.exists():
                credits.delete_credit(credit, by=manager)
        for assignment in CreditAssignment.objects.filter(credit__customer=customer)[:1]:
            if rng.random() < 0.3:
                credits.unassign_credit(assignment, by=manager)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_figures_equal_what_the_ledger_says_on_random_data(seed, manager):
    random_ledger(random.Random(seed), manager)
    today = timezone.localdate()
    assert_figures_match(today)
    assert_figures_match(today + datetime.timedelta(days=45))  # the ages move with the day; the summaries need not


def test_compacting_changes_no_figure_and_leaves_one_row_per_key(manager):
    random_ledger(random.Random(7), manager)
    before = figures.overview()
    services.compact()
    assert figures.overview() == before
    assert CreditSummary.objects.count() == CreditSummary.objects.values("month", "reason").distinct().count()
    assert InvoiceSummary.objects.count() == InvoiceSummary.objects.values("due_date").distinct().count()
    assert AssignedSummary.objects.count() == AssignedSummary.objects.values("quarter").distinct().count()
    assert_figures_match(timezone.localdate())


def test_raw_sql_writes_are_counted_too_at_a_month_edge(manager):
    """The summaries are kept by the database: an assignment written by SQL half an hour before this month began
    (local time) counts for last month, and a credit moved by SQL to another month moves with it."""
    customer = CustomerFactory()
    invoice = invoice_for(customer, "100.00")
    credit = credit_for(customer, "40.00", reason="goodwill")
    start = timezone.make_aware(datetime.datetime.combine(month_start(timezone.localdate()), datetime.time()))
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO credits_creditassignment (credit_id, invoice_id, amount, created_at) VALUES (%s, %s, 15, %s)",
            [credit.pk, invoice.pk, start - datetime.timedelta(minutes=30)],
        )
        cursor.execute("UPDATE credits_credit SET date = date - 62, reason = 'refund' WHERE id = %s", [credit.pk])
    overview = figures.overview()
    assert overview.last_month.assigned == Decimal("15.00") and overview.this_month.assigned == ZERO
    assert overview.available_credit == Decimal("25.00")
    assert overview.outstanding == Decimal("85.00")
    assert_figures_match(timezone.localdate())
