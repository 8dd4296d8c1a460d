"""The customer search's pattern for the trigram index."""

from __future__ import annotations

import pytest

from customers.models import words_pattern


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
