"""Staff acting at the same moment: real threads, each with its own database connection, released together.

Afterwards every stored figure must equal its rows, nothing may be over-assigned or over-settled,
and every write a thread was told succeeded must be there (no lost update).
"""

from __future__ import annotations

import io
import random
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError
from django.db.models import Sum

from billing import services as billing
from billing.models import Invoice, Payment
from credits import services as credits
from credits.models import Credit, CreditAssignment, CreditBatch
from customers import services as customers
from customers.models import Customer
from tests.factories import CustomerFactory, credit_for, invoice_for
from tests.ledger import assert_ledger_clean, keep_staff_groups, run_together  # noqa: F401 - fixture

D = Decimal
ROUNDS = 6


def sum_of(queryset) -> Decimal:
    return queryset.aggregate(s=Sum("amount"))["s"] or D("0.00")


@pytest.mark.usefixtures("keep_staff_groups")  # before transactional_db, so it tidies up after the flush
def test_staff_hammering_one_credit_and_one_invoice_never_over_assign_or_over_settle(transactional_db):
    customer = CustomerFactory()
    credit = credit_for(customer, "100.00")
    invoices = [invoice_for(customer, "40.00") for _ in range(4)]
    paid_on = invoices[0]

    def assigner(seed: int) -> tuple[str, Decimal, int]:
        rng, assigned, refused = random.Random(seed), D("0.00"), 0
        for _ in range(ROUNDS):
            split = {
                invoice.pk: rng.choice(["5.00", "10.00", "15.00"])
                for invoice in rng.sample(invoices, rng.choice([1, 2]))
            }
            try:
                credits.assign_credit(credit, split)
                assigned += sum(D(v) for v in split.values())
            except ValidationError:
                refused += 1
        return "assigned", assigned, refused

    def unassigner(seed: int) -> tuple[str, Decimal, int]:
        removed, refused = D("0.00"), 0
        for _ in range(ROUNDS):
            victim = CreditAssignment.objects.filter(credit=credit).order_by("?").first()
            if victim is None:
                continue
            try:
                credits.unassign_credit(victim)
                removed += victim.amount
            except ValidationError:  # another thread removed it first
                refused += 1
        return "unassigned", removed, refused

    def payer(seed: int) -> tuple[str, Decimal, int]:
        paid, refused = D("0.00"), 0
        for _ in range(ROUNDS):
            try:
                billing.record_payment(paid_on, "7.00")
                paid += D("7.00")
            except ValidationError:
                refused += 1
        return "paid", paid, refused

    def editor(seed: int) -> tuple[str, Decimal, int]:
        rng, refused = random.Random(seed), 0
        for _ in range(ROUNDS):
            try:
                credits.update_credit(credit, amount=rng.choice(["60.00", "80.00", "100.00"]))
            except ValidationError:  # below what is assigned by now
                refused += 1
        return "edited", D("0.00"), refused

    jobs = (
        [lambda s=s: assigner(s) for s in range(8)]
        + [lambda s=s: payer(s) for s in range(4)]
        + [lambda s=s: unassigner(s) for s in range(2)]
        + [lambda s=s: editor(s) for s in range(2)]
    )
    results = run_together(jobs)

    assert not [r for r in results if isinstance(r, Exception)], results
    totals: dict[str, Decimal] = {}
    for kind, amount, _ in results:
        totals[kind] = totals.get(kind, D("0.00")) + amount
    assert sum(refused for *_, refused in results) > 0, "no thread was ever refused: the test did not contend"

    credit.refresh_from_db()
    assert credit.assigned == sum_of(CreditAssignment.objects.filter(credit=credit))
    assert credit.assigned == totals["assigned"] - totals["unassigned"]  # every success is there, nothing lost
    assert D("0.00") < credit.assigned <= credit.amount
    assert credit.remaining == credit.amount - credit.assigned
    for invoice in Invoice.objects.all():
        assert invoice.paid + invoice.credited <= invoice.total
        assert invoice.credited == sum_of(CreditAssignment.objects.filter(invoice=invoice))
        assert invoice.outstanding == invoice.total - invoice.paid - invoice.credited
    assert sum_of(Payment.objects.all()) == totals["paid"] > 0
    out = io.StringIO()
    call_command("check_ledger", stdout=out)
    assert "Ledger OK: 4 invoices, 1 credits checked" in out.getvalue()


@pytest.mark.usefixtures("keep_staff_groups")  # before transactional_db, so it tidies up after the flush
def test_two_editors_of_one_version_never_both_win(transactional_db):
    credit = credit_for(CustomerFactory(), "50.00")
    results = run_together([lambda i=i: credits.update_credit(credit, note=f"editor {i}", version=1) for i in range(8)])
    winners = [r for r in results if isinstance(r, Credit)]
    losers = [r for r in results if isinstance(r, ValidationError)]
    assert (len(winners), len(losers)) == (1, 7), results
    assert all("Someone else changed this credit" in str(error) for error in losers)
    credit.refresh_from_db()
    assert (credit.version, credit.note) == (2, winners[0].note)


@pytest.mark.usefixtures("keep_staff_groups")  # before transactional_db, so it tidies up after the flush
def test_raw_writes_racing_past_the_services_are_still_stopped_by_the_database(transactional_db):
    """No locks, no checks in Python: only PostgreSQL stands between these threads and an over-assigned credit."""
    customer = CustomerFactory()
    credit = credit_for(customer, "100.00")
    invoices = [invoice_for(customer, "40.00") for _ in range(8)]
    paid_on = invoice_for(customer, "100.00")
    assign_jobs = [
        lambda i=i: CreditAssignment.objects.create(credit=credit, invoice=invoices[i], amount=D("30.00"))
        for i in range(8)
    ]
    pay_jobs = [lambda: Payment.objects.create(invoice=paid_on, amount=D("30.00")) for _ in range(8)]
    results = run_together(assign_jobs + pay_jobs)

    assigned_ok = [r for r in results[:8] if isinstance(r, CreditAssignment)]
    paid_ok = [r for r in results[8:] if isinstance(r, Payment)]
    assert (len(assigned_ok), len(paid_ok)) == (3, 3), results
    assert all(isinstance(r, (CreditAssignment, Payment, IntegrityError)) for r in results), results
    credit.refresh_from_db()
    paid_on.refresh_from_db()
    assert (credit.assigned, credit.remaining) == (D("90.00"), D("10.00"))
    assert (paid_on.paid, paid_on.outstanding) == (D("90.00"), D("10.00"))
    assert_ledger_clean()


@pytest.mark.usefixtures("keep_staff_groups")  # before transactional_db, so it tidies up after the flush
def test_every_create_called_at_once_with_one_key_creates_once(transactional_db):
    """One key, six callers at the same moment: one creates, the others wait for it and return the same thing."""
    amy = CustomerFactory()
    invoice = invoice_for(amy, "100.00")
    calls = {
        "customer": lambda: customers.create_customer(name="Beth Parent", idempotency_key="k"),
        "invoice": lambda: billing.create_invoice(amy, [("Ballet", 1, "50.00")], idempotency_key="k"),
        "payment": lambda: billing.record_payment(invoice, "10.00", idempotency_key="k"),
        "credit": lambda: credits.add_credit(amy, "10.00", idempotency_key="k"),
        "batch": lambda: credits.add_bulk_credits([amy], "10.00", idempotency_key="k"),
    }
    for name, call in calls.items():
        results = run_together([call] * 6)
        assert not [r for r in results if isinstance(r, Exception)], (name, results)
        assert len({(type(r), r.pk) for r in results}) == 1, (name, results)
    assert Customer.objects.filter(name="Beth Parent").count() == 1
    assert Invoice.objects.filter(customer=amy).count() == 2 and Payment.objects.count() == 1
    assert CreditBatch.objects.count() == 1 and Credit.objects.filter(customer=amy).count() == 2
    assert_ledger_clean()
