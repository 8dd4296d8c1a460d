from django.apps import AppConfig


class CreditsConfig(AppConfig):
    name = "credits"

    def ready(self) -> None:
        # Billing cannot import credits (layers); it settles new invoices through what is registered here.
        from billing import settlement

        from .services import SETTLEMENT

        settlement.register(SETTLEMENT)

        from runs.models import Kind
        from runs.services import register

        from .bulk_run import bulk_credit_chunk

        register(Kind.BULK_CREDITS, bulk_credit_chunk)
