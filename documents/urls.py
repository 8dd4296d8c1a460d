from django.urls import path

from . import views

app_name = "documents"

urlpatterns = [
    path("credits/<int:pk>/pdf/", views.credit_note_pdf, name="credit_note_pdf"),
    path("credits/<int:pk>/email/", views.email_credit_note, name="email_credit_note"),
    path("invoices/<int:pk>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("invoices/<int:pk>/email/", views.email_invoice, name="email_invoice"),
    path("statements/<int:pk>/pdf/", views.statement_pdf, name="statement_pdf"),
    path("statements/<int:pk>/email/", views.email_statement, name="email_statement"),
    path("runs/new-statement-run/", views.statement_run_new, name="statement_run_new"),
    path("outbox/", views.outbox, name="outbox"),
    path("outbox/<int:pk>/", views.outbox_detail, name="outbox_detail"),
    path("outbox/<int:pk>/attachment/", views.outbox_attachment, name="outbox_attachment"),
    path("outbox/<int:pk>/retry/", views.outbox_retry, name="outbox_retry"),
]
