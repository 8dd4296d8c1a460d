"""Pressing Create again (double click, resubmit, back button, an htmx retry) never makes a second credit or batch.

Two tabs sending the same form at the same moment are in test_http_concurrency.py (real threads, gunicorn).
"""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from credits import services as credits
from credits.models import Credit, CreditBatch
from tests.conftest import htmx, logged_in
from tests.security.conftest import assert_unchanged, db_snapshot, page_text
from tests.security.test_bad_input import bulk_form, credit_form


@pytest.mark.parametrize("headers", [{}, htmx()], ids=["plain", "htmx"])
def test_the_same_add_credit_form_posted_five_times_makes_one_credit(world, headers):
    client = logged_in(world.staff)
    form = credit_form(world.amy, amount="31.00")
    before = Credit.objects.count()
    responses = [client.post(reverse("credits:add"), form, headers=headers) for _ in range(5)]
    assert {r.status_code for r in responses} == ({200} if headers else {303})
    targets = {r["HX-Redirect"] if headers else r["Location"] for r in responses}
    assert len(targets) == 1, targets
    assert Credit.objects.count() == before + 1
    assert Credit.objects.filter(amount="31.00").count() == 1


@pytest.mark.parametrize("headers", [{}, htmx()], ids=["plain", "htmx"])
def test_the_same_bulk_form_posted_five_times_makes_one_batch(world, headers):
    client = logged_in(world.manager)
    form = bulk_form(world.amy, world.ben, amount="2.50")
    responses = [client.post(reverse("credits:bulk"), form, headers=headers) for _ in range(5)]
    assert {r.status_code for r in responses} == ({200} if headers else {303})
    batch = CreditBatch.objects.get(amount="2.50")
    assert batch.count == 2 and Credit.objects.filter(batch=batch).count() == 2


def test_the_same_key_from_the_shell_five_times_returns_the_first_credit_and_batch(world):
    key = uuid.uuid4().hex
    made = {credits.add_credit(world.amy, "9.99", idempotency_key=key).pk for _ in range(5)}
    batches = {credits.add_bulk_credits([world.amy, world.ben], "1.11", idempotency_key=key).pk for _ in range(5)}
    assert len(made) == 1 and len(batches) == 1
    assert Credit.objects.filter(amount="9.99").count() == 1 and Credit.objects.filter(amount="1.11").count() == 2


def test_a_resubmit_after_the_credit_was_changed_still_makes_nothing_new(world):
    """The back button after someone modified the credit: the key still names the first credit, whatever it holds now."""
    client = logged_in(world.staff)
    form = credit_form(world.amy, amount="44.00")
    client.post(reverse("credits:add"), form)
    first = Credit.objects.get(amount="44.00")
    credits.update_credit(first, amount="45.00")
    assert client.post(reverse("credits:add"), form).status_code == 303
    assert Credit.objects.filter(customer=world.amy, amount__in=["44.00", "45.00"]).count() == 1


def test_the_same_form_after_its_credit_was_deleted_is_refused_and_writes_nothing(world):
    """The hole: deleting the credit freed its key, so pressing Create again (back button) added it again."""
    client = logged_in(world.staff)
    form = credit_form(world.amy, amount="46.00")
    client.post(reverse("credits:add"), form)
    credits.delete_credit(Credit.objects.get(amount="46.00"))
    before = db_snapshot()
    response = client.post(reverse("credits:add"), form)
    assert response.status_code == 422
    assert "This form already made a credit, which has since been deleted." in page_text(response)
    assert_unchanged(before)


def test_the_same_bulk_form_for_another_class_is_refused_and_writes_nothing(world):
    """One key, two different choices of customers: not one bulk credit sent twice."""
    client = logged_in(world.manager)
    form = bulk_form(world.amy, amount="3.30")
    client.post(reverse("credits:bulk"), form)
    before = db_snapshot()
    response = client.post(reverse("credits:bulk"), {**form, "customer": [world.ben.pk]})
    assert response.status_code == 422
    assert "This form was already used for a different bulk credit." in page_text(response)
    assert_unchanged(before)
    assert list(Credit.objects.filter(amount="3.30").values_list("customer_id", flat=True)) == [world.amy.pk]
