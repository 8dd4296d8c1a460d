"""Tables for Billing › Credits, a batch's page and the Assignments › Add panel (count-free pagination)."""

from __future__ import annotations

from collections.abc import Callable

from django.urls import NoReverseMatch
from django.utils.safestring import SafeString

from billing.models import Invoice, InvoiceStatus, PaymentMethod
from billing_site.tables import NUM, ChoiceColumn, Column, DateColumn, MoneyColumn, StatusColumn, Table, cell_html
from customers.models import Customer

from .forms import AssignForm
from .models import Credit, CreditStatus, Reason, Refund, credit_note_number


def url_of(obj: object) -> str | None:
    """The object's page, or None while that page does not exist yet."""
    try:
        return obj.get_absolute_url()  # type: ignore[attr-defined]
    except NoReverseMatch:
        return None


class CustomerColumn(Column):
    """The credit's customer, linked to their page."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(
            *args,
            accessor="customer__name",
            link=("customers:detail", "customer_id"),
            order_by=("customer__name", "customer_id"),
            **kwargs,
        )


def view_credit(pk: int, credit: Credit) -> SafeString:
    return cell_html('View credit<span class="visually-hidden"> for {}</span>', credit.customer.name)


def note_number(number: int, credit: Credit) -> str:
    return credit_note_number(number)


class CreditNumberColumn(Column):
    """The credit note number (CN-000042), linked to the credit's page."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(
            *args, accessor="number", link="credits:detail", order_by=("number",), cell=note_number, **kwargs
        )


class CreditTable(Table):
    number = CreditNumberColumn(verbose_name="Credit note")
    date = DateColumn(verbose_name="Date", link="credits:detail", order_by=("date", "id"))
    customer = CustomerColumn(verbose_name="Customer")
    amount = MoneyColumn(verbose_name="Amount")
    assigned = MoneyColumn(verbose_name="Assigned")
    refunded = MoneyColumn(verbose_name="Refunded")
    remaining = MoneyColumn(verbose_name="Remaining")
    status = StatusColumn(CreditStatus, verbose_name="Status")
    reason = ChoiceColumn(Reason, verbose_name="Reason")
    created_by = Column(
        verbose_name="Created by",
        accessor="created_by__username",
        order_by=("created_by__username",),
        default="system",
    )
    # Every row has an obvious way in, not only its date.
    view = Column(accessor="pk", verbose_name="Credit", orderable=False, link="credits:detail", cell=view_credit)

    class Meta(Table.Meta):
        model = Credit
        fields = [
            "number",
            "date",
            "customer",
            "amount",
            "assigned",
            "refunded",
            "remaining",
            "status",
            "reason",
            "created_by",
            "view",
        ]
        order_by = ("-date",)
        empty_text = "No credits match."
        attrs = {"aria-label": "Credits"}


class BatchCreditTable(Table):
    number = CreditNumberColumn(verbose_name="Credit note")
    customer = CustomerColumn(verbose_name="Customer")
    amount = MoneyColumn(verbose_name="Amount")
    assigned = MoneyColumn(verbose_name="Assigned")
    remaining = MoneyColumn(verbose_name="Remaining")
    status = StatusColumn(CreditStatus, verbose_name="Status")
    credit = Column(accessor="pk", verbose_name="Credit", orderable=False, link="credits:detail", cell=view_credit)

    class Meta(Table.Meta):
        model = Credit
        fields = ["number", "customer", "amount", "assigned", "remaining", "status", "credit"]
        order_by = ("customer",)
        empty_text = "This batch has no credits: it was undone."
        attrs = {"aria-label": "Credits of this batch"}


# Assignments › Add: one amount box per open invoice of the credit's customer, which can be hundreds. The boxes are
# written here, not by a form widget's template (~0.2 ms each); the form's fields only check what was sent.
NOTHING, ERROR_CLASS = SafeString(""), SafeString(" has-error")


def amount_cell(invoice: Invoice, name: str, value: str, errors: list[str] | None) -> SafeString:
    """The invoice's amount box with what was typed in it; the cell is marked, and the error shown, when that is wrong."""
    return cell_html(
        '<td class="num{0}"><label for="id_{1}" class="visually-hidden">Amount for {2}</label><input type="text" name="{1}"'
        '{3} inputmode="decimal" autocomplete="off" class="amount" data-outstanding="{4}"{5} id="id_{1}">{6}</td>',
        ERROR_CLASS if errors else NOTHING,
        name,
        invoice.display_number,
        cell_html(' value="{}"', value) if value else NOTHING,
        invoice.outstanding,
        cell_html(' aria-invalid="true" aria-describedby="id_{}_error"', name) if errors else NOTHING,
        cell_html('<p class="error" id="id_{}_error">{}</p>', name, " ".join(errors)) if errors else NOTHING,
    )


class AmountColumn(Column):
    """The form's amount box for each invoice. Its cells' <td> depend on the row (marked when what was typed is
    wrong), so it writes them whole."""

    def __init__(self, form: AssignForm, *args, **kwargs) -> None:
        super().__init__(*args, attrs=NUM, **kwargs)
        self.boxes = {invoice.pk: (name, value, errors) for invoice, name, value, errors in form.rows()}

    def writer(self, bound) -> Callable[[Invoice], SafeString]:
        boxes = self.boxes
        return lambda invoice: amount_cell(invoice, *boxes[invoice.pk])


class AssignTable(Table):
    """The Add panel: the customer's open invoices, oldest first, each with its amount box."""

    invoice = Column(verbose_name="Invoice", accessor="display_number", link="billing:invoice_detail")
    issued = DateColumn(verbose_name="Issued", accessor="issue_date")
    status = StatusColumn(InvoiceStatus, verbose_name="Status")
    total = MoneyColumn(verbose_name="Total")
    outstanding = MoneyColumn(verbose_name="Outstanding")

    class Meta(Table.Meta):
        orderable = False

    def __init__(self, form: AssignForm, customer: Customer) -> None:
        amount = AmountColumn(form, verbose_name="Amount to assign")
        super().__init__(form.invoices, extra_columns=[("amount", amount)])
        self.caption = f"Open invoices of {customer.name}, oldest first"


def refund_state(reversed_at, refund: Refund) -> str:
    return "Reversed" if reversed_at else "Refunded"


class RefundTable(Table):
    """Billing › Payments › Refunds: the money paid back out, to reconcile the day."""

    date = DateColumn(verbose_name="Date", order_by=("date", "id"))
    customer = Column(
        verbose_name="Customer",
        accessor="credit__customer__name",
        link=("customers:detail", "credit__customer_id"),
        order_by=("credit__customer__name",),
    )
    amount = MoneyColumn(verbose_name="Amount")
    method = ChoiceColumn(PaymentMethod, verbose_name="Method")
    state = Column(verbose_name="State", accessor="reversed_at", default="Refunded", cell=refund_state)
    created_by = Column(
        verbose_name="By", accessor="created_by__username", order_by=("created_by__username",), default="system"
    )
    credit = Column(
        accessor="credit_id",
        verbose_name="Credit",
        orderable=False,
        link=("credits:assignments", "credit_id"),
        cell=lambda pk, refund: cell_html(
            'View credit {}<span class="visually-hidden"> of {}</span>',
            refund.credit.display_number,
            refund.credit.customer.name,
        ),
    )

    class Meta(Table.Meta):
        model = Refund
        fields = ["date", "customer", "amount", "method", "state", "created_by", "credit"]
        order_by = ("-date",)
        empty_text = "No refunds."
        attrs = {"aria-label": "Refunds"}
