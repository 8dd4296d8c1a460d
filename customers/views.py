"""Customers views (placeholder until the Customers menu is built)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def customer_list(request: HttpRequest) -> HttpResponse:
    return render(request, "placeholder.html", {"title": "Customers"})


def customer_add(request: HttpRequest) -> HttpResponse:
    return render(request, "placeholder.html", {"title": "Add Customer"})
