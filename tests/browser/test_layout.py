"""The frame every page shares: login, the sidebar menus and their remembered state."""

import pytest

pytestmark = pytest.mark.browser


def test_it_opens_each_menu_with_its_toggle_and_remembers_it(
    as_user, staff, live_server, screenshot, assert_accessible
):
    page = as_user(staff)
    page.get_by_role("button", name="Billing menu").click()
    billing_menu = page.locator("#menu-billing")
    assert billing_menu.is_visible()
    page.get_by_role("link", name="Credits", exact=True).click()
    assert page.locator("#menu-billing").is_visible()
    assert not page.locator("#menu-customers").is_visible()
    screenshot(page, "layout-billing-menu-open")
    assert_accessible(page)


def test_it_sends_anonymous_visitors_to_the_login_page(page, live_server, screenshot, assert_accessible):
    page.goto(f"{live_server.url}/billing/credits/")
    assert "/accounts/login/" in page.url
    screenshot(page, "login")
    assert_accessible(page)
