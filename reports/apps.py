from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Overview and reports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from runs import services as runs
        from runs.models import Kind

        from . import services

        runs.register(Kind.APPLY_CREDITS, services.apply_chunk)
