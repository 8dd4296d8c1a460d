from django.apps import AppConfig


class CreditsConfig(AppConfig):
    name = "credits"

    def ready(self) -> None:
        # Billing cannot import credits (layers); it settles new invoices through what is registered here.
        from billing import settlement

        from .services import SETTLEMENT

        settlement.register(SETTLEMENT)
