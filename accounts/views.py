"""The Customers menu: View All, Add Customer, and a customer's profile (Details, Billing, History).

These pages put a customer's details, invoices and credits side by side, so they live above all three
apps (layers: customers ← billing ← credits ← accounts). The URL names stay `customers:…`, as the menu reads.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    CharField,
    DecimalField,
    F,
    Func,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.fields.tuple_lookups import (
    Tuple,
    TupleGreaterThan,
    TupleGreaterThanOrEqual,
    TupleLessThan,
    TupleLessThanOrEqual,
)
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_tables2 import LazyPaginator, RequestConfig

from billing.filters import CustomerListFilter
from billing.models import OPEN_STATUSES, Invoice
from billing_site.export import csv_response, defused
from billing_site.history import history
from billing_site.money import DECIMAL_PLACES, MAX_DIGITS
from billing_site.permissions import permission_required
from billing_site.web import add_service_errors, page_or_partial, see_other, wants_partial
from credits.models import Credit
from customers import services
from customers.filters import tag_suggestions
from customers.forms import AddCustomerForm, CustomerForm
from customers.models import Customer
from customers.tables import CustomerTable
from documents.forms import PeriodForm
from documents.statements import build_statement, default_period

PER_PAGE = 25
TAB_PER_PAGE = 25  # the Billing tab's invoices and credits, a page of each at a time

MONEY = DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)


@functools.cache
def _balances() -> dict[str, RawSQL]:
    """`outstanding_total` (open invoices) and `available_credit` (credits' remaining) as SQL, built by the ORM once:
    it takes longer to build the two subqueries (~1 ms of CPU) than PostgreSQL takes to answer them for a page."""
    owed = (
        Invoice.objects.filter(customer=OuterRef("pk"), status__in=OPEN_STATUSES)
        .order_by()
        .values("customer")
        .annotate(total=Sum("outstanding"))
        .values("total")
    )
    available = (
        Credit.objects.filter(customer=OuterRef("pk"), remaining__gt=0)
        .order_by()
        .values("customer")
        .annotate(total=Sum("remaining"))
        .values("total")
    )
    zero = Value(Decimal("0.00"), output_field=MONEY)
    query = Customer.objects.annotate(
        outstanding_total=Coalesce(Subquery(owed, output_field=MONEY), zero),
        available_credit=Coalesce(Subquery(available, output_field=MONEY), zero),
    ).query
    compiler = query.get_compiler(connection=connection)
    return {name: RawSQL(*compiler.compile(query.annotations[name]), output_field=MONEY) for name in query.annotations}


def with_balances(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    """Each customer with `outstanding_total` and `available_credit`, in the same query (two subqueries a row)."""
    return customers.annotate(**_balances())


def _get_customer(pk: int) -> Customer:
    return get_object_or_404(with_balances(Customer.objects.all()), pk=pk)


class _FromCursor(LazyPaginator):
    """Rows that already start at the page (keyset): take the first of them, numbered as the link said."""

    def page(self, number):
        number = self.validate_number(number or 1)
        objects = list(self.object_list[: self.per_page + 1])
        self._num_pages = number + 1 if len(objects) > self.per_page else number
        if len(objects) <= self.per_page:
            self._final_num_pages = number
        return Page(objects[: self.per_page], number, self)


def _cursor_pk(value: str | None) -> int | None:
    return int(value) if value and value.isascii() and value.isdigit() and len(value) <= 18 else None


def _from_cursor(request: HttpRequest, customers: QuerySet[Customer]) -> QuerySet[Customer] | None:
    """Keyset paging: the rows from the page that the Next (`after`) or Previous (`before`) link points at.

    Next and Previous carry the id of the last / first row they come from, so any page, however
    deep, is one index range scan on (name, id); an OFFSET would walk every row before it. None
    when the link carries no cursor (a typed ?page=N still works, by OFFSET).
    """
    after, before = _cursor_pk(request.GET.get("after")), _cursor_pk(request.GET.get("before"))
    pk = after or before
    key = Customer.objects.filter(pk=pk).values_list("name", "pk").first() if pk else None
    if key is None:
        return None
    row = Tuple(F("name"), F("pk"))
    descending = request.GET.get("sort") == "-name"
    if after:
        return customers.filter(TupleLessThan(row, key) if descending else TupleGreaterThan(row, key))
    # Previous: the page ends just before the cursor; find its first row, then read forwards from there.
    backwards = customers.filter(TupleGreaterThan(row, key) if descending else TupleLessThan(row, key))
    order = ("name", "pk") if descending else ("-name", "-pk")
    start = next(iter(backwards.order_by(*order).values_list("name", "pk")[PER_PAGE - 1 : PER_PAGE]), None)
    if start is None:
        return customers  # less than a page before the cursor: that is the first page
    return customers.filter(TupleLessThanOrEqual(row, start) if descending else TupleGreaterThanOrEqual(row, start))


def _add_balances(table: CustomerTable) -> None:
    """Outstanding and available credit for the rows on the page only: one query, however deep the page."""
    records = [row.record for row in table.page.object_list]
    figures = {
        pk: (owed, available)
        for pk, owed, available in with_balances(Customer.objects.filter(pk__in=[r.pk for r in records]))
        .order_by()
        .values_list("pk", "outstanding_total", "available_credit")
    }
    for record in records:
        record.outstanding_total, record.available_credit = figures[record.pk]


def _filter_params(filterset: CustomerListFilter) -> dict[str, str]:
    """The filter the table shows, as the query parameters bulk credits' "all matching" reads."""
    return {name: filterset.data.get(name, "") for name in ("q", "tag", "outstanding")}


@vary_on_headers("HX-Request")
@require_GET
@permission_required("customers.view_customer")
def customer_list(request: HttpRequest) -> HttpResponse:
    filterset = CustomerListFilter(request.GET, queryset=Customer.objects.active())
    can_group = request.user.has_perm("credits.add_creditbatch") or request.user.has_perms(
        ["runs.add_run", "billing.add_invoice"]
    )
    params = _filter_params(filterset)
    customers = _from_cursor(request, filterset.qs)
    # A page typed as ?page=N is read with an OFFSET, and PostgreSQL would work out the balances of every row it skips:
    # its balances come after, for its rows. Any other page (the first, a search, Next / Previous) is read in order up
    # to its last row, or sorted first, and the balances come in the same query, worked out for the page's rows only.
    by_offset = customers is None and request.GET.get("page", "1") != "1"
    rows = filterset.qs if customers is None else customers
    table = CustomerTable(
        rows if by_offset else with_balances(rows), exclude=() if can_group else ("select",), searched=params["q"]
    )
    paginator = LazyPaginator if customers is None else _FromCursor
    RequestConfig(request, paginate={"paginator_class": paginator, "per_page": PER_PAGE}).configure(table)
    if by_offset:
        _add_balances(table)
    context = {
        "filter": filterset,
        "table": table,
        "can_group": can_group,
        "filter_params": params,
        "filter_query": urlencode(params),
        "everyone": not filterset.narrows,
    }
    if wants_partial(request):
        return render(request, "customers/list.html#table", context)
    return render(request, "customers/list.html", {**context, "tag_suggestions": tag_suggestions()})


CUSTOMER_COLUMNS = [
    ("Name", defused("name")),
    ("Email", defused("email")),
    ("Phone", defused("phone")),
    ("Class tags", defused(Func(F("tags"), Value("; "), function="array_to_string", output_field=CharField()))),
    ("Outstanding", "outstanding_total"),
    ("Available credit", "available_credit"),
]


@require_GET
@permission_required("customers.view_customer")
def customer_export(request: HttpRequest) -> HttpResponse:
    """The customers the list's search and filters choose, with their balances, as CSV (billing_site.export)."""
    filterset = CustomerListFilter(request.GET, queryset=Customer.objects.active())
    return csv_response(with_balances(filterset.qs.order_by("name", "pk")), CUSTOMER_COLUMNS, name="customers")


@vary_on_headers("HX-Request")
@require_GET
@permission_required("customers.view_customer")
@permission_required("credits.add_creditbatch")
def customer_matching(request: HttpRequest) -> HttpResponse:
    """How many customers the current search and filters match: counted only when someone asks."""
    filterset = CustomerListFilter(request.GET, queryset=Customer.objects.active())
    params = _filter_params(filterset)
    context = {
        "count": filterset.qs.count(),
        "filter_params": params,
        "filter_query": urlencode(params),
        "everyone": not filterset.narrows,
    }
    template = page_or_partial(request, "customers/matching.html", "matching")
    return render(request, template, context)


@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
@permission_required("customers.add_customer")
def customer_add(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = AddCustomerForm(request.POST)
        if form.is_valid():
            # The same form sent again (resubmit, back button, two tabs) shows the customer it already added.
            try:
                customer = services.create_customer(**form.cleaned_data, by=request.user)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"{customer.name} added.")
                return see_other(request, customer.get_absolute_url())
        status = 422
    else:
        form = AddCustomerForm()
        status = 200
    template = page_or_partial(request, "customers/add.html", "form")
    return render(request, template, {"form": form}, status=status)


@vary_on_headers("HX-Request")
@require_GET
@permission_required("customers.view_customer")
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _get_customer(pk)
    context = {"customer": customer, "tab": "details"}
    return render(request, page_or_partial(request, "customers/details.html", "tab"), context)


@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
@permission_required("customers.change_customer")
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _get_customer(pk)
    if request.method == "POST":
        form = CustomerForm(request.POST)
        if form.is_valid():
            try:
                services.update_customer(customer, **form.cleaned_data, by=request.user)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"{form.cleaned_data['name']}'s details saved.")
                return see_other(request, customer.get_absolute_url())
        # The form swaps itself in place, in the dialog or on its own page.
        template = "customers/edit.html#form" if request.htmx else "customers/edit.html"
        return render(request, template, {"customer": customer, "form": form}, status=422)
    form = CustomerForm(initial=CustomerForm.initial_for(customer))
    template = page_or_partial(request, "customers/edit.html", "dialog")
    return render(request, template, {"customer": customer, "form": form})


@vary_on_headers("HX-Request")
@require_GET
@permission_required("customers.view_customer")
@permission_required("billing.view_invoice")
@permission_required("credits.view_credit")
def customer_billing(request: HttpRequest, pk: int) -> HttpResponse:
    """Invoices and credits, newest first, a page of each (`?invoices=N`, `?credits=N`) however many there are."""
    customer = _get_customer(pk)
    invoices = Paginator(customer.invoices.order_by("-issue_date", "-id"), TAB_PER_PAGE)
    credits = Paginator(customer.credits.order_by("-date", "-id"), TAB_PER_PAGE)
    context = {
        "customer": customer,
        "tab": "billing",
        "invoices": invoices.get_page(request.GET.get("invoices")),
        "credits": credits.get_page(request.GET.get("credits")),
        # Add Credit opens the single-credit form with this customer fixed, and comes back here after Create.
        "add_credit_url": f"{reverse('credits:add')}?{urlencode({'customer': customer.pk, 'next': request.path})}",
    }
    return render(request, page_or_partial(request, "customers/billing.html", "tab"), context)


@vary_on_headers("HX-Request")
@require_GET
@permission_required("customers.view_customer")
def customer_history(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _get_customer(pk)
    context = {"customer": customer, "tab": "history", "rows": history(customer, include_related=True)}
    return render(request, page_or_partial(request, "customers/history.html", "tab"), context)


@vary_on_headers("HX-Request")
@require_GET
@permission_required("customers.view_customer")
@permission_required("billing.view_invoice")
@permission_required("credits.view_credit")
def customer_statement(request: HttpRequest, pk: int) -> HttpResponse:
    """The Statement tab: a period (the last three months unless chosen), its movements and balances."""
    customer = _get_customer(pk)
    form = PeriodForm(request.GET or None)
    statement = None
    if not request.GET or form.is_valid():
        start, end = (form.cleaned_data["start"], form.cleaned_data["end"]) if request.GET else default_period()
        statement = build_statement(customer, start, end)
        if not request.GET:
            form = PeriodForm(initial={"start": start, "end": end})
    context = {
        "customer": customer,
        "tab": "statement",
        "form": form,
        "statement": statement,
        "period_fields": [("start", statement.start.isoformat()), ("end", statement.end.isoformat())]
        if statement
        else [],
    }
    status = 200 if statement else 422
    return render(request, page_or_partial(request, "customers/statement.html", "tab"), context, status=status)
