"""idempotency.services: the one table of create keys, apart from any service that uses it."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import transaction

from idempotency import services as idempotency
from idempotency.models import IdempotencyKey
from tests.ledger import keep_staff_groups  # noqa: F401 - fixture

# No module-wide django_db mark: it would flush the transactional test before keep_staff_groups could tidy up.


@pytest.mark.usefixtures("keep_staff_groups")  # before transactional_db, so it tidies up after the flush
def test_a_key_is_claimed_only_inside_the_transaction_it_guards(transactional_db):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        idempotency.claim("tests.make", "k")
    assert not IdempotencyKey.objects.exists()


def test_no_key_claims_nothing(db):
    with transaction.atomic():
        for key in (None, ""):
            claim = idempotency.claim("tests.make", key)
            assert not claim.taken
            claim.record(IdempotencyKey(pk=1), "x")
    assert not IdempotencyKey.objects.exists()


def test_the_fingerprint_is_of_the_values_not_their_spelling():
    same = idempotency.fingerprint(amount=Decimal("10.00"), date=datetime.date(2026, 1, 5), ids={3, 1}, note="")
    assert same == idempotency.fingerprint(note="", ids=[1, 3], date=datetime.date(2026, 1, 5), amount=Decimal("10.00"))
    assert same != idempotency.fingerprint(amount=Decimal("10.01"), date=datetime.date(2026, 1, 5), ids={3, 1}, note="")
    with pytest.raises(TypeError):
        idempotency.fingerprint(amount=10.0 + 0j)
