"""Overview (the page after logging in) and Billing › Unapplied credits, with Apply oldest first and its export.

Figures come from reports.figures (the summaries the database keeps); every write is reports.services, which
applies credit through the credits service.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Subquery, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing.models import OPEN_STATUSES, Invoice
from billing_site.export import csv_response, defused
from billing_site.money import ZERO, format_money
from billing_site.permissions import permission_required
from billing_site.web import see_other
from credits.models import Credit
from customers.models import Customer
from idempotency.forms import KeyedForm

from . import figures, services

DAYS_MAX = 3660


class DaysForm(forms.Form):
    days = forms.IntegerField(
        min_value=0, max_value=DAYS_MAX, required=False, label="Unapplied for more than (days)", initial=30
    )

    def chosen(self) -> int:
        if self.is_valid() and self.cleaned_data["days"] is not None:
            return self.cleaned_data["days"]
        return figures.DEFAULT_DAYS


class ApplyAllForm(KeyedForm):
    expected = forms.IntegerField(min_value=0, widget=forms.HiddenInput)


def _days(request: HttpRequest) -> tuple[DaysForm, int]:
    form = DaysForm(request.GET or request.POST or None)
    return form, form.chosen()


def _report_url(days: int) -> str:
    return f"{reverse('reports:unapplied')}?{urlencode({'days': days})}"


# Overview ------------------------------------------------------------------------------------------------------


def _credits_url(reason: str, month) -> str:
    return f"{reverse('credits:list')}?{urlencode({'reason': reason, 'month': f'{month:%Y-%m}'})}"


def _invoices_url(age: str) -> str:
    return f"{reverse('billing:invoice_list')}?{urlencode({'age': age})}"


def _chart_data(overview: figures.Overview) -> dict:
    """What the charts draw (static/js/overview.js): the figures, words and links of the tables beside them."""
    return {
        "currency": settings.STUDIO_CURRENCY,
        "issued": {
            "labels": [f"{month:%b %Y}" for month in overview.months],
            "datasets": [
                {
                    "label": label,
                    "data": [str(overview.issued.get((month, code), ZERO)) for month in overview.months],
                    "urls": [_credits_url(code, month) for month in overview.months],
                }
                for code, label in overview.reasons
            ],
        },
        "ages": {
            "labels": [label for _, label, _ in overview.ages],
            "data": [str(value) for _, _, value in overview.ages],
            "urls": [_invoices_url(key) for key, _, _ in overview.ages],
        },
    }


@require_GET
@permission_required("reports.view_overview")
def overview(request: HttpRequest) -> HttpResponse:
    numbers = figures.overview()
    issued_rows = [
        (
            month,
            [(numbers.issued.get((month, code), ZERO), _credits_url(code, month)) for code, _ in numbers.reasons],
            numbers.issued_in(month),
        )
        for month in numbers.months
    ]
    context = {
        "o": numbers,
        "chart_json": json.dumps(_chart_data(numbers)),
        "issued_rows": issued_rows,
        "reason_totals": [numbers.issued_by(code) for code, _ in numbers.reasons],
        "issued_total": sum((row[2] for row in issued_rows), ZERO),
        "age_rows": [(label, value, _invoices_url(key)) for key, label, value in numbers.ages],
        "unapplied_url": reverse("reports:unapplied"),
        "oldest_unapplied": figures.oldest_unapplied(),
    }
    return render(request, "reports/overview.html", context)


# Unapplied credits ---------------------------------------------------------------------------------------------


@require_GET
@permission_required("credits.view_credit")
def unapplied(request: HttpRequest) -> HttpResponse:
    form, days = _days(request)
    rows, after = figures.unapplied_page(days, after=request.GET.get("after", ""))
    context = {
        "form": form,
        "days": days,
        "rows": rows,
        "next_url": f"{_report_url(days)}&{urlencode({'after': after})}" if after else "",
        "first_url": _report_url(days) if request.GET.get("after") else "",
        "credits_url": f"{reverse('credits:list')}?{urlencode({'unapplied': 'true', 'older_than': days})}",
        "export_url": f"{reverse('reports:unapplied_export')}?{urlencode({'days': days})}",
        "can_apply": request.user.has_perm("credits.add_creditassignment"),
    }
    return render(request, "reports/unapplied.html", context)


@require_POST
@permission_required("credits.add_creditassignment")
def unapplied_apply(request: HttpRequest, customer_pk: int) -> HttpResponse:
    """Apply oldest first for one customer of the report."""
    customer = Customer.objects.filter(pk=customer_pk).first()
    if customer is None:
        raise Http404("No such customer.")
    _, days = _days(request)
    try:
        applied = services.apply_oldest_first(customer, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if applied > 0:
            messages.success(request, f"Applied {format_money(applied)} of credit to {customer.name}’s open invoices.")
        else:
            messages.info(request, f"{customer.name} has no credit to apply to an open invoice now.")
    return see_other(request, _report_url(days))


@require_http_methods(["GET", "POST"])
@permission_required("credits.add_creditassignment")
def unapplied_apply_all(request: HttpRequest) -> HttpResponse:
    """Apply oldest first for every customer listed: asks first with how many and how much; up to AT_ONCE customers
    at once, above that as a run with progress (Billing › Runs)."""
    _, days = _days(request)
    status = 200
    if request.method == "POST":
        form = ApplyAllForm(request.POST)
        if form.is_valid():
            ids = figures.unapplied_customer_ids(days)
            if form.cleaned_data["expected"] != len(ids):
                form.add_error(
                    None, f"The report now lists {len(ids):,} customers. Check the figures, then apply again."
                )
            elif not ids:
                messages.info(request, "No customer is listed: there is nothing to apply.")
                return see_other(request, _report_url(days))
            elif len(ids) <= services.AT_ONCE:
                helped, total = services.apply_for_customers(ids, by=request.user)
                messages.success(
                    request, f"Applied {format_money(total)} of credit to the open invoices of {helped:,} customers."
                )
                return see_other(request, _report_url(days))
            else:
                run = services.start_apply_run(
                    ids,
                    days=days,
                    by=request.user,
                    result_url=_report_url(days),
                    idempotency_key=form.cleaned_data["idempotency_key"],
                )
                messages.success(request, f"Applying credit for {len(ids):,} customers in the background.")
                return see_other(request, run.get_absolute_url())
        status = 422
    totals = figures.unapplied_totals(days)
    form = ApplyAllForm(request.POST or None, initial={"expected": totals["customers"]})
    context = {"days": days, "totals": totals, "form": form, "at_once": services.AT_ONCE, "back": _report_url(days)}
    return render(request, "reports/apply_all.html", context, status=status)


@require_GET
@permission_required("credits.view_credit")
def unapplied_export(request: HttpRequest) -> HttpResponse:
    """The report's customers as CSV, every one of them, in its order: its query walks the unapplied credits' index
    oldest first, so the rows stream from the start instead of after a sort of every customer."""
    _, days = _days(request)
    per_customer = {"customer_id": OuterRef("customer_id")}
    credit = (
        Credit.objects.filter(**per_customer, remaining__gt=0, auto_apply=True)
        .order_by()
        .values("customer_id")
        .annotate(total=Sum("remaining"))
        .values("total")
    )
    invoices = Invoice.objects.filter(**per_customer, status__in=OPEN_STATUSES).order_by().values("customer_id")
    rows = figures.oldest_per_customer(days).annotate(
        credit=Subquery(credit),
        open_invoices=Subquery(invoices.annotate(n=Count("id")).values("n")),
        owed=Subquery(invoices.annotate(total=Sum("outstanding")).values("total")),
    )
    columns = [
        ("Customer", defused("customer__name")),
        ("Email", defused("customer__email")),
        ("Oldest unapplied credit", "date"),
        ("Credit to apply", "credit"),
        ("Open invoices", "open_invoices"),
        ("Outstanding", "owed"),
    ]
    return csv_response(rows, columns, name="unapplied-credits")
