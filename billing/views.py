"""Billing › Invoices and Billing › Payments.

Thin function views: forms parse the input, `billing.services` does every write (credit is applied
through `billing.settlement`), and a service's ValidationError comes back as a form error with status 422. On an htmx
request a view renders only its partial (django-template-partials).
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Coalesce, Concat, Greatest, Length, LPad
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_tables2 import RequestConfig
from django_tables2.paginators import LazyPaginator

from billing import services as billing
from billing_site.export import csv_response, defused, labelled
from billing_site.history import history
from billing_site.ledger import today
from billing_site.money import ZERO, format_money, parse_amount
from billing_site.permissions import permission_required
from billing_site.web import add_service_errors, page_or_partial, picker, pk_or_none, see_other, wants_partial
from customers.filters import tag_suggestions
from customers.models import Customer
from customers.services import PICKER_LIMIT, customer_choices, customer_or_none
from runs.services import filtered_run

from . import settlement
from .filters import InvoiceFilter, PaymentFilter, search_invoices
from .forms import InvoiceForm, InvoiceRunForm, PaymentForm, line_formset
from .invoice_run import preview as start_preview
from .invoice_run import start_invoice_run
from .models import Invoice, InvoiceStatus, Payment, PaymentMethod
from .selection import Selection, read_selection
from .tables import InvoiceTable, PaymentTable

PER_PAGE = 25
RUN_PREVIEW = 5  # customers named in an invoice run's summary, "and N more" after them
NOBODY_TO_INVOICE = (
    "Choose who gets an invoice: search, choose a class tag, tick “Has outstanding balance”, or tick “All customers”."
)


# ---- helpers -----------------------------------------------------------------------------


def _get_invoice(pk: int) -> Invoice:
    return get_object_or_404(Invoice.objects.select_related("customer", "created_by", "voided_by"), pk=pk)


def _paginate(request: HttpRequest, table) -> None:
    RequestConfig(request, paginate={"paginator_class": LazyPaginator, "per_page": PER_PAGE}).configure(table)


def _page(request: HttpRequest, template: str, partial: str, context: dict, status: int = 200) -> HttpResponse:
    """The whole page, or only its partial for htmx (but the whole page when htmx restores history after Back)."""
    return render(request, page_or_partial(request, template, partial), context, status=status)


def _status_label(status: str) -> str:
    return InvoiceStatus(status).label


# ---- Invoices ----------------------------------------------------------------------------


@require_GET
@permission_required("billing.view_invoice")
def invoice_list(request: HttpRequest) -> HttpResponse:
    filters = InvoiceFilter(request.GET, queryset=Invoice.objects.select_related("customer"))
    table = InvoiceTable(filters.qs)
    _paginate(request, table)
    context = {"filter": filters, "table": table, "run": None if wants_partial(request) else filtered_run(filters)}
    return _page(request, "billing/invoice_list.html", "table", context)


def _invoice_number(prefix: str = "") -> Concat:
    """INV-000123, as the pages write it (Invoice.display_number)."""
    digits = Cast(f"{prefix}number", CharField())
    return Concat(Value("INV-"), LPad(digits, Greatest(Value(6), Length(digits)), Value("0")), output_field=CharField())


INVOICE_COLUMNS = [
    ("Invoice", _invoice_number()),
    ("Customer", defused("customer__name")),
    ("Issue date", "issue_date"),
    ("Due date", "due_date"),
    ("Total", "total"),
    ("Paid", "paid"),
    ("Credited", "credited"),
    ("Outstanding", "outstanding"),
    ("Status", labelled("status", InvoiceStatus.choices)),
]


@require_GET
@permission_required("billing.view_invoice")
def invoice_export(request: HttpRequest) -> HttpResponse:
    """The invoices the list's filters choose, as CSV (billing_site.export), newest first."""
    invoices = InvoiceFilter(request.GET, queryset=Invoice.objects.all()).qs.order_by("-issue_date", "-id")
    return csv_response(invoices, INVOICE_COLUMNS, name="invoices")


@require_GET
@permission_required("billing.add_invoice")
def customer_search(request: HttpRequest) -> HttpResponse:
    """The New invoice form's customer picker: matches as you type."""
    chosen = customer_or_none(request.GET.get("customer"))
    context = picker(request.GET.get("customer_q"), chosen, customer_choices)
    return render(request, "billing/_customer_choices.html", context)


def _invoice_created_message(invoice: Invoice) -> str:
    message = f"Invoice {invoice} created for {invoice.customer.name}"
    if invoice.credited > 0:
        return f"{message}; {format_money(invoice.credited)} of available credit was applied."
    return f"{message}."


def _create_invoice(request: HttpRequest, form: InvoiceForm, lines, customer: Customer) -> Invoice | None:
    """billing.services.create_invoice (the same form again returns the first invoice); a refusal becomes form errors."""
    data = form.cleaned_data
    try:
        return billing.create_invoice(
            customer,
            lines.lines(),
            issue_date=data["issue_date"],
            due_date=data["due_date"],
            idempotency_key=data["idempotency_key"],
            by=request.user,
        )
    except ValidationError as error:
        add_service_errors(form, error)
        return None


@require_http_methods(["GET", "POST"])
@permission_required("billing.add_invoice")
def invoice_add(request: HttpRequest) -> HttpResponse:
    fixed = get_object_or_404(Customer, pk=pk) if (pk := pk_or_none(request.GET.get("customer"))) else None
    status, show_errors = 200, True
    if request.method == "POST":
        add_line, find = "add_line" in request.POST, "find_customer" in request.POST
        lines = line_formset(request.POST, add_line=add_line)
        if add_line or find:
            # Redraw what was typed (one more line, or the customers found) without complaining yet.
            form, show_errors = InvoiceForm(initial=request.POST.dict()), False
        else:
            form = InvoiceForm(request.POST)
            if all([form.is_valid(), lines.is_valid()]):
                invoice = _create_invoice(request, form, lines, fixed or form.cleaned_data["customer"])
                if invoice is not None:
                    messages.success(request, _invoice_created_message(invoice))
                    return see_other(request, invoice.get_absolute_url())
            status = 422
        selected = fixed or customer_or_none(form["customer"].value())
    else:
        form = InvoiceForm(initial={**InvoiceForm.defaults(), "customer": fixed.pk if fixed else None})
        lines = line_formset()
        selected = fixed
    context = {
        "form": form,
        "lines": lines,
        "show_errors": show_errors,
        "fixed_customer": fixed,
        **picker(request.POST.get("customer_q"), selected, None if fixed else customer_choices),
    }
    return _page(request, "billing/invoice_form.html", "invoice_form", context, status=status)


def _invoice_context(request: HttpRequest, invoice: Invoice, tab: str) -> dict:
    user = request.user
    is_open = invoice.is_open
    context = {
        "invoice": invoice,
        "status_label": _status_label(invoice.status),
        "tab": tab,
        "can_record_payment": is_open and user.has_perm("billing.add_payment"),
        "can_void": invoice.status != InvoiceStatus.VOID
        and invoice.paid == 0
        and user.has_perm("billing.void_invoice"),
        "can_apply_credit": False,
        "available_credit": ZERO,
    }
    if is_open:
        available = settlement.current().available(invoice.customer_id)
        context["available_credit"] = available
        context["can_apply_credit"] = available > 0 and user.has_perm("credits.add_creditassignment")
    return context


@require_GET
@permission_required("billing.view_invoice")
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _get_invoice(pk)
    context = {
        **_invoice_context(request, invoice, "details"),
        "lines": invoice.lines.all(),
        "payments": invoice.payments.select_related("created_by").order_by("date", "id"),
        "assignments": invoice.credit_assignments.select_related("credit", "created_by").order_by("created_at", "id"),
    }
    return _page(request, "billing/invoice_detail.html", "tabbed", context)


@require_GET
@permission_required("billing.view_invoice")
def invoice_history(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _get_invoice(pk)
    context = {**_invoice_context(request, invoice, "history"), "rows": history(invoice, include_related=True)}
    return _page(request, "billing/invoice_detail.html", "tabbed", context)


@require_POST
@permission_required("credits.add_creditassignment")
def invoice_apply_credit(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _get_invoice(pk)
    try:
        applied = settlement.current().apply(invoice, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if applied > 0:
            messages.success(request, f"{format_money(applied)} of available credit was applied to {invoice}.")
        else:
            messages.info(request, "No available credit to apply.")
    return see_other(request, invoice.get_absolute_url())


@require_http_methods(["GET", "POST"])
@permission_required("billing.void_invoice")
def invoice_void(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _get_invoice(pk)
    form = Form(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        released = invoice.credited
        try:
            billing.void_invoice(invoice, by=request.user)
        except ValidationError as error:
            add_service_errors(form, error)
            status = 422
        else:
            message = f"{invoice} voided."
            if released > 0:
                message += f" {format_money(released)} of credit was released to {invoice.customer.name}’s account."
            messages.success(request, message)
            return see_other(request, invoice.get_absolute_url())
    context = {
        "invoice": invoice,
        "form": form,
        "assignments": invoice.credit_assignments.select_related("credit").order_by("created_at", "id"),
    }
    return _page(request, "billing/invoice_void.html", "void_form", context, status=status)


# ---- Payments ----------------------------------------------------------------------------


@require_GET
@permission_required("billing.view_payment")
def payment_list(request: HttpRequest) -> HttpResponse:
    filters = PaymentFilter(request.GET, queryset=Payment.objects.select_related("invoice__customer", "created_by"))
    table = PaymentTable(filters.qs)
    _paginate(request, table)
    return _page(request, "billing/payment_list.html", "table", {"filter": filters, "table": table})


PAYMENT_COLUMNS = [
    ("Date", "date"),
    ("Invoice", _invoice_number("invoice__")),
    ("Customer", defused("invoice__customer__name")),
    ("Amount", "amount"),
    ("Method", labelled("method", PaymentMethod.choices)),
    ("Recorded by", defused(Coalesce("created_by__username", Value("")))),
]


@require_GET
@permission_required("billing.view_payment")
def payment_export(request: HttpRequest) -> HttpResponse:
    """The payments the list's filters choose, as CSV, newest first."""
    payments = PaymentFilter(request.GET, queryset=Payment.objects.all()).qs.order_by("-date", "-id")
    return csv_response(payments, PAYMENT_COLUMNS, name="payments")


def _invoice_choices(text: str, selected: Invoice | None) -> list[Invoice]:
    """Up to ten open invoices matching the number or customer name, with the chosen one kept first."""
    found = []
    if text.strip():
        found = list(
            search_invoices(Invoice.objects.open().select_related("customer"), text).order_by("-issue_date", "-id")[
                :PICKER_LIMIT
            ]
        )
    if selected is not None and selected not in found:
        found.insert(0, selected)
    return found


def _invoice_or_none(value: object) -> Invoice | None:
    pk = pk_or_none(value)
    return Invoice.objects.select_related("customer").filter(pk=pk).first() if pk else None


@require_GET
@permission_required("billing.add_payment")
def invoice_search(request: HttpRequest) -> HttpResponse:
    """The Record payment form's invoice picker: open invoices matching as you type."""
    chosen = _invoice_or_none(request.GET.get("invoice"))
    context = picker(request.GET.get("invoice_q"), chosen, _invoice_choices)
    return render(request, "billing/_invoice_choices.html", context)


def _record_payment(request: HttpRequest, form: PaymentForm, invoice: Invoice) -> Payment | None:
    """billing.services.record_payment (the same form again records nothing new); a refusal becomes form errors."""
    data = form.cleaned_data
    try:
        return billing.record_payment(
            invoice,
            data["amount"],
            date=data["date"],
            method=data["method"],
            overpayment_to_credit=data["overpayment_to_credit"],
            idempotency_key=data["idempotency_key"],
            by=request.user,
        )
    except ValidationError as error:
        add_service_errors(form, error)
        return None


def _extra(form: PaymentForm, invoice: Invoice | None) -> Decimal | None:
    """How much the typed amount is above the invoice's outstanding (an open invoice), for the overpayment offer."""
    try:  # the service's refusal took the amount out of cleaned_data: read what was typed again
        amount = parse_amount(form.data.get("amount", ""))
    except ValidationError:
        return None
    if invoice is None or not invoice.is_open:
        return None
    invoice.refresh_from_db(fields=["total", "paid", "credited", "outstanding", "status"])
    return amount - invoice.outstanding if amount > invoice.outstanding else None


@require_http_methods(["GET", "POST"])
@permission_required("billing.add_payment")
def payment_add(request: HttpRequest) -> HttpResponse:
    fixed = _get_invoice(pk) if (pk := pk_or_none(request.GET.get("invoice"))) else None
    status = 200
    if request.method == "POST":
        if "find_invoice" in request.POST:
            form = PaymentForm(initial=request.POST.dict())
        else:
            form = PaymentForm(request.POST)
            if form.is_valid():
                invoice = fixed or form.cleaned_data["invoice"]
                if payment := _record_payment(request, form, invoice):
                    amount = format_money(payment.amount)
                    said = f"Payment of {amount} recorded on {invoice} for {invoice.customer.name}."
                    if getattr(payment, "overpayment_credit", None):
                        said += f" The extra {format_money(payment.overpayment_credit.amount)} put on the account as a credit."
                    messages.success(request, said)
                    return see_other(request, invoice.get_absolute_url())
            status = 422
        selected = fixed or _invoice_or_none(form["invoice"].value())
        extra = _extra(form, selected) if status == 422 else None
    else:
        initial = {"date": today()}
        if fixed:
            initial.update(invoice=fixed.pk, amount=fixed.outstanding if fixed.outstanding > 0 else "")
        form = PaymentForm(initial=initial)
        selected = fixed
        extra = None
    context = {
        "form": form,
        "extra": extra,
        "fixed_invoice": fixed,
        "fixed_status_label": _status_label(fixed.status) if fixed else "",
        **picker(request.POST.get("invoice_q"), selected, None if fixed else _invoice_choices),
    }
    return _page(request, "billing/payment_form.html", "payment_form", context, status=status)


# Invoice run -----------------------------------------------------------------------------------


def _run_selection_context(selection: Selection) -> dict:
    if selection.error or selection.nobody:
        return {"selection": selection, "count": 0, "preview_names": [], "more": 0}
    queryset = selection.queryset
    count = queryset.count()
    names = list(queryset.order_by("name", "id").values_list("name", flat=True)[:RUN_PREVIEW])
    return {"selection": selection, "count": count, "preview_names": names, "more": count - len(names)}


@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
@permission_required("billing.add_invoice")
@permission_required("runs.add_run")
def invoice_run(request: HttpRequest) -> HttpResponse:
    """Billing › Invoice run: the same lines for every chosen customer, raised in the background (a Run).

    Create shows the summary first — N invoices × £X = £total and the credit that will be applied — and nothing
    starts until "Yes, create N invoices" comes back saying yes to exactly that choice, those lines and dates."""
    data = request.POST if request.method == "POST" else request.GET
    selection = read_selection(data, required=request.method == "POST")
    status, show_errors, question = 200, True, None
    if request.method == "POST":
        add_line = "add_line" in request.POST
        lines = line_formset(request.POST, add_line=add_line)
        if add_line:
            form, show_errors = InvoiceRunForm(initial=request.POST.dict()), False
        else:
            form = InvoiceRunForm(request.POST)
            if selection.error or selection.nobody:
                form.add_error(None, selection.error or NOBODY_TO_INVOICE)
            if all([form.is_valid(), lines.is_valid()]):
                run, question = _start_or_ask(request, form, lines, selection)
                if run is not None:
                    messages.success(request, f"Invoice run started: {run.title}. This page follows it.")
                    return see_other(request, run.get_absolute_url())
            status = 200 if question else 422
    else:
        form = InvoiceRunForm(initial=InvoiceRunForm.defaults())
        lines = line_formset()
    context = {"form": form, "lines": lines, "show_errors": show_errors, "question": question}
    context.update(_run_selection_context(selection))
    if wants_partial(request) and request.method == "GET":
        return render(request, "billing/invoice_run.html#selection", context)
    context["tags"] = tag_suggestions() if selection.by_filter else []
    return render(request, "billing/invoice_run.html", context, status=status)


def _start_or_ask(request: HttpRequest, form: InvoiceRunForm, lines, selection: Selection):
    """The run (new, or the first one for a repeated key); or the summary question to ask first; or (None, None)
    with the errors on the form."""
    fields = form.cleaned_data
    try:
        summary = start_preview(selection.for_service, lines.lines())
    except ValidationError as error:
        add_service_errors(form, error)
        return None, None
    if fields["expected_count"] is not None and fields["expected_count"] != summary["count"]:
        form.add_error(
            None,
            f"The choice now matches {summary['count']:,} customers, not {fields['expected_count']:,}. "
            "Check the summary, then press Create invoices again.",
        )
        return None, None
    said = (lines.lines(), fields["issue_date"], fields["due_date"], fields["email_invoices"])
    confirmation = selection.confirmation(summary["count"], hashlib.sha256(repr(said).encode()).hexdigest()[:16])
    if fields["confirmed"] != confirmation:
        return None, {**summary, "confirmation": confirmation}
    try:
        run = start_invoice_run(
            selection.for_service,
            lines.lines(),
            issue_date=fields["issue_date"],
            due_date=fields["due_date"],
            by=request.user,
            idempotency_key=fields["idempotency_key"],
            email=fields["email_invoices"],
        )
    except ValidationError as error:
        add_service_errors(form, error)
        return None, None
    return run, None
