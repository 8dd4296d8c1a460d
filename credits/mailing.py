"""Email the credit note from the credit screens ("Email the credit note" on Add Credit and bulk credits), through
what the documents app registers (billing.mailing)."""

from __future__ import annotations

from billing import mailing

EMAIL_LABEL = "Email the credit note"
EMAIL_BULK_LABEL = "Email each customer their credit note"


def email_credit_notes(credit_ids: list[int], *, by=None, idempotency_key: str | None = None) -> str:
    """Queue each credit's note to its customer; what happened, in words for the page's message."""
    return mailing.sender(mailing.CREDIT_NOTES)(credit_ids, by=by, idempotency_key=idempotency_key)
