"""The periodic job that keeps the Overview's summaries small (reports.services.compact)."""

from __future__ import annotations

from django.db import close_old_connections
from procrastinate.contrib.django import app

from . import services


@app.periodic(cron="*/10 * * * *", periodic_id="compact_summaries")
@app.task(name="reports.compact", queue="runs", queueing_lock="compact_summaries", pass_context=True)
def compact(context, timestamp: int) -> None:
    close_old_connections()
    try:
        services.compact()
    finally:
        close_old_connections()
