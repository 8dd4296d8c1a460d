"""Documents in Chromium: Add Credit with "Email the credit note" to the Outbox and the message that arrived; the
Statement tab; a credit's and an invoice's Download PDF and Email; a statement run with a customer without an address."""

from __future__ import annotations

import re
import threading

import pytest
from playwright.sync_api import expect

from documents.models import Email
from tests.documents.conftest import smtp_server  # noqa: F401 - the fixture, asked for by name below
from tests.factories import CustomerFactory, credit_for, invoice_for

pytestmark = pytest.mark.browser


def work_the_queue(run_worker) -> None:
    """Procrastinate's real worker until the queue is empty, in a thread of its own (Playwright holds this thread's
    event loop)."""
    from django.db import connection

    errors = []

    def work() -> None:
        try:
            run_worker()
        except Exception as error:  # noqa: BLE001 - raised again below
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(120)
    assert not thread.is_alive() and not errors, errors


def open_billing_menu(page, item: str) -> None:
    """Click < beside Billing unless the menu is open already (open menus are remembered), then the item."""
    if page.locator("#menu-billing").is_hidden():
        page.get_by_role("button", name="Billing menu").click()
    page.locator("#menu-billing").get_by_role("link", name=item, exact=True).click()


def test_add_credit_with_email_the_credit_note_reaches_the_outbox_and_the_family(
    as_user,
    staff,
    request,
    run_worker,
    screenshot,
    assert_accessible,
):
    mail = request.getfixturevalue("smtp_server")
    amy = CustomerFactory(name="Amy Parent", email="amy@mail.test")
    page = as_user(staff)
    open_billing_menu(page, "Add Credit")
    box = page.get_by_label("Email the credit note")
    expect(box).not_to_be_checked()  # off by default
    page.get_by_role("searchbox", name="Customer", exact=True).press_sequentially("Amy", delay=40)
    page.get_by_role("group", name="Choose the customer").get_by_role("radio", name=re.compile("Amy Parent")).check()
    page.get_by_label("Amount").fill("25.00")
    page.get_by_label("Reason").select_option(label="Cancelled class")
    box.check()
    screenshot(page, "documents-1-add-credit-email-ticked")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_text("The credit note is queued to amy@mail.test (Billing › Outbox).")).to_be_visible()
    credit = amy.credits.get()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Credit note {credit.display_number}")
    assert_accessible(page)

    open_billing_menu(page, "Outbox")
    outbox = page.get_by_role("table", name="Outbox")
    expect(outbox).to_contain_text("amy@mail.test")
    expect(outbox).to_contain_text("Queued")
    work_the_queue(run_worker)
    page.reload()
    expect(outbox).to_contain_text("Sent")
    screenshot(page, "documents-2-outbox-sent")
    assert_accessible(page)
    outbox.get_by_role("link", name=re.compile(f"Credit note {credit.display_number}")).click()
    expect(page.get_by_role("link", name=f"credit-note-{credit.display_number}.pdf")).to_be_visible()
    expect(page.get_by_text("We have added a credit of £25.00")).to_be_visible()
    screenshot(page, "documents-3-outbox-email")
    assert_accessible(page)
    [message] = mail.messages
    assert message["To"] == "amy@mail.test" and credit.display_number in message["Subject"]
    assert Email.objects.get().status == "sent"


def test_the_statement_tab_and_the_pdf_and_email_buttons(as_user, staff, live_server, screenshot, assert_accessible):
    amy = CustomerFactory(name="Amy Parent", email="amy@mail.test", address="4 Orchard Close\nSurbiton")
    invoice = invoice_for(amy, "120.00")
    credit = credit_for(amy, "20.00")
    page = as_user(staff)
    page.goto(f"{live_server.url}{amy.get_absolute_url()}")
    page.get_by_role("link", name="Statement").click()
    expect(page.get_by_role("heading", name="Statement")).to_be_visible()
    table = page.get_by_role("table", name=re.compile("Account movements"))
    expect(table).to_contain_text(f"Invoice {invoice.display_number}")
    expect(table).to_contain_text(f"Credit note {credit.display_number}")
    expect(page.locator(".figure", has_text="Closing balance")).to_contain_text("£100.00")
    expect(page.locator(".figure", has_text="Account credit available")).to_contain_text("£20.00")
    screenshot(page, "documents-4-statement-tab")
    assert_accessible(page)
    page.get_by_label("From", exact=True).fill("2026-05-02")
    page.get_by_label("To", exact=True).fill("2026-05-01")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("The period starts after it ends")).to_be_visible()
    assert_accessible(page)

    page.goto(f"{live_server.url}{credit.get_absolute_url()}")
    expect(page.get_by_role("link", name="Download PDF")).to_have_attribute(
        "href", f"/billing/credits/{credit.pk}/pdf/"
    )
    page.get_by_role("button", name="Email").click()
    expect(page.get_by_text("Queued to amy@mail.test")).to_be_visible()
    assert_accessible(page)
    page.goto(f"{live_server.url}{invoice.get_absolute_url()}")
    page.get_by_role("button", name="Email").click()
    expect(page.get_by_text("Queued to amy@mail.test")).to_be_visible()
    screenshot(page, "documents-5-invoice-emailed")
    assert Email.objects.count() == 2


def test_a_statement_run_lists_a_customer_without_an_email_address(
    as_user,
    manager,
    live_server,
    run_worker,
    request,
    screenshot,
    assert_accessible,
):
    mail = request.getfixturevalue("smtp_server")
    invoice_for(CustomerFactory(name="Amy Parent", email="amy@mail.test"), "30.00")
    invoice_for(CustomerFactory(name="Nadia Noaddress", email=""), "40.00")
    page = as_user(manager)
    open_billing_menu(page, "Runs")
    page.get_by_role("link", name="New statement run").click()
    expect(page.get_by_text("2 customers have an outstanding balance or available credit.")).to_be_visible()
    screenshot(page, "documents-6-new-statement-run")
    assert_accessible(page)
    page.get_by_role("button", name="Start the run").click()
    expect(page.get_by_text("Statement run started")).to_be_visible()
    work_the_queue(run_worker)
    expect(page.get_by_text("Nadia Noaddress")).to_be_visible(timeout=10_000)
    expect(page.get_by_text("No email address")).to_be_visible()
    screenshot(page, "documents-7-statement-run-done")
    assert_accessible(page)
    assert [m["To"] for m in mail.messages] == ["amy@mail.test"]


def test_group_actions_send_statements_to_two_ticked_customers(
    as_user, manager, live_server, run_worker, request, screenshot, assert_accessible
):
    mail = request.getfixturevalue("smtp_server")
    for name in ("Amy Parent", "Ben Parent", "Cat Parent"):
        invoice_for(CustomerFactory(name=name, email=f"{name.split()[0].lower()}@mail.test"), "30.00")
    page = as_user(manager)
    page.goto(f"{live_server.url}/customers/")
    page.get_by_label("Select Amy Parent").check()
    page.get_by_label("Select Cat Parent").check()
    page.get_by_text("Group Actions").click()
    page.get_by_role("button", name="Send Statements").click()
    expect(page.get_by_text("2 customers ticked on Customers › View All.")).to_be_visible()
    expect(page.get_by_label("The customers ticked on Customers › View All")).to_be_checked()
    screenshot(page, "documents-8-send-statements-ticked")
    assert_accessible(page)
    page.get_by_role("button", name="Start the run").click()
    expect(page.get_by_text("Statement run started")).to_be_visible()
    work_the_queue(run_worker)
    assert sorted(m["To"] for m in mail.messages) == ["amy@mail.test", "cat@mail.test"]
