"""Email the credit note from the credit screens ("Email the credit note" on Add Credit and bulk credits).

The Outbox and the PDFs live in the documents app, a layer above credits: it registers the function here from
DocumentsConfig.ready(), as credits registers billing's settlement (README › Architecture).
"""

from __future__ import annotations

from collections.abc import Callable

EMAIL_LABEL = "Email the credit note"
EMAIL_BULK_LABEL = "Email each customer their credit note"

Sender = Callable[..., str]
_send: Sender | None = None


def register(send: Sender) -> None:
    global _send
    _send = send


def email_credit_notes(credit_ids: list[int], *, by=None, idempotency_key: str | None = None) -> str:
    """Queue each credit's note to its customer; what happened, in words for the page's message."""
    if _send is None:
        raise RuntimeError("documents is not installed: nothing can email a credit note")
    return _send(credit_ids, by=by, idempotency_key=idempotency_key)
