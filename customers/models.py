"""Customers: the people (mostly parents) whose accounts hold invoices and credits."""

from __future__ import annotations

import functools
import re

import pghistory
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import connection, models
from django.db.models import F, Func, Lookup, OrderBy, Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import StrIndex, Upper
from django.db.models.lookups import GreaterThan
from django.urls import reverse

TRIGRAM = 3  # the shortest search the trigram indexes can look up (pg_trgm reads three characters at a time)


def name_order(searched: str = "", *, descending: bool = False) -> tuple[OrderBy, OrderBy]:
    """Customers by name, then id; after a search long enough for the trigram indexes, sorted from its matches.

    Given ORDER BY name, id LIMIT 26, PostgreSQL walks the (name, id) index and filters when it expects more than a few
    hundred matches, as if they were spread evenly through the alphabet. A name's are not: every "Matthew …" sits under
    M, and the walk reads half the table to show them ("Matthew Campbell" 130 ms, "Zoe" 330 ms on 100,000 customers).
    The name as an expression (name || '': the same text, so the same order) is in no index, so PostgreSQL collects the
    matches through the trigram indexes and sorts them (2-13 ms): at most what counting the matches costs, which the
    Django admin does on every search. The price is paid by text found nearly everywhere, where the walk stopped early:
    a surname 4 -> ~20 ms, an email's domain 1 -> ~150 ms. Shorter text has no trigram to look up: it still walks.
    """
    name = Func(F("name"), template="(%(expressions)s || '')") if len(searched.strip()) >= TRIGRAM else F("name")
    return (name.desc(), F("id").desc()) if descending else (name.asc(), F("id").asc())


def email_local_part() -> Func:
    """The email up to its last "@" (an address may hold a quoted "@" before it)."""
    return Func(F("email"), template="regexp_replace(%(expressions)s, '@[^@]*$', '')", output_field=models.TextField())


def email_domain() -> Func:
    """The email after its last "@" ("example.com"); the whole of a value without one."""
    return Func(F("email"), template="substring(%(expressions)s from '[^@]*$')", output_field=models.TextField())


def searched_text() -> Func:
    """Name, the email's part before the "@", and phone as one text, for the trigram index that a search looks up once
    instead of three times.

    An email's domain is indexed apart (email_domain): most customers share a few domains, so their trigrams are in
    most rows, and a search with one of them ("Campbell" has "amp", as "example" does) read every row's entry for it
    (3.3 -> 1.0 ms for "Matthew Campbell" on 100,000 customers). Written as SQL's || (the columns are never NULL):
    Concat's COALESCE and casts cost the ORM twice the time to build a search's query."""
    return Func(
        F("name"),
        email_local_part(),
        F("phone"),
        arg_joiner=" || ' ' || ",  # in the order the migration writes them: the autodetector compares them in order
        template="(%(expressions)s)",
        output_field=models.TextField(),
    )


_WORD = re.compile(r"[^\W_]+")  # what pg_trgm reads as a word: letters and digits


def words_pattern(text: str) -> str:
    """The words of the text, in order, as a LIKE pattern ("%Matthew%Campbell%") for the trigram index to look up.

    Text containing "Matthew Campbell" contains "Matthew" and then "Campbell", so the rows the pattern finds include all
    the text's; the exact text is checked on them. The index is asked for the words' own trigrams only: the space
    between them would add trigrams for "a word starting with c" and "ending in w", which every email's ".com" matches,
    and those cost most of the look-up (2.9 -> 1.8 ms for "Matthew Campbell" on 100,000 customers). A word shorter than
    a trigram has none of its own: then the text itself, whose trigrams across the space are the ones to look up.
    """
    words = _WORD.findall(text)
    if not words or min(map(len, words)) < TRIGRAM:
        return f"%{_like_escaped(text)}%"
    return f"%{'%'.join(words)}%"


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class _Matches(Lookup):
    """Case-insensitive LIKE with a pattern as given (icontains would escape its %), as the trigram index reads it."""

    lookup_name = "matches"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"UPPER({lhs}) LIKE UPPER({rhs})", (*lhs_params, *rhs_params)


_TEXT, _PATTERN = "\0text", "\0pattern"  # where the searched text and its pattern go in _search_condition's SQL


@functools.cache
def _search_condition(across_at: bool) -> tuple[str, tuple]:
    """A search's condition as SQL, with places for the text and its pattern, written by the ORM once: building it took
    longer (~0.8 ms of CPU a search) than PostgreSQL takes to answer it.

    Text in the name, the email or the phone is in the three together (searched_text), or in the email's domain: the
    same rows, found with a look-up of those two trigram indexes instead of one of each field's. Text with an "@" may
    span an email's two parts: for it (`across_at`), the email's own index too. Each field is then checked with strpos
    (icontains' test), which no index serves: as icontains, the fields' own trigram indexes were on offer too, and after
    some ANALYZE samples PostgreSQL read those three (5-10 ms).
    """
    typed = Upper(Value(_TEXT))
    name, email, phone = (GreaterThan(StrIndex(Upper(field), typed), 0) for field in ("name", "email", "phone"))
    found = Q(_Matches(searched_text(), _PATTERN)) | Q(_Matches(email_domain(), _PATTERN))
    if across_at:
        found |= Q(_Matches(F("email"), _PATTERN))
    query = Customer.objects.filter(name | email | phone, found).query
    compiler = query.get_compiler(connection=connection)
    return query.where.as_sql(compiler, connection)


class CustomerQuerySet(models.QuerySet):
    def active(self) -> CustomerQuerySet:
        return self.filter(archived=False)

    def search(self, text: str) -> CustomerQuerySet:
        """Name, email or phone containing the text (served by trigram indexes)."""
        text = text.strip()
        if not text:
            return self
        if len(text) < TRIGRAM:
            return self.filter(
                models.Q(name__icontains=text) | models.Q(email__icontains=text) | models.Q(phone__icontains=text)
            )
        sql, params = _search_condition("@" in text)
        values = {_TEXT: text, _PATTERN: words_pattern(text)}
        return self.filter(
            RawSQL(sql, [values.get(param, param) for param in params], output_field=models.BooleanField())
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
            GinIndex(OpClass(Upper(searched_text()), name="gin_trgm_ops"), name="customer_text_trgm", fastupdate=False),
            GinIndex(
                OpClass(Upper(email_domain()), name="gin_trgm_ops"), name="customer_domain_trgm", fastupdate=False
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("customers:detail", args=[self.pk])
