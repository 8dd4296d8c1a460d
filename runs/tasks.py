"""The runs' Procrastinate tasks: a job works through a run's chunks; a periodic job requeues stalled jobs."""

from __future__ import annotations

from django.conf import settings
from django.db import close_old_connections
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from . import services


@app.task(name="runs.work", queue="runs", retry=RetryStrategy(max_attempts=10, exponential_wait=2))
def work(run_id: int) -> None:
    close_old_connections()
    try:
        services.work(run_id)
    finally:
        close_old_connections()


# Every 10 seconds a worker looks for jobs whose worker has stopped sending heartbeats (killed, its machine gone) for
# RUNS_STALLED_AFTER_SECONDS and puts them back in the queue; the chunk the dead worker held was rolled back with it.
@app.periodic(cron="* * * * * */10", periodic_id="retry_stalled_jobs")
@app.task(name="runs.retry_stalled_jobs", queue="runs", queueing_lock="retry_stalled_jobs", pass_context=True)
async def retry_stalled_jobs(context, timestamp: int) -> None:
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=settings.RUNS_STALLED_AFTER_SECONDS):
        await app.job_manager.retry_job(job)
