"""The customer search's pattern for the trigram index."""

from __future__ import annotations

import pytest
from django.db import connection

from customers.models import Customer, words_pattern


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("Matthew Campbell", "%Matthew%Campbell%"),
        ("amy.parent@example.com", "%amy%parent%example%com%"),
        ("07700 900111", "%07700%900111%"),
        # A word shorter than a trigram has none of its own: the text as typed, its LIKE characters escaped.
        ("Kate O'Brien", "%Kate O'Brien%"),
        ("Jo Li", "%Jo Li%"),
        ("50% off_", "%50\\% off\\_%"),
        ("---", "%---%"),
    ],
)
def test_it_looks_up_the_words_in_order(text, pattern):
    assert words_pattern(text) == pattern


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "indexes"),
    [
        ("Matthew Campbell", {"customer_text_trgm", "customer_domain_trgm"}),
        ("campbell@example", {"customer_text_trgm", "customer_domain_trgm", "customer_email_trgm"}),
    ],
)
def test_a_search_can_be_answered_from_its_trigram_indexes(text, indexes):
    """The search's expressions are the indexes' own: were they to drift apart (a migration forgotten, a template
    changed), PostgreSQL would read the whole table on every search, and nothing else would say so."""
    sql, params = Customer.objects.search(text).order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a few test rows: otherwise a table scan is cheapest
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert {name for name in ("customer_text_trgm", "customer_domain_trgm", "customer_email_trgm") if name in plan} == (
        indexes
    ), plan
