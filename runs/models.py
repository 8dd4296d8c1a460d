"""A Run is one piece of background work as people see it: what it is, who started it, how far it has got.

The work is cut into chunks of items (customer ids, fixed when the run starts). A worker takes the next chunk
with FOR UPDATE SKIP LOCKED and does it in one transaction that also marks the chunk done, so a chunk is done
exactly once whatever happens to workers: a killed worker's transaction rolls back and the chunk waits for the
next one. Progress is the sum over the chunks (a few hundred rows at most), so workers never queue on the run's
own row.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.urls import reverse


class Kind(models.TextChoices):
    INVOICES = "invoices", "Invoice run"
    BULK_CREDITS = "bulk_credits", "Bulk credits"
    STATEMENTS = "statements", "Statement run"
    APPLY_CREDITS = "apply_credits", "Apply credit oldest first"


class Status(models.TextChoices):
    QUEUED = "queued", "Waiting to start"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


UNFINISHED = (Status.QUEUED, Status.RUNNING)


class Run(models.Model):
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=200)
    params = models.JSONField(default=dict, help_text="What the run was asked to do, as its form checked it.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(help_text="How many items (customers) the run works through.")
    items = ArrayField(models.BigIntegerField(), help_text="The items' ids, fixed when the run started.")
    chunk_size = models.PositiveIntegerField(default=500)
    result_url = models.CharField(max_length=300, blank=True)
    result_label = models.CharField(max_length=100, blank=True)
    job_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    # What it was asked to do (kind, parameters, exactly which items): the same again is the same run.
    fingerprint = models.CharField(max_length=64, db_index=True, editable=False, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(total=models.F("items__len")), name="run_total_is_items"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("runs:detail", args=[self.pk])

    @property
    def finished(self) -> bool:
        return self.status not in UNFINISHED


class Chunk(models.Model):
    """Items first..last (0-based, inclusive) of the run; done once, in the transaction that did the work."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    first = models.PositiveIntegerField()
    last = models.PositiveIntegerField()
    done = models.BooleanField(default=False)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="chunk_number_once"),
            models.CheckConstraint(condition=models.Q(first__lte=models.F("last")), name="chunk_not_empty"),
            models.CheckConstraint(
                condition=models.Q(done=False) | models.Q(succeeded__lte=models.F("last") - models.F("first") + 1),
                name="chunk_counts_fit",
            ),
        ]
        indexes = [models.Index(fields=["run", "number"], condition=models.Q(done=False), name="chunk_to_do")]

    def __str__(self) -> str:
        return f"{self.run_id} chunk {self.number}: items {self.first}–{self.last}"


class Problem(models.Model):
    """An item the run could not do, and why, in words staff can act on."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="problems")
    item = models.BigIntegerField(null=True, blank=True)
    subject = models.CharField(max_length=200, help_text="Who or what it is about: a customer's name.")
    reason = models.TextField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.subject}: {self.reason}"
