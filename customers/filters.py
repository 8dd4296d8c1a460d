"""Customer search and class-tag filter; `billing.filters.CustomerListFilter` adds "has outstanding balance"."""

from __future__ import annotations

import django_filters
from django import forms
from django.core.cache import cache
from django.db import connection

from .models import Customer

TAG_SAMPLE = 2000  # tags are suggested from the newest customers: one index scan, never all of them
TAG_CACHE_SECONDS = 60


def tag_suggestions() -> list[str]:
    """Class tags for the tag filters' suggestions: the newest customers' tags, kept a minute (they only help typing)."""
    return cache.get_or_set("customers:tag-suggestions", _newest_tags, TAG_CACHE_SECONDS)


def _newest_tags() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT tag FROM (SELECT tags FROM customers_customer WHERE NOT archived ORDER BY id DESC LIMIT %s) AS newest,"
            " unnest(newest.tags) AS tag ORDER BY tag LIMIT 500",
            [TAG_SAMPLE],
        )
        return [tag for (tag,) in cursor.fetchall()]


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search", label="Search", widget=forms.SearchInput(attrs={"placeholder": "Name, email or phone"})
    )
    tag = django_filters.CharFilter(
        method="filter_tag", label="Class tag", widget=forms.TextInput(attrs={"list": "tag-suggestions"})
    )

    class Meta:
        model = Customer
        fields: list[str] = []

    def search(self, queryset, name, value):
        return queryset.search(value)

    def filter_tag(self, queryset, name, value):
        return queryset.tagged(value)
