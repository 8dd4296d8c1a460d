"""The few rows the measures need on top of seed_demo's data, written through the real services.

- a class tag on exactly 10,000 customers (and on 100,000, for the memory measure), spread over
  the whole table, for bulk credits and the invoice run to choose by;
- a customer with 300 invoices and 100 credits (the Billing tab), one of those credits split
  over six invoices (the Assignments tab and the Add assignment panel);
- a superuser for the Django admin baselines.

Each step checks what is already there, so a reused database is topped up, never doubled.
"""

from __future__ import annotations

import dataclasses
import datetime

from .config import BENCH_ADMIN, BUSY_NAME, SPLIT_PARTS, Size, tag_for

SPLIT_NOTE = "Cancelled classes, split over six invoices"


@dataclasses.dataclass(frozen=True)
class Fixtures:
    manager_id: int
    staff_id: int
    admin_id: int
    busy_customer_id: int
    split_credit_id: int
    tags: dict[int, str]


def _admin():
    from django.contrib.auth.models import User

    admin, created = User.objects.get_or_create(username=BENCH_ADMIN, defaults={"is_staff": True, "is_superuser": True})
    if created:
        admin.set_unusable_password()  # the benchmark logs in with force_login only
        admin.save()
    return admin


def _tag_customers(size: Size, count: int) -> str:
    """Put the tag on exactly `count` of seed_demo's customers, every (customers / count)-th one."""
    import pghistory
    from django.db import connection, transaction

    from customers.models import Customer

    tag = tag_for(count)
    if Customer.objects.filter(tags__contains=[tag]).count() == count:
        return tag
    step = max(1, size.customers // count)
    with transaction.atomic(), pghistory.context(action="bench_fixtures"), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE customers_customer SET tags = array_remove(tags, %s) WHERE tags @> ARRAY[%s]::varchar[]", [tag, tag]
        )
        cursor.execute(
            """
            UPDATE customers_customer SET tags = array_append(tags, %s)
            WHERE id IN (SELECT id FROM customers_customer WHERE id %% %s = 0 AND NOT archived ORDER BY id LIMIT %s)
            """,
            [tag, step, count],
        )
    return tag


def _busy_customer(size: Size, manager, staff):
    """A family with 300 invoices and 100 credits; one credit split over six invoices."""
    from billing import services as billing
    from billing.models import Invoice
    from billing_site.ledger import today
    from credits import services as credits
    from credits.models import Credit
    from customers import services as customers
    from customers.models import Customer

    busy_invoices, busy_credits = size.busy
    busy = Customer.objects.filter(name=BUSY_NAME).order_by("id").first()
    if busy is None:
        busy = customers.create_customer(
            name=BUSY_NAME,
            email="busy.family@bench.example",
            phone="07700 900300",
            tags=["Ballet Tue 4pm", "Swim Sat 10am"],
            by=manager,
        )
    day = today()
    have = Invoice.objects.filter(customer=busy).count()
    for number in range(have, busy_invoices):
        issued = day - datetime.timedelta(days=busy_invoices - number)
        billing.create_invoice(
            busy, [("Ballet — weekly class", 1, "12.50"), ("Swim — lesson", 1, "9.50")], issue_date=issued, by=staff
        )
    split = Credit.objects.filter(customer=busy, note=SPLIT_NOTE).first()
    if split is None:
        split = credits.add_credit(
            busy, "150.00", date=day, reason="cancelled_class", note=SPLIT_NOTE, auto_apply=False, by=staff
        )
        oldest = list(Invoice.objects.open_for(busy)[:SPLIT_PARTS])
        credits.assign_credit(split, {invoice: "20.00" for invoice in oldest}, by=staff)
    reasons = ["refund", "goodwill", "cancelled_class", "adjustment", "write_off", "other"]
    have = Credit.objects.filter(customer=busy).count()
    for number in range(have, busy_credits):
        credits.add_credit(
            busy,
            f"{5 + number % 20}.00",
            date=day - datetime.timedelta(days=number),
            reason=reasons[number % 6],
            auto_apply=number % 3 != 0,
            by=staff,
        )
    return busy, split


def ensure(size: Size) -> Fixtures:
    from django.contrib.auth.models import User
    from django.db import connection

    manager, staff = User.objects.get(username="manager"), User.objects.get(username="staff")
    admin = _admin()
    tags = {count: _tag_customers(size, count) for count in sorted({size.bulk_customers, *size.memory_customers})}
    busy, split = _busy_customer(size, manager, staff)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_customer")
    return Fixtures(manager.pk, staff.pk, admin.pk, busy.pk, split.pk, tags)
