from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """A customer's account: the pages that put a customer, their invoices and their credits together."""

    name = "accounts"
