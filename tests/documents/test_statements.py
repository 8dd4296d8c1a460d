"""Statements: opening + movements = closing, and both equal what the ledger said on those dates (random histories);
the Statement tab and its bad input."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import services as billing
from billing.models import Invoice
from billing_site.ledger import today
from credits import services as credits
from credits.models import Credit, Refund
from documents.statements import FROM_AFTER_TO, TOO_LONG, build_statement, default_period
from tests.factories import CustomerFactory, credit_for, invoice_for
from tests.page import parse

pytestmark = pytest.mark.django_db
CENT = Decimal("0.01")


def ledger_balance(customer) -> Decimal:
    """What the ledger's stored figures say the family owes now: open invoices' outstanding less credits' remaining."""
    owed = Invoice.objects.filter(customer=customer).aggregate(s=Sum("outstanding"))["s"] or Decimal(0)
    credit = Credit.objects.filter(customer=customer).aggregate(s=Sum("remaining"))["s"] or Decimal(0)
    return owed - credit


def part(whole: Decimal, fraction: float) -> Decimal:
    """Between a penny and the whole, by fraction."""
    return max(CENT, min(whole, (whole * Decimal(str(fraction))).quantize(CENT)))


ACTIONS = st.sampled_from(["invoice", "pay", "credit", "assign", "refund", "overpay"])
DAY = st.lists(st.tuples(ACTIONS, st.integers(100, 30000), st.floats(0.05, 1.0), st.booleans()), max_size=4)
LATER = st.lists(st.tuples(st.sampled_from(["void", "reverse"]), st.floats(0, 1)), max_size=3)


def act(customer, action: str, pence: int, fraction: float, flag: bool, day: datetime.date) -> None:
    amount = Decimal(pence) / 100
    open_invoices = list(Invoice.objects.open_for(customer))
    with_remaining = list(Credit.objects.filter(customer=customer, remaining__gt=0).order_by("id"))
    pick = int(fraction * 1000)
    if action == "invoice":
        billing.create_invoice(customer, [("Class", 1, amount)], issue_date=day, due_date=day)
    elif action in ("pay", "overpay") and open_invoices:
        invoice = open_invoices[pick % len(open_invoices)]
        if action == "overpay":
            billing.record_payment(invoice, invoice.outstanding + amount, date=day, overpayment_to_credit=True)
        else:
            billing.record_payment(invoice, part(invoice.outstanding, fraction), date=day)
    elif action == "credit":
        credits.add_credit(customer, amount, date=day, auto_apply=flag)
    elif action == "assign" and open_invoices and with_remaining:
        credit, invoice = with_remaining[pick % len(with_remaining)], open_invoices[pick % len(open_invoices)]
        credits.assign_credit(credit, {invoice: part(min(credit.remaining, invoice.outstanding), fraction)})
    elif action == "refund" and with_remaining:
        credit = with_remaining[pick % len(with_remaining)]
        credits.refund_credit(credit, part(credit.remaining, fraction), date=day)


def act_today(customer, action: str, fraction: float) -> None:
    if action == "void":
        voidable = list(Invoice.objects.filter(customer=customer, voided_at=None, paid=0).order_by("id"))
        if voidable:
            billing.void_invoice(voidable[int(fraction * 1000) % len(voidable)])
    else:
        reversible = list(Refund.objects.filter(credit__customer=customer, reversed_at=None).order_by("id"))
        if reversible:
            credits.reverse_refund(reversible[int(fraction * 1000) % len(reversible)], reason="Bounced")


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    days=st.lists(st.tuples(st.integers(1, 6), DAY), min_size=1, max_size=6),
    later=LATER,
    periods=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), min_size=1, max_size=4),
)
def test_opening_plus_movements_is_closing_and_both_are_what_the_ledger_said_on_those_dates(days, later, periods):
    customer = CustomerFactory()
    day = today() - datetime.timedelta(days=40)
    said = {day - datetime.timedelta(days=1): Decimal(0)}  # date → the ledger's balance at the end of that day
    for gap, actions in days:
        day += datetime.timedelta(days=gap)
        if day >= today():
            break
        for action in actions:
            act(customer, *action, day)
        said[day] = ledger_balance(customer)
    for action in later:  # voids and reversals happen now: they are dated today
        act_today(customer, *action)
    said[today()] = ledger_balance(customer)

    def on(date: datetime.date) -> Decimal:
        return said[max(d for d in said if d <= date)]

    for back_from, back_to in periods:
        start = today() - datetime.timedelta(days=max(back_from, back_to))
        end = today() - datetime.timedelta(days=min(back_from, back_to))
        statement = build_statement(customer, start, end)
        assert statement.opening == on(start - datetime.timedelta(days=1))
        assert statement.closing == on(end)
        assert statement.opening + sum((line.change for line in statement.lines), Decimal(0)) == statement.closing
        balance = statement.opening
        for line in statement.lines:
            assert start <= line.date <= end
            balance += line.change
            assert line.balance == balance
        assert [line.date for line in statement.lines] == sorted(line.date for line in statement.lines)
    assert build_statement(customer, today() - datetime.timedelta(days=60), today()).closing == ledger_balance(customer)


def test_it_lists_every_kind_of_movement_in_date_order_with_a_running_balance():
    amy = CustomerFactory(name="Amy Parent")
    d = today() - datetime.timedelta(days=20)
    autumn = billing.create_invoice(amy, [("Ballet — autumn term", 1, "100.00")], issue_date=d, due_date=d)
    billing.record_payment(autumn, "30.00", date=d + datetime.timedelta(days=1), method="cash")
    credit = credits.add_credit(
        amy, "50.00", date=d + datetime.timedelta(days=2), reason="cancelled_class", auto_apply=False
    )
    credits.assign_credit(credit, {autumn: "20.00"})
    refund = credits.refund_credit(credit, "10.00", date=d + datetime.timedelta(days=3), method="bank_transfer")
    credits.reverse_refund(refund, reason="Bounced")
    statement = build_statement(amy, d, today())
    described = [(line.description, line.charge, line.paid, line.balance) for line in statement.lines]
    assert described == [
        (f"Invoice {autumn.display_number}: Ballet — autumn term", Decimal("100.00"), 0, Decimal("100.00")),
        (f"Payment (cash) for {autumn.display_number}", 0, Decimal("30.00"), Decimal("70.00")),
        (f"Credit note {credit.display_number}: Cancelled class", 0, Decimal("50.00"), Decimal("20.00")),
        (f"Refund (bank transfer) from {credit.display_number}", Decimal("10.00"), 0, Decimal("30.00")),
        (f"£20.00 of {credit.display_number} applied to {autumn.display_number}", 0, 0, Decimal("30.00")),
        (f"Refund from {credit.display_number} reversed", 0, Decimal("10.00"), Decimal("20.00")),
    ]
    assert (statement.opening, statement.closing, statement.credit_available) == (0, Decimal("20.00"), Decimal("30.00"))
    assert statement.closing == ledger_balance(amy)


def test_the_default_period_is_the_last_three_months():
    assert default_period(datetime.date(2026, 11, 30)) == (datetime.date(2026, 8, 31), datetime.date(2026, 11, 30))
    assert default_period(datetime.date(2026, 5, 31)) == (datetime.date(2026, 3, 1), datetime.date(2026, 5, 31))
    assert default_period(datetime.date(2026, 2, 10)) == (datetime.date(2025, 11, 11), datetime.date(2026, 2, 10))


def test_a_period_backwards_or_longer_than_ten_years_is_refused():
    amy = CustomerFactory()
    with pytest.raises(ValidationError, match="starts after it ends"):
        build_statement(amy, datetime.date(2026, 5, 2), datetime.date(2026, 5, 1))
    with pytest.raises(ValidationError, match="at most 10 years"):
        build_statement(amy, datetime.date(2010, 1, 1), datetime.date(2026, 1, 1))


# The Statement tab ------------------------------------------------------------------------------------------------


def test_the_statement_tab_shows_the_last_three_months_with_download_and_email(staff_client, customer):
    invoice = invoice_for(customer, "80.00")
    credit_for(customer, "25.00")
    response = staff_client.get(reverse("customers:statement", args=[customer.pk]))
    assert response.status_code == 200
    page = parse(response)
    start, end = default_period()
    assert page.one("input", id="id_start")["value"] == start.isoformat()
    text = page.text.replace(" ", "")  # figures' label and value are side by side, without a space
    for words in [
        "Opening balance £0.00",
        f"Invoice {invoice.display_number}",
        "Closing balance £55.00",
        "Account credit available £25.00",
        "Download PDF",
        "Email",
    ]:
        assert words.replace(" ", "") in text, words
    assert 'aria-current="page">Statement<' in response.content.decode()


def test_the_statement_tab_says_what_is_wrong_with_a_period(staff_client, customer):
    url = reverse("customers:statement", args=[customer.pk])
    backwards = staff_client.get(url, {"start": "2026-05-02", "end": "2026-05-01"})
    assert backwards.status_code == 422 and FROM_AFTER_TO in parse(backwards).text
    too_long = staff_client.get(url, {"start": "2001-01-01", "end": "2026-01-01"})
    assert too_long.status_code == 422 and TOO_LONG in parse(too_long).text
    nonsense = staff_client.get(url, {"start": "yesterday"})
    assert nonsense.status_code == 422 and "Enter a date like 2026-01-31." in parse(nonsense).text
    assert staff_client.get(reverse("customers:statement", args=[999999])).status_code == 404
    assert (
        staff_client.get(
            reverse("documents:statement_pdf", args=[customer.pk]), {"start": "2026-05-02", "end": "2026-05-01"}
        ).status_code
        == 404
    )
