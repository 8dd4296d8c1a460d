"""Email from the billing and credit screens: an invoice run's "Email each invoice", "Email the credit note".

The Outbox and the PDFs live in the documents app, a layer above billing and credits: it registers what sends each
kind of document here from DocumentsConfig.ready(), as credits registers billing's settlement (README › Architecture).
"""

from __future__ import annotations

from collections.abc import Callable

INVOICES, CREDIT_NOTES = "invoices", "credit notes"

_senders: dict[str, Callable] = {}


def register(kind: str, send: Callable) -> None:
    _senders[kind] = send


def sender(kind: str) -> Callable:
    if kind not in _senders:
        raise RuntimeError(f"documents is not installed: nothing can email {kind}")
    return _senders[kind]
