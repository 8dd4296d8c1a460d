"""The Statement tab and Billing › Outbox make as many queries for ten times the rows."""

from __future__ import annotations

import pytest
from django.urls import reverse

from billing import services as billing
from documents.models import Email
from tests.factories import CustomerFactory, credit_for, invoice_for

pytestmark = pytest.mark.django_db


def history(customer, times: int) -> None:
    for _ in range(times):
        invoice = invoice_for(customer, "30.00")
        billing.record_payment(invoice, "10.00")
        credit_for(customer, "5.00", auto_apply=True)


def test_the_statement_tab_costs_the_same_queries_for_ten_times_the_movements(staff_client, page_queries):
    amy = CustomerFactory()
    history(amy, 2)
    url = reverse("customers:statement", args=[amy.pk])
    few = page_queries(staff_client, url)
    history(amy, 18)
    page_queries(staff_client, url, exactly=few)


def test_the_outbox_costs_the_same_queries_for_ten_times_the_emails(staff_client, page_queries, staff):
    def emails(n: int) -> None:
        for i in range(n):
            Email.objects.create(to=f"f{i}@example.com", subject="Hello", body="Hi", message_id=f"<{i}-{n}@x>",
                                 created_by=staff)  # fmt: skip

    emails(3)
    few = page_queries(staff_client, reverse("documents:outbox"))
    emails(30)
    page_queries(staff_client, reverse("documents:outbox"), exactly=few)
