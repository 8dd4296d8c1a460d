"""Bad input, through every form (the real views, over the test client) and every service function.

Each case must be refused with a message a person understands, and leave the database exactly as it
was: every row of every app table and the money totals are compared before and after.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NamedTuple

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from billing import services as billing
from billing.models import Invoice
from billing_site import money
from credits import services as credits
from credits.models import Credit, CreditAssignment, CreditBatch
from customers import services as customers
from customers.models import Customer
from tests.conftest import logged_in
from tests.security.conftest import assert_unchanged, db_snapshot, page_text

TODAY = timezone.localdate()
LONG_AGO = "1900-01-01"
FAR_AHEAD = "2999-12-31"
NO_SUCH_ID = 987654321
# What the pages say (tests/credits and tests/billing pin the same texts on their own screens).
OLD = "That date is more than ten years ago."
AHEAD = "That date is more than a year ahead."
NOT_FOUND = "There is nothing here: it may have been deleted, or the address is mistyped."
TOO_MUCH_AT_ONCE = "sent too many items at once"

BAD_AMOUNTS = [
    ("empty", "", money.ENTER_AN_AMOUNT),
    ("whitespace", "   ", money.ENTER_AN_AMOUNT),
    ("zero", "0", money.NOT_POSITIVE),
    ("negative", "-5.00", money.NOT_POSITIVE),
    ("overflow", "1e309", money.NOT_A_NUMBER),
    ("nan", "NaN", money.NOT_A_NUMBER),
    ("infinity", "Infinity", money.NOT_A_NUMBER),
    ("three-places", "10.005", money.TOO_MANY_PLACES),
    ("above-maximum", "1000000.01", money.TOO_LARGE),
    ("arabic-indic-digits", "١٢٣", money.NOT_A_NUMBER),
    ("full-width-digits", "１２", money.NOT_A_NUMBER),
]


def credit_form(who, /, **changes) -> dict:
    data = {
        "customer": who.pk,
        "date": TODAY.isoformat(),
        "amount": "25.00",
        "reason": "goodwill",
        "note": "",
        "auto_apply": "on",
        "idempotency_key": uuid.uuid4().hex,
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def bulk_form(*people, **changes) -> dict:
    data = {
        "customer": [p.pk for p in people],
        "date": TODAY.isoformat(),
        "amount": "5.00",
        "reason": "goodwill",
        "note": "",
        "auto_apply": "on",
        "idempotency_key": uuid.uuid4().hex,
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def edit_form(credit: Credit, **changes) -> dict:
    data = {
        "date": credit.date.isoformat(),
        "amount": f"{credit.amount}",
        "reason": credit.reason,
        "note": credit.note,
        "auto_apply": "on",
        "version": credit.version,
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def invoice_form(who, /, *lines, **changes) -> dict:
    lines = lines or (("Ballet — spring term", "1", "60.00"),)
    data = {
        "customer": who.pk,
        "issue_date": TODAY.isoformat(),
        "due_date": (TODAY + datetime.timedelta(days=14)).isoformat(),
        "idempotency_key": uuid.uuid4().hex,
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
    }
    for n, (description, quantity, price) in enumerate(lines):
        data |= {f"lines-{n}-description": description, f"lines-{n}-quantity": quantity, f"lines-{n}-unit_price": price}
    data.update(changes)
    return data


def payment_form(on, /, **changes) -> dict:
    data = {
        "invoice": on.pk,
        "amount": "10.00",
        "date": TODAY.isoformat(),
        "method": "card",
        "idempotency_key": uuid.uuid4().hex,
    }
    data.update(changes)
    return data


def refund_form(**changes) -> dict:
    data = {
        "amount": "5.00",
        "date": TODAY.isoformat(),
        "method": "bank_transfer",
        "note": "",
        "idempotency_key": uuid.uuid4().hex,
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def refund_url(w) -> str:
    return reverse("credits:refund", args=[w.refunded_credit.pk])


def reverse_url(w) -> str:
    return reverse("credits:refund_reverse", args=[w.refunded_credit.pk, w.refund.pk])


def colleague_refunds_the_rest(w) -> None:
    credits.refund_credit(w.refunded_credit, "40.00")


def customer_form(**changes) -> dict:
    data = {
        "name": "Cara New",
        "email": "cara@example.com",
        "phone": "07700 900003",
        "tags": "Ballet Tue 4pm",
        "notes": "",
        "idempotency_key": uuid.uuid4().hex,
    }
    data.update(changes)
    return data


class Post(NamedTuple):
    """A form sent by `who`; the page that comes back has `status` and says `message`. `first` runs before the snapshot."""

    who: str
    url: Callable[[Any], str]
    data: Callable[[Any], dict]
    status: int
    message: str
    first: Callable[[Any], None] | None = None


def add_credit_url(w) -> str:
    return reverse("credits:add")


def assign_url(w) -> str:
    return reverse("credits:assign", args=[w.credit.pk])


def someone_else_modifies(w) -> None:
    credits.update_credit(w.credit, note="Changed by a colleague")


def someone_deletes_it(w) -> None:
    credits.delete_credit(w.ben_credit)


def bulk_ids(count: int) -> Callable[[Any], dict]:
    return lambda w: bulk_form(w.amy, customer=[str(n) for n in range(1, count + 1)])


def assign_to_thousands(w) -> dict:
    return {f"invoice-{n}": "1.00" for n in range(1, 1200)}


HTTP_CASES: dict[str, Post] = {
    # Add Credit: every kind of bad amount, then the other fields.
    **{
        f"add-credit-amount-{name}": Post(
            "staff", add_credit_url, lambda w, v=value: credit_form(w.amy, amount=v), 422, message
        )
        for name, value, message in BAD_AMOUNTS
    },
    "add-credit-date-long-ago": Post("staff", add_credit_url, lambda w: credit_form(w.amy, date=LONG_AGO), 422, OLD),
    "add-credit-date-far-ahead": Post(
        "staff", add_credit_url, lambda w: credit_form(w.amy, date=FAR_AHEAD), 422, AHEAD
    ),
    "add-credit-date-nonsense": Post(
        "staff", add_credit_url, lambda w: credit_form(w.amy, date="31/02/2026"), 422, "Enter a date like 2026-01-31."
    ),
    "add-credit-date-empty": Post(
        "staff", add_credit_url, lambda w: credit_form(w.amy, date=""), 422, "Enter the payment date."
    ),
    "add-credit-no-customer": Post(
        "staff", add_credit_url, lambda w: credit_form(w.amy, customer=""), 422, "Choose a customer."
    ),
    "add-credit-missing-customer": Post(
        "staff",
        add_credit_url,
        lambda w: credit_form(w.amy, customer=NO_SUCH_ID),
        422,
        "That customer does not exist: search again.",
    ),
    "add-credit-customer-not-a-number": Post(
        "staff",
        add_credit_url,
        lambda w: credit_form(w.amy, customer="1 OR 1=1"),
        422,
        "That customer does not exist: search again.",
    ),
    "add-credit-fixed-customer-missing": Post(
        "staff",
        lambda w: f"{reverse('credits:add')}?customer={NO_SUCH_ID}",
        lambda w: credit_form(w.amy),
        404,
        NOT_FOUND,
    ),
    "add-credit-bad-reason": Post(
        "staff", add_credit_url, lambda w: credit_form(w.amy, reason="bribe"), 422, "Choose a reason from the list."
    ),
    "add-credit-note-too-long": Post(
        "staff",
        add_credit_url,
        lambda w: credit_form(w.amy, note="x" * 2001),
        422,
        "Keep the note under 2,000 characters.",
    ),
    "add-credit-no-form-key": Post(
        "staff",
        add_credit_url,
        lambda w: credit_form(w.amy, idempotency_key=None),
        422,
        "This form has expired: please reload the page and try again.",
    ),
    # Bulk credits.
    **{
        f"bulk-amount-{name}": Post(
            "manager",
            lambda w: reverse("credits:bulk"),
            lambda w, v=value: bulk_form(w.amy, w.ben, amount=v),
            422,
            message,
        )
        for name, value, message in BAD_AMOUNTS
        if name in {"zero", "nan", "three-places", "above-maximum", "full-width-digits"}
    },
    "bulk-no-customers": Post(
        "manager", lambda w: reverse("credits:bulk"), lambda w: bulk_form(), 422, "Choose at least one customer."
    ),
    "bulk-missing-customer": Post(
        "manager",
        lambda w: reverse("credits:bulk"),
        lambda w: bulk_form(w.amy, customer=[w.amy.pk, NO_SUCH_ID]),
        422,
        "1 of the chosen customers do not exist.",
    ),
    "bulk-customer-not-a-number": Post(
        "manager",
        lambda w: reverse("credits:bulk"),
        lambda w: bulk_form(w.amy, customer=["1; DROP"]),
        422,
        "Choose customers from the customer list.",
    ),
    "bulk-date-far-ahead": Post(
        "manager", lambda w: reverse("credits:bulk"), lambda w: bulk_form(w.amy, date=FAR_AHEAD), 422, AHEAD
    ),
    "bulk-choice-changed-since-summary": Post(
        "manager",
        lambda w: reverse("credits:bulk"),
        lambda w: bulk_form(w.amy, w.ben, expected_count="3"),
        422,
        "The choice now matches 2 customers, not 3.",
    ),
    "bulk-thousands-of-ids": Post("manager", lambda w: reverse("credits:bulk"), bulk_ids(3000), 400, TOO_MUCH_AT_ONCE),
    # Modify a credit.
    **{
        f"modify-amount-{name}": Post(
            "staff",
            lambda w: reverse("credits:edit", args=[w.credit.pk]),
            lambda w, v=value: edit_form(w.credit, amount=v),
            422,
            message,
        )
        for name, value, message in BAD_AMOUNTS
        if name in {"empty", "negative", "infinity", "arabic-indic-digits"}
    },
    "modify-below-assigned": Post(
        "staff",
        lambda w: reverse("credits:edit", args=[w.credit.pk]),
        lambda w: edit_form(w.credit, amount="19.99"),
        422,
        "£20.00 of this credit is already assigned; the amount cannot be less than that.",
    ),
    "modify-stale-form": Post(
        "staff",
        lambda w: reverse("credits:edit", args=[w.credit.pk]),
        lambda w: edit_form(w.credit, note="Mine", version=1),
        422,
        credits.STALE_CREDIT,
        someone_else_modifies,
    ),
    "modify-no-version": Post(
        "staff",
        lambda w: reverse("credits:edit", args=[w.credit.pk]),
        lambda w: edit_form(w.credit, version=None),
        422,
        "This form has expired",
    ),
    "modify-date-long-ago": Post(
        "staff",
        lambda w: reverse("credits:edit", args=[w.credit.pk]),
        lambda w: edit_form(w.credit, date=LONG_AGO),
        422,
        OLD,
    ),
    "modify-deleted-credit": Post(
        "staff", lambda w: reverse("credits:edit", args=[w.gone.pk]), lambda w: edit_form(w.credit), 404, NOT_FOUND
    ),
    # Assignments › Add.
    "assign-nothing": Post(
        "staff", assign_url, lambda w: {f"invoice-{w.open2.pk}": ""}, 422, "Enter an amount for at least one invoice."
    ),
    **{
        f"assign-amount-{name}": Post(
            "staff", assign_url, lambda w, v=value: {f"invoice-{w.open2.pk}": v}, 422, message
        )
        for name, value, message in BAD_AMOUNTS
        if name in {"zero", "overflow", "three-places", "full-width-digits"}
    },
    "assign-another-customers-invoice": Post(
        "staff", assign_url, lambda w: {f"invoice-{w.ben_open.pk}": "5.00"}, 422, "belongs to another customer."
    ),
    "assign-void-invoice": Post("staff", assign_url, lambda w: {f"invoice-{w.void.pk}": "5.00"}, 422, "is void."),
    "assign-paid-invoice": Post(
        "staff", assign_url, lambda w: {f"invoice-{w.paid.pk}": "5.00"}, 422, "is already paid."
    ),
    "assign-missing-invoice": Post(
        "staff", assign_url, lambda w: {f"invoice-{NO_SUCH_ID}": "5.00"}, 422, "That invoice does not exist."
    ),
    "assign-more-than-outstanding": Post(
        "staff", assign_url, lambda w: {f"invoice-{w.open2.pk}": "80.01"}, 422, "has only £80.00 outstanding."
    ),
    "assign-more-than-remaining": Post(
        "staff",
        lambda w: reverse("credits:assign", args=[w.batch_amy.pk]),
        lambda w: {f"invoice-{w.open2.pk}": "10.01"},
        422,
        "That assigns £10.01, but the credit has only £10.00 left to assign.",
    ),
    "assign-split-more-than-remaining": Post(
        "staff",
        lambda w: reverse("credits:assign", args=[w.batch_amy.pk]),
        lambda w: {f"invoice-{w.open.pk}": "6.00", f"invoice-{w.open2.pk}": "6.00"},
        422,
        "That assigns £12.00, but the credit has only £10.00 left to assign.",
    ),
    "assign-deleted-credit": Post(
        "staff",
        lambda w: reverse("credits:assign", args=[w.gone.pk]),
        lambda w: {f"invoice-{w.open.pk}": "5.00"},
        404,
        NOT_FOUND,
    ),
    "assign-thousands-of-ids": Post("staff", assign_url, assign_to_thousands, 400, TOO_MUCH_AT_ONCE),
    # Remove an assignment / delete a credit / undo a batch, on what is already gone or belongs elsewhere.
    "unassign-another-credits-assignment": Post(
        "staff",
        lambda w: reverse("credits:unassign", args=[w.credit.pk, w.ben_assignment.pk]),
        lambda w: {},
        404,
        NOT_FOUND,
    ),
    "unassign-deleted-credit": Post(
        "staff", lambda w: reverse("credits:unassign", args=[w.gone.pk, w.assignment.pk]), lambda w: {}, 404, NOT_FOUND
    ),
    "delete-deleted-credit": Post(
        "manager", lambda w: reverse("credits:delete", args=[w.gone.pk]), lambda w: {}, 404, NOT_FOUND
    ),
    "delete-credit-deleted-meanwhile": Post(
        "manager",
        lambda w: reverse("credits:delete", args=[w.ben_credit.pk]),
        lambda w: {},
        404,
        NOT_FOUND,
        someone_deletes_it,
    ),
    "undo-batch-with-an-assigned-credit": Post(
        "manager",
        lambda w: reverse("credits:batch_undo", args=[w.batch.pk]),
        lambda w: {},
        422,
        "1 of this batch's credits is already assigned to invoices.",
        lambda w: credits.assign_credit(w.batch_amy, {w.open2: "1.00"}),
    ),
    "undo-batch-twice": Post(
        "manager",
        lambda w: reverse("credits:batch_undo", args=[w.batch.pk]),
        lambda w: {},
        422,
        credits.BATCH_UNDONE,
        lambda w: credits.undo_batch(w.batch),
    ),
    # New invoice.
    "invoice-no-lines": Post(
        "staff",
        lambda w: reverse("billing:invoice_add"),
        lambda w: invoice_form(w.amy, **{"lines-TOTAL_FORMS": "0"}),
        422,
        "Add at least one line.",
    ),
    "invoice-blank-line": Post(
        "staff",
        lambda w: reverse("billing:invoice_add"),
        lambda w: invoice_form(w.amy, ("  ", "", "")),
        422,
        "Enter a description.",
    ),
    **{
        f"invoice-price-{name}": Post(
            "staff",
            lambda w: reverse("billing:invoice_add"),
            lambda w, v=value: invoice_form(w.amy, ("Ballet", "1", v)),
            422,
            message,
        )
        for name, value, message in BAD_AMOUNTS
        if name in {"negative", "nan", "above-maximum", "arabic-indic-digits"}
    },
    "invoice-quantity-zero": Post(
        "staff",
        lambda w: reverse("billing:invoice_add"),
        lambda w: invoice_form(w.amy, ("Ballet", "0", "5.00")),
        422,
        "The quantity is at least 1.",
    ),
    "invoice-total-above-maximum": Post(
        "staff",
        lambda w: reverse("billing:invoice_add"),
        lambda w: invoice_form(w.amy, ("Ballet", "2", "1000000.00")),
        422,
        "An invoice's total can be at most £1,000,000.00.",
    ),
    "invoice-due-before-issue": Post(
        "staff",
        lambda w: reverse("billing:invoice_add"),
        lambda w: invoice_form(w.amy, due_date=(TODAY - datetime.timedelta(days=1)).isoformat()),
        422,
        "The due date cannot be before the issue date.",
    ),
    "invoice-issued-long-ago": Post(
        "staff",
        lambda w: reverse("billing:invoice_add"),
        lambda w: invoice_form(w.amy, issue_date=LONG_AGO, due_date=LONG_AGO),
        422,
        OLD,
    ),
    "invoice-missing-customer": Post(
        "staff",
        lambda w: reverse("billing:invoice_add"),
        lambda w: invoice_form(w.amy, customer=NO_SUCH_ID),
        422,
        "That customer does not exist.",
    ),
    # Record payment.
    **{
        f"payment-amount-{name}": Post(
            "staff",
            lambda w: reverse("billing:payment_add"),
            lambda w, v=value: payment_form(w.open, amount=v),
            422,
            message,
        )
        for name, value, message in BAD_AMOUNTS
        if name in {"whitespace", "zero", "overflow", "infinity", "above-maximum"}
    },
    "payment-more-than-outstanding": Post(
        "staff",
        lambda w: reverse("billing:payment_add"),
        lambda w: payment_form(w.open, amount="80.01"),
        422,
        "That is more than the £80.00 outstanding on",
    ),
    "payment-on-void-invoice": Post(
        "staff", lambda w: reverse("billing:payment_add"), lambda w: payment_form(w.void), 422, billing.INVOICE_VOID
    ),
    "payment-on-paid-invoice": Post(
        "staff", lambda w: reverse("billing:payment_add"), lambda w: payment_form(w.paid), 422, billing.INVOICE_PAID
    ),
    "payment-on-missing-invoice": Post(
        "staff",
        lambda w: reverse("billing:payment_add"),
        lambda w: payment_form(w.open, invoice=NO_SUCH_ID),
        422,
        "That invoice does not exist.",
    ),
    "payment-date-far-ahead": Post(
        "staff", lambda w: reverse("billing:payment_add"), lambda w: payment_form(w.open, date=FAR_AHEAD), 422, AHEAD
    ),
    "payment-bad-method": Post(
        "staff",
        lambda w: reverse("billing:payment_add"),
        lambda w: payment_form(w.open, method="bitcoin"),
        422,
        "Select a valid choice.",
    ),
    # Void, apply credit.
    "void-paid-invoice": Post(
        "manager",
        lambda w: reverse("billing:invoice_void", args=[w.paid.pk]),
        lambda w: {},
        422,
        "£30.00 has been paid on this invoice, so it cannot be voided.",
    ),
    "void-twice": Post(
        "manager",
        lambda w: reverse("billing:invoice_void", args=[w.void.pk]),
        lambda w: {},
        422,
        "This invoice is already void.",
    ),
    "void-missing-invoice": Post(
        "manager", lambda w: reverse("billing:invoice_void", args=[NO_SUCH_ID]), lambda w: {}, 404, NOT_FOUND
    ),
    # Customers.
    "customer-empty-name": Post(
        "staff",
        lambda w: reverse("customers:add"),
        lambda w: customer_form(name="   "),
        422,
        "Enter the customer's name.",
    ),
    "customer-bad-email": Post(
        "staff",
        lambda w: reverse("customers:add"),
        lambda w: customer_form(email="amy@"),
        422,
        "Enter an email address like amy@example.com.",
    ),
    "customer-bad-phone": Post(
        "staff",
        lambda w: reverse("customers:add"),
        lambda w: customer_form(phone="call me"),
        422,
        "Enter a phone number using digits",
    ),
    "customer-tag-too-long": Post(
        "staff",
        lambda w: reverse("customers:add"),
        lambda w: customer_form(tags="t" * 101),
        422,
        "Keep each tag under 100 characters.",
    ),
    "customer-edit-empty-name": Post(
        "manager",
        lambda w: reverse("customers:edit", args=[w.amy.pk]),
        lambda w: customer_form(name=""),
        422,
        "Enter the customer's name.",
    ),
    # Refund (managers): the credit has £40.00 left.
    **{
        f"refund-amount-{name}": Post("manager", refund_url, lambda w, v=value: refund_form(amount=v), 422, message)
        for name, value, message in BAD_AMOUNTS
    },
    "refund-above-remaining": Post(
        "manager", refund_url, lambda w: refund_form(amount="40.01"), 422, "This credit has only £40.00 left to refund."
    ),
    "refund-stale-after-a-colleagues-refund": Post(
        "manager",
        refund_url,
        lambda w: refund_form(amount="40.00"),
        422,
        "Nothing is left on this credit to refund",
        first=colleague_refunds_the_rest,
    ),
    "refund-bad-method": Post(
        "manager", refund_url, lambda w: refund_form(method="bitcoin"), 422, "Choose a method from the list."
    ),
    "refund-date-far-ahead": Post("manager", refund_url, lambda w: refund_form(date=FAR_AHEAD), 422, AHEAD),
    "refund-deleted-credit": Post(
        "manager", lambda w: reverse("credits:refund", args=[w.gone.pk]), lambda w: refund_form(), 404, NOT_FOUND
    ),
    "refund-by-staff": Post("staff", refund_url, lambda w: refund_form(), 403, "You can’t do that"),
    "reverse-without-reason": Post(
        "manager", reverse_url, lambda w: {"reason": "  "}, 422, "Say why this refund is being reversed."
    ),
    "reverse-twice": Post(
        "manager",
        lambda w: reverse("credits:refund_reverse", args=[w.refunded_credit.pk, w.reversed_refund.pk]),
        lambda w: {"reason": "Again"},
        422,
        "This refund was already reversed",
    ),
    "reverse-another-customers-refund": Post(
        "manager",
        lambda w: reverse("credits:refund_reverse", args=[w.credit.pk, w.refund.pk]),
        lambda w: {"reason": "Through another credit's page"},
        404,
        NOT_FOUND,
    ),
    "customer-edit-missing": Post(
        "manager", lambda w: reverse("customers:edit", args=[NO_SUCH_ID]), lambda w: customer_form(), 404, NOT_FOUND
    ),
}


@pytest.mark.parametrize("case", HTTP_CASES.values(), ids=HTTP_CASES.keys())
def test_a_form_refuses_bad_input_with_a_message_and_writes_nothing(world, case: Post):
    if case.first:
        case.first(world)
    client = logged_in(getattr(world, case.who))
    url, data = case.url(world), case.data(world)
    before = db_snapshot()
    response = client.post(url, data)
    assert response.status_code == case.status, page_text(response)[:2000]
    assert case.message in page_text(response)
    assert_unchanged(before)


def test_applying_credit_to_a_void_invoice_says_why_and_writes_nothing(world):
    client = logged_in(world.staff)
    before = db_snapshot()
    response = client.post(reverse("billing:invoice_apply_credit", args=[world.void.pk]), follow=True)
    assert f"{world.void} is void." in page_text(response)
    assert_unchanged(before)


# Service functions, as a developer calls them from the shell ---------------------------------------------------------------


class Call(NamedTuple):
    call: Callable[[Any], Any]
    message: str
    first: Callable[[Any], None] | None = None


def gone_customer(w) -> Customer:
    return Customer(pk=NO_SUCH_ID, name="Nobody")


SERVICE_CASES: dict[str, Call] = {
    **{
        f"add_credit-amount-{name}": Call(lambda w, v=value: credits.add_credit(w.amy, v), message)
        for name, value, message in BAD_AMOUNTS
    },
    "add_credit-float": Call(lambda w: credits.add_credit(w.amy, 10.5), money.NO_FLOATS),
    "add_credit-decimal-nan": Call(lambda w: credits.add_credit(w.amy, Decimal("NaN")), money.NOT_A_NUMBER),
    "add_credit-decimal-infinity": Call(lambda w: credits.add_credit(w.amy, Decimal("-Infinity")), money.NOT_A_NUMBER),
    "add_credit-decimal-huge": Call(lambda w: credits.add_credit(w.amy, Decimal("1E+309")), money.TOO_LARGE),
    "add_credit-decimal-tiny": Call(lambda w: credits.add_credit(w.amy, Decimal("0.001")), money.TOO_MANY_PLACES),
    "add_credit-bool": Call(lambda w: credits.add_credit(w.amy, True), money.ENTER_AN_AMOUNT),
    "add_credit-none": Call(lambda w: credits.add_credit(w.amy, None), money.ENTER_AN_AMOUNT),
    "add_credit-negative-int": Call(lambda w: credits.add_credit(w.amy, -1), money.NOT_POSITIVE),
    "add_credit-date-long-ago": Call(lambda w: credits.add_credit(w.amy, "5.00", date=datetime.date(1970, 1, 1)), OLD),
    "add_credit-date-far-ahead": Call(lambda w: credits.add_credit(w.amy, "5.00", date=FAR_AHEAD), AHEAD),
    "add_credit-date-nonsense": Call(
        lambda w: credits.add_credit(w.amy, "5.00", date="yesterday"), "Enter a date like 2026-01-31."
    ),
    "add_credit-bad-reason": Call(lambda w: credits.add_credit(w.amy, "5.00", reason="bribe"), "Choose one of: refund"),
    "add_credit-note-too-long": Call(
        lambda w: credits.add_credit(w.amy, "5.00", note="n" * 2001), credits.NOTE_TOO_LONG
    ),
    "add_credit-missing-customer": Call(
        lambda w: credits.add_credit(gone_customer(w), "5.00"), "That customer does not exist."
    ),
    "add_credit-key-too-long": Call(
        lambda w: credits.add_credit(w.amy, "5.00", idempotency_key="k" * 65), credits.KEY_TOO_LONG
    ),
    "add_bulk_credits-nobody": Call(lambda w: credits.add_bulk_credits([], "5.00"), "Choose at least one customer."),
    "add_bulk_credits-empty-queryset": Call(
        lambda w: credits.add_bulk_credits(Customer.objects.none(), "5.00"), "Choose at least one customer."
    ),
    "add_bulk_credits-missing-customer": Call(
        lambda w: credits.add_bulk_credits([w.amy.pk, NO_SUCH_ID], "5.00"), "1 of the chosen customers do not exist."
    ),
    "add_bulk_credits-nan": Call(lambda w: credits.add_bulk_credits([w.amy], "NaN"), money.NOT_A_NUMBER),
    "add_bulk_credits-above-maximum": Call(lambda w: credits.add_bulk_credits([w.amy], "1000000.01"), money.TOO_LARGE),
    "update_credit-deleted": Call(lambda w: credits.update_credit(w.gone, note="x"), credits.CREDIT_GONE),
    "update_credit-stale": Call(
        lambda w: credits.update_credit(w.credit, note="x", version=1), credits.STALE_CREDIT, someone_else_modifies
    ),
    "update_credit-below-assigned": Call(lambda w: credits.update_credit(w.credit, amount="1.00"), "already assigned"),
    "update_credit-float": Call(lambda w: credits.update_credit(w.credit, amount=300.0), money.NO_FLOATS),
    "assign_credit-nothing": Call(lambda w: credits.assign_credit(w.credit, {}), credits.NO_ALLOCATIONS),
    "assign_credit-another-customers-invoice": Call(
        lambda w: credits.assign_credit(w.credit, {w.ben_open: "5.00"}), "belongs to another customer."
    ),
    "assign_credit-batch-credit-to-wrong-customer": Call(
        lambda w: credits.assign_credit(w.batch_ben, {w.open: "5.00"}), "belongs to another customer."
    ),
    "assign_credit-void-invoice": Call(lambda w: credits.assign_credit(w.credit, {w.void: "5.00"}), "is void."),
    "assign_credit-paid-invoice": Call(lambda w: credits.assign_credit(w.credit, {w.paid: "5.00"}), "is already paid."),
    "assign_credit-missing-invoice": Call(
        lambda w: credits.assign_credit(w.credit, {NO_SUCH_ID: "5.00"}), "That invoice does not exist."
    ),
    "assign_credit-deleted-credit": Call(
        lambda w: credits.assign_credit(w.gone, {w.open: "5.00"}), credits.CREDIT_GONE
    ),
    "assign_credit-over-remaining": Call(
        lambda w: credits.assign_credit(w.batch_amy, {w.open: "6.00", w.open2: "6.00"}),
        "but the credit has only £10.00 left to assign.",
    ),
    "assign_credit-negative-part": Call(
        lambda w: credits.assign_credit(w.credit, {w.open: "10.00", w.open2: "-5.00"}), money.NOT_POSITIVE
    ),
    "unassign_credit-twice": Call(
        lambda w: credits.unassign_credit(w.assignment),
        credits.ASSIGNMENT_GONE,
        lambda w: credits.unassign_credit(CreditAssignment.objects.get(pk=w.assignment.pk)),
    ),
    "delete_credit-twice": Call(lambda w: credits.delete_credit(w.gone), credits.CREDIT_GONE),
    "apply_available_credit-void": Call(lambda w: credits.apply_available_credit(w.void), "is void."),
    "apply_available_credit-missing": Call(
        lambda w: credits.apply_available_credit(Invoice(pk=NO_SUCH_ID)), "That invoice does not exist."
    ),
    "undo_batch-twice": Call(
        lambda w: credits.undo_batch(w.batch), credits.BATCH_UNDONE, lambda w: credits.undo_batch(w.batch)
    ),
    "undo_batch-assigned": Call(
        lambda w: credits.undo_batch(w.batch),
        "already assigned to invoices",
        lambda w: credits.assign_credit(w.batch_ben, {w.ben_open: "1.00"}),
    ),
    "create_invoice-no-lines": Call(lambda w: billing.create_invoice(w.amy, []), billing.NO_LINES),
    "create_invoice-quantity-zero": Call(
        lambda w: billing.create_invoice(w.amy, [("Ballet", 0, "5.00")]), "the quantity is a whole number"
    ),
    "create_invoice-quantity-non-ascii": Call(
        lambda w: billing.create_invoice(w.amy, [("Ballet", "٣", "5.00")]), "the quantity is a whole number"
    ),
    "create_invoice-price-float": Call(lambda w: billing.create_invoice(w.amy, [("Ballet", 1, 5.0)]), money.NO_FLOATS),
    "create_invoice-price-infinity": Call(
        lambda w: billing.create_invoice(w.amy, [("Ballet", 1, "Infinity")]), money.NOT_A_NUMBER
    ),
    "create_invoice-blank-description": Call(
        lambda w: billing.create_invoice(w.amy, [("  ", 1, "5.00")]), "enter a description"
    ),
    "create_invoice-due-before-issue": Call(
        lambda w: billing.create_invoice(
            w.amy, [("Ballet", 1, "5.00")], issue_date=TODAY, due_date=TODAY - datetime.timedelta(days=1)
        ),
        "The due date cannot be before the issue date.",
    ),
    "create_invoice-missing-customer": Call(
        lambda w: billing.create_invoice(gone_customer(w), [("Ballet", 1, "5.00")]), "That customer does not exist."
    ),
    "record_payment-void": Call(lambda w: billing.record_payment(w.void, "5.00"), billing.INVOICE_VOID),
    "record_payment-paid": Call(lambda w: billing.record_payment(w.paid, "5.00"), billing.INVOICE_PAID),
    "record_payment-over": Call(
        lambda w: billing.record_payment(w.open, "80.01"), "That is more than the £80.00 outstanding"
    ),
    "record_payment-missing": Call(
        lambda w: billing.record_payment(Invoice(pk=NO_SUCH_ID), "5.00"), billing.INVOICE_GONE
    ),
    "record_payment-bad-method": Call(
        lambda w: billing.record_payment(w.open, "5.00", method="bitcoin"), "Choose one of: card"
    ),
    "record_payment-non-ascii": Call(lambda w: billing.record_payment(w.open, "٥"), money.NOT_A_NUMBER),
    "refund_credit-float": Call(lambda w: credits.refund_credit(w.refunded_credit, 10.5), money.NO_FLOATS),
    "refund_credit-zero": Call(lambda w: credits.refund_credit(w.refunded_credit, "0.00"), money.NOT_POSITIVE),
    "refund_credit-three-places": Call(
        lambda w: credits.refund_credit(w.refunded_credit, "1.001"), money.TOO_MANY_PLACES
    ),
    "refund_credit-above-remaining": Call(
        lambda w: credits.refund_credit(w.refunded_credit, "40.01"), "This credit has only £40.00 left to refund."
    ),
    "refund_credit-deleted": Call(lambda w: credits.refund_credit(w.gone, "1.00"), credits.CREDIT_GONE),
    "refund_credit-bad-method": Call(
        lambda w: credits.refund_credit(w.refunded_credit, "1.00", method="bitcoin"), "Choose one of: card"
    ),
    "reverse_refund-twice": Call(
        lambda w: credits.reverse_refund(w.reversed_refund, reason="Again"), "This refund was already reversed"
    ),
    "reverse_refund-no-reason": Call(lambda w: credits.reverse_refund(w.refund, reason=""), credits.NO_REVERSAL_REASON),
    "delete_credit-with-a-refund": Call(lambda w: credits.delete_credit(w.refunded_credit), credits.HAS_REFUNDS),
    "record_payment-over-with-the-offer-on-a-paid-invoice": Call(
        lambda w: billing.record_payment(w.paid, "5.00", overpayment_to_credit=True), billing.INVOICE_PAID
    ),
    "void_invoice-paid": Call(lambda w: billing.void_invoice(w.paid), "cannot be voided"),
    "void_invoice-twice": Call(lambda w: billing.void_invoice(w.void), "This invoice is already void."),
    "void_invoice-missing": Call(lambda w: billing.void_invoice(Invoice(pk=NO_SUCH_ID)), billing.INVOICE_GONE),
    "create_customer-blank-name": Call(lambda w: customers.create_customer(name="   "), "This field cannot be blank."),
    "create_customer-bad-email": Call(
        lambda w: customers.create_customer(name="Cara", email="not-an-email"), "Enter a valid email"
    ),
    "update_customer-missing": Call(
        lambda w: customers.update_customer(gone_customer(w), name="X"), customers.CUSTOMER_GONE
    ),
}


@pytest.mark.parametrize("case", SERVICE_CASES.values(), ids=SERVICE_CASES.keys())
def test_a_service_refuses_bad_input_with_a_message_and_writes_nothing(world, case: Call):
    if case.first:
        case.first(world)
    before = db_snapshot()
    with pytest.raises(ValidationError) as refusal:
        case.call(world)
    assert any(case.message in message for message in refusal.value.messages), refusal.value.messages
    assert_unchanged(before)


def test_there_are_at_least_fifty_cases():
    assert len(HTTP_CASES) >= 50 and len(SERVICE_CASES) >= 50


def test_the_snapshot_sees_a_single_changed_penny(world):
    """The helper the cases rely on must notice the smallest write (else every case above proves nothing)."""
    before = db_snapshot()
    credits.update_credit(world.credit, amount="250.01")
    with pytest.raises(AssertionError, match="credit amount"):
        assert_unchanged(before)
    before = db_snapshot()
    CreditBatch.objects.filter(pk=world.batch.pk).update(note="changed")
    with pytest.raises(AssertionError, match="credits_creditbatch"):
        assert_unchanged(before)
