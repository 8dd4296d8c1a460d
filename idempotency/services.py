"""One way to stop a double submit: every create service claims its key here, inside its own transaction.

Design:
- `claim(scope, key)` runs `INSERT ... ON CONFLICT (scope, key) DO NOTHING` in the service's transaction,
  before the service locks anything else. The first submit gets the row. A twin sent at the same moment
  waits in that INSERT on the unique index until the first commits (it then reads the row) or rolls back
  (it then takes the key itself): no advisory lock, no second mechanism.
- Then the service either replays (`Claim.replay`: the same parameters return what the first submit
  created; different parameters, or a first result that has since been deleted, are a clear
  ValidationError and nothing is created) or creates and `Claim.record`s what it created. The key row
  commits or rolls back with what it guards: a refused create leaves no key behind.
- The scope names the service ("credits.add_credit"), so keys of different services never collide.
- The fingerprint is a digest of the parameters that matter, as the service checked and normalised them
  (amounts as two-place decimals, dates, customers and invoices by id); the key is never compared with
  what the object holds now, so a resend after someone modified the credit still returns it.
- A key stays taken for good: deleting what it created does not free it (the same form again says so).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import QuerySet

from .models import IdempotencyKey

MAX_KEY_LENGTH = 64
KEY_TOO_LONG = "An idempotency key is at most 64 characters."
USED_FOR_ANOTHER = "This form was already used for a different {what}. Reload the page to start a new one."
SINCE_DELETED = "This form already made {a} {what}, which has since been deleted. Reload the page to start a new one."


def check_key(key: object) -> str | None:
    """The key as given (None or "" means none); longer than 64 characters is refused."""
    if key is None or key == "":
        return None
    key = str(key)
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationError({"idempotency_key": KEY_TOO_LONG})
    return key


def _plain(value: object) -> object:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot fingerprint {type(value).__name__}")


def fingerprint(**params: object) -> str:
    """A digest of a create's parameters: equal parameters, equal digest (objects count by their pk)."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"), default=_plain)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclasses.dataclass
class Claim:
    """A service's hold on its key: either this call's new row, or what an earlier submit left."""

    scope: str
    key: str | None
    pk: int | None = None
    earlier: IdempotencyKey | None = None

    @property
    def taken(self) -> bool:
        """An earlier submit with this key committed: replay it instead of creating."""
        return self.earlier is not None

    def replay(self, fingerprint: str, queryset: QuerySet, what: str) -> models.Model:
        """What the earlier submit created, when it was asked for the same thing; otherwise a clear refusal."""
        assert self.earlier is not None, "replay() is for a key that is taken"
        if self.earlier.fingerprint != fingerprint:
            raise ValidationError(USED_FOR_ANOTHER.format(what=what))
        made = queryset.filter(pk=self.earlier.object_id).first() if self.earlier.object_id is not None else None
        if made is None:
            raise ValidationError(SINCE_DELETED.format(a="an" if what[:1] in "aeiou" else "a", what=what))
        return made

    def record(self, made: models.Model, fingerprint: str) -> None:
        """Name what this call created and what it was asked for, in the same transaction."""
        if self.pk is None:
            return
        IdempotencyKey.objects.filter(pk=self.pk).update(
            fingerprint=fingerprint, model=made._meta.label_lower, object_id=made.pk
        )


def claim(scope: str, key: str | None, *, by=None) -> Claim:
    """Take the key for this scope, or find what an earlier submit with it left (waiting for a concurrent one)."""
    key = check_key(key)
    if key is None:
        return Claim(scope, None)
    if not connection.in_atomic_block:
        raise RuntimeError("claim() belongs inside the transaction of the create it guards")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {IdempotencyKey._meta.db_table} (scope, "key", fingerprint, model, created_by_id)
            VALUES (%s, %s, '', '', %s) ON CONFLICT (scope, "key") DO NOTHING RETURNING id
            """,
            [scope, key, by.pk if by is not None else None],
        )
        row = cursor.fetchone()
    if row is not None:
        return Claim(scope, key, pk=row[0])
    return Claim(scope, key, earlier=IdempotencyKey.objects.get(scope=scope, key=key))


def made_with(scope: str, key: str | None) -> QuerySet:
    """The id of what an earlier submit with this key created (none without a key): to leave it out of look-alikes."""
    return IdempotencyKey.objects.filter(scope=scope, key=key or "", object_id__isnull=False).values("object_id")
