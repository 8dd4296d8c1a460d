"""The shared table plumbing (billing_site.tables): cells escaped as Django escapes them, every table's cells written by
its columns, and the plumbing importing no app."""

from __future__ import annotations

import ast
import inspect
from decimal import Decimal
from pathlib import Path

import django_tables2
import pytest
from django.utils.formats import date_format
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from billing import tables as billing_tables
from billing_site import tables
from credits import tables as credit_tables
from credits.forms import AssignForm
from credits.tables import AssignTable, CreditTable
from customers import tables as customer_tables
from tests.factories import CustomerFactory, credit_for, invoice_for

ROOT = Path(__file__).resolve().parent.parent
APPS = {"customers", "billing", "credits"}


class Named:
    def __str__(self) -> str:
        return "INV-<001>"


VALUES = [
    "Kate O'Brien",
    '"><script>alert(1)</script>',
    "a & b < c > d",
    "",
    mark_safe("<b>ours</b>"),
    gettext_lazy("Awaiting <payment>"),
    12,
    Decimal("1234.50"),
    None,
    Named(),
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_cells_escape_as_django_does(value):
    assert tables.html_text(value) == conditional_escape(value)
    assert tables.cell_html('<a href="/x/{}/" title="{}">{}</a>', value, value, "—") == format_html(
        '<a href="/x/{}/" title="{}">{}</a>', value, value, "—"
    )
    assert tables.cell_html("<td>{0}{name}</td>", value, name=value) == format_html(
        "<td>{0}{name}</td>", value, name=value
    )
    assert tables.status_badge("unpaid", value) == format_html('<span class="badge badge-unpaid">{}</span>', value)


def _tables():
    for module in (customer_tables, credit_tables, billing_tables):
        for name, table in inspect.getmembers(module, inspect.isclass):
            if issubclass(table, django_tables2.Table) and table.__module__ == module.__name__:
                yield name, table


@pytest.mark.parametrize(("name", "table"), list(_tables()))
def test_every_table_writes_its_cells_by_its_columns(name, table):
    assert issubclass(table, tables.Table), name
    assert table._meta.template_name in {"tables/rows.html", "customers/_table.html"}, name
    for column_name, column in table.base_columns.items():
        assert isinstance(column, tables.Column), f"{name}.{column_name} is a plain django-tables2 column"
    # Cells are defined once, by the columns: no table keeps render_* or format strings for rows.
    assert not [attr for attr in vars(table) if attr.startswith(("render_", "value_"))], name
    assert not [attr for attr in vars(table) if attr.isupper() and isinstance(vars(table)[attr], str)], name


def test_the_customers_template_extends_the_rows_template():
    assert '{% extends "tables/rows.html" %}' in (ROOT / "templates/customers/_table.html").read_text()


def _imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add(("billing_site." if node.level else "") + (node.module or ""))
    return found


def test_the_table_plumbing_imports_no_app():
    seen, todo = set(), ["billing_site.tables"]
    while todo:
        module = todo.pop()
        seen.add(module)
        for name in _imported_modules(ROOT / (module.replace(".", "/") + ".py")):
            assert name.split(".")[0] not in APPS, f"{module} imports {name}"
            if name.startswith("billing_site.") and name not in seen:
                todo.append(name)
    assert "billing_site.money" in seen


@pytest.mark.django_db
def test_a_credit_row_without_a_creator_says_system_and_escapes_the_name():
    customer = CustomerFactory(name="Eve <script>alert(1)</script>")
    credit = credit_for(customer, "12.50", reason="refund")
    html = CreditTable([credit]).rows_html()
    assert html == (
        f'<tr class="even"><td><a hx-boost="false" href="/billing/credits/{credit.pk}/">{credit.display_number}</a></td>'
        f'<td><a hx-boost="false" href="/billing/credits/{credit.pk}/">'
        f"{date_format(credit.date, 'j M Y')}</a></td>"
        f'<td><a hx-boost="false" href="/customers/{customer.pk}/">Eve &lt;script&gt;alert(1)&lt;/script&gt;</a></td>'
        '<td class="num">£12.50</td><td class="num">£0.00</td><td class="num">£0.00</td><td class="num">£12.50</td>'
        '<td><span class="badge badge-unassigned">Unassigned</span></td><td>Refund</td><td>system</td>'
        f'<td><a hx-boost="false" href="/billing/credits/{credit.pk}/">View credit'
        '<span class="visually-hidden"> for Eve &lt;script&gt;alert(1)&lt;/script&gt;</span></a></td></tr>'
    )


@pytest.mark.django_db
def test_the_add_panel_escapes_what_was_typed_and_its_error():
    customer = CustomerFactory()
    invoice = invoice_for(customer, "40.00")
    name = f"invoice-{invoice.pk}"
    form = AssignForm([invoice], data={name: '"><script>x</script>'})
    assert not form.is_valid()
    html = AssignTable(form, customer).rows_html()
    assert '<td class="num has-error">' in html
    assert 'value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"' in html and "<script>" not in html
    assert f'aria-invalid="true" aria-describedby="id_{name}_error"' in html
    assert f'<p class="error" id="id_{name}_error">' in html
    assert f'<a hx-boost="false" href="/billing/invoices/{invoice.pk}/">{invoice}</a>' in html
