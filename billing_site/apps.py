from django.apps import AppConfig


class SiteConfig(AppConfig):
    """The plumbing's start-up: a session's clocks start at login (billing_site.sessions' signal receiver)."""

    name = "billing_site"
    label = "site"

    def ready(self) -> None:
        from . import sessions  # noqa: F401 - connects its user_logged_in receiver
