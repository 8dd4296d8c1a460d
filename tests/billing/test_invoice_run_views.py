"""Billing › Invoice run and Billing › Runs as people use them: choose customers, lines and dates, see the summary,
say yes, follow the run; every bad input answered next to its field with nothing started."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from credits import services as credits
from runs.models import Run, Status
from tests.conftest import htmx
from tests.factories import CustomerFactory
from tests.page import parse

URL = "/billing/invoice-run/"
pytestmark = pytest.mark.django_db


def run_form(**changes) -> dict:
    data = {
        "all_matching": "1",
        "q": "",
        "tag": "Ballet",
        "outstanding": "",
        "issue_date": "2026-12-01",
        "due_date": "2026-12-31",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "lines-0-description": "Ballet — spring term",
        "lines-0-quantity": "1",
        "lines-0-unit_price": "120.00",
        "lines-1-description": "Costume",
        "lines-1-quantity": "2",
        "lines-1-unit_price": "15.00",
        "idempotency_key": uuid.uuid4().hex,
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


@pytest.fixture
def ballet(db):
    people = CustomerFactory.create_batch(3, tags=["Ballet"])
    credits.add_credit(people[0], "40.00")
    credits.add_credit(people[1], "500.00")
    credits.add_credit(people[2], "25.00", auto_apply=False)
    CustomerFactory.create_batch(2, tags=["Swim"])
    return people


def test_create_shows_the_summary_and_starts_nothing_until_yes(manager_client, ballet):
    response = manager_client.post(URL, run_form())
    assert response.status_code == 200
    page = parse(response)
    assert page.one(id="confirm-question").text == (
        "Create 3 invoices × £150.00 = £450.00? "
        "£190.00 of available credit will be applied automatically for 2 customers."
    )
    yes = page.one("button", name="confirmed")
    assert yes.text == "Yes, create 3 invoices"
    assert not Run.objects.exists()

    response = manager_client.post(
        URL, run_form(confirmed=yes["value"], idempotency_key=page.one("input", name="idempotency_key")["value"])
    )
    run = Run.objects.get()
    assert response.status_code == 303 and response["Location"] == f"/billing/runs/{run.pk}/"
    assert run.total == 3 and run.status == Status.QUEUED
    assert sorted(run.items) == sorted(p.pk for p in ballet)


def test_a_double_click_on_yes_starts_one_run(manager_client, ballet):
    data = run_form()
    yes = parse(manager_client.post(URL, data)).one("button", name="confirmed")["value"]
    first = manager_client.post(URL, {**data, "confirmed": yes})
    second = manager_client.post(URL, {**data, "confirmed": yes})
    assert Run.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_a_yes_to_another_choice_asks_again(manager_client, ballet):
    data = run_form()
    yes = parse(manager_client.post(URL, data)).one("button", name="confirmed")["value"]
    response = manager_client.post(URL, {**data, "lines-0-unit_price": "125.00", "confirmed": yes})
    assert response.status_code == 200
    assert "£155.00" in parse(response).one(id="confirm-question").text
    assert not Run.objects.exists()


def test_email_each_invoice_is_off_by_default_and_a_yes_without_it_asks_again(manager_client, ballet):
    page = parse(manager_client.get(URL, {"all_matching": "1", "tag": "Ballet"}))
    assert not page.one("input", name="email_invoices").has("checked")
    data = run_form(email_invoices="on")
    yes = parse(manager_client.post(URL, data)).one("button", name="confirmed")["value"]
    # The yes was to emailing them: without the tick box it is another question.
    response = manager_client.post(URL, {**run_form(idempotency_key=data["idempotency_key"]), "confirmed": yes})
    assert response.status_code == 200 and not Run.objects.exists()
    manager_client.post(URL, {**data, "confirmed": yes})
    run = Run.objects.get()
    assert run.params["email"] is True and run.title.endswith("each emailed")


@pytest.mark.parametrize(
    ("changes", "field_error"),
    [
        ({"lines-0-unit_price": "abc", "lines-1-description": ""}, "id_lines-0-unit_price_error"),
        ({"due_date": "2026-11-01"}, "id_due_date_error"),
        ({"issue_date": "yesterday"}, "id_issue_date_error"),
        ({"lines-0-quantity": "0"}, "id_lines-0-quantity_error"),
    ],
    ids=["bad-price", "due-before-issue", "bad-date", "zero-quantity"],
)
def test_bad_input_is_answered_next_to_the_field_and_starts_nothing(manager_client, ballet, changes, field_error):
    response = manager_client.post(URL, run_form(**changes))
    assert response.status_code == 422
    assert parse(response).one(id=field_error).text
    assert not Run.objects.exists()


def test_nobody_chosen_is_refused_with_words(manager_client, ballet):
    response = manager_client.post(URL, run_form(tag=""))
    assert response.status_code == 422
    assert "Choose who gets an invoice" in parse(response).one("div", role="alert").text
    assert not Run.objects.exists()


def test_ticked_customers_from_group_actions(manager_client, ballet):
    ticked = [ballet[0].pk, ballet[2].pk]
    page = parse(manager_client.get(URL, {"customer": ticked}))
    assert page.one(id="selection").text.startswith("2 customers chosen")
    response = manager_client.post(URL, run_form(all_matching=None, tag=None, customer=ticked))
    assert "Create 2 invoices" in parse(response).one(id="confirm-question").text


def test_the_live_count_as_the_choice_changes(manager_client, ballet):
    response = manager_client.get(URL, {"all_matching": "1", "tag": "Swim"}, headers=htmx())
    assert parse(response).text.startswith("2 customers match")


def test_billing_staff_may_not_start_a_run(staff_client, ballet):
    response = staff_client.get(URL)
    assert response.status_code == 403
    assert "start background runs" in response.content.decode()


def test_the_run_page_follows_the_run_and_stops_polling_when_it_ends(manager_client, manager, ballet):
    from billing.invoice_run import start_invoice_run

    run = start_invoice_run([p.pk for p in ballet], [("Term", 1, "10.00")], by=manager)
    page = parse(manager_client.get(f"/billing/runs/{run.pk}/", headers=htmx()))
    progress = page.one("section", id="progress")
    assert progress["hx-trigger"] == "every 1s"
    assert page.one("p", role="status").text == "0 of 3 done (0%)."
    Run.objects.filter(pk=run.pk).update(status=Status.CANCELLED)
    progress = parse(manager_client.get(f"/billing/runs/{run.pk}/", headers=htmx())).one("section", id="progress")
    assert not progress.has("hx-trigger")
    listed = parse(manager_client.get(reverse("runs:list"))).row(id="table", containing=run.title)
    assert listed["Status"] == "Cancelled" and listed["Done"] == "0 of 3"
