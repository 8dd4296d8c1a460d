"""Fill an empty database with a believable studio, or a large one for benchmarks.

manage.py seed_demo                      # ~300 families through the real services, two logins
manage.py seed_demo --customers 1000000 --invoices 5000000 --credits 2000000   # fast bulk load
manage.py seed_demo --reset-passwords    # new passwords for the two logins (creates them if missing)
"""

from __future__ import annotations

import secrets
import time

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from accounts.management import bulk
from accounts.management.demo import DemoStudio, summary
from customers.models import Customer

LOGINS = {"manager": "Managers", "staff": "Billing staff"}
SITE = "http://127.0.0.1:8000/"


def ensure_logins(*, reset: bool = False) -> dict[str, str]:
    """The manager and staff logins; returns {username: password} for those given a new password."""
    new_passwords = {}
    for username, group_name in LOGINS.items():
        try:
            group = Group.objects.get(name=group_name)
        except Group.DoesNotExist:
            raise CommandError(f"The group {group_name!r} is missing: run `manage.py migrate` first.") from None
        user, created = User.objects.get_or_create(username=username, defaults={"email": f"{username}@studio.example"})
        if created or reset:
            new_passwords[username] = secrets.token_urlsafe(12)
            user.set_password(new_passwords[username])
            user.save()
        user.groups.add(group)
    return new_passwords


def count(value: str) -> int:
    """A whole number of rows; 1_000_000 and 1,000,000 are read too."""
    number = int(value.replace("_", "").replace(",", ""))
    if number < 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Fill an empty database with a demo studio and two logins (manager, staff); size options make a large set fast."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=count, help="Bulk fast path: this many customers (e.g. 1000000).")
        parser.add_argument("--invoices", type=count, help="Bulk fast path: invoices (default 5 per customer).")
        parser.add_argument("--credits", type=count, help="Bulk fast path: credits (default 2 per customer).")
        parser.add_argument("--seed", type=int, default=2024, help="Random seed: the same seed gives the same data.")
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Only set new random passwords for the manager and staff logins, and print them.",
        )

    def handle(
        self, *args, customers=None, invoices=None, credits=None, seed=2024, reset_passwords=False, **options
    ) -> None:
        if reset_passwords:
            self.print_logins(ensure_logins(reset=True))
            return
        sizes = None
        if customers is not None or invoices is not None or credits is not None:
            customers = 100_000 if customers is None else customers
            if customers < 1:
                raise CommandError("--customers must be at least 1.")
            sizes = bulk.Sizes(
                customers=customers,
                invoices=customers * 5 if invoices is None else invoices,
                credits=customers * 2 if credits is None else credits,
            )
        # One transaction: a failed demo seed leaves the database empty to try again, and a second
        # run at the same moment waits on the lock and then finds the first one's customers.
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext('seed_demo'))")
            existing = Customer.objects.count()
            if existing:
                self.stdout.write(f"The database already has {existing:,} customers, so seed_demo created nothing.")
                self.print_logins({})
                return
            passwords = ensure_logins()
            manager, staff = User.objects.get(username="manager"), User.objects.get(username="staff")
            if sizes is None:
                started = time.monotonic()
                DemoStudio(manager=manager, staff=staff, seed=seed).build()
                self.stdout.write(f"Demo studio built in {time.monotonic() - started:.1f} s: {summary()}")
        if sizes is not None:
            bulk.load(sizes, seed=seed, user_ids=(manager.pk, staff.pk), report=self.stdout.write)
        self.print_logins(passwords)

    def print_logins(self, passwords: dict[str, str]) -> None:
        if len(passwords) == len(LOGINS):
            self.stdout.write(
                self.style.SUCCESS(
                    f"Log in at {SITE} as manager / {passwords['manager']} or staff / {passwords['staff']}"
                )
            )
            return
        for username, password in passwords.items():
            self.stdout.write(self.style.SUCCESS(f"Log in at {SITE} as {username} / {password}"))
        missing = [name for name in LOGINS if not User.objects.filter(username=name).exists()]
        if missing:
            self.stdout.write(
                f"There is no {' or '.join(missing)} login yet: `python manage.py seed_demo --reset-passwords` creates them."
            )
        elif not passwords:
            self.stdout.write(
                f"Log in at {SITE} as manager or staff. Their passwords were printed when they were created; "
                "`python manage.py seed_demo --reset-passwords` sets new ones (or `python manage.py changepassword manager`)."
            )
