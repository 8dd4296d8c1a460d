"""The one table of idempotency keys: which submit (scope + key) created what, with which parameters.

Why a tiny app of its own: every create service uses it (customers, billing, credits and whatever
comes later), so it must sit below all of them; `billing_site` is plumbing and holds no models, and
putting the table in `customers` would make "customers" mean two things. So `idempotency` is the
lowest app layer, just above `billing_site`: it imports only Django and the plumbing.
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now


class IdempotencyKey(models.Model):
    """One create submit: written in the same transaction as what it created, and kept after that is deleted."""

    scope = models.CharField(max_length=100, help_text='The service, e.g. "credits.add_credit"')
    key = models.CharField(max_length=64)
    fingerprint = models.CharField(max_length=64, help_text="A digest of the parameters that matter")
    # What it created, by model label and pk. A label rather than a content type: nothing to look up or cache
    # (a content type's id cached by a long-running worker goes stale when the table is rebuilt).
    model = models.CharField(max_length=100, blank=True, help_text='e.g. "credits.credit"')
    object_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField(db_default=Now())
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_once_per_scope"),
            # What it created is named whole (model and id), or not yet (while its transaction runs).
            models.CheckConstraint(
                condition=Q(model="", object_id__isnull=True) | (~Q(model="") & Q(object_id__isnull=False)),
                name="idempotency_key_names_model_and_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"

    @property
    def created(self) -> models.Model | None:
        """What the key's submit created, if it still exists."""
        if not self.model:
            return None
        return apps.get_model(self.model)._default_manager.filter(pk=self.object_id).first()
