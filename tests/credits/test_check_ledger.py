"""manage.py check_ledger: clean on good data; with the guards switched off, every planted mismatch is found."""

from __future__ import annotations

import contextlib
import io

import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError
from django.db import connection

from billing import services as billing
from credits import services as credits
from customers.models import Customer
from tests.factories import CustomerFactory, credit_for, invoice_for

pytestmark = pytest.mark.django_db


def sql(statement: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


@contextlib.contextmanager
def guards_off():
    """Switch off every trigger (as a restore or a careless operator might); SET LOCAL ends with the test's transaction."""
    sql("SET LOCAL session_replication_role = replica")
    yield
    sql("SET LOCAL session_replication_role = origin")


def check_ledger() -> str:
    out = io.StringIO()
    call_command("check_ledger", stdout=out)
    return out.getvalue()


def failing_check_ledger() -> str:
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"Ledger has \d+ mismatch"):
        call_command("check_ledger", stdout=out)
    return out.getvalue()


@pytest.fixture
def ledger(customer, manager):
    """A small ledger in every state: split, part-assigned, paid, part-paid, void, a batch."""
    CustomerFactory()
    credit = credit_for(customer, "250.00", by=manager)
    first, second = invoice_for(customer, "100.00"), invoice_for(customer, "200.00")
    credits.assign_credit(credit, {first: "100.00", second: "150.00"})
    billing.record_payment(second, "20.00")
    auto = credit_for(customer, "30.00", auto_apply=True)
    third = invoice_for(customer, "10.00")  # settled from `auto`
    billing.void_invoice(invoice_for(customer, "55.00"))
    batch = credits.add_bulk_credits(Customer.objects.all(), "5.00")
    return {"credit": credit, "auto": auto, "first": first, "second": second, "third": third, "batch": batch}


def test_it_reports_a_clean_ledger(ledger):
    assert check_ledger().strip() == "Ledger OK: 4 invoices, 4 credits checked"


def test_it_reports_an_empty_ledger_as_clean():
    assert check_ledger().strip() == "Ledger OK: 0 invoices, 0 credits checked"


def test_it_finds_an_invoice_total_written_behind_the_triggers_back(ledger):
    first = ledger["first"]
    with guards_off():
        sql("UPDATE billing_invoice SET total = 999 WHERE id = %s", [first.pk])
    out = failing_check_ledger()
    assert f"Invoice {first}: total is 999.00 but the rows say 100.00" in out
    assert "outstanding is 899.00 but the rows say 0.00" in out
    assert "status is part_paid but the rows say paid" in out


def test_it_finds_a_payment_the_invoice_does_not_know_about(ledger):
    second = ledger["second"]
    with guards_off():
        sql(
            "INSERT INTO billing_payment (invoice_id, amount, date, method, created_at) VALUES (%s, 30, now(), 'cash', now())",
            [second.pk],
        )
    out = failing_check_ledger()
    assert f"Invoice {second}: paid is 20.00 but the rows say 50.00" in out
    assert "payments and credits (200.00) exceed the lines (200.00)" not in out
    assert "status is part_paid but the rows say paid" in out


def test_it_finds_a_credit_whose_assigned_figure_was_changed(ledger):
    credit = ledger["credit"]
    with guards_off():
        sql("UPDATE credits_credit SET assigned = 10 WHERE id = %s", [credit.pk])
    out = failing_check_ledger()
    assert f"Credit #{credit.pk}: assigned is 10.00 but the rows say 250.00" in out
    assert "status is part_assigned but the rows say fully_assigned" in out


def test_it_finds_an_assignment_removed_without_its_triggers(ledger):
    credit, first = ledger["credit"], ledger["first"]
    with guards_off():
        sql("DELETE FROM credits_creditassignment WHERE invoice_id = %s", [first.pk])
    out = failing_check_ledger()
    assert f"Credit #{credit.pk}: assigned is 250.00 but the rows say 150.00" in out
    assert f"Invoice {first}: credited is 100.00 but the rows say 0.00" in out


def test_it_finds_an_over_assigned_credit_and_an_over_settled_invoice(ledger):
    credit, second = ledger["credit"], ledger["second"]
    with guards_off():
        sql(
            "INSERT INTO credits_creditassignment (credit_id, invoice_id, amount, created_at) VALUES (%s, %s, 40, now())",
            [credit.pk, second.pk],
        )
    out = failing_check_ledger()
    assert "its assignments (290.00) exceed its amount (250.00)" in out
    assert f"Invoice {second}: credited is 150.00 but the rows say 190.00" in out
    assert "payments and credits (210.00) exceed the lines (200.00)" in out


def test_it_finds_an_assignment_across_customers_and_one_to_a_void_invoice(ledger, customer):
    other = CustomerFactory()
    theirs = invoice_for(other, "80.00")
    void = billing.void_invoice(invoice_for(customer, "80.00"))
    credit = ledger["auto"]
    with guards_off():
        sql(
            "INSERT INTO credits_creditassignment (credit_id, invoice_id, amount, created_at) VALUES (%s, %s, 1, now()), (%s, %s, 1, now())",
            [credit.pk, theirs.pk, credit.pk, void.pk],
        )
    out = failing_check_ledger()
    assert f"is assigned to an invoice of customer {other.pk}" in out
    assert f"credit #{credit.pk} is assigned to void invoice id {void.pk}" in out
    assert f"Invoice {void}: credited is 0.00 but the rows say 1.00" in out
    assert "it is void but still has payments or credits" in out


def test_it_finds_a_batch_whose_total_is_not_count_times_amount(ledger):
    batch = ledger["batch"]
    sql("SET CONSTRAINTS ALL IMMEDIATE")  # run the pending foreign-key checks, which ALTER TABLE will not wait for
    sql(
        "ALTER TABLE credits_creditbatch DROP CONSTRAINT batch_total_is_count_times_amount"
    )  # undone with the test's transaction
    with guards_off():
        sql("UPDATE credits_creditbatch SET total = 1 WHERE id = %s", [batch.pk])
    out = failing_check_ledger()
    assert f"Batch #{batch.pk}: total is 1.00 but 2 × 5.00 = 10.00" in out


def test_it_lists_every_mismatch_and_counts_them(ledger):
    with guards_off():
        sql("UPDATE billing_invoice SET total = total + 1 WHERE voided_at IS NULL")
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"Ledger has 3 mismatches \(4 invoices, 4 credits checked\)"):
        call_command("check_ledger", stdout=out)
    assert out.getvalue().count("Invoice INV-") == 3


def test_it_exits_with_status_1_from_the_command_line(ledger, monkeypatch, capsys):
    with guards_off():
        sql("UPDATE credits_credit SET assigned = 0")
    # The command line closes every connection when done; keep the test's transaction open instead.
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)
    with pytest.raises(SystemExit) as exit:
        ManagementUtility(["manage.py", "check_ledger"]).execute()
    assert exit.value.code == 1
    assert "mismatch" in capsys.readouterr().err


def test_it_exits_with_status_0_on_a_clean_ledger(ledger, monkeypatch, capsys):
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)
    ManagementUtility(["manage.py", "check_ledger"]).execute()  # no SystemExit: status 0
    assert "Ledger OK: 4 invoices, 4 credits checked" in capsys.readouterr().out


def test_it_finds_a_refund_written_without_its_triggers(ledger):
    credit = ledger["credit"]
    with guards_off():
        sql(
            "INSERT INTO credits_refund (credit_id, amount, date, method, note, created_at, reversal_reason) "
            "VALUES (%s, 5, now(), 'card', '', now(), '')",
            [credit.pk],
        )
    out = failing_check_ledger()
    assert f"Credit #{credit.pk}: refunded is 0.00 but the rows say 5.00" in out
    assert "remaining is 0.00 but the rows say -5.00" in out
    assert "its assignments (250.00) and refunds (5.00) exceed its amount (250.00)" in out


def test_a_reversed_refund_counts_for_nothing(ledger):
    refund = credits.refund_credit(ledger["auto"], "5.00")
    credits.reverse_refund(refund, reason="Mistake")
    assert "Ledger OK" in check_ledger()
