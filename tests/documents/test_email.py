"""Email through the Outbox: a real SMTP server (aiosmtpd) in the test process and Procrastinate's real worker."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from pypdf import PdfReader

from credits import services as credits
from documents import services
from documents.models import Email, EmailStatus
from tests.factories import CustomerFactory, credit_for, invoice_for
from tests.ledger import keep_staff_groups  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("keep_staff_groups")


def pdf_text(content: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages).split())


def test_a_credit_note_arrives_once_with_its_pdf_and_the_outbox_says_sent(smtp_server, run_worker):
    amy = CustomerFactory(name="Amy Parent", email="amy@example.com")
    credit = credit_for(amy, "25.00", reason="cancelled_class")
    email = services.email_credit_note(credit, idempotency_key="k1")
    assert services.email_credit_note(credit, idempotency_key="k1") == email  # the same click twice: one email
    assert email.status == EmailStatus.QUEUED
    run_worker()
    email.refresh_from_db()
    assert (email.status, email.attempts, email.error) == (EmailStatus.SENT, 1, "")
    [message] = smtp_server.messages
    assert message["To"] == "amy@example.com"
    assert message["Subject"] == f"Credit note {credit.display_number} from Riverside Dance & Swim Studio"
    assert message["Message-ID"].strip() == email.message_id
    assert "Dear Amy Parent" in message.get_body(("plain",)).get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == f"credit-note-{credit.display_number}.pdf"
    sent_pdf = attachment.get_content()
    assert f"{credit.display_number}" in pdf_text(sent_pdf) and "£25.00" in pdf_text(sent_pdf)
    assert bytes(email.attachment_pdf) == sent_pdf  # the Outbox keeps what was sent
    run_worker()
    assert len(smtp_server.messages) == 1


def test_an_address_the_server_refuses_fails_with_the_reason_at_once(smtp_server, run_worker):
    ben = CustomerFactory(name="Ben Parent", email="nobody@example.com")
    smtp_server.refuse.add("nobody@example.com")
    email = services.email_invoice(invoice_for(ben, "40.00"))
    run_worker()
    email.refresh_from_db()
    assert email.status == EmailStatus.FAILED and email.attempts == 1
    assert "refused" in email.error and "550" in email.error and "No such mailbox" in email.error
    assert smtp_server.messages == []


def test_a_server_that_is_down_is_retried_then_failed_and_retry_sends_it_once(smtp_server, run_worker):
    cara = CustomerFactory(name="Cara Parent", email="cara@example.com")
    smtp_server.stop()
    email = services.email_statement(cara, *__import__("documents.statements", fromlist=["x"]).default_period())
    run_worker()
    email.refresh_from_db()
    assert email.status == EmailStatus.FAILED and email.attempts == 3  # EMAIL_MAX_ATTEMPTS in the fixture
    assert "Could not send after 3 tries" in email.error and "connection refused" in email.error
    smtp_server.start()
    services.retry(email)
    with pytest.raises(ValidationError, match="Only a failed email"):
        services.retry(email)
    run_worker()
    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.SENT, 4)
    assert len(smtp_server.messages) == 1


def test_a_name_or_note_cannot_add_headers_and_bad_addresses_are_refused(smtp_server, run_worker):
    evil = CustomerFactory(name="Eve\r\nBcc: victim@example.com", email="eve@example.com")
    credit = credit_for(evil, "5.00", note="Hi\r\nBcc: other@example.com\r\n\r\nbody")
    services.email_credit_note(credit)
    run_worker()
    [message] = smtp_server.messages
    assert message["Bcc"] is None and smtp_server.inbox.envelopes[0][1] == ["eve@example.com"]
    assert "\n" not in message["Subject"]
    for address in ("", "not-an-address", "a@b.com\r\nBcc: x@example.com"):
        customer = CustomerFactory(email=address)
        with pytest.raises(ValidationError):
            services.email_credit_note(credit_for(customer))
    assert Email.objects.count() == 1


def test_a_statement_run_queues_one_email_each_and_lists_who_has_no_address(smtp_server, run_worker, manager):
    from documents.runs import start_statement_run, with_balance_or_credit
    from runs.models import Run

    owes = CustomerFactory(name="Owes Money", email="owes@example.com")
    invoice_for(owes, "30.00")
    has_credit = CustomerFactory(name="Has Credit", email="credit@example.com")
    credit_for(has_credit, "10.00")
    no_address = CustomerFactory(name="No Address", email="")
    invoice_for(no_address, "12.00")
    CustomerFactory(name="Settled Up", email="settled@example.com")
    start, end = __import__("documents.statements", fromlist=["x"]).default_period()
    run = start_statement_run(with_balance_or_credit(), start, end, by=manager, idempotency_key="run-1")
    assert start_statement_run(with_balance_or_credit(), start, end, by=manager, idempotency_key="run-1") == run
    run_worker()
    run = Run.objects.get(pk=run.pk)
    assert run.status == "done" and run.total == 3
    assert [(p.subject, p.reason) for p in run.problems.all()] == [("No Address", "No email address")]
    assert sorted(m["To"] for m in smtp_server.messages) == ["credit@example.com", "owes@example.com"]
    assert all(m["Subject"].startswith("Your statement from") for m in smtp_server.messages)


# The pages -------------------------------------------------------------------------------------------------------


def test_add_credit_with_email_the_credit_note_ticked_queues_it_and_the_outbox_shows_it(
    staff_client, smtp_server, run_worker
):
    amy = CustomerFactory(name="Amy Parent", email="amy@example.com")
    form = {
        "customer": amy.pk,
        "date": "",
        "amount": "12.50",
        "reason": "cancelled_class",
        "note": "",
        "auto_apply": "on",
        "email_credit_note": "on",
        "idempotency_key": "form-1",
    }
    from django.utils import timezone

    form["date"] = timezone.localdate().isoformat()
    response = staff_client.post(reverse("credits:add"), form, follow=True)
    said = [str(m) for m in response.context["messages"]]
    assert said[1] == "The credit note is queued to amy@example.com (Billing › Outbox)."
    staff_client.post(reverse("credits:add"), form)  # sent twice: one credit, one email
    email = Email.objects.get()
    run_worker()
    outbox = staff_client.get(reverse("documents:outbox")).content.decode()
    assert "amy@example.com" in outbox and "Sent" in outbox
    detail = staff_client.get(email.get_absolute_url()).content.decode()
    number = amy.credits.get().display_number
    assert f"credit-note-{number}.pdf" in detail
    attachment = staff_client.get(reverse("documents:outbox_attachment", args=[email.pk]))
    assert attachment["Content-Type"] == "application/pdf" and number in pdf_text(attachment.content)
    assert len(smtp_server.messages) == 1


def test_add_credit_for_a_customer_without_an_address_says_the_note_was_not_emailed(staff_client):
    ben = CustomerFactory(name="Ben Parent", email="")
    from django.utils import timezone

    form = {
        "customer": ben.pk,
        "date": timezone.localdate().isoformat(),
        "amount": "5.00",
        "reason": "goodwill",
        "email_credit_note": "on",
        "idempotency_key": "form-2",
    }
    response = staff_client.post(reverse("credits:add"), form, follow=True)
    said = [str(m) for m in response.context["messages"]]
    assert "Not emailed: Ben Parent (no email address)." in said
    assert not Email.objects.exists()


def test_email_buttons_queue_and_a_failed_email_can_be_retried_from_its_page(staff_client, smtp_server, run_worker):
    amy = CustomerFactory(name="Amy Parent", email="amy@example.com")
    invoice = invoice_for(amy, "50.00")
    smtp_server.refuse.add("amy@example.com")
    response = staff_client.post(reverse("documents:email_invoice", args=[invoice.pk]), {"idempotency_key": "b1"})
    assert response.status_code == 303 and response["Location"] == invoice.get_absolute_url()
    run_worker()
    email = Email.objects.get()
    assert email.status == EmailStatus.FAILED
    page = staff_client.get(email.get_absolute_url()).content.decode()
    assert "Retry" in page and "550" in page
    smtp_server.refuse.clear()
    staff_client.post(reverse("documents:outbox_retry", args=[email.pk]))
    run_worker()
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT and len(smtp_server.messages) == 1
    credit = credits.add_credit(amy, "3.00")
    staff_client.post(reverse("documents:email_credit_note", args=[credit.pk]), {"idempotency_key": "b2"})
    staff_client.post(reverse("documents:email_statement", args=[amy.pk]), {"idempotency_key": "b3"})
    assert Email.objects.count() == 3


def test_send_statements_from_group_actions_carries_the_ticked_customers_or_the_filter(manager_client):
    from runs.models import Run

    ballet = [CustomerFactory(name=f"Ballet {n}", tags=["Ballet Tue 4pm"]) for n in range(3)]
    swim = CustomerFactory(name="Swim Only", tags=["Swim Sat 10am"])
    url = reverse("documents:statement_run_new")
    list_page = manager_client.get(reverse("customers:list")).content.decode()
    assert f'formaction="{url}">Send Statements</button>' in list_page

    ticked = manager_client.get(url, {"customer": [ballet[0].pk, swim.pk]})
    assert ticked.context["form"].initial == {"who": "ticked", "ids": f"{ballet[0].pk},{swim.pk}"}
    assert "2 customers ticked on Customers › View All." in ticked.content.decode()

    matching = manager_client.get(url, {"all_matching": "1", "q": "", "tag": "Ballet Tue 4pm", "outstanding": ""})
    carried = matching.context["form"].initial["matching"]
    assert "3 customers match the filter (tag “Ballet Tue 4pm”)." in matching.content.decode()
    form = {"who": "matching", "matching": carried, "start": "2026-01-01", "end": "2026-03-31"}
    response = manager_client.post(url, {**form, "idempotency_key": "statements-ballet"})
    run = Run.objects.get()
    assert response.status_code == 303 and sorted(run.items) == sorted(customer.pk for customer in ballet)

    # A filter that chooses nobody is refused, and nothing starts.
    response = manager_client.post(url, {**form, "matching": "q=&tag=&outstanding=", "idempotency_key": "nobody"})
    assert response.status_code == 422 and "No filter is chosen" in response.content.decode()
    assert Run.objects.count() == 1


def test_an_invoice_run_with_email_each_invoice_queues_them_and_lists_who_has_no_address(
    smtp_server, run_worker, manager
):
    from billing.invoice_run import start_invoice_run
    from billing.models import Invoice
    from runs.models import Run

    amy = CustomerFactory(name="Amy Parent", email="amy@example.com")
    ben = CustomerFactory(name="Ben Parent", email="ben@example.com")
    no_address = CustomerFactory(name="No Address", email="")
    lines = [("Ballet — spring term", 1, "120.00")]
    run = start_invoice_run([amy.pk, ben.pk, no_address.pk], lines, by=manager, idempotency_key="term", email=True)
    assert run.title.endswith("each emailed")
    run_worker()
    run = Run.objects.get(pk=run.pk)
    assert run.status == "done" and Invoice.objects.filter(run=run).count() == 3
    assert [(p.subject, p.reason) for p in run.problems.all()] == [
        ("No Address", "Invoiced, not emailed: No email address")
    ]
    assert sorted(m["To"] for m in smtp_server.messages) == ["amy@example.com", "ben@example.com"]
    for message in smtp_server.messages:
        invoice = Invoice.objects.get(run=run, customer__email=message["To"])
        assert message["Subject"].startswith(f"Invoice {invoice.display_number} from")
        [attachment] = list(message.iter_attachments())
        text = PdfReader(io.BytesIO(attachment.get_content())).pages[0].extract_text()
        assert invoice.display_number in text and "£120.00" in text
    assert set(Email.objects.values_list("run", flat=True)) == {run.pk}

    # Without the tick box nothing is emailed.
    quiet = start_invoice_run([amy.pk], lines, by=manager, idempotency_key="quiet")
    run_worker()
    assert Run.objects.get(pk=quiet.pk).status == "done" and len(smtp_server.messages) == 2
