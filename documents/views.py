"""Download PDF and Email on a credit, an invoice and a statement; Billing › Outbox; a new statement run.

The Statement tab itself is a customer page (accounts.views.customer_statement), beside Details and Billing.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_tables2 import RequestConfig

from billing.models import Invoice
from billing_site.permissions import permission_required
from billing_site.web import page_or_partial, see_other
from credits.models import Credit
from customers.models import Customer
from idempotency.forms import EXPIRED

from . import pdf, runs, services
from .forms import EmailStatementForm, OutboxFilter, PeriodForm, StatementRunForm
from .models import Email
from .statements import build_statement
from .tables import OutboxTable

OUTBOX_PAGE = 50


def _pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _queued(request: HttpRequest, email: Email) -> None:
    messages.success(request, f"Queued to {email.to}: “{email.subject}”. Billing › Outbox shows when it is sent.")


def _key(request: HttpRequest) -> str | None:
    key = request.POST.get("idempotency_key", "")
    if not key or len(key) > 64:
        raise ValidationError(EXPIRED)
    return key


# Credit notes and invoices ---------------------------------------------------------------------------------------


@require_GET
@permission_required("credits.view_credit")
def credit_note_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    credit = get_object_or_404(Credit.objects.select_related("customer"), pk=pk)
    return _pdf_response(pdf.credit_note_pdf(credit), pdf.credit_note_filename(credit))


@require_POST
@permission_required("documents.add_email")
def email_credit_note(request: HttpRequest, pk: int) -> HttpResponse:
    credit = get_object_or_404(Credit.objects.select_related("customer"), pk=pk)
    try:
        _queued(request, services.email_credit_note(credit, by=request.user, idempotency_key=_key(request)))
    except ValidationError as error:
        messages.error(request, f"The credit note was not emailed: {' '.join(error.messages)}.")
    return see_other(request, credit.get_absolute_url())


@require_GET
@permission_required("billing.view_invoice")
def invoice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = get_object_or_404(Invoice.objects.select_related("customer"), pk=pk)
    return _pdf_response(pdf.invoice_pdf(invoice), pdf.invoice_filename(invoice))


@require_POST
@permission_required("documents.add_email")
def email_invoice(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = get_object_or_404(Invoice.objects.select_related("customer"), pk=pk)
    try:
        _queued(request, services.email_invoice(invoice, by=request.user, idempotency_key=_key(request)))
    except ValidationError as error:
        messages.error(request, f"The invoice was not emailed: {' '.join(error.messages)}.")
    return see_other(request, invoice.get_absolute_url())


# Statements -------------------------------------------------------------------------------------------------------


@require_GET
@permission_required("customers.view_customer")
@permission_required("billing.view_invoice")
@permission_required("credits.view_credit")
def statement_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    form = PeriodForm(request.GET)
    if not form.is_valid():
        raise Http404("That is not a period a statement can cover.")
    statement = build_statement(customer, form.cleaned_data["start"], form.cleaned_data["end"])
    return _pdf_response(pdf.statement_pdf(statement), statement.filename)


@require_POST
@permission_required("documents.add_email")
@permission_required("credits.view_credit")
def email_statement(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    form = EmailStatementForm(request.POST)
    back = reverse("customers:statement", args=[pk])
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return see_other(request, back)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    back = f"{back}?start={start.isoformat()}&end={end.isoformat()}"
    try:
        email = services.email_statement(
            customer, start, end, by=request.user, idempotency_key=form.cleaned_data["idempotency_key"]
        )
    except ValidationError as error:
        messages.error(request, f"The statement was not emailed: {' '.join(error.messages)}.")
    else:
        _queued(request, email)
    return see_other(request, back)


@require_http_methods(["GET", "POST"])
@permission_required("runs.add_run")
def statement_run_new(request: HttpRequest) -> HttpResponse:
    """Billing › Runs › New statement run: who (with a balance or credit, a class tag, or ticked) and a period."""
    if request.method == "POST":
        form = StatementRunForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            if data["who"] == "tag":
                customers = Customer.objects.filter(tags__contains=[data["tag"].strip()])
            elif data["who"] == "ticked":
                customers = Customer.objects.filter(pk__in=data["ids"])
            elif data["who"] == "matching":
                customers = data["selection"].queryset
            else:
                customers = runs.with_balance_or_credit()
            try:
                run = runs.start_statement_run(
                    customers, data["start"], data["end"], by=request.user, idempotency_key=data["idempotency_key"]
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"Statement run started: {run.title}.")
                return see_other(request, run.get_absolute_url())
        status = 422
    else:
        form = StatementRunForm(initial=StatementRunForm.initial_from(request.GET))
        status = 200
    context = {"form": form, "with_balance": runs.with_balance_or_credit().count(), "chosen": form.chosen()}
    return render(request, "documents/statement_run.html", context, status=status)


# Billing › Outbox -------------------------------------------------------------------------------------------------


@vary_on_headers("HX-Request")
@require_GET
@permission_required("documents.view_email")
def outbox(request: HttpRequest) -> HttpResponse:
    filterset = OutboxFilter(request.GET, queryset=Email.objects.defer("attachment_pdf", "body"))
    table = OutboxTable(filterset.qs.select_related("created_by"))
    RequestConfig(request, paginate={"per_page": OUTBOX_PAGE}).configure(table)
    context = {"filter": filterset, "table": table}
    return render(request, page_or_partial(request, "documents/outbox.html", "table"), context)


@require_GET
@permission_required("documents.view_email")
def outbox_detail(request: HttpRequest, pk: int) -> HttpResponse:
    email = get_object_or_404(Email.objects.defer("attachment_pdf").select_related("created_by", "customer"), pk=pk)
    return render(request, "documents/outbox_detail.html", {"email": email})


@require_GET
@permission_required("documents.view_email")
def outbox_attachment(request: HttpRequest, pk: int) -> HttpResponse:
    email = get_object_or_404(Email, pk=pk)
    if email.attachment_pdf is None:
        raise Http404("This email's attachment is made when it is sent.")
    return _pdf_response(bytes(email.attachment_pdf), email.attachment_name)


@require_POST
@permission_required("documents.add_email")
def outbox_retry(request: HttpRequest, pk: int) -> HttpResponse:
    email = get_object_or_404(Email.objects.defer("attachment_pdf"), pk=pk)
    try:
        services.retry(email, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Queued again to {email.to}.")
    return see_other(request, email.get_absolute_url())
