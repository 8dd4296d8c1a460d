"""Email the family their documents, through the Outbox, exactly once.

Design:
- Asking for an email writes an Outbox row (`Email`) and defers its send job in the same transaction, so a
  rolled-back request leaves neither, and a committed one never loses its job. Every queueing function takes an
  idempotency key (`idempotency.services`): the same form sent twice queues one email.
- The job (`send`) sends in three steps:
  1. in a transaction, lock the row (FOR UPDATE); a row already sent, or failed, is left alone (a retried job finds
     it sent); otherwise make the PDF once (kept on the row: a retry sends the same bytes, and the Outbox shows
     what was sent), mark it `sending`, count the try, and commit;
  2. hand the message to the mail server, outside any transaction, with the row's Message-ID (the same on every
     try, so a receiving system can tell a repeat);
  3. mark it `sent` and commit; only then does the job return and the queue acknowledge it.
  A worker killed after 3 leaves a job that the stalled-job check retries: it finds the row sent and does
  nothing. A worker killed between 1 and 3 leaves the row `sending`: the message may or may not have reached
  the server, and nothing can tell which, so the retried job does not send it again — it marks it failed,
  saying so, for a person to check with the family and Retry. Nothing is ever sent twice by the machine; a
  message is never silently lost (README › Documents says this guarantee).
- The mail server down or busy (a connection error, a 4xx answer): the row goes back to `queued` with the reason,
  and the job is retried with a growing wait (`EMAIL_MAX_ATTEMPTS`, `EMAIL_RETRY_SECONDS`); after the last try,
  or at once when the server refuses the address (5xx), it is `failed` with the reason. **Retry** queues it again.
- Headers come only from checked values: the address is validated, a subject is one line (a customer's name
  with a line break in it cannot add a header; the database refuses one too), and Django's mail refuses the rest.
"""

from __future__ import annotations

import datetime
import os
import smtplib
import time
import uuid
from email.utils import make_msgid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from billing.models import Invoice
from credits.models import Credit
from customers.models import Customer
from idempotency import services as idempotency

from . import pdf
from .models import Attachment, Email, EmailStatus
from .statements import build_statement, check_period

NO_ADDRESS = "No email address"
BAD_ADDRESS = "The email address {address} is not valid"
NOT_FAILED = "Only a failed email can be sent again; this one is {status}."
MAYBE_SENT = (
    "The worker stopped while handing this message to the mail server, so it may or may not have arrived. "
    "It was not sent again on its own: check with the family, and Retry if it did not arrive."
)
GONE = "The {what} was deleted before the email was sent."
EMAIL_CREDIT_NOTE = "documents.email_credit_note"
EMAIL_INVOICE = "documents.email_invoice"
EMAIL_STATEMENT = "documents.email_statement"


class TryAgainLater(Exception):
    """The mail server could not take the message now (down, busy, a 4xx answer): the job is retried later."""


def one_line(text: str) -> str:
    """Text for a header: line breaks and runs of white space become one space."""
    return " ".join(str(text).split())


def check_address(customer: Customer) -> str:
    address = (customer.email or "").strip()
    if not address:
        raise ValidationError(NO_ADDRESS)
    try:
        validate_email(address)
    except ValidationError:
        raise ValidationError(BAD_ADDRESS.format(address=one_line(address))) from None
    return address


def _message_id() -> str:
    domain = settings.STUDIO_EMAIL.rpartition("@")[2] or "studio.invalid"
    return make_msgid(idstring=f"outbox.{uuid.uuid4().hex}", domain=domain)


def _queue(customer: Customer, *, subject: str, template: str, context: dict, by, run=None, **what) -> Email:
    """Write the Outbox row and defer its send job, in the caller's transaction."""
    from .tasks import defer_send  # the task module needs Procrastinate's app, ready only after apps load

    context = {**context, "customer": customer, "studio": pdf.studio()}
    email = Email.objects.create(
        to=check_address(customer),
        subject=one_line(subject)[:200],
        body=render_to_string(template, context),
        message_id=_message_id(),
        customer=customer,
        created_by=by,
        run=run,
        **what,
    )
    defer_send(email.pk)
    return email


def _keyed(scope: str, key: str | None, by, asked: str, make) -> Email:
    with transaction.atomic():
        claim = idempotency.claim(scope, key, by=by)
        if claim.taken:
            return claim.replay(asked, Email.objects.all(), "email")
        email = make()
        claim.record(email, asked)
        return email


def email_credit_note(credit: Credit, *, by=None, idempotency_key: str | None = None) -> Email:
    """Queue the credit note, as a PDF, to the customer's email address."""
    credit = Credit.objects.select_related("customer").get(pk=credit.pk)
    asked = idempotency.fingerprint(credit=credit.pk)
    return _keyed(EMAIL_CREDIT_NOTE, idempotency_key, by, asked, lambda: _queue_pdf(Attachment.CREDIT_NOTE, credit, by))


def email_credit_notes(
    credit_ids: list[int], *, by=None, idempotency_key: str | None = None
) -> tuple[list[Email], list[tuple[Credit, str]]]:
    """Queue each credit's note; returns the emails, and the credits that could not be emailed with the reason
    (no address, an invalid one), to be listed. One transaction. With a key, each credit's note is queued once
    however often the same form is sent."""
    emails, skipped = [], []
    with transaction.atomic():
        for credit in Credit.objects.filter(pk__in=credit_ids).select_related("customer").order_by("number"):
            key = f"{idempotency_key}-{credit.pk}" if idempotency_key else None
            try:
                emails.append(email_credit_note(credit, by=by, idempotency_key=key))
            except ValidationError as error:
                skipped.append((credit, " ".join(error.messages)))
    return emails, skipped


def email_credit_notes_in_words(credit_ids: list[int], *, by=None, idempotency_key: str | None = None) -> str:
    """email_credit_notes, said as the page's message (registered for the credit screens: credits.mailing)."""
    emails, skipped = email_credit_notes(credit_ids, by=by, idempotency_key=idempotency_key)
    said = []
    if len(emails) == 1:
        said.append(f"The credit note is queued to {emails[0].to} (Billing › Outbox).")
    elif emails:
        said.append(f"{len(emails):,} credit notes are queued to email (Billing › Outbox).")
    if skipped:
        listed = ", ".join(f"{credit.customer.name} ({reason.lower()})" for credit, reason in skipped[:10])
        more = f" and {len(skipped) - 10:,} more" if len(skipped) > 10 else ""
        said.append(f"Not emailed: {listed}{more}.")
    return " ".join(said)


def _queue_pdf(kind: Attachment, document: Credit | Invoice, by, run=None) -> Email:
    """A credit note or an invoice to its customer: "Credit note CN-000042 from <studio>", its template, its PDF."""
    name = "credit" if kind == Attachment.CREDIT_NOTE else "invoice"
    return _queue(
        document.customer,
        subject=f"{kind.label} {document.display_number} from {settings.STUDIO_NAME}",
        template=f"documents/email/{kind}.txt",
        context={name: document},
        by=by,
        run=run,
        attachment=kind,
        **{name: document},
    )


def email_invoice(invoice: Invoice, *, by=None, idempotency_key: str | None = None) -> Email:
    invoice = Invoice.objects.select_related("customer").get(pk=invoice.pk)
    asked = idempotency.fingerprint(invoice=invoice.pk)
    return _keyed(EMAIL_INVOICE, idempotency_key, by, asked, lambda: _queue_pdf(Attachment.INVOICE, invoice, by))


def email_invoices_of_run(invoices: QuerySet[Invoice], *, by=None, run=None) -> list[tuple[int, str, str]]:
    """An invoice run's "Email each invoice", inside its chunk's transaction (registered for billing.mailing): one
    queued email per invoice; the customers who cannot get one, as the run's problems (customer id, name, why)."""
    problems = []
    for invoice in invoices.select_related("customer").order_by("pk"):
        try:
            _queue_pdf(Attachment.INVOICE, invoice, by, run)
        except ValidationError as error:
            problems.append((invoice.customer_id, invoice.customer.name, f"Invoiced, not emailed: {error.messages[0]}"))
    return problems


def email_statement(
    customer: Customer,
    start: datetime.date,
    end: datetime.date,
    *,
    by=None,
    run=None,
    idempotency_key: str | None = None,
) -> Email:
    check_period(start, end)

    def make() -> Email:
        return _queue(
            customer,
            subject=f"Your statement from {settings.STUDIO_NAME}, {start:%-d %b %Y} to {end:%-d %b %Y}",
            template="documents/email/statement.txt",
            context={"start": start, "end": end},
            by=by,
            run=run,
            attachment=Attachment.STATEMENT,
            period_start=start,
            period_end=end,
        )

    asked = idempotency.fingerprint(customer=customer.pk, start=start, end=end)
    return _keyed(EMAIL_STATEMENT, idempotency_key, by, asked, make)


def retry(email: Email, *, by=None) -> Email:
    """Queue a failed email again (its PDF as first made); the same row, so the Outbox keeps one record."""
    from .tasks import defer_send

    with transaction.atomic():
        locked = Email.objects.select_for_update().get(pk=email.pk)
        if locked.status != EmailStatus.FAILED:
            raise ValidationError(NOT_FAILED.format(status=locked.get_status_display().lower()))
        locked.status = EmailStatus.QUEUED
        locked.error = f"Queued again by {by.get_username()}" if by is not None else "Queued again"
        locked.save(update_fields=["status", "error"])
        defer_send(locked.pk)
    return locked


# The job ---------------------------------------------------------------------------------------------------------


def _attachment(email: Email) -> tuple[str, bytes]:
    if email.attachment == Attachment.CREDIT_NOTE:
        credit = Credit.objects.select_related("customer").filter(pk=email.credit_id).first()
        if credit is None:
            raise ValidationError(GONE.format(what="credit"))
        return pdf.credit_note_filename(credit), pdf.credit_note_pdf(credit)
    if email.attachment == Attachment.INVOICE:
        invoice = Invoice.objects.select_related("customer").get(pk=email.invoice_id)
        return pdf.invoice_filename(invoice), pdf.invoice_pdf(invoice)
    statement = build_statement(email.customer, email.period_start, email.period_end)
    return statement.filename, pdf.statement_pdf(statement)


def _pause_for_tests(point: str) -> None:
    """A test kills the worker here (tests/documents/test_email_worker.py); never set outside tests."""
    if os.environ.get("EMAIL_TEST_PAUSE_AT") == point:
        time.sleep(float(os.environ.get("EMAIL_TEST_PAUSE_SECONDS", "60")))


def _take(email_id: int) -> Email | None:
    """Step 1: the row, marked sending with its PDF made, or None when there is nothing to send."""
    with transaction.atomic():
        email = Email.objects.select_for_update(of=("self",)).select_related("customer").filter(pk=email_id).first()
        if email is None or email.status in (EmailStatus.SENT, EmailStatus.FAILED):
            return None
        if email.status == EmailStatus.SENDING:
            _finish(email, EmailStatus.FAILED, MAYBE_SENT)
            return None
        if email.attachment and email.attachment_pdf is None:
            try:
                email.attachment_name, email.attachment_pdf = _attachment(email)
            except ValidationError as error:
                _finish(email, EmailStatus.FAILED, " ".join(error.messages))
                return None
        email.status = EmailStatus.SENDING
        email.attempts += 1
        email.last_attempt_at = timezone.now()
        email.save(update_fields=["status", "attempts", "last_attempt_at", "attachment_name", "attachment_pdf"])
        return email


def _finish(email: Email, status: str, error: str = "") -> None:
    Email.objects.filter(pk=email.pk).update(
        status=status, error=error, sent_at=timezone.now() if status == EmailStatus.SENT else None
    )


def message_of(email: Email) -> EmailMessage:
    message = EmailMessage(
        subject=email.subject,
        body=email.body,
        to=[email.to],
        reply_to=[settings.STUDIO_EMAIL],
        headers={"Message-ID": email.message_id},
    )
    if email.attachment_pdf is not None:
        message.attach(email.attachment_name, bytes(email.attachment_pdf), "application/pdf")
    return message


def send(email_id: int, *, last_try: bool) -> None:
    """The send job's work (see the module's docstring); raises TryAgainLater for the queue to retry."""
    email = _take(email_id)
    if email is None:
        return
    _pause_for_tests("before_smtp")
    try:
        message_of(email).send()
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as error:
        _finish(email, EmailStatus.FAILED, f"The mail server refused the message: {_smtp_reason(error)}")
        return
    except (smtplib.SMTPResponseException, smtplib.SMTPException, OSError) as error:
        code = getattr(error, "smtp_code", 0)
        reason = _smtp_reason(error)
        if 500 <= code < 600:
            _finish(email, EmailStatus.FAILED, f"The mail server refused the message: {reason}")
            return
        if last_try:
            _finish(email, EmailStatus.FAILED, f"Could not send after {email.attempts} tries: {reason}")
            return
        _finish(email, EmailStatus.QUEUED, f"Try {email.attempts} did not send ({reason}); it will be tried again.")
        raise TryAgainLater(reason) from error
    _finish(email, EmailStatus.SENT)
    _pause_for_tests("after_sent")


def _smtp_reason(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{address}: {code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
            for address, (code, text) in error.recipients.items()
        )
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        return f"{error.smtp_code} {text}"
    if isinstance(error, ConnectionRefusedError):
        return "the mail server did not answer (connection refused)"
    return str(error) or type(error).__name__
