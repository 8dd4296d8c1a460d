"""Every list and tab costs the same number of queries with ten times the rows (no N+1 anywhere).

One small studio is built through the services, every page is fetched once and its queries
counted (none may pass PAGE_QUERY_BUDGET); then every table behind those pages grows tenfold around
the same customer, credit, invoice and batch, and every page must cost exactly what it did. Timing
is left to `make bench`.
"""

from __future__ import annotations

import types

import pytest

from billing import services as billing
from billing.invoice_run import start_invoice_run
from credits import services as credits
from customers.models import Customer
from tests.conftest import htmx
from tests.factories import CustomerFactory, credit_for, invoice_for

pytestmark = pytest.mark.django_db

TAG = "Ballet Tue 4pm"


def grow(world: types.SimpleNamespace, rows: int) -> None:
    """`rows` more of everything: customers with an invoice and a credit each, and more invoices, payments,
    credits and assignments for the one customer, credit and invoice the pages show."""
    for _ in range(rows):
        other = CustomerFactory(tags=[TAG])
        invoice_for(other, "30.00", by=world.staff)
        credit_for(other, "5.00", by=world.staff)
        invoice = invoice_for(world.focus, "40.00", by=world.staff)
        billing.record_payment(invoice, "10.00", by=world.staff)
        credits.assign_credit(world.credit, {invoice: "5.00"}, by=world.staff)
        credit_for(world.focus, "3.00", by=world.staff)
        # The invoice to void takes one more credit each time (its confirmation lists them).
        credits.assign_credit(
            credit_for(world.focus, "1.00", by=world.staff), {world.big_invoice: "1.00"}, by=world.staff
        )
    # A batch as big as the tag's customers, for the batch page.
    world.batch = credits.add_bulk_credits(
        Customer.objects.filter(tags__contains=[TAG]), "2.00", reason="goodwill", by=world.manager
    )
    # An invoice run as big as the tag's customers, in chunks of two (queued: the pages read its chunks either way).
    world.run = start_invoice_run(
        Customer.objects.filter(tags__contains=[TAG]), [("Term", 1, "10.00")], by=world.manager, chunk_size=2
    )


def pages(world: types.SimpleNamespace) -> dict[str, tuple[str, dict]]:
    """Every list and tab (and the pickers and confirmations that list rows), by name: (url, headers)."""
    focus, credit, invoice = world.focus.pk, world.credit.pk, world.big_invoice.pk
    return {
        "customers": ("/customers/", {}),
        "customers (htmx)": ("/customers/", htmx()),
        "customers search": ("/customers/?q=a", {}),
        "customers tag + outstanding": (f"/customers/?tag={TAG}&outstanding=true", {}),
        "customers page 2 (OFFSET)": ("/customers/?page=2", {}),
        "customers page 2 (Next link)": (f"/customers/?page=2&after={world.first_page_last}", {}),
        "customers page 1 (Previous link)": (f"/customers/?page=1&before={world.second_page_first}", {}),
        "customers matching count": (f"/customers/matching/?tag={TAG}", htmx()),
        "customer details": (f"/customers/{focus}/", {}),
        "customer billing tab": (f"/customers/{focus}/billing/", {}),
        "customer billing tab (htmx)": (f"/customers/{focus}/billing/", htmx()),
        "customer history tab": (f"/customers/{focus}/history/", {}),
        "invoices": ("/billing/invoices/", {}),
        "invoices by status": ("/billing/invoices/?status=part_paid", {}),
        "invoice page": (f"/billing/invoices/{invoice}/", {}),
        "invoice history": (f"/billing/invoices/{invoice}/history/", {}),
        "invoice void confirmation": (f"/billing/invoices/{invoice}/void/", {}),
        "new invoice customer picker": ("/billing/invoices/new/customers/?customer_q=a", htmx()),
        "payments": ("/billing/payments/", {}),
        "record payment invoice picker": ("/billing/payments/new/invoices/?invoice_q=INV", htmx()),
        "credits": ("/billing/credits/", {}),
        "credits by status and reason": ("/billing/credits/?status=part_assigned&reason=other", {}),
        "credits export": ("/billing/credits/export/", {}),
        "add credit customer picker": ("/billing/add-credit/customers/?customer_q=a", htmx()),
        "bulk credits, all matching": (f"/billing/credits/bulk/?all_matching=1&tag={TAG}", {}),
        "batch page": (f"/billing/credits/batches/{world.batch.pk}/", {}),
        "credit details": (f"/billing/credits/{credit}/", {}),
        "credit assignments tab": (f"/billing/credits/{credit}/assignments/", {}),
        "credit add assignment panel": (f"/billing/credits/{credit}/assignments/add/", htmx()),
        "credit history tab": (f"/billing/credits/{credit}/history/", {}),
        "credit delete confirmation": (f"/billing/credits/{credit}/delete/", {}),
        "runs": ("/billing/runs/", {}),
        "run page": (f"/billing/runs/{world.run.pk}/", {}),
        "run progress (htmx)": (f"/billing/runs/{world.run.pk}/", htmx()),
        "invoice run, all matching": (f"/billing/invoice-run/?all_matching=1&tag={TAG}", {}),
        "invoices of a run": (f"/billing/invoices/?run={world.run.pk}", {}),
    }


def count_queries(page_queries, client, world: types.SimpleNamespace) -> dict[str, int]:
    return {name: page_queries(client, url, headers=headers) for name, (url, headers) in pages(world).items()}


def test_no_page_costs_more_queries_with_ten_times_the_rows(page_queries, manager_client, staff, manager):
    focus = CustomerFactory(name="Focus Family", tags=[TAG])
    world = types.SimpleNamespace(focus=focus, staff=staff, manager=manager)
    world.credit = credit_for(focus, "1000.00", by=staff)
    world.big_invoice = invoice_for(focus, "500.00", by=staff)
    grow(world, 2)
    for n in range(30):  # two pages of customers, so Next and Previous have somewhere to go
        CustomerFactory(name=f"Zed {n:02d}")
    ordered = list(Customer.objects.active().order_by("name", "pk").values_list("pk", flat=True))
    world.first_page_last, world.second_page_first = ordered[24], ordered[25]
    few = count_queries(page_queries, manager_client, world)

    grow(world, 18)
    many = count_queries(page_queries, manager_client, world)

    grown = {name: (few[name], many[name]) for name in few if few[name] != many[name]}
    assert not grown, f"query counts that grew with the rows (before, after): {grown}"
    assert (
        world.focus.invoices.count() == 1 + 20 and world.credit.assignments.count() == 20
    )  # the tables really did grow
