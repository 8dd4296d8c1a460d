"""The Outbox: every email the studio sends, written first, then sent by a background job.

A row is the record of one message: to whom, what it says, what it carries (a credit note, an invoice or a
statement, made into a PDF when it is sent and kept here as sent), who asked and when, and how sending went:
queued → sending → sent, or failed with the reason. `documents.services` explains the exactly-once rules.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse


class EmailStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Attachment(models.TextChoices):
    NONE = "", "Nothing"
    CREDIT_NOTE = "credit_note", "Credit note"
    INVOICE = "invoice", "Invoice"
    STATEMENT = "statement", "Statement"


class Email(models.Model):
    to = models.EmailField(max_length=254)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    message_id = models.CharField(
        max_length=200, unique=True, help_text="The Message-ID header, the same on every try of this message"
    )
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="emails"
    )
    attachment = models.CharField(max_length=20, choices=Attachment.choices, blank=True, verbose_name="carries")
    credit = models.ForeignKey("credits.Credit", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    invoice = models.ForeignKey("billing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    attachment_name = models.CharField(max_length=200, blank=True)
    attachment_pdf = models.BinaryField(null=True, blank=True, editable=False, help_text="The PDF as it was sent")
    status = models.CharField(max_length=10, choices=EmailStatus.choices, default=EmailStatus.QUEUED)
    error = models.TextField(blank=True, help_text="Why the last try did not send it")
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    run = models.ForeignKey("runs.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "email"
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="email_created"),
            models.Index(fields=["status", "-created_at", "-id"], name="email_status_created"),
        ]
        constraints = [
            # No header can be smuggled in through a subject or an address.
            models.CheckConstraint(
                condition=~Q(subject__contains="\n")
                & ~Q(subject__contains="\r")
                & ~Q(to__contains="\n")
                & ~Q(to__contains="\r"),
                name="email_headers_are_one_line",
            ),
            models.CheckConstraint(
                condition=(Q(status=EmailStatus.SENT) & Q(sent_at__isnull=False))
                | (~Q(status=EmailStatus.SENT) & Q(sent_at__isnull=True)),
                name="email_sent_has_a_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Email #{self.pk} to {self.to}"

    def get_absolute_url(self) -> str:
        return reverse("documents:outbox_detail", args=[self.pk])

    @property
    def can_retry(self) -> bool:
        return self.status == EmailStatus.FAILED
