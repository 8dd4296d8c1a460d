"""The two staff roles of PRODUCT.md, as groups with exactly their permissions.

The one living definition, for the code and the tests (a data migration keeps a frozen copy of
what it changes: see credits/migrations/0004_staff_groups.py). It lives in credits, the top layer,
because it names permissions of customers, billing and credits alike; the lower apps (customers,
billing) must not import it.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

BILLING_STAFF = "Billing staff"
MANAGERS = "Managers"

_BILLING_STAFF_PERMISSIONS = (
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
    "credits.view_refund",
    "runs.view_run",
    "reports.view_overview",
    # Documents: email a credit note, an invoice or a statement to the family, and follow it in the Outbox.
    "documents.view_email",
    "documents.add_email",
)

# {group name: the permissions ("app_label.codename") it has, and no others}
GROUPS: dict[str, tuple[str, ...]] = {
    BILLING_STAFF: _BILLING_STAFF_PERMISSIONS,
    MANAGERS: _BILLING_STAFF_PERMISSIONS
    + (
        "customers.change_customer",
        "credits.add_creditbatch",
        "credits.delete_credit",
        "credits.undo_creditbatch",
        "billing.void_invoice",
        # Money back out: refund a credit's remaining, and reverse a refund (with a reason).
        "credits.add_refund",
        "credits.change_refund",
        # Locked logins: see the logins paused after five wrong passwords, and unlock a colleague's.
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
        # Background work: start runs (invoice runs, statement runs) and cancel them.
        "runs.add_run",
        "runs.change_run",
    ),
}


def ensure_staff_groups() -> None:
    """Create the staff groups that are missing and give each exactly the permissions GROUPS names.

    Safe to run again: a group keeps its id (and so its members). The permissions must exist, as they
    do after `manage.py migrate` (or a test database's flush). Migrations do not call this: see
    credits/migrations/0004_staff_groups.py for why they keep frozen copies.
    """
    wanted = {code for codes in GROUPS.values() for code in codes}
    found = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in Permission.objects.filter(
            content_type__app_label__in={code.split(".")[0] for code in wanted}
        ).values_list("pk", "content_type__app_label", "codename")
    }
    if missing := sorted(wanted - set(found)):
        raise LookupError(f"These permissions do not exist (has `manage.py migrate` run?): {', '.join(missing)}")
    for name, codes in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set([found[code] for code in codes])
