"""Billing › Invoices and Billing › Payments: every URL for anonymous, forbidden, bad input, htmx and query counts."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import dateformat

from billing import services as billing
from billing.models import Invoice, InvoiceStatus, Payment
from billing_site.ledger import today
from credits import roles
from credits import services as credits
from credits.models import Credit
from tests.conftest import PAGE_QUERY_BUDGET, htmx
from tests.factories import CustomerFactory, UserFactory, credit_for, invoice_for
from tests.ledger import keep_staff_groups, ledger_fingerprint, run_together  # noqa: F401 - fixture
from tests.page import parse

# No module-wide django_db mark: it would set the database up before `keep_staff_groups`, so the
# transactional tests' flush would run after that fixture put the staff groups back.

D = Decimal


@pytest.fixture
def nobody_client(client, db):
    """Logged in, but in neither staff group."""
    client.force_login(UserFactory(username="no.groups"))
    return client


@pytest.fixture
def invoice(customer, staff):
    return invoice_for(customer, "100.00", "20.00", by=staff)


def text_of(response) -> str:
    return response.content.decode()


def flashed(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def line_data(*lines: tuple[str, str, str], total: int | None = None) -> dict[str, str]:
    data = {"lines-TOTAL_FORMS": str(len(lines) if total is None else total), "lines-INITIAL_FORMS": "0"}
    for n, (description, quantity, price) in enumerate(lines):
        data |= {f"lines-{n}-description": description, f"lines-{n}-quantity": quantity, f"lines-{n}-unit_price": price}
    return data


def invoice_post(customer, /, *lines, **overrides) -> dict[str, str]:
    issued = today()
    data = {
        "customer": str(customer.pk),
        "issue_date": issued.isoformat(),
        "due_date": (issued + datetime.timedelta(days=14)).isoformat(),
        "idempotency_key": "k-" + "1" * 30,
        **line_data(*(lines or (("Ballet — autumn term", "1", "120.00"),))),
    }
    data.update(overrides)
    return data


# ---- every URL: a login first, the right permission, GET/POST only where meant -----------------------------


def all_urls(invoice) -> list[tuple[str, str]]:
    pk = invoice.pk
    return [
        ("get", reverse("billing:invoice_list")),
        ("get", reverse("billing:invoice_add")),
        ("post", reverse("billing:invoice_add")),
        ("get", reverse("billing:customer_search")),
        ("get", reverse("billing:invoice_detail", args=[pk])),
        ("get", reverse("billing:invoice_history", args=[pk])),
        ("post", reverse("billing:invoice_apply_credit", args=[pk])),
        ("get", reverse("billing:invoice_void", args=[pk])),
        ("post", reverse("billing:invoice_void", args=[pk])),
        ("get", reverse("billing:payment_list")),
        ("get", reverse("billing:payment_add")),
        ("post", reverse("billing:payment_add")),
        ("get", reverse("billing:invoice_search")),
    ]


def test_it_sends_anonymous_visitors_to_the_login_page(client, invoice):
    for method, url in all_urls(invoice):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response.url.startswith(f"{reverse('login')}?next="), url


def test_it_refuses_a_user_without_billing_permissions_and_writes_nothing(nobody_client, invoice, customer):
    before = ledger_fingerprint()
    for method, url in all_urls(invoice):
        data = (
            invoice_post(customer)
            if url == reverse("billing:invoice_add")
            else {"invoice": invoice.pk, "amount": "10.00"}
        )
        response = getattr(nobody_client, method)(url, data) if method == "post" else nobody_client.get(url)
        assert response.status_code == 403, url
        why = parse(response).one("p", class_="lead").text
        assert (
            re.fullmatch(
                r"Only Billing staff and Managers can (see invoices|create invoices|see payments|record payments"
                r"|assign credits to invoices)\. Your account has no role yet: ask a manager\.",
                why,
            )
            or why == "Only Managers can void invoices. Your account has no role yet: ask a manager."
        ), (url, why)
    assert ledger_fingerprint() == before


def test_it_refuses_the_wrong_http_method(staff_client, invoice):
    assert staff_client.get(reverse("billing:invoice_apply_credit", args=[invoice.pk])).status_code == 405
    assert staff_client.post(reverse("billing:invoice_list")).status_code == 405
    assert staff_client.post(reverse("billing:invoice_detail", args=[invoice.pk])).status_code == 405


def test_it_is_a_404_for_an_invoice_that_does_not_exist(staff_client):
    assert staff_client.get(reverse("billing:invoice_detail", args=[999999])).status_code == 404
    assert staff_client.get(reverse("billing:payment_add") + "?invoice=999999").status_code == 404


# ---- Billing › Invoices ------------------------------------------------------------------------------------


def test_the_invoice_list_shows_each_invoices_figures_and_status(staff_client, customer, invoice):
    credit_for(customer, "20.00", auto_apply=True)
    credits.apply_available_credit(invoice)
    response = staff_client.get(reverse("billing:invoice_list"))
    page = text_of(response)
    assert response.status_code == 200
    # Row links leave the page: the table region is boosted only for its sort and page links.
    assert f'<a hx-boost="false" href="{invoice.get_absolute_url()}">{invoice}</a>' in page
    assert f'<a hx-boost="false" href="{reverse("customers:detail", args=[customer.pk])}">Amy Parent</a>' in page
    [row] = parse(response).one("table").rows()
    assert (row["Total"], row["Paid"], row["Credited"], row["Outstanding"], row["Status"]) == (
        "£120.00",
        "£0.00",
        "£20.00",
        "£100.00",
        "Part-paid",
    )
    assert '<span class="badge badge-part_paid">Part-paid</span>' in page
    assert "New invoice" in page


def test_the_invoice_list_says_awaiting_payment_for_unpaid(staff_client, invoice):
    assert '<span class="badge badge-unpaid">Awaiting payment</span>' in text_of(
        staff_client.get(reverse("billing:invoice_list"))
    )


def test_the_invoice_list_filters_by_status(staff_client, customer, staff):
    unpaid = invoice_for(customer, "10.00")
    paid = invoice_for(customer, "10.00")
    billing.record_payment(paid, "10.00")
    page = text_of(staff_client.get(reverse("billing:invoice_list"), {"status": "paid"}))
    assert str(paid) in page and str(unpaid) not in page


def test_the_invoice_list_searches_by_customer_name_and_by_number(staff_client, customer):
    amys = invoice_for(customer, "10.00")
    bens = invoice_for(CustomerFactory(name="Ben Other"), "10.00")
    by_name = text_of(staff_client.get(reverse("billing:invoice_list"), {"q": "amy"}))
    assert str(amys) in by_name and str(bens) not in by_name
    by_number = text_of(staff_client.get(reverse("billing:invoice_list"), {"q": str(bens).lower()}))
    assert str(bens) in by_number and str(amys) not in by_number
    bare_number = text_of(staff_client.get(reverse("billing:invoice_list"), {"q": str(amys.number)}))
    assert str(amys) in bare_number and str(bens) not in bare_number


def test_the_invoice_list_sorts_by_a_column(staff_client, customer):
    small, big = invoice_for(customer, "10.00"), invoice_for(customer, "900.00")
    page = text_of(staff_client.get(reverse("billing:invoice_list"), {"sort": "-total"}))
    assert page.index(str(big)) < page.index(str(small))
    page = text_of(staff_client.get(reverse("billing:invoice_list"), {"sort": "total"}))
    assert page.index(str(small)) < page.index(str(big))


def test_the_invoice_list_gives_htmx_only_the_table(staff_client, invoice):
    response = staff_client.get(reverse("billing:invoice_list"), {"q": "amy"}, headers=htmx())
    page = text_of(response)
    assert response.status_code == 200
    assert "<html" not in page and page.lstrip().startswith('<div id="table"')
    assert str(invoice) in page


def test_the_invoice_list_gives_the_whole_page_when_htmx_restores_history(staff_client, invoice):
    page = text_of(staff_client.get(reverse("billing:invoice_list"), {"q": "amy"}, headers=htmx(history_restore=True)))
    assert "<html" in page and str(invoice) in page


def test_the_invoice_list_pages_without_counting(staff_client, customer, django_assert_max_num_queries):
    for _ in range(26):
        invoice_for(customer, "10.00")
    with django_assert_max_num_queries(PAGE_QUERY_BUDGET) as queries:
        page = text_of(staff_client.get(reverse("billing:invoice_list")))
    assert 'rel="next"' in page and "Page 1" in page
    assert page.count('class="badge badge-unpaid"') == 25
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and "billing_invoice" in q["sql"]]
    second = text_of(staff_client.get(reverse("billing:invoice_list"), {"page": 2}))
    assert second.count('class="badge badge-unpaid"') == 1 and 'rel="next"' not in second


def test_the_invoice_list_costs_the_same_queries_with_ten_times_the_rows(page_queries, staff_client):
    url = reverse("billing:invoice_list")
    for _ in range(3):
        invoice_for(CustomerFactory(), "10.00")
    staff_client.get(url)
    few = page_queries(staff_client, url)
    for _ in range(27):
        invoice_for(CustomerFactory(), "10.00")
    page_queries(staff_client, url, exactly=few)


# ---- New invoice -------------------------------------------------------------------------------------------


def test_the_new_invoice_form_starts_with_today_terms_and_one_line(staff_client):
    page = text_of(staff_client.get(reverse("billing:invoice_add")))
    issued = today()
    assert f'name="issue_date" value="{issued.isoformat()}"' in page
    assert f'name="due_date" value="{(issued + datetime.timedelta(days=14)).isoformat()}"' in page
    assert 'name="lines-TOTAL_FORMS" value="1"' in page
    assert 'name="idempotency_key" value="' in page
    assert "Create invoice" in page and "Add line" in page and 'id="id_customer_q"' in page


def test_the_new_invoice_form_fixes_the_customer_given_in_the_address(staff_client, customer):
    page = text_of(staff_client.get(reverse("billing:invoice_add"), {"customer": customer.pk}))
    assert f'<input type="hidden" name="customer" value="{customer.pk}">' in page
    assert "Amy Parent" in page and 'id="id_customer_q"' not in page


def test_the_new_invoice_form_gives_htmx_only_the_form(staff_client):
    page = text_of(staff_client.get(reverse("billing:invoice_add"), headers=htmx()))
    assert "<html" not in page and page.lstrip().startswith('<form id="invoice-form"')


def test_it_creates_an_invoice_with_two_lines_and_applies_available_credit(staff_client, customer, staff):
    credit = credit_for(customer, "30.00", auto_apply=True)
    response = staff_client.post(
        reverse("billing:invoice_add"),
        invoice_post(customer, ("Ballet — autumn term", "1", "120.00"), ("Leotard", "2", "15.50")),
    )
    invoice = Invoice.objects.get()
    assert response.status_code == 303 and response.url == invoice.get_absolute_url()
    assert [(line.description, line.quantity, line.unit_price) for line in invoice.lines.all()] == [
        ("Ballet — autumn term", 1, D("120.00")),
        ("Leotard", 2, D("15.50")),
    ]
    assert (invoice.total, invoice.credited, invoice.outstanding, invoice.created_by) == (
        D("151.00"),
        D("30.00"),
        D("121.00"),
        staff,
    )
    credit.refresh_from_db()
    assert credit.remaining == 0
    assert flashed(response) == [f"Invoice {invoice} created for Amy Parent; £30.00 of available credit was applied."]


def test_it_says_plainly_when_no_credit_was_applied(staff_client, customer):
    response = staff_client.post(reverse("billing:invoice_add"), invoice_post(customer))
    assert flashed(response) == [f"Invoice {Invoice.objects.get()} created for Amy Parent."]


def test_it_creates_one_invoice_when_the_same_form_is_submitted_twice(staff_client, customer):
    data = invoice_post(customer)
    first = staff_client.post(reverse("billing:invoice_add"), data)
    second = staff_client.post(reverse("billing:invoice_add"), data)
    invoice = Invoice.objects.get()
    assert first.url == second.url == invoice.get_absolute_url()
    assert invoice.lines.count() == 1


def submit_together(user, url: str, data: dict, times: int = 2) -> list[int]:
    """The same form posted by `times` browsers at the same moment (a double click that beat the JS)."""

    def submit() -> int:
        client = Client()
        client.force_login(user)
        return client.post(url, data).status_code

    return run_together([submit] * times)


@pytest.mark.usefixtures("keep_staff_groups")
def test_simultaneous_submits_of_one_new_invoice_form_make_one_invoice(transactional_db):
    staff = UserFactory(username="sam.staff", groups=[roles.BILLING_STAFF])
    customer = CustomerFactory(name="Amy Parent")
    assert submit_together(staff, reverse("billing:invoice_add"), invoice_post(customer), times=3) == [303, 303, 303]
    assert Invoice.objects.count() == 1


def test_the_same_invoice_form_sent_again_for_another_customer_is_refused(staff_client, customer):
    staff_client.post(reverse("billing:invoice_add"), invoice_post(customer))
    other = CustomerFactory()
    before = ledger_fingerprint()
    response = staff_client.post(reverse("billing:invoice_add"), invoice_post(other))
    assert response.status_code == 422
    assert "This form was already used for a different invoice. Reload the page" in text_of(response)
    assert ledger_fingerprint() == before


@pytest.mark.parametrize("key", [None, "k" * 65], ids=["missing", "too-long"])
def test_an_invoice_form_without_a_proper_key_is_refused(staff_client, customer, key):
    data = invoice_post(customer, idempotency_key=key or "")
    before = ledger_fingerprint()
    response = staff_client.post(reverse("billing:invoice_add"), data)
    assert response.status_code == 422
    assert "This form has expired: please reload the page and try again." in text_of(response)
    assert ledger_fingerprint() == before


def test_a_new_form_key_makes_a_new_invoice(staff_client, customer):
    staff_client.post(reverse("billing:invoice_add"), invoice_post(customer))
    staff_client.post(reverse("billing:invoice_add"), invoice_post(customer, idempotency_key="k-" + "2" * 30))
    assert Invoice.objects.count() == 2


def test_it_leaves_out_empty_lines(staff_client, customer):
    data = invoice_post(customer, ("Ballet", "1", "50.00"), ("", "1", ""))
    assert staff_client.post(reverse("billing:invoice_add"), data).status_code == 303
    assert Invoice.objects.get().lines.count() == 1


def test_add_line_redraws_the_form_with_one_more_line_and_writes_nothing(staff_client, customer):
    before = ledger_fingerprint()
    data = invoice_post(customer, ("Ballet", "1", "50.00"), add_line="1")
    del data["customer"]
    response = staff_client.post(reverse("billing:invoice_add"), data)
    page = text_of(response)
    assert response.status_code == 200
    assert 'name="lines-TOTAL_FORMS" value="2"' in page
    assert 'name="lines-0-description" value="Ballet"' in page and 'name="lines-1-description"' in page
    assert 'class="error"' not in page  # nothing is wrong yet: the form is still being filled in
    assert ledger_fingerprint() == before


def test_add_line_for_htmx_returns_only_the_form(staff_client, customer):
    response = staff_client.post(reverse("billing:invoice_add"), invoice_post(customer, add_line="1"), headers=htmx())
    page = text_of(response)
    assert response.status_code == 200 and "<html" not in page and 'name="lines-TOTAL_FORMS" value="2"' in page


def test_find_customer_lists_the_matches_without_js(staff_client, customer):
    CustomerFactory(name="Ben Other")
    data = invoice_post(customer, find_customer="1", customer_q="amy")
    del data["customer"]
    page = text_of(staff_client.post(reverse("billing:invoice_add"), data))
    assert f'name="customer" value="{customer.pk}"' in page and "Ben Other" not in page
    assert not Invoice.objects.exists()


def test_the_customer_search_finds_customers_as_you_type(staff_client, customer):
    CustomerFactory(name="Ben Other")
    response = staff_client.get(reverse("billing:customer_search"), {"customer_q": "AMY"}, headers=htmx())
    page = text_of(response)
    assert page.lstrip().startswith('<div id="customer-choices"') and "<html" not in page
    assert "Amy Parent" in page and "Ben Other" not in page


def test_the_customer_search_keeps_the_chosen_customer(staff_client, customer):
    ben = CustomerFactory(name="Ben Other")
    response = staff_client.get(reverse("billing:customer_search"), {"customer_q": "ben", "customer": customer.pk})
    choices = {box["value"]: box.has("checked") for box in parse(response).find_all("input", name="customer")}
    assert choices == {str(customer.pk): True, str(ben.pk): False}  # the chosen one kept, and ticked, beside the match


def test_the_pickers_take_any_typing(staff_client, customer):
    for url, name in (
        (reverse("billing:customer_search"), "customer_q"),
        (reverse("billing:invoice_search"), "invoice_q"),
    ):
        assert staff_client.get(url, {name: "amy\x00", "customer": "²", "invoice": "x"}).status_code == 200
    assert staff_client.get(reverse("billing:invoice_add"), {"customer": "²"}).status_code == 200
    assert staff_client.get(reverse("billing:payment_add"), {"invoice": "1e3"}).status_code == 200


def test_the_customer_search_needs_the_add_invoice_permission(nobody_client):
    assert nobody_client.get(reverse("billing:customer_search"), {"customer_q": "a"}).status_code == 403


BAD_INVOICES = [
    ({"lines-0-description": "", "lines-0-unit_price": ""}, "Add at least one line."),
    ({"lines-0-unit_price": "0"}, "The amount must be more than zero."),
    ({"lines-0-unit_price": "0.00"}, "The amount must be more than zero."),
    ({"lines-0-unit_price": "-5.00"}, "The amount must be more than zero."),
    ({"lines-0-unit_price": "1.005"}, "Use at most 2 decimal places (pence)."),
    ({"lines-0-unit_price": "abc"}, "Enter the amount as a number, for example 25.00."),
    ({"lines-0-unit_price": "1000000.01"}, "The amount can be at most £1,000,000.00."),
    ({"lines-0-unit_price": ""}, "Enter an amount, for example 25.00."),
    ({"lines-0-quantity": "0"}, "The quantity is at least 1."),
    ({"lines-0-quantity": "1.5"}, "Enter the quantity as a whole number."),
    ({"lines-0-quantity": "10001"}, "The quantity is at most 10,000."),
    ({"lines-0-description": ""}, "Enter a description."),
    ({"lines-0-description": "x" * 201}, "Keep the description under 200 characters."),
    ({"customer": ""}, "Choose a customer."),
    ({"customer": "999999"}, "That customer does not exist."),
    ({"issue_date": "2026-02-10", "due_date": "2026-02-09"}, "The due date cannot be before the issue date."),
    ({"issue_date": "31/02/2026"}, "Enter a date like 2026-01-31."),
    (
        {"issue_date": "2001-01-01", "due_date": "2001-01-15"},
        "That date is more than ten years ago.",
    ),  # the service's check
    ({"lines-0-quantity": "10000", "lines-0-unit_price": "1000.00"}, "£1,000,000.00"),  # the service's total check
]


@pytest.mark.parametrize(("change", "message"), BAD_INVOICES)
def test_it_refuses_a_bad_invoice_with_the_message_and_writes_nothing(staff_client, customer, change, message):
    credit_for(customer, "30.00", auto_apply=True)
    before = ledger_fingerprint()
    response = staff_client.post(reverse("billing:invoice_add"), invoice_post(customer, **change))
    assert response.status_code == 422
    assert message in text_of(response)
    assert ledger_fingerprint() == before


def test_it_shows_a_line_error_next_to_that_line(staff_client, customer):
    data = invoice_post(customer, ("Ballet", "1", "50.00"), ("Leotard", "1", "1.005"))
    page = text_of(staff_client.post(reverse("billing:invoice_add"), data))
    line_two = page[page.index('name="lines-1-unit_price"') :]
    assert line_two.index("Use at most 2 decimal places") < line_two.index("</tr>")


def test_a_refused_htmx_submit_returns_the_form_with_422(staff_client, customer):
    response = staff_client.post(
        reverse("billing:invoice_add"), invoice_post(customer, **{"lines-0-unit_price": "abc"}), headers=htmx()
    )
    assert response.status_code == 422
    assert "<html" not in text_of(response) and "Enter the amount as a number" in text_of(response)


def test_an_htmx_submit_that_creates_redirects_the_browser(staff_client, customer):
    response = staff_client.post(reverse("billing:invoice_add"), invoice_post(customer), headers=htmx())
    assert response.headers["HX-Redirect"] == Invoice.objects.get().get_absolute_url()


# ---- Invoice page ------------------------------------------------------------------------------------------


def test_the_invoice_page_shows_lines_payments_and_credits_applied(manager_client, customer, staff, invoice):
    billing.record_payment(invoice, "40.00", method="cash", by=staff)
    credit = credit_for(customer, "25.00")
    credits.assign_credit(credit, {invoice: "25.00"}, by=staff)
    response = manager_client.get(invoice.get_absolute_url())
    page = text_of(response)
    assert f"Invoice {invoice}" in page and '<span class="badge badge-part_paid">Part-paid</span>' in page
    for figure in ("£120.00", "£40.00", "£25.00", "£55.00"):
        assert figure in page
    assert "Class 1" in page and "Class 2" in page
    [payment] = [row for row in parse(response).rows() if "Recorded by" in row]
    # Who recorded it, from its row (Maria is looking: the page's header names her).
    assert (payment["Method"], payment["Amount"], payment["Recorded by"]) == ("Cash", "£40.00", "sam.staff")
    assert f'<a href="{reverse("credits:detail", args=[credit.pk])}">{credit.display_number}</a>' in page
    assert f'href="{reverse("customers:detail", args=[customer.pk])}"' in page


def test_staff_see_apply_and_record_payment_but_not_void(staff_client, customer, invoice):
    credit_for(customer, "5.00", auto_apply=True)
    page = text_of(staff_client.get(invoice.get_absolute_url()))
    assert "Apply available credit" in page and "Record payment" in page
    assert reverse("billing:invoice_void", args=[invoice.pk]) not in page


def test_managers_see_void(manager_client, invoice):
    assert reverse("billing:invoice_void", args=[invoice.pk]) in text_of(manager_client.get(invoice.get_absolute_url()))


def test_apply_available_credit_is_hidden_when_there_is_none(staff_client, invoice):
    assert "Apply available credit" not in text_of(staff_client.get(invoice.get_absolute_url()))


def test_a_void_invoice_offers_no_actions(manager_client, invoice):
    billing.void_invoice(invoice)
    page = text_of(manager_client.get(invoice.get_absolute_url()))
    assert '<span class="badge badge-void">Void</span>' in page
    for button in ("Apply available credit", "Record payment", reverse("billing:invoice_void", args=[invoice.pk])):
        assert button not in page


def test_a_paid_invoice_offers_no_payment_and_no_void(manager_client, invoice):
    billing.record_payment(invoice, "120.00")
    page = text_of(manager_client.get(invoice.get_absolute_url()))
    assert "Record payment" not in page and reverse("billing:invoice_void", args=[invoice.pk]) not in page


def test_the_invoice_page_gives_htmx_only_the_tabs(staff_client, invoice):
    page = text_of(staff_client.get(invoice.get_absolute_url(), headers=htmx()))
    assert "<html" not in page and page.lstrip().startswith('<div id="tabbed"') and "Class 1" in page


def test_the_history_tab_lists_what_happened(staff_client, staff, invoice):
    billing.record_payment(invoice, "40.00", by=staff)
    response = staff_client.get(reverse("billing:invoice_history", args=[invoice.pk]))
    page = text_of(response)
    assert "Invoice created" in page and "Payment recorded" in page
    assert f'href="{reverse("billing:invoice_history", args=[invoice.pk])}" aria-current="page"' in page
    partial = text_of(staff_client.get(reverse("billing:invoice_history", args=[invoice.pk]), headers=htmx()))
    assert "<html" not in partial and "Payment recorded" in partial


def test_the_history_tab_names_the_invoice_its_credits_and_the_payment_method_in_words(staff_client, staff, invoice):
    credit = credit_for(invoice.customer, "30.00", by=staff)
    credits.assign_credit(credit, {invoice: "30.00"}, by=staff)
    billing.record_payment(invoice, "40.00", method="bank_transfer", by=staff)
    rows = parse(staff_client.get(reverse("billing:invoice_history", args=[invoice.pk]))).one("tbody").find_all("tr")
    payment = next(row for row in rows if row.one("strong").text == "Payment recorded" and "Method" in row.text)
    assert "Method: Bank transfer" in [line.text for line in payment.find_all("div")]
    assert payment.one("a", containing=str(invoice))["href"] == invoice.get_absolute_url()
    assigned = next(row for row in rows if row.find_all("td")[2].text == "Credit assigned Credit assignment created")
    assert assigned.one("a", containing=credit.display_number)["href"] == credit.get_absolute_url()
    changed = [row.find_all("td")[2] for row in rows if row.find_all("td")[2].text.endswith(f"{invoice} changed")]
    assert changed and all(what.one("a")["href"] == invoice.get_absolute_url() for what in changed)


def make_busy_invoice(customer, rows: int) -> Invoice:
    """An open invoice with `rows` lines, payments and credits applied."""
    invoice = billing.create_invoice(customer, [(f"Class {n}", 1, "100.00") for n in range(rows)])
    for _ in range(rows):
        billing.record_payment(invoice, "10.00", method="card", by=UserFactory())
        credits.assign_credit(credit_for(customer, "5.00", by=UserFactory()), {invoice: "5.00"}, by=UserFactory())
    return invoice


def test_the_invoice_page_costs_the_same_queries_with_ten_times_the_rows(page_queries, staff_client):
    small = make_busy_invoice(CustomerFactory(), 1)
    big = make_busy_invoice(CustomerFactory(), 10)
    assert big.lines.count() == big.payments.count() == big.credit_assignments.count() == 10
    staff_client.get(small.get_absolute_url())
    for name in ("billing:invoice_detail", "billing:invoice_history"):
        few = page_queries(staff_client, reverse(name, args=[small.pk]))
        page_queries(staff_client, reverse(name, args=[big.pk]), exactly=few)


# ---- Apply available credit ------------------------------------------------------------------------------


def test_it_applies_available_credit_on_demand(staff_client, customer, staff):
    invoice = invoice_for(customer, "100.00")
    credit = credit_for(customer, "40.00", auto_apply=True)
    response = staff_client.post(reverse("billing:invoice_apply_credit", args=[invoice.pk]))
    assert response.status_code == 303 and response.url == invoice.get_absolute_url()
    invoice.refresh_from_db()
    credit.refresh_from_db()
    assert (invoice.credited, invoice.outstanding, credit.remaining) == (D("40.00"), D("60.00"), D("0.00"))
    assert flashed(response) == [f"£40.00 of available credit was applied to {invoice}."]
    assert credit.assignments.get().created_by == staff


def test_it_says_when_there_is_no_available_credit(staff_client, customer, invoice):
    credit_for(customer, "40.00", auto_apply=False)  # kept for manual assignment: not "available"
    before = ledger_fingerprint()
    response = staff_client.post(reverse("billing:invoice_apply_credit", args=[invoice.pk]))
    assert flashed(response) == ["No available credit to apply."]
    assert ledger_fingerprint() == before


def test_it_refuses_to_apply_credit_to_a_void_invoice(staff_client, customer, invoice):
    billing.void_invoice(invoice)
    credit_for(customer, "40.00", auto_apply=True)
    before = ledger_fingerprint()
    response = staff_client.post(reverse("billing:invoice_apply_credit", args=[invoice.pk]))
    assert flashed(response) == [f"{invoice} is void."]
    assert ledger_fingerprint() == before


# ---- Void --------------------------------------------------------------------------------------------------


def test_the_void_confirmation_lists_the_credits_to_be_released(manager_client, customer, invoice):
    credit = credit_for(customer, "30.00")
    credits.assign_credit(credit, {invoice: "30.00"})
    response = manager_client.get(reverse("billing:invoice_void", args=[invoice.pk]))
    page = text_of(response)
    assert response.status_code == 200
    assert "These credits will be released" in page and f">{credit}</a>" in page and "£30.00" in page
    assert "Void invoice" in page


def test_the_void_confirmation_for_htmx_is_a_dialog_body(manager_client, invoice):
    page = text_of(manager_client.get(reverse("billing:invoice_void", args=[invoice.pk]), headers=htmx()))
    assert "<html" not in page and 'id="modal-title"' in page


def test_staff_cannot_void_and_nothing_is_written(staff_client, invoice):
    before = ledger_fingerprint()
    assert staff_client.get(reverse("billing:invoice_void", args=[invoice.pk])).status_code == 403
    response = staff_client.post(reverse("billing:invoice_void", args=[invoice.pk]))
    assert response.status_code == 403
    assert parse(response).one("p", class_="lead").text == (
        "Only Managers can void invoices. Your role, Billing staff, cannot: ask a manager."
    )
    assert ledger_fingerprint() == before
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.UNPAID


def test_a_manager_voids_an_invoice_and_its_credit_is_released(manager_client, manager, customer, invoice):
    credit = credit_for(customer, "30.00")
    credits.assign_credit(credit, {invoice: "30.00"})
    response = manager_client.post(reverse("billing:invoice_void", args=[invoice.pk]))
    assert response.status_code == 303 and response.url == invoice.get_absolute_url()
    invoice.refresh_from_db()
    credit.refresh_from_db()
    assert (invoice.status, invoice.voided_by, credit.remaining) == ("void", manager, D("30.00"))
    assert flashed(response) == [f"{invoice} voided. £30.00 of credit was released to Amy Parent’s account."]


def test_an_htmx_void_redirects_the_browser(manager_client, invoice):
    response = manager_client.post(reverse("billing:invoice_void", args=[invoice.pk]), headers=htmx())
    assert response.headers["HX-Redirect"] == invoice.get_absolute_url()


def test_it_refuses_to_void_a_paid_invoice_with_the_services_message(manager_client, invoice):
    billing.record_payment(invoice, "40.00")
    before = ledger_fingerprint()
    response = manager_client.post(reverse("billing:invoice_void", args=[invoice.pk]))
    assert response.status_code == 422
    assert "£40.00 has been paid on this invoice, so it cannot be voided." in text_of(response)
    assert ledger_fingerprint() == before


def test_it_refuses_to_void_twice(manager_client, invoice):
    billing.void_invoice(invoice)
    before = ledger_fingerprint()
    response = manager_client.post(reverse("billing:invoice_void", args=[invoice.pk]), headers=htmx())
    assert response.status_code == 422 and "already void" in text_of(response) and "<html" not in text_of(response)
    assert ledger_fingerprint() == before


# ---- Billing › Payments ------------------------------------------------------------------------------------


def test_the_payment_list_shows_each_payment(manager_client, staff, customer, invoice):
    billing.record_payment(invoice, "40.00", method="bank_transfer", by=staff)
    response = manager_client.get(reverse("billing:payment_list"))
    page = text_of(response)
    assert f'<a hx-boost="false" href="{invoice.get_absolute_url()}">{invoice}</a>' in page
    [row] = parse(response).one("table").rows()
    # Who recorded it, from its row (Maria is looking: the page's header names her).
    assert row == {
        "Date": dateformat.format(today(), "j M Y"),
        "Invoice": str(invoice),
        "Customer": "Amy Parent",
        "Method": "Bank transfer",
        "Amount": "£40.00",
        "Recorded by": "sam.staff",
    }
    assert reverse("billing:payment_add") in page


def test_the_payment_list_filters_by_method_and_searches(staff_client, customer):
    by_card = invoice_for(customer, "10.00")
    billing.record_payment(by_card, "10.00", method="card")
    in_cash = invoice_for(CustomerFactory(name="Ben Other"), "10.00")
    billing.record_payment(in_cash, "10.00", method="cash")
    page = text_of(staff_client.get(reverse("billing:payment_list"), {"method": "cash"}))
    assert str(in_cash) in page and str(by_card) not in page
    page = text_of(staff_client.get(reverse("billing:payment_list"), {"q": "amy"}))
    assert str(by_card) in page and str(in_cash) not in page
    page = text_of(staff_client.get(reverse("billing:payment_list"), {"q": str(in_cash)}))
    assert str(in_cash) in page and str(by_card) not in page


def test_the_payment_list_gives_htmx_only_the_table(staff_client, invoice):
    billing.record_payment(invoice, "10.00")
    page = text_of(staff_client.get(reverse("billing:payment_list"), headers=htmx()))
    assert "<html" not in page and page.lstrip().startswith('<div id="table"') and str(invoice) in page


def test_the_payment_list_costs_the_same_queries_with_ten_times_the_rows(
    page_queries, django_assert_num_queries, staff_client
):
    url = reverse("billing:payment_list")

    def pay(n: int) -> None:
        for _ in range(n):
            billing.record_payment(invoice_for(CustomerFactory(), "10.00"), "5.00", by=UserFactory())

    pay(3)
    staff_client.get(url)
    few = page_queries(staff_client, url)
    pay(27)
    with django_assert_num_queries(few) as queries:
        assert staff_client.get(url).status_code == 200
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and "billing_payment" in q["sql"]]


# ---- Record payment ----------------------------------------------------------------------------------------


def payment_post(invoice, /, **overrides) -> dict[str, str]:
    return {
        "invoice": str(invoice.pk),
        "amount": "40.00",
        "date": today().isoformat(),
        "method": "card",
        "idempotency_key": "p-" + "1" * 30,
        **overrides,
    }


def test_record_payment_for_an_invoice_defaults_to_its_outstanding(staff_client, invoice):
    page = text_of(staff_client.get(reverse("billing:payment_add"), {"invoice": invoice.pk}))
    assert 'name="amount" value="120.00"' in page
    assert f'name="date" value="{today().isoformat()}"' in page
    assert f'<input type="hidden" name="invoice" value="{invoice.pk}">' in page


def test_record_payment_in_a_dialog_for_htmx(staff_client, invoice):
    page = text_of(staff_client.get(reverse("billing:payment_add"), {"invoice": invoice.pk}, headers=htmx()))
    assert "<html" not in page and 'id="modal-title"' in page and "data-close-modal" in page


def test_it_records_a_payment(staff_client, staff, invoice):
    response = staff_client.post(
        reverse("billing:payment_add") + f"?invoice={invoice.pk}", payment_post(invoice, method="cash")
    )
    assert response.status_code == 303 and response.url == invoice.get_absolute_url()
    payment = Payment.objects.get()
    assert (payment.invoice, payment.amount, payment.method, payment.created_by) == (invoice, D("40.00"), "cash", staff)
    invoice.refresh_from_db()
    assert (invoice.paid, invoice.outstanding, invoice.status) == (D("40.00"), D("80.00"), "part_paid")
    assert flashed(response) == [f"Payment of £40.00 recorded on {invoice} for Amy Parent."]


def test_an_htmx_payment_redirects_the_browser(staff_client, invoice):
    response = staff_client.post(reverse("billing:payment_add"), payment_post(invoice), headers=htmx())
    assert response.headers["HX-Redirect"] == invoice.get_absolute_url()


def test_it_records_one_payment_when_the_same_form_is_submitted_twice(staff_client, invoice):
    staff_client.post(reverse("billing:payment_add"), payment_post(invoice))
    second = staff_client.post(reverse("billing:payment_add"), payment_post(invoice))
    assert second.status_code == 303
    assert Payment.objects.count() == 1


def test_the_same_payment_form_sent_again_with_another_amount_is_refused(staff_client, invoice):
    staff_client.post(reverse("billing:payment_add"), payment_post(invoice))
    before = ledger_fingerprint()
    response = staff_client.post(reverse("billing:payment_add"), payment_post(invoice, amount="41.00"))
    assert response.status_code == 422
    assert "This form was already used for a different payment. Reload the page" in text_of(response)
    assert ledger_fingerprint() == before


@pytest.mark.usefixtures("keep_staff_groups")
def test_simultaneous_submits_of_one_payment_form_record_one_payment(transactional_db):
    staff = UserFactory(username="sam.staff", groups=[roles.BILLING_STAFF])
    invoice = invoice_for(CustomerFactory(name="Amy Parent"), "120.00")
    assert submit_together(staff, reverse("billing:payment_add"), payment_post(invoice), times=3) == [303, 303, 303]
    assert Payment.objects.count() == 1


def test_the_invoice_picker_finds_open_invoices_as_you_type(staff_client, customer, invoice):
    paid = invoice_for(customer, "10.00")
    billing.record_payment(paid, "10.00")
    other = invoice_for(CustomerFactory(name="Ben Other"), "10.00")
    page = text_of(staff_client.get(reverse("billing:invoice_search"), {"invoice_q": "amy"}, headers=htmx()))
    assert page.lstrip().startswith('<div id="invoice-choices"')
    assert str(invoice) in page and str(paid) not in page and str(other) not in page
    assert 'data-outstanding="120.00"' in page
    by_number = text_of(staff_client.get(reverse("billing:invoice_search"), {"invoice_q": str(other)}))
    assert str(other) in by_number and str(invoice) not in by_number


def test_find_invoice_lists_the_matches_without_js(staff_client, invoice):
    data = payment_post(invoice, find_invoice="1", invoice_q="amy")
    del data["invoice"]
    response = staff_client.post(reverse("billing:payment_add"), data)
    assert response.status_code == 200 and f'name="invoice" value="{invoice.pk}"' in text_of(response)
    assert not Payment.objects.exists()


def test_the_record_payment_page_has_the_invoice_picker(staff_client):
    page = text_of(staff_client.get(reverse("billing:payment_add")))
    assert 'id="id_invoice_q"' in page and "Record payment" in page


BAD_PAYMENTS = [
    ({"amount": "0"}, "The amount must be more than zero."),
    ({"amount": "-5"}, "The amount must be more than zero."),
    ({"amount": "1.005"}, "Use at most 2 decimal places (pence)."),
    ({"amount": "abc"}, "Enter the amount as a number, for example 25.00."),
    ({"amount": ""}, "Enter an amount, for example 25.00."),
    ({"amount": "120.01"}, "That is more than the £120.00 outstanding on"),
    ({"invoice": ""}, "Choose an invoice."),
    ({"invoice": "999999"}, "That invoice does not exist."),
    ({"method": "bitcoin"}, "Select a valid choice."),
    ({"date": "yesterday"}, "Enter a date like 2026-01-31."),
    ({"date": "2001-01-01"}, "That date is more than ten years ago."),
]


@pytest.mark.parametrize(("change", "message"), BAD_PAYMENTS)
def test_it_refuses_a_bad_payment_with_the_message_and_writes_nothing(staff_client, invoice, change, message):
    before = ledger_fingerprint()
    response = staff_client.post(reverse("billing:payment_add"), payment_post(invoice, **change))
    assert response.status_code == 422
    assert message in text_of(response)
    assert ledger_fingerprint() == before


@pytest.mark.parametrize("state", ["void", "paid"])
def test_it_refuses_a_payment_on_a_void_or_paid_invoice(staff_client, invoice, state):
    if state == "void":
        billing.void_invoice(invoice)
    else:
        billing.record_payment(invoice, "120.00")
    before = ledger_fingerprint()
    for url in (reverse("billing:payment_add"), reverse("billing:payment_add") + f"?invoice={invoice.pk}"):
        response = staff_client.post(url, payment_post(invoice, amount="10.00"))
        assert response.status_code == 422
        assert {"void": "This invoice is void.", "paid": "This invoice is already paid."}[state] in text_of(response)
    assert ledger_fingerprint() == before


def test_record_payment_explains_a_settled_invoice_instead_of_a_form(staff_client, invoice):
    billing.record_payment(invoice, "120.00")
    page = text_of(staff_client.get(reverse("billing:payment_add"), {"invoice": invoice.pk}))
    assert f"{invoice} is paid: there is nothing to pay on it." in page and 'name="amount"' not in page


def test_a_refused_htmx_payment_returns_the_dialog_with_422(staff_client, invoice):
    response = staff_client.post(
        reverse("billing:payment_add") + f"?invoice={invoice.pk}",
        payment_post(invoice, amount="500.00"),
        headers=htmx(),
    )
    assert response.status_code == 422
    assert "<html" not in text_of(response) and "That is more than the £120.00 outstanding" in text_of(response)


def test_credit_counts_toward_what_is_outstanding_when_paying(staff_client, customer, invoice):
    credits.assign_credit(credit_for(customer, "100.00"), {invoice: "100.00"})
    response = staff_client.post(reverse("billing:payment_add"), payment_post(invoice, amount="20.01"))
    assert response.status_code == 422 and "£20.00 outstanding" in text_of(response)
    assert staff_client.post(reverse("billing:payment_add"), payment_post(invoice, amount="20.00")).status_code == 303
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert Credit.objects.get().remaining == 0
