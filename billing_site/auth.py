"""Login throttling with django-axes, keyed on the username *and* the address it is tried from.

A studio's staff share one address, so a lock on an address or on a username alone would let anyone
at the front desk lock the manager out. Instead five wrong passwords for one username from one
address pause that pair briefly, and each further lock of the pair within a day doubles the pause
(1, 2, 4 … minutes, at most an hour): a guessing script is slowed to a crawl, while a colleague's
typos (or mischief) cost the owner of the login a minute, and a manager can unlock it at once
(Locked logins, `billing_site.views.locked_logins`).
"""

from __future__ import annotations

import datetime

from axes.backends import AxesStandaloneBackend
from axes.models import AccessFailureLog
from django.conf import settings
from django.contrib.auth import backends
from django.contrib.auth.models import Group, User
from django.http import HttpRequest
from django.utils import timezone

FIRST_PAUSE = datetime.timedelta(minutes=1)
LONGEST_PAUSE = datetime.timedelta(hours=1)
REMEMBERED = datetime.timedelta(days=1)


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' check for web logins; logins without a request (shell, test client) have no IP to throttle."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def _username(request: HttpRequest) -> str | None:
    credentials = getattr(request, "axes_credentials", None) or {}
    return credentials.get("username") or request.POST.get("username")


def cool_off(request: HttpRequest | None) -> datetime.timedelta:
    """How long a locked username+address pair waits: doubling with each lock of the pair in the last day."""
    if request is None or not (username := _username(request)):
        return FIRST_PAUSE
    # Axes logs every failure; those before a lock are logged "not locked out", FAILURE_LIMIT - 1 of them per lock
    # (the one that locks, and every try while locked, are logged "locked out", so they cannot count locks).
    checked = AccessFailureLog.objects.filter(
        username=username,
        ip_address=getattr(request, "axes_ip_address", None),
        locked_out=False,
        attempt_time__gte=timezone.now() - REMEMBERED,
    ).count()
    locks = max(checked // (settings.AXES_FAILURE_LIMIT - 1), 1)
    return min(FIRST_PAUSE * 2 ** (locks - 1), LONGEST_PAUSE)


# The signed-in user with their roles (ids and names, by name) and permissions ("credits.add_credit"): their own and
# their groups'. Written out because the ORM takes longer to build this query (~3 ms) than PostgreSQL to answer it; the
# roles and permissions come from a function (migration site 0001) because PostgreSQL takes longer to plan their four
# subqueries than to answer them, and plans a function's once per connection.
USER_WITH_ROLES_AND_PERMISSIONS = """
SELECT u.*, r.role_ids, r.role_names, r.own_perms, r.role_perms
FROM auth_user u CROSS JOIN LATERAL user_roles_and_permissions(u.id) r WHERE u.id = %s
"""


class ModelBackend(backends.ModelBackend):
    """Django's ModelBackend, reading the signed-in user, their roles and their permissions in one query.

    Every page checks permissions and shows the person's role in the header: ModelBackend reads the user, then their
    own permissions, then their groups' (one query each), and the header their groups — four queries a page where one
    does. The answers are put where Django keeps them for the request (the permission caches that ModelBackend fills,
    and `user.groups.all()` as `prefetch_related("groups")` leaves it), so every check reads the same as before.
    """

    def get_user(self, user_id):
        try:
            pk = int(user_id)
        except (TypeError, ValueError):
            return None
        user = next(iter(User.objects.raw(USER_WITH_ROLES_AND_PERMISSIONS, [pk])), None)
        if user is None or not self.user_can_authenticate(user):
            return None
        groups = user.groups.all()  # no query: the manager's queryset, filled as prefetch_related fills it
        roles = zip(user.role_ids, user.role_names, strict=True)
        groups._result_cache = [Group.from_db(user._state.db, ["id", "name"], role) for role in roles]
        groups._prefetch_done = True
        user._prefetched_objects_cache = {"groups": groups}
        if not user.is_superuser:  # a superuser may do everything: Django answers without reading permissions
            user._user_perm_cache, user._group_perm_cache = set(user.own_perms), set(user.role_perms)
            user._perm_cache = user._user_perm_cache | user._group_perm_cache
        return user
