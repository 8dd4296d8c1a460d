"""A worker killed (SIGKILL) while sending: nothing is sent twice, nothing is lost without a word.

Real `manage.py procrastinate worker` processes on the test database, a real SMTP server in this process. The send job
stops where the test asks (EMAIL_TEST_PAUSE_AT, read only by documents.services._pause_for_tests) and is killed there;
then the job is retried as the stalled-job check does (runs.tasks.retry_stalled_jobs, after 30 s without a heartbeat).
"""

from __future__ import annotations

import signal
import time

import pytest
from django.db import connection
from django.utils import timezone
from procrastinate.contrib.django import app

from documents import services
from documents.models import Email, EmailStatus
from tests.factories import CustomerFactory, credit_for
from tests.ledger import keep_staff_groups  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("keep_staff_groups")


def wait_for(condition, what: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def job_of(email: Email) -> tuple[int, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, status FROM procrastinate_jobs WHERE task_name = 'documents.send_email' AND (args->>'email_id')::bigint = %s",
            [email.pk],
        )
        return cursor.fetchone()


def status_of(email: Email) -> str:
    return Email.objects.values_list("status", flat=True).get(pk=email.pk)


def kill(worker) -> None:
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)


def test_a_worker_killed_after_sending_before_acknowledging_does_not_send_it_again(
    smtp_server, worker_processes, run_worker, monkeypatch
):
    email = services.email_credit_note(credit_for(CustomerFactory(email="amy@example.com")))
    monkeypatch.setenv("EMAIL_TEST_PAUSE_AT", "after_sent")
    worker = worker_processes()
    wait_for(lambda: status_of(email) == EmailStatus.SENT, "the worker to send the email")
    job_id, job_status = job_of(email)
    assert job_status == "doing"  # sent and recorded, not yet acknowledged
    kill(worker)
    assert len(smtp_server.messages) == 1
    monkeypatch.delenv("EMAIL_TEST_PAUSE_AT")
    app.job_manager.retry_job_by_id(job_id, retry_at=timezone.now())  # what the stalled-job check does
    run_worker()
    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.SENT, 1)
    assert len(smtp_server.messages) == 1  # the retried job found it sent
    assert job_of(email) is None  # and finished (successful jobs are deleted)


def test_a_worker_killed_while_handing_over_the_message_is_failed_not_resent_and_retry_sends_it(
    smtp_server, worker_processes, run_worker, monkeypatch
):
    email = services.email_credit_note(credit_for(CustomerFactory(email="ben@example.com")))
    monkeypatch.setenv("EMAIL_TEST_PAUSE_AT", "before_smtp")
    worker = worker_processes()
    wait_for(lambda: status_of(email) == EmailStatus.SENDING, "the worker to start sending")
    job_id, _ = job_of(email)
    kill(worker)
    monkeypatch.delenv("EMAIL_TEST_PAUSE_AT")
    app.job_manager.retry_job_by_id(job_id, retry_at=timezone.now())
    run_worker()
    email.refresh_from_db()
    assert email.status == EmailStatus.FAILED and email.error == services.MAYBE_SENT
    assert smtp_server.messages == []  # (here it had not reached the server; the machine cannot know that)
    services.retry(email)
    run_worker()
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT and len(smtp_server.messages) == 1


def test_a_statement_run_worked_by_two_worker_processes_sends_every_statement_once(
    smtp_server, worker_processes, manager
):
    """The send jobs a chunk defers commit with its Outbox rows, even in a worker process (whose Procrastinate
    connector is its own pool): no send job runs before its row exists."""
    from documents.runs import start_statement_run
    from documents.statements import default_period
    from runs.models import Run

    customers = [CustomerFactory(email=f"family{n}@example.com") for n in range(12)]
    for customer in customers:
        credit_for(customer, "5.00")
    run = start_statement_run(
        type(customers[0]).objects.filter(pk__in=[c.pk for c in customers]), *default_period(), by=manager
    )
    worker_processes(), worker_processes()
    emails = Email.objects.filter(run=run)
    wait_for(lambda: emails.filter(status=EmailStatus.SENT).count() == 12, "every statement to be sent", 120)
    assert Run.objects.get(pk=run.pk).status == "done"
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(c.email for c in customers)
