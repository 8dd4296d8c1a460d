"""credits.services: every function's happy path and every rule it enforces (a refusal writes nothing)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from billing import services as billing
from credits import services as credits
from credits.models import Credit, CreditAssignment, CreditBatch
from customers.models import Customer
from idempotency.models import IdempotencyKey
from tests.factories import CustomerFactory, credit_for, invoice_for
from tests.ledger import keep_staff_groups, ledger_fingerprint, refused, run_together  # noqa: F401 - fixture

# No module-wide django_db mark: it would flush the racing tests below before keep_staff_groups could tidy up.

D = Decimal

# Inputs parse_amount must refuse, with the message a person sees.
BAD_AMOUNTS = [
    pytest.param(25.0, "not float", id="float"),
    pytest.param("10.001", "at most 2 decimal places", id="three-places"),
    pytest.param(D("10.005"), "at most 2 decimal places", id="three-places-decimal"),
    pytest.param("0", "more than zero", id="zero"),
    pytest.param(D("0.00"), "more than zero", id="zero-decimal"),
    pytest.param("-5.00", "more than zero", id="negative"),
    pytest.param(-5, "more than zero", id="negative-int"),
    pytest.param("1000000.01", "at most £1,000,000.00", id="too-large"),
    pytest.param(10**30, "at most £1,000,000.00", id="huge-int"),
    pytest.param(D("1e309"), "at most £1,000,000.00", id="1e309-decimal"),
    pytest.param("1e309", "as a number", id="1e309-text"),
    pytest.param("NaN", "as a number", id="nan-text"),
    pytest.param(D("NaN"), "as a number", id="nan-decimal"),
    pytest.param("Infinity", "as a number", id="infinity-text"),
    pytest.param(D("Infinity"), "as a number", id="infinity-decimal"),
    pytest.param("١٠٠", "as a number", id="arabic-indic-digits"),
    pytest.param("１００", "as a number", id="full-width-digits"),
    pytest.param("12,50", "as a number", id="decimal-comma"),
    pytest.param("", "Enter an amount", id="empty"),
    pytest.param(None, "Enter an amount", id="none"),
    pytest.param(True, "Enter an amount", id="bool"),
]

BAD_DATES = [
    pytest.param("2026-02-30", "Enter a date", id="no-such-day"),
    pytest.param("yesterday", "Enter a date", id="words"),
    pytest.param(20260101, "Enter a date", id="int"),
    pytest.param(datetime.date(2000, 1, 1), "more than ten years ago", id="long-ago"),
    pytest.param("far-future", "more than a year ahead", id="far-future"),
]


def bad_date(value):
    return timezone.localdate() + datetime.timedelta(days=400) if value == "far-future" else value


# add_credit


def test_it_adds_a_credit(customer, staff):
    credit = credits.add_credit(customer, "250.00", date="2026-01-15", reason="cancelled_class", note="Storm", by=staff)
    credit.refresh_from_db()
    assert (credit.customer, credit.amount, credit.date) == (customer, D("250.00"), datetime.date(2026, 1, 15))
    assert (credit.reason, credit.note, credit.auto_apply, credit.created_by) == (
        "cancelled_class",
        "Storm",
        True,
        staff,
    )
    assert (credit.assigned, credit.remaining, credit.status) == (D("0.00"), D("250.00"), "unassigned")


def test_it_records_who_added_a_credit_in_history(customer, staff):
    credit = credits.add_credit(customer, "10.00", by=staff)
    event = credit.events.get(pgh_label="insert")
    assert event.pgh_context.metadata == {"action": "add_credit", "user": staff.pk, "username": "sam.staff"}


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (D("12.50"), "12.50"),
        (12, "12.00"),
        ("12.50", "12.50"),
        ("£12.50", "12.50"),
        (" 12.5 ", "12.50"),
        ("£1,234.50", "1234.50"),
    ],
)
def test_it_accepts_an_amount_as_decimal_int_or_text(customer, amount, expected):
    assert credits.add_credit(customer, amount).amount == D(expected)


def test_it_accepts_the_largest_amount(customer):
    assert credits.add_credit(customer, "1000000.00").amount == D("1000000.00")


def test_it_dates_a_credit_today_by_default(customer):
    assert credits.add_credit(customer, "5.00").date == timezone.localdate()


@pytest.mark.parametrize(("amount", "message"), BAD_AMOUNTS)
def test_it_refuses_a_bad_credit_amount(customer, amount, message):
    with refused(message):
        credits.add_credit(customer, amount)


@pytest.mark.parametrize(("date", "message"), BAD_DATES)
def test_it_refuses_a_bad_credit_date(customer, date, message):
    with refused(message):
        credits.add_credit(customer, "10.00", date=bad_date(date))


@pytest.mark.parametrize("reason", ["bribe", "", None, "Refund"])
def test_it_refuses_a_reason_that_is_not_a_code(customer, reason):
    with refused("Choose one of: refund, write_off"):
        credits.add_credit(customer, "10.00", reason=reason)


def test_it_refuses_a_note_that_is_too_long(customer):
    with refused("under 2,000 characters"):
        credits.add_credit(customer, "10.00", note="x" * 2001)


def test_it_refuses_a_credit_for_a_customer_that_does_not_exist(db):
    with refused("customer does not exist"):
        credits.add_credit(Customer(pk=987654), "10.00")


def test_it_refuses_an_idempotency_key_that_is_too_long(customer):
    with refused("at most 64 characters"):
        credits.add_credit(customer, "10.00", idempotency_key="k" * 65)


def test_it_returns_the_first_credit_when_the_same_key_comes_again(customer):
    first = credits.add_credit(customer, "10.00", note="Snow", idempotency_key="form-1")
    before, keys = ledger_fingerprint(), IdempotencyKey.objects.count()
    again = credits.add_credit(customer, D("10"), note="Snow", idempotency_key="form-1")
    assert ledger_fingerprint() == before and IdempotencyKey.objects.count() == keys
    assert again.pk == first.pk
    assert again.amount == D("10.00")
    assert Credit.objects.count() == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"amount": "99.00"},
        {"date": "2026-01-10"},
        {"reason": "refund"},
        {"note": "Another note"},
        {"auto_apply": False},
    ],
    ids=["amount", "date", "reason", "note", "auto-apply"],
)
def test_it_refuses_the_same_key_for_a_different_credit(customer, changes):
    asked = {"amount": "10.00", "date": None, "reason": "other", "note": "", "auto_apply": True}
    credits.add_credit(customer, **asked, idempotency_key="form-1")
    with refused("This form was already used for a different credit."):
        credits.add_credit(customer, **{**asked, **changes}, idempotency_key="form-1")
    assert Credit.objects.count() == 1


def test_a_key_remembers_which_customer_it_was_for(customer):
    """The hole: the same key for another customer used to return the first customer's credit."""
    ben = CustomerFactory(name="Ben Parent")
    credits.add_credit(customer, "10.00", idempotency_key="form-1")
    with refused("This form was already used for a different credit."):
        credits.add_credit(ben, "10.00", idempotency_key="form-1")
    assert not ben.credits.exists()


def test_a_deleted_credit_does_not_free_its_key(customer):
    """The hole: deleting the credit used to free its key, so the same form again added it again."""
    first = credits.add_credit(customer, "10.00", idempotency_key="form-1")
    credits.delete_credit(first)
    with refused("This form already made a credit, which has since been deleted. Reload the page"):
        credits.add_credit(customer, "10.00", idempotency_key="form-1")
    assert not Credit.objects.exists()
    assert IdempotencyKey.objects.get(scope="credits.add_credit", key="form-1").object_id == first.pk


def test_a_key_of_one_service_is_not_a_key_of_another(customer):
    credit = credits.add_credit(customer, "10.00", idempotency_key="form-1")
    batch = credits.add_bulk_credits([customer], "10.00", idempotency_key="form-1")
    invoice = billing.create_invoice(customer, [("Ballet", 1, "10.00")], idempotency_key="form-1")
    assert batch.credits.get().pk != credit.pk and invoice.customer == customer
    assert set(IdempotencyKey.objects.filter(key="form-1").values_list("scope", "object_id")) == {
        ("credits.add_credit", credit.pk),
        ("credits.add_bulk_credits", batch.pk),
        ("billing.create_invoice", invoice.pk),
    }


def test_it_records_who_used_the_key_and_what_it_made(customer, staff):
    credit = credits.add_credit(customer, "10.00", idempotency_key="form-1", by=staff)
    key = IdempotencyKey.objects.get()
    assert (key.scope, key.key, key.created, key.created_by) == ("credits.add_credit", "form-1", credit, staff)
    assert len(key.fingerprint) == 64 and key.created_at is not None


def test_a_refused_credit_leaves_its_key_free(customer):
    with refused("more than zero"):
        credits.add_credit(customer, "0.00", idempotency_key="form-1")
    with refused("customer does not exist"):
        credits.add_credit(Customer(pk=987654), "10.00", idempotency_key="form-1")
    assert not IdempotencyKey.objects.exists()
    assert credits.add_credit(customer, "10.00", idempotency_key="form-1").amount == D("10.00")


def test_it_creates_a_second_credit_for_a_different_key(customer):
    credits.add_credit(customer, "10.00", idempotency_key="form-1")
    credits.add_credit(customer, "10.00", idempotency_key="form-2")
    credits.add_credit(customer, "10.00")
    assert Credit.objects.count() == 3


@pytest.mark.usefixtures("keep_staff_groups")  # before transactional_db, so it tidies up after the flush
def test_it_creates_one_credit_when_two_submits_with_one_key_race(transactional_db):
    customer = CustomerFactory()
    results = run_together([lambda: credits.add_credit(customer, "10.00", idempotency_key="double-click")] * 8)
    assert all(isinstance(r, Credit) for r in results), results
    assert {r.pk for r in results} == {Credit.objects.get().pk}


@pytest.mark.usefixtures("keep_staff_groups")  # before transactional_db, so it tidies up after the flush
def test_one_key_for_two_different_credits_at_once_makes_one_and_refuses_the_other(transactional_db):
    amy, ben = CustomerFactory(), CustomerFactory()
    results = run_together(
        [
            lambda: credits.add_credit(amy, "10.00", idempotency_key="shared"),
            lambda: credits.add_credit(ben, "10.00", idempotency_key="shared"),
        ]
    )
    made = Credit.objects.get()
    assert [r for r in results if isinstance(r, Credit)] == [made]
    refusals = [r for r in results if not isinstance(r, Credit)]
    assert [r.messages for r in refusals] == [
        ["This form was already used for a different credit. Reload the page to start a new one."]
    ]


def test_it_does_not_assign_a_new_credit_to_invoices_that_already_exist(customer):
    """Auto-apply is for the *next* invoice generated; existing ones are assigned by hand."""
    invoice = invoice_for(customer, "40.00")
    credit = credits.add_credit(customer, "25.00", auto_apply=True)
    invoice.refresh_from_db()
    assert (invoice.credited, credit.assigned) == (D("0.00"), D("0.00"))


# add_bulk_credits


def test_it_adds_the_same_credit_to_every_customer_of_a_queryset(manager):
    ballet = CustomerFactory.create_batch(3, tags=["Ballet Tue 4pm"])
    CustomerFactory(tags=["Swim Sat 9am"])
    batch = credits.add_bulk_credits(
        Customer.objects.tagged("Ballet Tue 4pm"),
        "20.00",
        date="2026-01-10",
        reason="cancelled_class",
        note="Snow",
        auto_apply=False,
        by=manager,
    )
    assert (batch.count, batch.total, batch.amount, batch.created_by) == (3, D("60.00"), D("20.00"), manager)
    made = Credit.objects.filter(batch=batch)
    assert sorted(made.values_list("customer_id", flat=True)) == sorted(c.pk for c in ballet)
    assert set(made.values_list("amount", "date", "reason", "note", "auto_apply", "created_by")) == {
        (D("20.00"), datetime.date(2026, 1, 10), "cancelled_class", "Snow", False, manager.pk)
    }
    assert Credit.objects.count() == 3


def test_it_adds_bulk_credits_to_an_iterable_of_customers_and_ids_counting_each_once(db):
    a, b, c = CustomerFactory.create_batch(3)
    batch = credits.add_bulk_credits([a, b.pk, a, str(c.pk)], "5.00")
    assert batch.count == 3
    assert Credit.objects.filter(batch=batch).count() == 3


def test_it_inserts_bulk_credits_in_a_few_statements_not_one_per_customer(db, django_assert_max_num_queries):
    CustomerFactory.create_batch(40)
    with django_assert_max_num_queries(10):
        batch = credits.add_bulk_credits(Customer.objects.all(), "5.00")
    assert batch.count == 40


def test_it_records_each_bulk_credit_in_history(manager):
    CustomerFactory.create_batch(2)
    batch = credits.add_bulk_credits(Customer.objects.all(), "5.00", by=manager)
    events = Credit.pgh_event_model.objects.filter(batch=batch, pgh_label="insert")
    assert [e.pgh_context.metadata["action"] for e in events] == ["add_bulk_credits"] * 2


def test_it_refuses_a_bulk_credit_for_an_empty_queryset(db):
    CustomerFactory()
    with refused("Choose at least one customer"):
        credits.add_bulk_credits(Customer.objects.none(), "5.00")
    with refused("Choose at least one customer"):
        credits.add_bulk_credits(Customer.objects.filter(name="Nobody"), "5.00")


def test_it_refuses_a_bulk_credit_for_an_empty_list(db):
    CustomerFactory()
    with refused("Choose at least one customer"):
        credits.add_bulk_credits([], "5.00")


def test_it_refuses_a_bulk_credit_naming_customers_that_do_not_exist(db):
    a = CustomerFactory()
    with refused("2 of the chosen customers do not exist"):
        credits.add_bulk_credits([a, 987654, 987655], "5.00")


@pytest.mark.parametrize(("amount", "message"), BAD_AMOUNTS[:12])
def test_it_refuses_a_bad_bulk_amount(db, amount, message):
    CustomerFactory.create_batch(2)
    with refused(message):
        credits.add_bulk_credits(Customer.objects.all(), amount)


def test_it_refuses_a_bad_bulk_date_and_reason(db):
    CustomerFactory()
    with refused("Enter a date"):
        credits.add_bulk_credits(Customer.objects.all(), "5.00", date="31/01/2026")
    with refused("Choose one of"):
        credits.add_bulk_credits(Customer.objects.all(), "5.00", reason="bribe")


def test_it_returns_the_first_batch_when_the_same_key_comes_again(db):
    a, b = CustomerFactory.create_batch(2)
    first = credits.add_bulk_credits(Customer.objects.all(), "5.00", idempotency_key="bulk-1")
    before = ledger_fingerprint()
    again = credits.add_bulk_credits([b.pk, a], "5.00", idempotency_key="bulk-1")  # the same customers, told apart
    assert ledger_fingerprint() == before
    assert (again.pk, again.count, again.total) == (first.pk, 2, D("10.00"))
    assert (CreditBatch.objects.count(), Credit.objects.count()) == (1, 2)


def test_it_refuses_the_same_bulk_key_for_other_customers_or_another_credit(db):
    ballet = CustomerFactory.create_batch(2, tags=["Ballet Tue 4pm"])
    swim = CustomerFactory.create_batch(2, tags=["Swim Sat 10am"])
    credits.add_bulk_credits(Customer.objects.tagged("Ballet Tue 4pm"), "5.00", idempotency_key="bulk-1")
    for customers, amount in [
        (Customer.objects.tagged("Swim Sat 10am"), "5.00"),  # as many customers, other ones
        (ballet[:1], "5.00"),
        (ballet + swim[:1], "5.00"),
        (Customer.objects.tagged("Ballet Tue 4pm"), "7.00"),
    ]:
        with refused("This form was already used for a different bulk credit."):
            credits.add_bulk_credits(customers, amount, idempotency_key="bulk-1")
    # A customer who joins the class since is not in the first batch: the same key for the class now is refused.
    CustomerFactory(tags=["Ballet Tue 4pm"])
    with refused("This form was already used for a different bulk credit."):
        credits.add_bulk_credits(Customer.objects.tagged("Ballet Tue 4pm"), "5.00", idempotency_key="bulk-1")
    assert (CreditBatch.objects.count(), Credit.objects.count()) == (1, 2)


def test_an_undone_batch_does_not_free_its_key(db):
    CustomerFactory.create_batch(2)
    batch = credits.add_bulk_credits(Customer.objects.all(), "5.00", idempotency_key="bulk-1")
    credits.undo_batch(batch)
    with refused(f"This form already made bulk batch #{batch.pk}, which has since been undone."):
        credits.add_bulk_credits(Customer.objects.all(), "5.00", idempotency_key="bulk-1")
    assert (CreditBatch.objects.count(), Credit.objects.count()) == (1, 0)


def test_a_bulk_key_records_exactly_whom_the_batch_credited(db):
    """The fingerprint comes from the INSERT's own rows; a replay computes it from the choice: they must agree."""
    a, b, c = CustomerFactory.create_batch(3)
    first = credits.add_bulk_credits(Customer.objects.filter(pk__in=[a.pk, c.pk]), "5.00", idempotency_key="k")
    assert credits.add_bulk_credits([c, a, c], "5.00", idempotency_key="k").pk == first.pk
    assert credits.add_bulk_credits(Customer.objects.exclude(pk=b.pk), "5.00", idempotency_key="k").pk == first.pk


@pytest.mark.usefixtures("keep_staff_groups")  # before transactional_db, so it tidies up after the flush
def test_it_creates_one_batch_when_two_bulk_submits_with_one_key_race(transactional_db):
    CustomerFactory.create_batch(5)
    results = run_together(
        [lambda: credits.add_bulk_credits(Customer.objects.all(), "5.00", idempotency_key="bulk-race")] * 8
    )
    assert all(isinstance(r, CreditBatch) for r in results), results
    assert {r.pk for r in results} == {CreditBatch.objects.get().pk}
    assert Credit.objects.count() == 5


# "The same again?": find_twin_credit, find_twin_batch


def twin_of_credit(customer, amount="8.31", by=None, key="fresh-form", **changes):
    asked = {"date": timezone.localdate(), "reason": "cancelled_class", "note": "Snow", **changes}
    return credits.find_twin_credit(customer, D(amount), by=by, idempotency_key=key, **asked)


def twin_of_batch(customers, amount="8.31", by=None, key="fresh-form", **changes):
    asked = {"date": timezone.localdate(), "reason": "cancelled_class", "note": "Snow", **changes}
    return credits.find_twin_batch(customers, D(amount), by=by, idempotency_key=key, **asked)


def test_it_points_out_the_same_credit_made_moments_ago_by_the_same_person(customer, staff):
    first = credits.add_credit(customer, "8.31", reason="cancelled_class", note="Snow", by=staff, idempotency_key="k1")
    assert twin_of_credit(customer, by=staff) == first
    # What this very form made is not a twin: it is the form sent again, and the key returns it.
    assert twin_of_credit(customer, by=staff, key="k1") is None


@pytest.mark.parametrize(
    "changes",
    [{"amount": "8.32"}, {"reason": "refund"}, {"note": "Rain"}, {"date": "yesterday"}, {"who": "another"}],
    ids=["amount", "reason", "note", "date", "person"],
)
def test_a_different_credit_is_not_a_twin(customer, staff, manager, changes):
    credits.add_credit(customer, "8.31", reason="cancelled_class", note="Snow", by=staff)
    amount = changes.pop("amount", "8.31")
    if changes.pop("date", None):
        changes["date"] = timezone.localdate() - datetime.timedelta(days=1)
    by = manager if changes.pop("who", None) else staff
    assert twin_of_credit(customer, amount, by=by, **changes) is None
    assert twin_of_credit(CustomerFactory(), by=staff) is None  # another customer


def test_a_credit_older_than_the_window_is_not_a_twin(customer, staff):
    first = credits.add_credit(customer, "8.31", reason="cancelled_class", note="Snow", by=staff)
    Credit.objects.filter(pk=first.pk).update(created_at=timezone.now() - credits.TWIN_WINDOW)
    assert twin_of_credit(customer, by=staff) is None


def test_the_snow_day_two_classes_credited_the_same_amount_are_not_twins(manager):
    """Ballet Tue 4pm's two customers get £8.31, then Swim Sat 10am's two, a minute later: two bulk credits."""
    CustomerFactory.create_batch(2, tags=["Ballet Tue 4pm"])
    CustomerFactory.create_batch(2, tags=["Swim Sat 10am"])
    ballet, swim = Customer.objects.tagged("Ballet Tue 4pm"), Customer.objects.tagged("Swim Sat 10am")
    credits.add_bulk_credits(ballet, "8.31", reason="cancelled_class", note="Snow", by=manager)
    assert twin_of_batch(swim, by=manager) is None


def test_it_points_out_the_same_bulk_credit_for_exactly_the_same_customers(manager):
    ballet = CustomerFactory.create_batch(2, tags=["Ballet Tue 4pm"])
    other = CustomerFactory(tags=["Swim Sat 10am"])
    batch = credits.add_bulk_credits(
        Customer.objects.tagged("Ballet Tue 4pm"),
        "8.31",
        reason="cancelled_class",
        note="Snow",
        by=manager,
        idempotency_key="k1",
    )
    assert twin_of_batch(Customer.objects.tagged("Ballet Tue 4pm"), by=manager) == batch
    assert twin_of_batch([c.pk for c in reversed(ballet)], by=manager) == batch  # ticked by hand, the same people
    assert twin_of_batch(Customer.objects.tagged("Ballet Tue 4pm"), by=manager, key="k1") is None  # this very form
    assert twin_of_batch(ballet[:1], by=manager) is None  # fewer
    assert twin_of_batch([*ballet, other], by=manager) is None  # more
    assert twin_of_batch(Customer.objects.tagged("Ballet Tue 4pm"), "8.32", by=manager) is None
    assert twin_of_batch(Customer.objects.tagged("Ballet Tue 4pm"), note="Rain", by=manager) is None
    assert twin_of_batch(Customer.objects.tagged("Ballet Tue 4pm"), reason="goodwill", by=manager) is None
    assert twin_of_batch(Customer.objects.tagged("Ballet Tue 4pm"), by=None) is None  # someone else


def test_an_undone_or_old_batch_is_not_a_twin(manager):
    CustomerFactory.create_batch(2)
    batch = credits.add_bulk_credits(Customer.objects.all(), "8.31", reason="cancelled_class", note="Snow", by=manager)
    CreditBatch.objects.filter(pk=batch.pk).update(created_at=timezone.now() - credits.TWIN_WINDOW)
    assert twin_of_batch(Customer.objects.all(), by=manager) is None
    again = credits.add_bulk_credits(Customer.objects.all(), "8.31", reason="cancelled_class", note="Snow", by=manager)
    assert twin_of_batch(Customer.objects.all(), by=manager) == again
    credits.undo_batch(again, by=manager)
    assert twin_of_batch(Customer.objects.all(), by=manager) is None


def test_a_choice_the_create_would_refuse_has_no_twin(manager):
    a = CustomerFactory()
    credits.add_bulk_credits([a], "8.31", reason="cancelled_class", note="Snow", by=manager)
    assert twin_of_batch([a.pk, 987654], by=manager) is None
    assert twin_of_batch(Customer.objects.none(), by=manager) is None


# update_credit


def test_it_modifies_a_credit_and_bumps_its_version(customer, staff):
    credit = credit_for(customer, "50.00")
    updated = credits.update_credit(
        credit, amount="60.00", date="2026-01-02", reason="goodwill", note="Sorry", auto_apply=True, version=1, by=staff
    )
    assert (updated.amount, updated.remaining, updated.date) == (D("60.00"), D("60.00"), datetime.date(2026, 1, 2))
    assert (updated.reason, updated.note, updated.auto_apply, updated.version) == ("goodwill", "Sorry", True, 2)
    assert Credit.objects.get(pk=credit.pk).amount == D("60.00")


def test_it_leaves_fields_that_are_not_given_alone(customer):
    credit = credit_for(customer, "50.00", reason="refund", note="Keep")
    updated = credits.update_credit(credit, note="Changed")
    assert (updated.amount, updated.reason, updated.note, updated.auto_apply) == (
        D("50.00"),
        "refund",
        "Changed",
        False,
    )


def test_it_lowers_a_credit_to_exactly_what_is_assigned(customer):
    credit = credit_for(customer, "50.00")
    credits.assign_credit(credit, {invoice_for(customer, "100.00"): "30.00"})
    updated = credits.update_credit(credit, amount="30.00")
    assert (updated.amount, updated.remaining, updated.status) == (D("30.00"), D("0.00"), "fully_assigned")


def test_it_refuses_to_take_a_credit_below_what_is_assigned(customer):
    credit = credit_for(customer, "50.00")
    credits.assign_credit(credit, {invoice_for(customer, "100.00"): "30.00"})
    with refused("£30.00 of this credit is already assigned"):
        credits.update_credit(credit, amount="29.99")


def test_it_refuses_a_change_made_on_a_stale_version(customer):
    credit = credit_for(customer, "50.00")
    credits.update_credit(credit, note="First editor", version=1)
    with refused("Someone else changed this credit"):
        credits.update_credit(credit, note="Second editor", version=1)
    assert Credit.objects.get(pk=credit.pk).note == "First editor"


def test_it_refuses_to_modify_a_deleted_credit(customer):
    credit = credit_for(customer, "50.00")
    credits.delete_credit(credit)
    with refused("This credit has been deleted"):
        credits.update_credit(credit, amount="10.00")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"amount": 10.5}, "not float"),
        ({"amount": "10.555"}, "at most 2 decimal places"),
        ({"amount": "0"}, "more than zero"),
        ({"amount": "1000000.01"}, "at most £1,000,000.00"),
        ({"amount": "NaN"}, "as a number"),
        ({"date": "2026-13-01"}, "Enter a date"),
        ({"reason": "bribe"}, "Choose one of"),
        ({"note": "x" * 2001}, "under 2,000 characters"),
    ],
)
def test_it_refuses_a_bad_change_and_keeps_the_version(customer, change, message):
    credit = credit_for(customer, "50.00")
    with refused(message):
        credits.update_credit(credit, **change, version=1)
    assert Credit.objects.get(pk=credit.pk).version == 1


# assign_credit


def test_it_splits_a_credit_across_two_invoices(customer, staff):
    credit = credit_for(customer, "250.00")
    first, second = invoice_for(customer, "100.00"), invoice_for(customer, "200.00")
    made = credits.assign_credit(credit, {first: "100.00", second: "150.00"}, by=staff)
    assert sorted((a.invoice_id, a.amount, a.created_by) for a in made) == [
        (first.pk, D("100.00"), staff),
        (second.pk, D("150.00"), staff),
    ]
    credit.refresh_from_db()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (credit.assigned, credit.remaining, credit.status) == (D("250.00"), D("0.00"), "fully_assigned")
    assert (first.status, first.outstanding) == ("paid", D("0.00"))
    assert (second.status, second.outstanding, second.credited) == ("part_paid", D("50.00"), D("150.00"))


def test_it_assigns_part_of_a_credit_by_invoice_id(customer):
    credit = credit_for(customer, "50.00")
    invoice = invoice_for(customer, "100.00")
    credits.assign_credit(credit, {invoice.pk: "20.00"})
    credit.refresh_from_db()
    assert (credit.remaining, credit.status) == (D("30.00"), "part_assigned")


def test_it_assigns_to_a_part_paid_invoice_up_to_its_outstanding(customer):
    credit = credit_for(customer, "50.00")
    invoice = invoice_for(customer, "100.00")
    billing.record_payment(invoice, "60.00")
    credits.assign_credit(credit, {invoice: "40.00"})
    invoice.refresh_from_db()
    assert (invoice.status, invoice.outstanding) == ("paid", D("0.00"))


def test_it_refuses_to_assign_to_another_customers_invoice(customer):
    credit = credit_for(customer, "50.00")
    other = invoice_for(CustomerFactory(), "100.00")
    with refused("belongs to another customer"):
        credits.assign_credit(credit, {other: "10.00"})


def test_it_refuses_to_assign_to_a_void_invoice(customer):
    credit = credit_for(customer, "50.00")
    invoice = billing.void_invoice(invoice_for(customer, "100.00"))
    with refused("is void"):
        credits.assign_credit(credit, {invoice: "10.00"})


def test_it_refuses_to_assign_to_a_paid_invoice(customer):
    credit = credit_for(customer, "50.00")
    invoice = invoice_for(customer, "100.00")
    billing.record_payment(invoice, "100.00")
    with refused("is already paid"):
        credits.assign_credit(credit, {invoice: "10.00"})


def test_it_refuses_to_assign_more_than_the_invoice_has_outstanding(customer):
    credit = credit_for(customer, "500.00")
    invoice = invoice_for(customer, "100.00")
    with refused("has only £100.00 outstanding"):
        credits.assign_credit(credit, {invoice: "100.01"})


def test_it_refuses_to_assign_more_than_the_credit_has_left(customer):
    credit = credit_for(customer, "250.00")
    first, second = invoice_for(customer, "200.00"), invoice_for(customer, "200.00")
    credits.assign_credit(credit, {first: "100.00"})
    with refused("the credit has only £150.00 left"):
        credits.assign_credit(credit, {first: "50.00", second: "100.01"})


def test_it_refuses_to_assign_nothing(customer):
    credit = credit_for(customer, "50.00")
    with refused("Enter an amount for at least one invoice"):
        credits.assign_credit(credit, {})


def test_it_refuses_to_assign_to_an_invoice_that_does_not_exist(customer):
    credit = credit_for(customer, "50.00")
    with refused("That invoice does not exist"):
        credits.assign_credit(credit, {987654: "10.00"})


def test_it_refuses_to_assign_a_deleted_credit(customer):
    credit = credit_for(customer, "50.00")
    invoice = invoice_for(customer, "100.00")
    credits.delete_credit(credit)
    with refused("This credit has been deleted"):
        credits.assign_credit(credit, {invoice: "10.00"})


@pytest.mark.parametrize(("amount", "message"), BAD_AMOUNTS[:12])
def test_it_refuses_a_bad_assignment_amount(customer, amount, message):
    credit = credit_for(customer, "50.00")
    good, bad = invoice_for(customer, "100.00"), invoice_for(customer, "100.00")
    with refused(message):
        credits.assign_credit(credit, {good: "10.00", bad: amount})


def test_it_refuses_the_whole_split_when_one_part_is_wrong(customer):
    credit = credit_for(customer, "50.00")
    mine, theirs = invoice_for(customer, "100.00"), invoice_for(CustomerFactory(), "100.00")
    with refused("belongs to another customer") as info:
        credits.assign_credit(credit, {mine: "10.00", theirs: "10.00"})
    assert info.value.message_dict == {f"invoice-{theirs.pk}": [f"{theirs} belongs to another customer."]}


# unassign_credit


def test_it_unassigns_a_credit_and_reopens_the_invoice(customer, staff):
    credit = credit_for(customer, "100.00")
    invoice = invoice_for(customer, "100.00")
    [assignment] = credits.assign_credit(credit, {invoice: "100.00"})
    credits.unassign_credit(assignment, by=staff)
    credit.refresh_from_db()
    invoice.refresh_from_db()
    assert (credit.remaining, credit.status) == (D("100.00"), "unassigned")
    assert (invoice.status, invoice.outstanding) == ("unpaid", D("100.00"))
    assert assignment.events.get(pgh_label="delete").pgh_context.metadata["action"] == "unassign_credit"


def test_it_unassigns_back_to_part_paid_when_a_payment_remains(customer):
    credit = credit_for(customer, "100.00")
    invoice = invoice_for(customer, "100.00")
    billing.record_payment(invoice, "30.00")
    [assignment] = credits.assign_credit(credit, {invoice: "70.00"})
    credits.unassign_credit(assignment)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.outstanding) == ("part_paid", D("70.00"))


def test_it_refuses_to_unassign_twice(customer):
    credit = credit_for(customer, "100.00")
    [assignment] = credits.assign_credit(credit, {invoice_for(customer, "100.00"): "40.00"})
    credits.unassign_credit(assignment)
    with refused("already been removed"):
        credits.unassign_credit(assignment)


# delete_credit


def test_it_deletes_a_credit_with_its_assignments_and_reopens_the_invoices(customer, manager):
    credit = credit_for(customer, "250.00")
    first, second = invoice_for(customer, "100.00"), invoice_for(customer, "150.00")
    credits.assign_credit(credit, {first: "100.00", second: "150.00"})
    reopened = credits.delete_credit(credit, by=manager)
    assert [(i.pk, i.status) for i in reopened] == [(first.pk, "unpaid"), (second.pk, "unpaid")]
    assert not Credit.objects.filter(pk=credit.pk).exists()
    assert not CreditAssignment.objects.exists()


def test_it_keeps_a_record_of_a_deleted_credit_and_its_assignments(customer, manager):
    credit = credit_for(customer, "75.00", note="Refund for May")
    invoice = invoice_for(customer, "100.00")
    credits.assign_credit(credit, {invoice: "75.00"})
    credits.delete_credit(credit, by=manager)
    gone = Credit.pgh_event_model.objects.get(pgh_obj_id=credit.pk, pgh_label="delete")
    assert (gone.amount, gone.note, gone.customer_id) == (D("75.00"), "Refund for May", customer.pk)
    assert gone.pgh_context.metadata == {"action": "delete_credit", "user": manager.pk, "username": "maria.manager"}
    removed = CreditAssignment.pgh_event_model.objects.get(credit_id=credit.pk, pgh_label="delete")
    assert (removed.invoice_id, removed.amount) == (invoice.pk, D("75.00"))


def test_it_refuses_to_delete_a_credit_twice(customer):
    credit = credit_for(customer, "10.00")
    credits.delete_credit(credit)
    with refused("This credit has been deleted"):
        credits.delete_credit(credit)


# preview_delete


def test_the_delete_preview_agrees_with_what_deleting_does(customer):
    paid_by_it, paid_with_payment, paid_with_other, part_by_it, part_with_payment, twice, voided, untouched = (
        invoice_for(customer, "100.00") for _ in range(8)
    )
    credit, other = credit_for(customer, "500.00"), credit_for(customer, "20.00")
    billing.record_payment(paid_with_payment, "40.00")
    billing.record_payment(part_with_payment, "10.00")
    credits.assign_credit(other, {paid_with_other: "20.00"})
    credits.assign_credit(
        credit,
        {
            paid_by_it: "100.00",
            paid_with_payment: "60.00",
            paid_with_other: "80.00",
            part_by_it: "30.00",
            part_with_payment: "50.00",
            twice: "70.00",
            voided: "25.00",
        },
    )
    credits.assign_credit(credit, {twice: "30.00"})
    billing.void_invoice(voided)  # releases its part of the credit
    statuses = dict(customer.invoices.values_list("pk", "status"))
    assert [statuses[i.pk] for i in (paid_by_it, paid_with_other, part_by_it, twice, voided, untouched)] == [
        "paid",
        "paid",
        "part_paid",
        "paid",
        "void",
        "unpaid",
    ]

    preview = credits.preview_delete(credit)

    assert [(a.invoice, a.amount) for a in preview.assignments] == [
        (paid_by_it, D("100.00")),
        (paid_with_payment, D("60.00")),
        (paid_with_other, D("80.00")),
        (part_by_it, D("30.00")),
        (part_with_payment, D("50.00")),
        (twice, D("70.00")),
        (twice, D("30.00")),
    ]
    assert [tuple(change) for change in preview.changes] == [
        (paid_by_it, "paid", "unpaid"),
        (paid_with_payment, "paid", "part_paid"),
        (paid_with_other, "paid", "part_paid"),
        (part_by_it, "part_paid", "unpaid"),
        (twice, "paid", "unpaid"),
    ]
    assert all(change.before == statuses[change.invoice.pk] for change in preview.changes)
    foreseen = statuses | {change.invoice.pk: change.after for change in preview.changes}
    credits.delete_credit(credit)
    assert dict(customer.invoices.values_list("pk", "status")) == foreseen


def test_the_delete_preview_of_an_unassigned_credit_changes_nothing(customer):
    invoice_for(customer, "100.00")
    assert credits.preview_delete(credit_for(customer, "10.00")) == ([], [])


# apply_available_credit


def test_it_applies_auto_apply_credits_oldest_first_skipping_manual_ones(customer):
    today = timezone.localdate()
    newer = credit_for(customer, "30.00", auto_apply=True, date=today)
    manual = credit_for(customer, "500.00", auto_apply=False, date=today - datetime.timedelta(days=30))
    older = credit_for(customer, "20.00", auto_apply=True, date=today - datetime.timedelta(days=10))
    credit_for(CustomerFactory(), "500.00", auto_apply=True, date=today - datetime.timedelta(days=60))
    invoice = invoice_for(customer, "40.00")  # a new invoice takes the auto-apply credits
    assert (invoice.credited, invoice.status) == (D("40.00"), "paid")
    assert {c.pk: c.remaining for c in Credit.objects.filter(customer=customer)} == {
        older.pk: D("0.00"),
        newer.pk: D("10.00"),
        manual.pk: D("500.00"),
    }


def test_it_applies_available_credit_on_demand_and_returns_the_amount(customer, staff):
    invoice = invoice_for(customer, "100.00")
    first = credit_for(customer, "60.00", auto_apply=True, date=timezone.localdate() - datetime.timedelta(days=2))
    second = credit_for(customer, "60.00", auto_apply=True)
    applied = credits.apply_available_credit(invoice, by=staff)
    assert applied == D("100.00")
    first.refresh_from_db()
    second.refresh_from_db()
    invoice.refresh_from_db()
    assert (first.remaining, second.remaining) == (D("0.00"), D("20.00"))
    assert (invoice.status, invoice.outstanding) == ("paid", D("0.00"))


def test_it_applies_oldest_credit_first_by_id_when_dates_tie(customer):
    invoice = invoice_for(customer, "50.00")
    first, second = credit_for(customer, "40.00", auto_apply=True), credit_for(customer, "40.00", auto_apply=True)
    assert credits.apply_available_credit(invoice) == D("50.00")
    assert list(
        Credit.objects.filter(pk__in=[first.pk, second.pk]).order_by("id").values_list("remaining", flat=True)
    ) == [
        D("0.00"),
        D("30.00"),
    ]


def test_it_applies_nothing_when_there_is_no_credit_or_nothing_owed(customer):
    invoice = invoice_for(customer, "50.00")
    assert credits.apply_available_credit(invoice) == D("0.00")
    billing.record_payment(invoice, "50.00")
    credit_for(customer, "40.00", auto_apply=True)
    assert credits.apply_available_credit(invoice) == D("0.00")
    assert not CreditAssignment.objects.exists()


def test_it_refuses_to_apply_credit_to_a_void_invoice(customer):
    invoice = billing.void_invoice(invoice_for(customer, "50.00"))
    credit_for(customer, "40.00", auto_apply=True)
    with refused("is void"):
        credits.apply_available_credit(invoice)


# undo_batch


def test_it_undoes_a_batch(manager):
    CustomerFactory.create_batch(3)
    batch = credits.add_bulk_credits(Customer.objects.all(), "5.00")
    undone = credits.undo_batch(batch, by=manager)
    assert (undone.undone_by, undone.is_undone) == (manager, True)
    assert not Credit.objects.exists()
    assert Credit.pgh_event_model.objects.filter(batch=batch, pgh_label="delete").count() == 3


def test_it_refuses_to_undo_a_batch_with_an_assigned_credit(customer):
    CustomerFactory()
    batch = credits.add_bulk_credits(Customer.objects.all(), "5.00", auto_apply=False)
    credits.assign_credit(Credit.objects.get(customer=customer), {invoice_for(customer, "10.00"): "5.00"})
    with refused("1 of this batch's credits is already assigned"):
        credits.undo_batch(batch)


def test_it_undoes_a_batch_once_its_assignments_are_removed(customer):
    batch = credits.add_bulk_credits([customer], "5.00", auto_apply=False)
    credit = Credit.objects.get()
    [assignment] = credits.assign_credit(credit, {invoice_for(customer, "10.00"): "5.00"})
    credits.unassign_credit(assignment)
    credits.undo_batch(batch)
    assert not Credit.objects.exists()


def test_it_undoes_a_batch_after_one_of_its_credits_was_deleted(db):
    CustomerFactory.create_batch(2)
    batch = credits.add_bulk_credits(Customer.objects.all(), "5.00")
    credits.delete_credit(Credit.objects.first())
    credits.undo_batch(batch)
    assert not Credit.objects.exists()


def test_it_refuses_to_undo_a_batch_twice(db):
    CustomerFactory()
    batch = credits.add_bulk_credits(Customer.objects.all(), "5.00")
    credits.undo_batch(batch)
    with refused("already been undone"):
        credits.undo_batch(batch)
