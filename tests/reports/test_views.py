"""Overview and Billing › Unapplied credits: who may see them, what they show, Apply oldest first (one customer,
all listed at once, all listed as a run), and the exports of every filtering list."""

from __future__ import annotations

import csv
import datetime
import io
import json
import threading
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from pghistory.models import Events

from billing_site.money import format_money
from credits.models import Credit, CreditAssignment, credit_note_number
from reports import services
from runs.models import Run, Status
from tests.conftest import logged_in
from tests.factories import CustomerFactory, UserFactory, credit_for, invoice_for
from tests.ledger import keep_staff_groups  # noqa: F401 - a fixture
from tests.page import parse

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def days_ago(n: int) -> datetime.date:
    return TODAY() - datetime.timedelta(days=n)


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


# Overview ------------------------------------------------------------------------------------------------------


def test_it_is_the_page_after_logging_in_and_the_first_menu_item(staff_client):
    response = staff_client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == reverse("reports:overview")
    menu = parse(response).one("nav", class_="sidebar")
    first = menu.find_all("a")[0]
    assert (first.text, first["href"], first["aria-current"]) == ("Overview", reverse("reports:overview"), "page")


def test_it_requires_login(client):
    response = client.get(reverse("reports:overview"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_it_refuses_an_account_without_a_role_in_words(client):
    client.force_login(UserFactory(username="nobody"))
    response = client.get(reverse("reports:overview"))
    assert response.status_code == 403
    assert "Only Billing staff and Managers can see the Overview." in response.content.decode()


def test_it_shows_the_figures_and_its_charts_data_matches_its_tables(staff_client, staff):
    amy = CustomerFactory(name="Amy Parent")
    invoice_for(amy, "120.00", issue_date=days_ago(50), due_date=days_ago(40))  # 31–60 days past due
    invoice_for(amy, "80.00", issue_date=days_ago(2), due_date=days_ago(2) + datetime.timedelta(days=30))
    credit_for(amy, "25.00", reason="goodwill", by=staff)
    credit_for(amy, "10.00", reason="cancelled_class", date=days_ago(70), auto_apply=True, by=staff)
    response = staff_client.get(reverse("reports:overview"))
    assert response.status_code == 200
    page = parse(response)
    figures = {f.one(class_="label").text: f.one(class_="value").text for f in page.find_all(class_="figure")}
    assert figures["Outstanding"] == "£200.00" and figures["Overdue"] == "£120.00"
    assert figures["Available credit"] == "£35.00"
    assert figures["Unapplied credit"] == f"since {days_ago(70):%-d %b %Y}"  # Amy's cancelled class, 70 days ago
    data = json.loads(page.one(id="overview-data")["data-chart"])

    issued = page.one("table", id="issued-table")
    headings = [cell.text for cell in issued.find_all("th", scope="col")][1:-1]
    assert headings == [dataset["label"] for dataset in data["issued"]["datasets"]] == ["Cancelled class", "Goodwill"]
    body = issued.rows()[:-1]
    assert [row["Month"] for row in body] == data["issued"]["labels"]
    for dataset in data["issued"]["datasets"]:
        shown = [row[dataset["label"]] for row in body]
        assert shown == [format_money(Decimal(v)) if Decimal(v) else "–" for v in dataset["data"]]
        for value, url in zip(dataset["data"], dataset["urls"], strict=True):
            if Decimal(value):
                assert issued.find_all("a", href=url), url  # the bar's list is the table's link too
    goodwill_url = data["issued"]["datasets"][1]["urls"][-1]
    assert goodwill_url == f"{reverse('credits:list')}?reason=goodwill&month={TODAY():%Y-%m}"
    listed = parse(staff_client.get(goodwill_url)).one("table").rows()
    assert [row["Amount"] for row in listed] == ["£25.00"]

    ages = page.one("table", id="ages-table").rows()[:-1]
    assert [row["Past due"] for row in ages] == data["ages"]["labels"]
    assert [row["Outstanding"] for row in ages] == [format_money(Decimal(v)) for v in data["ages"]["data"]]
    assert ages[2] == {"Past due": "31–60 days past due", "Outstanding": "£120.00"}
    listed = parse(staff_client.get(data["ages"]["urls"][2])).one("table").rows()
    assert [row["Total"] for row in listed] == ["£120.00"]


def test_its_queries_do_not_grow_with_the_rows(page_queries, staff_client):
    for _ in range(3):
        credit_for(invoice_for(CustomerFactory(), "10.00").customer, "5.00")
    few = page_queries(staff_client, reverse("reports:overview"))
    for n in range(30):
        customer = CustomerFactory()
        invoice_for(customer, "10.00", issue_date=days_ago(n * 5), due_date=days_ago(n * 5))
        credit_for(customer, "5.00", date=days_ago(n * 11), reason="goodwill" if n % 2 else "refund")
    page_queries(staff_client, reverse("reports:overview"), exactly=few)


# Unapplied credits ---------------------------------------------------------------------------------------------


@pytest.fixture
def families(staff):
    """Who the report lists at 30 days: Ann (credit 60 days old, open invoices) and Bea (45 days), not the others."""
    ann, bea, cal, dan, eve = (CustomerFactory(name=name) for name in ("Ann", "Bea", "Cal", "Dan", "Eve"))
    old = invoice_for(ann, "30.00", issue_date=days_ago(90), due_date=days_ago(80))
    new = invoice_for(ann, "50.00", issue_date=days_ago(10), due_date=days_ago(5))
    credit_for(ann, "20.00", auto_apply=True, date=days_ago(60), by=staff)
    credit_for(ann, "25.00", auto_apply=True, date=days_ago(40), by=staff)
    invoice_for(bea, "10.00")
    credit_for(bea, "15.00", auto_apply=True, date=days_ago(45), by=staff)
    invoice_for(cal, "10.00")
    credit_for(cal, "15.00", auto_apply=False, date=days_ago(100), by=staff)  # kept for manual assignment
    credit_for(dan, "15.00", auto_apply=True, date=days_ago(100), by=staff)  # no open invoice
    invoice_for(eve, "10.00")
    credit_for(eve, "15.00", auto_apply=True, date=days_ago(3), by=staff)  # too recent
    return {"ann": ann, "bea": bea, "old": old, "new": new}


def test_the_report_lists_customers_whose_credit_sat_longest_first(staff_client, families):
    page = parse(staff_client.get(reverse("reports:unapplied"), {"days": 30}))
    rows = page.one("table").rows()
    assert [(r["Customer"].split()[0], r["Credit to apply"], r["Open invoices"], r["Outstanding"]) for r in rows] == [
        ("Ann", "£45.00", "2", "£80.00"),
        ("Bea", "£15.00", "1", "£10.00"),
    ]
    everyone = parse(staff_client.get(reverse("reports:unapplied"), {"days": 0})).one("table").rows()
    assert [r["Customer"].split()[0] for r in everyone] == ["Ann", "Bea", "Eve"]


def test_the_report_pages_by_keyset(staff_client, staff):
    for n in range(30):
        customer = CustomerFactory(name=f"Family {n:02d}")
        invoice_for(customer, "10.00")
        credit_for(customer, "5.00", auto_apply=True, date=days_ago(100 - n), by=staff)
    first = parse(staff_client.get(reverse("reports:unapplied")))
    assert len(first.one("table").rows()) == 25
    second = parse(staff_client.get(first.one("a", rel="next")["href"]))
    assert [r["Customer"].rsplit(" ", 1)[0] for r in second.one("table").rows()] == [
        f"Family {n:02d}" for n in range(25, 30)
    ]
    assert not second.find_all("a", rel="next")


def test_the_credits_list_filters_unapplied_and_by_month(staff_client, families):
    rows = parse(staff_client.get(reverse("credits:list"), {"unapplied": "true", "older_than": 30})).one("table").rows()
    assert sorted(r["Customer"] for r in rows) == ["Ann", "Ann", "Bea"]
    rows = parse(staff_client.get(reverse("credits:list"), {"unapplied": "true"})).one("table").rows()
    assert sorted(r["Customer"] for r in rows) == ["Ann", "Ann", "Bea", "Eve"]
    month = days_ago(100).strftime("%Y-%m")
    rows = parse(staff_client.get(reverse("credits:list"), {"month": month})).one("table").rows()
    assert {r["Customer"] for r in rows} == {
        c.customer.name for c in Credit.objects.filter(date__year=days_ago(100).year, date__month=days_ago(100).month)
    }


def test_apply_oldest_first_for_one_customer_assigns_and_records_who(staff_client, staff, families):
    response = staff_client.post(reverse("reports:unapplied_apply", args=[families["ann"].pk]), {"days": 30})
    assert response.status_code == 303
    assignments = list(CreditAssignment.objects.filter(credit__customer=families["ann"]).order_by("id"))
    # The oldest invoice first, from the oldest credit first.
    assert [(a.invoice_id, a.credit.date, a.amount) for a in assignments] == [
        (families["old"].pk, days_ago(60), Decimal("20.00")),
        (families["old"].pk, days_ago(40), Decimal("10.00")),
        (families["new"].pk, days_ago(40), Decimal("15.00")),
    ]
    assert {a.created_by for a in assignments} == {staff}
    events = Events.objects.filter(
        pgh_model="credits.CreditAssignmentEvent", pgh_obj_id__in=[a.pk for a in assignments]
    )
    assert {(e.pgh_context["action"], e.pgh_context["username"]) for e in events} == {
        ("apply_oldest_first", staff.username)
    }
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == ["Applied £45.00 of credit to Ann’s open invoices."]
    rows = parse(staff_client.get(reverse("reports:unapplied"), {"days": 30})).one("table").rows()
    assert [r["Customer"].split()[0] for r in rows] == ["Bea"]


def test_apply_needs_the_assign_permission_and_a_post(client, families):
    client.force_login(UserFactory(username="nobody"))
    url = reverse("reports:unapplied_apply", args=[families["ann"].pk])
    assert client.post(url).status_code == 403
    assert not CreditAssignment.objects.exists()


def test_apply_for_all_listed_asks_first_then_applies_at_once(staff_client, staff, families):
    url = f"{reverse('reports:unapplied_apply_all')}?days=30"
    page = parse(staff_client.get(url))
    assert "2 customers with £60.00 of auto-apply credit" in page.one(class_="summary").text
    form = page.one("form", action=reverse("reports:unapplied_apply_all"))
    data = {i["name"]: i["value"] for i in form.find_all("input") if i["name"]}
    stale = staff_client.post(url, {**data, "expected": 5})
    assert stale.status_code == 422 and not CreditAssignment.objects.exists()
    response = staff_client.post(url, data)
    assert response.status_code == 303
    assert CreditAssignment.objects.filter(created_by=staff).count() == 4
    assert not Run.objects.exists()
    assert [str(m) for m in response.wsgi_request._messages] == [
        "Applied £55.00 of credit to the open invoices of 2 customers."
    ]


@pytest.mark.django_db(transaction=True)
def test_apply_for_all_listed_above_the_limit_is_a_run_done_as_its_starter(
    keep_staff_groups,  # noqa: F811 - the fixture imported above
    run_worker,
    staff,
    monkeypatch,
):
    monkeypatch.setattr(services, "AT_ONCE", 1)
    client = logged_in(staff)
    for n in range(3):
        customer = CustomerFactory(name=f"Family {n}")
        invoice_for(customer, "10.00")
        credit_for(customer, "4.00", auto_apply=True, date=days_ago(40), by=staff)
    url = f"{reverse('reports:unapplied_apply_all')}?days=30"
    form = parse(client.get(url)).one("form", action=reverse("reports:unapplied_apply_all"))
    data = {i["name"]: i["value"] for i in form.find_all("input") if i["name"]}
    response = client.post(url, data)
    client.post(url, data)  # sent twice: one run
    run = Run.objects.get()
    assert response["Location"] == run.get_absolute_url() and run.created_by == staff and run.total == 3
    # In a thread of its own: after the browser tests, Playwright's event loop is running in this one, and the
    # worker starts its own (asyncio.run).
    worker = threading.Thread(target=run_worker)
    worker.start()
    worker.join(timeout=120)
    run.refresh_from_db()
    assert run.status == Status.DONE
    assignments = CreditAssignment.objects.all()
    assert assignments.count() == 3 and {a.created_by for a in assignments} == {staff}
    events = Events.objects.filter(pgh_model="credits.CreditAssignmentEvent")
    assert {(e.pgh_context["action"], e.pgh_context["username"]) for e in events} == {
        ("apply_oldest_first", staff.username)
    }


# Exports -------------------------------------------------------------------------------------------------------


def test_the_unapplied_export_lists_every_customer_of_the_report(staff_client, families):
    rows = csv_rows(staff_client.get(reverse("reports:unapplied_export"), {"days": 30}))
    assert rows == [
        ["Customer", "Email", "Oldest unapplied credit", "Credit to apply", "Open invoices", "Outstanding"],
        ["Ann", families["ann"].email, days_ago(60).isoformat(), "45.00", "2", "80.00"],
        ["Bea", families["bea"].email, days_ago(45).isoformat(), "15.00", "1", "10.00"],
    ]


def test_each_list_exports_what_its_filter_shows(staff_client, manager):
    from billing import services as billing
    from credits import services as credits

    amy, bob = CustomerFactory(name="Amy Parent", tags=["Ballet"]), CustomerFactory(name="=Bob", tags=["Swim"])
    paid = invoice_for(amy, "100.00")
    billing.record_payment(paid, "40.00", method="cash", by=manager)
    invoice_for(bob, "70.00")
    credit = credit_for(bob, "30.00")
    credits.refund_credit(credit, "5.00", method="cheque", by=manager)

    customers = csv_rows(staff_client.get(reverse("customers:export"), {"tag": "Ballet"}))
    assert customers == [
        ["Name", "Email", "Phone", "Class tags", "Outstanding", "Available credit"],
        # A phone number's "+" is defused like a formula's (a spreadsheet shows the number as typed).
        ["Amy Parent", amy.email, ("'" if amy.phone.startswith("+") else "") + amy.phone, "Ballet", "60.00", "0.00"],
    ]
    invoices = csv_rows(staff_client.get(reverse("billing:invoice_export"), {"status": "part_paid"}))
    assert invoices[1:] == [
        [
            str(paid),
            "Amy Parent",
            str(paid.issue_date),
            str(paid.due_date),
            "100.00",
            "40.00",
            "0.00",
            "60.00",
            "Part-paid",
        ]
    ]
    payments = csv_rows(staff_client.get(reverse("billing:payment_export"), {"method": "cash"}))
    assert payments[1:] == [[TODAY().isoformat(), str(paid), "Amy Parent", "40.00", "Cash", manager.username]]
    refunds = csv_rows(staff_client.get(reverse("credits:refund_export"), {"date": TODAY().isoformat()}))
    assert refunds[1:] == [
        [
            TODAY().isoformat(),
            credit_note_number(Credit.objects.get(pk=credit.pk).number),
            "'=Bob",
            "5.00",
            "Cheque",
            "",
            manager.username,
            "",
            "",
        ]
    ]
    for name in ("customers:list", "billing:invoice_list", "billing:payment_list", "credits:refund_list"):
        link = parse(staff_client.get(reverse(name), {"q": "amy"})).one("a", download=True)
        assert link.text == "Export CSV" and link["href"].endswith("?q=amy")
