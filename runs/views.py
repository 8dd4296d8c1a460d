"""Billing › Runs: the list, one run's page with a bar that moves by itself while it runs, and Cancel."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_tables2 import RequestConfig

from billing_site.permissions import permission_required
from billing_site.web import page_or_partial, see_other

from . import services
from .models import Chunk, Run
from .tables import RunTable

PAGE = 50
PROBLEMS_SHOWN = 200


def _done_so_far():
    chunks = Chunk.objects.filter(run=OuterRef("pk"), done=True).values("run")
    total = chunks.annotate(n=Sum("succeeded") + Sum("failed")).values("n")
    return Coalesce(Subquery(total, output_field=IntegerField()), 0)


@vary_on_headers("HX-Request")
@require_GET
@permission_required("runs.view_run")
def run_list(request: HttpRequest) -> HttpResponse:
    runs = Run.objects.select_related("created_by").defer("items", "params").annotate(done=_done_so_far())
    table = RunTable(runs)
    RequestConfig(request, paginate={"per_page": PAGE}).configure(table)
    context = {"table": table, "unfinished": any(not row.record.finished for row in table.page.object_list)}
    return render(request, page_or_partial(request, "runs/list.html", "table"), context)


@vary_on_headers("HX-Request")
@require_GET
@permission_required("runs.view_run")
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The run's page; htmx polls its progress region every second until the run has finished."""
    run = get_object_or_404(Run.objects.select_related("created_by", "cancelled_by").defer("items"), pk=pk)
    context = {
        "run": run,
        "progress": services.progress_of(run.pk, run.total),
        "problems": run.problems.all()[:PROBLEMS_SHOWN],
        "problem_count": run.problems.count(),
        "problems_shown": PROBLEMS_SHOWN,
    }
    return render(request, page_or_partial(request, "runs/detail.html", "progress"), context)


@require_POST
@permission_required("runs.change_run")
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(Run.objects.defer("items"), pk=pk)
    try:
        services.cancel(run, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Run cancelled: what was done stays done; nothing more will be started.")
    return see_other(request, run.get_absolute_url())
