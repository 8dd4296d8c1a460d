"""The Overview's summaries (reports.models) and the triggers that keep them, filled from the ledger as it stands.

The SQL is written out here, frozen, as a migration must mean the same thing forever. Each function adds, for one
statement, one row of changes per key from the statement's transition tables; a key whose changes cancel out (an
UPDATE of a note) adds nothing. Creating the triggers locks their tables until this migration commits, so no write
falls between the fill and the triggers.
"""

from django.db import migrations, models

OPEN = "status IN ('unpaid', 'part_paid')"
MONTH = "date_trunc('month', date)::date"
# Quarter hours add up to a month in any time zone, so the trigger needs none.
QUARTER = "date_bin('15 minutes', created_at, TIMESTAMPTZ '2000-01-01 00:00+00')"


def _changes(insert: str, delete: str, update: str) -> str:
    return f"""
    IF TG_OP = 'INSERT' THEN
        {insert}
    ELSIF TG_OP = 'DELETE' THEN
        {delete}
    ELSE
        {update}
    END IF;
    RETURN NULL;"""


def _credit(select: str) -> str:
    return f"""INSERT INTO reports_creditsummary (month, reason, issued, issued_count, remaining)
        SELECT month, reason, SUM(amount * sign), SUM(sign), SUM(remaining * sign) FROM ({select}) AS changed
        GROUP BY month, reason HAVING SUM(amount * sign) <> 0 OR SUM(sign) <> 0 OR SUM(remaining * sign) <> 0;"""


def _invoice(select: str) -> str:
    return f"""INSERT INTO reports_invoicesummary (due_date, open_count, outstanding)
        SELECT due_date, SUM(sign), SUM(outstanding * sign) FROM ({select}) AS changed
        GROUP BY due_date HAVING SUM(sign) <> 0 OR SUM(outstanding * sign) <> 0;"""


def _assigned(select: str) -> str:
    return f"""INSERT INTO reports_assignedsummary (quarter, amount, count)
        SELECT quarter, SUM(amount * sign), SUM(sign) FROM ({select}) AS changed GROUP BY quarter;"""


CREDITS_NEW = f"SELECT {MONTH} AS month, reason, amount, remaining, 1 AS sign FROM new_rows"
CREDITS_OLD = f"SELECT {MONTH} AS month, reason, amount, remaining, -1 AS sign FROM old_rows"
INVOICES_NEW = f"SELECT due_date, outstanding, 1 AS sign FROM new_rows WHERE {OPEN}"
INVOICES_OLD = f"SELECT due_date, outstanding, -1 AS sign FROM old_rows WHERE {OPEN}"

FUNCTIONS = {
    "reports_credit_summary": _changes(
        _credit(CREDITS_NEW), _credit(CREDITS_OLD), _credit(f"{CREDITS_NEW} UNION ALL {CREDITS_OLD}")
    ),
    "reports_invoice_summary": _changes(
        _invoice(INVOICES_NEW), _invoice(INVOICES_OLD), _invoice(f"{INVOICES_NEW} UNION ALL {INVOICES_OLD}")
    ),
    "reports_assigned_summary": _changes(
        _assigned(f"SELECT {QUARTER} AS quarter, amount, 1 AS sign FROM new_rows"),
        _assigned(f"SELECT {QUARTER} AS quarter, amount, -1 AS sign FROM old_rows"),
        "NULL;",  # assignments are never updated (assignment_is_immutable)
    ),
}

# (table, function, operations): a trigger with transition tables serves one operation, hence one trigger each.
TRIGGERS = [
    ("credits_credit", "reports_credit_summary", ("INSERT", "UPDATE", "DELETE")),
    ("billing_invoice", "reports_invoice_summary", ("INSERT", "UPDATE", "DELETE")),
    ("credits_creditassignment", "reports_assigned_summary", ("INSERT", "DELETE")),
]
REFERENCING = {
    "INSERT": "REFERENCING NEW TABLE AS new_rows",
    "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "REFERENCING OLD TABLE AS old_rows",
}

CREATE = "\n".join(
    [
        *(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} END $$;"
            for name, body in FUNCTIONS.items()
        ),
        *(
            f"CREATE TRIGGER {function}_{operation.lower()} AFTER {operation} ON {table} {REFERENCING[operation]} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}();"
            for table, function, operations in TRIGGERS
            for operation in operations
        ),
    ]
)
DROP = "\n".join(
    [
        *(
            f"DROP TRIGGER {function}_{operation.lower()} ON {table};"
            for table, function, operations in TRIGGERS
            for operation in operations
        ),
        *(f"DROP FUNCTION {name}();" for name in FUNCTIONS),
    ]
)

FILL = f"""
INSERT INTO reports_creditsummary (month, reason, issued, issued_count, remaining)
SELECT {MONTH}, reason, SUM(amount), COUNT(*), SUM(remaining) FROM credits_credit GROUP BY 1, 2;
INSERT INTO reports_invoicesummary (due_date, open_count, outstanding)
SELECT due_date, COUNT(*), SUM(outstanding) FROM billing_invoice WHERE {OPEN} GROUP BY 1;
INSERT INTO reports_assignedsummary (quarter, amount, count)
SELECT {QUARTER}, SUM(amount), COUNT(*) FROM credits_creditassignment GROUP BY 1;
"""
EMPTY = "DELETE FROM reports_creditsummary; DELETE FROM reports_invoicesummary; DELETE FROM reports_assignedsummary;"

# The unapplied report walks the auto-apply credits with something left, oldest first: a small part of all credits.
UNAPPLIED_INDEX = (
    "CREATE INDEX reports_credit_unapplied ON credits_credit (date, id) WHERE remaining > 0 AND auto_apply"
)


class Migration(migrations.Migration):
    initial = True

    dependencies = [("credits", "0015_run_permissions"), ("billing", "0009_field_labels")]

    operations = [
        migrations.CreateModel(
            name="AssignedSummary",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("quarter", models.DateTimeField()),
                ("amount", models.DecimalField(decimal_places=2, max_digits=18)),
                ("count", models.BigIntegerField()),
            ],
            options={
                "indexes": [models.Index(fields=["quarter"], name="assigned_summary_key")],
            },
        ),
        migrations.CreateModel(
            name="CreditSummary",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField(help_text="The first day of the credits' month")),
                ("reason", models.CharField(max_length=20)),
                ("issued", models.DecimalField(decimal_places=2, max_digits=18)),
                ("issued_count", models.BigIntegerField()),
                ("remaining", models.DecimalField(decimal_places=2, max_digits=18)),
            ],
            options={
                "indexes": [models.Index(fields=["month", "reason"], name="credit_summary_key")],
            },
        ),
        migrations.CreateModel(
            name="InvoiceSummary",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("due_date", models.DateField()),
                ("open_count", models.BigIntegerField()),
                ("outstanding", models.DecimalField(decimal_places=2, max_digits=18)),
            ],
            options={
                "indexes": [models.Index(fields=["due_date"], name="invoice_summary_key")],
            },
        ),
        migrations.RunSQL(CREATE, DROP),
        migrations.RunSQL(FILL, EMPTY),
        migrations.RunSQL(UNAPPLIED_INDEX, "DROP INDEX reports_credit_unapplied"),
    ]
