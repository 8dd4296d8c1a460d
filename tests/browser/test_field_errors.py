"""An error under a field goes as soon as the person changes the field (static/js/app.js), before anything is sent:
the message answered what was typed before, and left on screen it contradicts what is there now."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import CustomerFactory, credit_for, invoice_for

pytestmark = pytest.mark.browser

TOO_LARGE = "The amount can be at most £1,000,000.00."


def assert_no_error(box) -> None:
    """The box is no longer marked wrong: no message names it, no red wrapper, no aria-invalid."""
    expect(box).not_to_have_attribute("aria-invalid", "true")
    expect(box.locator("xpath=ancestor::*[contains(concat(' ', @class, ' '), ' has-error ')]")).to_have_count(0)
    described = box.get_attribute("aria-describedby") or ""
    assert "_error" not in described, described


def test_add_credit_clears_the_amounts_error_as_the_amount_is_retyped(
    as_user, staff, live_server, screenshot, assert_accessible
):
    amy = CustomerFactory(name="Amy Parent")
    page = as_user(staff)
    page.goto(f"{live_server.url}/customers/{amy.pk}/billing/")
    page.get_by_role("link", name="Add Credit").click()
    dialog = page.get_by_role("dialog")
    amount = dialog.get_by_label("Amount")
    amount.fill("2000000")
    dialog.get_by_role("button", name="Create").click()
    expect(dialog.get_by_text(TOO_LARGE)).to_be_visible()
    amount = dialog.get_by_label("Amount")
    expect(amount).to_have_attribute("aria-invalid", "true")
    screenshot(page, "field-errors-1-add-credit-too-large")

    # Empty the box and type 25: the message goes before anything is pressed.
    amount.fill("")
    amount.press_sequentially("25", delay=30)
    expect(dialog.get_by_text(TOO_LARGE)).to_have_count(0)
    assert_no_error(amount)
    expect(amount).to_have_attribute("aria-describedby", "id_amount_helptext")  # the help stays
    screenshot(page, "field-errors-2-add-credit-retyped")
    assert_accessible(page)

    dialog.get_by_role("button", name="Create").click()
    expect(page.get_by_text("Credit of £25.00 added for Amy Parent.")).to_be_visible()


def test_the_billing_add_credit_page_clears_the_error_too(as_user, staff, live_server):
    """Billing › Add Credit, a whole page (no dialog): the same, on the page the server sent back with the error."""
    CustomerFactory(name="Amy Parent")
    page = as_user(staff)
    page.goto(f"{live_server.url}/billing/add-credit/")
    page.get_by_role("searchbox", name="Customer", exact=True).fill("Amy")
    page.get_by_role("radio", name=re.compile("Amy Parent")).check()
    page.get_by_label("Amount").fill("2000000")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_text(TOO_LARGE)).to_be_visible()
    page.get_by_label("Amount").fill("")
    page.get_by_label("Amount").press_sequentially("25", delay=30)
    expect(page.get_by_text(TOO_LARGE)).to_have_count(0)
    assert_no_error(page.get_by_label("Amount"))


def test_assignments_add_clears_one_boxs_error_and_leaves_the_others(
    as_user, staff, live_server, screenshot, assert_accessible
):
    amy = CustomerFactory(name="Amy Parent")
    autumn = invoice_for(amy, "100.00", by=staff)
    spring = invoice_for(amy, "150.00", by=staff)
    credit = credit_for(amy, "250.00", by=staff)
    page = as_user(staff)
    page.goto(f"{live_server.url}/billing/credits/{credit.pk}/assignments/")
    page.get_by_role("link", name="Add").click()
    panel = page.get_by_role("region", name="Assign to unpaid and part-paid invoices")
    panel.get_by_label(f"Amount for {autumn}").fill("2000000")
    panel.get_by_label(f"Amount for {spring}").fill("1.234")
    panel.get_by_role("button", name="Assign").click()
    expect(panel.get_by_text(TOO_LARGE)).to_be_visible()
    expect(panel.get_by_text("Use at most 2 decimal places (pence).")).to_be_visible()
    screenshot(page, "field-errors-3-assign-two-errors")

    box = panel.get_by_label(f"Amount for {autumn}")
    box.fill("")
    box.press_sequentially("25", delay=30)
    expect(panel.get_by_text(TOO_LARGE)).to_have_count(0)
    assert_no_error(box)
    # The other box was not changed: its error stays.
    expect(panel.get_by_text("Use at most 2 decimal places (pence).")).to_be_visible()
    expect(panel.get_by_label(f"Amount for {spring}")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "field-errors-4-assign-one-retyped")
    assert_accessible(page)


def test_fill_oldest_first_clears_the_errors_of_the_boxes_it_fills(as_user, staff, live_server):
    amy = CustomerFactory(name="Amy Parent")
    autumn = invoice_for(amy, "100.00", by=staff)
    credit = credit_for(amy, "250.00", by=staff)
    page = as_user(staff)
    page.goto(f"{live_server.url}/billing/credits/{credit.pk}/assignments/")
    page.get_by_role("link", name="Add").click()
    panel = page.get_by_role("region", name="Assign to unpaid and part-paid invoices")
    panel.get_by_label(f"Amount for {autumn}").fill("2000000")
    panel.get_by_role("button", name="Assign").click()
    expect(panel.get_by_text(TOO_LARGE)).to_be_visible()
    panel.get_by_role("button", name="Fill oldest first").click()
    expect(panel.get_by_label(f"Amount for {autumn}")).to_have_value("100.00")
    expect(panel.get_by_text(TOO_LARGE)).to_have_count(0)
    assert_no_error(panel.get_by_label(f"Amount for {autumn}"))


def test_bulk_credits_clear_the_amounts_error(as_user, manager, live_server):
    CustomerFactory(name="Amy Parent", tags=["Ballet Tue 4pm"])
    page = as_user(manager)
    page.goto(f"{live_server.url}/billing/credits/bulk/?all_matching=1&tag=Ballet+Tue+4pm")
    amount = page.get_by_label("Amount", exact=False).first
    amount.fill("2000000")
    page.get_by_role("button", name=re.compile("^Create")).click()
    expect(page.get_by_text(TOO_LARGE)).to_be_visible()
    amount = page.get_by_role("textbox", name=re.compile("^Amount"))
    expect(amount).to_have_attribute("aria-invalid", "true")
    amount.fill("")
    amount.press_sequentially("20", delay=30)
    expect(page.get_by_text(TOO_LARGE)).to_have_count(0)
    assert_no_error(amount)


@pytest.mark.parametrize(
    ("form", "box", "wrong", "right"),
    [
        ("record payment", "Amount", "2000000", "25"),
        ("new invoice", "Due date", "", "2099-12-31"),
        ("add customer", "Email", "not an email", "ben@example.com"),
    ],
)
def test_every_other_form_clears_a_fields_error_when_it_changes(as_user, staff, live_server, form, box, wrong, right):
    amy = CustomerFactory(name="Amy Parent")
    invoice = invoice_for(amy, "100.00", by=staff)
    page = as_user(staff)
    if form == "record payment":
        page.goto(f"{live_server.url}/billing/invoices/{invoice.pk}/")
        page.get_by_role("link", name="Record payment").click()
        send = "Record payment"
    elif form == "new invoice":
        page.goto(f"{live_server.url}/billing/invoices/new/?customer={amy.pk}")
        page.get_by_label("Line 1 description").fill("Ballet")
        page.get_by_label("Line 1 unit price").fill("10.00")
        send = "Create invoice"
    else:
        page.goto(f"{live_server.url}/customers/add/")
        page.get_by_label("Name").fill("Ben Parent")
        send = "Add Customer"
    page.get_by_label(box).fill(wrong)
    page.get_by_role("button", name=send, exact=True).click()
    field = page.get_by_label(box)
    expect(field).to_have_attribute("aria-invalid", "true")
    errors = page.locator(".has-error .error")
    expect(errors).to_have_count(1)
    if box == "Due date":
        field.fill(right)  # a date box changes as a whole
    else:
        field.fill("")
        field.press_sequentially(right, delay=20)
    expect(errors).to_have_count(0)
    assert_no_error(field)
