"""Customers › View All pages by keyset: Next and Previous carry a row id, and land on the same rows as page numbers."""

from __future__ import annotations

import re

import pytest

from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

URL = "/customers/"


def names(client, url: str) -> list[str]:
    return [row.record.name for row in client.get(url).context["table"].page.object_list]


def link(client, url: str, rel: str) -> str | None:
    html = client.get(url).content.decode()
    found = re.search(rf'<a rel="{rel}" href="([^"]*)"', html)
    return URL + found.group(1).replace("&amp;", "&") if found else None


@pytest.fixture
def sixty(db):
    # Names that repeat, so the id breaks ties inside a page and across a page boundary.
    return [CustomerFactory(name=f"Family {n // 2:02d}") for n in range(60)]


@pytest.mark.parametrize("sort", ["", "-name"])
def test_next_and_previous_walk_the_same_rows_as_page_numbers(client, staff, sixty, sort):
    client.force_login(staff)
    query = f"?sort={sort}" if sort else "?"
    by_number = [names(client, f"{URL}{query}&page={page}") for page in (1, 2, 3)]
    assert sum(len(page) for page in by_number) == 60 and len({n for page in by_number for n in page}) == 30

    second = link(client, f"{URL}{query}", "next")
    assert "after=" in second and "page=2" in second
    assert names(client, second) == by_number[1]
    third = link(client, second, "next")
    assert names(client, third) == by_number[2]
    assert link(client, third, "next") is None  # the last page

    back = link(client, third, "prev")
    assert "before=" in back and "page=2" in back
    assert names(client, back) == by_number[1]
    first = link(client, back, "prev")
    assert "before=" not in first and "after=" not in first
    assert names(client, first) == by_number[0]


def test_a_next_link_keeps_the_search_and_filters(client, staff, sixty):
    client.force_login(staff)
    for n in range(30):
        CustomerFactory(name=f"Other {n:02d}", tags=["Swim Sat 10am"])
    second = link(client, f"{URL}?q=Family&tag=Ballet+Tue+4pm", "next")
    assert "q=Family" in second and "tag=Ballet" in second
    # The same 25 rows as the filtered list's page 2 by number (an empty page would start with "Family" too).
    expected = names(client, f"{URL}?q=Family&tag=Ballet+Tue+4pm&page=2")
    assert len(expected) == 25 and all(name.startswith("Family") for name in expected)
    assert names(client, second) == expected


def test_a_cursor_that_is_not_an_id_falls_back_to_the_page_number(client, staff, sixty):
    client.force_login(staff)
    assert names(client, f"{URL}?page=2&after=nonsense") == names(client, f"{URL}?page=2")
    assert names(client, f"{URL}?page=2&after=999999999") == names(client, f"{URL}?page=2")


def test_balances_are_shown_for_the_rows_of_a_deep_page(client, staff, sixty):
    from tests.factories import credit_for, invoice_for

    last = sorted(sixty, key=lambda c: (c.name, c.pk))[-1]
    invoice_for(last, "30.00")
    credit_for(last, "5.00")
    client.force_login(staff)
    third = link(client, link(client, URL, "next"), "next")
    row = next(row.record for row in client.get(third).context["table"].page.object_list if row.record.pk == last.pk)
    assert (str(row.outstanding_total), str(row.available_credit)) == ("30.00", "5.00")
