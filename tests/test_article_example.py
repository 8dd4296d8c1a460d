"""The help-centre article's example, as billing staff would carry it out through the services."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing import services as billing
from credits import services as credits
from tests.ledger import assert_ledger_clean

pytestmark = pytest.mark.django_db

D = Decimal


def test_a_250_credit_splits_100_and_150_across_two_invoices(customer, staff):
    autumn = billing.create_invoice(customer, [("Ballet — autumn term", 1, "100.00")], by=staff)
    spring = billing.create_invoice(customer, [("Ballet — spring term", 1, "150.00")], by=staff)
    credit = credits.add_credit(customer, "250.00", date="2026-01-12", reason="cancelled_class", by=staff)

    credits.assign_credit(credit, {autumn: "100.00", spring: "150.00"}, by=staff)

    credit.refresh_from_db()
    autumn.refresh_from_db()
    spring.refresh_from_db()
    assert (credit.assigned, credit.remaining, credit.status) == (D("250.00"), D("0.00"), "fully_assigned")
    assert [(i.credited, i.outstanding, i.status) for i in (autumn, spring)] == [
        (D("100.00"), D("0.00"), "paid"),
        (D("150.00"), D("0.00"), "paid"),
    ]
    assert sorted(credit.assignments.values_list("invoice_id", "amount")) == [
        (autumn.pk, D("100.00")),
        (spring.pk, D("150.00")),
    ]
    assert_ledger_clean()


def test_the_remainder_of_a_partly_assigned_credit_lands_on_the_next_invoice(customer, staff):
    swim = billing.create_invoice(customer, [("Swim — 10 lessons", 1, "100.00")], by=staff)
    credit = credits.add_credit(customer, "250.00", reason="refund", by=staff)  # auto-apply is on by default
    credits.assign_credit(credit, {swim: "100.00"}, by=staff)
    credit.refresh_from_db()
    assert (credit.remaining, credit.status) == (D("150.00"), "part_assigned")

    camp = billing.create_invoice(customer, [("Swim — summer camp", 1, "180.00")], by=staff)

    credit.refresh_from_db()
    assert (camp.credited, camp.outstanding, camp.status) == (D("150.00"), D("30.00"), "part_paid")
    assert (credit.remaining, credit.status) == (D("0.00"), "fully_assigned")
    assert camp.credit_assignments.get().credit == credit
    assert_ledger_clean()


def test_a_remainder_kept_for_manual_assignment_does_not_land_on_the_next_invoice(customer, staff):
    swim = billing.create_invoice(customer, [("Swim — 10 lessons", 1, "100.00")], by=staff)
    credit = credits.add_credit(customer, "250.00", reason="refund", auto_apply=False, by=staff)
    credits.assign_credit(credit, {swim: "100.00"}, by=staff)

    camp = billing.create_invoice(customer, [("Swim — summer camp", 1, "180.00")], by=staff)

    credit.refresh_from_db()
    assert (camp.credited, camp.status) == (D("0.00"), "unpaid")
    assert credit.remaining == D("150.00")


def test_a_reassigned_credit_moves_from_one_invoice_to_another(customer, staff):
    autumn = billing.create_invoice(customer, [("Ballet — autumn term", 1, "100.00")], by=staff)
    spring = billing.create_invoice(customer, [("Ballet — spring term", 1, "100.00")], by=staff)
    credit = credits.add_credit(customer, "100.00", auto_apply=False, by=staff)
    [assignment] = credits.assign_credit(credit, {autumn: "100.00"}, by=staff)

    credits.unassign_credit(assignment, by=staff)
    credits.assign_credit(credit, {spring: "100.00"}, by=staff)

    autumn.refresh_from_db()
    spring.refresh_from_db()
    assert (autumn.status, spring.status) == ("unpaid", "paid")
    assert_ledger_clean()
