"""What every table shares: columns that write their own cells, the row loop that calls them, money, dates, badges.

A table is a django-tables2 `Table` for what django-tables2 does well (headers, sorting, pages); its rows are written
by `Table.rows_html` (tables/rows.html), which calls each column's writer once per row: every cell is defined once, by
its column, as the Django admin writes its changelist rows (format_html per cell, the row structure around them).
django-tables2's own cells cost 440-740 µs a row (for every cell it resolves the accessor, looks for a
get_FOO_display, inspects the render method's signature, reverses the link, and its template writes the <td>); rows
here cost 9-16 µs, what the format-string rows they replaced did (a row template: ~75 µs).

Only plumbing: this module imports no app.
"""

from __future__ import annotations

import datetime
import functools
import html
from collections.abc import Callable
from operator import attrgetter
from urllib.parse import urlencode

import django_tables2 as tables
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django_tables2.rows import BoundRows
from django_tables2.utils import AttributeDict

from .money import format_money

NUM = {"th": {"class": "num"}, "td": {"class": "num"}}
PARITY = ("even", "odd")


def html_text(value: object) -> str:
    """A value as HTML: what has __html__ as it says, anything else escaped. Django's conditional_escape, without the
    lazy-string wrapper around its escape(), which costs more than the escaping (~1 µs a value, ~2,000 on a page)."""
    if value.__class__ is str:  # the most common case, first
        return html.escape(value)
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


def cell_html(template: str, *args: object, **kwargs: object) -> SafeString:
    """format_html for cells: the same escaping (html_text) in a third of the time (~1.3 µs a call against ~4 µs)."""
    if kwargs:
        return SafeString(template.format(*map(html_text, args), **{name: html_text(v) for name, v in kwargs.items()}))
    return SafeString(template.format(*map(html_text, args)))


def status_badge(status: str, label: str) -> SafeString:
    """A status as a coloured badge: the status code picks the colour, the label is what people read."""
    return cell_html('<span class="badge badge-{}">{}</span>', status, label)


@functools.lru_cache(maxsize=4096)
def _day(value: datetime.date, language: str | None) -> str:
    """A date as the tables show it ("5 Nov 2026"), formatted once per date and language: a page of 300 invoices holds
    a few dozen dates."""
    return date_format(value, "j M Y")


def url_for_pk(viewname: str) -> Callable[[object], str]:
    """URLs of one view for many rows: reversed once, then each pk put in (a reverse() costs ~30 µs, 9 ms for 300 rows)."""
    marker = "918273645"
    head, tail = reverse(viewname, args=[marker]).split(marker)
    return lambda pk: f"{head}{pk}{tail}"


def _reader(accessor: str) -> Callable[[object], object]:
    """The accessor ("created_by__username") as a function of the record; None when a step of the path is None."""
    names = str(accessor).replace("__", ".").split(".")
    get = attrgetter(".".join(names))
    if len(names) == 1:
        return get

    def read(record):
        try:
            return get(record)
        except AttributeError:
            for name in names[:-1]:  # None on the way (no user): the default; any other missing attribute is a bug
                record = getattr(record, name)
                if record is None:
                    return None
            raise

    return read


class Column(tables.Column):
    """A column that writes its own cells, for `Table.rows_html`.

    `cell(value, record)` gives a cell's content: text, which the row loop escapes, or cell_html(...). `value` is the
    column's accessor read from the record (the column's name when it has none); None and "" show `default` instead.
    `link` puts the content in a link: a view name whose URL takes the record's pk, or (view name, the accessor of the
    pk). A column class overrides `cell`; a one-off cell can be given as `cell=`.
    """

    # True when a cell follows from its (hashable) value alone: each distinct value's cell is then written once per
    # table drawn, and a page repeats a few amounts, statuses and reasons many times.
    by_value = False

    def __init__(
        self,
        *args,
        link: str | tuple[str, str] | None = None,
        cell: Callable[[object, object], object] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.link_to = (link, "pk") if isinstance(link, str) else link
        if cell is not None:
            self.cell = cell

    def cell(self, value, record) -> object:
        return value

    def page_cell(self) -> Callable[[object, object], object]:
        """`cell` for one table drawn: a column that needs what holds for the whole request (the language) reads it here,
        once."""
        return self.cell

    def writer(self, bound: tables.columns.BoundColumn) -> Callable[[object], str]:
        """The function writing this column's cell, <td> and all, for a record: made once per table drawn, called once
        per row. The <td>'s attributes are the column's (attrs["td"]); a column whose cell needs others per row
        overrides this."""
        read, cell, default = _reader(bound.accessor), self.page_cell(), bound.default
        attrs = bound.attrs["td"].as_html()
        td = f"<td {attrs}>" if attrs else "<td>"
        if self.link_to is not None:
            url, pk = url_for_pk(self.link_to[0]), _reader(self.link_to[1])

            def write(record) -> str:
                value = read(record)
                text = html_text(default if value is None or value == "" else cell(value, record))
                return f'{td}<a hx-boost="false" href="{html_text(url(pk(record)))}">{text}</a></td>'

            return write

        def write(record) -> str:
            value = read(record)
            return f"{td}{html_text(default if value is None or value == '' else cell(value, record))}</td>"

        if not self.by_value:
            return write
        written: dict[object, str] = {}

        def write_once(record) -> str:
            value = read(record)
            html = written.get(value)
            if html is None:
                html = written[value] = write(record)
            return html

        return write_once

    def render(self, value):
        raise ImproperlyConfigured(
            f"{type(self).__name__} writes its cells for billing_site.tables.Table (tables/rows.html); "
            "this table is drawn with another template: give its Meta Table.Meta's template_name."
        )


class MoneyColumn(Column):
    """An amount in the studio's currency, right-aligned."""

    by_value = True

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("attrs", NUM)
        super().__init__(*args, **kwargs)

    def cell(self, value, record) -> str:
        return format_money(value)


class DateColumn(Column):
    """A date as "5 Nov 2026"."""

    by_value = True

    def cell(self, value: datetime.date, record) -> str:
        return _day(value, get_language())

    def page_cell(self) -> Callable[[datetime.date, object], str]:
        language = get_language()  # once per table, not per row (~1 µs)
        return lambda value, record: _day(value, language)


class ChoiceColumn(Column):
    """A choices field (`choices`, its TextChoices) shown by its label."""

    by_value = True

    def __init__(self, choices: type[models.TextChoices], *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.choices = choices

    def cell(self, value: str, record) -> str:
        return self.choices(value).label


class StatusColumn(ChoiceColumn):
    """A status as a badge: its code picks the colour, its label is what people read."""

    def cell(self, value: str, record) -> SafeString:
        return status_badge(value, self.choices(value).label)


class Table(tables.Table):
    """A table whose header and rows `thead_html` and `rows_html` write; a subclass's Meta extends Table.Meta (or names a
    template that extends tables/rows.html)."""

    class Meta:
        template_name = "tables/rows.html"

    def thead_html(self) -> SafeString:
        """The caption when the table has one (for screen readers), then a header per column, a sortable column's linking
        to the table sorted by it. Written here as the rows are: django-tables2's template loop over the columns cost
        ~0.9 ms a page (each header's attrs, link and text looked up through the template engine)."""
        caption = getattr(self, "caption", None)
        head = cell_html('<caption class="visually-hidden">{}</caption>', caption) if caption else ""
        if not self.show_header:
            return SafeString(head)
        query = dict(self.request.GET) if self.orderable else {}  # the page's query, for the sort links
        cells = []
        for bound in self.columns:
            header = html_text(bound.header)
            if bound.orderable:
                link = "?" + urlencode({**query, self.prefixed_order_by_field: bound.order_by_alias.next}, doseq=True)
                header = f'<a href="{html.escape(link)}">{header}</a>'
            cells.append(f'<th scope="col" {bound.attrs["th"].as_html()}>{header}</th>')
        thead = AttributeDict(self.attrs.get("thead", {})).as_html()
        return SafeString(f"{head}<thead {thead}><tr>{''.join(cells)}</tr></thead>")

    def rows_html(self) -> SafeString:
        """The page's rows as HTML, one line each: each visible column's cell written once per row, by the column.
        One string for the template to put in (a template loop over the rows costs ~1 µs a row)."""
        cells = [bound.column.writer(bound) for bound in self.columns]
        page = self.paginated_rows
        # BoundRows hold the records themselves: read them without making a BoundRow for each (~0.7 µs); a paginator's
        # page may also be a list of BoundRow.
        records = page.data if isinstance(page, BoundRows) else (row.record for row in page)
        rows, parity = [], 0
        for record in records:
            rows.append(f'<tr class="{PARITY[parity]}">{"".join([cell(record) for cell in cells])}</tr>')
            parity ^= 1
        return SafeString("\n".join(rows))
