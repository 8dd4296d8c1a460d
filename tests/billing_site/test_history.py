"""billing_site.history: what pghistory recorded, in the words and forms the pages use (labels, £, dates, names
linked to their pages, reason and method labels, Yes/No), read with one query per kind of row named."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone

from billing import services as billing
from billing_site.history import Change, Link, history
from credits import services as credits
from customers import services as customers
from tests.factories import CustomerFactory, credit_for, invoice_for

pytestmark = pytest.mark.django_db

NOV_28 = datetime.date(2026, 11, 28)


def shown(row) -> dict:
    """{label: new value} of one history row."""
    return {change.label: change.new for change in row.changes}


def link(obj) -> Link:
    return Link(str(obj), obj.get_absolute_url())


def test_a_credit_reads_as_its_page_shows_it(staff, customer):
    credit = credits.add_credit(
        customer, "25.00", date=NOV_28, reason="cancelled_class", note="Pool closed", auto_apply=True, by=staff
    )
    [row] = history(credit)
    assert (row.who, row.action, row.subject, row.happened) == ("sam.staff", "Credit added", link(credit), "created")
    assert link(credit) == Link(credit.display_number, f"/billing/credits/{credit.pk}/")
    assert shown(row) == {
        "Customer": Link("Amy Parent", f"/customers/{customer.pk}/"),
        "Payment date": "28 Nov 2026",
        "Amount": "£25.00",
        "Assigned": "£0.00",
        "Refunded": "£0.00",
        "Reason": "Cancelled class",
        "Note": "Pool closed",
        "Auto-apply": "Yes",
    }
    assert all(change.old is None for change in row.changes)  # a created row shows its values, not "→"


def test_a_change_shows_each_changed_field_before_and_after_in_words(staff, customer):
    credit = credits.add_credit(customer, "25.00", date=NOV_28, reason="cancelled_class", auto_apply=True, by=staff)
    credits.update_credit(credit, reason="goodwill", auto_apply=False, note="Kind gesture", by=staff)
    row = history(credit)[0]
    assert (row.action, row.happened) == ("Credit modified", "changed")
    assert row.changes == [
        Change("Reason", "Cancelled class", "Goodwill"),
        Change("Note", "—", "Kind gesture"),
        Change("Auto-apply", "Yes", "No"),
    ]


def test_an_assignment_names_the_credit_and_the_invoice_by_their_numbers_linked(staff, customer):
    invoice = invoice_for(customer, "40.00", by=staff)
    credit = credit_for(customer, "25.00", by=staff)
    credits.assign_credit(credit, {invoice: "15.00"}, by=staff)
    assigned = [row for row in history(credit, include_related=True) if row.subject == "Credit assignment"]
    assert [(row.action, row.happened, shown(row)) for row in assigned] == [
        ("Credit assigned", "created", {"Credit": link(credit), "Invoice": link(invoice), "Amount": "£15.00"})
    ]
    assert re.fullmatch(r"INV-\d{6}", link(invoice).text)


def test_an_invoices_history_has_its_number_lines_payments_method_and_void_in_words(staff, manager, customer):
    invoice = billing.create_invoice(
        customer, [("Ballet — autumn term", 2, "60.00")], issue_date=NOV_28, due_date=datetime.date(2026, 12, 12)
    )
    billing.record_payment(invoice, "20.00", date=NOV_28, method="bank_transfer", by=staff)
    other = billing.create_invoice(customer, [("Swim", 1, "10.00")], issue_date=NOV_28, due_date=NOV_28)
    billing.void_invoice(other, by=manager)

    rows = history(invoice, include_related=True)
    created = next(row for row in rows if row.subject == link(invoice) and row.happened == "created")
    assert shown(created) == {
        "Customer": link(customer),
        "Issue date": "28 Nov 2026",
        "Due date": "12 Dec 2026",
        "Total": "£0.00",
        "Paid": "£0.00",
        "Credited": "£0.00",
    }  # its number names it in What: "INV-000123 created"
    line = next(row for row in rows if row.subject == "Invoice line")
    assert shown(line) == {
        "Invoice": link(invoice),
        "Description": "Ballet — autumn term",
        "Quantity": "2",
        "Unit price": "£60.00",
        "Amount": "£120.00",
    }
    payment = next(row for row in rows if row.subject == "Payment")
    assert (payment.action, payment.who) == ("Payment recorded", "sam.staff")
    assert shown(payment) == {
        "Invoice": link(invoice),
        "Amount": "£20.00",
        "Date": "28 Nov 2026",
        "Method": "Bank transfer",
    }

    voided = history(other)[0]
    other.refresh_from_db()
    assert (voided.action, voided.who) == ("Invoice voided", "maria.manager")
    at = timezone.localtime(other.voided_at).strftime("%-d %b %Y, %H:%M")
    assert voided.changes == [Change("Voided", "—", at), Change("Voided by", "—", "maria.manager")]


def test_a_bulk_credit_links_its_batch_and_a_deleted_credit_is_named_unlinked(staff, manager):
    amy, ben = CustomerFactory(name="Amy Parent"), CustomerFactory(name="Ben Parent")
    batch = credits.add_bulk_credits([amy, ben], "10.00", date=NOV_28, reason="goodwill", by=manager)
    assert str(batch) == f"Bulk batch #{batch.pk}"
    credit = amy.credits.get()
    assert shown(history(credit)[0])["Bulk batch"] == Link(
        f"Bulk batch #{batch.pk}", f"/billing/credits/batches/{batch.pk}/"
    )

    single = credit_for(amy, "5.00", by=staff)
    credits.delete_credit(single, by=manager)
    [deleted] = [row for row in history(amy, include_related=True) if row.happened == "deleted"]
    assert (deleted.action, deleted.subject, deleted.happened) == ("Credit deleted", f"Credit #{single.pk}", "deleted")


def test_a_customers_own_changes_read_as_the_details_tab(staff, manager):
    amy = customers.create_customer(name="Amy Parent", email="amy@example.com", tags=["Ballet Tue 4pm"], by=staff)
    customers.update_customer(
        amy, name="Amy Parent", email="amy@example.com", tags=["Ballet Tue 4pm", "Swim"], by=manager
    )
    changed, created = history(amy)
    assert created.subject == link(amy) and shown(created)["Tags"] == "Ballet Tue 4pm"
    assert shown(created)["Archived"] == "No"
    assert changed.changes == [Change("Tags", "Ballet Tue 4pm", "Ballet Tue 4pm, Swim")]


def test_no_raw_value_is_left_anywhere_in_a_busy_history(staff, manager, customer):
    invoice = invoice_for(customer, "100.00", by=staff)
    credit = credits.add_credit(customer, "250.00", reason="cancelled_class", auto_apply=True, by=staff)
    credits.assign_credit(credit, {invoice: "60.00"}, by=staff)
    billing.record_payment(invoice, "10.00", method="cash", by=staff)
    credits.update_credit(credit, reason="write_off", by=manager)
    words = " ".join(
        f"{row.subject} {row.happened} " + " ".join(f"{c.label}: {c.old} → {c.new}" for c in row.changes)
        for obj in (customer, invoice, credit)
        for row in history(obj, include_related=True)
    )
    # ISO dates, True/False, codes (cancelled_class, bank_transfer), "credit #7 created", "customer: #12"
    raw = r"\d{4}-\d\d-\d\d|\bTrue\b|\bFalse\b|_|\b[a-z ]+ #\d+ (created|changed)|\b(customer|invoice|credit): #"
    assert not re.search(raw, words), re.search(raw, words)


def test_it_reads_the_rows_it_names_once_per_kind_however_many_events(
    staff, manager, django_assert_num_queries, django_assert_max_num_queries
):
    amy = CustomerFactory(name="Amy Parent")

    def busy(times: int) -> None:
        for _ in range(times):
            invoice = invoice_for(amy, "30.00", by=staff)
            billing.record_payment(invoice, "5.00", by=staff)
            credits.assign_credit(credit_for(amy, "5.00", by=staff), {invoice: "5.00"}, by=staff)
        billing.void_invoice(invoice_for(amy, "1.00", by=staff), by=manager)

    busy(1)
    # The events, then customers, credits, invoices and users (who voided); the context names who did each.
    with django_assert_max_num_queries(5) as few:
        history(amy, include_related=True)
    busy(10)
    with django_assert_num_queries(len(few)):
        assert len(history(amy, include_related=True)) > 50


def test_a_refund_and_its_reversal_read_in_words_with_who_and_why(manager, customer):
    credit = credits.add_credit(customer, "100.00", auto_apply=False, by=manager)
    refund = credits.refund_credit(credit, "40.00", method="bank_transfer", note="Leaving at end of term", by=manager)
    credits.reverse_refund(refund, reason="The bank returned the transfer", by=manager)
    rows = history(credit, include_related=True)
    by_action = {(row.action, row.subject if isinstance(row.subject, str) else str(row.subject)): row for row in rows}
    assert {row.who for row in rows} == {manager.get_username()}
    made = by_action[("Credit refunded", "Refund")]
    assert made.happened == "created"
    assert {c.label: str(c.new) for c in made.changes}.items() >= {
        "Amount": "£40.00",
        "Method": "Bank transfer",
        "Note": "Leaving at end of term",
    }.items()
    reversed_ = by_action[("Refund reversed", "Refund")]
    assert {c.label: str(c.new) for c in reversed_.changes}["Reversal reason"] == "The bank returned the transfer"
    figures = by_action[("Refund reversed", credit.display_number)]
    assert [(c.label, str(c.old), str(c.new)) for c in figures.changes] == [("Refunded", "£40.00", "£0.00")]
