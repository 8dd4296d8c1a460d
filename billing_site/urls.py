from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from billing_site import views

urlpatterns = [
    path("", views.home, name="home"),
    # Log in, log out and change password; no password reset while the product sends no email.
    path("accounts/login/", views.login, name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/locked/", views.locked_logins, name="locked_logins"),
    path("accounts/password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("", include("reports.urls")),
    path("customers/", include("accounts.urls")),
    path("billing/runs/", include("runs.urls")),
    path("billing/", include("documents.urls")),
    path("billing/", include("billing.urls")),
    path("billing/", include("credits.urls")),
    path("admin/", admin.site.urls),
]

handler403 = "billing_site.views.permission_denied"
