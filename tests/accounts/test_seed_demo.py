"""seed_demo: the demo studio built through the services, the two logins, and the bulk fast path."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import Count

from accounts.management import bulk
from billing import services as billing
from billing.models import Invoice, InvoiceLine, Payment
from credits import roles
from credits.models import Credit, CreditAssignment, CreditBatch, Reason
from customers.models import Customer
from tests.ledger import keep_staff_groups  # noqa: F401 - a fixture

# Each query counts rows whose stored figures disagree with the rows they summarise, or that
# break a link the bulk load's skipped triggers and foreign-key checks would have kept.
LEDGER_MISMATCHES = {
    "invoice total is not the sum of its lines": """
        SELECT count(*) FROM billing_invoice i
        LEFT JOIN (SELECT invoice_id, sum(amount) AS s FROM billing_invoiceline GROUP BY invoice_id) l ON l.invoice_id = i.id
        WHERE i.total <> COALESCE(l.s, 0)""",
    "invoice without lines": """
        SELECT count(*) FROM billing_invoice i WHERE NOT EXISTS (SELECT 1 FROM billing_invoiceline l WHERE l.invoice_id = i.id)""",
    "invoice paid is not the sum of its payments": """
        SELECT count(*) FROM billing_invoice i
        LEFT JOIN (SELECT invoice_id, sum(amount) AS s FROM billing_payment GROUP BY invoice_id) p ON p.invoice_id = i.id
        WHERE i.paid <> COALESCE(p.s, 0)""",
    "invoice credited is not the sum of its assignments": """
        SELECT count(*) FROM billing_invoice i
        LEFT JOIN (SELECT invoice_id, sum(amount) AS s FROM credits_creditassignment GROUP BY invoice_id) a ON a.invoice_id = i.id
        WHERE i.credited <> COALESCE(a.s, 0)""",
    "credit assigned is not the sum of its assignments": """
        SELECT count(*) FROM credits_credit c
        LEFT JOIN (SELECT credit_id, sum(amount) AS s FROM credits_creditassignment GROUP BY credit_id) a ON a.credit_id = c.id
        WHERE c.assigned <> COALESCE(a.s, 0)""",
    "assignment across customers or to a void invoice": """
        SELECT count(*) FROM credits_creditassignment a
        JOIN credits_credit c ON c.id = a.credit_id JOIN billing_invoice i ON i.id = a.invoice_id
        WHERE c.customer_id <> i.customer_id OR i.voided_at IS NOT NULL""",
    "row pointing at nothing": """
        SELECT (SELECT count(*) FROM billing_invoice i WHERE NOT EXISTS (SELECT 1 FROM customers_customer c WHERE c.id = i.customer_id))
             + (SELECT count(*) FROM credits_credit c WHERE NOT EXISTS (SELECT 1 FROM customers_customer u WHERE u.id = c.customer_id))
             + (SELECT count(*) FROM credits_credit c WHERE c.batch_id IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM credits_creditbatch b WHERE b.id = c.batch_id))
             + (SELECT count(*) FROM billing_invoiceline l WHERE NOT EXISTS (SELECT 1 FROM billing_invoice i WHERE i.id = l.invoice_id))
             + (SELECT count(*) FROM billing_payment p WHERE NOT EXISTS (SELECT 1 FROM billing_invoice i WHERE i.id = p.invoice_id))
             + (SELECT count(*) FROM credits_creditassignment a WHERE NOT EXISTS (SELECT 1 FROM credits_credit c WHERE c.id = a.credit_id)
                OR NOT EXISTS (SELECT 1 FROM billing_invoice i WHERE i.id = a.invoice_id))""",
    "batch count or total differs from its credits (batches not undone)": """
        SELECT count(*) FROM credits_creditbatch b
        LEFT JOIN (SELECT batch_id, count(*) AS n, sum(amount) AS s FROM credits_credit GROUP BY batch_id) c ON c.batch_id = b.id
        WHERE b.undone_at IS NULL AND (b.count <> COALESCE(c.n, 0) OR b.total <> COALESCE(c.s, 0))""",
}


SEQUENCED = [
    "customers_customer",
    "billing_invoice",
    "billing_invoiceline",
    "billing_payment",
    "credits_credit",
    "credits_creditassignment",
    "credits_creditbatch",
]


def ledger_mismatches() -> dict[str, int]:
    """{what is wrong: how many rows}, only for checks that found something."""
    found = {}
    with connection.cursor() as cursor:
        for name, sql in LEDGER_MISMATCHES.items():
            cursor.execute(sql)
            if count := cursor.fetchone()[0]:
                found[name] = count
        # A sequence behind its table would make the next normal insert collide.
        sequences = [(table, "id", f"pg_get_serial_sequence('{table}', 'id')") for table in SEQUENCED] + [
            ("billing_invoice", "number", "'billing_invoice_number_seq'")
        ]
        for table, column, sequence in sequences:
            cursor.execute(f"SELECT {sequence}")
            (name,) = cursor.fetchone()
            cursor.execute(f"SELECT (SELECT max({column}) FROM {table}) >= last_value + is_called::int FROM {name}")
            if cursor.fetchone()[0]:
                found[f"{name} is behind {table}.{column}"] = 1
    return found


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def printed_passwords(output: str) -> dict[str, str]:
    return dict(re.findall(r"\b(manager|staff) / (\S+)", output))


def table_sizes() -> dict[str, int]:
    models = [Customer, Invoice, InvoiceLine, Payment, Credit, CreditAssignment, CreditBatch, User]
    return {model.__name__: model.objects.count() for model in models} | {"credit events": credit_events().count()}


def credit_events():
    return apps.get_model("credits", "CreditEvent").objects.all()


def check_ledger() -> str:
    out = StringIO()
    call_command("check_ledger", stdout=out)  # raises CommandError on any mismatch
    return out.getvalue()


@pytest.fixture(scope="class")
def demo(django_db_setup, django_db_blocker):
    """One demo seed shared by a class of read-only tests, rolled back afterwards."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield seed()
        transaction.set_rollback(True)


@pytest.mark.django_db
class TestDemo:
    def test_it_builds_a_studio_of_families_with_classes(self, demo):
        customers = list(Customer.objects.all())
        assert 250 <= len(customers) <= 400
        assert all(1 <= len(c.tags) <= 3 and c.email and c.phone.startswith("07") for c in customers)
        assert Customer.objects.tagged("Ballet Tue 4pm").exists() and Customer.objects.tagged("Swim Sat 10am").exists()
        assert InvoiceLine.objects.filter(description__startswith="Swim — 10 lessons").exists()
        assert InvoiceLine.objects.filter(description__regex=r"^Ballet — (autumn|spring|summer) term").exists()

    def test_it_makes_invoices_in_every_status(self, demo):
        statuses = set(Invoice.objects.values_list("status", flat=True))
        assert statuses == {"unpaid", "part_paid", "paid", "void"}
        assert Payment.objects.exists()
        assert Invoice.objects.filter(status="paid", credited__gt=0).exists()

    def test_it_makes_credits_with_every_reason_and_assignment_state(self, demo):
        assert set(Credit.objects.values_list("reason", flat=True)) == set(Reason.values)
        assert set(Credit.objects.values_list("status", flat=True)) == {
            "unassigned",
            "part_assigned",
            "fully_assigned",
            "refunded",
        }
        assert Credit.objects.filter(auto_apply=False).exists()
        split = CreditAssignment.objects.values("credit").annotate(n=Count("id")).filter(n__gt=1)
        assert split.exists(), "no credit is split across invoices"

    def test_it_makes_one_undoable_goodwill_batch_for_a_class(self, demo):
        batch = CreditBatch.objects.get()
        swimmers = Customer.objects.tagged("Swim Sat 10am").count()
        assert (batch.reason, batch.amount, batch.count, batch.is_undone) == (
            "goodwill",
            Decimal("10.00"),
            swimmers,
            False,
        )
        assert not batch.credits.filter(assigned__gt=0).exists()

    def test_it_spreads_dates_over_the_last_months(self, demo):
        dates = list(Invoice.objects.values_list("issue_date", flat=True))
        assert (max(dates) - min(dates)).days >= 60
        assert max(dates) <= datetime.date.today() + datetime.timedelta(days=1)

    def test_it_records_who_did_it_in_history(self, demo):
        assert credit_events().filter(pgh_label="insert", pgh_context__metadata__username="staff").exists()
        assert credit_events().filter(pgh_label="delete", pgh_context__metadata__username="manager").exists()
        assert (
            credit_events().filter(pgh_label="insert", batch__isnull=False).count() == CreditBatch.objects.get().count
        )

    def test_it_keeps_the_ledger_consistent(self, demo):
        assert ledger_mismatches() == {}

    def test_check_ledger_finds_nothing(self, demo):
        assert "Ledger OK" in check_ledger()

    def test_it_creates_exactly_two_logins_in_their_groups(self, demo):
        assert sorted(User.objects.values_list("username", flat=True)) == ["manager", "staff"]
        # seed_demo (in customers, which may not import credits) names the groups itself: they must be the roles'.
        assert list(User.objects.get(username="manager").groups.values_list("name", flat=True)) == [roles.MANAGERS]
        assert list(User.objects.get(username="staff").groups.values_list("name", flat=True)) == [roles.BILLING_STAFF]
        assert not User.objects.filter(is_superuser=True).exists()

    def test_it_prints_passwords_that_work(self, demo):
        passwords = printed_passwords(demo)
        assert "http://127.0.0.1:8000/" in demo
        assert set(passwords) == {"manager", "staff"} and passwords["manager"] != passwords["staff"]
        for username, password in passwords.items():
            assert authenticate(username=username, password=password).username == username

    def test_a_second_run_creates_nothing_and_says_so(self, demo):
        before = table_sizes()
        output = seed()
        assert table_sizes() == before
        assert "created nothing" in output
        assert printed_passwords(output) == {}
        assert "--reset-passwords" in output

    def test_reset_passwords_sets_new_ones_and_nothing_else(self, demo):
        before = table_sizes()
        output = seed("--reset-passwords")
        new = printed_passwords(output)
        assert table_sizes() == before
        assert set(new) == {"manager", "staff"} and new != printed_passwords(demo)
        assert authenticate(username="manager", password=new["manager"]) is not None
        assert authenticate(username="manager", password=printed_passwords(demo)["manager"]) is None


def empty_ledger() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(bulk.TABLES)}")


@pytest.fixture(scope="class")
def bulk_seed(django_db_setup, django_db_blocker):
    """One small bulk load shared by a class of tests; the load commits, so it is emptied afterwards."""
    with django_db_blocker.unblock():
        try:
            yield seed("--customers", "300", "--invoices", "2000", "--credits", "900")
        finally:
            empty_ledger()
            User.objects.filter(username__in=["manager", "staff"]).delete()


@pytest.mark.django_db
class TestFastPath:
    def test_it_loads_the_sizes_asked_for_with_every_status(self, bulk_seed):
        assert (Customer.objects.count(), Invoice.objects.count(), Credit.objects.count()) == (300, 2000, 900)
        assert set(Invoice.objects.values_list("status", flat=True)) == {"unpaid", "part_paid", "paid", "void"}
        assert set(Credit.objects.values_list("status", flat=True)) == {"unassigned", "part_assigned", "fully_assigned"}
        assert set(Credit.objects.values_list("reason", flat=True)) == set(Reason.values)
        assert CreditBatch.objects.get().count == Credit.objects.filter(batch__isnull=False).count() == 9
        assert Credit.objects.filter(auto_apply=False).exists() and Payment.objects.exists()
        assert CreditAssignment.objects.values("credit").annotate(n=Count("id")).filter(n=2).exists()  # split credits

    def test_it_reports_each_step_and_the_logins(self, bulk_seed):
        assert re.search(r"billing_invoice: 2,000 rows, \d+\.\d s", bulk_seed)
        assert "VACUUM (ANALYZE)" in bulk_seed
        assert set(printed_passwords(bulk_seed)) == {"manager", "staff"}

    def test_it_computes_every_stored_figure_from_the_rows(self, bulk_seed):
        assert CreditAssignment.objects.count() > 100
        assert ledger_mismatches() == {}

    def test_check_ledger_finds_nothing(self, bulk_seed):
        assert "Ledger OK" in check_ledger()

    def test_it_leaves_the_database_rules_working(self, bulk_seed):
        invoice = Invoice.objects.filter(status="unpaid").first()
        billing.record_payment(invoice, invoice.outstanding)
        invoice.refresh_from_db()
        assert invoice.status == "paid"  # the payment trigger is on again after the load
        new = billing.create_invoice(invoice.customer, [("Swim — 10 lessons", 1, "85.00")])
        assert new.number == Invoice.objects.exclude(pk=new.pk).order_by("-number").first().number + 1
        with pytest.raises(IntegrityError), transaction.atomic():
            Invoice.objects.filter(pk=new.pk).update(total=1)  # the guard refuses direct writes again
        assert ledger_mismatches() == {}


def test_the_fast_path_is_deterministic_for_a_seed(keep_staff_groups, transactional_db):  # noqa: F811 - the fixture imported above
    seed("--customers", "40", "--invoices", "120", "--credits", "60", "--seed", "7")
    first = list(Invoice.objects.order_by("id").values_list("customer_id", "total", "paid", "credited"))
    empty_ledger()
    seed("--customers", "40", "--invoices", "120", "--credits", "60", "--seed", "7")
    assert list(Invoice.objects.order_by("id").values_list("customer_id", "total", "paid", "credited")) == first


@pytest.mark.django_db
def test_the_fast_path_refuses_a_database_with_customers():
    Customer.objects.create(name="Amy Parent")
    output = seed("--customers", "100")
    assert "created nothing" in output
    assert Customer.objects.count() == 1 and not Invoice.objects.exists()


@pytest.mark.django_db
def test_the_fast_path_refuses_to_run_inside_a_transaction():
    with pytest.raises(CommandError, match="inside a transaction"):
        seed("--customers", "10")
    assert not Customer.objects.exists()
