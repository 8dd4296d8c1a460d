"""Billing › Invoices and Billing › Payments, clicked through in Chromium with the product's own words."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing import services as billing
from billing.models import Invoice, Payment
from credits.models import Credit
from tests.browser.conftest import SCREENSHOTS
from tests.factories import CustomerFactory, credit_for, invoice_for

pytestmark = pytest.mark.browser

D = Decimal


@pytest.fixture
def screenshot():
    """The shared fixture, but with the caret left alone.

    Playwright hides the caret by setting `style` on inputs and leaves `style=""` behind; htmx's
    settle step then copies that attribute onto the swapped-in inputs, which the strict CSP refuses.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str):
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True, caret="initial")
        return path

    return take


def open_billing_menu(page, item: str) -> None:
    """Click < to the right of Billing (unless the menu is still open from before), then the item in the expanded menu."""
    toggle = page.get_by_role("button", name="Billing menu")
    if toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    page.locator("#menu-billing").get_by_role("link", name=item, exact=True).click()


def figure(page, label: str):
    return page.locator(".figure", has=page.locator(".label", has_text=re.compile(f"^{label}$"))).locator(".value")


def test_a_new_invoice_with_two_lines_takes_the_remainder_of_a_credit(
    as_user, staff, customer, live_server, screenshot, assert_accessible
):
    # The article's £250 credit: £100 went to an earlier invoice, so £150 remains for the next one.
    credit = credit_for(customer, "250.00", auto_apply=True)
    earlier = invoice_for(customer, "100.00")
    CustomerFactory(name="Amir Other")
    page = as_user(staff)

    open_billing_menu(page, "Invoices")
    expect(page.get_by_role("heading", name="Invoices")).to_be_visible()
    expect(page.get_by_role("link", name=str(earlier))).to_be_visible()
    screenshot(page, "billing-01-invoices")
    assert_accessible(page)

    page.get_by_role("link", name="New invoice").click()
    expect(page.get_by_role("heading", name="New invoice")).to_be_visible()
    page.get_by_label("Find a customer").press_sequentially("Amy", delay=30)
    expect(page.get_by_role("radio", name=re.compile("Amy Parent"))).to_be_visible()
    expect(page.get_by_role("radio", name=re.compile("Amir Other"))).to_have_count(0)
    page.get_by_role("radio", name=re.compile("Amy Parent")).check()
    page.get_by_label("Line 1 description").fill("Ballet — autumn term")
    page.get_by_label("Line 1 unit price").fill("120.00")
    page.get_by_role("button", name="Add line").click()
    expect(page.get_by_label("Line 2 description")).to_be_focused()
    expect(page.get_by_role("radio", name=re.compile("Amy Parent"))).to_be_checked()
    page.get_by_label("Line 2 description").fill("Leotard")
    page.get_by_label("Line 2 quantity").fill("2")
    page.get_by_label("Line 2 unit price").fill("15.505")
    page.get_by_role("button", name="Create invoice").click()
    expect(page.locator("#id_lines-1-unit_price_error")).to_have_text("Use at most 2 decimal places (pence).")
    assert Invoice.objects.count() == 1
    screenshot(page, "billing-02-new-invoice-error-next-to-the-line")
    assert_accessible(page)

    page.get_by_label("Line 2 unit price").fill("15.50")
    screenshot(page, "billing-02-new-invoice-two-lines")
    assert_accessible(page)
    page.get_by_role("button", name="Create invoice").click()
    page.wait_for_url(re.compile(r"/billing/invoices/\d+/$"))
    invoice = Invoice.objects.exclude(pk=earlier.pk).get()
    expect(page.locator("#messages")).to_have_text(
        re.compile(f"Invoice {invoice} created for Amy Parent; £150.00 of available credit was applied.")
    )
    expect(page.get_by_role("heading", name=f"Invoice {invoice}")).to_contain_text("Part-paid")
    expect(figure(page, "Total")).to_have_text("£151.00")
    expect(figure(page, "Paid")).to_have_text("£0.00")
    expect(figure(page, "Credited")).to_have_text("£150.00")
    expect(figure(page, "Outstanding")).to_have_text("£1.00")
    expect(page.get_by_role("row", name=re.compile("Leotard 2 £15.50 £31.00"))).to_be_visible()
    expect(page.get_by_role("link", name=credit.display_number)).to_be_visible()
    screenshot(page, "billing-03-invoice-created-credit-applied")
    assert_accessible(page)
    credit.refresh_from_db()
    assert credit.remaining == 0

    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("link", name="History")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("cell", name=re.compile(f"{invoice} created"))).to_be_visible()
    expect(page.get_by_role("cell", name=re.compile("Description: Leotard"))).to_be_visible()
    screenshot(page, "billing-04-invoice-history")
    assert_accessible(page)


def test_the_invoice_list_filters_as_you_type(as_user, staff, customer, live_server, screenshot, assert_accessible):
    amys = invoice_for(customer, "20.00")
    bens = invoice_for(CustomerFactory(name="Ben Other"), "30.00")
    billing.record_payment(bens, "30.00")
    page = as_user(staff)
    open_billing_menu(page, "Invoices")
    page.get_by_label("Search").press_sequentially("amy", delay=30)
    expect(page.get_by_role("link", name=str(bens))).to_have_count(0)
    expect(page.get_by_role("link", name=str(amys))).to_be_visible()
    assert "q=amy" in page.url
    page.get_by_label("Search").fill("")
    page.get_by_label("Status").select_option(label="Paid")
    expect(page.get_by_role("link", name=str(amys))).to_have_count(0)
    expect(page.get_by_role("link", name=str(bens))).to_be_visible()
    screenshot(page, "billing-05-invoices-filtered-paid")
    assert_accessible(page)
    page.get_by_role("link", name=str(bens)).click()
    page.wait_for_url(f"{live_server.url}{bens.get_absolute_url()}")
    expect(page.get_by_role("heading", name=f"Invoice {bens}")).to_contain_text("Paid")


def test_record_a_payment_from_the_invoice_page(as_user, staff, customer, live_server, screenshot, assert_accessible):
    invoice = invoice_for(customer, "120.00")
    page = as_user(staff)
    page.goto(f"{live_server.url}{invoice.get_absolute_url()}")
    page.get_by_role("link", name="Record payment").click()
    dialog = page.get_by_role("dialog", name=f"Record payment on {invoice}")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Amount")).to_have_value("120.00")
    expect(dialog.get_by_label("Amount")).to_be_focused()
    screenshot(page, "billing-06-record-payment-dialog")
    assert_accessible(page)

    dialog.get_by_label("Amount").fill("500.00")
    dialog.get_by_role("button", name="Record payment").click()
    expect(dialog.get_by_text(f"That is more than the £120.00 outstanding on {invoice}.")).to_be_visible()
    screenshot(page, "billing-07-record-payment-too-much")
    assert_accessible(page)

    dialog.get_by_label("Amount").fill("40.00")
    dialog.get_by_label("Method").select_option(label="Cash")
    dialog.get_by_role("button", name="Record payment").click()
    expect(page.locator("#messages")).to_have_text(
        re.compile(f"Payment of £40.00 recorded on {invoice} for Amy Parent.")
    )
    expect(figure(page, "Paid")).to_have_text("£40.00")
    expect(figure(page, "Outstanding")).to_have_text("£80.00")
    expect(page.get_by_role("row", name=re.compile("Cash £40.00 sam.staff"))).to_be_visible()
    screenshot(page, "billing-08-payment-recorded")
    assert_accessible(page)
    assert Payment.objects.get().amount == D("40.00")


def test_record_a_payment_from_billing_payments_with_the_invoice_picker(
    as_user, staff, customer, live_server, screenshot, assert_accessible
):
    invoice = invoice_for(customer, "75.00")
    page = as_user(staff)
    open_billing_menu(page, "Payments")
    expect(page.get_by_role("heading", name="Payments")).to_be_visible()
    screenshot(page, "billing-09-payments-empty")
    assert_accessible(page)

    page.get_by_role("link", name="Record payment").click()
    page.get_by_label("Find an unpaid or part-paid invoice").press_sequentially(str(invoice), delay=20)
    page.get_by_role("radio", name=re.compile(str(invoice))).check()
    expect(page.get_by_label("Amount")).to_have_value("75.00")
    screenshot(page, "billing-10-record-payment-picker")
    assert_accessible(page)

    page.get_by_role("button", name="Record payment").click()
    page.wait_for_url(f"{live_server.url}{invoice.get_absolute_url()}")
    expect(page.get_by_role("heading", name=f"Invoice {invoice}")).to_contain_text("Paid")
    open_billing_menu(page, "Payments")
    expect(page.get_by_role("row", name=re.compile(f"{invoice} Amy Parent Card £75.00 sam.staff"))).to_be_visible()
    screenshot(page, "billing-11-payments-list")
    assert_accessible(page)


def test_apply_available_credit_on_an_invoice(as_user, staff, customer, live_server, screenshot, assert_accessible):
    invoice = invoice_for(customer, "100.00")
    credit_for(customer, "30.00", auto_apply=True)  # added after the invoice, so nothing applied it yet
    page = as_user(staff)
    page.goto(f"{live_server.url}{invoice.get_absolute_url()}")
    expect(figure(page, "Available credit")).to_have_text("£30.00")
    screenshot(page, "billing-12-available-credit")
    page.get_by_role("button", name="Apply available credit").click()
    expect(page.locator("#messages")).to_have_text(re.compile(f"£30.00 of available credit was applied to {invoice}."))
    expect(figure(page, "Credited")).to_have_text("£30.00")
    expect(figure(page, "Outstanding")).to_have_text("£70.00")
    expect(page.get_by_role("button", name="Apply available credit")).to_have_count(0)
    screenshot(page, "billing-13-credit-applied")
    assert_accessible(page)


def test_a_manager_voids_an_invoice_and_its_credit_is_released(
    as_user, manager, customer, live_server, screenshot, assert_accessible
):
    credit = credit_for(customer, "30.00", auto_apply=True)
    invoice = invoice_for(customer, "100.00")  # takes the £30 straight away
    page = as_user(manager)
    page.goto(f"{live_server.url}{invoice.get_absolute_url()}")
    expect(figure(page, "Credited")).to_have_text("£30.00")
    page.get_by_role("link", name="Void").click()
    dialog = page.get_by_role("dialog", name=f"Void invoice {invoice}?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("row", name=re.compile(f"{credit}.*£30.00"))).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    screenshot(page, "billing-14-void-confirmation")
    assert_accessible(page)

    dialog.get_by_role("button", name="Void invoice").click()
    expect(page.locator("#messages")).to_have_text(
        re.compile(f"{invoice} voided. £30.00 of credit was released to Amy Parent’s account.")
    )
    expect(page.get_by_role("heading", name=f"Invoice {invoice}")).to_contain_text("Void")
    expect(figure(page, "Outstanding")).to_have_text("£0.00")
    expect(page.get_by_role("link", name="Void")).to_have_count(0)
    expect(page.get_by_role("link", name="Record payment")).to_have_count(0)
    screenshot(page, "billing-15-voided")
    assert_accessible(page)
    credit.refresh_from_db()
    assert credit.remaining == D("30.00")


def test_staff_are_not_offered_void(as_user, staff, customer, live_server):
    invoice = invoice_for(customer, "100.00")
    page = as_user(staff)
    page.goto(f"{live_server.url}{invoice.get_absolute_url()}")
    expect(page.get_by_role("link", name="Record payment")).to_be_visible()
    expect(page.get_by_role("link", name="Void")).to_have_count(0)


def test_a_double_click_on_create_invoice_makes_one_invoice(as_user, staff, customer, live_server):
    page = as_user(staff)
    page.goto(f"{live_server.url}/billing/invoices/new/?customer={customer.pk}")
    page.get_by_label("Line 1 description").fill("Swim — spring term")
    page.get_by_label("Line 1 unit price").fill("80.00")
    page.get_by_role("button", name="Create invoice").dblclick()
    page.wait_for_url(re.compile(r"/billing/invoices/\d+/$"))
    expect(page.locator("#messages")).to_contain_text("created for Amy Parent")
    assert Invoice.objects.count() == 1


def test_enter_in_a_line_creates_the_invoice(as_user, staff, customer, live_server):
    page = as_user(staff)
    page.goto(f"{live_server.url}/billing/invoices/new/?customer={customer.pk}")
    page.get_by_label("Line 1 description").fill("Drama")
    page.get_by_label("Line 1 unit price").fill("12.00")
    page.get_by_label("Line 1 unit price").press("Enter")
    page.wait_for_url(re.compile(r"/billing/invoices/\d+/$"))
    assert Invoice.objects.get().total == D("12.00")
    assert not Credit.objects.exists()
