"""The idempotency keys move from the columns on Credit and CreditBatch into idempotency's one table.

In order: the table exists (idempotency 0001), the keys are copied, then the columns are dropped (with
their copies in the history tables, whose triggers are rebuilt without them).

Each key is copied with the fingerprint the service computes for the same call, from the values the
credit or batch was created with: its history's insert event where there is one (a credit modified
since keeps its key's first parameters), else the row itself. Keys of credits deleted before this
migration are restored from history too, naming the deleted id, so they stay taken.
"""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations

# The same digest as idempotency.services.fingerprint and customers.services.customer_set_digest.
from idempotency.services import fingerprint

CREDIT_SCOPE = "credits.add_credit"
BATCH_SCOPE = "credits.add_bulk_credits"
CHUNK = 2000

# A key's first parameters: the earliest insert event carrying it (deleted credits included), else the row.
CREDIT_KEYS = """
SELECT DISTINCT ON (idempotency_key) idempotency_key, id, customer_id, amount, date, reason, note, auto_apply,
       created_at, created_by_id
FROM (
    SELECT e.idempotency_key, e.pgh_obj_id AS id, e.customer_id, e.amount, e.date, e.reason, e.note, e.auto_apply,
           e.created_at, e.created_by_id, 0 AS source, e.pgh_id AS seq
    FROM credits_creditevent e WHERE e.idempotency_key IS NOT NULL AND e.pgh_label = 'insert'
    UNION ALL
    SELECT c.idempotency_key, c.id, c.customer_id, c.amount, c.date, c.reason, c.note, c.auto_apply,
           c.created_at, c.created_by_id, 1, c.id
    FROM credits_credit c WHERE c.idempotency_key IS NOT NULL
) keyed
ORDER BY idempotency_key, source, seq
"""

# A batch's customers: those its credits were created for (history), or those its credits are for now.
BATCH_KEYS = """
SELECT b.idempotency_key, b.id, b.amount, b.date, b.reason, b.note, b.auto_apply, b.created_at, b.created_by_id,
       (SELECT md5(string_agg(customer_id::text, ',' ORDER BY customer_id)) FROM (
            SELECT customer_id FROM credits_creditevent WHERE batch_id = b.id AND pgh_label = 'insert'
            UNION
            SELECT customer_id FROM credits_credit WHERE batch_id = b.id
        ) chosen)
FROM credits_creditbatch b WHERE b.idempotency_key IS NOT NULL ORDER BY b.id
"""


def copy_keys(apps, schema_editor):
    IdempotencyKey = apps.get_model("idempotency", "IdempotencyKey")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(CREDIT_KEYS)
        while rows := cursor.fetchmany(CHUNK):
            IdempotencyKey.objects.bulk_create(
                IdempotencyKey(
                    scope=CREDIT_SCOPE,
                    key=key,
                    fingerprint=fingerprint(
                        customer=customer_id,
                        amount=amount,
                        date=date,
                        reason=reason,
                        note=note,
                        auto_apply=auto_apply,
                    ),
                    model="credits.credit",
                    object_id=pk,
                    created_at=created_at,
                    created_by_id=created_by_id,
                )
                for key, pk, customer_id, amount, date, reason, note, auto_apply, created_at, created_by_id in rows
            )
        cursor.execute(BATCH_KEYS)
        while rows := cursor.fetchmany(CHUNK):
            IdempotencyKey.objects.bulk_create(
                IdempotencyKey(
                    scope=BATCH_SCOPE,
                    key=key,
                    fingerprint=fingerprint(
                        customers=customers,
                        amount=amount,
                        date=date,
                        reason=reason,
                        note=note,
                        auto_apply=auto_apply,
                    ),
                    model="credits.creditbatch",
                    object_id=pk,
                    created_at=created_at,
                    created_by_id=created_by_id,
                )
                for key, pk, amount, date, reason, note, auto_apply, created_at, created_by_id, customers in rows
            )


def copy_keys_back(apps, schema_editor):
    """Going back: each credit and batch that still exists gets its key in its column again."""
    with schema_editor.connection.cursor() as cursor:
        for table, scope in (("credits_credit", CREDIT_SCOPE), ("credits_creditbatch", BATCH_SCOPE)):
            cursor.execute(
                f"""
                UPDATE {table} t SET idempotency_key = k.key FROM idempotency_idempotencykey k
                WHERE k.scope = %s AND k.object_id = t.id
                """,
                [scope],
            )
            cursor.execute("DELETE FROM idempotency_idempotencykey WHERE scope = %s", [scope])


class Migration(migrations.Migration):
    dependencies = [
        ("credits", "0009_sums_per_statement"),
        ("idempotency", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(copy_keys, copy_keys_back),
        pgtrigger.migrations.RemoveTrigger(
            model_name="credit",
            name="update_update",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="credit",
            name="insert_insert",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="credit",
            name="delete_delete",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="creditbatch",
            name="insert_insert",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="creditbatch",
            name="delete_delete",
        ),
        migrations.RemoveField(
            model_name="credit",
            name="idempotency_key",
        ),
        migrations.RemoveField(
            model_name="creditbatch",
            name="idempotency_key",
        ),
        migrations.RemoveField(
            model_name="creditbatchevent",
            name="idempotency_key",
        ),
        migrations.RemoveField(
            model_name="creditevent",
            name="idempotency_key",
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="credit",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='WITH _pgh_attached_context AS ( SELECT _pgh_attach_context() AS value ) INSERT INTO "credits_creditevent" ("amount", "assigned", "auto_apply", "batch_id", "created_at", "created_by_id", "customer_id", "date", "id", "note", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "reason", "version") SELECT new_values."amount", new_values."assigned", new_values."auto_apply", new_values."batch_id", new_values."created_at", new_values."created_by_id", new_values."customer_id", new_values."date", new_values."id", new_values."note", _pgh_attached_context.value, NOW(), \'insert\', new_values."id", new_values."reason", new_values."version" FROM ( SELECT new_values.* FROM new_values  ) AS new_values, _pgh_attached_context; RETURN NULL;',
                    hash="a54eeddd979db40ce363471d2b6433778878b738",
                    level="STATEMENT",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_d7dc2",
                    referencing="REFERENCING NEW TABLE AS new_values ",
                    table="credits_credit",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="credit",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition='WHEN (OLD."amount" IS DISTINCT FROM (NEW."amount") OR OLD."assigned" IS DISTINCT FROM (NEW."assigned") OR OLD."auto_apply" IS DISTINCT FROM (NEW."auto_apply") OR OLD."batch_id" IS DISTINCT FROM (NEW."batch_id") OR OLD."created_at" IS DISTINCT FROM (NEW."created_at") OR OLD."created_by_id" IS DISTINCT FROM (NEW."created_by_id") OR OLD."customer_id" IS DISTINCT FROM (NEW."customer_id") OR OLD."date" IS DISTINCT FROM (NEW."date") OR OLD."id" IS DISTINCT FROM (NEW."id") OR OLD."note" IS DISTINCT FROM (NEW."note") OR OLD."reason" IS DISTINCT FROM (NEW."reason") OR OLD."version" IS DISTINCT FROM (NEW."version"))',
                    func='INSERT INTO "credits_creditevent" ("amount", "assigned", "auto_apply", "batch_id", "created_at", "created_by_id", "customer_id", "date", "id", "note", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "reason", "version") VALUES (NEW."amount", NEW."assigned", NEW."auto_apply", NEW."batch_id", NEW."created_at", NEW."created_by_id", NEW."customer_id", NEW."date", NEW."id", NEW."note", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."reason", NEW."version"); RETURN NULL;',
                    hash="323555f25e494ae6cc08cd00f5837b7c60f6e67d",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_ca864",
                    table="credits_credit",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="credit",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='WITH _pgh_attached_context AS ( SELECT _pgh_attach_context() AS value ) INSERT INTO "credits_creditevent" ("amount", "assigned", "auto_apply", "batch_id", "created_at", "created_by_id", "customer_id", "date", "id", "note", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "reason", "version") SELECT old_values."amount", old_values."assigned", old_values."auto_apply", old_values."batch_id", old_values."created_at", old_values."created_by_id", old_values."customer_id", old_values."date", old_values."id", old_values."note", _pgh_attached_context.value, NOW(), \'delete\', old_values."id", old_values."reason", old_values."version" FROM ( SELECT old_values.* FROM old_values  ) AS old_values, _pgh_attached_context; RETURN NULL;',
                    hash="12efe5b841fd399ce6803aaf605f3beb77bf1318",
                    level="STATEMENT",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_58a2d",
                    referencing="REFERENCING OLD TABLE AS old_values ",
                    table="credits_credit",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="creditbatch",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "credits_creditbatchevent" ("amount", "auto_apply", "count", "created_at", "created_by_id", "date", "id", "note", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "reason", "total", "undone_at", "undone_by_id") VALUES (NEW."amount", NEW."auto_apply", NEW."count", NEW."created_at", NEW."created_by_id", NEW."date", NEW."id", NEW."note", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."reason", NEW."total", NEW."undone_at", NEW."undone_by_id"); RETURN NULL;',
                    hash="ce4e8dd2b52c586f4ab8ee62ae1dc420bb8d3e14",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_cc684",
                    table="credits_creditbatch",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="creditbatch",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "credits_creditbatchevent" ("amount", "auto_apply", "count", "created_at", "created_by_id", "date", "id", "note", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "reason", "total", "undone_at", "undone_by_id") VALUES (OLD."amount", OLD."auto_apply", OLD."count", OLD."created_at", OLD."created_by_id", OLD."date", OLD."id", OLD."note", _pgh_attach_context(), NOW(), \'delete\', OLD."id", OLD."reason", OLD."total", OLD."undone_at", OLD."undone_by_id"); RETURN NULL;',
                    hash="a48a37402e591ffc1fe753ca8706a0e64b9f5969",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_dfecb",
                    table="credits_creditbatch",
                    when="AFTER",
                ),
            ),
        ),
    ]
