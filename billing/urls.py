from django.urls import path

from billing import views

app_name = "billing"
urlpatterns = [
    path("invoices/", views.invoice_list, name="invoice_list"),
    path("payments/", views.payment_list, name="payment_list"),
]
