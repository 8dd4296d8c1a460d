"""billing_site.permissions and the "not allowed" page: what the person cannot do, who can, whom to ask, and the way
back to where they were."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ImproperlyConfigured
from django.urls import get_resolver, reverse

from billing_site.permissions import permission_required
from credits import roles
from tests.conftest import logged_in
from tests.factories import UserFactory
from tests.page import parse

BULK = "/billing/credits/bulk/"


@pytest.fixture
def maria(db):
    return UserFactory(username="maria.manager", first_name="Maria", last_name="Manager", groups=[roles.MANAGERS])


def refusal(response) -> tuple[str, str, str]:
    """(why, the way back's words, where it goes) of a 403 page."""
    assert response.status_code == 403
    page = parse(response)
    back = page.one("main").find_all("a")[-1]
    return page.one("p", class_="lead").text, back.text, back["href"]


def test_it_says_what_the_role_cannot_do_who_can_and_names_whom_to_ask(staff, maria):
    why, _, _ = refusal(logged_in(staff).get(BULK))
    assert why == "Only Managers can add bulk credits. Your role, Billing staff, cannot: ask a manager (Maria Manager)."


def test_it_says_an_account_without_a_role_has_none(maria):
    why, _, _ = refusal(logged_in(UserFactory(username="nora.nobody")).get("/billing/credits/"))
    assert (
        why
        == "Only Billing staff and Managers can see credits. Your account has no role yet: ask a manager (Maria Manager)."
    )


def test_it_reads_who_can_from_the_groups_themselves(staff, maria):
    """A group given the permission by hand is named: the page never disagrees with what the server allows."""
    desk = Group.objects.create(name="Front desk")
    desk.permissions.add(Permission.objects.get(content_type__app_label="credits", codename="add_creditbatch"))
    clerk = UserFactory(username="fred.clerk")
    clerk.groups.add(Group.objects.create(name="Clerks"))
    why, _, _ = refusal(logged_in(clerk).get(BULK))
    assert (
        why
        == "Only Front desk and Managers can add bulk credits. Your role, Clerks, cannot: ask a manager (Maria Manager)."
    )


def test_it_names_three_managers_then_how_many_more_and_no_one_who_has_left(staff, maria):
    for username in ("bob.boss", "cat.chief", "dan.director"):
        UserFactory(username=username, groups=[roles.MANAGERS])
    UserFactory(username="gone.manager", is_active=False, groups=[roles.MANAGERS])
    why, _, _ = refusal(logged_in(staff).get(reverse("credits:delete", args=[1])))
    assert why == (
        "Only Managers can delete credits. Your role, Billing staff, cannot: "
        "ask a manager (bob.boss, cat.chief, dan.director and 1 more)."
    )


def test_without_any_manager_it_still_says_whom_to_ask(staff):
    why, _, _ = refusal(logged_in(staff).get(reverse("customers:edit", args=[1])))
    assert why == "Only Managers can edit customers’ details. Your role, Billing staff, cannot: ask a manager."


def test_every_permission_a_page_checks_is_in_words():
    """The views' decorators ran when the URLs were loaded; a permission without words refuses to load."""
    get_resolver().url_patterns  # noqa: B018 - loads every view module
    with pytest.raises(ImproperlyConfigured, match="credits.fly_to_the_moon"):
        permission_required("credits.fly_to_the_moon")
    assert all(words and words == words.strip() for words in settings.PERMISSION_WORDS.values())


# The way back -----------------------------------------------------------------------------------------------------


def test_it_leads_back_to_the_page_of_this_site_the_person_came_from(staff):
    came_from = "http://testserver/billing/credits/?q=amy&page=2"
    _, words, href = refusal(logged_in(staff).get(BULK, headers={"Referer": came_from}))
    assert (words, href) == ("Back to the previous page", "/billing/credits/?q=amy&page=2")


@pytest.mark.parametrize(
    "referer",
    [
        "",
        "https://evil.example/billing/credits/",
        "//evil.example/billing/credits/",
        "javascript:alert(1)",
        "http://testserver" + BULK,  # the refused page itself: back would go round in a circle
        "http://testserver/accounts/login/?next=/billing/credits/bulk/",
    ],
)
def test_otherwise_it_leads_to_the_home_page_never_to_another_site(staff, referer):
    headers = {"Referer": referer} if referer else {}
    _, words, href = refusal(logged_in(staff).get(BULK, headers=headers))
    assert (words, href) == ("Go to the home page", "/")
