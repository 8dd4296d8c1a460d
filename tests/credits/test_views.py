"""The credit screens over HTTP: every URL for anonymous visitors, staff, managers, bad input and htmx."""

from __future__ import annotations

import csv
import datetime
import html
import io
import uuid
from decimal import Decimal

import pytest
from django.db.models import Count, Sum
from django.urls import reverse
from django.utils import dateformat, timezone
from pghistory.models import Events

from billing import services as billing
from credits import services as credits
from credits.forms import CONFIRM_ABOVE, NOBODY_CHOSEN
from credits.models import Credit, CreditAssignment, CreditBatch
from idempotency.models import IdempotencyKey
from tests.conftest import htmx
from tests.factories import CustomerFactory, credit_for, invoice_for
from tests.page import parse

pytestmark = pytest.mark.django_db


# Helpers --------------------------------------------------------------------------------------


def ledger() -> dict:
    """Counts and sums of everything a credit screen can write, history included: any write changes it."""
    return {
        "credits": Credit.objects.aggregate(
            n=Count("id"), amount=Sum("amount"), assigned=Sum("assigned"), version=Sum("version")
        ),
        "assignments": CreditAssignment.objects.aggregate(n=Count("id"), amount=Sum("amount")),
        "batches": CreditBatch.objects.aggregate(n=Count("id"), undone=Count("undone_at")),
        "events": Events.objects.count(),
        "keys": IdempotencyKey.objects.count(),
    }


def text(response) -> str:
    """The page as a person reads it (entities such as &#x27; turned back into characters)."""
    return html.unescape(response.content.decode())


def followed_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


def credit_form(who, **changes) -> dict:
    data = {
        "customer": who.pk,
        "date": timezone.localdate().isoformat(),
        "amount": "250.00",
        "reason": "cancelled_class",
        "note": "",
        "auto_apply": "on",
        "idempotency_key": uuid.uuid4().hex,
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def bulk_form(**changes) -> dict:
    data = {
        "date": timezone.localdate().isoformat(),
        "amount": "20.00",
        "reason": "goodwill",
        "note": "Snow day",
        "auto_apply": "on",
        "idempotency_key": uuid.uuid4().hex,
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def edit_form(credit, **changes) -> dict:
    data = {
        "date": credit.date.isoformat(),
        "amount": f"{credit.amount}",
        "reason": credit.reason,
        "note": credit.note,
        "auto_apply": "on" if credit.auto_apply else "",
        "version": credit.version,
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value not in (None, "")}


BAD_AMOUNTS = [
    ("", "Enter an amount"),
    ("0", "The amount must be more than zero."),
    ("-5", "The amount must be more than zero."),
    ("1.005", "Use at most 2 decimal places (pence)."),
    ("abc", "Enter the amount as a number, for example 25.00."),
    ("1000000.01", "The amount can be at most £1,000,000.00."),
    ("9" * 40, "The amount can be at most £1,000,000.00."),
]


# Every URL: anonymous visitors go to the login page ------------------------------------------


@pytest.fixture
def a_credit(customer, staff):
    return credit_for(customer, "250.00", by=staff)


def every_url(credit: Credit, batch: CreditBatch, assignment: CreditAssignment) -> list[tuple[str, str]]:
    return [
        ("get", reverse("credits:list")),
        ("get", reverse("credits:export")),
        ("get", reverse("credits:add")),
        ("post", reverse("credits:add")),
        ("get", reverse("credits:customer_search")),
        ("get", reverse("credits:bulk")),
        ("post", reverse("credits:bulk")),
        ("get", reverse("credits:batch_detail", args=[batch.pk])),
        ("get", reverse("credits:batch_undo", args=[batch.pk])),
        ("post", reverse("credits:batch_undo", args=[batch.pk])),
        ("get", reverse("credits:detail", args=[credit.pk])),
        ("get", reverse("credits:edit", args=[credit.pk])),
        ("post", reverse("credits:edit", args=[credit.pk])),
        ("get", reverse("credits:delete", args=[credit.pk])),
        ("post", reverse("credits:delete", args=[credit.pk])),
        ("get", reverse("credits:assignments", args=[credit.pk])),
        ("get", reverse("credits:assign", args=[credit.pk])),
        ("post", reverse("credits:assign", args=[credit.pk])),
        ("post", reverse("credits:unassign", args=[credit.pk, assignment.pk])),
        ("get", reverse("credits:history", args=[credit.pk])),
    ]


def test_it_sends_anonymous_visitors_to_log_in_from_every_url(client, customer, staff):
    credit = credit_for(customer, "250.00", by=staff)
    invoice = invoice_for(customer, "100.00")
    [assignment] = credits.assign_credit(credit, {invoice: "50.00"})
    batch = credits.add_bulk_credits([customer], "5.00")
    before = ledger()
    for method, url in every_url(credit, batch, assignment):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(f"{reverse('login')}?next="), url
    assert ledger() == before


def test_it_refuses_billing_staff_every_manager_action_and_writes_nothing(staff_client, customer, staff):
    credit = credit_for(customer, "250.00", by=staff)
    batch = credits.add_bulk_credits([customer], "5.00")
    before = ledger()
    manager_only = [
        ("get", reverse("credits:bulk"), {}, "add bulk credits"),
        ("post", reverse("credits:bulk"), {"customer": customer.pk, **bulk_form()}, "add bulk credits"),
        ("get", reverse("credits:batch_undo", args=[batch.pk]), {}, "undo a bulk batch"),
        ("post", reverse("credits:batch_undo", args=[batch.pk]), {}, "undo a bulk batch"),
        ("get", reverse("credits:delete", args=[credit.pk]), {}, "delete credits"),
        ("post", reverse("credits:delete", args=[credit.pk]), {}, "delete credits"),
    ]
    for method, url, data, doing in manager_only:
        response = getattr(staff_client, method)(url, data)
        assert response.status_code == 403, url
        assert parse(response).one("p", class_="lead").text == (
            f"Only Managers can {doing}. Your role, Billing staff, cannot: ask a manager."
        ), url
    assert ledger() == before


def test_it_refuses_a_user_without_credit_permissions(client, customer):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="nobody"))
    credit = credit_for(customer)
    for url in [
        reverse("credits:list"),
        reverse("credits:add"),
        reverse("credits:detail", args=[credit.pk]),
        reverse("credits:assign", args=[credit.pk]),
        reverse("credits:export"),
    ]:
        assert client.get(url).status_code == 403, url


def test_it_refuses_other_methods(manager_client, a_credit):
    assert manager_client.post(reverse("credits:list")).status_code == 405
    assert manager_client.post(reverse("credits:detail", args=[a_credit.pk])).status_code == 405
    assert manager_client.put(reverse("credits:unassign", args=[a_credit.pk, 1])).status_code == 405


# Add Credit ------------------------------------------------------------------------------------


def test_it_shows_the_add_credit_form_with_today_and_auto_apply_on(staff_client):
    response = staff_client.get(reverse("credits:add"))
    assert response.status_code == 200
    panel = parse(response).one(id="credit-form-panel")
    assert panel.one("form", role="search")["hx-get"] == "/billing/add-credit/customers/"  # the customer picker
    form = panel.one("form", id="credit-form")
    assert [label.text.removesuffix(" *") for label in panel.find_all("label")] == [
        "Customer",
        "Payment date",
        "Amount",
        "Reason",
        "Note",
        "Apply the remaining balance automatically to the next invoice",
        "Email the credit note",
    ]
    assert not form.one("input", name="email_credit_note").has("checked")  # off by default
    date = form.one("input", name="date")
    assert (date["type"], date["value"]) == ("date", timezone.localdate().isoformat())
    assert form.one("input", name="auto_apply").has("checked")
    assert [option["value"] for option in form.one("select", name="reason").find_all("option", selected=True)] == [
        "cancelled_class"
    ]
    assert form.one("input", name="idempotency_key")["value"]
    assert form.one("button", type="submit").text == "Create"


def test_it_adds_a_credit_and_says_so(staff_client, customer, staff):
    response = staff_client.post(reverse("credits:add"), credit_form(customer, note="Half term"))
    credit = Credit.objects.get()
    assert response.status_code == 303
    assert response["Location"] == reverse("credits:detail", args=[credit.pk])
    assert (credit.customer, credit.amount, credit.reason, credit.note, credit.auto_apply, credit.created_by) == (
        customer,
        Decimal("250.00"),
        "cancelled_class",
        "Half term",
        True,
        staff,
    )
    page = staff_client.get(response["Location"])
    assert "Credit of £250.00 added for Amy Parent." in text(page)


def test_it_keeps_auto_apply_off_when_unticked(staff_client, customer):
    staff_client.post(reverse("credits:add"), credit_form(customer, auto_apply=None))
    assert Credit.objects.get().auto_apply is False


def test_it_goes_back_to_a_safe_next_page_only(staff_client, customer):
    billing_tab = f"/customers/{customer.pk}/billing/"
    response = staff_client.post(
        f"{reverse('credits:add')}?customer={customer.pk}", {**credit_form(customer), "next": billing_tab}
    )
    assert response["Location"] == billing_tab
    response = staff_client.post(
        reverse("credits:add"), {**credit_form(customer, amount="5.00"), "next": "https://evil.example/steal"}
    )
    assert response["Location"] == Credit.objects.order_by("-id").first().get_absolute_url()


@pytest.mark.parametrize(("amount", "message"), BAD_AMOUNTS)
def test_it_refuses_a_bad_amount_next_to_the_field(staff_client, customer, amount, message):
    before = ledger()
    response = staff_client.post(reverse("credits:add"), credit_form(customer, amount=amount))
    assert response.status_code == 422
    assert message in text(response)
    assert 'id="id_amount_error"' in text(response)
    assert ledger() == before


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"customer": None}, "Choose a customer."),
        ({"customer": "999999"}, "That customer does not exist: search again."),
        ({"customer": "abc"}, "That customer does not exist: search again."),
        ({"date": "not a date"}, "Enter a date like 2026-01-31."),
        ({"date": "2001-01-01"}, "That date is more than ten years ago."),
        ({"reason": "bribe"}, "Choose a reason from the list."),
        ({"note": "x" * 2001}, "Keep the note under 2,000 characters."),
        ({"idempotency_key": None}, "This form has expired"),
    ],
)
def test_it_refuses_other_bad_input_with_a_message(staff_client, customer, changes, message):
    before = ledger()
    response = staff_client.post(reverse("credits:add"), credit_form(customer, **changes))
    assert response.status_code == 422
    assert message in text(response)
    assert ledger() == before


def test_it_keeps_the_chosen_customer_when_the_form_comes_back(staff_client, customer):
    response = staff_client.post(reverse("credits:add"), credit_form(customer, amount="abc"))
    assert response.status_code == 422
    [chosen] = parse(response).find_all("input", name="customer", checked=True)
    assert (chosen["value"], chosen["form"]) == (str(customer.pk), "credit-form")


def test_it_creates_one_credit_when_the_same_form_is_sent_twice(staff_client, customer):
    data = credit_form(customer)
    first = staff_client.post(reverse("credits:add"), data)
    second = staff_client.post(reverse("credits:add"), data)
    assert Credit.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_a_form_sent_again_after_its_credit_was_deleted_says_so_and_adds_nothing(staff_client, customer):
    data = credit_form(customer)
    staff_client.post(reverse("credits:add"), data)
    credits.delete_credit(Credit.objects.get())
    before = ledger()
    response = staff_client.post(reverse("credits:add"), data)
    assert response.status_code == 422
    assert "This form already made a credit, which has since been deleted. Reload the page" in text(response)
    assert ledger() == before


def test_it_points_out_an_identical_credit_sent_again_from_a_fresh_form(staff_client, customer):
    """The back button on a browser that reloads the form gives a new key: the twin is caught all the same."""
    staff_client.post(reverse("credits:add"), credit_form(customer))
    before = ledger()
    response = staff_client.post(reverse("credits:add"), credit_form(customer))
    assert response.status_code == 422
    first = Credit.objects.get()
    at = timezone.localtime(first.created_at).strftime("%H:%M")
    assert f"You added the same credit (£250.00 for Amy Parent) at {at}." in text(response)
    assert "Yes, add another identical credit" in text(response) and first.get_absolute_url() in text(response)
    assert ledger() == before
    # A different credit is not a twin; and ticking the box makes the second one on purpose.
    staff_client.post(reverse("credits:add"), credit_form(customer, amount="251.00"))
    assert Credit.objects.count() == 2
    staff_client.post(reverse("credits:add"), credit_form(customer, again="on"))
    assert Credit.objects.filter(amount=Decimal("250.00")).count() == 2


def test_it_fixes_the_customer_when_opened_from_a_profile(staff_client, customer):
    other = CustomerFactory(name="Zed Other")
    response = staff_client.get(
        f"{reverse('credits:add')}?customer={customer.pk}&next=/customers/{customer.pk}/billing/"
    )
    page = text(response)
    assert "Amy Parent" in page and 'id="customer-search"' not in page
    assert f'<input type="hidden" name="customer" value="{customer.pk}">' in page
    # Whatever the post says, the fixed customer gets the credit; then back to their Billing tab.
    response = staff_client.post(f"{reverse('credits:add')}?customer={customer.pk}", credit_form(other))
    assert Credit.objects.get().customer == customer
    assert response["Location"] == f"/customers/{customer.pk}/billing/"


def test_it_returns_the_form_partial_for_the_profile_dialog(staff_client, customer):
    url = f"{reverse('credits:add')}?customer={customer.pk}&next=/customers/{customer.pk}/billing/"
    response = staff_client.get(url, headers=htmx())
    page = text(response)
    assert response.status_code == 200
    assert "<html" not in page
    assert 'id="modal-title"' in page and "Add Credit for Amy Parent" in page
    assert 'hx-post="' in page and "data-close-modal" in page
    assert response["Vary"].count("HX-Request") == 1


def test_it_redirects_the_whole_page_after_an_htmx_post(staff_client, customer):
    url = f"{reverse('credits:add')}?customer={customer.pk}"
    response = staff_client.post(
        url, {**credit_form(customer), "next": f"/customers/{customer.pk}/billing/"}, headers=htmx()
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/customers/{customer.pk}/billing/"
    bad = staff_client.post(url, credit_form(customer, amount="0"), headers=htmx())
    assert bad.status_code == 422 and "<html" not in text(bad) and "The amount must be more than zero." in text(bad)
    assert Credit.objects.count() == 1


def test_it_gives_404_for_an_unknown_fixed_customer(staff_client):
    assert staff_client.get(f"{reverse('credits:add')}?customer=999999").status_code == 404
    assert staff_client.get(f"{reverse('credits:add')}?customer=x").status_code == 404


# The customer picker -----------------------------------------------------------------------------


def test_it_finds_customers_as_you_type(staff_client, customer):
    CustomerFactory(name="Ben Other", email="ben@example.com")
    response = staff_client.get(reverse("credits:customer_search"), {"customer_q": "amy"}, headers=htmx())
    page = text(response)
    assert response.status_code == 200 and "<html" not in page
    assert "Amy Parent" in page and customer.email in page and "Ben Other" not in page
    assert f'type="radio" name="customer" value="{customer.pk}"' in page
    assert "<legend>Choose the customer</legend>" in page


def test_it_says_when_nobody_matches_and_keeps_the_chosen_customer(staff_client, customer):
    response = staff_client.get(
        reverse("credits:customer_search"), {"customer_q": "zzz", "customer": customer.pk}, headers=htmx()
    )
    [chosen] = parse(response).find_all("input", name="customer", checked=True)
    assert (chosen["value"], chosen.parent.text) == (str(customer.pk), f"Amy Parent {customer.email}")
    response = staff_client.get(reverse("credits:customer_search"), {"customer_q": "zzz"}, headers=htmx())
    assert "No customer matches “zzz”." in text(response)


def test_it_searches_without_javascript_on_the_add_page(staff_client, customer):
    response = staff_client.get(reverse("credits:customer_search"), {"customer_q": "amy"})
    assert response.status_code == 302 and response["Location"] == f"{reverse('credits:add')}?customer_q=amy"
    page = text(staff_client.get(response["Location"]))
    assert "<html" in page and f'value="{customer.pk}" form="credit-form"' in page


def test_the_picker_takes_any_typing(staff_client, customer):
    """A NUL byte (which PostgreSQL text cannot hold) used to answer 500 here; it is dropped, as the billing pickers do."""
    response = staff_client.get(
        reverse("credits:customer_search"), {"customer_q": "am\x00y", "customer": "²"}, headers=htmx()
    )
    assert response.status_code == 200 and "Amy Parent" in text(response)
    response = staff_client.get(reverse("credits:add"), {"customer_q": "am\x00y"})
    assert response.status_code == 200 and f'value="{customer.pk}" form="credit-form"' in text(response)


def test_the_picker_query_count_does_not_grow_with_customers(page_queries, staff_client):
    CustomerFactory.create_batch(3, name="Amy Match")
    few = page_queries(staff_client, f"{reverse('credits:add')}?customer_q=amy")
    CustomerFactory.create_batch(30, name="Amy Match")
    page_queries(staff_client, f"{reverse('credits:add')}?customer_q=amy", exactly=few)


# Bulk credits and batches ---------------------------------------------------------------------------


@pytest.fixture
def ballet(db):
    return CustomerFactory.create_batch(3, tags=["Ballet Tue 4pm"])


@pytest.fixture
def swim(db):
    return CustomerFactory.create_batch(2, tags=["Swim Sat 10am"])


def test_it_shows_the_ticked_customers_on_the_bulk_page(manager_client, ballet):
    response = manager_client.get(reverse("credits:bulk"), {"customer": [c.pk for c in ballet[:2]]})
    page = text(response)
    assert response.status_code == 200
    assert "2 customers</strong> chosen" in page
    assert all(customer.name in page for customer in ballet[:2]) and ballet[2].name not in page
    assert page.count('type="hidden" name="customer"') == 2
    assert "Payment date" in page and "Apply the remaining balance automatically to the next invoice" in page


def test_it_counts_all_matching_customers_of_the_list_filter(manager_client, ballet, swim):
    response = manager_client.get(reverse("credits:bulk"), {"all_matching": "1", "tag": "Ballet Tue 4pm"})
    page = text(response)
    assert "3 customers</strong> match" in page
    assert 'name="all_matching" value="1"' in page and 'value="Ballet Tue 4pm"' in page
    assert '<option value="Swim Sat 10am"></option>' in page  # the tag suggestions


def test_it_updates_the_summary_as_you_choose(manager_client, ballet, swim):
    response = manager_client.get(
        reverse("credits:bulk"), {"all_matching": "1", "tag": "Swim Sat 10am", "amount": "20"}, headers=htmx()
    )
    page = text(response)
    assert response.status_code == 200 and "<html" not in page
    assert "2 customers × £20.00 = <strong>£40.00</strong>" in page
    assert '<input type="hidden" name="expected_count" value="2">' in page


def test_it_creates_a_batch_for_the_ticked_customers(manager_client, manager, ballet, swim):
    data = {"customer": [c.pk for c in ballet], "expected_count": "3", **bulk_form()}
    response = manager_client.post(reverse("credits:bulk"), data)
    batch = CreditBatch.objects.get()
    assert response.status_code == 303 and response["Location"] == reverse("credits:batch_detail", args=[batch.pk])
    assert (batch.count, batch.total, batch.created_by) == (3, Decimal("60.00"), manager)
    assert set(Credit.objects.values_list("customer_id", flat=True)) == {c.pk for c in ballet}
    page = text(manager_client.get(response["Location"]))
    assert "3 credits of £20.00 added (£60.00 in total)." in page


def test_it_creates_a_batch_for_all_matching_the_filter(manager_client, ballet, swim):
    data = {"all_matching": "1", "tag": "Swim Sat 10am", "q": "", "expected_count": "2", **bulk_form()}
    manager_client.post(reverse("credits:bulk"), data)
    assert set(Credit.objects.values_list("customer_id", flat=True)) == {c.pk for c in swim}


def test_it_credits_only_customers_with_an_outstanding_balance_when_asked(manager_client, ballet):
    owing = ballet[0]
    invoice_for(owing, "30.00")
    data = {"all_matching": "1", "tag": "Ballet Tue 4pm", "outstanding": "true", "expected_count": "1", **bulk_form()}
    response = manager_client.post(reverse("credits:bulk"), data)
    assert response.status_code == 303
    assert list(Credit.objects.values_list("customer_id", flat=True)) == [owing.pk]


def test_it_leaves_archived_customers_out_of_all_matching_as_the_customer_list_does(manager_client, ballet):
    archived = ballet[2]
    archived.archived = True
    archived.save()
    page = text(manager_client.get(reverse("credits:bulk"), {"all_matching": "1", "tag": "Ballet Tue 4pm"}))
    assert "2 customers</strong> match" in page and archived.name not in page


def test_it_refuses_when_the_choice_changed_since_the_summary(manager_client, ballet):
    before = ledger()
    data = {"all_matching": "1", "tag": "Ballet Tue 4pm", "expected_count": "2", **bulk_form()}
    response = manager_client.post(reverse("credits:bulk"), data)
    assert response.status_code == 422
    assert "The choice now matches 3 customers, not 2." in text(response)
    assert '<input type="hidden" name="expected_count" value="3">' in text(response)
    assert ledger() == before


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        ({}, "Choose at least one customer."),
        ({"customer": ["12", "abc"]}, "Choose customers from the customer list."),
        ({"all_matching": "1", "q": "nobody-by-this-name"}, "Choose at least one customer."),
        ({"customer": ["999999"]}, "1 of the chosen customers do not exist."),
    ],
)
def test_it_refuses_a_bad_choice_of_customers(manager_client, ballet, selection, message):
    before = ledger()
    response = manager_client.post(reverse("credits:bulk"), {**selection, **bulk_form()})
    assert response.status_code == 422
    assert message in text(response)
    assert ledger() == before


@pytest.mark.parametrize(("amount", "message"), BAD_AMOUNTS)
def test_it_refuses_a_bad_bulk_amount(manager_client, ballet, amount, message):
    before = ledger()
    response = manager_client.post(
        reverse("credits:bulk"), {"customer": [c.pk for c in ballet], **bulk_form(amount=amount)}
    )
    assert response.status_code == 422 and message in text(response)
    assert ledger() == before


def test_it_creates_one_batch_when_create_is_sent_twice(manager_client, ballet):
    data = {"customer": [c.pk for c in ballet], **bulk_form()}
    first = manager_client.post(reverse("credits:bulk"), data)
    second = manager_client.post(reverse("credits:bulk"), data)
    assert CreditBatch.objects.count() == 1 and Credit.objects.count() == 3
    assert first["Location"] == second["Location"]


def test_it_points_out_an_identical_batch_sent_again_from_a_fresh_form(manager_client, ballet):
    manager_client.post(reverse("credits:bulk"), {"customer": [c.pk for c in ballet], **bulk_form()})
    batch = CreditBatch.objects.get()
    before = ledger()
    response = manager_client.post(reverse("credits:bulk"), {"customer": [c.pk for c in ballet], **bulk_form()})
    assert response.status_code == 422
    assert f"You made the same bulk credit (bulk batch #{batch.pk}: 3 × £20.00)" in text(response)
    assert ledger() == before
    manager_client.post(reverse("credits:bulk"), {"customer": [c.pk for c in ballet], **bulk_form(again="on")})
    assert CreditBatch.objects.count() == 2


def test_the_snow_day_two_classes_credited_the_same_amount_a_minute_apart_are_both_made(manager_client, ballet, swim):
    """The bulk "same again?" check compares whom it credits: Swim after Ballet, both £8.31, is not a twin."""
    swim.append(CustomerFactory(tags=["Swim Sat 10am"]))  # as many as Ballet: counting them would not tell
    for tag, count in [("Ballet Tue 4pm", 3), ("Swim Sat 10am", 3)]:
        data = {"all_matching": "1", "q": "", "tag": tag, "outstanding": "", "expected_count": str(count)}
        response = manager_client.post(reverse("credits:bulk"), {**data, **bulk_form(amount="8.31")})
        assert response.status_code == 303, text(response)
    batches = CreditBatch.objects.order_by("id")
    assert [(b.count, b.total) for b in batches] == [(3, Decimal("24.93")), (3, Decimal("24.93"))]
    assert {c.customer_id for c in Credit.objects.filter(batch=batches[1])} == {c.pk for c in swim}


def test_the_same_class_credited_again_from_a_fresh_form_is_pointed_out(manager_client, ballet, swim):
    data = {"all_matching": "1", "q": "", "tag": "Ballet Tue 4pm", "outstanding": "", "expected_count": "3"}
    manager_client.post(reverse("credits:bulk"), {**data, **bulk_form(amount="8.31")})
    batch = CreditBatch.objects.get()
    before = ledger()
    response = manager_client.post(reverse("credits:bulk"), {**data, **bulk_form(amount="8.31")})
    assert response.status_code == 422
    assert f"You made the same bulk credit (bulk batch #{batch.pk}: 3 × £8.31)" in text(response)
    assert ledger() == before
    again = manager_client.post(reverse("credits:bulk"), {**data, **bulk_form(amount="8.31", again="on")})
    assert again.status_code == 303 and CreditBatch.objects.count() == 2


def test_a_bulk_form_sent_again_after_its_batch_was_undone_says_so_and_makes_nothing(manager_client, ballet):
    data = {"customer": [c.pk for c in ballet], **bulk_form()}
    manager_client.post(reverse("credits:bulk"), data)
    batch = CreditBatch.objects.get()
    credits.undo_batch(batch)
    before = ledger()
    response = manager_client.post(reverse("credits:bulk"), data)
    assert response.status_code == 422
    assert f"This form already made bulk batch #{batch.pk}, which has since been undone." in text(response)
    assert ledger() == before


# Nobody is chosen until someone chooses; above CONFIRM_ABOVE customers Create asks once more (issue 10, item 1).

NOBODY = {"all_matching": "1", "q": "", "tag": "", "outstanding": ""}


def test_the_bulk_page_opens_with_nobody_chosen(manager_client, ballet, swim):
    page = parse(manager_client.get(reverse("credits:bulk")))
    selection = page.one(id="selection")
    assert selection.text == page.one(id="bulk-summary").text == "No customers chosen yet."
    assert selection.one("input", name="expected_count")["value"] == "0"
    assert not any(customer.name in selection.text for customer in ballet + swim)
    assert not page.one("input", id="bulk-everyone", name="everyone", value="1").has("checked")
    assert page.one("label", for_="bulk-everyone").text == "All customers"


@pytest.mark.parametrize("choice", [{}, {"q": "   "}, {"tag": ""}, {"everyone": "0"}])
def test_it_refuses_to_create_until_customers_are_chosen(manager_client, ballet, choice):
    before = ledger()
    response = manager_client.post(reverse("credits:bulk"), {**NOBODY, **choice, "expected_count": "0", **bulk_form()})
    assert response.status_code == 422
    assert parse(response).find_all("p", containing=NOBODY_CHOSEN)
    assert ledger() == before


def test_all_customers_is_chosen_on_purpose(manager_client, ballet, swim):
    page = parse(manager_client.get(reverse("credits:bulk"), {**NOBODY, "everyone": "1"}))
    assert page.one("p", class_="selection-count").text.startswith("5 customers match:")
    assert page.one("input", id="bulk-everyone").has("checked")
    response = manager_client.post(
        reverse("credits:bulk"), {**NOBODY, "everyone": "1", "expected_count": "5", **bulk_form()}
    )
    assert response.status_code == 303
    assert set(Credit.objects.values_list("customer_id", flat=True)) == {c.pk for c in ballet + swim}


def test_all_customers_with_a_filter_credits_those_the_filter_lets_through(manager_client, ballet, swim):
    data = {**NOBODY, "tag": "Swim Sat 10am", "everyone": "1", "expected_count": "2", **bulk_form()}
    assert manager_client.post(reverse("credits:bulk"), data).status_code == 303
    assert set(Credit.objects.values_list("customer_id", flat=True)) == {c.pk for c in swim}


@pytest.fixture
def studio(db):
    """One more customer than a bulk credit makes without asking again."""
    return CustomerFactory.create_batch(CONFIRM_ABOVE + 1, tags=["Studio"])


def question(response) -> tuple[str, str, str]:
    """The question asked before a large bulk credit, its Yes button's words, and what that button says yes to."""
    page = parse(response)
    yes = page.one("button", name="confirmed")
    return page.one("p", id="confirm-question").text, yes.text, yes["value"]


def test_above_fifty_customers_create_asks_once_more_with_the_count_and_the_total(manager_client, studio):
    data = {**NOBODY, "tag": "Studio", "expected_count": "51", **bulk_form(amount="10.00")}
    before = ledger()
    response = manager_client.post(reverse("credits:bulk"), data)
    assert response.status_code == 200
    asked, yes, confirmation = question(response)
    assert (asked, yes) == ("Credit 51 customers £10.00 each — £510.00?", "Yes, credit 51 customers")
    assert not parse(response).find_all("button", containing="Create")
    assert ledger() == before

    response = manager_client.post(reverse("credits:bulk"), {**data, "confirmed": confirmation})
    batch = CreditBatch.objects.get()
    assert response.status_code == 303 and response["Location"] == batch.get_absolute_url()
    assert (batch.count, batch.total) == (51, Decimal("510.00"))


def test_fifty_customers_are_credited_without_the_question(manager_client, studio):
    studio[0].delete()
    data = {**NOBODY, "tag": "Studio", "expected_count": "50", **bulk_form(amount="10.00")}
    assert manager_client.post(reverse("credits:bulk"), data).status_code == 303
    assert CreditBatch.objects.get().count == 50


def test_fifty_one_ticked_customers_are_asked_about_too(manager_client, studio):
    data = {"customer": [c.pk for c in studio], **bulk_form(amount="2.50")}
    response = manager_client.post(reverse("credits:bulk"), data)
    assert response.status_code == 200
    assert question(response)[:2] == ("Credit 51 customers £2.50 each — £127.50?", "Yes, credit 51 customers")
    assert not CreditBatch.objects.exists()
    assert manager_client.post(reverse("credits:bulk"), {**data, "confirmed": question(response)[2]}).status_code == 303
    assert CreditBatch.objects.get().count == 51


@pytest.mark.parametrize(
    ("change", "joins", "asked"),
    [
        ({"amount": "11.00"}, 0, "Credit 51 customers £11.00 each — £561.00?"),
        ({"tag": "Other"}, 0, "Credit 51 customers £10.00 each — £510.00?"),  # as many customers, other ones
        ({"expected_count": "52"}, 1, "Credit 52 customers £10.00 each — £520.00?"),  # one joined the class meanwhile
    ],
    ids=["another-amount", "another-class-as-many", "a-customer-added-meanwhile"],
)
def test_a_yes_to_another_choice_or_amount_asks_again_and_writes_nothing(manager_client, studio, change, joins, asked):
    CustomerFactory.create_batch(51, tags=["Other"])
    data = {**NOBODY, "tag": "Studio", "expected_count": "51", **bulk_form(amount="10.00")}
    _, _, confirmation = question(manager_client.post(reverse("credits:bulk"), data))
    CustomerFactory.create_batch(joins, tags=["Studio"])
    before = ledger()
    response = manager_client.post(reverse("credits:bulk"), {**data, **change, "confirmed": confirmation})
    assert response.status_code == 200
    again = question(response)
    assert again[0] == asked and again[2] != confirmation
    assert ledger() == before


def test_a_stale_yes_below_fifty_asks_again(manager_client, studio):
    data = {**NOBODY, "tag": "Studio", "expected_count": "51", **bulk_form(amount="10.00")}
    _, _, confirmation = question(manager_client.post(reverse("credits:bulk"), data))
    for customer in studio[:11]:
        customer.delete()
    response = manager_client.post(reverse("credits:bulk"), {**data, "expected_count": "40", "confirmed": confirmation})
    assert response.status_code == 200
    assert question(response)[:2] == ("Credit 40 customers £10.00 each — £400.00?", "Yes, credit 40 customers")
    assert not CreditBatch.objects.exists()


def test_a_new_summary_puts_create_back_in_place_of_the_question(manager_client, studio):
    response = manager_client.get(reverse("credits:bulk"), {**NOBODY, "tag": "Studio", "amount": "3"}, headers=htmx())
    page = parse(response)
    actions = page.one(id="bulk-actions", hx_swap_oob="true")
    assert [button.text for button in actions.find_all("button")] == ["Create"]
    assert page.one("p", class_="selection-count").text.startswith("51 customers match:")


def test_it_writes_the_summary_money_the_way_people_do(manager_client):
    CustomerFactory.create_batch(3)
    query = {"all_matching": "1", "everyone": "1", "amount": "1000"}
    page = text(manager_client.get(reverse("credits:bulk"), query, headers=htmx()))
    assert "3 customers × £1,000.00 = <strong>£3,000.00</strong>" in page


def test_the_bulk_page_query_count_does_not_grow_with_customers(page_queries, manager_client):
    CustomerFactory.create_batch(3)
    few = page_queries(manager_client, f"{reverse('credits:bulk')}?all_matching=1&everyone=1&amount=5")
    CustomerFactory.create_batch(30)
    page_queries(manager_client, f"{reverse('credits:bulk')}?all_matching=1&everyone=1&amount=5", exactly=few)


@pytest.fixture
def batch(ballet, manager):
    return credits.add_bulk_credits(ballet, "20.00", reason="goodwill", note="Snow day", by=manager)


def test_it_shows_the_batch(staff_client, batch, ballet):
    response = staff_client.get(reverse("credits:batch_detail", args=[batch.pk]))
    page = text(response)
    assert response.status_code == 200
    for words in [
        "Bulk batch #",
        "maria.manager",
        "£20.00",
        "£60.00",
        "Goodwill",
        "Snow day",
        *[c.name for c in ballet],
    ]:
        assert words in page
    assert ">Undo<" not in page  # staff may look, not undo


def test_it_offers_undo_to_managers_until_a_credit_is_assigned(manager_client, batch, ballet):
    assert ">Undo<" in text(manager_client.get(reverse("credits:batch_detail", args=[batch.pk])))
    invoice = invoice_for(ballet[0], "50.00")
    credits.apply_available_credit(invoice)
    page = text(manager_client.get(reverse("credits:batch_detail", args=[batch.pk])))
    assert ">Undo<" not in page and "can no longer be undone" in page


def test_it_returns_the_batch_table_partial(staff_client, batch):
    response = staff_client.get(reverse("credits:batch_detail", args=[batch.pk]), headers=htmx())
    assert response.status_code == 200 and "<html" not in text(response) and 'id="table"' in text(response)


def test_the_batch_page_query_count_does_not_grow_with_credits(page_queries, staff_client, manager):
    small = credits.add_bulk_credits(CustomerFactory.create_batch(3), "5.00", by=manager)
    large = credits.add_bulk_credits(CustomerFactory.create_batch(30), "5.00", by=manager)
    few = page_queries(staff_client, reverse("credits:batch_detail", args=[small.pk]))
    page_queries(staff_client, reverse("credits:batch_detail", args=[large.pk]), exactly=few)


def test_it_undoes_a_batch_after_confirmation(manager_client, batch):
    confirm = manager_client.get(reverse("credits:batch_undo", args=[batch.pk]))
    assert "This removes the <strong>3 credits</strong>" in text(confirm)
    assert Credit.objects.count() == 3
    response = manager_client.post(reverse("credits:batch_undo", args=[batch.pk]), follow=True)
    assert Credit.objects.count() == 0
    batch.refresh_from_db()
    assert batch.is_undone
    assert f"Bulk batch #{batch.pk} undone: its 3 credits were removed." in text(response)
    assert "Undone on" in text(response)


def test_it_refuses_to_undo_a_batch_with_an_assigned_credit(manager_client, batch, ballet):
    credits.apply_available_credit(invoice_for(ballet[0], "50.00"))
    before = ledger()
    response = manager_client.post(reverse("credits:batch_undo", args=[batch.pk]))
    assert response.status_code == 422
    assert "1 of this batch's credits is already assigned to invoices. Remove those assignments first." in text(
        response
    )
    assert ledger() == before


def test_it_refuses_to_undo_a_batch_twice(manager_client, batch):
    manager_client.post(reverse("credits:batch_undo", args=[batch.pk]))
    before = ledger()
    response = manager_client.post(reverse("credits:batch_undo", args=[batch.pk]))
    assert response.status_code == 422 and "This batch has already been undone." in text(response)
    assert ledger() == before


def test_it_gives_404_for_an_unknown_batch(manager_client):
    assert manager_client.get(reverse("credits:batch_detail", args=[999999])).status_code == 404
    assert manager_client.post(reverse("credits:batch_undo", args=[999999])).status_code == 404


# Billing › Credits ----------------------------------------------------------------------------------


def test_it_lists_credits_with_their_figures(staff_client, customer, manager):
    credit = credit_for(customer, "250.00", by=manager, reason="refund")
    credits.assign_credit(credit, {invoice_for(customer, "100.00"): "100.00"})
    response = staff_client.get(reverse("credits:list"))
    page = text(response)
    assert parse(response).one("table").rows() == [
        {
            "Credit note": credit.display_number,
            "Date": dateformat.format(timezone.localdate(), "j M Y"),
            "Customer": "Amy Parent",
            "Amount": "£250.00",
            "Assigned": "£100.00",
            "Refunded": "£0.00",
            "Remaining": "£150.00",
            "Status": "Part-assigned",
            "Reason": "Refund",
            "Created by": "maria.manager",  # who added it (Sam is looking: the page's header names him)
            "Credit": "View credit for Amy Parent",
        }
    ]
    view = parse(response).one("table").one("a", containing="View credit")
    assert view["href"] == credit.get_absolute_url()
    for words in [
        '<span class="badge badge-part_assigned">Part-assigned</span>',
        credit.get_absolute_url(),
        ">Add Credit<",
        "Export CSV",
    ]:
        assert words in page
    assert "Add Bulk Credits" not in page  # managers only


def test_it_shows_add_bulk_credits_to_managers(manager_client):
    assert "Add Bulk Credits" in text(manager_client.get(reverse("credits:list")))


def test_it_searches_and_filters_the_list(staff_client, customer):
    credit_for(customer, "11.00")
    other = credit_for(CustomerFactory(name="Ben Other"), "22.00")
    credits.assign_credit(other, {invoice_for(other.customer, "22.00"): "22.00"})
    page = text(staff_client.get(reverse("credits:list"), {"q": "amy"}))
    assert "£11.00" in page and "£22.00" not in page
    page = text(staff_client.get(reverse("credits:list"), {"status": "fully_assigned"}))
    assert "£22.00" in page and "£11.00" not in page
    page = text(staff_client.get(reverse("credits:list"), {"reason": "refund"}))
    assert "No credits match." in page


def test_it_returns_the_table_partial_for_htmx(staff_client, customer):
    credit_for(customer, "11.00")
    response = staff_client.get(reverse("credits:list"), {"q": "amy", "sort": "amount"}, headers=htmx())
    page = text(response)
    assert response.status_code == 200 and "<html" not in page and 'id="table"' in page and "£11.00" in page
    assert "export/?q=amy&sort=amount" in page


def test_it_keeps_the_sort_order_when_the_filters_change(staff_client):
    page = text(staff_client.get(reverse("credits:list"), {"sort": "-amount"}, headers=htmx()))
    assert '<input type="hidden" name="sort" value="-amount" form="credit-filter">' in page


def test_it_says_what_is_wrong_with_a_filter_and_still_lists(staff_client, customer):
    credit_for(customer, "11.00")
    response = staff_client.get(reverse("credits:list"), {"date_from": "yesterday"})
    assert response.status_code == 200
    assert "Enter a valid date." in text(response) and "£11.00" in text(response)


def test_it_returns_the_whole_page_to_an_htmx_history_restore(staff_client):
    response = staff_client.get(reverse("credits:list"), {"q": "amy"}, headers=htmx(history_restore=True))
    assert "<html" in text(response)


def test_the_list_query_count_does_not_grow_with_rows(page_queries, staff_client, staff):
    for _ in range(3):
        credit_for(CustomerFactory(), "5.00", by=staff)
    few = page_queries(staff_client, reverse("credits:list"))
    for _ in range(27):
        credit_for(CustomerFactory(), "5.00", by=staff)
    page_queries(staff_client, reverse("credits:list"), exactly=few)
    page_queries(staff_client, f"{reverse('credits:list')}?page=2", exactly=few)


def test_it_exports_the_filtered_credits_as_csv(staff_client, customer, staff):
    credit = credit_for(customer, "250.00", by=staff, reason="cancelled_class")
    credits.assign_credit(credit, {invoice_for(customer, "100.00"): "100.00"})
    credit_for(CustomerFactory(name="=HYPERLINK(evil)"), "9.99")
    credit_for(CustomerFactory(name="Bob Smith"), "1.00")
    response = staff_client.get(reverse("credits:export"), {"q": "e", "sort": "amount"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="credits-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    numbers = dict(Credit.objects.values_list("customer__name", "number"))
    assert [row[0] for row in rows] == ["Credit note"] + [
        f"CN-{numbers[row[2].lstrip(chr(39))]:06d}" for row in rows[1:]
    ]
    rows = [row[1:] for row in rows]
    assert rows[0] == [
        "Date",
        "Customer",
        "Amount",
        "Assigned",
        "Refunded",
        "Remaining",
        "Status",
        "Reason",
        "Created by",
    ]
    assert rows[1:] == [
        [
            timezone.localdate().isoformat(),
            "'=HYPERLINK(evil)",
            "9.99",
            "0.00",
            "0.00",
            "9.99",
            "Unassigned",
            "Other",
            "",
        ],
        [
            timezone.localdate().isoformat(),
            "Amy Parent",
            "250.00",
            "100.00",
            "0.00",
            "150.00",
            "Part-assigned",
            "Cancelled class",
            "sam.staff",
        ],
    ]


def test_the_export_query_count_does_not_grow_with_rows(page_queries, staff_client):
    for _ in range(3):
        credit_for(CustomerFactory(), "5.00")
    few = page_queries(staff_client, reverse("credits:export"))
    for _ in range(30):
        credit_for(CustomerFactory(), "5.00")
    page_queries(staff_client, reverse("credits:export"), exactly=few)


# A credit's Details tab, Modify and Delete ------------------------------------------------------------


def test_it_shows_a_credit(staff_client, a_credit):
    response = staff_client.get(reverse("credits:detail", args=[a_credit.pk]))
    page = text(response)
    for words in [
        "Credit for",
        "Amy Parent",
        "£250.00",
        "Unassigned",
        "Payment date",
        ">Details<",
        ">Assignments<",
        ">History<",
        'aria-current="page">Details<',
        ">Modify<",
    ]:
        assert words in page
    assert ">Delete<" not in page  # managers only


def test_it_offers_delete_to_managers(manager_client, a_credit):
    assert ">Delete<" in text(manager_client.get(reverse("credits:detail", args=[a_credit.pk])))


def test_staff_and_a_manager_at_the_same_time_each_act_as_themselves(
    staff_client, manager_client, staff, manager, a_credit
):
    """Two browsers, two sessions: the manager logging in beside Sam does not make Sam's browser hers."""
    url, delete = reverse("credits:detail", args=[a_credit.pk]), reverse("credits:delete", args=[a_credit.pk])
    seen_by_staff, seen_by_manager = staff_client.get(url), manager_client.get(url)
    assert (seen_by_staff.wsgi_request.user, seen_by_manager.wsgi_request.user) == (staff, manager)
    assert parse(seen_by_staff).one(class_="user-name").text == "sam.staff · Billing staff"
    assert parse(seen_by_manager).one(class_="user-name").text == "maria.manager · Managers"
    assert ">Delete<" not in text(seen_by_staff) and ">Delete<" in text(seen_by_manager)
    # Turn about, each with their own rights: Sam is refused the delete, Maria makes it, Sam is still Sam.
    assert staff_client.post(delete).status_code == 403
    assert manager_client.post(delete).status_code == 303
    assert not Credit.objects.filter(pk=a_credit.pk).exists()
    assert staff_client.get(reverse("credits:list")).wsgi_request.user == staff


def test_it_shows_the_modify_form_with_the_version(staff_client, a_credit):
    page = text(staff_client.get(reverse("credits:edit", args=[a_credit.pk])))
    assert 'name="version" value="1"' in page and 'value="250.00"' in page
    partial = staff_client.get(reverse("credits:edit", args=[a_credit.pk]), headers=htmx())
    assert "<html" not in text(partial) and 'id="modal-title"' in text(partial) and "hx-post" in text(partial)


def test_it_modifies_a_credit(staff_client, a_credit):
    response = staff_client.post(
        reverse("credits:edit", args=[a_credit.pk]),
        edit_form(a_credit, amount="300.00", note="Two classes", reason="goodwill"),
        follow=True,
    )
    a_credit.refresh_from_db()
    assert (a_credit.amount, a_credit.note, a_credit.reason, a_credit.version) == (
        Decimal("300.00"),
        "Two classes",
        "goodwill",
        2,
    )
    assert "Credit for Amy Parent modified." in text(response)


def test_it_refuses_a_stale_modification(staff_client, a_credit):
    form = edit_form(a_credit, amount="300.00")
    credits.update_credit(a_credit, note="Changed by someone else")
    before = ledger()
    response = staff_client.post(reverse("credits:edit", args=[a_credit.pk]), form)
    assert response.status_code == 422
    assert "Someone else changed this credit while you were editing it." in text(response)
    assert ledger() == before


def test_it_refuses_an_amount_below_what_is_assigned(staff_client, a_credit, customer):
    credits.assign_credit(a_credit, {invoice_for(customer, "100.00"): "100.00"})
    a_credit.refresh_from_db()
    before = ledger()
    response = staff_client.post(reverse("credits:edit", args=[a_credit.pk]), edit_form(a_credit, amount="50.00"))
    assert response.status_code == 422
    assert "£100.00 of this credit is already assigned; the amount cannot be less than that." in text(response)
    assert ledger() == before


@pytest.mark.parametrize(("amount", "message"), BAD_AMOUNTS)
def test_it_refuses_a_bad_modified_amount(staff_client, a_credit, amount, message):
    before = ledger()
    response = staff_client.post(reverse("credits:edit", args=[a_credit.pk]), {**edit_form(a_credit), "amount": amount})
    assert response.status_code == 422 and message in text(response)
    assert ledger() == before


def test_it_gives_404_for_a_deleted_credit_and_writes_nothing(manager_client, a_credit):
    form = edit_form(a_credit, amount="300.00")
    credits.delete_credit(a_credit)
    before = ledger()
    for url in ["detail", "assignments", "history", "edit", "delete", "assign"]:
        assert manager_client.get(reverse(f"credits:{url}", args=[a_credit.pk])).status_code == 404, url
    assert manager_client.post(reverse("credits:edit", args=[a_credit.pk]), form).status_code == 404
    assert manager_client.post(reverse("credits:delete", args=[a_credit.pk])).status_code == 404
    assert manager_client.post(reverse("credits:assign", args=[a_credit.pk]), {"invoice-1": "5"}).status_code == 404
    assert ledger() == before


@pytest.fixture
def split(customer, staff):
    """The article's £250 credit as £100 + £150 across two invoices (both paid by it)."""
    credit = credit_for(customer, "250.00", by=staff)
    autumn = invoice_for(customer, "100.00")
    spring = invoice_for(customer, "200.00")
    credits.assign_credit(credit, {autumn: "100.00", spring: "150.00"}, by=staff)
    for row in (credit, autumn, spring):
        row.refresh_from_db()
    return credit, autumn, spring


def test_it_lists_what_deleting_will_change(manager_client, split):
    credit, autumn, spring = split
    page = text(manager_client.get(reverse("credits:delete", args=[credit.pk])))
    assert f"£100.00 to {autumn}" in page and f"£150.00 to {spring}" in page
    assert f"{autumn}: Paid → Awaiting payment" in page
    assert f"{spring}: Part-paid → Awaiting payment" in page


def test_it_deletes_a_credit_and_reopens_its_invoices(manager_client, split):
    credit, autumn, spring = split
    response = manager_client.post(reverse("credits:delete", args=[credit.pk]))
    assert response.status_code == 303
    assert not Credit.objects.filter(pk=credit.pk).exists() and not CreditAssignment.objects.exists()
    autumn.refresh_from_db()
    assert autumn.status == "unpaid"
    page = text(manager_client.get(response["Location"]))
    assert f"Credit of £250.00 for Amy Parent deleted. {autumn} is Awaiting payment again." in page
    assert manager_client.get(reverse("credits:detail", args=[credit.pk])).status_code == 404


def test_it_returns_to_a_safe_next_after_deleting(manager_client, a_credit, customer):
    response = manager_client.post(
        reverse("credits:delete", args=[a_credit.pk]), {"next": f"/customers/{customer.pk}/billing/"}
    )
    assert response["Location"] == f"/customers/{customer.pk}/billing/"


# Assignments ------------------------------------------------------------------------------------------


def test_it_lists_a_credits_assignments(manager_client, split):
    credit, autumn, spring = split
    response = manager_client.get(reverse("credits:assignments", args=[credit.pk]))
    page = text(response)
    rows = parse(response).one("table", id="assignments-table").rows()
    assert sorted((row["Invoice"], row["Amount"], row["Who"]) for row in rows) == [
        (str(autumn), "£100.00", "sam.staff"),  # who assigned it (Maria is looking: the page's header names her)
        (str(spring), "£150.00", "sam.staff"),
    ]
    assert page.count(">Remove<") == 2
    assert "Nothing left to assign." in page


def test_the_assignments_tab_query_count_does_not_grow_with_rows(page_queries, staff_client, customer, staff):
    def credit_split_over(n: int) -> Credit:
        credit = credit_for(customer, "1000.00", by=staff)
        credits.assign_credit(credit, {invoice_for(customer, "1.00"): "1.00" for _ in range(n)}, by=staff)
        return credit

    small, large = credit_split_over(3), credit_split_over(30)
    for tab in ["credits:assignments", "credits:history", "credits:detail"]:
        few = page_queries(staff_client, reverse(tab, args=[small.pk]))
        page_queries(staff_client, reverse(tab, args=[large.pk]), exactly=few)


def test_it_removes_an_assignment(staff_client, split):
    credit, autumn, spring = split
    assignment = credit.assignments.get(invoice=autumn)
    # Remove asks first: which invoice reopens and what it will owe; asking writes nothing.
    before = ledger()
    confirm = staff_client.get(reverse("credits:unassign", args=[credit.pk, assignment.pk]), headers=htmx())
    panel = parse(confirm).one("div", id="unassign-panel")
    assert panel.one("p", class_="reopens").text == (
        f"{autumn} will be Awaiting payment again, with £100.00 outstanding (now £0.00)."
    )
    assert "which will have £100.00 left to assign" in panel.text
    assert ledger() == before
    response = staff_client.post(reverse("credits:unassign", args=[credit.pk, assignment.pk]), follow=True)
    assert f"Removed the £100.00 assignment to {autumn}." in text(response)
    credit.refresh_from_db()
    autumn.refresh_from_db()
    assert credit.remaining == Decimal("100.00") and autumn.status == "unpaid"
    before = ledger()
    assert staff_client.post(reverse("credits:unassign", args=[credit.pk, assignment.pk])).status_code == 404
    assert ledger() == before


def test_it_shows_the_open_invoices_oldest_first_to_assign(staff_client, a_credit, customer):
    older = invoice_for(customer, "100.00", issue_date=timezone.localdate() - datetime.timedelta(days=30))
    newer = invoice_for(customer, "150.00")
    invoice_for(CustomerFactory(), "70.00")  # someone else's
    response = staff_client.get(reverse("credits:assign", args=[a_credit.pk]))
    page = text(response)
    assert page.index(str(older)) < page.index(str(newer))
    assert f">Amount for {older}</label>" in page and f">Amount for {newer}</label>" in page
    assert "£70.00" not in page
    assert "Remaining to assign" in page and "Fill oldest first" in page and ">Assign<" in page
    partial = staff_client.get(reverse("credits:assign", args=[a_credit.pk]), headers=htmx())
    assert "<html" not in text(partial) and 'id="assign-panel"' in text(partial)


def test_it_assigns_a_credit_split_over_two_invoices(staff_client, a_credit, customer):
    autumn, spring = invoice_for(customer, "100.00"), invoice_for(customer, "150.00")
    data = {f"invoice-{autumn.pk}": "100.00", f"invoice-{spring.pk}": "150"}
    response = staff_client.post(reverse("credits:assign", args=[a_credit.pk]), data)
    assert response.status_code == 303 and response["Location"] == reverse("credits:assignments", args=[a_credit.pk])
    a_credit.refresh_from_db()
    assert a_credit.status == "fully_assigned"
    page = text(staff_client.get(response["Location"]))
    assert f"Assigned £250.00 of the credit: £100.00 to {autumn}, £150.00 to {spring}." in page


def test_it_redirects_the_page_after_an_htmx_assign(staff_client, a_credit, customer):
    autumn = invoice_for(customer, "100.00")
    response = staff_client.post(
        reverse("credits:assign", args=[a_credit.pk]), {f"invoice-{autumn.pk}": "40", "invoice-0": ""}, headers=htmx()
    )
    assert response["HX-Redirect"] == reverse("credits:assignments", args=[a_credit.pk])


@pytest.mark.parametrize(("amount", "message"), BAD_AMOUNTS[1:])
def test_it_puts_a_bad_amount_next_to_its_invoice(staff_client, a_credit, customer, amount, message):
    autumn, spring = invoice_for(customer, "100.00"), invoice_for(customer, "150.00")
    before = ledger()
    response = staff_client.post(
        reverse("credits:assign", args=[a_credit.pk]), {f"invoice-{autumn.pk}": "10", f"invoice-{spring.pk}": amount}
    )
    assert response.status_code == 422
    page = text(response)
    assert message in page
    # The message sits in the spring invoice's row, after its box.
    assert page.index(f'name="invoice-{spring.pk}"') < page.index(message)
    assert ledger() == before


@pytest.mark.parametrize(
    ("amounts", "message"),
    [
        ({}, "Enter an amount for at least one invoice."),
        ({"autumn": "  "}, "Enter an amount for at least one invoice."),
        ({"autumn": "100.01"}, "has only £100.00 outstanding."),
        ({"autumn": "100.00", "spring": "150.01"}, "has only £150.00 outstanding."),
    ],
)
def test_it_refuses_an_assignment_the_rules_forbid(staff_client, customer, staff, amounts, message):
    credit = credit_for(customer, "250.00", by=staff)
    invoices = {"autumn": invoice_for(customer, "100.00"), "spring": invoice_for(customer, "150.00")}
    before = ledger()
    data = {f"invoice-{invoices[name].pk}": value for name, value in amounts.items()}
    response = staff_client.post(reverse("credits:assign", args=[credit.pk]), data)
    assert response.status_code == 422 and message in text(response)
    assert ledger() == before


def test_it_refuses_more_than_the_credit_has_left(staff_client, customer, staff):
    credit = credit_for(customer, "50.00", by=staff)
    a, b = invoice_for(customer, "40.00"), invoice_for(customer, "40.00")
    before = ledger()
    response = staff_client.post(
        reverse("credits:assign", args=[credit.pk]), {f"invoice-{a.pk}": "40", f"invoice-{b.pk}": "40"}
    )
    assert response.status_code == 422
    assert "That assigns £80.00, but the credit has only £50.00 left to assign." in text(response)
    assert ledger() == before


def test_it_refuses_another_customers_invoice(staff_client, a_credit, customer):
    theirs = invoice_for(CustomerFactory(name="Ben Other"), "100.00")
    ours = invoice_for(customer, "100.00")
    before = ledger()
    response = staff_client.post(
        reverse("credits:assign", args=[a_credit.pk]), {f"invoice-{theirs.pk}": "50", f"invoice-{ours.pk}": "10"}
    )
    assert response.status_code == 422
    assert f"{theirs} belongs to another customer." in text(response)
    assert ledger() == before
    response = staff_client.post(reverse("credits:assign", args=[a_credit.pk]), {"invoice-999999": "5"})
    assert response.status_code == 422 and "That invoice does not exist." in text(response)
    assert ledger() == before


def test_it_fills_oldest_first_without_javascript(staff_client, customer, staff):
    credit = credit_for(customer, "250.00", by=staff)
    older = invoice_for(customer, "200.00", issue_date=timezone.localdate() - datetime.timedelta(days=30))
    middle = invoice_for(customer, "100.00", issue_date=timezone.localdate() - datetime.timedelta(days=10))
    newest = invoice_for(customer, "100.00")
    before = ledger()
    response = staff_client.post(reverse("credits:assign", args=[credit.pk]), {"fill": "oldest"})
    page = text(response)
    assert response.status_code == 200
    assert f'name="invoice-{older.pk}" value="200.00"' in page
    assert f'name="invoice-{middle.pk}" value="50.00"' in page
    assert f'name="invoice-{newest.pk}" value' not in page
    assert "Remaining to assign:" in page and "£0.00</output>" in page
    assert ledger() == before


def test_it_says_when_there_is_nothing_to_assign_to(staff_client, a_credit):
    page = text(staff_client.get(reverse("credits:assign", args=[a_credit.pk])))
    assert "Amy Parent has no unpaid or part-paid invoices to assign this credit to." in page


def test_the_assign_panel_query_count_does_not_grow_with_invoices(page_queries, staff_client, customer, staff):
    credit = credit_for(customer, "10.00", by=staff)
    for _ in range(3):
        invoice_for(customer, "5.00")
    few = page_queries(staff_client, reverse("credits:assign", args=[credit.pk]))
    for _ in range(27):
        invoice_for(customer, "5.00")
    page_queries(staff_client, reverse("credits:assign", args=[credit.pk]), exactly=few)


# History ------------------------------------------------------------------------------------------------


def test_it_shows_a_credits_history(manager_client, split, staff):
    credit, autumn, spring = split
    credits.update_credit(credit, note="Checked", by=staff)
    response = manager_client.get(reverse("credits:history", args=[credit.pk]))
    events = [
        (row.find_all("td")[1].text, row.one("strong").text) for row in parse(response).one("tbody").find_all("tr")
    ]
    assert events[0] == ("sam.staff", "Credit modified")  # newest first; who did it, not Maria who is looking
    assert set(events) == {
        ("sam.staff", "Credit added"),
        ("sam.staff", "Credit assigned"),
        ("sam.staff", "Credit modified"),
    }
    assert 'aria-current="page">History<' in text(response)


def test_the_history_tab_links_the_invoices_and_names_reason_and_auto_apply_as_the_page_does(
    manager_client, split, staff
):
    credit, autumn, spring = split
    credits.update_credit(credit, reason="goodwill", auto_apply=True, by=staff)
    rows = parse(manager_client.get(reverse("credits:history", args=[credit.pk]))).one("tbody").find_all("tr")
    modified = rows[0].find_all("div")
    assert [line.text for line in modified] == ["Reason: Other → Goodwill", "Auto-apply: No → Yes"]
    links = {a.text: a["href"] for row in rows for a in row.find_all("a")}
    assert links[str(autumn)] == autumn.get_absolute_url() and links[str(spring)] == spring.get_absolute_url()
    assert links[credit.display_number] == credit.get_absolute_url()


def test_the_reopened_invoice_can_take_the_credit_again(staff_client, split, customer):
    """Reassigning = remove, then add elsewhere."""
    credit, autumn, spring = split
    staff_client.post(reverse("credits:unassign", args=[credit.pk, credit.assignments.get(invoice=autumn).pk]))
    other = billing.create_invoice(customer, [("Extra class", 1, "100.00")])
    response = staff_client.post(reverse("credits:assign", args=[credit.pk]), {f"invoice-{other.pk}": "100.00"})
    assert response.status_code == 303
    assert set(credit.assignments.values_list("invoice_id", flat=True)) == {spring.pk, other.pk}
