from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        from runs.models import Kind
        from runs.services import register

        from .invoice_run import invoice_chunk

        register(Kind.INVOICES, invoice_chunk)
