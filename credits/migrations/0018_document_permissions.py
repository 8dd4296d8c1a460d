"""Billing staff and managers email documents to families and see the Outbox (issue 13).

A frozen copy of the change to credits/roles.py, as 0004_staff_groups explains.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ADDED = {
    "Billing staff": ["documents.view_email", "documents.add_email"],
    "Managers": ["documents.view_email", "documents.add_email"],
}


def create_groups(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codes in ADDED.items():
        group, _ = Group.objects.get_or_create(name=name)
        for code in codes:
            app_label, codename = code.split(".")
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def remove_added(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=ADDED):
        for code in ADDED[group.name]:
            app_label, codename = code.split(".")
            group.permissions.remove(*Permission.objects.filter(content_type__app_label=app_label, codename=codename))


class Migration(migrations.Migration):
    dependencies = [("credits", "0017_credit_note_numbers"), ("documents", "0001_initial")]
    operations = [migrations.RunPython(create_groups, remove_added)]
