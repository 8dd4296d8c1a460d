"""The send job: one Outbox row per job, retried with a growing wait while the mail server cannot take it."""

from __future__ import annotations

from django.conf import settings
from django.db import close_old_connections
from procrastinate import BaseRetryStrategy, RetryDecision
from procrastinate.contrib.django import app

from . import services


class MailServerBackoff(BaseRetryStrategy):
    """Retry only when the mail server could not take the message now, waiting EMAIL_RETRY_SECONDS × 2^(try − 1);
    read from the settings when a job fails, so tests can make the wait short."""

    def get_retry_decision(self, *, exception: BaseException, job) -> RetryDecision | None:
        if not isinstance(exception, services.TryAgainLater) or job.attempts + 1 >= settings.EMAIL_MAX_ATTEMPTS:
            return None
        return RetryDecision(retry_in={"seconds": settings.EMAIL_RETRY_SECONDS * 2**job.attempts})


@app.task(name="documents.send_email", queue="email", retry=MailServerBackoff(), pass_context=True)
def send_email(context, email_id: int) -> None:
    close_old_connections()
    try:
        services.send(email_id, last_try=context.job.attempts + 1 >= settings.EMAIL_MAX_ATTEMPTS)
    finally:
        close_old_connections()
