"""Forms for statements, the Outbox filter and statement runs: they parse what people chose; the services decide."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.http import QueryDict
from django.template.defaultfilters import pluralize
from django.utils.http import urlencode

from billing.selection import Selection, read_selection
from billing_site.forms import DateInput
from idempotency.forms import KeyedForm

from .models import Attachment, Email, EmailStatus
from .statements import FROM_AFTER_TO, MAX_DAYS, TOO_LONG, default_period

NO_FILTER = "No filter is chosen: search, pick a class tag or “has outstanding balance” on Customers › View All first."
DATE_ERRORS = {"invalid": "Enter a date like 2026-01-31."}


class PeriodForm(forms.Form):
    start = forms.DateField(label="From", widget=DateInput(), required=False, error_messages=DATE_ERRORS)
    end = forms.DateField(label="To", widget=DateInput(), required=False, error_messages=DATE_ERRORS)

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        default_start, default_end = default_period()
        data["start"] = data.get("start") or default_start
        data["end"] = data.get("end") or default_end
        if data["start"] > data["end"]:
            self.add_error("start", FROM_AFTER_TO)
        elif (data["end"] - data["start"]).days > MAX_DAYS:
            self.add_error("start", TOO_LONG)
        return data


class EmailStatementForm(PeriodForm, KeyedForm):
    pass


class StatementRunForm(PeriodForm, KeyedForm):
    WHO = [
        ("balance_or_credit", "Everyone with an outstanding balance or available credit"),
        ("tag", "Everyone in a class (tag)"),
        ("ticked", "The customers ticked on Customers › View All"),
        ("matching", "Everyone matching the filter chosen on Customers › View All"),
    ]
    who = forms.ChoiceField(
        label="Who gets a statement", choices=WHO, initial="balance_or_credit", widget=forms.RadioSelect
    )
    tag = forms.CharField(label="Class tag", required=False, max_length=100)
    ids = forms.CharField(widget=forms.HiddenInput, required=False)
    matching = forms.CharField(widget=forms.HiddenInput, required=False)  # the list's filter, as its query string

    def clean(self) -> dict:
        data = super().clean()
        if data.get("who") == "tag" and not (data.get("tag") or "").strip():
            self.add_error("tag", "Enter the class tag, for example Ballet Tue 4pm.")
        if data.get("who") == "ticked":
            data["ids"] = _ticked(data.get("ids"))
            if not data["ids"]:
                self.add_error(None, "No customers are ticked: tick them on Customers › View All first.")
        if data.get("who") == "matching":
            data["selection"] = _matching(data.get("matching"))
            if data["selection"].nobody:
                self.add_error(None, NO_FILTER)
        return data

    def chosen(self) -> str:
        """What "ticked" or "matching" stands for here, in words: "3 customers ticked …", "12 customers match …"."""
        ids, matching = _ticked(self["ids"].value()), self["matching"].value()
        if ids:
            return f"{len(ids):,} customer{pluralize(len(ids))} ticked on Customers › View All."
        selection = _matching(matching)
        if not matching or selection.nobody:
            return ""
        count = selection.queryset.count()
        said = ", ".join(f"{name} “{value}”" for name, value in selection.filters.items() if value) or "all customers"
        return f"{count:,} customer{pluralize(count)} match the filter ({said})."

    @classmethod
    def initial_from(cls, query: QueryDict) -> dict | None:
        """Group Actions › Send Statements on Customers › View All: the ticked customers, or all matching its filter."""
        selection = read_selection(query, required=True)
        if selection.ids:
            return {"who": "ticked", "ids": ",".join(map(str, selection.ids))}
        if selection.by_filter:
            everyone = {"everyone": "1"} if selection.everyone else {}
            return {"who": "matching", "matching": urlencode({**selection.filters, **everyone})}
        return None


def _ticked(text: str | None) -> list[int]:
    """The ticked customers' ids as the form carries them ("12,15,40"); none when the text is not such a list."""
    try:
        return [int(pk) for pk in (text or "").split(",") if pk.strip()][:100_000]
    except ValueError:
        return []


def _matching(text: str | None) -> Selection:
    """The customer list's filter as the form carries it (its query string)."""
    return read_selection(QueryDict(text or "").copy(), required=False)


class OutboxFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search", label="Search", widget=forms.SearchInput(attrs={"placeholder": "Address or subject"})
    )
    status = django_filters.ChoiceFilter(choices=EmailStatus.choices, empty_label="Any status", label="Status")
    carries = django_filters.ChoiceFilter(
        field_name="attachment", choices=Attachment.choices[1:], empty_label="Anything", label="Carries"
    )

    class Meta:
        model = Email
        fields: list[str] = []

    def search(self, queryset, name: str, value: str):
        return queryset.filter(Q(to__icontains=value) | Q(subject__icontains=value))
