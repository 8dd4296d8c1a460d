"""Billing views (placeholder until the Billing menu is built)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def invoice_list(request: HttpRequest) -> HttpResponse:
    return render(request, "placeholder.html", {"title": "Invoices"})


def payment_list(request: HttpRequest) -> HttpResponse:
    return render(request, "placeholder.html", {"title": "Payments"})
