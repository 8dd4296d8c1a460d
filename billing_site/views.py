"""Site-wide views: the home redirect and the error pages."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from billing_site.sessions import ended_message


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect(reverse("customers:list"))


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(
        request,
        "403.html",
        {"reason": str(exception) or "Your account does not have permission for this page."},
        status=403,
    )


@login_not_required
def login(request: HttpRequest) -> HttpResponse:
    """Django's login, saying why when a session ended by itself (idle, or too long)."""
    ended = ended_message(request.GET.get("ended"))
    return auth_views.LoginView.as_view(extra_context={"ended": ended})(request)
