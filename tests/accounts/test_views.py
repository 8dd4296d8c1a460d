"""Customers menu: View All, Add Customer, the profile tabs and Edit details."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers import services
from customers.models import Customer
from tests.conftest import PAGE_QUERY_BUDGET, htmx
from tests.factories import CustomerFactory, UserFactory, credit_for, invoice_for
from tests.page import parse

pytestmark = pytest.mark.django_db


def families(count: int, *, invoices: int = 1, credits: int = 1) -> list[Customer]:
    """Customers with an open invoice and an unassigned credit each, written through the services."""
    made = []
    for n in range(count):
        customer = CustomerFactory(name=f"Family {n:03d}", tags=["Swim Sat 10am"])
        for _ in range(invoices):
            invoice_for(customer, "30.00")
        for _ in range(credits):
            credit_for(customer, "5.00")
        made.append(customer)
    return made


def form_data(**overrides) -> dict[str, str]:
    return {
        "name": "Beth Parent",
        "email": "beth@example.com",
        "phone": "07700 900123",
        "tags": "Ballet Tue 4pm, Swim Sat 10am",
        "notes": "Prefers email.",
        "idempotency_key": "4a1f4e0c6f5d4d3c9c0b1a2b3c4d5e6f",
        **overrides,
    }


# ---- Customers › View All ----


class TestList:
    url = "/customers/"

    def test_it_sends_anonymous_visitors_to_login(self, client):
        response = client.get(self.url)
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/")

    def test_it_requires_the_view_permission(self, client):
        client.force_login(UserFactory())
        assert client.get(self.url).status_code == 403

    def test_it_lists_customers_with_their_balances(self, client, staff, customer):
        invoice_for(customer, "120.00")
        invoice_for(customer, "30.50")
        credit_for(customer, "20.00")
        client.force_login(staff)
        response = client.get(self.url)
        html = response.content.decode()
        assert response.status_code == 200
        assert f'href="/customers/{customer.pk}/"' in html
        assert "Amy Parent" in html and customer.email in html and "Ballet Tue 4pm" in html
        row = response.context["table"].page.object_list[0].record
        assert (row.outstanding_total, row.available_credit) == (Decimal("150.50"), Decimal("20.00"))
        assert "£150.50" in html and "£20.00" in html

    def test_it_leaves_paid_and_void_invoices_and_used_credits_out_of_the_figures(self, client, staff, customer):
        from billing import services as billing
        from credits import services as credits

        paid = invoice_for(customer, "40.00")
        credits.assign_credit(credit_for(customer, "40.00"), {paid: "40.00"}, by=staff)
        billing.void_invoice(invoice_for(customer, "25.00"), by=staff)
        client.force_login(staff)
        row = client.get(self.url).context["table"].page.object_list[0].record
        assert (row.outstanding_total, row.available_credit) == (Decimal("0.00"), Decimal("0.00"))

    @pytest.mark.parametrize("query", ["amy", "AMY.PARENT@", "07700 900"])
    def test_it_searches_name_email_and_phone(self, client, staff, query):
        CustomerFactory(name="Amy Parent", email="amy.parent@example.com", phone="07700 900111")
        CustomerFactory(name="Zed Other", email="zed@example.com", phone="01632 960000")
        client.force_login(staff)
        html = client.get(self.url, {"q": query}).content.decode()
        assert "Amy Parent" in html
        assert "Zed Other" not in html

    @pytest.mark.parametrize(
        ("query", "found"),
        [
            ("EXAMPLE.C", ["Amy Parent"]),  # in the domain, which the search's index holds apart
            ("studio", ["Zed Other"]),
            ("parent@exam", ["Amy Parent"]),  # across the "@"
            ("amy.parent@example.com", ["Amy Parent"]),
            ("home", ["Zed Other"]),  # before a quoted "@": the part before the last "@" is the name's side
            ('"home"@stu', ["Zed Other"]),
            ("zed@studio", []),  # the text itself is checked, not just its words
        ],
    )
    def test_it_finds_text_anywhere_in_an_email(self, client, staff, query, found):
        CustomerFactory(name="Amy Parent", email="amy.parent@example.com", phone="07700 900111")
        CustomerFactory(name="Zed Other", email='zed."home"@studio.test', phone="01632 960000")
        client.force_login(staff)
        listed = [row.record.name for row in client.get(self.url, {"q": query}).context["table"].page.object_list]
        assert listed == found
        assert [customer.name for customer in Customer.objects.search(query).order_by("name")] == found

    @pytest.mark.parametrize("query", ["Parent amy.", "900111 Amy", "t amy.p"])
    def test_text_spanning_two_fields_is_no_match(self, client, staff, query):
        """The search reads the three fields together through one index, but finds text in one of them, as before."""
        CustomerFactory(name="Amy Parent", email="amy.parent@example.com", phone="07700 900111")
        client.force_login(staff)
        assert "Amy Parent" not in client.get(self.url, {"q": query}).content.decode()
        assert not Customer.objects.search(query).exists()

    @pytest.mark.parametrize("query", ["Amy Parent", "amy%parent", "amy_parent"])
    def test_the_words_in_order_are_not_enough(self, client, staff, query):
        """The index is asked for the words ("%Amy%Parent%"); the text itself must still be in one field."""
        CustomerFactory(name="Amy Jo Parent", email="amy.jo.parent@example.com", phone="07700 900111")
        client.force_login(staff)
        assert "Amy Jo Parent" not in client.get(self.url, {"q": query}).content.decode()
        assert not Customer.objects.search(query).exists()

    def test_it_filters_by_tag(self, client, staff):
        CustomerFactory(name="Ballet Kid", tags=["Ballet Tue 4pm"])
        CustomerFactory(name="Swim Kid", tags=["Swim Sat 10am"])
        client.force_login(staff)
        html = client.get(self.url, {"tag": "Swim Sat 10am"}).content.decode()
        assert "Swim Kid" in html and "Ballet Kid" not in html

    def test_it_suggests_the_tags_in_use(self, client, staff):
        CustomerFactory(tags=["Ballet Tue 4pm", "Tap Wed 5pm"])
        client.force_login(staff)
        html = client.get(self.url).content.decode()
        assert (
            '<datalist id="tag-suggestions"><option value="Ballet Tue 4pm"></option><option value="Tap Wed 5pm"></option></datalist>'
            in html
        )

    def test_tag_suggestions_are_kept_for_a_minute(self, client, staff, django_assert_max_num_queries):
        CustomerFactory(tags=["Ballet Tue 4pm"])
        client.force_login(staff)
        assert '<option value="Ballet Tue 4pm">' in client.get(self.url).content.decode()
        CustomerFactory(tags=["Swim Sat 10am"])
        with django_assert_max_num_queries(PAGE_QUERY_BUDGET) as captured:
            html = client.get(self.url).content.decode()
        assert (
            not [query for query in captured if "unnest" in query["sql"]]
            and '<option value="Swim Sat 10am">' not in html
        )
        cache.clear()
        assert '<option value="Swim Sat 10am">' in client.get(self.url).content.decode()

    def test_it_filters_to_customers_with_an_outstanding_balance(self, client, staff):
        owing = CustomerFactory(name="Owing Family")
        invoice_for(owing, "10.00")
        CustomerFactory(name="Settled Family")
        client.force_login(staff)
        response = client.get(self.url, {"outstanding": "true"})
        html = response.content.decode()
        assert "Owing Family" in html and "Settled Family" not in html
        box = parse(response).one("input", name="outstanding")
        assert (box["type"], box["value"], box.has("checked")) == ("checkbox", "true", True)
        assert not parse(client.get(self.url)).one("input", name="outstanding").has("checked")

    def test_it_leaves_archived_customers_out(self, client, staff):
        CustomerFactory(name="Gone Family", archived=True)
        CustomerFactory(name="Here Family")
        client.force_login(staff)
        html = client.get(self.url).content.decode()
        assert "Here Family" in html and "Gone Family" not in html

    def test_it_sorts_by_name_both_ways(self, client, staff):
        for name in ["Carol", "Alice", "Bob"]:
            CustomerFactory(name=name)
        client.force_login(staff)

        def names(params):
            return [row.record.name for row in client.get(self.url, params).context["table"].page.object_list]

        assert names({}) == ["Alice", "Bob", "Carol"]
        assert names({"sort": "-name"}) == ["Carol", "Bob", "Alice"]

    @pytest.mark.parametrize("query", ["an", "ann", "Ann "])
    def test_a_search_lists_its_matches_in_the_lists_order_both_ways(self, client, staff, query):
        """A search long enough for the trigram indexes is sorted from its matches (customers.models.name_order), in
        the order the list has without one: PostgreSQL's order of names, then the id for the same name."""
        for name in ["ann Zed", "Ann Lee", "Ann Lee", "Élise Ann", "Anne Bo", "bob Annan", "Zoe Ann", "Carl Other"]:
            CustomerFactory(name=name)
        client.force_login(staff)

        def rows(params):
            return [
                (row.record.name, row.record.pk)
                for row in client.get(self.url, params).context["table"].page.object_list
            ]

        everyone = [row for row in rows({}) if "ann" in row[0].lower()]
        assert len(everyone) == 7
        assert rows({"q": query}) == everyone
        assert rows({"q": query, "sort": "-name"}) == everyone[::-1]
        picked = [(customer.name, customer.pk) for customer in services.customer_choices(query, None)]
        assert picked == everyone

    def test_it_pages_without_counting_the_table(self, client, staff, django_assert_max_num_queries):
        for n in range(27):
            CustomerFactory(name=f"Customer {n:02d}")
        client.force_login(staff)
        with django_assert_max_num_queries(PAGE_QUERY_BUDGET) as captured:
            response = client.get(self.url)
        html = response.content.decode()
        assert html.count('class="tag"') == 25
        assert 'rel="next"' in html and "page=2" in html
        assert not any("COUNT(" in q["sql"].upper() for q in captured.captured_queries)
        second = client.get(self.url, {"page": 2}).content.decode()
        assert "Customer 26" in second and 'rel="next"' not in second

    def test_the_balances_come_with_the_rows_except_through_an_offset(self, client, staff):
        """The page's rows and their balances are one query, worked out for the page's rows; a page typed as ?page=N is
        read with an OFFSET, past rows whose balances nobody sees, so its balances come after, for its rows only."""
        customers = [CustomerFactory(name=f"Customer {n:02d}") for n in range(27)]
        credit_for(customers[0], "5.00")
        invoice_for(customers[26], "12.50")
        client.force_login(staff)

        def page(params):
            with CaptureQueriesContext(connection) as captured:
                response = client.get(self.url, params)
            records = [row.record for row in response.context["table"].page.object_list]
            figures = {r.name: (r.outstanding_total, r.available_credit) for r in records}
            return figures, [query["sql"] for query in captured.captured_queries if "billing_invoice" in query["sql"]]

        figures, queries = page({})
        assert len(figures) == 25 and figures["Customer 00"] == (Decimal("0.00"), Decimal("5.00"))
        assert len(queries) == 1 and "LIMIT 26" in queries[0] and "OFFSET" not in queries[0]
        last = {"Customer 25": (Decimal("0.00"), Decimal("0.00")), "Customer 26": (Decimal("12.50"), Decimal("0.00"))}
        figures, queries = page({"page": 2, "after": customers[24].pk})  # the Next link
        assert figures == last
        assert len(queries) == 1 and "LIMIT 26" in queries[0]
        figures, queries = page({"page": 2})  # typed
        assert figures == last
        assert len(queries) == 1 and "LIMIT" not in queries[0] and "OFFSET" not in queries[0]

    def test_it_gives_htmx_just_the_table(self, client, staff, customer):
        client.force_login(staff)
        response = client.get(self.url, {"q": "amy"}, headers=htmx())
        html = response.content.decode()
        assert response.status_code == 200
        assert "<html" not in html and 'id="table"' in html and "Amy Parent" in html
        assert 'id="id_q"' not in html  # the search box is not swapped while someone types in it
        assert "HX-Request" in response["Vary"]

    def test_it_gives_a_full_page_to_an_htmx_history_restore(self, client, staff):
        client.force_login(staff)
        html = client.get(self.url, headers=htmx(history_restore=True)).content.decode()
        assert "<html" in html

    def test_staff_see_no_group_actions_or_checkboxes(self, client, staff, customer):
        client.force_login(staff)
        html = client.get(self.url).content.decode()
        assert "Group Actions" not in html and "Select Amy Parent" not in html and 'name="customer"' not in html

    def test_managers_get_labelled_checkboxes_and_group_actions(self, client, manager, customer):
        client.force_login(manager)
        html = client.get(self.url, {"q": "Amy", "tag": "Ballet Tue 4pm"}).content.decode()
        assert (
            f'<input type="checkbox" name="customer" value="{customer.pk}" id="select-{customer.pk}" class="select-row" form="group-form">'
            in html
        )
        assert f'<label for="select-{customer.pk}" class="visually-hidden">Select Amy Parent</label>' in html
        assert '<label for="select-page" class="visually-hidden">Select all on this page</label>' in html
        assert '<form id="group-form" method="get" action="/billing/credits/bulk/"' in html
        assert (
            '<summary class="button">Group Actions</summary>' in html
            and '<button type="submit">Create Credit</button>' in html
        )
        # "All matching" sends the filter the table shows.
        assert '<input type="hidden" name="q" value="Amy" disabled data-all-matching>' in html
        assert '<input type="hidden" name="tag" value="Ballet Tue 4pm" disabled data-all-matching>' in html

    def test_all_matching_of_the_whole_list_says_all_customers_on_purpose(self, client, manager, customer):
        """Bulk credits choose nobody by default: "select all N matching" with nothing typed must say "All customers"."""
        client.force_login(manager)
        group = parse(client.get(self.url)).one("form", id="group-form")
        assert group.one("input", name="everyone").attrs == {
            "type": "hidden",
            "name": "everyone",
            "value": "1",
            "disabled": None,
            "data-all-matching": None,
        }
        for narrowed in ({"q": "Amy"}, {"tag": "Ballet Tue 4pm"}, {"outstanding": "true"}):
            group = parse(client.get(self.url, narrowed)).one("form", id="group-form")
            assert not group.find_all("input", name="everyone"), narrowed

    def test_it_offers_all_matching_only_when_there_is_more_than_a_page(self, client, manager):
        client.force_login(manager)
        CustomerFactory()
        assert 'id="matching"' not in client.get(self.url).content.decode()
        for _ in range(25):
            CustomerFactory()
        assert (
            'id="matching" hx-get="/customers/matching/?q=&amp;tag=&amp;outstanding="'
            in client.get(self.url).content.decode()
        )

    def test_its_query_count_does_not_grow_with_rows(self, page_queries, manager_client):
        families(2)
        few = page_queries(manager_client, self.url)
        few_htmx = page_queries(manager_client, self.url, headers=htmx())
        families(20)
        page_queries(manager_client, self.url, exactly=few)
        page_queries(manager_client, self.url, headers=htmx(), exactly=few_htmx)

    def test_it_refuses_post(self, client, staff):
        client.force_login(staff)
        assert client.post(self.url).status_code == 405


# ---- "Select all N matching" ----


class TestMatching:
    url = "/customers/matching/"

    def test_it_sends_anonymous_visitors_to_login(self, client):
        assert client.get(self.url).url.startswith("/accounts/login/")

    def test_staff_may_not_select_for_bulk_credits(self, client, staff):
        client.force_login(staff)
        response = client.get(self.url)
        assert response.status_code == 403
        assert parse(response).one("p", class_="lead").text == (
            "Only Managers can add bulk credits. Your role, Billing staff, cannot: ask a manager."
        )

    def test_it_counts_the_customers_matching_the_filter(self, client, manager):
        families(3)
        CustomerFactory(name="No Debts", tags=["Swim Sat 10am"])
        CustomerFactory(name="Other Class", tags=["Tap Wed 5pm"])
        client.force_login(manager)
        response = client.get(self.url, {"tag": "Swim Sat 10am", "outstanding": "true"}, headers=htmx())
        html = response.content.decode()
        assert "<html" not in html
        assert (
            '<button type="button" class="link-button" data-select-matching data-count="3">Select all 3 matching</button>'
            in html
        )

    def test_without_javascript_all_of_the_whole_list_links_to_all_customers(self, client, manager):
        families(2)
        client.force_login(manager)
        page = parse(client.get(self.url, {"q": "", "tag": "", "outstanding": ""}))
        link = page.one("a", containing="Create Credit for all 2")
        assert link["href"] == "/billing/credits/bulk/?all_matching=1&q=&tag=&outstanding=&everyone=1"

    def test_without_javascript_it_links_all_matching_to_bulk_credits(self, client, manager):
        families(2)
        client.force_login(manager)
        html = client.get(self.url, {"q": "Family", "tag": "", "outstanding": ""}).content.decode()
        assert "<html" in html
        assert 'href="/billing/credits/bulk/?all_matching=1&amp;q=Family&amp;tag=&amp;outstanding="' in html
        assert "Create Credit for all 2" in html


# ---- Add Customer ----


class TestAdd:
    url = "/customers/add/"

    def test_it_sends_anonymous_visitors_to_login_and_writes_nothing(self, client):
        assert client.get(self.url).url.startswith("/accounts/login/")
        assert client.post(self.url, form_data()).url.startswith("/accounts/login/")
        assert not Customer.objects.exists()

    def test_it_requires_the_add_permission(self, client):
        client.force_login(UserFactory())
        assert client.post(self.url, form_data()).status_code == 403
        assert not Customer.objects.exists()

    def test_it_shows_the_form_with_a_fresh_key(self, client, staff):
        client.force_login(staff)
        first = client.get(self.url).context["form"]["idempotency_key"].value()
        second = client.get(self.url).context["form"]["idempotency_key"].value()
        assert first and second and first != second

    def test_htmx_gets_just_the_form(self, client, staff):
        client.force_login(staff)
        html = client.get(self.url, headers=htmx()).content.decode()
        assert (
            "<html" not in html
            and html.strip().startswith('<form id="customer-form"')
            and 'name="idempotency_key"' in html
        )

    def test_staff_add_a_customer(self, client, staff):
        client.force_login(staff)
        response = client.post(self.url, form_data(tags="Ballet Tue 4pm,  swim sat 10am , , Ballet Tue 4pm"))
        customer = Customer.objects.get()
        assert response.status_code == 303
        assert response.url == f"/customers/{customer.pk}/"
        assert (customer.name, customer.email, customer.phone, customer.notes) == (
            "Beth Parent",
            "beth@example.com",
            "07700 900123",
            "Prefers email.",
        )
        assert customer.tags == ["Ballet Tue 4pm", "swim sat 10am"]
        assert [str(m) for m in get_messages(response.wsgi_request)] == ["Beth Parent added."]

    def test_htmx_gets_a_client_redirect(self, client, staff):
        client.force_login(staff)
        response = client.post(self.url, form_data(), headers=htmx())
        assert response.status_code == 200
        assert response["HX-Redirect"] == f"/customers/{Customer.objects.get().pk}/"

    def test_the_same_form_sent_twice_adds_one_customer(self, client, staff):
        client.force_login(staff)
        first = client.post(self.url, form_data())
        second = client.post(self.url, form_data())
        assert Customer.objects.count() == 1
        assert first.url == second.url
        client.post(self.url, form_data(idempotency_key="another-form"))
        assert Customer.objects.count() == 2

    def test_the_same_form_sent_again_with_other_details_is_refused(self, client, staff):
        client.force_login(staff)
        client.post(self.url, form_data())
        response = client.post(self.url, form_data(name="Ben Parent"))
        assert response.status_code == 422
        assert "This form was already used for a different customer. Reload the page" in response.content.decode()
        assert list(Customer.objects.values_list("name", flat=True)) == ["Beth Parent"]

    def test_the_same_form_sent_again_after_the_customer_was_deleted_adds_nothing(self, client, staff):
        client.force_login(staff)
        client.post(self.url, form_data())
        Customer.objects.get().delete()
        response = client.post(self.url, form_data())
        assert response.status_code == 422
        assert "This form already made a customer, which has since been deleted." in response.content.decode()
        assert not Customer.objects.exists()

    def test_an_expired_form_without_its_key_is_refused_above_the_form(self, client, staff):
        client.force_login(staff)
        data = form_data()
        del data["idempotency_key"]
        response = client.post(self.url, data)
        assert response.status_code == 422
        assert "This form has expired: please reload the page and try again." in response.content.decode()
        assert not Customer.objects.exists()

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("name", "", "Enter the customer&#x27;s name."),
            ("name", "   ", "Enter the customer&#x27;s name."),
            ("email", "not-an-email", "Enter an email address like amy@example.com."),
            ("phone", "call me", "Enter a phone number using digits"),
            ("tags", "x" * 101, "Keep each tag under 100 characters."),
        ],
    )
    def test_bad_input_is_refused_next_to_the_field_and_nothing_written(self, client, staff, field, value, message):
        client.force_login(staff)
        response = client.post(self.url, form_data(**{field: value}))
        html = response.content.decode()
        assert response.status_code == 422
        assert f'<p class="error" id="id_{field}_error">{message}' in html
        assert 'value="4a1f4e0c6f5d4d3c9c0b1a2b3c4d5e6f"' in html  # the same form keeps its key
        assert not Customer.objects.exists()

    def test_htmx_gets_just_the_form_back_with_its_errors(self, client, staff):
        client.force_login(staff)
        response = client.post(self.url, form_data(name=""), headers=htmx())
        html = response.content.decode()
        assert response.status_code == 422
        assert "<html" not in html and html.strip().startswith('<form id="customer-form"')
        assert "Enter the customer&#x27;s name." in html


# ---- The profile: Details, Billing, History ----


class TestDetails:
    def url(self, customer) -> str:
        return f"/customers/{customer.pk}/"

    def test_it_sends_anonymous_visitors_to_login(self, client, customer):
        assert client.get(self.url(customer)).url.startswith("/accounts/login/")

    def test_it_requires_the_view_permission(self, client, customer):
        client.force_login(UserFactory())
        assert client.get(self.url(customer)).status_code == 403

    def test_it_shows_the_header_figures_and_details(self, client, staff, customer):
        invoice_for(customer, "1234.50")
        credit_for(customer, "250.00")
        client.force_login(staff)
        html = client.get(self.url(customer)).content.decode()
        assert "<h1>Amy Parent" in html and customer.email in html and customer.phone in html
        assert '<span class="label">Outstanding total</span><span class="value">£1,234.50</span>' in html
        assert '<span class="label">Available credit</span><span class="value">£250.00</span>' in html
        assert (
            f'<a id="tab-details" href="/customers/{customer.pk}/" hx-get="/customers/{customer.pk}/" hx-target="#profile-tab" hx-push-url="true" aria-current="page">Details</a>'
            in html
        )
        assert 'aria-current="page">Billing' not in html

    def test_it_is_a_404_for_an_unknown_customer(self, client, staff):
        client.force_login(staff)
        assert client.get("/customers/999999/").status_code == 404

    def test_only_managers_see_edit_details(self, client, staff, manager, customer):
        client.force_login(staff)
        assert "Edit details" not in client.get(self.url(customer)).content.decode()
        client.force_login(manager)
        assert "Edit details" in client.get(self.url(customer)).content.decode()

    def test_htmx_gets_just_the_tab(self, client, staff, customer):
        client.force_login(staff)
        html = client.get(self.url(customer), headers=htmx()).content.decode()
        assert "<html" not in html and "Customer since" in html and "Outstanding total" not in html


class TestBilling:
    def url(self, customer) -> str:
        return f"/customers/{customer.pk}/billing/"

    def test_it_sends_anonymous_visitors_to_login(self, client, customer):
        assert client.get(self.url(customer)).url.startswith("/accounts/login/")

    def test_it_requires_the_view_permissions(self, client, customer):
        client.force_login(UserFactory())
        assert client.get(self.url(customer)).status_code == 403

    def test_it_lists_invoices_and_credits(self, client, staff, customer):
        invoice = invoice_for(customer, "80.00")
        credit = credit_for(customer, "30.00", reason="cancelled_class")
        from credits import services as credits

        credits.assign_credit(credit, {invoice: "10.00"}, by=staff)
        client.force_login(staff)
        html = client.get(self.url(customer)).content.decode()
        assert f'<a href="/billing/invoices/{invoice.pk}/">{invoice.display_number}</a>' in html
        assert '<td class="num">£80.00</td>' in html and '<td class="num">£70.00</td>' in html
        assert '<span class="badge badge-part_paid">Part-paid</span>' in html
        assert f'<a href="/billing/credits/{credit.pk}/">' in html
        assert '<td class="num">£30.00</td>' in html and '<td class="num">£20.00</td>' in html
        assert '<span class="badge badge-part_assigned">Part-assigned</span>' in html and "Cancelled class" in html
        assert 'aria-current="page">Billing</a>' in html

    def test_an_unpaid_invoice_reads_awaiting_payment(self, client, staff, customer):
        invoice_for(customer, "15.00")
        client.force_login(staff)
        assert (
            '<span class="badge badge-unpaid">Awaiting payment</span>'
            in client.get(self.url(customer)).content.decode()
        )

    def test_add_credit_opens_the_single_credit_form_for_this_customer(self, client, staff, customer):
        client.force_login(staff)
        html = client.get(self.url(customer)).content.decode()
        url = f"/billing/add-credit/?customer={customer.pk}&amp;next=%2Fcustomers%2F{customer.pk}%2Fbilling%2F"
        assert f'<a class="button primary" href="{url}" hx-get="{url}" hx-target="#modal-body">Add Credit</a>' in html

    def test_staff_without_the_add_credit_permission_get_no_add_credit(self, client, customer):
        from django.contrib.auth.models import Permission

        viewer = UserFactory()
        viewer.user_permissions.set(
            Permission.objects.filter(codename__in=["view_customer", "view_invoice", "view_credit"])
        )
        client.force_login(viewer)
        html = client.get(self.url(customer)).content.decode()
        assert "No invoices yet." in html and "/billing/add-credit/?customer=" not in html

    def test_it_pages_invoices_and_credits_newest_first(self, client, staff, customer, monkeypatch):
        from accounts import views

        monkeypatch.setattr(views, "TAB_PER_PAGE", 2)
        numbers = [invoice_for(customer, "5.00").display_number for _ in range(3)]
        credits = [credit_for(customer, "1.00") for _ in range(3)]
        client.force_login(staff)
        html = client.get(self.url(customer)).content.decode()
        assert numbers[2] in html and numbers[1] in html and numbers[0] not in html
        assert '<span class="count">3</span>' in html and html.count("Page 1 of 2") == 2
        assert 'href="?invoices=2"' in html and 'href="?credits=2"' in html

        # The invoices' second page keeps the credits' page, and the other way round.
        html = client.get(self.url(customer) + "?invoices=2&credits=2").content.decode()
        assert numbers[0] in html and numbers[1] not in html
        assert f"/billing/credits/{credits[0].pk}/" in html and f"/billing/credits/{credits[2].pk}/" not in html
        assert 'href="?invoices=1&amp;credits=2"' in html and 'href="?invoices=2&amp;credits=1"' in html

    def test_a_page_out_of_range_or_not_a_number_shows_a_real_page(self, client, staff, customer, monkeypatch):
        from accounts import views

        monkeypatch.setattr(views, "TAB_PER_PAGE", 2)
        numbers = [invoice_for(customer, "5.00").display_number for _ in range(3)]
        client.force_login(staff)
        assert numbers[0] in client.get(self.url(customer) + "?invoices=99").content.decode()  # the last page
        assert numbers[2] in client.get(self.url(customer) + "?invoices=x").content.decode()  # the first

    def test_htmx_gets_just_the_tab(self, client, staff, customer):
        client.force_login(staff)
        html = client.get(self.url(customer), headers=htmx()).content.decode()
        assert "<html" not in html and "No invoices yet." in html and "No credits yet." in html

    def test_its_query_count_does_not_grow_with_rows(self, page_queries, staff_client, customer):
        invoice_for(customer, "10.00")
        credit_for(customer, "1.00")
        few = page_queries(staff_client, self.url(customer))
        for _ in range(10):
            invoice_for(customer, "10.00")
            credit_for(customer, "1.00")
        page_queries(staff_client, self.url(customer), exactly=few)


class TestHistory:
    def url(self, customer) -> str:
        return f"/customers/{customer.pk}/history/"

    def test_it_sends_anonymous_visitors_to_login(self, client, customer):
        assert client.get(self.url(customer)).url.startswith("/accounts/login/")

    def test_it_shows_who_changed_what(self, client, staff, manager):
        customer = services.create_customer(name="Cara Parent", email="cara@example.com", by=staff)
        services.update_customer(customer, name="Cara Parent", email="cara.new@example.com", by=manager)
        invoice_for(customer, "20.00", by=staff)
        client.force_login(staff)
        table = parse(client.get(self.url(customer))).one("table")
        events = {(row.find_all("td")[1].text, row.one("strong").text) for row in table.one("tbody").find_all("tr")}
        # Who did each (the page's header names whoever is logged in: only the row proves it).
        assert events == {
            ("sam.staff", "Customer created"),
            ("maria.manager", "Customer changed"),
            ("sam.staff", "Invoice created"),
        }
        changed = [row for row in table.rows() if row["Who"] == "maria.manager"]
        assert [row["Details"] for row in changed] == ["Email: cara@example.com → cara.new@example.com"]

    def test_it_shows_a_credit_as_its_page_does_with_links(self, client, staff, customer):
        credit = credit_for(customer, "25.00", reason="cancelled_class", date=datetime.date(2026, 11, 28), by=staff)
        client.force_login(staff)
        page = parse(client.get(self.url(customer)))
        [row] = [row for row in page.one("tbody").find_all("tr") if row.one("strong").text == "Credit added"]
        what, details = row.find_all("td")[2:]
        assert what.text == f"Credit added {credit.display_number} created"
        assert what.one("a")["href"] == credit.get_absolute_url()
        assert [line.text for line in details.find_all("div")] == [
            "Customer: Amy Parent",
            "Payment date: 28 Nov 2026",
            "Amount: £25.00",
            "Assigned: £0.00",
            "Refunded: £0.00",
            "Reason: Cancelled class",
            "Auto-apply: No",
        ]
        assert details.one("a", containing="Amy Parent")["href"] == customer.get_absolute_url()

    def test_htmx_gets_just_the_tab(self, client, staff, customer):
        client.force_login(staff)
        html = client.get(self.url(customer), headers=htmx()).content.decode()
        assert "<html" not in html and "Every change, newest first" in html


@pytest.mark.parametrize("tab", ["", "billing/", "history/"])
def test_profile_tabs_query_count_does_not_grow_with_rows(page_queries, staff_client, staff, tab):
    customer = families(1)[0]
    url = f"/customers/{customer.pk}/{tab}"
    few = page_queries(staff_client, url)
    few_htmx = page_queries(staff_client, url, headers=htmx())
    for _ in range(9):
        invoice_for(customer, "30.00", by=staff)
        credit_for(customer, "5.00", by=staff)
    page_queries(staff_client, url, exactly=few)
    page_queries(staff_client, url, headers=htmx(), exactly=few_htmx)


# ---- Edit details (managers) ----


class TestEdit:
    def url(self, customer) -> str:
        return f"/customers/{customer.pk}/edit/"

    def test_it_sends_anonymous_visitors_to_login(self, client, customer):
        assert client.post(self.url(customer), form_data()).url.startswith("/accounts/login/")
        customer.refresh_from_db()
        assert customer.name == "Amy Parent"

    def test_staff_cannot_edit_details(self, client, staff, customer):
        client.force_login(staff)
        assert client.get(self.url(customer)).status_code == 403
        response = client.post(self.url(customer), form_data(name="Changed"))
        assert response.status_code == 403
        assert parse(response).one("p", class_="lead").text == (
            "Only Managers can edit customers’ details. Your role, Billing staff, cannot: ask a manager."
        )
        customer.refresh_from_db()
        assert customer.name == "Amy Parent"

    def test_managers_see_the_current_details(self, client, manager):
        customer = CustomerFactory(name="Dan Parent", tags=["Ballet Tue 4pm", "Tap Wed 5pm"])
        client.force_login(manager)
        html = client.get(self.url(customer)).content.decode()
        assert 'value="Dan Parent"' in html and 'value="Ballet Tue 4pm, Tap Wed 5pm"' in html

    def test_managers_edit_details(self, client, manager, customer):
        client.force_login(manager)
        response = client.post(self.url(customer), form_data(name="Amy Parent-Jones", tags="Tap Wed 5pm"))
        assert response.status_code == 303
        assert response.url == f"/customers/{customer.pk}/"
        customer.refresh_from_db()
        assert (customer.name, customer.email, customer.tags) == (
            "Amy Parent-Jones",
            "beth@example.com",
            ["Tap Wed 5pm"],
        )

    def test_bad_input_is_refused_and_nothing_changes(self, client, manager, customer):
        client.force_login(manager)
        response = client.post(self.url(customer), form_data(name="", email="nope"))
        html = response.content.decode()
        assert response.status_code == 422
        assert "Enter the customer&#x27;s name." in html and "Enter an email address like amy@example.com." in html
        customer.refresh_from_db()
        assert customer.name == "Amy Parent"

    def test_htmx_opens_it_in_the_dialog(self, client, manager, customer):
        client.force_login(manager)
        html = client.get(self.url(customer), headers=htmx()).content.decode()
        assert "<html" not in html
        assert '<h2 id="modal-title">Edit details of Amy Parent</h2>' in html and '<form id="customer-form"' in html

    def test_htmx_errors_swap_the_form_only(self, client, manager, customer):
        client.force_login(manager)
        response = client.post(self.url(customer), form_data(email="nope"), headers=htmx())
        html = response.content.decode()
        assert response.status_code == 422
        assert html.strip().startswith('<form id="customer-form"') and "modal-title" not in html

    def test_htmx_success_redirects_the_page(self, client, manager, customer):
        client.force_login(manager)
        response = client.post(self.url(customer), form_data(), headers=htmx())
        assert response["HX-Redirect"] == f"/customers/{customer.pk}/"


def test_every_customers_url_name_resolves_to_a_menu_like_path():
    assert reverse("customers:list") == "/customers/"
    assert reverse("customers:add") == "/customers/add/"
    assert reverse("customers:detail", args=[7]) == "/customers/7/"
    assert reverse("customers:billing", args=[7]) == "/customers/7/billing/"
    assert reverse("customers:history", args=[7]) == "/customers/7/history/"
    assert reverse("customers:edit", args=[7]) == "/customers/7/edit/"
