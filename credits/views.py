"""Credit screens: Add Credit, bulk credits and their batches, Billing › Credits, and a credit's tabs.

Views parse input with credits.forms, call credits.services for every write, and turn a
service's ValidationError into errors next to the fields (status 422, nothing written).
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import CharField, QuerySet, Sum, Value
from django.db.models.functions import Cast, Coalesce, Concat, LPad, TruncDate
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_tables2 import RequestConfig
from django_tables2.paginators import LazyPaginator

from billing.models import Invoice, InvoiceStatus, PaymentMethod
from billing.selection import Selection, read_selection
from billing_site.export import csv_response, defused, labelled
from billing_site.history import history
from billing_site.money import ZERO, format_money, parse_amount
from billing_site.permissions import permission_required
from billing_site.web import add_service_errors, page_or_partial, picker, see_other, wants_partial
from customers.filters import tag_suggestions
from customers.services import customer_choices, customer_or_none
from runs.models import Run
from runs.services import filtered_run

from . import bulk_run, mailing, services
from .forms import (
    AGAIN_LABEL,
    CONFIRM_ABOVE,
    NOBODY_CHOSEN,
    AddCreditForm,
    AssignForm,
    BulkCreditForm,
    CreditFilter,
    RefundForm,
    ReverseRefundForm,
    UpdateCreditForm,
)
from .models import Credit, CreditAssignment, CreditBatch, CreditStatus, Reason, Refund
from .tables import AssignTable, BatchCreditTable, CreditTable, RefundTable, url_of

PAGE = {"paginator_class": LazyPaginator, "per_page": 25}
PREVIEW = 5


# Helpers -------------------------------------------------------------------------------------


def _credit(pk: int) -> Credit:
    return get_object_or_404(Credit.objects.select_related("customer", "created_by", "batch"), pk=pk)


def _batch(pk: int) -> CreditBatch:
    return get_object_or_404(CreditBatch.objects.select_related("created_by", "undone_by"), pk=pk)


def _reverse_or_none(name: str, *args: object) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _safe_next(request: HttpRequest) -> str:
    """The local page to go back to (e.g. a customer's Billing tab), or ""."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _customer_billing_url(customer_id: int) -> str:
    return _reverse_or_none("customers:billing", customer_id) or reverse("credits:list")


def _table(request: HttpRequest, table):
    RequestConfig(request, paginate=PAGE).configure(table)
    return table


# Add Credit ----------------------------------------------------------------------------------


@require_GET
@permission_required("customers.view_customer")
def customer_search(request: HttpRequest) -> HttpResponse:
    """The Add Credit picker's results as you type: customers (name + email) as radio options."""
    if not wants_partial(request):
        return HttpResponseRedirect(f"{reverse('credits:add')}?{request.GET.urlencode()}")
    chosen = customer_or_none(request.GET.get("customer"))
    context = picker(request.GET.get("customer_q"), chosen, customer_choices)
    return render(request, "credits/_customer_results.html", context)


@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
@permission_required("credits.add_credit")
def credit_add(request: HttpRequest) -> HttpResponse:
    """One credit; with ?customer=<id> (from a profile's Billing tab) the customer is fixed."""
    fixed = None
    if "customer" in request.GET:
        fixed = customer_or_none(request.GET["customer"])
        if fixed is None:
            raise Http404("No such customer.")
    next_url = _safe_next(request)
    status = 200
    if request.method == "POST":
        data = request.POST.copy()
        if fixed is not None:
            data["customer"] = str(fixed.pk)
        form = AddCreditForm(data)
        twin = None
        if form.is_valid():
            credit, twin = _create_credit(request, form)
            if credit is not None:
                messages.success(request, f"Credit of {format_money(credit.amount)} added for {credit.customer.name}.")
                if form.cleaned_data["email_credit_note"]:
                    key = form.cleaned_data["idempotency_key"]
                    messages.info(
                        request, mailing.email_credit_notes([credit.pk], by=request.user, idempotency_key=key)
                    )
                # Opened from a profile (customer fixed): back to that customer's Billing tab.
                back = next_url or (_reverse_or_none("customers:billing", fixed.pk) if fixed else None)
                return see_other(request, back or credit.get_absolute_url())
        status = 422
        chosen = fixed or customer_or_none(request.POST.get("customer"))
    else:
        form = AddCreditForm(initial={"customer": fixed.pk} if fixed else None)
        chosen, twin = fixed, None
    context = {
        "form": form,
        "fixed": fixed,
        "next": next_url,
        "cancel_url": next_url or reverse("credits:list"),
        **picker(request.GET.get("customer_q"), chosen, None if fixed else customer_choices),
        "twin": twin,
    }
    return render(request, page_or_partial(request, "credits/add.html", "form"), context, status=status)


def _create_credit(request: HttpRequest, form: AddCreditForm) -> tuple[Credit | None, Credit | None]:
    """The new (or, for a repeated key, the first) credit; or None and the errors on the form, with the twin if one stopped it."""
    fields = form.cleaned_data
    twin = None
    if not fields["again"]:
        twin = services.find_twin_credit(
            fields["customer"],
            fields["amount"],
            date=fields["date"],
            reason=fields["reason"],
            note=fields["note"],
            by=request.user,
            idempotency_key=fields["idempotency_key"],
        )
    if twin is not None:
        form.add_error(
            None,
            f"You added the same credit ({format_money(twin.amount)} for {twin.customer.name}) at "
            f"{timezone.localtime(twin.created_at):%H:%M}. To add a second one, tick “{AGAIN_LABEL}” "
            "and press Create again.",
        )
        return None, twin
    try:
        credit = services.add_credit(
            fields["customer"],
            fields["amount"],
            date=fields["date"],
            reason=fields["reason"],
            note=fields["note"],
            auto_apply=fields["auto_apply"],
            idempotency_key=fields["idempotency_key"],
            by=request.user,
        )
    except ValidationError as error:
        add_service_errors(form, error)
        return None, None
    return credit, None


# Bulk credits and batches --------------------------------------------------------------------


def _quiet_amount(value: str) -> Decimal | None:
    try:
        return parse_amount(value)
    except ValidationError:
        return None


def _selection_context(selection: Selection, amount_text: str) -> dict:
    if selection.error or selection.nobody:
        return {"selection": selection, "count": 0, "preview": [], "more": 0, "amount": None, "total": None}
    queryset = selection.queryset
    count = queryset.count()
    amount = _quiet_amount(amount_text)
    preview = list(queryset.order_by("name", "id")[:PREVIEW])
    return {
        "selection": selection,
        "count": count,
        "preview": preview,
        "more": count - len(preview),
        "amount": amount,
        "total": amount * count if amount is not None else None,
    }


@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
@permission_required("credits.add_creditbatch")
def credit_bulk(request: HttpRequest) -> HttpResponse:
    """The same credit for many customers: ticked ids, or all matching the customer list's filter (given on purpose).

    Above CONFIRM_ABOVE customers, Create asks once more with the count and the total and writes nothing until
    "Yes, credit N customers" comes back saying yes to exactly that (`Selection.confirmation`)."""
    data = request.POST if request.method == "POST" else request.GET
    selection = read_selection(data, required=request.method == "POST")
    status, twin, question = 200, None, None
    if request.method == "POST":
        form = BulkCreditForm(request.POST)
        if selection.error or selection.nobody:
            form.add_error(None, selection.error or NOBODY_CHOSEN)
        if form.is_valid():
            batch, twin, question = _create_batch(request, form, selection)
            if isinstance(batch, Run):
                messages.success(request, f"{batch.title}: started in the background. This page follows it.")
                return see_other(request, batch.get_absolute_url())
            if batch is not None:
                messages.success(
                    request,
                    f"{batch.count:,} credits of {format_money(batch.amount)} added "
                    f"({format_money(batch.total)} in total).",
                )
                if form.cleaned_data["email_credit_note"]:
                    ids = list(batch.credits.values_list("pk", flat=True))
                    key = form.cleaned_data["idempotency_key"]
                    messages.info(request, mailing.email_credit_notes(ids, by=request.user, idempotency_key=key))
                return see_other(request, batch.get_absolute_url())
        status = 200 if question else 422
    else:
        form = BulkCreditForm(initial={"amount": request.GET.get("amount", "")} if request.GET.get("amount") else None)
    context = {
        "form": form,
        "twin": twin,
        "question": question,
        **_selection_context(selection, data.get("amount", "")),
    }
    if wants_partial(request) and request.method == "GET":
        # A new choice or amount: the summary, and Create in place of a question asked about the old one.
        return render(request, "credits/_bulk_refresh.html", context)
    context["tags"] = tag_suggestions() if selection.by_filter else []
    return render(request, "credits/bulk.html", context, status=status)


def _create_batch(
    request: HttpRequest, form: BulkCreditForm, selection: Selection
) -> tuple[CreditBatch | Run | None, CreditBatch | None, dict | None]:
    """The new (or, for a repeated key, the first) batch; or None with the errors on the form, the twin that stopped
    it, or the question to ask first (count, amount, total and the confirmation that says yes to them)."""
    fields = form.cleaned_data
    count = selection.queryset.count()
    twin = None
    if not fields["again"]:
        twin = services.find_twin_batch(
            selection.for_service,
            fields["amount"],
            date=fields["date"],
            reason=fields["reason"],
            note=fields["note"],
            by=request.user,
            idempotency_key=fields["idempotency_key"],
        )
    if fields["expected_count"] is not None and fields["expected_count"] != count:
        form.add_error(
            None,
            f"The choice now matches {count:,} customers, not {fields['expected_count']:,}. "
            "Check the summary, then press Create again.",
        )
        return None, twin, None
    if twin is not None:
        form.add_error(
            None,
            f"You made the same bulk credit (bulk batch #{twin.pk}: {twin.count:,} × "
            f"{format_money(twin.amount)}) at {timezone.localtime(twin.created_at):%H:%M}. "
            f"To make it again, tick “{AGAIN_LABEL}” and press Create again.",
        )
        return None, twin, None
    confirmation = selection.confirmation(count, fields["amount"])
    # A yes to another count, amount or choice (changed since the question) is asked again, whatever the count.
    if (count > CONFIRM_ABOVE or fields["confirmed"]) and fields["confirmed"] != confirmation:
        question = {"count": count, "amount": fields["amount"], "total": fields["amount"] * count}
        return None, None, {**question, "confirmation": confirmation}
    # Instant and all or nothing; above BULK_CREDITS_IN_BACKGROUND_ABOVE customers, a Run with a progress bar.
    create = bulk_run.start_bulk_credit_run if bulk_run.in_background(count) else services.add_bulk_credits
    try:
        batch = create(
            selection.for_service,
            fields["amount"],
            date=fields["date"],
            reason=fields["reason"],
            note=fields["note"],
            auto_apply=fields["auto_apply"],
            idempotency_key=fields["idempotency_key"],
            by=request.user,
        )
    except ValidationError as error:
        add_service_errors(form, error)
        return None, None, None
    return batch, None, None


@vary_on_headers("HX-Request")
@require_GET
@permission_required("credits.view_creditbatch")
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch(pk)
    table = _table(request, BatchCreditTable(batch.credits.select_related("customer")))
    any_assigned = batch.credits.filter(assigned__gt=0).exists()
    context = {
        "batch": batch,
        "table": table,
        "any_assigned": any_assigned,
        "can_undo": request.user.has_perm("credits.undo_creditbatch") and not batch.is_undone and not any_assigned,
    }
    return render(request, page_or_partial(request, "credits/batch_detail.html", "table"), context)


@require_http_methods(["GET", "POST"])
@permission_required("credits.undo_creditbatch")
def batch_undo(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, then delete every credit of the batch (refused once any of them is assigned)."""
    batch = _batch(pk)
    error = None
    if request.method == "POST":
        try:
            services.undo_batch(batch, by=request.user)
        except ValidationError as refusal:
            error = " ".join(refusal.messages)
        else:
            messages.success(request, f"Bulk batch #{batch.pk} undone: its {batch.count:,} credits were removed.")
            return see_other(request, batch.get_absolute_url())
    elif batch.is_undone:
        error = services.BATCH_UNDONE
    status = 422 if error and request.method == "POST" else 200
    return render(request, "credits/batch_undo.html", {"batch": batch, "error": error}, status=status)


# Billing › Credits ---------------------------------------------------------------------------


def _filtered_credits(request: HttpRequest) -> tuple[CreditFilter, QuerySet[Credit]]:
    filterset = CreditFilter(request.GET, queryset=Credit.objects.all())
    return filterset, filterset.qs


@vary_on_headers("HX-Request")
@require_GET
@permission_required("credits.view_credit")
def credit_list(request: HttpRequest) -> HttpResponse:
    filterset, credits = _filtered_credits(request)
    table = _table(request, CreditTable(credits.select_related("customer", "created_by")))
    context = {
        "filter": filterset,
        "table": table,
        "export_query": request.GET.urlencode(),
        "run": None if wants_partial(request) else filtered_run(filterset),
    }
    return render(request, page_or_partial(request, "credits/list.html", "table"), context)


EXPORT_SORTS = {
    "number": ("number",),
    "date": ("date", "id"),
    "customer": ("customer__name", "customer_id"),
    "amount": ("amount",),
    "assigned": ("assigned",),
    "refunded": ("refunded",),
    "remaining": ("remaining",),
    "status": ("status",),
    "reason": ("reason",),
    "created_by": ("created_by__username",),
}


def _credit_note(number: str):
    """A credit note number as the pages write it (credits.models.credit_note_number), in SQL."""
    return Concat(Value("CN-"), LPad(Cast(number, CharField()), 6, Value("0")), output_field=CharField())


EXPORT_COLUMNS = [
    ("Credit note", _credit_note("number")),
    ("Date", "date"),
    ("Customer", defused("customer__name")),
    ("Amount", "amount"),
    ("Assigned", "assigned"),
    ("Refunded", "refunded"),
    ("Remaining", "remaining"),
    ("Status", labelled("status", CreditStatus.choices)),
    ("Reason", labelled("reason", Reason.choices)),
    ("Created by", defused(Coalesce("created_by__username", Value("")))),
]


@require_GET
@permission_required("credits.view_credit")
def credit_export(request: HttpRequest) -> HttpResponse:
    """The filtered credits as CSV, in the page's order, streamed (billing_site.export)."""
    _, credits = _filtered_credits(request)
    sort = request.GET.get("sort", "-date")
    fields = EXPORT_SORTS.get(sort.lstrip("-"), ("date", "id"))
    order = [f"-{field}" if sort.startswith("-") else field for field in fields]
    return csv_response(credits.order_by(*order, "-id"), EXPORT_COLUMNS, name="credits")


REFUND_COLUMNS = [
    ("Date", "date"),
    ("Credit note", _credit_note("credit__number")),
    ("Customer", defused("credit__customer__name")),
    ("Amount", "amount"),
    ("Method", labelled("method", PaymentMethod.choices)),
    ("Note", defused("note")),
    ("Refunded by", defused(Coalesce("created_by__username", Value("")))),
    ("Reversed on", TruncDate("reversed_at")),
    ("Reversal reason", defused("reversal_reason")),
]


@require_GET
@permission_required("credits.view_refund")
def refund_export(request: HttpRequest) -> HttpResponse:
    """Billing › Refunds as CSV: the day chosen, or every refund, reversed ones with when and why."""
    refunds, _ = _refunds_on(request)
    return csv_response(refunds, REFUND_COLUMNS, name="refunds")


# A credit's page: Details, Assignments, History ---------------------------------------------


def _tab_context(request: HttpRequest, credit: Credit, tab: str) -> dict:
    return {"credit": credit, "tab": tab, "customer_url": url_of(credit.customer)}


@require_GET
@permission_required("credits.view_credit")
def credit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    credit = _credit(pk)
    return render(request, "credits/detail.html", _tab_context(request, credit, "details"))


@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
@permission_required("credits.change_credit")
def credit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Modify amount, payment date, reason, note and auto-apply; a stale form is refused by version."""
    credit = _credit(pk)
    status = 200
    if request.method == "POST":
        form = UpdateCreditForm(request.POST)
        if form.is_valid():
            fields = form.cleaned_data
            try:
                services.update_credit(
                    credit,
                    amount=fields["amount"],
                    date=fields["date"],
                    reason=fields["reason"],
                    note=fields["note"],
                    auto_apply=fields["auto_apply"],
                    version=fields["version"],
                    by=request.user,
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"Credit for {credit.customer.name} modified.")
                return see_other(request, credit.get_absolute_url())
        status = 422
    else:
        form = UpdateCreditForm.for_credit(credit)
    context = {**_tab_context(request, credit, "details"), "form": form}
    return render(request, page_or_partial(request, "credits/edit.html", "form"), context, status=status)


@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
@permission_required("credits.delete_credit")
def credit_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm (listing the assignments removed and the invoices whose status changes), then delete."""
    credit = _credit(pk)
    error = None
    if request.method == "POST":
        try:
            reopened = services.delete_credit(credit, by=request.user)
        except ValidationError as refusal:
            error = " ".join(refusal.messages)
        else:
            again = "".join(f" {invoice} is {invoice.status_label} again." for invoice in reopened)
            messages.success(
                request, f"Credit of {format_money(credit.amount)} for {credit.customer.name} deleted.{again}"
            )
            return see_other(request, _safe_next(request) or _customer_billing_url(credit.customer_id))
    context = {
        **_tab_context(request, credit, "details"),
        "preview": services.preview_delete(credit),
        "error": error,
        "next": _safe_next(request),
    }
    return render(
        request, page_or_partial(request, "credits/delete.html", "confirm"), context, status=422 if error else 200
    )


@require_GET
@permission_required("credits.view_credit")
def credit_assignments(request: HttpRequest, pk: int) -> HttpResponse:
    credit = _credit(pk)
    assignments = credit.assignments.select_related("invoice", "created_by").order_by("created_at", "id")
    rows = [(assignment, url_of(assignment.invoice)) for assignment in assignments]
    refunds = credit.refunds.select_related("created_by", "reversed_by").order_by("created_at", "id")
    context = {**_tab_context(request, credit, "assignments"), "rows": rows, "refunds": refunds}
    return render(request, "credits/assignments.html", context)


def _to_assign(credit: Credit, form: AssignForm) -> Decimal:
    """What is left of the credit after the amounts in the boxes (unreadable boxes count as nothing)."""
    typed = (_quiet_amount(value or "") for _, _, value, _ in form.rows())
    return credit.remaining - sum((amount for amount in typed if amount is not None), ZERO)


@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
@permission_required("credits.add_creditassignment")
def credit_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Assignments › Add: an amount box per open invoice; "Fill oldest first"; Assign."""
    credit = _credit(pk)
    invoices = list(Invoice.objects.open_for(credit.customer_id))
    status = 200
    if request.method == "POST" and request.POST.get("fill") == "oldest":
        empty = AssignForm(invoices)
        form = AssignForm(invoices, initial=empty.fill_oldest_first(credit.remaining))
    elif request.method == "POST":
        form = AssignForm(invoices, data=request.POST)
        if form.is_valid():
            allocations = form.cleaned_data["allocations"]
            try:
                services.assign_credit(credit, allocations, by=request.user)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                total = sum((parse_amount(amount) for amount in allocations.values()), ZERO)
                numbers = {invoice.pk: str(invoice) for invoice in invoices}
                parts = ", ".join(
                    f"{format_money(parse_amount(amount))} to {numbers.get(pk, pk)}"
                    for pk, amount in allocations.items()
                )
                messages.success(request, f"Assigned {format_money(total)} of the credit: {parts}.")
                return see_other(request, reverse("credits:assignments", args=[credit.pk]))
        status = 422
    else:
        form = AssignForm(invoices)
    context = {
        **_tab_context(request, credit, "assignments"),
        "form": form,
        "table": AssignTable(form, credit.customer),
        "boxes": " ".join(f"id_invoice-{invoice.pk}" for invoice in invoices),
        "to_assign": _to_assign(credit, form),
        "currency": settings.STUDIO_CURRENCY,
    }
    return render(request, page_or_partial(request, "credits/assign.html", "panel"), context, status=status)


@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
@permission_required("credits.delete_creditassignment")
def credit_unassign(request: HttpRequest, pk: int, assignment_pk: int) -> HttpResponse:
    """Confirm (which invoice reopens, and its outstanding after), then remove one assignment."""
    credit = _credit(pk)
    assignment = get_object_or_404(CreditAssignment.objects.select_related("invoice"), pk=assignment_pk, credit=credit)
    back = reverse("credits:assignments", args=[credit.pk])
    if request.method == "POST":
        try:
            services.unassign_credit(assignment, by=request.user)
        except ValidationError as refusal:
            messages.error(request, " ".join(refusal.messages))
        else:
            messages.success(
                request, f"Removed the {format_money(assignment.amount)} assignment to {assignment.invoice}."
            )
        return see_other(request, back)
    context = {
        **_tab_context(request, credit, "assignments"),
        "assignment": assignment,
        "invoice": (invoice := services.preview_unassign(assignment)),
        "status_after": InvoiceStatus(invoice.status_after).label,
        "remaining_after": credit.remaining + assignment.amount,
        "back": back,
    }
    return render(request, page_or_partial(request, "credits/unassign.html", "confirm"), context)


@require_GET
@permission_required("credits.view_credit")
def credit_history(request: HttpRequest, pk: int) -> HttpResponse:
    credit = _credit(pk)
    return render(
        request,
        "credits/history.html",
        {**_tab_context(request, credit, "history"), "rows": history(credit, include_related=True)},
    )


# Refunds ---------------------------------------------------------------------------------------


@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
@permission_required("credits.add_refund")
def credit_refund(request: HttpRequest, pk: int) -> HttpResponse:
    """Refund part or all of the credit's remaining to the family (managers)."""
    credit = _credit(pk)
    status = 200
    if request.method == "POST":
        form = RefundForm(request.POST)
        if form.is_valid():
            fields = form.cleaned_data
            try:
                refund = services.refund_credit(
                    credit,
                    fields["amount"],
                    date=fields["date"],
                    method=fields["method"],
                    note=fields["note"],
                    by=request.user,
                    idempotency_key=fields["idempotency_key"],
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(
                    request,
                    f"Refunded {format_money(refund.amount)} to {credit.customer.name} "
                    f"({refund.get_method_display().lower()}).",
                )
                return see_other(request, reverse("credits:assignments", args=[credit.pk]))
        status = 422
    else:
        form = RefundForm(initial={"amount": credit.remaining if credit.remaining > 0 else ""})
    context = {**_tab_context(request, credit, "assignments"), "form": form}
    return render(request, page_or_partial(request, "credits/refund.html", "form"), context, status=status)


@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
@permission_required("credits.change_refund")
def refund_reverse(request: HttpRequest, pk: int, refund_pk: int) -> HttpResponse:
    """Reverse a refund, with a reason: it stops counting and both records stay (managers)."""
    credit = _credit(pk)
    refund = get_object_or_404(Refund.objects.select_related("created_by"), pk=refund_pk, credit=credit)
    status = 200
    if request.method == "POST":
        form = ReverseRefundForm(request.POST)
        if form.is_valid():
            try:
                services.reverse_refund(refund, reason=form.cleaned_data["reason"], by=request.user)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(
                    request, f"Reversed the {format_money(refund.amount)} refund: it is back on the credit."
                )
                return see_other(request, reverse("credits:assignments", args=[credit.pk]))
        status = 422
    else:
        form = ReverseRefundForm()
    context = {**_tab_context(request, credit, "assignments"), "form": form, "refund": refund}
    return render(request, page_or_partial(request, "credits/refund_reverse.html", "form"), context, status=status)


def _refunds_on(request: HttpRequest) -> tuple[QuerySet[Refund], str]:
    """The refunds of the day chosen (all of them without one), newest first, and the day as typed if it reads."""
    refunds = Refund.objects.order_by("-date", "-id")
    day = request.GET.get("date") or ""
    if day:
        try:
            refunds = refunds.filter(date=datetime.date.fromisoformat(day))
        except ValueError:
            day = ""
    return refunds, day


@vary_on_headers("HX-Request")
@require_GET
@permission_required("credits.view_refund")
def refund_list(request: HttpRequest) -> HttpResponse:
    """Billing › Payments › Refunds: the money paid out, newest first, to reconcile the day's money out."""
    refunds, day = _refunds_on(request)
    refunds = refunds.select_related("credit__customer", "created_by", "reversed_by")
    table = _table(request, RefundTable(refunds))
    out = refunds.filter(reversed_at=None).aggregate(total=Sum("amount"))["total"] or ZERO
    context = {"table": table, "day": day, "out": out}
    return render(request, page_or_partial(request, "credits/refund_list.html", "table"), context)
