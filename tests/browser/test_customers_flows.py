"""The article's Customers flows in Chromium: find a customer › profile › Billing tab, and
tick customers › Group Actions › Create Credit (bulk), plus Add Customer and Edit details."""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from credits.models import Credit, CreditBatch
from customers.models import Customer
from tests.factories import CustomerFactory, credit_for, invoice_for

pytestmark = pytest.mark.browser


def open_view_all(page) -> None:
    """Click < to the right of Customers, then View All in the expanded menu."""
    page.get_by_role("button", name="Customers menu").click()
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="View All").click()
    expect(page.get_by_role("heading", name="Customers", exact=True)).to_be_visible()


def test_it_finds_a_customer_and_opens_the_billing_tab(as_user, staff, live_server, screenshot, assert_accessible):
    amy = CustomerFactory(name="Amy Parent", email="amy@example.com", phone="07700 900111", tags=["Ballet Tue 4pm"])
    invoice = invoice_for(amy, "120.00", by=staff)
    credit = credit_for(amy, "250.00", reason="cancelled_class", by=staff)
    for name in ["Ben Other", "Cat Other", "Dan Other"]:
        CustomerFactory(name=name)
    page = as_user(staff)

    open_view_all(page)
    expect(page.get_by_role("link", name="Ben Other")).to_be_visible()
    screenshot(page, "customers-1-view-all")
    assert_accessible(page)

    # Search as you type: the table narrows without a page load.
    page.get_by_label("Search").press_sequentially("Amy", delay=40)
    expect(page.get_by_role("link", name="Ben Other")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/customers/\?q=Amy"))
    row = page.get_by_role("row", name=re.compile("Amy Parent"))
    expect(row).to_contain_text("£120.00")
    expect(row).to_contain_text("£250.00")
    screenshot(page, "customers-2-search")
    assert_accessible(page)

    page.get_by_role("link", name="Amy Parent").click()
    expect(page.get_by_role("heading", name="Amy Parent", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Details")).to_have_attribute("aria-current", "page")
    expect(page.get_by_text("Outstanding total")).to_be_visible()
    screenshot(page, "customers-3-profile")
    assert_accessible(page)

    page.get_by_role("link", name="Billing", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/customers/{amy.pk}/billing/")
    expect(page.get_by_role("link", name="Billing", exact=True)).to_have_attribute("aria-current", "page")
    invoices = page.get_by_role("table", name=re.compile("Invoices of Amy Parent"))
    expect(invoices).to_contain_text(invoice.display_number)
    expect(invoices).to_contain_text("Awaiting payment")
    credits = page.get_by_role("table", name=re.compile("Credits of Amy Parent"))
    expect(credits).to_contain_text("Cancelled class")
    expect(credits.get_by_role("link")).to_have_attribute("href", f"/billing/credits/{credit.pk}/")
    expect(invoices.get_by_role("link", name=invoice.display_number)).to_have_attribute(
        "href", f"/billing/invoices/{invoice.pk}/"
    )
    screenshot(page, "customers-4-billing-tab")
    assert_accessible(page)

    # Add Credit sits with the Credits list it adds to, not under Invoices.
    credits_section = page.get_by_role("region", name=re.compile("^Credits"))
    expect(
        page.get_by_role("region", name=re.compile("^Invoices")).get_by_role("link", name="Add Credit")
    ).to_have_count(0)
    # Click Add Credit, enter the payment date and amount, and press Create.
    credits_section.get_by_role("link", name="Add Credit").click()
    dialog = page.get_by_role("dialog", name="Add Credit for Amy Parent")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Payment date").fill("2026-11-20")
    dialog.get_by_label("Amount").fill("25.00")
    screenshot(page, "customers-5-add-credit-dialog")
    assert_accessible(page)
    dialog.get_by_role("button", name="Create").click()
    expect(page.get_by_text("Credit of £25.00 added for Amy Parent.")).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/customers/{amy.pk}/billing/")
    expect(credits).to_contain_text("20 Nov 2026")
    expect(page.get_by_text("Available credit")).to_be_visible()
    assert amy.credits.count() == 2

    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("link", name="History")).to_have_attribute("aria-current", "page")
    expect(page.get_by_text("Credit added")).to_have_count(2)
    screenshot(page, "customers-6-history-tab")
    assert_accessible(page)


def test_managers_tick_two_customers_and_create_a_bulk_credit(
    as_user, manager, live_server, screenshot, assert_accessible
):
    amy, ben, _cat = (CustomerFactory(name=name) for name in ["Amy Parent", "Ben Parent", "Cat Parent"])
    page = as_user(manager)
    open_view_all(page)

    page.get_by_label("Select Amy Parent").check()
    page.get_by_label("Select Ben Parent").check()
    expect(page.get_by_text("2 customers selected")).to_be_visible()
    expect(page.get_by_label("Select all on this page")).not_to_be_checked()
    page.get_by_text("Group Actions").click()
    expect(page.get_by_role("button", name="Create Credit")).to_be_visible()
    screenshot(page, "customers-group-1-ticked")
    assert_accessible(page)

    page.get_by_role("button", name="Create Credit").click()
    page.wait_for_url(re.compile(r"/billing/credits/bulk/\?"))
    assert sorted(parse_qs(urlparse(page.url).query)["customer"]) == sorted([str(amy.pk), str(ben.pk)])
    expect(page.get_by_text("2 customers chosen")).to_be_visible()

    # Then proceed as for a single credit: amount › summary › Create.
    page.get_by_label("Amount").fill("20.00")
    expect(page.locator("#bulk-summary")).to_contain_text("2 customers × £20.00 = £40.00")
    screenshot(page, "customers-group-2-bulk-summary")
    assert_accessible(page)
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_text("2 credits of £20.00 added")).to_be_visible()
    batch = CreditBatch.objects.get()
    assert (batch.count, batch.total, batch.created_by) == (2, Decimal("40.00"), manager)
    assert set(Credit.objects.values_list("customer__name", flat=True)) == {"Amy Parent", "Ben Parent"}
    screenshot(page, "customers-group-3-batch")
    assert_accessible(page)


def hold_table_refreshes(page) -> list:
    """Keep the table's htmx refreshes waiting (a slow server) until the test lets them go: `route.continue_()`."""
    held: list = []

    def hold(route) -> None:
        if route.request.headers.get("hx-request"):
            held.append(route)
        else:
            route.continue_()

    page.route(re.compile(r"/customers/\?"), hold)
    return held


def wait_until_held(page, held: list) -> None:
    for _ in range(100):
        if held:
            return
        page.wait_for_timeout(50)
    raise AssertionError("the table never asked for a refresh")


def test_ticks_made_while_the_list_refreshes_survive_and_all_reach_create_credit(
    as_user, manager, live_server, screenshot, assert_accessible
):
    """Issue 10, item 3: ticking rows while a search was still refreshing the list kept 1 of 3."""
    amy, ann = CustomerFactory(name="Amy Parent"), CustomerFactory(name="Ann Parent")
    ben = CustomerFactory(name="Ben Other")
    CustomerFactory(name="Cat Other")
    page = as_user(manager)
    open_view_all(page)
    status = page.locator("#selection-status")
    expect(status).to_have_text("No customers selected")

    # Type a search; while the server is slow to answer, tick three customers in the list still shown.
    held = hold_table_refreshes(page)
    page.get_by_label("Search").press_sequentially("Parent", delay=40)
    wait_until_held(page, held)
    for name in ("Amy Parent", "Ann Parent", "Ben Other"):
        page.get_by_label(f"Select {name}").check()
    expect(status).to_have_text("3 customers selected")
    screenshot(page, "customers-ticks-1-while-refreshing")

    # The refresh arrives: the ticks are still there, and Ben, no longer shown, still counts.
    for route in held:
        route.continue_()
    expect(page.get_by_role("link", name="Ben Other")).to_have_count(0)
    expect(page.get_by_label("Select Amy Parent")).to_be_checked()
    expect(page.get_by_label("Select Ann Parent")).to_be_checked()
    expect(status).to_have_text("3 customers selected (1 not shown)")
    expect(page.get_by_role("button", name="Clear selection")).to_be_visible()
    screenshot(page, "customers-ticks-2-after-refresh")
    assert_accessible(page)

    page.get_by_text("Group Actions").click()
    page.get_by_role("button", name="Create Credit").click()
    page.wait_for_url(re.compile(r"/billing/credits/bulk/\?"))
    assert sorted(parse_qs(urlparse(page.url).query)["customer"]) == sorted(str(c.pk) for c in (amy, ann, ben))
    expect(page.get_by_text("3 customers chosen")).to_be_visible()
    expect(page.locator("#selection")).to_contain_text("Amy Parent, Ann Parent, Ben Other")


def test_ticks_are_kept_across_pages_until_clear_selection(as_user, manager, live_server, screenshot):
    families = {n: CustomerFactory(name=f"Family {n:02d}") for n in range(27)}
    page = as_user(manager)
    open_view_all(page)
    status = page.locator("#selection-status")
    page.get_by_label("Select Family 00").check()
    page.get_by_role("link", name="Next").click()
    expect(page.get_by_role("link", name="Family 26")).to_be_visible()
    expect(status).to_have_text("1 customer selected (1 not shown)")
    page.get_by_label("Select Family 26").check()
    expect(status).to_have_text("2 customers selected (1 not shown)")
    page.get_by_role("link", name="Previous").click()
    expect(page.get_by_label("Select Family 00")).to_be_checked()
    expect(status).to_have_text("2 customers selected (1 not shown)")
    screenshot(page, "customers-ticks-3-across-pages")

    page.get_by_role("button", name="Clear selection").click()
    expect(status).to_have_text("No customers selected")
    expect(page.get_by_label("Select Family 00")).not_to_be_checked()
    expect(page.get_by_role("button", name="Clear selection")).to_be_hidden()
    page.get_by_label("Select Family 01").check()
    page.get_by_text("Group Actions").click()
    page.get_by_role("button", name="Create Credit").click()
    page.wait_for_url(re.compile(r"/billing/credits/bulk/\?"))
    assert parse_qs(urlparse(page.url).query)["customer"] == [str(families[1].pk)]


def test_managers_select_all_matching_for_group_actions(as_user, manager, live_server, screenshot, assert_accessible):
    for n in range(27):
        CustomerFactory(name=f"Swimmer {n:02d}", tags=["Swim Sat 10am"])
    CustomerFactory(name="Dancer", tags=["Ballet Tue 4pm"])
    page = as_user(manager)
    open_view_all(page)
    page.get_by_label("Class tag").fill("Swim Sat 10am")
    page.get_by_label("Class tag").press("Enter")
    expect(page.get_by_role("link", name="Dancer")).to_have_count(0)

    page.get_by_label("Select all on this page").check()
    expect(page.get_by_text("All 25 customers on this page are selected.")).to_be_visible()
    expect(page.get_by_label("Select Swimmer 00")).to_be_checked()
    page.get_by_role("button", name="Select all 27 matching").click()
    expect(page.get_by_text("All 27 matching customers are selected.")).to_be_visible()
    expect(page.get_by_text("27 customers selected")).to_be_visible()
    screenshot(page, "customers-all-matching")
    assert_accessible(page)

    page.get_by_text("Group Actions").click()
    page.get_by_role("button", name="Create Credit").click()
    page.wait_for_url(re.compile(r"/billing/credits/bulk/\?"))
    params = parse_qs(urlparse(page.url).query, keep_blank_values=True)
    assert params == {"all_matching": ["1"], "q": [""], "tag": ["Swim Sat 10am"], "outstanding": [""]}
    expect(page.get_by_text("27 customers match")).to_be_visible()


def test_select_all_matching_the_whole_list_chooses_all_customers_on_purpose(
    as_user, manager, live_server, screenshot, assert_accessible
):
    for n in range(27):
        CustomerFactory(name=f"Family {n:02d}")
    page = as_user(manager)
    open_view_all(page)
    page.get_by_label("Select all on this page").check()
    page.get_by_role("button", name="Select all 27 matching").click()
    expect(page.get_by_text("All 27 matching customers are selected.")).to_be_visible()
    page.get_by_text("Group Actions").click()
    page.get_by_role("button", name="Create Credit").click()
    page.wait_for_url(re.compile(r"/billing/credits/bulk/\?"))
    params = parse_qs(urlparse(page.url).query, keep_blank_values=True)
    assert params == {"all_matching": ["1"], "q": [""], "tag": [""], "outstanding": [""], "everyone": ["1"]}
    expect(page.get_by_label("All customers")).to_be_checked()
    expect(page.get_by_text("27 customers match")).to_be_visible()
    screenshot(page, "customers-all-matching-everyone")
    assert_accessible(page)


def test_staff_do_not_get_group_actions(as_user, staff, live_server):
    CustomerFactory(name="Amy Parent")
    page = as_user(staff)
    open_view_all(page)
    expect(page.get_by_role("link", name="Amy Parent")).to_be_visible()
    expect(page.get_by_text("Group Actions")).to_have_count(0)
    expect(page.get_by_role("checkbox", name="Select Amy Parent")).to_have_count(0)


def test_staff_add_a_customer(as_user, staff, live_server, screenshot, assert_accessible):
    page = as_user(staff)
    page.get_by_role("button", name="Customers menu").click()
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Add Customer").click()
    expect(page.get_by_role("heading", name="Add Customer")).to_be_visible()
    page.get_by_label("Email").fill("not an email")
    page.get_by_role("button", name="Add Customer").click()
    expect(page.get_by_text("Enter the customer's name.")).to_be_visible()
    expect(page.get_by_text("Enter an email address like amy@example.com.")).to_be_visible()
    assert not Customer.objects.exists()
    screenshot(page, "customers-add-errors")
    assert_accessible(page)

    page.get_by_label("Name").fill("Erin Parent")
    page.get_by_label("Email").fill("erin@example.com")
    page.get_by_label("Phone").fill("07700 900222")
    page.get_by_label("Tags").fill("Ballet Tue 4pm, Swim Sat 10am")
    page.get_by_role("button", name="Add Customer").dblclick()
    expect(page.get_by_role("heading", name="Erin Parent", level=1)).to_be_visible()
    expect(page.get_by_text("Erin Parent added.")).to_be_visible()
    assert Customer.objects.get().tags == ["Ballet Tue 4pm", "Swim Sat 10am"]
    screenshot(page, "customers-add-done")
    assert_accessible(page)


def test_managers_edit_details_in_a_dialog(as_user, manager, live_server, screenshot, assert_accessible):
    amy = CustomerFactory(name="Amy Parent", phone="07700 900111")
    page = as_user(manager)
    page.goto(f"{live_server.url}/customers/{amy.pk}/")
    page.get_by_role("link", name="Edit details").click()
    dialog = page.get_by_role("dialog", name="Edit details of Amy Parent")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Email").fill("nope")
    dialog.get_by_role("button", name="Save details").click()
    expect(dialog.get_by_text("Enter an email address like amy@example.com.")).to_be_visible()
    screenshot(page, "customers-edit-dialog")
    assert_accessible(page)

    dialog.get_by_label("Email").fill("amy@example.com")
    dialog.get_by_label("Phone").fill("01632 960000")
    dialog.get_by_role("button", name="Save details").click()
    expect(page.get_by_text("Amy Parent's details saved.")).to_be_visible()
    expect(page.get_by_role("list").get_by_role("link", name="01632 960000")).to_be_visible()
    amy.refresh_from_db()
    assert (amy.email, amy.phone) == ("amy@example.com", "01632 960000")


def test_the_pages_reached_without_javascript_are_accessible(
    as_user, manager, live_server, screenshot, assert_accessible
):
    amy = CustomerFactory(name="Amy Parent")
    page = as_user(manager)
    page.goto(f"{live_server.url}/customers/matching/?q=Amy&tag=&outstanding=")
    expect(page.get_by_role("link", name="Create Credit for all 1")).to_have_attribute(
        "href", "/billing/credits/bulk/?all_matching=1&q=Amy&tag=&outstanding="
    )
    screenshot(page, "customers-matching-page")
    assert_accessible(page)
    page.goto(f"{live_server.url}/customers/{amy.pk}/edit/")
    expect(page.get_by_role("heading", name="Edit details of Amy Parent")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(f"{live_server.url}/customers/{amy.pk}/")
