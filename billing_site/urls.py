from django.contrib import admin
from django.urls import include, path

from billing_site import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("customers/", include("accounts.urls")),
    path("billing/", include("billing.urls")),
    path("billing/", include("credits.urls")),
    path("admin/", admin.site.urls),
]

handler403 = "billing_site.views.permission_denied"
