"""Credit note numbers: CN-000001 onward, unique, in order, with no gaps — a rolled-back credit gives its number back."""

from __future__ import annotations

import csv
import io
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from billing import services as billing
from credits import services as credits
from credits.models import Credit, CreditNoteCounter, credit_note_number
from tests.factories import CustomerFactory, credit_for, invoice_for
from tests.ledger import keep_staff_groups  # noqa: F401 - fixture
from tests.page import parse


def numbers() -> list[int]:
    return list(Credit.objects.order_by("number").values_list("number", flat=True))


def last() -> int:
    """The last number given so far (other tests' committed data may have moved the counter: numbers are never reused)."""
    counter = CreditNoteCounter.objects.first()
    return counter.last if counter else 0


@pytest.mark.django_db
def test_it_numbers_credits_from_cn_000001_in_the_order_they_are_made():
    amy, ben = CustomerFactory(), CustomerFactory()
    n = last()
    first = credit_for(amy, "10.00")
    second = credit_for(ben, "20.00")
    assert (first.number, first.display_number) == (n + 1, f"CN-{n + 1:06d}")
    assert second.number == n + 2
    assert CreditNoteCounter.objects.get().last == n + 2
    assert credit_note_number(42) == "CN-000042"


@pytest.mark.django_db
def test_a_rolled_back_credit_does_not_burn_a_number():
    amy = CustomerFactory()
    n = last()
    credit_for(amy, "10.00")
    with pytest.raises(RuntimeError), transaction.atomic():
        credit_for(amy, "11.00")
        raise RuntimeError("the request failed after the credit was written")
    assert credit_for(amy, "12.00").number == n + 2
    assert numbers()[-2:] == [n + 1, n + 2]


@pytest.mark.django_db
def test_bulk_credits_take_consecutive_numbers_after_the_single_ones_and_overpayments_take_the_next():
    customers = [CustomerFactory() for _ in range(5)]
    n = last()
    credit_for(customers[0], "10.00")
    batch = credits.add_bulk_credits(customers, "5.00", reason="goodwill")
    in_batch = list(batch.credits.order_by("customer_id").values_list("number", flat=True))
    assert in_batch == [n + 2, n + 3, n + 4, n + 5, n + 6]  # consecutive, in customer order
    invoice = invoice_for(customers[1], "40.00")
    paid = billing.record_payment(invoice, "50.00", overpayment_to_credit=True)
    assert paid.overpayment_credit.number == n + 7
    assert numbers()[-7:] == list(range(n + 1, n + 8))


@pytest.mark.django_db
def test_a_refused_bulk_credit_gives_its_numbers_back():
    amy = CustomerFactory()
    n = last()
    with pytest.raises(ValidationError):
        credits.add_bulk_credits([amy], "5000000.00")  # above £1,000,000.00: refused before anything is written
    with pytest.raises(RuntimeError), transaction.atomic():
        credits.add_bulk_credits([amy, CustomerFactory()], "5.00")
        raise RuntimeError
    assert credit_for(amy).number == n + 1


@pytest.mark.django_db
def test_a_number_is_fixed_and_unique():
    credit = credit_for(CustomerFactory())
    with pytest.raises(ProgrammingError, match="Cannot update"), transaction.atomic():
        Credit.objects.filter(pk=credit.pk).update(number=99)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO credits_credit (number, customer_id, date, amount, assigned, reason, note, auto_apply, "
            "version, created_at) VALUES (%s, %s, current_date, 5, 0, 'other', '', true, 1, now())",
            [credit.number, credit.customer_id],
        )


@pytest.mark.usefixtures("keep_staff_groups")
def test_two_credits_at_once_queue_on_the_counter_and_a_rollback_leaves_no_gap(transactional_db):
    amy, ben = CustomerFactory(), CustomerFactory()
    n = last()
    first_wrote, let_first_finish = threading.Event(), threading.Event()
    got: dict[str, int] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                credit_for(amy, "10.00")
                first_wrote.set()
                let_first_finish.wait(10)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        finally:
            connection.close()

    def second() -> None:
        try:
            got["second"] = credit_for(ben, "20.00").number
        finally:
            connection.close()

    one = threading.Thread(target=first)
    one.start()
    assert first_wrote.wait(10)
    two = threading.Thread(target=second)
    two.start()
    two.join(0.5)
    assert two.is_alive(), "the second credit must wait for the first's transaction to end"
    let_first_finish.set()
    one.join(10)
    two.join(10)
    assert got["second"] == n + 1  # the rolled-back credit's number went to the next credit
    assert numbers()[-1:] == [n + 1]


@pytest.mark.usefixtures("keep_staff_groups")
def test_the_migration_numbers_existing_credits_in_creation_order(transactional_db):
    amy = CustomerFactory()
    executor = MigrationExecutor(connection)
    executor.migrate([("credits", "0016_batch_run")])
    try:
        with connection.cursor() as cursor:
            for amount, made in (("1.00", "2026-03-01"), ("2.00", "2026-01-01"), ("3.00", "2026-02-01")):
                cursor.execute(
                    "INSERT INTO credits_credit (customer_id, date, amount, assigned, reason, note, auto_apply, "
                    "version, created_at) VALUES (%s, %s, %s, 0, 'other', '', true, 1, %s)",
                    [amy.pk, made, amount, made],
                )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    by_amount = dict(Credit.objects.values_list("amount", "number"))
    assert {str(a): n for a, n in by_amount.items()} == {"2.00": 1, "3.00": 2, "1.00": 3}
    assert credit_for(amy, "4.00").number == 4


@pytest.mark.django_db
def test_billing_credits_finds_a_credit_by_its_number_and_shows_and_exports_it(staff_client):
    amy, ben = CustomerFactory(name="Amy Parent"), CustomerFactory(name="Ben Parent")
    other = credit_for(amy, "10.00")
    wanted = credit_for(ben, "20.00")
    n = wanted.number
    for typed in (wanted.display_number, f"cn{n}", str(n)):
        page = parse(staff_client.get(reverse("credits:list"), {"q": typed}))
        rows = page.one("tbody").find_all("tr")
        assert [row.find_all("td")[0].text for row in rows] == [wanted.display_number], typed
    amys = parse(staff_client.get(reverse("credits:list"), {"q": "Amy"})).one("tbody").text
    assert other.display_number in amys and wanted.display_number not in amys
    exported = staff_client.get(reverse("credits:export"))
    lines = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert lines[0][0] == "Credit note" and {line[0] for line in lines[1:]} == {
        other.display_number,
        wanted.display_number,
    }
    detail = parse(staff_client.get(wanted.get_absolute_url()))
    assert f"Credit note {wanted.display_number} for Ben Parent" in detail.one("h1").text
    billing_tab = parse(staff_client.get(reverse("customers:billing", args=[ben.pk])))
    assert wanted.display_number in billing_tab.text
