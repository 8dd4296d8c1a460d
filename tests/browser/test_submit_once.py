"""A double click on Create (issue 10, item 4) in Chromium: one request, the button off while it runs, one message.

The server is made slow with `page.route`: the request is held until the test lets it go. While a page is being
left (a plain form's POST, or the next page after an htmx answer), Chromium answers no DevTools request about it,
so the page itself notes its buttons as it goes (`pagehide`, in sessionStorage) and the next page reads the note.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.models import Invoice, Payment
from credits.models import Credit, CreditBatch
from customers.models import Customer
from tests.factories import CustomerFactory, invoice_for

pytestmark = pytest.mark.browser


def hold(page, url: str, method: str) -> list:
    """Keep the requests of this method to this URL (a regular expression) waiting until `let_go`."""
    held: list = []
    page.route(
        re.compile(url), lambda route: held.append(route) if route.request.method == method else route.continue_()
    )
    return held


def wait_until_held(page, held: list) -> None:
    for _ in range(200):
        if held:
            page.wait_for_timeout(300)  # time for a second click, had it been let through, to send its request
            return
        page.wait_for_timeout(50)
    raise AssertionError("the request never came")


def let_go(held: list) -> None:
    while held:
        held.pop().continue_()


def posts_sent(page) -> list[str]:
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url) if request.method == "POST" else None)
    return sent


def note_buttons_when_leaving(page, form: str) -> None:
    """Each page from now on notes, as it is left, the submit buttons of `form` as they were (see the docstring)."""
    page.add_init_script(
        "window.addEventListener('pagehide', () => {"
        f"  const form = document.querySelector({json.dumps(form)});"
        "  if (!form) return;"
        "  const buttons = [...form.elements].filter(e => e.type === 'submit').map(b => ("
        "    {name: b.textContent.trim(), disabled: b.disabled, ariaDisabled: b.getAttribute('aria-disabled')}));"
        "  sessionStorage.setItem('buttons-when-left', JSON.stringify(buttons));"
        "});"
    )


def buttons_when_left(page) -> list[dict]:
    return json.loads(page.evaluate("sessionStorage.getItem('buttons-when-left')") or "[]")


HELD_OFF = {"disabled": True, "ariaDisabled": "true"}


def test_a_double_click_on_create_on_the_add_credit_page(as_user, staff, live_server, screenshot, assert_accessible):
    amy = CustomerFactory(name="Amy Parent", email="amy@example.com")
    page = as_user(staff)
    note_buttons_when_leaving(page, "#credit-form")
    page.goto(f"{live_server.url}/billing/add-credit/?customer={amy.pk}")
    page.get_by_label("Amount").fill("40.00")
    sent = posts_sent(page)
    held = hold(page, r"/billing/add-credit/", "POST")

    page.get_by_role("button", name="Create").dblclick()
    wait_until_held(page, held)
    assert len(sent) == 1, sent

    let_go(held)
    expect(page).to_have_url(f"{live_server.url}/customers/{amy.pk}/billing/")
    # Create was off from the first click until the page was left, the answer having come.
    assert buttons_when_left(page) == [{"name": "Create", **HELD_OFF}]
    expect(page.locator("#messages .message")).to_have_count(1)
    expect(page.locator("#messages")).to_have_text("Credit of £40.00 added for Amy Parent.")
    assert Credit.objects.get().amount == Decimal("40.00")
    assert len(sent) == 1, sent
    screenshot(page, "submit-once-1-add-credit-page-done")
    assert_accessible(page)


def test_a_double_click_on_create_in_the_billing_tab_dialog(as_user, staff, live_server, screenshot, assert_accessible):
    amy = CustomerFactory(name="Amy Parent", email="amy@example.com")
    page = as_user(staff)
    note_buttons_when_leaving(page, "#modal #credit-form")
    page.goto(f"{live_server.url}/customers/{amy.pk}/billing/")
    page.get_by_role("region", name=re.compile("^Credits")).get_by_role("link", name="Add Credit").click()
    dialog = page.get_by_role("dialog", name="Add Credit for Amy Parent")
    dialog.get_by_label("Amount").fill("15.00")
    create = dialog.get_by_role("button", name="Create")
    sent = posts_sent(page)
    held = hold(page, r"/billing/add-credit/", "POST")

    create.dblclick()
    wait_until_held(page, held)
    expect(create).to_be_disabled()
    expect(create).to_have_attribute("aria-disabled", "true")
    assert len(sent) == 1, sent
    screenshot(page, "submit-once-2-dialog-sending")
    create.click(force=True)  # an impatient third press, while the request runs
    page.wait_for_timeout(300)
    assert len(sent) == 1, sent

    # The answer sends the browser to the Billing tab: until that page shows, Create stays off.
    next_page = hold(page, rf"/customers/{amy.pk}/billing/$", "GET")
    let_go(held)
    wait_until_held(page, next_page)
    let_go(next_page)
    expect(page.locator("#messages .message")).to_have_count(1)
    expect(page.locator("#messages")).to_have_text("Credit of £15.00 added for Amy Parent.")
    assert buttons_when_left(page) == [{"name": "Create", **HELD_OFF}]
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert Credit.objects.get().amount == Decimal("15.00")
    assert len(sent) == 1, sent
    screenshot(page, "submit-once-3-dialog-done")
    assert_accessible(page)


def bulk(live_server, page):
    people = CustomerFactory.create_batch(3)
    page.goto(f"{live_server.url}/billing/credits/bulk/?" + "&".join(f"customer={c.pk}" for c in people))
    page.get_by_label("Amount").fill("20.00")
    expect(page.locator("#bulk-summary")).to_contain_text("£60.00")
    return lambda: CreditBatch.objects.count() == 1 and Credit.objects.count() == 3


def new_invoice(live_server, page):
    amy = CustomerFactory(name="Amy Parent")
    page.goto(f"{live_server.url}/billing/invoices/new/?customer={amy.pk}")
    page.get_by_label("Line 1 description").fill("Swim — spring term")
    page.get_by_label("Line 1 unit price").fill("80.00")
    return lambda: Invoice.objects.count() == 1


def record_payment(live_server, page):
    invoice = invoice_for(CustomerFactory(name="Amy Parent"), "120.00")
    page.goto(f"{live_server.url}/billing/payments/new/?invoice={invoice.pk}")
    page.get_by_label("Amount").fill("40.00")
    return lambda: Payment.objects.count() == 1


def add_customer(live_server, page):
    page.goto(f"{live_server.url}/customers/add/")
    page.get_by_label("Name").fill("Erin Parent")
    return lambda: Customer.objects.count() == 1


@pytest.mark.parametrize(
    ("fill", "form", "button", "url", "message"),
    [
        (
            bulk,
            "#bulk-form",
            "Create",
            r"/billing/credits/bulk/",
            r"^3 credits of £20\.00 added \(£60\.00 in total\)\.$",
        ),
        (new_invoice, "#invoice-form", "Create invoice", r"/billing/invoices/new/", r"^Invoice .+ created for Amy"),
        (record_payment, "#payment-panel form", "Record payment", r"/billing/payments/new/", r"^Payment of £40\.00"),
        (add_customer, "#customer-form", "Add Customer", r"/customers/add/", r"^Erin Parent added\.$"),
    ],
    ids=["bulk-credits", "new-invoice", "record-payment", "add-customer"],
)
def test_a_double_click_on_every_create_sends_one_request_and_shows_one_message(
    as_user, manager, live_server, fill, form, button, url, message
):
    page = as_user(manager)
    note_buttons_when_leaving(page, form)
    made_once = fill(live_server, page)
    sent = posts_sent(page)
    held = hold(page, url, "POST")

    page.get_by_role("button", name=button, exact=True).dblclick()
    wait_until_held(page, held)
    assert len(sent) == 1, sent
    if form != "#bulk-form":  # an htmx form: its page stays on screen, and readable, while the request runs
        for each in page.locator(form).locator("button[type='submit']").all():
            expect(each).to_be_disabled()
            expect(each).to_have_attribute("aria-disabled", "true")

    let_go(held)
    expect(page.locator("#messages .message")).to_have_count(1)
    expect(page.locator("#messages .message")).to_have_text(re.compile(message))
    left_with = buttons_when_left(page)
    assert left_with and all(b["disabled"] and b["ariaDisabled"] == "true" for b in left_with), left_with
    assert made_once()
    assert len(sent) == 1, sent
