"""Customers › View All: the table, with a labelled checkbox per row for Group Actions."""

from __future__ import annotations

from django.utils.safestring import SafeString, mark_safe

from billing_site.tables import Column, MoneyColumn, Table, cell_html

from .models import Customer, name_order


class SelectColumn(Column):
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

    def cell(self, value: int, record: Customer) -> SafeString:
        return cell_html(
            '<input type="checkbox" name="customer" value="{0}" id="select-{0}" class="select-row" form="group-form">'
            '<label for="select-{0}" class="visually-hidden">Select {1}</label>',
            value,
            record.name,
        )


def tag_list(tags: list[str], customer: Customer) -> SafeString:
    return SafeString("".join([cell_html('<span class="tag">{}</span>', tag) for tag in tags]))


class CustomerTable(Table):
    select = SelectColumn()
    name = Column(link="customers:detail", order_by=("name", "id"))
    email = Column(orderable=False, default="—")
    phone = Column(orderable=False, default="—")
    tags = Column(orderable=False, verbose_name="Tags", attrs={"td": {"class": "tags"}}, cell=tag_list)
    outstanding_total = MoneyColumn("Outstanding", orderable=False)
    available_credit = MoneyColumn("Available credit", orderable=False)

    class Meta(Table.Meta):
        # Row links are ordinary links; only the sort and page links refresh the table in place.
        attrs = {"class": "customers", "tbody": {"hx-boost": "false"}}
        # Its Next / Previous links carry a keyset cursor, so a deep page costs what the first does
        # (it extends tables/rows.html).
        template_name = "customers/_table.html"
        empty_text = "No customers match. Try another search or clear the filters."
        order_by = ("name",)

    def __init__(self, *args, searched: str = "", **kwargs) -> None:
        self.searched = searched  # the search the rows answer: how to sort them (customers.models.name_order)
        super().__init__(*args, **kwargs)

    def order_name(self, queryset, is_descending: bool):
        return queryset.order_by(*name_order(self.searched, descending=is_descending)), True
