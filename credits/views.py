"""Credits views (placeholder until the credit screens are built)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def credit_list(request: HttpRequest) -> HttpResponse:
    return render(request, "placeholder.html", {"title": "Credits"})


def credit_add(request: HttpRequest) -> HttpResponse:
    return render(request, "placeholder.html", {"title": "Add Credit"})
