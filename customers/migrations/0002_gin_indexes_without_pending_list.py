"""The customer search and tag indexes keep no pending list (fastupdate off).

With a pending list, every search first scans the recent changes one by one: 15,000 pending
entries after tagging 100,000 customers made a name search 29 ms instead of ~10 ms. The state
sees the indexes replaced; the database only changes their setting and moves what is pending
into them, so no index is rebuilt.
"""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import migrations
from django.db.models.functions import Upper

TRIGRAM = {"customer_name_trgm": "name", "customer_email_trgm": "email", "customer_phone_trgm": "phone"}
INDEXES = [*TRIGRAM, "customer_tags"]


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"ALTER INDEX {name} SET (fastupdate = off); SELECT gin_clean_pending_list('{name}'::regclass);",
                    f"ALTER INDEX {name} RESET (fastupdate);",
                )
                for name in INDEXES
            ],
            state_operations=[
                *(migrations.RemoveIndex(model_name="customer", name=name) for name in INDEXES),
                *(
                    migrations.AddIndex(
                        model_name="customer",
                        index=GinIndex(OpClass(Upper(field), name="gin_trgm_ops"), fastupdate=False, name=name),
                    )
                    for name, field in TRIGRAM.items()
                ),
                migrations.AddIndex(
                    model_name="customer", index=GinIndex(fastupdate=False, fields=["tags"], name="customer_tags")
                ),
            ],
        ),
    ]
