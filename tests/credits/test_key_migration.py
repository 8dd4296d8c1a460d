"""credits 0010: the keys on Credit and CreditBatch move into idempotency's table, and keep meaning what they meant."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from credits import services as credits
from credits.models import Credit
from idempotency.models import IdempotencyKey
from tests.factories import CustomerFactory
from tests.ledger import keep_staff_groups  # noqa: F401 - fixture

BEFORE = [("credits", "0009_sums_per_statement")]


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.mark.usefixtures("keep_staff_groups")  # before transactional_db, so it tidies up after the flush
def test_the_keys_move_into_the_one_table_and_keep_their_meaning(transactional_db):
    amy, ben = CustomerFactory(), CustomerFactory()
    migrate(BEFORE)
    try:
        insert = (
            "INSERT INTO credits_credit (customer_id, date, amount, assigned, reason, note, auto_apply, version, "
            "created_at, idempotency_key, batch_id) VALUES (%s, '2026-11-20', %s, 0, 'refund', 'n', true, 1, now(), %s, %s)"
        )
        sql(insert, [amy.pk, "10.00", "kept", None])
        sql(insert, [amy.pk, "11.00", "modified", None])
        sql(insert, [ben.pk, "12.00", "deleted", None])
        sql("UPDATE credits_credit SET amount = 99.00, version = 2 WHERE idempotency_key = 'modified'")
        sql("DELETE FROM credits_credit WHERE idempotency_key = 'deleted'")
        sql(
            "INSERT INTO credits_creditbatch (id, amount, date, reason, note, auto_apply, count, total, created_at, "
            "idempotency_key) VALUES (700, 5.00, '2026-11-20', 'goodwill', 'Snow', true, 2, 10.00, now(), 'batch')"
        )
        sql(insert.replace("'refund'", "'goodwill'"), [amy.pk, "5.00", None, 700])
        sql(insert.replace("'refund'", "'goodwill'"), [ben.pk, "5.00", None, 700])
        sql("UPDATE credits_credit SET note = 'Snow' WHERE batch_id = 700")
    finally:
        migrate(latest())

    assert set(IdempotencyKey.objects.values_list("scope", "key")) == {
        ("credits.add_credit", "kept"),
        ("credits.add_credit", "modified"),
        ("credits.add_credit", "deleted"),
        ("credits.add_bulk_credits", "batch"),
    }
    asked = {"date": "2026-11-20", "reason": "refund", "note": "n"}
    kept = credits.add_credit(amy, "10.00", **asked, idempotency_key="kept")
    assert kept.amount == 10 and Credit.objects.filter(customer=amy, batch=None).count() == 2
    # Modified since: the key still answers to what the form asked for (from history), and returns the credit as it is.
    assert credits.add_credit(amy, "11.00", **asked, idempotency_key="modified").amount == 99
    with pytest.raises(ValidationError, match="already used for a different credit"):
        credits.add_credit(ben, "10.00", **asked, idempotency_key="kept")
    with pytest.raises(ValidationError, match="which has since been deleted"):
        credits.add_credit(ben, "12.00", **asked, idempotency_key="deleted")
    batch = credits.add_bulk_credits(
        [ben, amy], "5.00", date="2026-11-20", reason="goodwill", note="Snow", idempotency_key="batch"
    )
    assert batch.pk == 700
    with pytest.raises(ValidationError, match="already used for a different bulk credit"):
        credits.add_bulk_credits(
            [amy], "5.00", date="2026-11-20", reason="goodwill", note="Snow", idempotency_key="batch"
        )
    assert Credit.objects.count() == 4
