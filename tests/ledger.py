"""What the ledger tests share: a fingerprint of every money table, and 'refused and wrote nothing'."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.db.models import Count, Max, Sum

from credits.management.commands.check_ledger import find_mismatches
from credits.roles import ensure_staff_groups

# (model label, fields summed) for every table a ledger write can touch, history included.
_TABLES = [
    ("customers.Customer", []),
    ("credits.Credit", ["amount", "assigned", "refunded", "version"]),
    ("credits.Refund", ["amount"]),
    ("credits.CreditAssignment", ["amount"]),
    ("credits.CreditBatch", ["total"]),
    ("billing.Invoice", ["total", "paid", "credited"]),
    ("billing.InvoiceLine", ["amount"]),
    ("billing.Payment", ["amount"]),
    ("credits.CreditEvent", []),
    ("credits.CreditAssignmentEvent", []),
    ("credits.CreditBatchEvent", []),
    ("credits.RefundEvent", []),
    ("billing.InvoiceEvent", []),
    ("billing.PaymentEvent", []),
    ("pghistory.Context", []),
]


def ledger_fingerprint() -> dict[str, Any]:
    """Row counts, sums and the newest id of every ledger table; any write changes it."""
    result: dict[str, Any] = {}
    for label, fields in _TABLES:
        model = apps.get_model(label)
        numbered = model._meta.pk.get_internal_type() in {"AutoField", "BigAutoField"}
        last = {"last": Max(model._meta.pk.name)} if numbered else {}
        result[label] = model.objects.aggregate(rows=Count("*"), **last, **{f: Sum(f) for f in fields})
    result["void invoices"] = apps.get_model("billing.Invoice").objects.filter(voided_at__isnull=False).count()
    result["reversed refunds"] = apps.get_model("credits.Refund").objects.filter(reversed_at__isnull=False).count()
    result["undone batches"] = apps.get_model("credits.CreditBatch").objects.filter(undone_at__isnull=False).count()
    return result


def messages_of(error: ValidationError) -> list[str]:
    return list(error.messages)


@contextlib.contextmanager
def refused(message: str) -> Iterator[pytest.ExceptionInfo[ValidationError]]:
    """The block must raise a ValidationError whose message contains `message`, and write nothing."""
    before = ledger_fingerprint()
    with pytest.raises(ValidationError) as info:
        yield info
    assert any(message in text for text in messages_of(info.value)), messages_of(info.value)
    assert ledger_fingerprint() == before, "a refused call wrote to the ledger"


def assert_ledger_clean() -> None:
    assert list(find_mismatches()) == []


def run_together(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run each job in its own thread with its own database connection, all released at once by a barrier.

    Returns each job's result, or the exception it raised.
    """
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(index: int, job: Callable[[], Any]) -> None:
        try:
            connection.ensure_connection()  # connect before the barrier, so the jobs really start together
            barrier.wait(timeout=30)
            results[index] = job()
        except Exception as error:  # noqa: BLE001 - handed back to the test to judge
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return results


@pytest.fixture
def keep_staff_groups(django_db_blocker):
    """Put the staff groups back after a transactional test's flush, for the tests that run after it.

    The groups come from a data migration, which a flush does not replay: credits.roles makes them
    again. Request this fixture before `transactional_db` so that its teardown runs after the flush,
    and not in a module with a module-wide `django_db` mark: that mark's autouse fixture would set up
    the flush first.
    """
    yield
    with django_db_blocker.unblock():
        ensure_staff_groups()
