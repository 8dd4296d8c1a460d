"""Credit note numbers: CN-000001 onward, gap-free, from a counter row locked in the creating transaction."""

import credits.models
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

NUMBER_EXISTING = """
UPDATE credits_credit AS credit SET number = ordered.n
FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM credits_credit) AS ordered
WHERE credit.id = ordered.id;
INSERT INTO credits_creditnotecounter (id, last) SELECT 1, COALESCE(max(number), 0) FROM credits_credit;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("credits", "0016_batch_run"),
    ]

    operations = [
        migrations.CreateModel(
            name="CreditNoteCounter",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("last", models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.AddField(
            model_name="credit",
            name="number",
            field=credits.models.NumberFromTheDatabase(
                editable=False,
                help_text="CN-000001 onward, in the order credits were made, with no gaps (a counter row, not a sequence)",
                null=True,
                unique=True,
                verbose_name="credit note number",
            ),
        ),
        # Existing credits are numbered in the order they were made; the counter starts after the last.
        migrations.RunSQL(NUMBER_EXISTING, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="credit",
            name="number",
            field=credits.models.NumberFromTheDatabase(
                editable=False,
                help_text="CN-000001 onward, in the order credits were made, with no gaps (a counter row, not a sequence)",
                unique=True,
                verbose_name="credit note number",
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="credit",
            trigger=pgtrigger.compiler.Trigger(
                name="credit_takes_next_number",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (NEW.number IS NULL)",
                    func="\nINSERT INTO credits_creditnotecounter (id, last) VALUES (1, 1)\nON CONFLICT (id) DO UPDATE SET last = credits_creditnotecounter.last + 1\nRETURNING last INTO NEW.number;\nRETURN NEW;\n",
                    hash="9d42e6bec30ff16317a87346434541a68ef4de5b",
                    operation="INSERT",
                    pgid="pgtrigger_credit_takes_next_number_b728d",
                    table="credits_credit",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="credit",
            trigger=pgtrigger.compiler.Trigger(
                name="credit_number_is_fixed",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition='WHEN (OLD."number" IS DISTINCT FROM (NEW."number"))',
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update rows from % table', TG_TABLE_NAME;",
                    hash="6dc0c9ef0230c2340761d82f8a048a1efb9b325a",
                    operation="UPDATE",
                    pgid="pgtrigger_credit_number_is_fixed_89a6c",
                    table="credits_credit",
                    when="BEFORE",
                ),
            ),
        ),
        migrations.AddConstraint(
            model_name="creditnotecounter",
            constraint=models.CheckConstraint(condition=models.Q(("id", 1)), name="one_credit_note_counter"),
        ),
    ]
