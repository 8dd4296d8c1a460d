"""Money back out in Chromium: a manager refunds a family's unused credit and reverses a refund; a payment larger
than the invoice puts the extra on the account as a credit."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.models import Payment
from credits.models import Credit, Refund
from tests.factories import credit_for, invoice_for

pytestmark = pytest.mark.browser

D = Decimal


def figure(page, label: str):
    return page.locator(".figure", has_text=label).locator(".value")


def test_a_manager_refunds_unused_credit_and_reverses_a_refund(
    as_user, manager, customer, live_server, screenshot, assert_accessible
):
    credit = credit_for(customer, "100.00")
    page = as_user(manager)
    page.goto(f"{live_server.url}{credit.get_absolute_url()}")
    expect(figure(page, "Refunded")).to_have_text("£0.00")

    # Refund, in a dialog: the amount is the remaining by default; too much is refused next to the box.
    page.get_by_role("link", name="Refund").click()
    dialog = page.get_by_role("dialog", name="Refund credit for Amy Parent")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Amount to refund")).to_have_value("100.00")
    dialog.get_by_label("Amount to refund").fill("100.01")
    dialog.get_by_role("button", name="Refund").click()
    expect(dialog.get_by_text("This credit has only £100.00 left to refund.")).to_be_visible()
    assert not Refund.objects.exists()
    screenshot(page, "refunds-1-too-much")
    assert_accessible(page)

    dialog.get_by_label("Amount to refund").fill("40.00")
    dialog.get_by_label("Method").select_option(label="Bank transfer")
    dialog.get_by_label("Note").fill("Leaving at end of term")
    dialog.get_by_role("button", name="Refund").click()
    expect(page.locator("#messages")).to_have_text(re.compile(r"Refunded £40\.00 to Amy Parent \(bank transfer\)\."))
    expect(figure(page, "Refunded")).to_have_text("£40.00")
    expect(figure(page, "Remaining")).to_have_text("£60.00")
    refunds = page.locator("#refunds-table")
    expect(refunds.get_by_role("row", name=re.compile("£40.00 .* Bank transfer maria.manager"))).to_be_visible()
    screenshot(page, "refunds-2-refunded")
    assert_accessible(page)

    # Reverse, with a reason: the money is back on the credit, and both records stay.
    refunds.get_by_role("link", name=re.compile("Reverse")).click()
    dialog = page.get_by_role("dialog", name="Reverse the £40.00 refund?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Reverse refund").click()
    expect(dialog.get_by_text("Say why this refund is being reversed.")).to_be_visible()
    dialog.get_by_label("Why is this refund being reversed?").fill("The bank returned the transfer")
    screenshot(page, "refunds-3-reverse")
    dialog.get_by_role("button", name="Reverse refund").click()
    expect(page.locator("#messages")).to_have_text(re.compile(r"Reversed the £40\.00 refund"))
    expect(figure(page, "Refunded")).to_have_text("£0.00")
    expect(figure(page, "Remaining")).to_have_text("£100.00")
    expect(refunds).to_contain_text("The bank returned the transfer")
    screenshot(page, "refunds-4-reversed")
    assert_accessible(page)
    refund = Refund.objects.get()
    assert (refund.amount, refund.reversal_reason) == (D("40.00"), "The bank returned the transfer")

    # History tells both, and Billing › Refunds lists the money out.
    page.get_by_role("link", name="History").click()
    expect(page.get_by_text("Credit refunded").first).to_be_visible()
    expect(page.get_by_text("Refund reversed").first).to_be_visible()
    page.get_by_role("button", name="Billing menu").click()
    page.locator("#menu-billing").get_by_role("link", name="Refunds", exact=True).click()
    expect(page.get_by_role("heading", name="Refunds", level=1)).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Amy Parent £40.00 Bank transfer Reversed"))).to_be_visible()
    screenshot(page, "refunds-5-billing-refunds")
    assert_accessible(page)


def test_an_overpayment_becomes_a_credit(as_user, staff, customer, live_server, screenshot, assert_accessible):
    invoice = invoice_for(customer, "100.00")
    page = as_user(staff)
    page.goto(f"{live_server.url}{invoice.get_absolute_url()}")
    page.get_by_role("link", name="Record payment").click()
    dialog = page.get_by_role("dialog", name=f"Record payment on {invoice}")
    dialog.get_by_label("Amount").fill("150.00")
    dialog.get_by_role("button", name="Record payment").click()
    expect(dialog.get_by_text(f"That is more than the £100.00 outstanding on {invoice}.")).to_be_visible()
    offer = dialog.get_by_label("Put the extra £50.00 on the account as a credit")
    expect(offer).not_to_be_checked()
    screenshot(page, "refunds-6-overpayment-offer")
    assert_accessible(page)
    offer.check()
    dialog.get_by_role("button", name="Record payment").click()
    expect(page.locator("#messages")).to_have_text(
        re.compile(r"Payment of £100\.00 recorded .* The extra £50\.00 put on the account as a credit\.")
    )
    expect(page.get_by_role("heading", name=f"Invoice {invoice}")).to_contain_text("Paid")
    screenshot(page, "refunds-7-overpayment-recorded")
    assert Payment.objects.get().amount == D("100.00")
    credit = Credit.objects.get()
    assert (credit.amount, credit.reason, credit.auto_apply) == (D("50.00"), "overpayment", True)
