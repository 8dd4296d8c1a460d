"""Customers › View All: the table, with a labelled checkbox per row for Group Actions."""

from __future__ import annotations

import django_tables2 as tables
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from billing_site.money import format_money
from billing_site.web import url_for_pk

from .models import Customer


class SelectColumn(tables.Column):
    """A checkbox per row (named `customer`, sent by the Group Actions form) and "select all on page"."""

    def __init__(self, **kwargs) -> None:
        super().__init__(
            accessor="pk", orderable=False, attrs={"th": {"class": "select"}, "td": {"class": "select"}}, **kwargs
        )

    @property
    def header(self) -> SafeString:
        return mark_safe(
            '<input type="checkbox" id="select-page" class="select-page">'
            '<label for="select-page" class="visually-hidden">Select all on this page</label>'
        )

    def render(self, value: int, record: Customer) -> SafeString:
        return format_html(
            '<input type="checkbox" name="customer" value="{0}" id="select-{0}" class="select-row" form="group-form">'
            '<label for="select-{0}" class="visually-hidden">Select {1}</label>',
            value,
            record.name,
        )


class MoneyColumn(tables.Column):
    def __init__(self, verbose_name: str, **kwargs) -> None:
        super().__init__(
            verbose_name=verbose_name, orderable=False, attrs={"th": {"class": "num"}, "td": {"class": "num"}}, **kwargs
        )

    def render(self, value) -> str:
        return format_money(value)


# A page's rows, one string each (tables/rows.html says why). The same cells as the columns below render.
ROW = (
    '<tr class="{parity}">{select}<td><a href="{url}">{name}</a></td><td>{email}</td><td>{phone}</td>'
    '<td class="tags">{tags}</td><td class="num">{owed}</td><td class="num">{available}</td></tr>'
)
SELECT_CELL = (
    '<td class="select"><input type="checkbox" name="customer" value="{pk}" id="select-{pk}" class="select-row" form="group-form">'
    '<label for="select-{pk}" class="visually-hidden">Select {name}</label></td>'
)


class CustomerTable(tables.Table):
    select = SelectColumn()
    name = tables.Column(linkify=True, order_by=("name", "id"))
    email = tables.Column(orderable=False)
    phone = tables.Column(orderable=False)
    tags = tables.Column(orderable=False, verbose_name="Tags", attrs={"td": {"class": "tags"}})
    outstanding_total = MoneyColumn("Outstanding")
    available_credit = MoneyColumn("Available credit")

    class Meta:
        # Row links are ordinary links; only the sort and page links refresh the table in place.
        attrs = {"class": "customers", "tbody": {"hx-boost": "false"}}
        # Its Next / Previous links carry a keyset cursor, so a deep page costs what the first does.
        template_name = "customers/_table.html"
        empty_text = "No customers match. Try another search or clear the filters."
        order_by = ("name",)

    def rows_html(self) -> list[SafeString]:
        """The page's rows as HTML: what the columns render, for a fraction of the template engine's cost."""
        select, url = "select" in self.columns, url_for_pk("customers:detail")
        rows = []
        for number, row in enumerate(self.paginated_rows):
            customer = row.record
            name = escape(customer.name)
            rows.append(mark_safe(ROW.format(
                parity="odd" if number % 2 else "even",
                select=SELECT_CELL.format(pk=customer.pk, name=name) if select else "",
                url=url(customer.pk),
                name=name,
                email=escape(customer.email) or "—",
                phone=escape(customer.phone) or "—",
                tags="".join(f'<span class="tag">{escape(tag)}</span>' for tag in customer.tags),
                owed=format_money(customer.outstanding_total),
                available=format_money(customer.available_credit),
            )))  # fmt: skip
        return rows

    def render_tags(self, value: list[str]) -> SafeString:
        return format_html_join("", '<span class="tag">{}</span>', ((tag,) for tag in value))
