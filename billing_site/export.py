"""CSV exports of the lists: what a list's filter chose, written by PostgreSQL's own COPY and streamed.

A list hands over its filtered queryset and its columns (a header and a field or an expression); the query is
compiled by Django, exactly as the page's, and run as `COPY (…) TO STDOUT (FORMAT csv)` through psycopg, whose rows
are passed on in blocks of 64 KiB as they arrive: memory stays flat however many rows, and the rate is COPY's
(Python touches bytes, not values). Choices are written as their labels and text cells are kept from running as
spreadsheet formulas, both in SQL.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Case, CharField, F, Q, QuerySet, Value, When
from django.db.models.expressions import Combinable
from django.db.models.functions import Concat, Left
from django.db.models.lookups import In
from django.http import StreamingHttpResponse
from django.utils import timezone

BLOCK = 64 * 1024
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Column = tuple[str, str | Combinable]  # (header, field name or expression)


def defused(field: str | Combinable) -> Case:
    """A text cell that a spreadsheet would run as a formula ("=HYPERLINK(…)") gets a leading apostrophe."""
    value = F(field) if isinstance(field, str) else field
    return Case(
        When(Q(In(Left(value, 1), list(FORMULA_STARTS))), then=Concat(Value("'"), value, output_field=CharField())),
        default=value,
        output_field=CharField(),
    )


def labelled(field: str, choices: Sequence[tuple[str, str]]) -> Case:
    """A code column written as the label people read ("part_paid" → "Part-paid")."""
    return Case(
        *(When(**{field: code}, then=Value(label)) for code, label in choices),
        default=F(field),
        output_field=CharField(),
    )


def _header(columns: Sequence[Column]) -> bytes:
    line = io.StringIO()
    csv.writer(line, lineterminator="\n").writerow([header for header, _ in columns])
    return line.getvalue().encode()


def _copy(queryset: QuerySet, columns: Sequence[Column]) -> Iterator[bytes]:
    names = {f"export_{n}": F(value) if isinstance(value, str) else value for n, (_, value) in enumerate(columns)}
    rows = queryset.annotate(**names).values_list(*names)
    try:
        sql, params = rows.query.get_compiler(using=queryset.db).as_sql()
    except EmptyResultSet:
        return
    with connections[queryset.db].cursor() as cursor:
        with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy:
            block = bytearray()
            for data in copy:
                block += data
                if len(block) >= BLOCK:
                    yield bytes(block)
                    block.clear()
            if block:
                yield bytes(block)


def csv_response(queryset: QuerySet, columns: Sequence[Column], *, name: str) -> StreamingHttpResponse:
    """The rows of `queryset` (in its order) as a CSV download named `name-<today>.csv`, streamed."""

    def lines() -> Iterator[bytes]:
        yield _header(columns)
        yield from _copy(queryset, columns)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{timezone.localdate().isoformat()}.csv"'
    return response
