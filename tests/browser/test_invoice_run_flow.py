"""Group Actions › Create Invoices for ticked customers: the summary, the yes, the bar moving on its own while a real
worker process raises the invoices, and the result."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from billing.models import Invoice
from credits import services as credits
from runs.models import Run
from tests.factories import CustomerFactory


def test_group_actions_create_invoices_and_watch_the_run(
    as_user, manager, live_server, worker_processes, screenshot, assert_accessible
):
    amy, ben, _cat = (CustomerFactory(name=name) for name in ["Amy Parent", "Ben Parent", "Cat Parent"])
    credits.add_credit(amy, "50.00")
    page = as_user(manager)

    page.goto(f"{live_server.url}/customers/")
    page.get_by_label("Select Amy Parent").check()
    page.get_by_label("Select Ben Parent").check()
    page.get_by_text("Group Actions").click()
    page.get_by_role("button", name="Create Invoices").click()
    expect(page.get_by_role("heading", name="Invoice run", level=1)).to_be_visible()
    expect(page.locator("#selection")).to_contain_text("2 customers chosen: Amy Parent, Ben Parent")

    page.get_by_label("Line 1 description").fill("Ballet — spring term")
    page.get_by_label("Line 1 unit price").fill("120.00")
    page.get_by_role("button", name="Create invoices").click()
    expect(page.locator("#confirm-question")).to_contain_text("Create 2 invoices × £120.00 = £240.00?")
    expect(page.locator("#confirm-question")).to_contain_text(
        "£50.00 of available credit will be applied automatically for 1 customer."
    )
    screenshot(page, "invoice-run-1-summary")
    assert_accessible(page)
    assert not Run.objects.exists()

    page.get_by_role("button", name="Yes, create 2 invoices").click()
    run = Run.objects.get()
    expect(page).to_have_url(f"{live_server.url}/billing/runs/{run.pk}/")
    expect(page.locator("#progress .counts")).to_have_text("0 of 2 done (0%).")
    expect(page.get_by_role("button", name="Cancel run")).to_be_visible()
    screenshot(page, "invoice-run-2-queued")

    worker_processes()  # the bar moves by itself: no reload from here on
    expect(page.locator("#progress .counts")).to_have_text("2 of 2 done (100%).", timeout=30_000)
    expect(page.locator("#progress .badge")).to_have_text("Done")
    expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)
    screenshot(page, "invoice-run-3-done")
    assert_accessible(page)

    page.get_by_role("link", name="The invoices this run raised").click()
    expect(page.get_by_text(re.compile("Showing the invoices raised by"))).to_be_visible()
    table = page.locator("#table table")
    expect(table.get_by_role("row")).to_have_count(3)
    expect(table).to_contain_text("Amy Parent")
    expect(table).to_contain_text("Ben Parent")
    screenshot(page, "invoice-run-4-invoices")
    assert sorted(Invoice.objects.values_list("customer__name", "credited")) == [("Amy Parent", 50), ("Ben Parent", 0)]
