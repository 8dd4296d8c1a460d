"""Customers: the people (mostly parents) whose accounts hold invoices and credits."""

from __future__ import annotations

import pghistory
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Upper
from django.urls import reverse


class CustomerQuerySet(models.QuerySet):
    def active(self) -> CustomerQuerySet:
        return self.filter(archived=False)

    def search(self, text: str) -> CustomerQuerySet:
        """Name, email or phone containing the text (served by trigram indexes)."""
        text = text.strip()
        if not text:
            return self
        return self.filter(
            models.Q(name__icontains=text) | models.Q(email__icontains=text) | models.Q(phone__icontains=text)
        )

    def tagged(self, tag: str) -> CustomerQuerySet:
        return self.filter(tags__contains=[tag]) if tag else self


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class Customer(models.Model):
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    tags = ArrayField(
        models.CharField(max_length=100), default=list, blank=True, help_text="Classes, e.g. Ballet Tue 4pm"
    )
    notes = models.TextField(blank=True)
    address = models.TextField(
        blank=True,
        default="",
        db_default="",
        max_length=500,
        verbose_name="postal address",
        help_text="Printed on invoices, credit notes, statements",
    )
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["name", "id"], name="customer_name_id"),
            # fastupdate off: a search reads its index only, never a pending list of recent changes that it would
            # scan end to end (up to 4 MB: 17 ms of a 29 ms search). Customers change rarely; searches are all day.
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="customer_name_trgm", fastupdate=False),
            GinIndex(OpClass(Upper("email"), name="gin_trgm_ops"), name="customer_email_trgm", fastupdate=False),
            GinIndex(OpClass(Upper("phone"), name="gin_trgm_ops"), name="customer_phone_trgm", fastupdate=False),
            GinIndex(fields=["tags"], name="customer_tags", fastupdate=False),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("customers:detail", args=[self.pk])
