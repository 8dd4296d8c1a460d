from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "documents"
    verbose_name = "Documents the family receives"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from credits import mailing
        from runs import services as runs
        from runs.models import Kind

        from . import runs as statement_runs
        from . import services

        mailing.register(services.email_credit_notes_in_words)
        runs.register(Kind.STATEMENTS, statement_runs.email_statements)
