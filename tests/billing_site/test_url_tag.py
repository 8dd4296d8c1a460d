"""`{% url %}` reverses a link without arguments once, and still follows what a reversal depends on."""

from __future__ import annotations

import pytest
from django.template import engines
from django.urls import NoReverseMatch, reverse, set_script_prefix


def render(source: str, **context) -> str:
    return engines["django"].from_string(source).render(context)


def test_it_gives_what_reverse_gives():
    assert render("{% url 'customers:list' %}") == reverse("customers:list")
    assert render("{% url 'customers:detail' 7 %}") == reverse("customers:detail", args=[7])


def test_it_follows_the_script_prefix():
    assert render("{% url 'customers:list' %}") == "/customers/"
    set_script_prefix("/studio/")
    try:
        assert render("{% url 'customers:list' %}") == "/studio/customers/"
    finally:
        set_script_prefix("/")
    assert render("{% url 'customers:list' %}") == "/customers/"


def test_it_keeps_djangos_errors():
    with pytest.raises(NoReverseMatch):
        render("{% url 'customers:nowhere' %}")
    assert render("{% url 'customers:nowhere' as link %}[{{ link }}]") == "[]"
