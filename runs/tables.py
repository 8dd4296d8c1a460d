"""Billing › Runs: every piece of background work, newest first."""

from __future__ import annotations

from billing_site.tables import ChoiceColumn, Column, StatusColumn, Table, cell_html

from .models import Kind, Run, Status


def progress_cell(value, run: Run):
    return cell_html("{} of {}", f"{run.done:,}", f"{run.total:,}")


class RunTable(Table):
    created_at = Column(verbose_name="Started", link="runs:detail", cell=lambda value, run: f"{value:%-d %b %Y %H:%M}")
    title = Column(verbose_name="What", link="runs:detail")
    kind = ChoiceColumn(Kind, verbose_name="Kind")
    status = StatusColumn(Status, verbose_name="Status")
    progress = Column(accessor="done", verbose_name="Done", orderable=False, cell=progress_cell)
    created_by = Column(verbose_name="By", accessor="created_by__username", default="system")

    class Meta(Table.Meta):
        model = Run
        fields = ["created_at", "title", "kind", "status", "progress", "created_by"]
        order_by = ("-created_at",)
        empty_text = "No runs yet."
        attrs = {"aria-label": "Runs"}
