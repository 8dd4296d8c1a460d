"""billing_site.auth.ModelBackend: the signed-in user, their roles and their permissions in one query, answering
every check as Django's ModelBackend does."""

from __future__ import annotations

import pytest
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.contrib.auth.models import Group, Permission

from billing_site.auth import ModelBackend
from credits import roles
from tests.conftest import logged_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _permission(label: str) -> Permission:
    app_label, codename = label.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


@pytest.fixture
def clerk(db):
    """Two roles (one given a permission by hand) and a permission of their own."""
    desk = Group.objects.create(name="Front desk")
    desk.permissions.add(_permission("credits.add_creditbatch"))
    user = UserFactory(username="fred.clerk", groups=[roles.BILLING_STAFF])
    user.groups.add(desk)
    user.user_permissions.add(_permission("billing.void_invoice"))
    return user


def test_it_reads_the_user_their_roles_and_their_permissions_in_one_query(clerk, django_assert_num_queries):
    with django_assert_num_queries(1):
        user = ModelBackend().get_user(clerk.pk)
        assert [group.name for group in user.groups.all()] == ["Billing staff", "Front desk"]
        assert user.has_perm("credits.add_creditbatch") and user.has_perm("billing.void_invoice")
        assert not user.has_perm("credits.delete_credit")


def test_it_answers_every_check_as_djangos_model_backend(clerk):
    ours, django = ModelBackend().get_user(clerk.pk), DjangoModelBackend().get_user(clerk.pk)
    assert ours == django
    assert ours.get_user_permissions() == django.get_user_permissions() == {"billing.void_invoice"}
    assert ours.get_group_permissions() == django.get_group_permissions()
    assert ours.get_all_permissions() == django.get_all_permissions()
    assert "credits.add_creditbatch" in ours.get_all_permissions()
    assert set(ours.groups.all()) == set(django.groups.all())
    assert all(not group._state.adding for group in ours.groups.all())  # read from the database, not new rows


def test_a_superuser_may_do_everything(db):
    root = ModelBackend().get_user(UserFactory(username="root", is_superuser=True).pk)
    assert root.has_perm("credits.undo_creditbatch")
    assert root.get_all_permissions() == DjangoModelBackend().get_all_permissions(root)


def test_an_inactive_or_unknown_user_is_nobody(clerk):
    clerk.is_active = False
    clerk.save()
    assert ModelBackend().get_user(clerk.pk) is None
    assert ModelBackend().get_user(clerk.pk + 1000) is None
    assert ModelBackend().get_user("not a number") is None


def test_a_change_of_role_shows_on_the_next_page(clerk):
    """Nothing is kept between requests: the roles and permissions are read with the user on every page."""
    browser = logged_in(clerk)
    assert "Front desk" in browser.get("/customers/").content.decode()
    clerk.groups.remove(Group.objects.get(name="Front desk"))
    page = browser.get("/customers/").content.decode()
    assert "Front desk" not in page and "Billing staff" in page
    assert browser.get("/billing/credits/bulk/").status_code == 403
