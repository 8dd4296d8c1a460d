"""Billing › Outbox: every email, newest first."""

from __future__ import annotations

from billing_site.tables import ChoiceColumn, Column, StatusColumn, Table

from .models import Attachment, Email, EmailStatus


class OutboxTable(Table):
    """Long subjects and reasons wrap (td.wrap), so that Status stays on the screen."""

    created_at = Column(
        verbose_name="Queued", link="documents:outbox_detail", cell=lambda value, email: f"{value:%-d %b %Y %H:%M}"
    )
    to = Column(verbose_name="To")
    subject = Column(verbose_name="Subject", link="documents:outbox_detail", attrs={"td": {"class": "wrap wide"}})
    attachment = ChoiceColumn(Attachment, verbose_name="Carries")
    status = StatusColumn(EmailStatus, verbose_name="Status")
    attempts = Column(verbose_name="Tries")
    error = Column(
        verbose_name="Why not sent",
        attrs={"th": {"class": "wrap"}, "td": {"class": "wrap"}},
        orderable=False,
        cell=lambda value, email: value if email.status != EmailStatus.SENT else "",
    )
    created_by = Column(verbose_name="Asked by", accessor="created_by__username", default="system")

    class Meta(Table.Meta):
        model = Email
        fields = ["created_at", "to", "subject", "attachment", "status", "attempts", "error", "created_by"]
        order_by = ("-created_at",)
        empty_text = "No emails yet."
        attrs = {"aria-label": "Outbox"}
