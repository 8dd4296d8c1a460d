"""The PDFs: A4, a title, real text (extracted with pypdf) saying what the pages say."""

from __future__ import annotations

import datetime
import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from billing import services as billing
from credits import services as credits
from documents.pdf import LINE, statement_lines
from documents.statements import build_statement
from tests.factories import CustomerFactory, credit_for, invoice_for

pytestmark = pytest.mark.django_db

A4 = (595, 842)  # points, rounded


def read(content: bytes) -> tuple[str, PdfReader]:
    reader = PdfReader(io.BytesIO(content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return " ".join(text.split()), reader


def assert_a4(reader: PdfReader) -> None:
    for page in reader.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == A4


@pytest.fixture
def amy():
    return CustomerFactory(name="Amy Parent", email="amy@example.com", address="4 Orchard Close\nSurbiton\nKT6 4HX")


def test_the_credit_note_pdf_says_who_what_and_where_it_went(staff_client, amy, settings):
    settings.STUDIO_NAME, settings.STUDIO_ADDRESS = "Tiny Toes Dance", "1 High Street\nBath BA1 1AA"
    settings.STUDIO_EMAIL = "hello@tinytoes.example"
    autumn = invoice_for(amy, "100.00")
    credit = credit_for(amy, "250.00", reason="cancelled_class", note="Two classes cancelled: flooding")
    credits.assign_credit(credit, {autumn: "100.00"})
    response = staff_client.get(reverse("documents:credit_note_pdf", args=[credit.pk]))
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="credit-note-{credit.display_number}.pdf"' in response["Content-Disposition"]
    text, reader = read(response.content)
    assert_a4(reader)
    assert reader.metadata.title == f"Credit note {credit.display_number} for Amy Parent"
    for words in [
        "Tiny Toes Dance",
        "1 High Street",
        "Bath BA1 1AA",
        "hello@tinytoes.example",
        "Amy Parent",
        "4 Orchard Close",
        "KT6 4HX",
        credit.display_number,
        "£250.00",
        "Cancelled class",
        "Two classes cancelled: flooding",
        f"{autumn.display_number} £100.00",
        "Remaining on your account £150.00",
    ]:
        assert words in text, words


def test_the_invoice_pdf_has_lines_payments_credit_and_outstanding(staff_client, amy):
    credit = credit_for(amy, "15.00", auto_apply=True)
    invoice = billing.create_invoice(amy, [("Ballet — autumn term", 1, "120.00"), ("Leotard", 2, "18.50")])
    billing.record_payment(invoice, "40.00", method="cash")
    text, reader = read(staff_client.get(reverse("documents:invoice_pdf", args=[invoice.pk])).content)
    assert_a4(reader)
    assert reader.metadata.title == f"Invoice {invoice.display_number} for Amy Parent"
    for words in [
        "Ballet — autumn term 1 £120.00 £120.00",
        "Leotard 2 £18.50 £37.00",
        "Total £157.00",
        "Payment (cash) £40.00",
        f"Credit applied from {credit.display_number} £15.00",
        "Outstanding £102.00",
        "Amy Parent",
    ]:
        assert words in text, words


def test_a_statement_pdf_has_the_period_its_balances_and_every_movement(staff_client, amy):
    invoice = invoice_for(amy, "100.00")
    billing.record_payment(invoice, "30.00")
    credit_for(amy, "20.00", reason="goodwill")
    url = reverse("documents:statement_pdf", args=[amy.pk])
    text, reader = read(staff_client.get(url, {"start": "2024-01-01", "end": "2030-12-31"}).content)
    assert_a4(reader)
    assert reader.metadata.title == "Statement for Amy Parent, 1 Jan 2024 to 31 Dec 2030"
    for words in [
        "Opening balance £0.00",
        f"Invoice {invoice.display_number}",
        "£100.00",
        "£30.00",
        "£70.00",
        "Goodwill",
        "£50.00",
        "Closing balance £50.00",
        "Account credit available £20.00",
    ]:
        assert words in text, words


def test_the_pdfs_need_a_login_and_the_permission(client, amy, django_user_model):
    credit = credit_for(amy)
    url = reverse("documents:credit_note_pdf", args=[credit.pk])
    assert client.get(url).status_code == 302
    client.force_login(django_user_model.objects.create_user("nobody"))
    assert client.get(url).status_code == 403


def test_an_unknown_credit_invoice_or_customer_is_not_found(staff_client):
    for name in ("documents:credit_note_pdf", "documents:invoice_pdf", "documents:statement_pdf"):
        assert staff_client.get(reverse(name, args=[999999])).status_code == 404


def test_a_long_statement_keeps_its_columns_wraps_long_descriptions_and_heads_every_page(staff_client, amy):
    billing.create_invoice(amy, [("Ballet — weekly class, autumn term, Tuesdays 4pm with Miss Jones", 1, "1234.50")])
    for _ in range(110):
        invoice_for(amy, "9.00")
    credit_for(amy, "20.00", reason="goodwill")
    start, end = datetime.date(2024, 1, 1), datetime.date(2030, 12, 31)
    lines = statement_lines(build_statement(amy, start, end))
    # 113 movements (the opening balance first), 25 to a block; the first block has a wrapped description too
    assert [block.count("\n") + 1 for block in lines["body"]] == [26, 25, 25, 25, 13] and not lines["nothing"]
    opening, *body = "\n".join(lines["body"]).split("\n")
    movements = [opening, *body, lines["closing"]]
    first_lines = [line for line in movements if not line.startswith(" ")]
    # Every balance ends in the same column, and each amount under its heading's right edge.
    assert len({len(line) for line in first_lines}) == 1
    heading = lines["heading"].split("\n")[0]
    assert first_lines[1].index("£1,234.50") + len("£1,234.50") == heading.index("Charges") + len("Charges")
    # The long description wraps under its column, not under the date.
    assert "Miss Jones" not in body[0] and "Miss Jones" in body[1] and body[1].startswith(" " * len("30 Nov 2026"))
    assert max(len(line) for line in movements) <= LINE
    response = staff_client.get(reverse("documents:statement_pdf", args=[amy.pk]), {"start": start, "end": end})
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) >= 3
    for page in reader.pages[1:]:  # the column heading again at the top of each page after the first
        assert "Date Description Charges Payments Balance and credits" in " ".join(page.extract_text().split())
    text, _ = read(response.content)
    assert text.count("£9.00") >= 110 and "Credit note" in text and "Miss Jones" in text


def test_a_statement_of_a_quiet_period_says_nothing_happened(staff_client, amy):
    response = staff_client.get(
        reverse("documents:statement_pdf", args=[amy.pk]), {"start": "2024-01-01", "end": "2024-03-31"}
    )
    text, _ = read(response.content)
    assert "Opening balance £0.00" in text and "Nothing happened on this account in this period." in text
