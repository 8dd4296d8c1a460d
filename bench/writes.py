"""The bulk writes, each beside a hand-written SQL baseline that writes the same rows.

Every attempt runs in a transaction that is rolled back, so the data stays the same for the next
attempt and the next run. Foreign keys are deferred to commit in this schema, so each timed block
ends with `SET CONSTRAINTS ALL IMMEDIATE`, which runs those checks there and then: the time is
what a commit would have cost, less the WAL flush. The service and the baseline alternate, so
neither gets the warmer cache.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from decimal import Decimal

from .config import BULK_MAX_RATIO, BULK_MAX_SECONDS, BULK_POST_MAX_SECONDS, INVOICE_RUN_MAX_RATIO
from .fixtures import Fixtures
from .stats import Row, median, ms

AMOUNT = Decimal("5.00")
NOTE = "Bench bulk credit"
RUN_LINE = ("Bench — autumn term", 1, Decimal("120.00"))

# Credit note numbers taken as the service takes them: the counter row moved once by the count (issue 13).
RAW_BULK_CREDITS = """
WITH chosen AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n FROM customers_customer WHERE tags @> ARRAY[%(tag)s]::varchar[]
),
batch AS (
    INSERT INTO credits_creditbatch (amount, date, reason, note, auto_apply, count, total, created_at, created_by_id)
    SELECT %(amount)s, %(date)s, 'goodwill', %(note)s, true, count(*), %(amount)s * count(*), now(), %(by)s FROM chosen
    RETURNING id
),
counter AS (
    UPDATE credits_creditnotecounter SET last = last + (SELECT count(*) FROM chosen) WHERE id = 1
    RETURNING last - (SELECT count(*) FROM chosen) AS before
)
INSERT INTO credits_credit
    (number, customer_id, date, amount, assigned, reason, note, auto_apply, batch_id, version, created_at, created_by_id)
SELECT counter.before + chosen.n, chosen.id, %(date)s, %(amount)s, 0, 'goodwill', %(note)s, true, batch.id, 1, now(),
       %(by)s
FROM chosen, batch, counter
"""

RAW_INVOICE_RUN = [
    # Foreign keys checked per statement, as the service does (a long queue of deferred checks slows every later trigger query).
    "SET CONSTRAINTS ALL IMMEDIATE",
    """
    CREATE TEMPORARY TABLE bench_run ON COMMIT DROP AS
    WITH new AS (
        INSERT INTO billing_invoice (customer_id, issue_date, due_date, total, paid, credited, created_at, created_by_id)
        SELECT id, %(date)s, %(date)s + 14, 0, 0, 0, now(), %(by)s FROM customers_customer WHERE tags @> ARRAY[%(tag)s]::varchar[]
        RETURNING id, customer_id
    ) SELECT * FROM new
    """,
    """
    INSERT INTO billing_invoiceline (invoice_id, description, quantity, unit_price)
    SELECT id, %(description)s, %(quantity)s, %(price)s FROM bench_run
    """,
    # Every new invoice has the same total, so what is outstanding is known without reading it back.
    """
    INSERT INTO credits_creditassignment (credit_id, invoice_id, amount, created_at, created_by_id)
    SELECT credit_id, invoice_id, LEAST(remaining, %(total)s - covered_before), now(), %(by)s
    FROM (
        SELECT c.id AS credit_id, r.id AS invoice_id, c.remaining,
               SUM(c.remaining) OVER (PARTITION BY c.customer_id ORDER BY c.date, c.id) - c.remaining AS covered_before
        FROM bench_run r JOIN credits_credit c ON c.customer_id = r.customer_id AND c.auto_apply AND c.remaining > 0
    ) allocation
    WHERE covered_before < %(total)s
    """,
]


def rolled_back(work: Callable[[], object]) -> tuple[float, object]:
    """Seconds `work` takes, its deferred constraint checks included, in a transaction that is then rolled back."""
    from django.db import connection, transaction

    with transaction.atomic():
        started = time.perf_counter()
        result = work()
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        seconds = time.perf_counter() - started
        outcome = result() if callable(result) else result  # read what was written before it is rolled back
        transaction.set_rollback(True)
    return seconds, outcome


WRITTEN_TABLES = [
    "customers_customer",
    "billing_invoice",
    "billing_invoiceline",
    "credits_credit",
    "credits_creditbatch",
    "credits_creditassignment",
    "billing_invoiceevent",
    "billing_invoicelineevent",
    "credits_creditevent",
    "credits_creditbatchevent",
    "credits_creditassignmentevent",
    "pghistory_context",
]


def vacuum() -> float:
    """Clear what rolled-back attempts left behind.

    Every attempt updates the same credits (auto-apply) and then rolls back, leaving a dead row
    version and an index entry per attempt; without a VACUUM each later attempt, and each later
    run, walks a longer chain (seen: 1.3 ms → 11.6 ms per credit update after a dozen attempts).
    """
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(WRITTEN_TABLES)}")
    return time.perf_counter() - started


def _alternate(
    first: Callable[[], object], second: Callable[[], object], repeat: int, *, warm: bool = True
) -> tuple[list, list]:
    """Warm both up once, then run them `repeat` times each, alternating."""
    if warm:
        rolled_back(first), rolled_back(second)
    a, b = [], []
    for _ in range(repeat):
        a.append(rolled_back(first))
        b.append(rolled_back(second))
    return a, b


def _chosen(tag: str):
    from customers.models import Customer

    return Customer.objects.filter(tags__contains=[tag])


def bulk_credits_service(tag: str, by) -> Callable[[], object]:
    from credits import services as credits

    def work():
        batch = credits.add_bulk_credits(_chosen(tag), AMOUNT, reason="goodwill", note=NOTE, by=by)
        return batch.count

    return work


def bulk_credits_raw(tag: str, by) -> Callable[[], object]:
    from django.db import connection

    from billing_site.ledger import today

    def work():
        with connection.cursor() as cursor:
            cursor.execute(RAW_BULK_CREDITS, {"tag": tag, "amount": AMOUNT, "date": today(), "note": NOTE, "by": by.pk})
            return cursor.rowcount

    return work


def invoice_run_service(tag: str, by) -> Callable[[], object]:
    from billing import services as billing

    def work():
        run = billing.create_invoices(_chosen(tag), [RUN_LINE], by=by)
        return (run.count, run.credit_applied)

    return work


def invoice_run_raw(tag: str, by) -> Callable[[], object]:
    from django.db import connection

    from billing_site.ledger import today

    description, quantity, price = RUN_LINE
    params = {
        "tag": tag,
        "date": today(),
        "by": by.pk,
        "description": description,
        "quantity": quantity,
        "price": price,
        "total": quantity * price,
    }

    def work():
        with connection.cursor() as cursor:
            for statement in RAW_INVOICE_RUN:
                cursor.execute(statement, params)

        def written():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*), COALESCE(SUM(i.credited), 0) FROM bench_run r JOIN billing_invoice i ON i.id = r.id"
                )
                return tuple(cursor.fetchone())

        return written

    return work


def measure_bulk_credits(fx: Fixtures, count: int, repeat: int) -> Row:
    from django.contrib.auth.models import User

    manager = User.objects.get(pk=fx.manager_id)
    service, raw = _alternate(
        bulk_credits_service(fx.tags[count], manager), bulk_credits_raw(fx.tags[count], manager), repeat
    )
    value, base = median([s for s, _ in service]), median([s for s, _ in raw])
    written = {service[0][1], raw[0][1]}
    assert written == {count}, f"the bulk credit wrote {written} credits, not {count}"
    ratio = value / base
    return Row(
        f"add_bulk_credits, {count:,} customers",
        ms(value),
        baseline=f"{ms(base)} (raw INSERT … SELECT)",
        ratio=f"{ratio:.2f}×",
        target=f"≤ {BULK_MAX_RATIO:g}× and ≤ {BULK_MAX_SECONDS:g} s",
        met=ratio <= BULK_MAX_RATIO and value <= BULK_MAX_SECONDS,
        notes=f"median of {repeat}, each rolled back; {count:,} credits + history rows both ways",
        data={
            "seconds": value,
            "baseline_seconds": base,
            "runs": [s for s, _ in service],
            "baseline_runs": [s for s, _ in raw],
        },
    )


def measure_invoice_run(fx: Fixtures, count: int, repeat: int) -> Row:
    from django.contrib.auth.models import User

    staff = User.objects.get(pk=fx.staff_id)
    # Each attempt takes seconds at full size, so no separate warm-up.
    service, raw = _alternate(
        invoice_run_service(fx.tags[count], staff), invoice_run_raw(fx.tags[count], staff), repeat, warm=False
    )
    value, base = median([s for s, _ in service]), median([s for s, _ in raw])
    (invoices, applied), (raw_invoices, raw_applied) = service[0][1], raw[0][1]
    assert (invoices, applied) == (raw_invoices, raw_applied), (
        f"service {invoices}/{applied} but raw SQL {raw_invoices}/{raw_applied}"
    )
    ratio = value / base
    return Row(
        f"invoice run (create_invoices + auto-apply), {count:,} customers",
        ms(value),
        baseline=f"{ms(base)} (raw SQL)",
        ratio=f"{ratio:.2f}×",
        target=f"≤ {INVOICE_RUN_MAX_RATIO:g}×",
        met=ratio <= INVOICE_RUN_MAX_RATIO,
        notes=f"median of {repeat}, rolled back; {invoices:,} invoices, £{applied:,} of credit applied (raw SQL: the same)",
        data={
            "seconds": value,
            "baseline_seconds": base,
            "invoices": invoices,
            "credit_applied": str(applied),
            "runs": [s for s, _ in service],
            "baseline_runs": [s for s, _ in raw],
        },
    )


def measure_bulk_post(client, fx: Fixtures, count: int, repeat: int) -> Row:
    """Group Actions › Create Credit for "all matching" a tag: the real view, its form and its service."""
    from django.http import QueryDict

    from billing.selection import read_selection
    from billing_site.ledger import today
    from billing_site.money import parse_amount

    choice = QueryDict(mutable=True)
    choice.update({"all_matching": "1", "q": "", "tag": fx.tags[count], "outstanding": ""})
    # Above 50 customers Create asks once more; the form sent is the one that says "Yes, credit N customers".
    confirmed = read_selection(choice, required=True).confirmation(count, parse_amount(f"{AMOUNT}"))

    def post():
        data = {
            **choice.dict(),
            "confirmed": confirmed,
            "amount": f"{AMOUNT}",
            "date": today().isoformat(),
            "reason": "goodwill",
            "note": f"{NOTE} (form)",
            "auto_apply": "on",
            "idempotency_key": uuid.uuid4().hex,
            "expected_count": str(count),
        }
        response = client.post("/billing/credits/bulk/", data)
        assert response.status_code == 303, f"the bulk credit form answered {response.status_code}"
        return response.status_code

    rolled_back(post)
    runs = [rolled_back(post)[0] for _ in range(repeat)]
    value = median(runs)
    return Row(
        f"bulk credit POST, all matching a tag ({count:,})",
        ms(value),
        target=f"≤ {BULK_POST_MAX_SECONDS:g} s",
        met=value <= BULK_POST_MAX_SECONDS,
        notes=f"median of {repeat}; in-process POST through the middleware, rolled back",
        data={"seconds": value, "runs": runs},
    )
