"""The one hidden field every create form carries: its idempotency key."""

from __future__ import annotations

import uuid

from django import forms

EXPIRED = "This form has expired: please reload the page and try again."


def new_key() -> str:
    """A fresh key, minted each time a form is drawn."""
    return uuid.uuid4().hex


class KeyedForm(forms.Form):
    """A form that creates something carries a key minted when it was drawn.

    The create service claims it (`idempotency.services`): the same form sent again (double click,
    resend, back button) returns what the first submit created, and writes nothing.
    """

    idempotency_key = forms.CharField(
        widget=forms.HiddenInput,
        max_length=64,
        initial=new_key,
        error_messages={"required": EXPIRED, "max_length": EXPIRED},
    )

    def add_error(self, field, error) -> None:
        # The key has no box to sit next to: what is wrong with it is said above the form.
        super().add_error(None if field == "idempotency_key" else field, error)
