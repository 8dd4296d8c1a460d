"""credits.roles: the staff groups are defined once; the migrations and ensure_staff_groups() both give them
exactly what GROUPS says."""

from __future__ import annotations

import importlib

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from credits import roles
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# Every data migration that shapes the staff groups, in order: a change to roles.GROUPS comes with a new one.
GROUP_MIGRATIONS = [
    ("credits", "0004_staff_groups"),
    ("credits", "0011_managers_unlock_logins"),
    ("credits", "0014_refund_permissions"),
    ("credits", "0015_run_permissions"),
    ("reports", "0003_overview_permission_groups"),
    ("credits", "0018_document_permissions"),
]


def groups_in_the_database() -> dict[str, list[str]]:
    return {
        group.name: sorted(
            f"{permission.content_type.app_label}.{permission.codename}"
            for permission in group.permissions.select_related("content_type")
        )
        for group in Group.objects.all()
    }


def as_defined() -> dict[str, list[str]]:
    return {name: sorted(codes) for name, codes in roles.GROUPS.items()}


def test_the_migrations_give_the_groups_exactly_what_roles_defines():
    Group.objects.all().delete()
    loader = MigrationLoader(connection)
    for app_label, name in GROUP_MIGRATIONS:
        historical = loader.project_state((app_label, name)).apps  # what the migration's RunPython is given
        importlib.import_module(f"{app_label}.migrations.{name}").create_groups(historical, schema_editor=None)
    assert groups_in_the_database() == as_defined()


def test_it_makes_the_groups_again_after_a_flush_removed_them():
    Group.objects.all().delete()
    roles.ensure_staff_groups()
    assert groups_in_the_database() == as_defined()
    assert set(roles.GROUPS) == {"Billing staff", "Managers"}  # the names PRODUCT.md and the README use


def test_it_gives_a_group_back_exactly_its_permissions_and_keeps_its_members():
    staff = UserFactory(groups=[roles.BILLING_STAFF])
    group = Group.objects.get(name=roles.BILLING_STAFF)
    group.permissions.remove(Permission.objects.get(content_type__app_label="customers", codename="view_customer"))
    group.permissions.add(Permission.objects.get(content_type__app_label="credits", codename="delete_credit"))
    roles.ensure_staff_groups()
    assert groups_in_the_database() == as_defined()
    assert list(staff.groups.all()) == [group]


def test_it_names_a_permission_that_does_not_exist(monkeypatch):
    monkeypatch.setitem(roles.GROUPS, roles.MANAGERS, (*roles.GROUPS[roles.MANAGERS], "credits.launch_credit"))
    with pytest.raises(LookupError, match=r"credits\.launch_credit"):
        roles.ensure_staff_groups()
