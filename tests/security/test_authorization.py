"""Who may do what, on every URL the project has: a new page cannot escape this file.

The table below says, for each URL name, which methods it answers and which roles PRODUCT.md allows;
the walk over the URL resolver fails when a pattern is missing from it. Then: anonymous visitors are
sent to log in, each role gets exactly what it may (403 otherwise, with nothing written), objects that
do not belong together are refused, and extra posted fields change nothing they should not.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import NamedTuple

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from billing.models import Invoice, Payment
from credits import services as credits
from credits.models import Credit, CreditAssignment, CreditBatch
from customers.models import Customer
from reports import figures
from tests.conftest import PASSWORD, logged_in
from tests.page import parse
from tests.security.conftest import assert_unchanged, db_snapshot, page_text
from tests.security.test_bad_input import (
    bulk_form,
    credit_form,
    customer_form,
    edit_form,
    invoice_form,
    payment_form,
    refund_form,
)

# Left out on purpose: the Django admin (superusers only, Django's own checks), and the auth views a
# visitor must reach before logging in (log in, log out). There is no password reset (no email yet).
SKIPPED_PREFIXES = ("admin/",)
SKIPPED_NAMES = {
    "login",
    "logout",
}

ANYONE = frozenset({"nobody", "staff", "manager", "superuser"})  # any logged-in account, even one with no role
STAFF = frozenset({"staff", "manager", "superuser"})  # Billing staff and up: PRODUCT.md's first row
MANAGERS = frozenset({"manager", "superuser"})  # bulk credits, delete credits, undo a batch, void, edit a customer
ROLES = ("nobody", "staff", "manager", "superuser")


class Rule(NamedTuple):
    methods: tuple[str, ...]
    roles: frozenset[str]


RULES: dict[str, Rule] = {
    "home": Rule(("GET",), ANYONE),
    "password_change": Rule(("GET", "POST"), ANYONE),
    "password_change_done": Rule(("GET",), ANYONE),
    "locked_logins": Rule(("GET", "POST"), MANAGERS),
    "customers:list": Rule(("GET",), STAFF),
    "customers:add": Rule(("GET", "POST"), STAFF),
    "customers:matching": Rule(("GET",), MANAGERS),  # "select all matching" belongs to bulk credits
    "customers:detail": Rule(("GET",), STAFF),
    "customers:edit": Rule(("GET", "POST"), MANAGERS),
    "customers:billing": Rule(("GET",), STAFF),
    "customers:history": Rule(("GET",), STAFF),
    "billing:invoice_list": Rule(("GET",), STAFF),
    "billing:invoice_add": Rule(("GET", "POST"), STAFF),
    "billing:customer_search": Rule(("GET",), STAFF),
    "billing:invoice_detail": Rule(("GET",), STAFF),
    "billing:invoice_history": Rule(("GET",), STAFF),
    "billing:invoice_apply_credit": Rule(("POST",), STAFF),
    "billing:invoice_void": Rule(("GET", "POST"), MANAGERS),
    "billing:payment_list": Rule(("GET",), STAFF),
    "billing:payment_add": Rule(("GET", "POST"), STAFF),
    "billing:invoice_search": Rule(("GET",), STAFF),
    "credits:add": Rule(("GET", "POST"), STAFF),
    "credits:customer_search": Rule(("GET",), STAFF),
    "credits:list": Rule(("GET",), STAFF),
    "credits:export": Rule(("GET",), STAFF),
    "credits:bulk": Rule(("GET", "POST"), MANAGERS),
    "credits:batch_detail": Rule(("GET",), STAFF),
    "credits:batch_undo": Rule(("GET", "POST"), MANAGERS),
    "credits:detail": Rule(("GET",), STAFF),
    "credits:edit": Rule(("GET", "POST"), STAFF),
    "credits:delete": Rule(("GET", "POST"), MANAGERS),
    "credits:assignments": Rule(("GET",), STAFF),
    "credits:assign": Rule(("GET", "POST"), STAFF),
    "credits:unassign": Rule(("GET", "POST"), STAFF),
    "credits:history": Rule(("GET",), STAFF),
    "credits:refund": Rule(("GET", "POST"), MANAGERS),
    "credits:refund_reverse": Rule(("GET", "POST"), MANAGERS),
    "credits:refund_list": Rule(("GET",), STAFF),
    "customers:statement": Rule(("GET",), STAFF),
    "documents:credit_note_pdf": Rule(("GET",), STAFF),
    "documents:email_credit_note": Rule(("POST",), STAFF),
    "documents:invoice_pdf": Rule(("GET",), STAFF),
    "documents:email_invoice": Rule(("POST",), STAFF),
    "documents:statement_pdf": Rule(("GET",), STAFF),
    "documents:email_statement": Rule(("POST",), STAFF),
    "documents:statement_run_new": Rule(("GET", "POST"), MANAGERS),
    "documents:outbox": Rule(("GET",), STAFF),
    "documents:outbox_detail": Rule(("GET",), STAFF),
    "documents:outbox_attachment": Rule(("GET",), STAFF),
    "documents:outbox_retry": Rule(("POST",), STAFF),
    "billing:invoice_run": Rule(("GET", "POST"), MANAGERS),
    "runs:list": Rule(("GET",), STAFF),
    "runs:detail": Rule(("GET",), STAFF),
    "runs:cancel": Rule(("POST",), MANAGERS),
    "credits:refund_export": Rule(("GET",), STAFF),
    "customers:export": Rule(("GET",), STAFF),
    "billing:invoice_export": Rule(("GET",), STAFF),
    "billing:payment_export": Rule(("GET",), STAFF),
    "reports:overview": Rule(("GET",), STAFF),
    "reports:unapplied": Rule(("GET",), STAFF),
    "reports:unapplied_export": Rule(("GET",), STAFF),
    "reports:unapplied_apply": Rule(("POST",), STAFF),
    "reports:unapplied_apply_all": Rule(("GET", "POST"), STAFF),
}


def walk(patterns=None, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    """(URL name, route) of every pattern of the project, through every include()."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}".strip(":") if pattern.namespace else namespace
            yield from walk(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern):
            yield (f"{namespace}:{pattern.name}" if namespace else str(pattern.name)), route


def project_urls() -> list[str]:
    return sorted(
        name for name, route in walk() if not route.startswith(SKIPPED_PREFIXES) and name not in SKIPPED_NAMES
    )


def url_for(name: str, w) -> str:
    """The URL, for the world's objects."""
    if name == "credits:unassign":
        return reverse(name, args=[w.credit.pk, w.assignment.pk])
    if name == "credits:refund":
        return reverse(name, args=[w.refunded_credit.pk])
    if name == "reports:unapplied_apply":
        return reverse(name, args=[w.amy.pk]) + "?days=0"
    if name == "reports:unapplied_apply_all":
        return reverse(name) + "?days=0"
    if name == "credits:refund_reverse":
        return reverse(name, args=[w.refunded_credit.pk, w.refund.pk])
    if name in {"documents:credit_note_pdf", "documents:email_credit_note"}:
        return reverse(name, args=[w.credit.pk])
    if name in {"documents:invoice_pdf", "documents:email_invoice"}:
        return reverse(name, args=[w.open.pk])
    if name in {"documents:statement_pdf", "documents:email_statement"}:
        return reverse(name, args=[w.amy.pk])
    if name in {"documents:outbox_detail", "documents:outbox_attachment", "documents:outbox_retry"}:
        return reverse(name, args=[w.failed_email.pk])
    if name in {"runs:detail", "runs:cancel"}:
        return reverse(name, args=[w.run.pk])
    if name.startswith("credits:batch_"):
        return reverse(name, args=[w.batch.pk])
    if name.startswith("customers:") and name not in {
        "customers:list",
        "customers:add",
        "customers:matching",
        "customers:export",
    }:
        return reverse(name, args=[w.amy.pk])
    if name in {
        "billing:invoice_detail",
        "billing:invoice_history",
        "billing:invoice_apply_credit",
        "billing:invoice_void",
    }:
        return reverse(name, args=[w.open.pk])
    if name in {
        "credits:detail",
        "credits:edit",
        "credits:delete",
        "credits:assignments",
        "credits:assign",
        "credits:history",
    }:
        return reverse(name, args=[w.credit.pk])
    return reverse(name)


def valid_post(name: str, w) -> dict:
    """A POST that writes when its sender may do it: so that a 403 with nothing written proves the refusal."""
    return {
        "password_change": lambda: {
            "old_password": PASSWORD,
            "new_password1": "a much newer passphrase",
            "new_password2": "a much newer passphrase",
        },
        "customers:add": lambda: customer_form(),
        "customers:edit": lambda: customer_form(name="Amy Renamed"),
        "billing:invoice_add": lambda: invoice_form(w.amy),
        "billing:invoice_apply_credit": lambda: {},
        "billing:invoice_void": lambda: {},
        "billing:payment_add": lambda: payment_form(w.open),
        "credits:add": lambda: credit_form(w.amy),
        "credits:bulk": lambda: bulk_form(w.amy, w.ben),
        "credits:batch_undo": lambda: {},
        "credits:edit": lambda: edit_form(w.credit, note="Changed"),
        "credits:delete": lambda: {},
        "credits:assign": lambda: {f"invoice-{w.open2.pk}": "5.00"},
        "credits:unassign": lambda: {},
        "credits:refund": lambda: refund_form(),
        "credits:refund_reverse": lambda: {"reason": "Refunded the wrong family"},
        "locked_logins": lambda: {"attempt": w.locked.pk},
        "documents:email_credit_note": lambda: {"idempotency_key": uuid.uuid4().hex},
        "documents:email_invoice": lambda: {"idempotency_key": uuid.uuid4().hex},
        "documents:email_statement": lambda: {"idempotency_key": uuid.uuid4().hex},
        "documents:statement_run_new": lambda: {"who": "balance_or_credit", "idempotency_key": uuid.uuid4().hex},
        "documents:outbox_retry": lambda: {},
        "billing:invoice_run": lambda: invoice_run_form(w.superuser, w.ben),
        "runs:cancel": lambda: {},
        "reports:unapplied_apply": lambda: {},
        "reports:unapplied_apply_all": lambda: {
            "idempotency_key": uuid.uuid4().hex,
            "expected": figures.unapplied_totals(0)["customers"],
        },
    }[name]()


def invoice_run_form(asker, customer) -> dict:
    """An invoice run's form for one ticked customer, with the yes to its summary (asked once by `asker`)."""
    data = {
        "customer": [customer.pk],
        "issue_date": "2026-12-01",
        "due_date": "2026-12-31",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-description": "Summer term",
        "lines-0-quantity": "1",
        "lines-0-unit_price": "60.00",
        "idempotency_key": uuid.uuid4().hex,
    }
    with transaction.atomic():  # asking writes nothing, but logging in does: leave no trace of it
        asked = parse(logged_in(asker).post(reverse("billing:invoice_run"), data))
        transaction.set_rollback(True)
    return {**data, "confirmed": asked.one("button", name="confirmed")["value"]}


def test_every_url_of_the_project_has_a_rule():
    """A new page must be added to RULES (with who may use it) before this suite passes."""
    found = project_urls()
    assert set(found) == set(RULES), {
        "not in RULES": set(found) - set(RULES),
        "no longer a URL": set(RULES) - set(found),
    }
    assert len(found) == len(set(found)), "two patterns share a name"


def test_the_walk_finds_what_it_skips():
    """The skipped auth and admin views are really there (so the skip list is not hiding a typo)."""
    names = {name for name, _ in walk()}
    assert SKIPPED_NAMES <= names
    assert any(route.startswith("admin/") for _, route in walk())


@pytest.mark.parametrize("name", sorted(RULES))
def test_anonymous_visitors_are_sent_to_log_in(world, name):
    client, url = Client(), url_for(name, world)
    before = db_snapshot()
    for method in ("get", "post"):
        data = valid_post(name, world) if method == "post" and "POST" in RULES[name].methods else {}
        response = getattr(client, method)(url, data)
        assert response.status_code == 302, (method, response.status_code)
        assert response["Location"].startswith(f"{reverse('login')}?next="), response["Location"]
    assert_unchanged(before)


@pytest.mark.parametrize("name", sorted(RULES))
def test_each_role_gets_exactly_what_product_md_allows(world, name):
    rule, url = RULES[name], url_for(name, world)
    if name in {"billing:invoice_apply_credit", "reports:unapplied_apply", "reports:unapplied_apply_all"}:
        credits.update_credit(world.credit, auto_apply=True)  # so that applying credit has something to write
    clients = {role: logged_in(getattr(world, role)) for role in ROLES}
    for role in ROLES:
        client, allowed = clients[role], role in rule.roles
        for method in ("GET", "POST"):
            before = db_snapshot()
            with transaction.atomic():
                data = valid_post(name, world) if method == "POST" and "POST" in rule.methods else {}
                response = client.generic(
                    method, url, data=_encoded(data), content_type="application/x-www-form-urlencoded"
                )
                status = response.status_code
                if method not in rule.methods:
                    # A method the page does not answer: refused either way (405, or 403 where the role is checked first).
                    assert status == 405 or (status == 403 and not allowed), (role, method, status)
                    assert_unchanged(before)
                elif not allowed:
                    assert status == 403, (role, method, status)
                    assert "You can’t do that" in page_text(response)
                    assert_unchanged(before)
                elif method == "GET":
                    # The page, or on to another page (a picker asked for without htmx goes to its form); a
                    # redirect to the login page is a refusal, however it is spelled.
                    onward = response.get("Location", "")
                    assert status == 200 or (status == 302 and not onward.startswith(reverse("login"))), (role, onward)
                    assert_unchanged(before)
                else:
                    assert status in (200, 302, 303), (role, method, status, page_text(response)[:1500])
                    assert db_snapshot() != before, (
                        f"{role}'s allowed POST to {name} wrote nothing: the payload is not valid"
                    )
                transaction.set_rollback(True)


def _encoded(data: dict) -> str:
    from urllib.parse import urlencode

    return urlencode(data, doseq=True)


def test_a_user_without_any_role_is_told_who_may_and_whom_to_ask_with_a_way_back(world):
    response = logged_in(world.nobody).get(reverse("credits:list"))
    assert response.status_code == 403
    page = parse(response)
    assert page.one("p", class_="lead").text == (
        "Only Billing staff and Managers can see credits. Your account has no role yet: ask a manager (maria.manager)."
    )
    assert page.one("main").find_all("a")[-1].text == "Go to the home page"
    assert page.one("main").find_all("a")[-1]["href"] == reverse("home")


# Objects that do not belong together -------------------------------------------------------------------------------------------


def test_a_credit_cannot_be_assigned_to_another_customers_invoice(world):
    client = logged_in(world.staff)
    before = db_snapshot()
    response = client.post(reverse("credits:assign", args=[world.credit.pk]), {f"invoice-{world.ben_open.pk}": "5.00"})
    assert response.status_code == 422
    assert f"{world.ben_open} belongs to another customer." in page_text(response)
    assert_unchanged(before)


def test_a_batch_credit_cannot_go_to_an_invoice_of_another_customer_of_the_batch(world):
    client = logged_in(world.manager)
    before = db_snapshot()
    response = client.post(
        reverse("credits:assign", args=[world.batch_ben.pk]),
        {f"invoice-{world.open.pk}": "5.00", f"invoice-{world.ben_open.pk}": "1.00"},
    )
    assert response.status_code == 422
    assert f"{world.open} belongs to another customer." in page_text(response)
    assert_unchanged(before)


def test_an_assignment_cannot_be_removed_through_another_credits_page(world):
    client = logged_in(world.staff)
    before = db_snapshot()
    response = client.post(reverse("credits:unassign", args=[world.credit.pk, world.ben_assignment.pk]))
    assert response.status_code == 404
    assert_unchanged(before)


def test_a_payment_goes_to_the_invoice_in_the_address_not_one_slipped_into_the_form(world):
    client = logged_in(world.staff)
    response = client.post(
        f"{reverse('billing:payment_add')}?invoice={world.open.pk}", payment_form(world.ben_open, amount="3.00")
    )
    assert response.status_code == 303
    assert list(Payment.objects.filter(amount=Decimal("3.00")).values_list("invoice_id", flat=True)) == [world.open.pk]


def test_a_credit_opened_from_a_profile_stays_with_that_customer(world):
    client = logged_in(world.staff)
    response = client.post(f"{reverse('credits:add')}?customer={world.amy.pk}", credit_form(world.ben, amount="7.77"))
    assert response.status_code == 303
    assert list(Credit.objects.filter(amount=Decimal("7.77")).values_list("customer_id", flat=True)) == [world.amy.pk]


def test_an_invoice_opened_from_a_profile_stays_with_that_customer(world):
    client = logged_in(world.staff)
    response = client.post(
        f"{reverse('billing:invoice_add')}?customer={world.amy.pk}", invoice_form(world.ben, ("Swim", "1", "12.34"))
    )
    assert response.status_code == 303
    assert list(Invoice.objects.filter(total=Decimal("12.34")).values_list("customer_id", flat=True)) == [world.amy.pk]


# Mass assignment: fields a form does not have are ignored ---------------------------------------------------------------------


def extras(w, **more) -> dict:
    """Fields no form offers, set to what an attacker would like."""
    return {
        "assigned": "999.00",
        "status": "fully_assigned",
        "customer": w.ben.pk,
        "created_by": w.superuser.pk,
        "total": "1.00",
        "paid": "999.00",
        "credited": "999.00",
        "version": "99",
        "batch": w.batch.pk,
        "archived": "on",
        "count": "99",
        "remaining": "0.00",
        "voided_at": "2020-01-01",
        "is_superuser": "on",
        **more,
    }


def test_extra_fields_cannot_shape_a_new_credit(world):
    client = logged_in(world.staff)
    data = {**extras(world), **credit_form(world.amy, amount="12.00")}
    assert client.post(reverse("credits:add"), data).status_code == 303
    credit = Credit.objects.get(amount=Decimal("12.00"))
    assert (
        credit.customer_id,
        credit.assigned,
        credit.status,
        credit.created_by_id,
        credit.batch_id,
        credit.version,
    ) == (world.amy.pk, Decimal("0.00"), "unassigned", world.staff.pk, None, 1)


def test_extra_fields_cannot_move_or_inflate_a_credit_being_modified(world):
    client = logged_in(world.staff)
    before = (
        Credit.objects.filter(pk=world.credit.pk).values("customer_id", "assigned", "created_by_id", "batch_id").get()
    )
    data = {**extras(world), **edit_form(world.credit, note="Edited")}
    assert client.post(reverse("credits:edit", args=[world.credit.pk]), data).status_code == 303
    after = (
        Credit.objects.filter(pk=world.credit.pk)
        .values("customer_id", "assigned", "created_by_id", "batch_id", "note", "version")
        .get()
    )
    assert after == {**before, "note": "Edited", "version": world.credit.version + 1}


def test_extra_fields_cannot_settle_a_new_invoice(world):
    client = logged_in(world.staff)
    data = {**extras(world), **invoice_form(world.amy, ("Tap", "1", "33.00"))}
    assert client.post(reverse("billing:invoice_add"), data).status_code == 303
    invoice = Invoice.objects.get(lines__description="Tap")
    assert (
        invoice.customer_id,
        invoice.total,
        invoice.paid,
        invoice.status,
        invoice.voided_at,
        invoice.created_by_id,
    ) == (world.amy.pk, Decimal("33.00"), Decimal("0.00"), "unpaid", None, world.staff.pk)


def test_extra_fields_cannot_change_who_paid_or_which_invoice(world):
    client = logged_in(world.staff)
    data = {**extras(world), **payment_form(world.open, amount="4.44")}
    assert client.post(reverse("billing:payment_add"), data).status_code == 303
    payment = Payment.objects.get(amount=Decimal("4.44"))
    assert (payment.invoice_id, payment.created_by_id) == (world.open.pk, world.staff.pk)


def test_extra_fields_cannot_redirect_an_assignment(world):
    client = logged_in(world.staff)
    data = {
        **extras(world, credit=world.ben_credit.pk, invoice=world.ben_open.pk, amount="50.00"),
        f"invoice-{world.open2.pk}": "6.00",
    }
    assert client.post(reverse("credits:assign", args=[world.credit.pk]), data).status_code == 303
    made = CreditAssignment.objects.get(amount=Decimal("6.00"))
    assert (made.credit_id, made.invoice_id, made.created_by_id) == (world.credit.pk, world.open2.pk, world.staff.pk)
    assert not CreditAssignment.objects.filter(amount=Decimal("50.00")).exists()


def test_extra_fields_cannot_inflate_a_bulk_batch(world):
    client = logged_in(world.manager)
    data = {**extras(world), **bulk_form(world.amy, world.ben, amount="3.00")}
    assert client.post(reverse("credits:bulk"), data).status_code == 303
    batch = CreditBatch.objects.get(amount=Decimal("3.00"))
    assert (batch.count, batch.total, batch.created_by_id, batch.undone_at) == (
        2,
        Decimal("6.00"),
        world.manager.pk,
        None,
    )
    assert (
        sorted(batch.credits.values_list("assigned", "version", "created_by_id"))
        == [(Decimal("0.00"), 1, world.manager.pk)] * 2
    )


def test_extra_fields_cannot_archive_or_promote_through_the_customer_forms(world):
    client = logged_in(world.manager)
    assert client.post(reverse("customers:add"), {**extras(world), **customer_form(name="Cara New")}).status_code == 303
    assert (
        client.post(
            reverse("customers:edit", args=[world.amy.pk]), {**extras(world), **customer_form(name="Amy P")}
        ).status_code
        == 303
    )
    assert list(Customer.objects.filter(name__in=["Cara New", "Amy P"]).values_list("archived", flat=True)) == [
        False,
        False,
    ]
    world.manager.refresh_from_db()
    assert not world.manager.is_superuser


def test_extra_fields_cannot_reach_the_password_change_of_someone_else(world):
    client = logged_in(world.staff)
    data = {
        "old_password": PASSWORD,
        "new_password1": "another long passphrase",
        "new_password2": "another long passphrase",
        "username": world.manager.username,
        "user": world.manager.pk,
        "is_superuser": "on",
    }
    assert client.post(reverse("password_change"), data).status_code == 302
    world.staff.refresh_from_db()
    world.manager.refresh_from_db()
    assert world.staff.check_password("another long passphrase") and not world.staff.is_superuser
    assert world.manager.check_password(PASSWORD)


def test_the_idempotency_key_is_never_read_from_anywhere_but_its_form(world):
    """A key posted twice under different customers makes one credit, for the first; the second is refused, not
    answered with the first customer's credit."""
    client = logged_in(world.staff)
    key = uuid.uuid4().hex
    client.post(reverse("credits:add"), credit_form(world.amy, amount="8.80", idempotency_key=key))
    before = db_snapshot()
    response = client.post(reverse("credits:add"), credit_form(world.ben, amount="8.80", idempotency_key=key))
    assert response.status_code == 422
    assert "This form was already used for a different credit." in page_text(response)
    assert_unchanged(before)
    assert list(Credit.objects.filter(amount=Decimal("8.80")).values_list("customer_id", flat=True)) == [world.amy.pk]
