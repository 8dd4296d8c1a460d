"""The Overview in Chromium: the page after logging in, its charts drawn by Chart.js under the strict CSP, a bar
that opens the list it summarises, axe; and Apply oldest first from Billing › Unapplied credits."""

import datetime
import re

import pytest
from django.utils import timezone

from credits.models import CreditAssignment
from tests.factories import CustomerFactory, credit_for, invoice_for

pytestmark = pytest.mark.browser


def days_ago(n: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=n)


@pytest.fixture
def studio(staff):
    for n, reason in enumerate(["goodwill", "cancelled_class", "refund", "goodwill"]):
        customer = CustomerFactory(name=f"Family {n}")
        invoice_for(customer, f"{40 + n * 35}.00", issue_date=days_ago(20 + n * 30), due_date=days_ago(10 + n * 30))
        credit_for(customer, f"{10 + n * 5}.00", reason=reason, auto_apply=True, date=days_ago(40 + n * 40), by=staff)


def test_the_overview_draws_its_charts_and_a_bar_opens_its_list(
    as_user, staff, studio, live_server, screenshot, assert_accessible
):
    page = as_user(staff)  # logging in lands on the Overview
    assert page.get_by_role("heading", name="Overview", level=1).is_visible()
    for chart in ("#issued-chart", "#ages-chart"):
        page.wait_for_function(f"window.Chart && Chart.getChart(document.querySelector('{chart}'))")
    screenshot(page, "overview")
    assert_accessible(page)
    # The ages chart's third bar (31–60 days past due), clicked where Chart.js drew it.
    page.locator("#ages-chart").scroll_into_view_if_needed()
    point = page.evaluate(
        "() => { const c = Chart.getChart(document.querySelector('#ages-chart'));"
        " const bar = c.getDatasetMeta(0).data[2]; const r = c.canvas.getBoundingClientRect();"
        " return {x: r.left + bar.x, y: r.top + (bar.y + bar.base) / 2}; }"
    )
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url("**/billing/invoices/?age=31-60")
    assert page.locator("table tbody tr").count() == 1


def test_apply_oldest_first_from_the_unapplied_report(
    as_user, staff, studio, live_server, screenshot, assert_accessible
):
    page = as_user(staff)
    page.get_by_role("link", name=re.compile("^Unapplied credit since")).click()  # the Overview's figure
    page.wait_for_url("**/billing/unapplied-credits/")
    screenshot(page, "unapplied-credits")
    assert_accessible(page)
    page.get_by_role("button", name="Apply oldest first for Family 0").click()
    page.get_by_text("of credit to Family 0’s open invoices").wait_for()
    assert CreditAssignment.objects.filter(credit__customer__name="Family 0", created_by=staff).exists()
