"""PDFs from Django templates with WeasyPrint: one template per document (templates/documents/pdf/), A4, real text.

The PDF's title (its metadata, read by screen readers and shown in viewers' title bars) is the template's <title>.
"""

from __future__ import annotations

import textwrap
import threading

from django.conf import settings
from django.template.loader import render_to_string

from billing.models import Invoice
from billing_site.money import ZERO, format_money
from credits.models import Credit

from .statements import Statement
from .templatetags.documents import balance


def studio() -> dict[str, str]:
    return {"name": settings.STUDIO_NAME, "address": settings.STUDIO_ADDRESS, "email": settings.STUDIO_EMAIL}


_fonts = threading.local()


def _font_config():
    """One font configuration per thread, kept: WeasyPrint makes a new one for every PDF by default, and each leaves
    ~0.25 MB behind (a worker emailing 10,000 statements grew from 350 MiB to 2.3 GiB; with one kept it stays flat).
    Per thread, as Pango's font map is not made to be shared between threads."""
    from weasyprint.text.fonts import FontConfiguration

    if not hasattr(_fonts, "config"):
        _fonts.config = FontConfiguration()
    return _fonts.config


def render_pdf(template: str, context: dict) -> bytes:
    from weasyprint import HTML  # imported when a PDF is made: it loads Pango, ~0.5 s, which pages never need

    html = render_to_string(template, {**context, "studio": studio()})
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(font_config=_font_config())


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


# A statement's movements are printed as a bank statement prints them: one line of a fixed-width font each, the
# amounts aligned by padding, 25 movements to a <pre>. WeasyPrint lays out a table row of five cells ~8× slower than
# a line of text, styles every element (a <p> for each movement is ~20% slower) and copies the rest of a block's text
# for each of its lines (one <pre> for all is ~15% slower), and a statement runs to hundreds of rows (make bench: 300
# invoices and 100 credits). Each column is as wide as its widest entry, as a table's would be; the description takes
# what is left of the line and wraps onto lines of its own.
LINE = 104  # characters of 8pt DejaVu Sans Mono across A4 less the margins (178 mm)
GAP = "  "
BLOCK = 25  # movements to a <pre>
HEADING = (("Date", ""), ("Description", ""), ("Charges", ""), ("Payments", "and credits"), ("Balance", ""))


def statement_lines(statement: Statement) -> dict:
    """The movements of the statement PDF: its heading, the opening and closing lines, and the movements in blocks."""

    def row(day, description: str, charge=ZERO, paid=ZERO, balance_after=None) -> tuple[str, ...]:
        amount = [format_money(value) if value else "" for value in (charge, paid)]
        after = "" if balance_after is None else balance(balance_after)
        return (f"{day:%-d %b %Y}", description, *amount, after)

    opening = row(statement.start, "Opening balance", balance_after=statement.opening)
    closing = row(statement.end, "Closing balance", balance_after=statement.closing)
    rows = [row(m.date, m.description, m.charge, m.paid, m.balance) for m in statement.lines]
    every = [opening, closing, *rows, *zip(*HEADING, strict=True)]
    widths = [max(len(cells[column]) for cells in every) for column in range(5)]
    widths[1] = max(20, min(widths[1], LINE - sum(widths[:1] + widths[2:]) - len(GAP) * 4))  # what the others leave

    def lines(cells: tuple[str, ...]) -> str:
        date, description, *amounts = cells
        first, *more = textwrap.wrap(description, widths[1]) if len(description) > widths[1] else [description]
        right = GAP.join(f"{amount:>{width}}" for amount, width in zip(amounts, widths[2:], strict=True))
        out = [f"{date:<{widths[0]}}{GAP}{first:<{widths[1]}}{GAP}{right}".rstrip()]
        return "\n".join(out + [f"{'':<{widths[0]}}{GAP}{part}" for part in more])

    heading = "\n".join(lines(cells) for cells in zip(*HEADING, strict=True))
    movements = [lines(cells) for cells in [opening, *rows]]  # the opening balance first
    return {
        "heading": heading,
        "page_heading": heading.replace("\n", "\\A "),  # a CSS string, for the top of the pages after the first
        "body": ["\n".join(movements[start : start + BLOCK]) for start in range(0, len(movements), BLOCK)],
        "nothing": "" if rows else lines(("", "Nothing happened on this account in this period.", "", "", "")),
        "closing": lines(closing),
    }


def statement_pdf(statement: Statement) -> bytes:
    return render_pdf("documents/pdf/statement.html", {"statement": statement, "lines": statement_lines(statement)})
