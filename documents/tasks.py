"""The send job: one Outbox row per job, retried with a growing wait while the mail server cannot take it."""

from __future__ import annotations

from django.conf import settings
from django.db import close_old_connections
from procrastinate import BaseRetryStrategy, RetryDecision
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.manager import JobManager

from . import services


class MailServerBackoff(BaseRetryStrategy):
    """Retry only when the mail server could not take the message now, waiting EMAIL_RETRY_SECONDS × 2^(try − 1);
    read from the settings when a job fails, so tests can make the wait short."""

    def get_retry_decision(self, *, exception: BaseException, job) -> RetryDecision | None:
        if not isinstance(exception, services.TryAgainLater) or job.attempts + 1 >= settings.EMAIL_MAX_ATTEMPTS:
            return None
        return RetryDecision(retry_in={"seconds": settings.EMAIL_RETRY_SECONDS * 2**job.attempts})


_in_django_transaction = JobManager(DjangoConnector())


def defer_send(email_id: int) -> int:
    """Defer the send job through Django's own connection, in the caller's transaction, wherever it runs.

    `send_email.defer()` goes through the app's connector, which a worker process swaps for its own pool: deferred
    from inside a job (a statement run's chunk), the job would be committed at once, before the chunk's Outbox row,
    and could run before the row exists. Written through Django's connection it commits, or not, with the row."""
    deferrer = send_email.configure()
    return _in_django_transaction.defer_job(deferrer.make_new_job(email_id=email_id)).id


@app.task(name="documents.send_email", queue="email", retry=MailServerBackoff(), pass_context=True)
def send_email(context, email_id: int) -> None:
    close_old_connections()
    try:
        services.send(email_id, last_try=context.job.attempts + 1 >= settings.EMAIL_MAX_ATTEMPTS)
    finally:
        close_old_connections()
