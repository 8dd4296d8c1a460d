from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("overview/", views.overview, name="overview"),
    path("billing/unapplied-credits/", views.unapplied, name="unapplied"),
    path("billing/unapplied-credits/export/", views.unapplied_export, name="unapplied_export"),
    path("billing/unapplied-credits/apply/", views.unapplied_apply_all, name="unapplied_apply_all"),
    path("billing/unapplied-credits/<int:customer_pk>/apply/", views.unapplied_apply, name="unapplied_apply"),
]
