"""PDFs from Django templates with WeasyPrint: one template per document (templates/documents/pdf/), A4, real text.

The PDF's title (its metadata, read by screen readers and shown in viewers' title bars) is the template's <title>.
"""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string

from billing.models import Invoice
from credits.models import Credit

from .statements import Statement


def studio() -> dict[str, str]:
    return {"name": settings.STUDIO_NAME, "address": settings.STUDIO_ADDRESS, "email": settings.STUDIO_EMAIL}


def render_pdf(template: str, context: dict) -> bytes:
    from weasyprint import HTML  # imported when a PDF is made: it loads Pango, ~0.5 s, which pages never need

    html = render_to_string(template, {**context, "studio": studio()})
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()


def credit_note_pdf(credit: Credit) -> bytes:
    assignments = credit.assignments.select_related("invoice").order_by("created_at", "id")
    refunds = credit.refunds.order_by("date", "id")
    return render_pdf(
        "documents/pdf/credit_note.html", {"credit": credit, "assignments": assignments, "refunds": refunds}
    )


def credit_note_filename(credit: Credit) -> str:
    return f"credit-note-{credit.display_number}.pdf"


def invoice_pdf(invoice: Invoice) -> bytes:
    context = {
        "invoice": invoice,
        "lines": invoice.lines.all(),
        "payments": invoice.payments.order_by("date", "id"),
        "assignments": invoice.credit_assignments.select_related("credit").order_by("created_at", "id"),
    }
    return render_pdf("documents/pdf/invoice.html", context)


def invoice_filename(invoice: Invoice) -> str:
    return f"invoice-{invoice.display_number}.pdf"


def statement_pdf(statement: Statement) -> bytes:
    return render_pdf("documents/pdf/statement.html", {"statement": statement})
