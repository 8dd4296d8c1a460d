"""The invoice run in the background: queued with the request, worked through by real Procrastinate workers in
chunks, each customer invoiced exactly once with auto-apply as for a single invoice, cancellable, and never twice."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum

from billing.invoice_run import start_invoice_run
from billing.models import Invoice
from credits import bulk_run
from credits import services as credits
from credits.models import Credit, CreditAssignment, CreditBatch
from runs import services as runs
from runs.models import Chunk, Problem, Run, Status
from tests.conftest import logged_in
from tests.factories import CustomerFactory

D = Decimal
LINES = [("Ballet — spring term", 1, "120.00"), ("Costume", 2, "15.00")]


def _customers(n: int, *, credit_every: int = 3) -> list:
    """n customers; every third has £100 of auto-apply credit (less than the £150 invoice) and a manual £10."""
    people = [CustomerFactory(name=f"Family {i:03}") for i in range(n)]
    for i, person in enumerate(people):
        if i % credit_every == 0:
            credits.add_credit(person, "100.00", date="2026-11-01")
            credits.add_credit(person, "10.00", auto_apply=False)
    return people


def test_a_run_invoices_each_customer_once_with_auto_apply(run_worker, manager):
    people = _customers(7)
    run = start_invoice_run([p.pk for p in people], LINES, issue_date="2026-12-01", by=manager, chunk_size=3)
    assert run.status == Status.QUEUED and run.total == 7
    # The first chunk is a quarter of the others (at least one customer), so the bar moves soon: 1 + 3 + 3.
    assert list(Chunk.objects.filter(run=run).order_by("number").values_list("first", "last")) == [
        (0, 0),
        (1, 3),
        (4, 6),
    ]
    assert not Invoice.objects.exists(), "nothing is invoiced before a worker takes the run"

    run_worker()

    run.refresh_from_db()
    assert run.status == Status.DONE and run.started_at and run.finished_at
    progress = runs.progress_of(run.pk)
    assert (progress.succeeded, progress.failed, progress.percent) == (7, 0, 100)
    for i, person in enumerate(people):
        (invoice,) = Invoice.objects.filter(customer=person)
        assert invoice.run_id == run.pk and invoice.created_by == manager
        assert invoice.total == D("150.00")
        # £100 of auto-apply credit for every third family, the manual £10 left alone.
        assert invoice.credited == (D("100.00") if i % 3 == 0 else D("0.00"))
    assert run.result_url == f"/billing/invoices/?run={run.pk}"


def test_a_deleted_customer_is_listed_not_skipped_silently(run_worker, manager):
    people = _customers(4, credit_every=99)
    run = start_invoice_run([p.pk for p in people], LINES, issue_date="2026-12-01", by=manager, chunk_size=2)
    gone = people[3].pk
    people[3].delete()

    run_worker()

    run.refresh_from_db()
    assert run.status == Status.DONE
    assert runs.progress_of(run.pk).failed == 1
    (problem,) = Problem.objects.filter(run=run)
    assert problem.item == gone and "deleted" in problem.reason
    assert Invoice.objects.filter(run=run).count() == 3


def test_cancelled_while_queued_nothing_is_started(run_worker, manager):
    people = _customers(4, credit_every=99)
    run = start_invoice_run([p.pk for p in people], LINES, issue_date="2026-12-01", by=manager, chunk_size=1)

    runs.cancel(run, by=manager)
    run_worker()

    run.refresh_from_db()
    assert run.status == Status.CANCELLED and run.cancelled_by == manager
    assert not Invoice.objects.exists()
    with pytest.raises(ValidationError, match="already finished"):
        runs.cancel(run, by=manager)


def test_the_same_key_starts_one_run_and_an_identical_run_is_refused(transactional_db, manager):
    people = [p.pk for p in _customers(3, credit_every=99)]
    first = start_invoice_run(people, LINES, issue_date="2026-12-01", by=manager, idempotency_key="tab-1")
    again = start_invoice_run(people, LINES, issue_date="2026-12-01", by=manager, idempotency_key="tab-1")
    assert again.pk == first.pk and Run.objects.count() == 1

    # Another tab (its own key) asking for exactly the same run is refused, with a pointer to the first.
    with pytest.raises(ValidationError, match=f"run #{first.pk}"):
        start_invoice_run(people, LINES, issue_date="2026-12-01", by=manager, idempotency_key="tab-2")
    # Different customers, lines or dates are another run.
    other = start_invoice_run(people[:2], LINES, issue_date="2026-12-01", by=manager, idempotency_key="tab-3")
    assert other.pk != first.pk
    # Once the first is cancelled, the same run may be started again.
    runs.cancel(first, by=manager)
    assert start_invoice_run(people, LINES, issue_date="2026-12-01", by=manager, idempotency_key="tab-4").pk


def test_bad_input_starts_nothing(transactional_db, manager):
    people = [p.pk for p in _customers(2, credit_every=99)]
    with pytest.raises(ValidationError):
        start_invoice_run(people, [], issue_date="2026-12-01", by=manager)
    with pytest.raises(ValidationError):
        start_invoice_run(people, LINES, issue_date="2026-12-01", due_date="2026-11-01", by=manager)
    with pytest.raises(ValidationError, match="do not exist"):
        start_invoice_run([*people, 10**9], LINES, issue_date="2026-12-01", by=manager)
    assert not Run.objects.exists() and not Chunk.objects.exists()


def test_a_chunk_that_keeps_failing_is_reported_and_the_rest_goes_on(run_worker, manager, monkeypatch):
    """A bug or a database refusal in one chunk: retried, then its customers are listed with the error; the other
    chunks are done. (The failure is real: the run's stored dates are made impossible, so create_invoices refuses.)"""
    people = _customers(4, credit_every=99)
    run = start_invoice_run([p.pk for p in people], LINES, issue_date="2026-12-01", by=manager, chunk_size=2)
    # Its dates become impossible (due before issue): every chunk is refused.
    monkeypatch.setattr(runs, "MAX_ATTEMPTS", 1)
    Run.objects.filter(pk=run.pk).update(params={**run.params, "due_date": "2026-01-01"})

    run_worker()

    run.refresh_from_db()
    assert run.status == Status.FAILED  # nothing could be done
    assert Problem.objects.filter(run=run).count() == 4
    assert "Could not be done" in Problem.objects.filter(run=run).first().reason
    assert not Invoice.objects.exists()


def test_credit_is_applied_once_per_customer(run_worker, manager):
    people = _customers(6, credit_every=1)
    run = start_invoice_run([p.pk for p in people], LINES, issue_date="2026-12-01", by=manager, chunk_size=4)
    run_worker()
    applied = CreditAssignment.objects.filter(invoice__run=run).aggregate(total=Sum("amount"))["total"]
    assert applied == D("600.00")
    assert Invoice.objects.filter(run=run).count() == 6


def test_a_bulk_credit_above_the_threshold_runs_in_the_background(run_worker, manager, settings, monkeypatch):
    """Above settings.BULK_CREDITS_IN_BACKGROUND_ABOVE the Create of Add Bulk Credits starts a Run (here the
    threshold is lowered to 3, the chunks to 2 customers)."""
    settings.BULK_CREDITS_IN_BACKGROUND_ABOVE = 3
    monkeypatch.setattr(bulk_run, "CHUNK_SIZE", 2)
    people = [CustomerFactory(name=f"Skater {i}", tags=["Ice"]) for i in range(5)]
    client = logged_in(manager)
    data = {
        "all_matching": "1",
        "tag": "Ice",
        "amount": "7.50",
        "date": "2026-11-30",
        "reason": "goodwill",
        "note": "Rink closed",
        "auto_apply": "on",
        "expected_count": "5",
        "idempotency_key": uuid.uuid4().hex,
    }
    response = client.post("/billing/credits/bulk/", data)
    run = Run.objects.get()
    assert response.status_code == 303 and response["Location"] == run.get_absolute_url()
    assert not Credit.objects.exists(), "nothing is credited before a worker takes the run"

    run_worker()

    run.refresh_from_db()
    assert run.status == Status.DONE
    assert sorted(Credit.objects.values_list("customer_id", flat=True)) == [p.pk for p in people]
    assert list(CreditBatch.objects.filter(run=run).order_by("id").values_list("count", flat=True)) == [1, 2, 2]
    assert Credit.objects.aggregate(total=Sum("amount"))["total"] == D("37.50")
    listed = client.get(f"/billing/credits/?run={run.pk}").content.decode()
    assert "Showing the credits added by" in listed and listed.count("Skater ") >= 5
