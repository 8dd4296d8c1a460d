"""The two staff roles of PRODUCT.md, as groups with exactly their permissions.

The living definition is credits/roles.py (GROUPS, ensure_staff_groups), which the code and the tests
use. This migration keeps its own frozen copy on purpose and imports nothing from the app: it must
still run on an empty database long after GROUPS has changed, at this point of history, when only
the permissions of the models up to here exist. Calling roles.ensure_staff_groups() here would make
every fresh `migrate` break the day GROUPS names a permission of a later model (or the module moves).
So a change to the roles is a change to GROUPS plus a new data migration with its own frozen copy of
the change; tests/credits/test_roles.py runs the group migrations and fails until they give the
groups exactly what GROUPS says.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

BILLING_STAFF = [
    "customers.view_customer",
    "customers.add_customer",
    "billing.view_invoice",
    "billing.add_invoice",
    "billing.view_invoiceline",
    "billing.view_payment",
    "billing.add_payment",
    "credits.view_credit",
    "credits.add_credit",
    "credits.change_credit",
    "credits.view_creditassignment",
    "credits.add_creditassignment",
    "credits.delete_creditassignment",
    "credits.view_creditbatch",
]
MANAGERS = BILLING_STAFF + [
    "customers.change_customer",
    "credits.add_creditbatch",
    "credits.delete_credit",
    "credits.undo_creditbatch",
    "billing.void_invoice",
]
GROUPS = {"Billing staff": BILLING_STAFF, "Managers": MANAGERS}


def create_groups(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codes in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for code in codes:
            app_label, codename = code.split(".")
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("customers", "0001_initial"),
        ("billing", "0003_permissions"),
        ("credits", "0003_permissions"),
    ]
    operations = [migrations.RunPython(create_groups, remove_groups)]
