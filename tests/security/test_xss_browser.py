"""In Chromium: attacks stored in names and notes never run. No dialog opens, nothing fetches /evil, no element
carries an event handler or an htmx attribute that came from data, and the CSP never has to block anything."""

from __future__ import annotations

import re

import pytest

from billing import services as billing
from credits import roles
from credits import services as credits
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, UserFactory, credit_for, invoice_for
from tests.ledger import keep_staff_groups  # noqa: F401 - fixture
from tests.security.test_browser_security import EVIL, PAYLOADS

pytestmark = pytest.mark.browser

FOREIGN_ATTRIBUTES = """
() => {
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (a.name.startsWith('on')) bad.push(`${el.tagName} ${a.name}=${a.value}`);
      if (a.name.startsWith('hx-') && /evil|alert/.test(a.value)) bad.push(`${el.tagName} ${a.name}=${a.value}`);
    }
    if (el.tagName === 'IMG' && el.getAttribute('src') === 'x') bad.push('IMG src=x');
  }
  for (const s of document.scripts) if (!s.src) bad.push('inline script: ' + s.textContent.slice(0, 60));
  return bad;
}
"""


@pytest.mark.usefixtures("keep_staff_groups")
def test_stored_attacks_never_run_in_the_browser(page, live_server, transactional_db):
    manager = UserFactory(
        username="maria.manager", first_name="Mallory <img src=x onerror=alert(2)>", groups=[roles.MANAGERS]
    )
    eve = CustomerFactory(name=EVIL, email="eve@example.com", notes=EVIL, tags=PAYLOADS)
    invoice = invoice_for(eve, "90.00")
    lined = billing.create_invoice(eve, [(EVIL[:200], 1, "20.00")], by=manager)
    credit = credit_for(eve, "50.00", note=EVIL, by=manager)
    credits.assign_credit(credit, {invoice: "10.00"}, by=manager)
    batch = credits.add_bulk_credits([eve], "5.00", note=EVIL, by=manager)
    billing.record_payment(invoice, "1.00", by=manager)

    dialogs: list[str] = []
    fetched: list[str] = []
    blocked: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda request: fetched.append(request.url) if "evil" in request.url else None)
    page.on(
        "console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None
    )

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(manager.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r".*/overview/"))
    page.goto(f"{live_server.url}/customers/")

    # Search as you type with the attack as the query: htmx swaps in the table, which must stay inert too.
    page.get_by_role("searchbox").first.fill("Eve <script>")
    page.wait_for_load_state("networkidle")
    assert page.locator("main").get_by_text("Eve <script>alert(1)</script>", exact=False).count() >= 1

    for path in (
        f"/customers/{eve.pk}/",
        f"/customers/{eve.pk}/billing/",
        f"/customers/{eve.pk}/history/",
        "/billing/credits/?q=Eve",
        f"/billing/credits/{credit.pk}/",
        f"/billing/credits/{credit.pk}/assignments/",
        f"/billing/credits/{credit.pk}/assignments/add/",
        f"/billing/credits/{credit.pk}/history/",
        f"/billing/credits/batches/{batch.pk}/",
        f"/billing/invoices/{invoice.pk}/",
        f"/billing/invoices/{lined.pk}/",
        "/billing/payments/",
    ):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        assert page.evaluate(FOREIGN_ATTRIBUTES) == [], path
        assert EVIL[:40] in page.inner_text("main") or "Eve <script>" in page.inner_text("main"), path

    # The Edit details dialog puts the name back into form fields: still text, never markup.
    page.goto(f"{live_server.url}/customers/{eve.pk}/")
    page.get_by_role("link", name="Edit details").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_label("Name").first.input_value() == EVIL
    assert page.evaluate(FOREIGN_ATTRIBUTES) == []

    assert dialogs == [], dialogs
    assert fetched == [], fetched
    assert blocked == [], blocked
