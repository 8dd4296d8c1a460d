"""Start, work through, follow and cancel runs. The kinds' work lives in the apps that own it; each registers a
handler for its kind (`register`) from its AppConfig.ready(), as credits registers the settlement for billing.

A handler is called as `handler(run, ids)` inside the chunk's transaction and returns a `ChunkResult`: how many
items it did and the problems of those it could not do (an item with a problem is counted failed, not retried).
An exception instead rolls the chunk back; the job is retried (Procrastinate's retry), and after
MAX_ATTEMPTS tries the chunk's items are reported as failed with the error, so one bad chunk cannot hold the
rest of the run.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from idempotency import services as keys

from .models import UNFINISHED, Chunk, Kind, Problem, Run, Status

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
NOTHING_TO_DO = "No customers are chosen: there is nothing to run."
ALREADY_FINISHED = "This run has already finished; there is nothing to cancel."
SAME_RUN = (
    "The same {kind} (the same customers and the same details) was already started by {who} at {when}: "
    "see run #{pk} on Billing › Runs. Nothing new was started."
)


@dataclasses.dataclass
class ChunkResult:
    succeeded: int
    problems: list[tuple[int | None, str, str]] = dataclasses.field(default_factory=list)  # (item, subject, reason)


Handler = Callable[[Run, list[int]], ChunkResult]
_handlers: dict[str, Handler] = {}


def register(kind: str, handler: Handler) -> None:
    _handlers[kind] = handler


def jobs_per_run() -> int:
    """How many jobs a run is split into: one per worker that may help, up to this setting."""
    return getattr(settings, "RUNS_JOBS_PER_RUN", 4)


def start_run(
    kind: Kind,
    items: Sequence[int],
    *,
    title: str,
    params: dict,
    by=None,
    chunk_size: int = 500,
    result_url: str = "",  # "{run}" in it becomes the run's id
    result_label: str = "",
    idempotency_key: str | None = None,
) -> Run:
    """A queued run over `items`, its chunks, and the jobs that will work through them — all in one transaction
    with whatever the caller wrote, so a rolled-back request leaves no run and no job, and a committed one never
    loses its jobs. The same key with the same parameters returns the first run (a double click starts one)."""
    if kind not in _handlers:
        raise ValueError(f"no handler registered for {kind!r}")
    items = list(dict.fromkeys(items))
    if not items:
        raise ValidationError(NOTHING_TO_DO)
    with transaction.atomic():
        claim = keys.claim(f"runs.{kind}", idempotency_key, by=by)
        digest = keys.fingerprint(kind=str(kind), params=params, items=keys.fingerprint(items=items))
        if claim.taken:
            return claim.replay(digest, Run.objects.all(), "run")
        _refuse_twin(kind, digest)
        run = Run.objects.create(
            fingerprint=digest,
            kind=kind,
            title=title,
            params=params,
            total=len(items),
            items=items,
            chunk_size=chunk_size,
            result_url=result_url,
            result_label=result_label,
            created_by=by,
        )
        bounds = _bounds(len(items), chunk_size)
        Chunk.objects.bulk_create(
            Chunk(run=run, number=n, first=first, last=last - 1) for n, (first, last) in enumerate(bounds)
        )
        from .tasks import work  # the task module imports Procrastinate's app, ready only after apps load

        jobs = min(jobs_per_run(), len(bounds))
        run.job_ids = [work.defer(run_id=run.pk) for _ in range(jobs)]
        run.result_url = result_url.replace("{run}", str(run.pk))
        run.save(update_fields=["job_ids", "result_url"])
        claim.record(run, digest)
    return run


def _bounds(count: int, chunk_size: int) -> list[tuple[int, int]]:
    """The chunks' [first, last) item positions. The first chunk is a quarter of the others, so that the bar moves
    within a second of the start; the rest are full size, where the set-based work pays off."""
    first = max(1, min(count, chunk_size // 4))
    return [(0, first)] + [(start, min(start + chunk_size, count)) for start in range(first, count, chunk_size)]


def _refuse_twin(kind: str, digest: str) -> None:
    """Two tabs, or a second person, starting exactly the same run: the second is refused while the first has not
    been cancelled (each customer would otherwise get everything twice). Two at the same moment queue on a lock."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"runs:{digest}"])
    twin = (
        Run.objects.filter(fingerprint=digest)
        .exclude(status=Status.CANCELLED)
        .select_related("created_by")
        .defer("items")
        .first()
    )
    if twin is not None:
        raise ValidationError(
            SAME_RUN.format(
                kind=twin.get_kind_display().lower(),
                who=twin.created_by.get_username() if twin.created_by else "the system",
                when=f"{timezone.localtime(twin.created_at):%H:%M on %-d %b %Y}",
                pk=twin.pk,
            )
        )


def work(run_id: int) -> None:
    """A job's share of a run: take chunks one at a time until none is left (or the run is cancelled)."""
    if not Run.objects.filter(pk=run_id).exists():
        return  # deleted with its test database, or by hand: nothing to do
    Run.objects.filter(pk=run_id, status=Status.QUEUED).update(status=Status.RUNNING, started_at=timezone.now())
    while _do_next_chunk(run_id):
        pass
    finish_if_complete(run_id)


def _do_next_chunk(run_id: int) -> bool:
    """Do one chunk in one transaction; False when there is none left to take."""
    error: Exception | None = None
    with transaction.atomic():
        chunk = (
            Chunk.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(run_id=run_id, done=False, run__status__in=UNFINISHED)
            .order_by("number")
            .first()
        )
        if chunk is None:
            return False
        run = Run.objects.select_related("created_by").defer("items").get(pk=run_id)
        ids = list(Run.objects.filter(pk=run_id).values_list(f"items__{chunk.first}_{chunk.last + 1}", flat=True).get())
        try:
            with transaction.atomic():
                result = _handlers[run.kind](run, ids)
        except Exception as exc:  # the chunk's writes are rolled back to the savepoint
            log.exception("run %s chunk %s failed", run_id, chunk.number)
            chunk.attempts += 1
            if chunk.attempts < MAX_ATTEMPTS:
                chunk.save(update_fields=["attempts"])
                error = exc
            else:
                reason = f"Could not be done after {MAX_ATTEMPTS} tries: {exc}"
                result = ChunkResult(0, [(item, f"Item {item}", reason) for item in ids])
        if error is None:
            Problem.objects.bulk_create(
                Problem(run_id=run_id, item=item, subject=subject[:200], reason=reason)
                for item, subject, reason in result.problems
            )
            chunk.done = True
            chunk.succeeded = result.succeeded
            chunk.failed = len(ids) - result.succeeded
            chunk.finished_at = timezone.now()
            chunk.save()
    if error is not None:
        raise error  # the attempt is counted (committed above); Procrastinate retries the job
    return True


def finish_if_complete(run_id: int) -> None:
    """Mark the run done (or failed, when nothing succeeded) once no chunk is left."""
    if Chunk.objects.filter(run_id=run_id, done=False).exists():
        return
    p = progress_of(run_id)
    status = Status.FAILED if p.failed and not p.succeeded else Status.DONE
    Run.objects.filter(pk=run_id, status__in=UNFINISHED).update(status=status, finished_at=timezone.now())


@dataclasses.dataclass
class Progress:
    total: int
    succeeded: int
    failed: int

    @property
    def done(self) -> int:
        return self.succeeded + self.failed

    @property
    def percent(self) -> int:
        return 100 * self.done // self.total if self.total else 100


def progress_of(run_id: int, total: int | None = None) -> Progress:
    sums = Chunk.objects.filter(run_id=run_id, done=True).aggregate(
        succeeded=Coalesce(Sum("succeeded"), 0), failed=Coalesce(Sum("failed"), 0)
    )
    if total is None:
        total = Run.objects.values_list("total", flat=True).get(pk=run_id)
    return Progress(total=total, **sums)


def cancel(run: Run, *, by=None) -> Run:
    """Stop a queued or running run: what is done stays done, the chunks not yet taken are not started."""
    with transaction.atomic():
        cancelled = Run.objects.filter(pk=run.pk, status__in=UNFINISHED).update(
            status=Status.CANCELLED, finished_at=timezone.now(), cancelled_by=by
        )
        if not cancelled:
            raise ValidationError(ALREADY_FINISHED)
    from procrastinate.contrib.django import app

    for job_id in run.job_ids:  # jobs not yet started need not wake a worker (a started one stops by itself)
        app.job_manager.cancel_job_by_id(job_id)
    run.refresh_from_db()
    return run


def filtered_run(filterset) -> Run | None:
    """The run a list is filtered to (its hidden `run` filter, the run page's result link), to name it on the page."""
    if not filterset.is_valid() or not filterset.form.cleaned_data.get("run"):
        return None
    return Run.objects.defer("items").filter(pk=filterset.form.cleaned_data["run"]).first()
