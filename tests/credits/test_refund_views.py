"""Refund screens: Refund on a credit's page (managers), the Refunds list on its Assignments tab with Reverse,
Billing › Refunds, Refunded beside Assigned and Remaining, and the CSV export. Bad input writes nothing."""

from __future__ import annotations

import csv
import io
import uuid
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing import services as billing
from credits import services as credits
from credits.models import Credit, Refund
from tests.conftest import htmx, logged_in
from tests.factories import CustomerFactory, UserFactory, credit_for, invoice_for
from tests.ledger import keep_staff_groups, ledger_fingerprint, run_together  # noqa: F401 - fixture
from tests.page import parse

D = Decimal


def text(response) -> str:
    import html

    return html.unescape(response.content.decode())


def refund_form(**changes) -> dict:
    data = {
        "amount": "40.00",
        "date": timezone.localdate().isoformat(),
        "method": "bank_transfer",
        "note": "Leaving at end of term",
        "idempotency_key": uuid.uuid4().hex,
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def refund_url(credit: Credit) -> str:
    return reverse("credits:refund", args=[credit.pk])


@pytest.fixture
def credit(customer):
    credit = credit_for(customer, "100.00")
    credits.assign_credit(credit, {invoice_for(customer, "60.00"): "60.00"})
    credit.refresh_from_db()
    return credit  # £40.00 left


@pytest.mark.django_db
def test_a_manager_refunds_the_remaining_from_the_form(manager_client, manager, credit):
    page = parse(manager_client.get(refund_url(credit)))
    assert page.one("input", name="amount")["value"] == "40.00"  # the remaining, by default
    response = manager_client.post(refund_url(credit), refund_form(), follow=True)
    assert response.redirect_chain[-1][0] == reverse("credits:assignments", args=[credit.pk])
    assert "Refunded £40.00 to Amy Parent (bank transfer)." in text(response)
    refund = Refund.objects.get()
    assert (refund.amount, refund.method, refund.note, refund.created_by) == (
        D("40.00"),
        "bank_transfer",
        "Leaving at end of term",
        manager,
    )
    credit.refresh_from_db()
    assert (credit.refunded, credit.remaining, credit.status) == (D("40.00"), D("0.00"), "refunded")
    row = parse(response).one("tr", id=f"refund-{refund.pk}")
    assert [cell.text.strip() for cell in row.find_all("td")][:4] == [
        "£40.00",
        refund.date.strftime("%-d %b %Y"),
        "Bank transfer",
        manager.get_username(),
    ]


@pytest.mark.django_db
def test_the_refund_form_comes_as_a_dialog_with_htmx(manager_client, credit):
    html = manager_client.get(refund_url(credit), headers=htmx()).content.decode()
    assert "<html" not in html and 'id="refund-panel"' in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "more than zero"),
        ("-5.00", "more than zero"),
        ("10.001", "at most 2 decimal places"),
        ("1000000.01", "at most £1,000,000.00"),
        ("40.01", "This credit has only £40.00 left to refund."),
        ("", "Enter an amount"),
    ],
)
def test_a_bad_amount_is_told_next_to_the_box_and_writes_nothing(manager_client, credit, amount, message):
    before = ledger_fingerprint()
    response = manager_client.post(refund_url(credit), refund_form(amount=amount))
    assert response.status_code == 422
    assert message in text(response)
    assert ledger_fingerprint() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"method": "bitcoin"}, "Choose a method from the list."),
        ({"date": "not a date"}, "Enter a date like 2026-01-31."),
        ({"note": "x" * 2001}, "Keep the note under 2,000 characters."),
        ({"idempotency_key": None}, "This form has expired"),
    ],
)
def test_bad_details_are_refused(manager_client, credit, changes, message):
    before = ledger_fingerprint()
    response = manager_client.post(refund_url(credit), refund_form(**changes))
    assert response.status_code == 422 and message in text(response)
    assert ledger_fingerprint() == before


@pytest.mark.django_db
def test_staff_may_not_refund_nor_reverse(staff_client, credit):
    before = ledger_fingerprint()
    assert staff_client.post(refund_url(credit), refund_form()).status_code == 403
    refund = credits.refund_credit(credit, "10.00")
    before = ledger_fingerprint()
    response = staff_client.post(reverse("credits:refund_reverse", args=[credit.pk, refund.pk]), {"reason": "Mistake"})
    assert response.status_code == 403
    assert ledger_fingerprint() == before
    page = staff_client.get(reverse("credits:assignments", args=[credit.pk]))
    assert "Reverse" not in text(page) and refund_url(credit) not in text(page)  # staff see the list, no buttons


@pytest.mark.django_db
def test_the_same_form_sent_twice_makes_one_refund(manager_client, credit):
    form = refund_form(amount="10.00")
    assert manager_client.post(refund_url(credit), form).status_code == 303
    assert manager_client.post(refund_url(credit), form).status_code == 303
    assert Refund.objects.count() == 1


@pytest.mark.django_db
def test_a_stale_form_after_a_colleagues_refund_is_told(manager_client, credit):
    page = parse(manager_client.get(refund_url(credit)))
    form = refund_form(amount=page.one("input", name="amount")["value"])
    credits.refund_credit(credit, "40.00", by=UserFactory(groups=["Managers"]))
    before = ledger_fingerprint()
    response = manager_client.post(refund_url(credit), form)
    assert response.status_code == 422
    assert credits.NOTHING_TO_REFUND in text(response)
    assert ledger_fingerprint() == before


@pytest.mark.django_db
def test_a_deleted_credit_has_no_refund_page(manager_client, customer):
    gone = credit_for(customer, "20.00")
    credits.delete_credit(gone)
    assert manager_client.post(refund_url(gone), refund_form(amount="5.00")).status_code == 404
    assert Refund.objects.count() == 0


@pytest.mark.django_db
def test_a_manager_reverses_a_refund_with_a_reason_once(manager_client, manager, credit):
    refund = credits.refund_credit(credit, "15.00")
    url = reverse("credits:refund_reverse", args=[credit.pk, refund.pk])
    before = ledger_fingerprint()
    response = manager_client.post(url, {"reason": "  "})
    assert response.status_code == 422 and "Say why this refund is being reversed." in text(response)
    assert ledger_fingerprint() == before
    response = manager_client.post(url, {"reason": "Bank returned it"}, follow=True)
    assert "Reversed the £15.00 refund: it is back on the credit." in text(response)
    refund.refresh_from_db()
    assert (refund.reversed_by, refund.reversal_reason) == (manager, "Bank returned it")
    assert "Bank returned it" in parse(response).one("tr", id=f"refund-{refund.pk}").text
    before = ledger_fingerprint()
    response = manager_client.post(url, {"reason": "Again"})
    assert response.status_code == 422 and "This refund was already reversed by" in text(response)
    assert ledger_fingerprint() == before


@pytest.mark.django_db
def test_a_refund_cannot_be_reversed_through_another_credits_page(manager_client, credit, customer):
    other = credit_for(CustomerFactory(), "30.00")
    refund = credits.refund_credit(other, "5.00")
    response = manager_client.post(reverse("credits:refund_reverse", args=[credit.pk, refund.pk]), {"reason": "x"})
    assert response.status_code == 404
    assert not Refund.objects.get().is_reversed


@pytest.mark.django_db
def test_refunded_shows_beside_assigned_and_remaining(staff_client, credit, customer):
    credits.refund_credit(credit, "15.00")
    detail = text(staff_client.get(credit.get_absolute_url()))
    assert "Refunded" in detail and "£15.00" in detail
    listing = parse(staff_client.get(reverse("credits:list")))
    headers = [th.text.strip() for th in listing.find_all("th")]
    assert headers.index("Assigned") + 1 == headers.index("Refunded") == headers.index("Remaining") - 1
    billing_tab = parse(staff_client.get(reverse("customers:billing", args=[customer.pk])))
    headers = [th.text.strip() for th in billing_tab.find_all("th")]
    assert "Refunded" in headers
    exported = list(
        csv.reader(io.StringIO(b"".join(staff_client.get(reverse("credits:export")).streaming_content).decode()))
    )
    assert exported[0][4:7] == ["Assigned", "Refunded", "Remaining"]
    assert exported[1][4:7] == ["60.00", "15.00", "25.00"]


@pytest.mark.django_db
def test_billing_refunds_lists_the_money_out_by_day(staff_client, credit):
    refund = credits.refund_credit(credit, "15.00", method="cash")
    credits.reverse_refund(credits.refund_credit(credit, "5.00"), reason="Mistake")
    page = parse(staff_client.get(reverse("credits:refund_list")))
    rows = [[td.text.strip() for td in tr.find_all("td")] for tr in page.one("table").find_all("tr")[1:]]
    assert [row[2:5] for row in rows] == [["£5.00", "Card", "Reversed"], ["£15.00", "Cash", "Refunded"]]
    assert "Money out: £15.00" in page.one("p", class_="refunds-total").text
    other_day = staff_client.get(reverse("credits:refund_list"), {"date": "2020-01-01"})
    assert "No refunds." in text(other_day)
    assert refund.date.isoformat() in text(staff_client.get(reverse("credits:refund_list"), {"date": refund.date}))
    assert reverse("credits:refund_list") in text(staff_client.get(reverse("billing:payment_list")))


@pytest.mark.usefixtures("keep_staff_groups")  # before transactional_db, so it tidies up after the flush
def test_two_managers_refunding_the_last_40_at_once_one_wins_the_other_is_told(transactional_db):
    customer = CustomerFactory()
    credit = credit_for(customer, "40.00")
    one, two = UserFactory(groups=["Managers"]), UserFactory(groups=["Managers"])
    forms = [refund_form(), refund_form()]
    responses = run_together(
        [
            lambda: logged_in(one).post(refund_url(credit), forms[0]),
            lambda: logged_in(two).post(refund_url(credit), forms[1]),
        ]
    )
    assert sorted(r.status_code for r in responses) == [303, 422], responses
    refused = next(r for r in responses if r.status_code == 422)
    assert credits.NOTHING_TO_REFUND in text(refused)
    assert Refund.objects.count() == 1


# Overpayments on Record payment.


@pytest.mark.django_db
def test_record_payment_offers_to_put_the_extra_on_the_account(staff_client, customer):
    invoice = invoice_for(customer, "100.00")
    url = f"{reverse('billing:payment_add')}?invoice={invoice.pk}"
    form = {
        "invoice": invoice.pk,
        "amount": "150.00",
        "date": timezone.localdate().isoformat(),
        "method": "card",
        "idempotency_key": uuid.uuid4().hex,
    }
    response = staff_client.post(url, form)
    assert response.status_code == 422
    assert "Put the extra £50.00 on the account as a credit" in text(response)
    assert Credit.objects.count() == 0
    response = staff_client.post(url, {**form, "overpayment_to_credit": "on"}, follow=True)
    assert response.status_code == 200
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    credit = Credit.objects.get()
    assert (credit.amount, credit.reason, credit.auto_apply) == (D("50.00"), "overpayment", True)
    assert "£50.00 put on the account as a credit" in text(response)
    # The same form again: one payment, one credit.
    staff_client.post(url, {**form, "overpayment_to_credit": "on"})
    assert (invoice.payments.count(), Credit.objects.count()) == (1, 1)
    billing.record_payment  # noqa: B018 - the service the page calls


@pytest.mark.django_db
def test_the_refund_pages_query_count_does_not_grow_with_rows(page_queries, manager_client, customer, manager):
    def refunded_credit(n: int) -> Credit:
        credit = credit_for(customer, "1000.00")
        for _ in range(n):
            refund = credits.refund_credit(credit, "1.00", by=manager)
        credits.reverse_refund(refund, reason="Mistake", by=manager)
        return credit

    small = refunded_credit(3)
    few = page_queries(manager_client, reverse("credits:assignments", args=[small.pk]))
    listing = page_queries(manager_client, reverse("credits:refund_list"))
    large = refunded_credit(20)
    page_queries(manager_client, reverse("credits:assignments", args=[large.pk]), exactly=few)
    page_queries(manager_client, reverse("credits:refund_list"), exactly=listing)
