from django.urls import path

from accounts import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("add/", views.customer_add, name="add"),
    path("export/", views.customer_export, name="export"),
    path("matching/", views.customer_matching, name="matching"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/edit/", views.customer_edit, name="edit"),
    path("<int:pk>/billing/", views.customer_billing, name="billing"),
    path("<int:pk>/statement/", views.customer_statement, name="statement"),
    path("<int:pk>/history/", views.customer_history, name="history"),
]
