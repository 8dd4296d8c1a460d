from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "documents"
    verbose_name = "Documents the family receives"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from billing import mailing
        from runs import services as runs
        from runs.models import Kind

        from . import runs as statement_runs
        from . import services

        mailing.register(mailing.CREDIT_NOTES, services.email_credit_notes_in_words)
        mailing.register(mailing.INVOICES, services.email_invoices_of_run)
        runs.register(Kind.STATEMENTS, statement_runs.email_statements)
