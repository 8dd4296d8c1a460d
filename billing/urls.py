from django.urls import path

from billing import views

app_name = "billing"
urlpatterns = [
    path("invoices/", views.invoice_list, name="invoice_list"),
    path("invoices/new/", views.invoice_add, name="invoice_add"),
    path("invoices/new/customers/", views.customer_search, name="customer_search"),
    path("invoice-run/", views.invoice_run, name="invoice_run"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice_detail"),
    path("invoices/<int:pk>/history/", views.invoice_history, name="invoice_history"),
    path("invoices/<int:pk>/apply-credit/", views.invoice_apply_credit, name="invoice_apply_credit"),
    path("invoices/<int:pk>/void/", views.invoice_void, name="invoice_void"),
    path("payments/", views.payment_list, name="payment_list"),
    path("payments/new/", views.payment_add, name="payment_add"),
    path("payments/new/invoices/", views.invoice_search, name="invoice_search"),
]
