"""Browser tests: Debian's Chromium, driven by Playwright, against live_server.

`as_user(user)` logs in through the real login page; `screenshot(page, name)` keeps a PNG in
artifacts/screenshots/ (git-ignored); `assert_accessible(page)` runs axe-core.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe

from credits.roles import ensure_staff_groups
from tests.conftest import PASSWORD
from tests.ledger import keep_staff_groups  # noqa: F401 - a fixture

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def staff_groups(keep_staff_groups, transactional_db):  # noqa: F811 - the fixture imported above
    """The staff groups come from a data migration, which the previous live-server test's flush removed."""
    ensure_staff_groups()


@pytest.fixture(autouse=True)
def no_csp_violations(page):
    """Every page works under the strict Content-Security-Policy: no inline script or style."""
    refused: list[str] = []
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    yield
    assert not refused, refused


@pytest.fixture
def as_user(page, live_server):
    def log_in(user):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/overview/")
        return page

    return log_in


@pytest.fixture
def screenshot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        # caret="initial": the default hides the caret with a style attribute htmx would copy (a CSP violation)
        page.screenshot(path=str(path), full_page=True, caret="initial")
        return path

    return take


@pytest.fixture(scope="session")
def axe():
    return Axe()


@pytest.fixture
def assert_accessible(axe):
    def check(page) -> None:
        results = axe.run(page)
        assert results.violations_count == 0, results.generate_report()

    return check
