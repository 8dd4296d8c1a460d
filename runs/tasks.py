"""The runs' Procrastinate tasks: a job works through a run's chunks; a periodic job requeues stalled jobs."""

from __future__ import annotations

from django.db import close_old_connections
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from . import services

# A killed worker stops sending heartbeats; after this long its job counts as stalled and is retried.
STALLED_AFTER_SECONDS = 30


@app.task(name="runs.work", queue="runs", retry=RetryStrategy(max_attempts=10, exponential_wait=2))
def work(run_id: int) -> None:
    close_old_connections()
    try:
        services.work(run_id)
    finally:
        close_old_connections()


@app.periodic(cron="* * * * * */15", periodic_id="retry_stalled_jobs")
@app.task(name="runs.retry_stalled_jobs", queue="runs", queueing_lock="retry_stalled_jobs", pass_context=True)
async def retry_stalled_jobs(context, timestamp: int) -> None:
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_SECONDS):
        await app.job_manager.retry_job(job)
