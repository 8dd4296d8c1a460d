"""The article's credit flows in Chromium, step by step with the words on the screen:
Billing < Add Credit; Billing < Credits › Add Bulk Credits (by tag › summary › Create › batch › Undo);
view, modify and delete a credit; Assignments › Add (split £250 as £100 + £150, Fill oldest first,
remove and reassign); and a double Create that makes one credit."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from credits import services as credits
from credits.forms import NOBODY_CHOSEN
from credits.models import Credit, CreditBatch
from tests.factories import CustomerFactory, credit_for, invoice_for

pytestmark = pytest.mark.browser


def open_billing_menu(page, item: str) -> None:
    """Click < to the right of Billing, then the item in the expanded menu."""
    page.get_by_role("button", name="Billing menu").click()
    page.locator("#menu-billing").get_by_role("link", name=item, exact=True).click()


def figure(page, label: str):
    return page.locator(".figure", has_text=label).locator(".value")


def days_ago(n: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=n)


# Billing < Add Credit ----------------------------------------------------------------------------------


def test_staff_add_a_credit_from_billing_add_credit(as_user, staff, live_server, screenshot, assert_accessible):
    amy = CustomerFactory(name="Amy Parent", email="amy@mail.test")
    CustomerFactory(name="Amir Khan", email="amir@mail.test")
    CustomerFactory(name="Ben Other", email="ben@mail.test")
    page = as_user(staff)

    open_billing_menu(page, "Add Credit")
    expect(page.get_by_role("heading", name="Add Credit", level=1)).to_be_visible()
    expect(page.get_by_label("Payment date")).to_have_value(timezone.localdate().isoformat())
    expect(page.get_by_label("Apply the remaining balance automatically to the next invoice")).to_be_checked()
    assert_accessible(page)

    # Create without a customer: the message sits by the customer search, and nothing is written.
    page.get_by_label("Amount").fill("250.00")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_text("Choose a customer.")).to_be_visible()
    assert not Credit.objects.exists()
    screenshot(page, "credits-add-1-no-customer")
    assert_accessible(page)

    # Select the customer's name: type, and the matches appear as you type.
    page.get_by_role("searchbox", name="Customer", exact=True).press_sequentially("Am", delay=50)
    options = page.get_by_role("group", name="Choose the customer")
    expect(options.get_by_role("radio")).to_have_count(2)
    expect(options).to_contain_text("amy@mail.test")
    expect(options).not_to_contain_text("Ben Other")
    page.get_by_role("searchbox", name="Customer", exact=True).fill("Amy")
    expect(options.get_by_role("radio")).to_have_count(1)
    options.get_by_role("radio", name=re.compile("Amy Parent")).check()
    screenshot(page, "credits-add-2-customer-found")
    assert_accessible(page)

    # Then the payment date and amount, and Create.
    page.get_by_label("Payment date").fill(days_ago(2).isoformat())
    page.get_by_label("Amount").fill("250.00")
    page.get_by_label("Reason").select_option(label="Cancelled class")
    page.get_by_label("Note", exact=True).fill("Two cancelled ballet classes")
    screenshot(page, "credits-add-3-filled")
    page.get_by_role("button", name="Create").click()

    expect(page.get_by_text("Credit of £250.00 added for Amy Parent.")).to_be_visible()
    credit = Credit.objects.get()
    expect(page).to_have_url(f"{live_server.url}/billing/credits/{credit.pk}/")
    assert (credit.customer, credit.amount, credit.date, credit.reason, credit.auto_apply, credit.created_by) == (
        amy,
        Decimal("250.00"),
        days_ago(2),
        "cancelled_class",
        True,
        staff,
    )
    expect(figure(page, "Remaining")).to_have_text("£250.00")
    screenshot(page, "credits-add-4-created")
    assert_accessible(page)


def test_a_double_click_on_create_makes_one_credit(as_user, staff, live_server, screenshot, assert_accessible):
    amy = CustomerFactory(name="Amy Parent", email="amy@example.com")
    page = as_user(staff)
    page.goto(f"{live_server.url}/billing/add-credit/?customer={amy.pk}")
    expect(page.get_by_text("Amy Parent")).to_be_visible()
    page.get_by_label("Amount").fill("40.00")
    page.get_by_role("button", name="Create").dblclick()
    expect(page.get_by_text("Credit of £40.00 added for Amy Parent.")).to_be_visible()
    assert Credit.objects.count() == 1

    # The back button, and Create again. A browser that keeps the page sends the same form key
    # (the first credit is shown again); one that reloads it gets a new key, and the twin is pointed out.
    page.go_back()
    expect(page.get_by_label("Amount")).to_be_visible()
    page.get_by_label("Amount").fill("40.00")
    page.get_by_role("button", name="Create").click()
    expect(
        page.get_by_text(
            re.compile(r"Credit of £40.00 added for Amy Parent\.|You added the same credit \(£40.00 for Amy Parent\)")
        )
    ).to_be_visible()
    assert Credit.objects.count() == 1
    screenshot(page, "credits-add-double-create")
    assert_accessible(page)

    # The same form sent twice at once (two requests racing): still one credit.
    page.goto(f"{live_server.url}/billing/add-credit/?customer={amy.pk}")
    page.get_by_label("Amount").fill("60.00")
    statuses = page.evaluate(
        """async () => {
            const form = document.getElementById("credit-form");
            const send = () => fetch(form.action, {method: "POST", body: new FormData(form), redirect: "manual"});
            const responses = await Promise.all([send(), send()]);
            return responses.map(r => r.type === "opaqueredirect" ? "redirect" : r.status);
        }"""
    )
    assert statuses == ["redirect", "redirect"]
    assert Credit.objects.filter(amount=Decimal("60.00")).count() == 1


def test_the_profile_dialog_adds_a_credit_and_returns_to_the_billing_tab(
    as_user, staff, live_server, screenshot, assert_accessible
):
    """The Billing tab (another screen) shows this form in its dialog: htmx loads the partial, Create redirects back."""
    amy = CustomerFactory(name="Amy Parent", email="amy@example.com")
    page = as_user(staff)
    page.goto(f"{live_server.url}/customers/{amy.pk}/billing/")
    # Open the Add Credit form in the page's dialog, as an htmx link would.
    page.evaluate(
        "url => htmx.ajax('GET', url, {target: '#modal-body'})",
        f"/billing/add-credit/?customer={amy.pk}&next=/customers/{amy.pk}/billing/",
    )
    dialog = page.get_by_role("dialog", name="Add Credit for Amy Parent")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Amount").fill("1.005")
    dialog.get_by_role("button", name="Create").click()
    expect(dialog.get_by_text("Use at most 2 decimal places (pence).")).to_be_visible()
    screenshot(page, "credits-add-dialog-error")
    assert_accessible(page)
    dialog.get_by_label("Amount").fill("15.00")
    dialog.get_by_role("button", name="Create").click()
    expect(page.get_by_text("Credit of £15.00 added for Amy Parent.")).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/customers/{amy.pk}/billing/")
    assert Credit.objects.get().amount == Decimal("15.00")


# Billing < Credits › Add Bulk Credits ------------------------------------------------------------------


def test_managers_add_bulk_credits_by_tag_and_undo_the_batch(
    as_user, manager, live_server, screenshot, assert_accessible
):
    dancers = [
        CustomerFactory(name=name, tags=["Ballet Tue 4pm"]) for name in ["Amy Parent", "Ben Parent", "Cat Parent"]
    ]
    CustomerFactory(name="Sam Swimmer", tags=["Swim Sat 10am"])
    page = as_user(manager)

    open_billing_menu(page, "Credits")
    expect(page.get_by_role("heading", name="Credits", level=1)).to_be_visible()
    page.get_by_role("link", name="Add Bulk Credits").click()
    expect(page.get_by_role("heading", name="Add Bulk Credits")).to_be_visible()
    expect(page.locator("#selection")).to_have_text("No customers chosen yet.")
    assert_accessible(page)

    # Choose the customers by their class tag: the count and the first few names update.
    page.get_by_label("Class tag").fill("Ballet Tue 4pm")
    expect(page.get_by_text("3 customers match")).to_be_visible()
    expect(page.locator("#selection")).to_contain_text("Amy Parent, Ben Parent, Cat Parent")
    expect(page.locator("#selection")).not_to_contain_text("Sam Swimmer")

    # Then proceed as for a single credit; the summary shows what Create will do.
    page.get_by_label("Amount").fill("20.00")
    page.get_by_label("Reason").select_option(label="Goodwill")
    page.get_by_label("Note", exact=True).fill("Studio closed for snow")
    expect(page.locator("#bulk-summary")).to_have_text(re.compile(r"3 customers × £20.00 = £60.00"))
    screenshot(page, "credits-bulk-1-summary")
    assert_accessible(page)

    page.get_by_role("button", name="Create").click()
    expect(page.get_by_text("3 credits of £20.00 added (£60.00 in total).")).to_be_visible()
    batch = CreditBatch.objects.get()
    expect(page).to_have_url(f"{live_server.url}/billing/credits/batches/{batch.pk}/")
    assert set(Credit.objects.values_list("customer_id", flat=True)) == {c.pk for c in dancers}
    expect(figure(page, "Total")).to_have_text("£60.00")
    expect(page.get_by_role("table", name="Credits of this batch").get_by_role("row")).to_have_count(4)
    screenshot(page, "credits-bulk-2-batch")
    assert_accessible(page)

    page.get_by_role("link", name="Undo").click()
    expect(page.get_by_role("heading", name=re.compile("Undo bulk batch"))).to_be_visible()
    expect(page.get_by_text("This removes the 3 credits")).to_be_visible()
    screenshot(page, "credits-bulk-3-undo-confirm")
    assert_accessible(page)
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_text(f"Bulk batch #{batch.pk} undone: its 3 credits were removed.")).to_be_visible()
    expect(page.get_by_text("Undone", exact=True)).to_be_visible()
    assert not Credit.objects.exists()
    screenshot(page, "credits-bulk-4-undone")
    assert_accessible(page)


def test_a_bulk_credit_starts_from_a_choice_and_asks_once_more_before_crediting_many(
    as_user, manager, live_server, screenshot, assert_accessible
):
    """Issue 10, item 1: the page used to open with every customer chosen, and one Create credited them all."""
    everyone = CustomerFactory.create_batch(60)
    page = as_user(manager)
    open_billing_menu(page, "Credits")
    page.get_by_role("link", name="Add Bulk Credits").click()

    # Nobody is chosen yet, and Create says so instead of crediting anyone.
    expect(page.locator("#selection")).to_have_text("No customers chosen yet.")
    expect(page.locator("#bulk-summary")).to_have_text("No customers chosen yet.")
    expect(page.get_by_label("All customers")).not_to_be_checked()
    page.get_by_label("Amount").fill("10.00")
    screenshot(page, "credits-bulk-choice-1-nobody")
    assert_accessible(page)
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_text(NOBODY_CHOSEN)).to_be_visible()
    assert not CreditBatch.objects.exists()

    # "All customers", on purpose: every one of them is counted.
    page.get_by_label("All customers").check()
    expect(page.locator("#selection")).to_contain_text("60 customers match")
    expect(page.locator("#bulk-summary")).to_have_text(re.compile(r"60 customers × £10.00 = £600.00"))

    # Create asks once more with the count and the total, and writes nothing until Yes.
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_text("Credit 60 customers £10.00 each — £600.00?")).to_be_visible()
    yes = page.get_by_role("button", name="Yes, credit 60 customers")
    expect(yes).to_be_focused()
    expect(page.get_by_role("button", name="Create")).to_have_count(0)
    assert not CreditBatch.objects.exists()
    screenshot(page, "credits-bulk-choice-2-asked")
    assert_accessible(page)

    # Another amount: the question goes, Create comes back, and Create asks about the new total.
    page.get_by_label("Amount").fill("5.00")
    expect(page.locator("#bulk-summary")).to_have_text(re.compile(r"60 customers × £5.00 = £300.00"))
    expect(yes).to_have_count(0)
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_text("Credit 60 customers £5.00 each — £300.00?")).to_be_visible()
    assert not CreditBatch.objects.exists()
    page.get_by_role("button", name="Yes, credit 60 customers").click()
    expect(page.get_by_text("60 credits of £5.00 added (£300.00 in total).")).to_be_visible()
    batch = CreditBatch.objects.get()
    assert (batch.count, batch.total) == (60, Decimal("300.00"))
    assert set(Credit.objects.values_list("customer_id", flat=True)) == {c.pk for c in everyone}
    screenshot(page, "credits-bulk-choice-3-made")


# View, modify and delete a credit ------------------------------------------------------------------------


def test_managers_view_modify_and_delete_a_credit(as_user, manager, staff, live_server, screenshot, assert_accessible):
    amy = CustomerFactory(name="Amy Parent", email="amy@example.com")
    autumn = invoice_for(amy, "100.00", issue_date=days_ago(20), by=staff)
    credit = credit_for(amy, "250.00", reason="cancelled_class", by=staff)
    credits.assign_credit(credit, {autumn: "100.00"}, by=staff)
    page = as_user(manager)

    # Billing › Credits: find it and open it.
    open_billing_menu(page, "Credits")
    row = page.get_by_role("row", name=re.compile("Amy Parent"))
    expect(row).to_contain_text("Part-assigned")
    expect(row).to_contain_text("£150.00")
    page.get_by_label("Search customer or credit note").press_sequentially("Amy", delay=40)
    expect(page).to_have_url(re.compile(r"q=Amy"))
    page.get_by_label("Status").select_option(label="Unassigned")
    expect(page).to_have_url(re.compile(r"q=Amy&status=unassigned"))
    expect(page.get_by_role("row", name=re.compile("Amy Parent"))).to_have_count(0)
    page.get_by_label("Status").select_option(label="Part-assigned")
    expect(page).to_have_url(re.compile(r"q=Amy&status=part_assigned"))
    screenshot(page, "credits-list")
    assert_accessible(page)
    # Each row opens its credit from an obvious, named link (not only the date).
    row.get_by_role("link", name="View credit for Amy Parent").click()

    expect(page.get_by_role("heading", name=re.compile(r"Credit note CN-\d{6} for Amy Parent"))).to_be_visible()
    expect(page.get_by_role("link", name="Details")).to_have_attribute("aria-current", "page")
    expect(figure(page, "Assigned")).to_have_text("£100.00")
    screenshot(page, "credits-detail")
    assert_accessible(page)

    # Modify, in a dialog: a bad amount is refused next to the field, then the change is saved.
    page.get_by_role("link", name="Modify").click()
    dialog = page.get_by_role("dialog", name="Modify credit for Amy Parent")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Amount").fill("50.00")
    dialog.get_by_role("button", name="Save").click()
    expect(
        dialog.get_by_text("£100.00 of this credit is already assigned; the amount cannot be less than that.")
    ).to_be_visible()
    screenshot(page, "credits-modify-error")
    assert_accessible(page)
    dialog.get_by_label("Amount").fill("300.00")
    dialog.get_by_label("Note").fill("Three classes after all")
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Credit for Amy Parent modified.")).to_be_visible()
    expect(figure(page, "Amount")).to_have_text("£300.00")
    expect(page.get_by_text("Three classes after all")).to_be_visible()
    credit.refresh_from_db()
    assert (credit.amount, credit.version) == (Decimal("300.00"), 2)

    # History records both.
    page.get_by_role("link", name="History").click()
    expect(page.get_by_text("Credit modified")).to_be_visible()
    expect(page.get_by_text("Credit assigned").first).to_be_visible()
    screenshot(page, "credits-history")
    assert_accessible(page)

    # Delete: the confirmation lists the assignment removed and the invoice whose status changes.
    page.get_by_role("link", name="Details").click()
    page.get_by_role("link", name="Delete").click()
    expect(page.get_by_text(f"£100.00 to {autumn}")).to_be_visible()
    expect(page.get_by_text(f"{autumn}: Paid → Awaiting payment")).to_be_visible()
    screenshot(page, "credits-delete-confirm")
    assert_accessible(page)
    page.get_by_role("button", name="Delete").click()
    expect(
        page.get_by_text(f"Credit of £300.00 for Amy Parent deleted. {autumn} is Awaiting payment again.")
    ).to_be_visible()
    assert not Credit.objects.exists()
    autumn.refresh_from_db()
    assert autumn.status == "unpaid"
    screenshot(page, "credits-deleted")
    assert_accessible(page)

    page.goto(f"{live_server.url}/billing/credits/{credit.pk}/")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()


# Assignments › Add -----------------------------------------------------------------------------------------


def test_staff_assign_a_250_credit_as_100_and_150(as_user, staff, live_server, screenshot, assert_accessible):
    amy = CustomerFactory(name="Amy Parent")
    autumn = invoice_for(amy, "100.00", issue_date=days_ago(40), by=staff)
    spring = invoice_for(amy, "150.00", issue_date=days_ago(10), by=staff)
    credit = credit_for(amy, "250.00", reason="cancelled_class", by=staff)
    page = as_user(staff)
    page.goto(f"{live_server.url}/billing/credits/{credit.pk}/")

    page.get_by_role("link", name="Assignments").click()
    expect(page.get_by_text("This credit is not assigned to any invoice yet.")).to_be_visible()
    page.get_by_role("link", name="Add").click()
    panel = page.get_by_role("region", name="Assign to unpaid and part-paid invoices")
    expect(panel).to_be_visible()
    to_assign = panel.locator("[data-to-assign]")
    expect(to_assign).to_have_text("£250.00")
    screenshot(page, "credits-assign-1-panel")
    assert_accessible(page)

    # The remaining-to-assign figure follows the amounts as they are typed.
    panel.get_by_label(f"Amount for {autumn}").press_sequentially("100", delay=30)
    expect(to_assign).to_have_text("£150.00")
    panel.get_by_label(f"Amount for {spring}").press_sequentially("150", delay=30)
    expect(to_assign).to_have_text("£0.00")
    screenshot(page, "credits-assign-2-split")
    assert_accessible(page)

    panel.get_by_role("button", name="Assign").click()
    expect(
        page.get_by_text(f"Assigned £250.00 of the credit: £100.00 to {autumn}, £150.00 to {spring}.")
    ).to_be_visible()
    table = page.get_by_role("table", name="Invoices this credit is assigned to")
    expect(table.get_by_role("row")).to_have_count(3)
    expect(figure(page, "Remaining")).to_have_text("£0.00")
    expect(page.get_by_text("Fully assigned").first).to_be_visible()
    for invoice in (autumn, spring):
        invoice.refresh_from_db()
        assert invoice.status == "paid"
    screenshot(page, "credits-assign-3-done")
    assert_accessible(page)


def test_staff_see_an_over_assignment_refused_next_to_the_invoice(
    as_user, staff, live_server, screenshot, assert_accessible
):
    amy = CustomerFactory(name="Amy Parent")
    autumn = invoice_for(amy, "100.00", issue_date=days_ago(40), by=staff)
    credit = credit_for(amy, "250.00", by=staff)
    page = as_user(staff)
    page.goto(f"{live_server.url}/billing/credits/{credit.pk}/assignments/")
    page.get_by_role("link", name="Add").click()
    panel = page.get_by_role("region", name="Assign to unpaid and part-paid invoices")
    panel.get_by_label(f"Amount for {autumn}").fill("120.00")
    panel.get_by_role("button", name="Assign").click()
    expect(panel.get_by_text(f"{autumn} has only £100.00 outstanding.")).to_be_visible()
    with page.expect_response(re.compile(r"/assignments/add/$")) as second:
        panel.get_by_role("button", name="Assign").click()  # the panel came back and still works
    assert second.value.status == 422
    expect(panel.get_by_text(f"{autumn} has only £100.00 outstanding.")).to_be_visible()
    assert not credit.assignments.exists()
    screenshot(page, "credits-assign-error")
    assert_accessible(page)


def test_staff_fill_oldest_first(as_user, staff, live_server, screenshot, assert_accessible):
    amy = CustomerFactory(name="Amy Parent")
    oldest = invoice_for(amy, "200.00", issue_date=days_ago(60), by=staff)
    middle = invoice_for(amy, "100.00", issue_date=days_ago(30), by=staff)
    newest = invoice_for(amy, "80.00", issue_date=days_ago(5), by=staff)
    credit = credit_for(amy, "250.00", by=staff)
    page = as_user(staff)
    page.goto(f"{live_server.url}/billing/credits/{credit.pk}/assignments/")
    page.get_by_role("link", name="Add").click()
    panel = page.get_by_role("region", name="Assign to unpaid and part-paid invoices")

    panel.get_by_role("button", name="Fill oldest first").click()
    expect(panel.get_by_label(f"Amount for {oldest}")).to_have_value("200.00")
    expect(panel.get_by_label(f"Amount for {middle}")).to_have_value("50.00")
    expect(panel.get_by_label(f"Amount for {newest}")).to_have_value("")
    expect(panel.locator("[data-to-assign]")).to_have_text("£0.00")
    screenshot(page, "credits-fill-oldest-first")
    assert_accessible(page)

    panel.get_by_role("button", name="Assign").click()
    expect(
        page.get_by_text(f"Assigned £250.00 of the credit: £200.00 to {oldest}, £50.00 to {middle}.")
    ).to_be_visible()
    middle.refresh_from_db()
    assert middle.status == "part_paid" and middle.outstanding == Decimal("50.00")


def test_staff_remove_an_assignment_and_reassign_it(as_user, staff, live_server, screenshot, assert_accessible):
    amy = CustomerFactory(name="Amy Parent")
    autumn = invoice_for(amy, "100.00", issue_date=days_ago(40), by=staff)
    spring = invoice_for(amy, "150.00", issue_date=days_ago(20), by=staff)
    credit = credit_for(amy, "250.00", by=staff)
    credits.assign_credit(credit, {autumn: "100.00", spring: "150.00"}, by=staff)
    summer = invoice_for(amy, "120.00", issue_date=days_ago(1), by=staff)
    page = as_user(staff)
    page.goto(f"{live_server.url}/billing/credits/{credit.pk}/assignments/")
    expect(page.get_by_text("Nothing left to assign.")).to_be_visible()

    # Remove asks first, saying which invoice reopens and what it will owe; Cancel changes nothing.
    page.get_by_role("link", name=f"Remove the £100.00 assignment to {autumn}").click()
    dialog = page.get_by_role("dialog", name="Remove this assignment?")
    expect(dialog).to_contain_text(f"{autumn} will be Awaiting payment again, with £100.00 outstanding (now £0.00).")
    screenshot(page, "credits-reassign-0-confirm")
    assert_accessible(page)
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert credit.assignments.count() == 2
    page.get_by_role("link", name=f"Remove the £100.00 assignment to {autumn}").click()
    dialog.get_by_role("button", name="Remove").click()
    expect(page.get_by_text(f"Removed the £100.00 assignment to {autumn}.")).to_be_visible()
    expect(figure(page, "Remaining")).to_have_text("£100.00")
    screenshot(page, "credits-reassign-1-removed")
    assert_accessible(page)

    # Reassigning = add it elsewhere: the reopened invoice and the new one are both offered.
    page.get_by_role("link", name="Add").click()
    panel = page.get_by_role("region", name="Assign to unpaid and part-paid invoices")
    expect(panel.get_by_label(f"Amount for {autumn}")).to_be_visible()
    panel.get_by_label(f"Amount for {summer}").fill("100.00")
    expect(panel.locator("[data-to-assign]")).to_have_text("£0.00")
    panel.get_by_role("button", name="Assign").click()
    expect(page.get_by_text(f"Assigned £100.00 of the credit: £100.00 to {summer}.")).to_be_visible()
    assert set(credit.assignments.values_list("invoice_id", flat=True)) == {spring.pk, summer.pk}
    autumn.refresh_from_db()
    assert autumn.status == "unpaid"
    screenshot(page, "credits-reassign-2-done")
    assert_accessible(page)
