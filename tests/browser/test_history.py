"""The History tabs in Chromium: what was recorded reads as the pages show it (labels, £, "28 Nov 2026", reason and
method labels, Yes/No), and the customers, invoices, credits and batches it names are links a person follows."""

from __future__ import annotations

import datetime
import re

import pytest
from playwright.sync_api import expect

from billing import services as billing
from credits import services as credits
from tests.factories import CustomerFactory, invoice_for

pytestmark = pytest.mark.browser

NOV_28 = datetime.date(2026, 11, 28)


def history_row(page, action: str, containing: str):
    """The History table's row for this action (the bold words) that contains this text."""
    table = page.get_by_role("table", name="Every change, newest first")
    return table.get_by_role("row").filter(has=page.locator("strong", has_text=action)).filter(has_text=containing)


def test_a_customers_history_reads_as_the_pages_and_leads_to_the_credit(
    as_user, staff, live_server, screenshot, assert_accessible
):
    amy = CustomerFactory(name="Amy Parent")
    credit = credits.add_credit(
        amy, "25.00", date=NOV_28, reason="cancelled_class", note="Pool closed", auto_apply=True, by=staff
    )
    page = as_user(staff)
    page.goto(f"{live_server.url}/customers/{amy.pk}/")
    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("link", name="History")).to_have_attribute("aria-current", "page")

    row = history_row(page, "Credit added", f"{credit.display_number} created")
    for words in ("Payment date: 28 Nov 2026", "Amount: £25.00", "Reason: Cancelled class", "Auto-apply: Yes"):
        expect(row).to_contain_text(words)
    expect(row).not_to_contain_text("cancelled_class")
    expect(row).not_to_contain_text("True")
    expect(row).not_to_contain_text("2026-11-28")
    expect(row.get_by_role("link", name="Amy Parent")).to_have_attribute("href", f"/customers/{amy.pk}/")
    screenshot(page, "history-1-customer")
    assert_accessible(page)

    row.get_by_role("link", name=credit.display_number).click()
    expect(page).to_have_url(f"{live_server.url}/billing/credits/{credit.pk}/")
    expect(page.get_by_role("heading", name=re.compile(r"Credit note CN-\d{6} for Amy Parent"))).to_be_visible()


def test_an_invoices_history_names_its_number_method_and_customer_linked(
    as_user, staff, live_server, screenshot, assert_accessible
):
    amy = CustomerFactory(name="Amy Parent")
    invoice = billing.create_invoice(
        amy, [("Ballet — autumn term", 1, "120.00")], issue_date=NOV_28, due_date=datetime.date(2026, 12, 12), by=staff
    )
    billing.record_payment(invoice, "40.00", date=NOV_28, method="bank_transfer", by=staff)
    page = as_user(staff)
    page.goto(f"{live_server.url}/billing/invoices/{invoice.pk}/")
    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("link", name="History")).to_have_attribute("aria-current", "page")

    payment = history_row(page, "Payment recorded", "Payment created")
    for words in ("Amount: £40.00", "Date: 28 Nov 2026", "Method: Bank transfer", f"Invoice: {invoice}"):
        expect(payment).to_contain_text(words)
    created = history_row(page, "Invoice created", f"{invoice} created")
    for words in ("Issue date: 28 Nov 2026", "Due date: 12 Dec 2026", "Customer: Amy Parent"):
        expect(created).to_contain_text(words)
    screenshot(page, "history-2-invoice")
    assert_accessible(page)

    created.get_by_role("link", name="Amy Parent").click()
    expect(page).to_have_url(f"{live_server.url}/customers/{amy.pk}/")


def test_a_credits_history_shows_a_modification_in_words_and_leads_to_its_batch_and_invoice(
    as_user, staff, manager, live_server, screenshot, assert_accessible
):
    amy = CustomerFactory(name="Amy Parent")
    batch = credits.add_bulk_credits([amy], "20.00", date=NOV_28, reason="goodwill", auto_apply=False, by=manager)
    credit = amy.credits.get()
    invoice = invoice_for(amy, "15.00", by=staff)
    credits.assign_credit(credit, {invoice: "15.00"}, by=staff)
    credits.update_credit(credit, reason="refund", auto_apply=True, by=staff)
    page = as_user(staff)
    page.goto(f"{live_server.url}/billing/credits/{credit.pk}/")
    page.get_by_role("link", name="History").click()

    modified = history_row(page, "Credit modified", "changed")
    expect(modified).to_contain_text("Reason: Goodwill → Refund")
    expect(modified).to_contain_text("Auto-apply: No → Yes")
    assigned = history_row(page, "Credit assigned", "Credit assignment created")
    expect(assigned.get_by_role("link", name=str(invoice))).to_have_attribute(
        "href", f"/billing/invoices/{invoice.pk}/"
    )
    added = history_row(page, "Bulk credits added", f"{credit.display_number} created")
    expect(added).to_contain_text(f"Bulk batch: Bulk batch #{batch.pk}")
    screenshot(page, "history-3-credit")
    assert_accessible(page)

    added.get_by_role("link", name=f"Bulk batch #{batch.pk}").click()
    expect(page.get_by_role("heading", name=f"Bulk batch #{batch.pk}")).to_be_visible()
    page.go_back()
    history_row(page, "Credit assigned", "Credit assignment created").get_by_role("link", name=str(invoice)).click()
    expect(page.get_by_role("heading", name=re.compile(f"Invoice {invoice}"))).to_be_visible()
