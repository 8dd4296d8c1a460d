"""Site-wide views: the home redirect, the error pages, logging in and unlocking a colleague's login."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render, resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

from billing_site.auth import cool_off
from billing_site.permissions import permission_required
from billing_site.sessions import ended_message
from billing_site.web import pk_or_none, see_other


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect(reverse("reports:overview"))


def _came_from(request: HttpRequest) -> str | None:
    """The page of this site that led here (its Referer), as a local address; None for another site's, or none."""
    referer = request.headers.get("Referer", "")
    if not url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    parts = urlsplit(referer)
    if not parts.path.startswith("/"):
        return None
    local = urlunsplit(("", "", parts.path, parts.query, ""))
    # Back to the refused page itself, or to the login form, would only go round in a circle.
    return None if parts.path in {request.path, resolve_url(settings.LOGIN_URL)} else local


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The "not allowed" page: why (billing_site.permissions words it), and a way back to where the person was."""
    return render(
        request,
        "403.html",
        {
            "reason": str(exception) or "Your account does not have permission for this page.",
            "back": _came_from(request),
        },
        status=403,
    )


@login_not_required
def login(request: HttpRequest) -> HttpResponse:
    """Django's login, saying why when a session ended by itself (idle, or too long)."""
    ended = ended_message(request.GET.get("ended"))
    return auth_views.LoginView.as_view(extra_context={"ended": ended})(request)


def _locked(attempt: AccessAttempt, request: HttpRequest):
    """When the attempt's pause ends, or None when it is not (or no longer) locked."""
    if attempt.failures_since_start < settings.AXES_FAILURE_LIMIT:
        return None
    request.axes_credentials = {"username": attempt.username}
    request.axes_ip_address = attempt.ip_address
    until = attempt.attempt_time + cool_off(request)
    return until if until > timezone.now() else None


@require_http_methods(["GET", "POST"])
@permission_required("axes.delete_accessattempt")
def locked_logins(request: HttpRequest) -> HttpResponse:
    """Managers: the logins paused after five wrong passwords, and Unlock for each."""
    if request.method == "POST":
        attempt = get_object_or_404(AccessAttempt, pk=pk_or_none(request.POST.get("attempt")) or 0)
        reset(username=attempt.username, ip=attempt.ip_address)
        messages.success(request, f"{attempt.username} can log in from {attempt.ip_address} again.")
        return see_other(request, reverse("locked_logins"))
    attempts = AccessAttempt.objects.order_by("-attempt_time")[:200]
    rows = [(attempt, until) for attempt in attempts if (until := _locked(attempt, request))]
    return render(request, "registration/locked_logins.html", {"rows": rows})
