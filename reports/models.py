"""The Overview's figures, pre-aggregated by PostgreSQL itself.

Summing 5,000,000 invoices and 2,000,000 credits for every look at the Overview would take seconds, so the
database keeps three small summaries as the ledger changes: statement-level triggers on `credits_credit`,
`billing_invoice` and `credits_creditassignment` (created by `reports/migrations/0001_summaries.py`) add, per
statement, one row of *changes* per key to these tables, from the statement's transition tables. Rows are only
ever inserted, so two staff writing at once never wait for each other on a summary row (an UPDATE of one hot row
per month would make every credit in the studio queue behind the last); a figure is the SUM of its key's rows,
and `services.compact` (a periodic job) folds them back into one row per key. Figures are therefore exact at every
moment, in the same transaction as the write, and PostgreSQL keeps them whatever writes the ledger (the services,
the admin, raw SQL).
"""

from __future__ import annotations

from django.db import models

from billing_site.money import DECIMAL_PLACES

# Sums of up to millions of amounts of at most £1,000,000.00 each.
TOTAL_DIGITS = 18


def _total(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=TOTAL_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)


class CreditSummary(models.Model):
    """Credits by the month of their payment date and their reason: issued (amount, how many) and still remaining."""

    month = models.DateField(help_text="The first day of the credits' month")
    reason = models.CharField(max_length=20)
    issued = _total()
    issued_count = models.BigIntegerField()
    remaining = _total()

    class Meta:
        indexes = [models.Index(fields=["month", "reason"], name="credit_summary_key")]
        # Who may see the Overview (both staff roles: credits.roles); it lives on the summary the Overview reads.
        permissions = [("view_overview", "Can see the Overview")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.reason}: {self.issued} issued, {self.remaining} remaining"


class InvoiceSummary(models.Model):
    """Open (unpaid and part-paid) invoices by due date: how many, and what they have outstanding."""

    due_date = models.DateField()
    open_count = models.BigIntegerField()
    outstanding = _total()

    class Meta:
        indexes = [models.Index(fields=["due_date"], name="invoice_summary_key")]

    def __str__(self) -> str:
        return f"due {self.due_date}: {self.open_count} open, {self.outstanding} outstanding"


class AssignedSummary(models.Model):
    """Credit assigned to invoices, by the quarter hour the assignment was made: quarter hours add up to a month
    in any time zone (every zone is a whole number of quarter hours from UTC), so the triggers need no zone."""

    quarter = models.DateTimeField()
    amount = _total()
    count = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["quarter"], name="assigned_summary_key")]

    def __str__(self) -> str:
        return f"{self.quarter:%Y-%m-%d %H:%M}: {self.amount} assigned"
