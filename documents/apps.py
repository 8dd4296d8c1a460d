from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "documents"
    verbose_name = "Documents the family receives"
    default_auto_field = "django.db.models.BigAutoField"
