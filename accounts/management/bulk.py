"""The benchmark fast path: millions of ledger rows, set-based, consistent to the penny.

Every row is a pure function of its id and the seed, written as small SQL functions in
`pg_temp`, so one `INSERT ... SELECT generate_series(...)` per table builds it and each
stored aggregate (invoice total / paid / credited, credit assigned) is computed from the same
functions as the child rows it sums. The shape, for C customers, I invoices and K credits:

- invoice i and credit j belong to customer ((n - 1) mod C) + 1, so credit j and invoice j
  always share a customer, and so do credit j and invoice j + C;
- invoice i has 1-3 lines; 5% are void (nothing settled); a credit is unassigned, part- or
  fully assigned to invoice j, or split between invoices j and j + C; what a credit puts on
  an invoice is capped at half (primary) and 30% (split) of its first line, so no invoice is
  ever over-settled; payments then settle all, part or none of what is left, and the payment rows
  are cut from each stored invoice's `paid` (one payment, or two instalments);
- the last 1% of credits are one £10 goodwill bulk batch, unassigned.

Money is worked out in whole pence (bigint) and only turned into numeric on the way in.
PostgreSQL inlines these single-SELECT functions but never shares a repeated subexpression,
so a figure used several times is computed once in a `LATERAL (... OFFSET 0)` subquery (the
OFFSET stops the planner from pasting it back), and function calls are kept out of VALUES
lists, which are not inlined.

The tables are filled by two lanes at once (PostgreSQL runs one INSERT on one core), each a
transaction on its own connection with `session_replication_role = replica`, which skips the
ledger triggers (that would add every line to its invoice one row at a time), the history
triggers and the foreign-key checks; CHECK and UNIQUE constraints still apply, and the
aggregates are written already consistent. The lanes commit together: each waits for the
other before committing, and a failure in either rolls both back. Secondary indexes are
dropped first and rebuilt afterwards from their own definitions, which is several times
faster than maintaining them row by row. History (pghistory event) rows are not written for
bulk data.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.core.management.base import CommandError
from django.db import connection, transaction

from accounts.management.demo import CLASSES, FIRST_NAMES, SURNAMES
from billing_site.ledger import today

# Two lanes load at once, each on its own connection (PostgreSQL runs one INSERT on one core).
# Each lane only touches its own tables: payments are cut from the invoices of the same lane,
# and nothing else reads another table (foreign keys are not checked under replica).
LANES = [
    ["billing_invoice", "billing_payment"],
    ["customers_customer", "billing_invoiceline", "credits_creditbatch", "credits_credit", "credits_creditassignment"],
]
# Tables the load leaves empty, yet checks and truncates with the rest: they reference the loaded ones.
EMPTY_TABLES = ["credits_refund", "documents_email"]
TABLES = [table for lane in LANES for table in lane] + EMPTY_TABLES
# Tables whose ids the load chooses (other rows reference them); the rest take identity ids.
EXPLICIT_IDS = ["customers_customer", "billing_invoice", "credits_creditbatch", "credits_credit"]

# (description, quantity, unit price) of a line; picked per line by hash.
ITEMS = [
    ("Ballet — term fee", 1, "120.00"),
    ("Tap — term fee", 1, "96.00"),
    ("Street Dance — term fee", 1, "90.00"),
    ("Swim — 10 lessons", 1, "85.00"),
    ("Swim — single lesson", 1, "9.50"),
    ("Piano — 30-minute lesson", 10, "22.50"),
    ("Piano — 30-minute lesson", 4, "22.50"),
    ("Guitar — 30-minute lesson", 10, "21.00"),
    ("Violin — instrument hire (half term)", 1, "30.00"),
    ("Kids Club — after-school session", 12, "12.50"),
    ("Kids Club — half-term holiday club", 1, "95.00"),
    ("Drama — term fee", 1, "105.00"),
    ("Gymnastics — term fee", 1, "99.00"),
    ("Karate — grading fee", 1, "25.00"),
    ("Registration fee", 1, "15.00"),
    ("Leotard and tights", 1, "18.50"),
    ("End-of-term show tickets", 2, "7.50"),
    ("Ballet — Grade 1 exam entry", 1, "42.00"),
]
CREDIT_AMOUNTS = [
    "5.00",
    "8.50",
    "10.00",
    "12.50",
    "15.00",
    "20.00",
    "25.00",
    "30.00",
    "40.00",
    "50.00",
    "75.00",
    "100.00",
    "120.00",
    "250.00",
]
REASONS = ["refund", "write_off", "cancelled_class", "goodwill", "adjustment", "overpayment", "other"]
PAYMENT_METHODS = ["card", "card", "card", "bank_transfer", "bank_transfer", "cash", "cheque"]
DAYS_SPREAD = 180  # invoices and credits spread over about the last six months


@dataclass(frozen=True)
class Sizes:
    customers: int
    invoices: int
    credits: int

    @property
    def batch(self) -> int:
        """Credits in the one bulk batch: the last 1% of credits (at least one, if any)."""
        return min(self.credits, max(1, self.credits // 100))


def _text_array(values: list[str]) -> str:
    """A SQL array literal of our own constants (not user input)."""
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]::text[]"


def _functions(sizes: Sizes, seed: int, day: datetime.date) -> str:
    """The SQL functions every row is computed from; inlined by the planner (single-SELECT bodies)."""
    c, i, k = sizes.customers, sizes.invoices, sizes.credits
    unbatched = k - sizes.batch
    today_sql = f"DATE '{day.isoformat()}'"
    descriptions = _text_array([d for d, _, _ in ITEMS])
    quantities = "ARRAY[" + ", ".join(str(q) for _, q, _ in ITEMS) + "]"
    prices = "ARRAY[" + ", ".join(p for _, _, p in ITEMS) + "]::numeric[]"
    # Money is worked out in whole pence (bigint): exact, and far cheaper than numeric arithmetic.
    line_pence = "ARRAY[" + ", ".join(str(q * int(Decimal(p) * 100)) for _, q, p in ITEMS) + "]::bigint[]"
    credit_pence = "ARRAY[" + ", ".join(str(int(Decimal(a) * 100)) for a in CREDIT_AMOUNTS) + "]::bigint[]"
    body = {
        # A uniform pseudo-random integer in [0, m) for (n, salt): deterministic for a seed.
        "rnd(n bigint, salt int, m int) RETURNS int": f"((hashint8extended(n, {seed}::bigint * 1000 + salt) & 9223372036854775807) % m)::int",
        "owner(n bigint) RETURNS bigint": f"(n - 1) % {c} + 1",
        "item(n bigint, line int) RETURNS int": f"1 + pg_temp.rnd(n * 4 + line, 2, {len(ITEMS)})",
        "lines(n bigint) RETURNS int": "1 + (pg_temp.rnd(n, 1, 10) >= 6)::int + (pg_temp.rnd(n, 1, 10) >= 9)::int",
        "line_pence(n bigint, line int) RETURNS bigint": f"({line_pence})[pg_temp.item(n, line)]",
        "total(n bigint) RETURNS bigint": (
            "pg_temp.line_pence(n, 1)"
            " + CASE WHEN pg_temp.lines(n) >= 2 THEN pg_temp.line_pence(n, 2) ELSE 0 END"
            " + CASE WHEN pg_temp.lines(n) >= 3 THEN pg_temp.line_pence(n, 3) ELSE 0 END"
        ),
        "issued(n bigint) RETURNS date": f"{today_sql} - (({i} - n) * {DAYS_SPREAD} / GREATEST({i}, 1))::int",
        "is_void(n bigint) RETURNS boolean": "pg_temp.rnd(n, 3, 100) < 5",
        "credit_amount(n bigint) RETURNS bigint": f"CASE WHEN n > {unbatched} THEN 1000 ELSE ({credit_pence})[1 + pg_temp.rnd(n, 5, {len(CREDIT_AMOUNTS)})] END",
        "credit_date(n bigint) RETURNS date": f"{today_sql} - (({k} - n) * {DAYS_SPREAD} / GREATEST({k}, 1))::int",
        # 0 unassigned, 1 part-assigned, 2 fully assigned (if it fits), 3 split over two invoices.
        "kind(n bigint) RETURNS int": (
            f"CASE WHEN n > {unbatched} OR n > {i} OR pg_temp.is_void(n) THEN 0"
            " ELSE (pg_temp.rnd(n, 7, 100) >= 35)::int + (pg_temp.rnd(n, 7, 100) >= 55)::int + (pg_temp.rnd(n, 7, 100) >= 85)::int END"
        ),
        # Credits are capped by an invoice's first line, a floor of its total that costs one hash, not six.
        # What credit n puts on invoice n: at most half of it.
        "primary_part(n bigint) RETURNS bigint": (
            "CASE pg_temp.kind(n) WHEN 0 THEN 0"
            " WHEN 2 THEN LEAST(pg_temp.credit_amount(n), pg_temp.line_pence(n, 1) / 2)"
            " ELSE LEAST(pg_temp.credit_amount(n) / 2, pg_temp.line_pence(n, 1) / 2) END"
        ),
        # What a split credit n puts on invoice n + C: at most 30% of it.
        "split_part(n bigint) RETURNS bigint": (
            f"CASE WHEN pg_temp.kind(n) = 3 AND n + {c} <= {i} AND NOT pg_temp.is_void(n + {c})"
            f" THEN LEAST(pg_temp.credit_amount(n) - pg_temp.primary_part(n), pg_temp.line_pence(n + {c}, 1) * 3 / 10) ELSE 0 END"
        ),
        "credited(n bigint) RETURNS bigint": f"pg_temp.primary_part(n) + CASE WHEN n > {c} THEN pg_temp.split_part(n - {c}) ELSE 0 END",
        # What is paid of what credits left due: 55% pay it all, 17% a part, the rest nothing yet.
        "paid(n bigint, due bigint) RETURNS bigint": (
            "CASE WHEN pg_temp.rnd(n, 4, 100) < 55 THEN due WHEN pg_temp.rnd(n, 4, 100) < 72 THEN due * 4 / 10 ELSE 0 END"
        ),
        "pounds(pence bigint) RETURNS numeric": "pence * 0.01",
        "description(n bigint, line int) RETURNS text": f"({descriptions})[pg_temp.item(n, line)]",
        "quantity(n bigint, line int) RETURNS int": f"({quantities})[pg_temp.item(n, line)]",
        "unit_price(n bigint, line int) RETURNS numeric": f"({prices})[pg_temp.item(n, line)]",
    }
    return "\n".join(
        f"CREATE OR REPLACE FUNCTION pg_temp.{signature} LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ SELECT {expression} $f$;"
        for signature, expression in body.items()
    )


def _load_statements(
    sizes: Sizes, manager_id: int, staff_id: int, number_start: int, day: datetime.date
) -> dict[str, str]:
    """{table: the INSERT that fills it}."""
    c, i, k, b = sizes.customers, sizes.invoices, sizes.credits, sizes.batch
    first, last = _text_array(FIRST_NAMES), _text_array(SURNAMES)
    email_last = _text_array([s.lower().replace("'", "") for s in SURNAMES])
    classes, n_classes = _text_array(CLASSES), len(CLASSES)
    methods = _text_array(PAYMENT_METHODS)
    reasons = _text_array(REASONS)
    today_sql = f"DATE '{day.isoformat()}'"
    by = f"CASE WHEN n % 5 = 0 THEN {manager_id} ELSE {staff_id} END"
    steps = [
        (
            "customers_customer",
            f"""
            INSERT INTO customers_customer (id, name, email, phone, tags, notes, archived, created_at)
            SELECT n,
                   ({first})[f] || ' ' || ({last})[s],
                   lower(({first})[f]) || '.' || ({email_last})[s] || n || '@example.com',
                   '07' || substr(d, 1, 3) || ' ' || substr(d, 4, 6),
                   (ARRAY[({classes})[t % {n_classes} + 1], ({classes})[(t + 5) % {n_classes} + 1],
                          ({classes})[(t + 11) % {n_classes} + 1]])[1:1 + pg_temp.rnd(n, 15, 3)]::varchar(100)[],
                   '', false,
                   ({today_sql} - {DAYS_SPREAD} - pg_temp.rnd(n, 13, 365)) + time '09:00'
            FROM generate_series(1, {c}) n,
                 LATERAL (SELECT 1 + pg_temp.rnd(n, 20, {len(FIRST_NAMES)}) AS f, 1 + pg_temp.rnd(n, 21, {len(SURNAMES)}) AS s,
                                 pg_temp.rnd(n, 14, {n_classes}) AS t, lpad(pg_temp.rnd(n, 16, 1000000000)::text, 9, '0') AS d) r
            """,
        ),
        (
            "billing_invoice",
            f"""
            INSERT INTO billing_invoice
                (id, number, customer_id, issue_date, due_date, total, paid, credited, voided_at, voided_by_id, created_at, created_by_id)
            SELECT n, {number_start - 1} + n, pg_temp.owner(n), v.issued, v.issued + 14, pg_temp.pounds(v.total),
                   pg_temp.pounds(pg_temp.paid(n, v.due)), pg_temp.pounds(v.credited),
                   CASE WHEN v.void THEN v.issued + time '16:00' END, CASE WHEN v.void THEN {manager_id} END,
                   v.issued + time '09:00' + pg_temp.rnd(n, 17, 480) * interval '1 minute', {by}
            FROM generate_series(1, {i}) n,
                 LATERAL (SELECT pg_temp.issued(n) AS issued, pg_temp.total(n) AS total, pg_temp.is_void(n) AS void,
                                 CASE WHEN pg_temp.is_void(n) THEN 0 ELSE pg_temp.credited(n) END AS credited OFFSET 0) c,
                 LATERAL (SELECT c.*, CASE WHEN c.void THEN 0 ELSE c.total - c.credited END AS due OFFSET 0) v
            """,
        ),
        (
            "billing_invoiceline",
            f"""
            INSERT INTO billing_invoiceline (invoice_id, description, quantity, unit_price)
            SELECT n, pg_temp.description(n, line), pg_temp.quantity(n, line), pg_temp.unit_price(n, line)
            FROM generate_series(1, {i}) n, LATERAL generate_series(1, pg_temp.lines(n)) line
            """,
        ),
        (
            # Each invoice's paid figure as one payment, or two instalments for a fifth of those paid in full.
            "billing_payment",
            f"""
            INSERT INTO billing_payment (invoice_id, amount, date, method, created_at, created_by_id)
            SELECT i.id, p.amount, LEAST(i.issue_date + p.days, {today_sql}),
                   ({methods})[1 + pg_temp.rnd(i.id, 18, {len(PAYMENT_METHODS)})],
                   LEAST(i.issue_date + p.days, {today_sql}) + time '10:00', i.created_by_id
            FROM billing_invoice i,
                 LATERAL (SELECT i.paid >= 40 AND i.paid = i.total - i.credited AND pg_temp.rnd(i.id, 12, 10) < 2 AS two OFFSET 0) s,
                 LATERAL (VALUES (CASE WHEN s.two THEN floor(i.paid * 50) / 100 ELSE i.paid END, pg_temp.rnd(i.id, 10, 21)),
                                 (CASE WHEN s.two THEN i.paid - floor(i.paid * 50) / 100 ELSE 0 END, 30)) p(amount, days)
            WHERE i.paid > 0 AND p.amount > 0
            """,
        ),
        (
            "credits_creditbatch",
            f"""
            INSERT INTO credits_creditbatch (id, amount, date, reason, note, auto_apply, count, total, created_at, created_by_id)
            SELECT 1, 10.00, {today_sql} - 3, 'goodwill', 'Pool closed for maintenance, sorry!', true, {b}, 10.00 * {b},
                   ({today_sql} - 3) + time '11:00', {manager_id}
            WHERE {b} > 0
            """,
        ),
        (
            "credits_credit",
            f"""
            INSERT INTO credits_credit
                (id, number, customer_id, date, amount, assigned, reason, note, auto_apply, batch_id, version, created_at,
                 created_by_id)
            SELECT n, n, pg_temp.owner(n), pg_temp.credit_date(n), pg_temp.pounds(pg_temp.credit_amount(n)),
                   pg_temp.pounds(pg_temp.primary_part(n) + pg_temp.split_part(n)),
                   CASE WHEN batched THEN 'goodwill' ELSE ({reasons})[1 + pg_temp.rnd(n, 6, {len(REASONS)})] END,
                   CASE WHEN batched THEN 'Pool closed for maintenance, sorry!' ELSE '' END,
                   batched OR pg_temp.rnd(n, 8, 100) >= 15,
                   CASE WHEN batched THEN 1 END,
                   1, pg_temp.credit_date(n) + time '12:00', CASE WHEN batched THEN {manager_id} ELSE {staff_id} END
            FROM generate_series(1, {k}) n, LATERAL (SELECT n > {k - b} AS batched) x
            """,
        ),
        (
            "credits_creditassignment",
            f"""
            INSERT INTO credits_creditassignment (credit_id, invoice_id, amount, created_at, created_by_id)
            SELECT n, a.invoice_id, pg_temp.pounds(a.amount),
                   GREATEST(pg_temp.credit_date(n), pg_temp.issued(a.invoice_id)) + time '13:00', {staff_id}
            FROM generate_series(1, {min(k - b, i)}) n,
                 LATERAL (SELECT pg_temp.primary_part(n) AS first, pg_temp.split_part(n) AS second OFFSET 0) x,
                 LATERAL (VALUES (n, x.first), (n + {c}, x.second)) a(invoice_id, amount)
            WHERE a.amount > 0
            """,
        ),
    ]
    return dict(steps)


def _secondary_indexes(cursor, tables: list[str]) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the tables' indexes that back no constraint."""
    cursor.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
        WHERE t.relname = ANY(%s) AND t.relnamespace = 'public'::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))
        ORDER BY t.relname, 1
        """,
        [tables],
    )
    return cursor.fetchall()


def _load_lane(
    tables: list[str],
    statements: dict[str, str],
    functions: str,
    report: Callable[[str], None],
    ready: threading.Barrier,
) -> None:
    """Fill some tables on this thread's own connection, in one transaction that skips triggers."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("SET LOCAL jit = off")  # compiling these long expressions costs more than it saves
        cursor.execute(functions)
        # Building an index once after the load is several times faster than maintaining it row by row.
        indexes = _secondary_indexes(cursor, tables)
        if indexes:
            cursor.execute("DROP INDEX " + ", ".join(name for name, _ in indexes))
        for table in tables:
            begin = time.monotonic()
            cursor.execute(statements[table])
            report(f"  {table}: {max(cursor.rowcount, 0):,} rows, {time.monotonic() - begin:.1f} s")
        begin = time.monotonic()
        for _, definition in indexes:
            cursor.execute(definition)
        report(f"  {len(indexes)} indexes of {', '.join(tables)} rebuilt: {time.monotonic() - begin:.1f} s")
        ready.wait()  # commit only once every lane has loaded; a failed lane breaks the barrier and all roll back


def load(sizes: Sizes, *, seed: int, user_ids: tuple[int, int], report: Callable[[str], None]) -> None:
    """Build the data set in two parallel lanes, then VACUUM ANALYZE; report each step's time."""
    if connection.in_atomic_block:
        raise CommandError("The bulk load commits on connections of its own, so it cannot run inside a transaction.")
    started = time.monotonic()
    day = today()
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            raise CommandError(
                "The bulk load skips triggers with session_replication_role, which needs a superuser connection."
            )
        for table in TABLES:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
            if cursor.fetchone()[0]:
                raise CommandError(f"{table} is not empty; the bulk load needs an empty ledger.")
        number_start = 0
        if sizes.invoices:
            cursor.execute("SELECT nextval('billing_invoice_number_seq')")
            number_start = cursor.fetchone()[0]
    statements = _load_statements(sizes, *user_ids, number_start, day)
    functions = _functions(sizes, seed, day)
    report(
        f"Bulk load: {sizes.customers:,} customers, {sizes.invoices:,} invoices, {sizes.credits:,} credits (seed {seed})."
    )

    ready = threading.Barrier(len(LANES))
    committed, errors = [], []

    def lane(tables: list[str]) -> None:
        try:
            _load_lane(tables, statements, functions, report, ready)
            committed.append(tables)
        except BaseException as error:  # noqa: BLE001 - handed to the main thread
            ready.abort()
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=lane, args=(tables,)) for tables in LANES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with connection.cursor() as cursor:
        if errors:
            if committed:  # a commit failed after the other lane's succeeded: the tables were empty before
                cursor.execute(f"TRUNCATE {', '.join(TABLES)}")
            raise next((e for e in errors if not isinstance(e, threading.BrokenBarrierError)), errors[0])
        for table in EXPLICIT_IDS:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(max(id), 1), max(id) IS NOT NULL) FROM {table}"
            )
        if sizes.invoices:
            cursor.execute("SELECT setval('billing_invoice_number_seq', %s)", [number_start + sizes.invoices - 1])
        # Credit note numbers were written as the credits' ids (1..K); the next credit takes K + 1.
        cursor.execute(
            "INSERT INTO credits_creditnotecounter (id, last) SELECT 1, COALESCE(max(number), 0) FROM credits_credit"
            " ON CONFLICT (id) DO UPDATE SET last = EXCLUDED.last"
        )
        begin = time.monotonic()
        # VACUUM also sets the visibility map, so index-only scans work from the first query.
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(TABLES)}")
        report(f"  VACUUM (ANALYZE): {time.monotonic() - begin:.1f} s")
    report(f"Bulk load done in {time.monotonic() - started:.1f} s.")
