"""The "not allowed" page in Chromium: what the person's role cannot do, who can, whom to ask, and the way back."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from credits import roles
from tests.factories import UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def maria(db):
    return UserFactory(username="maria.manager", first_name="Maria", last_name="Manager", groups=[roles.MANAGERS])


def test_staff_following_a_managers_link_are_told_whom_to_ask_and_go_back(
    as_user, staff, maria, live_server, screenshot, assert_accessible
):
    page = as_user(staff)
    page.get_by_role("button", name="Billing menu").click()
    page.locator("#menu-billing").get_by_role("link", name="Credits", exact=True).click()
    expect(page.get_by_role("heading", name="Credits", level=1)).to_be_visible()
    credits_page = page.url

    # A manager's link to Add Bulk Credits, opened from the Credits page.
    page.goto(f"{live_server.url}/billing/credits/bulk/", referer=credits_page)
    expect(page.get_by_role("heading", name="You can’t do that")).to_be_visible()
    expect(page.locator("main .lead")).to_have_text(
        "Only Managers can add bulk credits. Your role, Billing staff, cannot: ask a manager (Maria Manager)."
    )
    expect(page.get_by_text("permission")).to_have_count(0)  # no internal permission names
    screenshot(page, "not-allowed-1-bulk-credits")
    assert_accessible(page)

    page.get_by_role("link", name="Back to the previous page").click()
    expect(page).to_have_url(credits_page)
    expect(page.get_by_role("heading", name="Credits", level=1)).to_be_visible()


def test_an_account_without_a_role_is_told_so_and_offered_the_home_page(
    as_user, maria, live_server, screenshot, assert_accessible
):
    page = as_user(UserFactory(username="nora.new"))  # logging in lands on the Overview, which needs a role
    expect(page.get_by_role("heading", name="You can’t do that")).to_be_visible()
    expect(page.locator("main .lead")).to_have_text(
        "Only Billing staff and Managers can see the Overview. Your account has no role yet: ask a manager (Maria Manager)."
    )
    expect(page.get_by_role("link", name="Go to the home page")).to_have_attribute("href", "/")
    screenshot(page, "not-allowed-2-no-role")
    assert_accessible(page)
