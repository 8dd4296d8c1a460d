"""The Invoices and Payments tables."""

from __future__ import annotations

from billing_site.tables import ChoiceColumn, Column, DateColumn, MoneyColumn, StatusColumn, Table

from .models import Invoice, InvoiceStatus, Payment, PaymentMethod


class InvoiceTable(Table):
    number = Column(verbose_name="Number", accessor="display_number", link="billing:invoice_detail", order_by="number")
    customer = Column(
        verbose_name="Customer",
        accessor="customer__name",
        link=("customers:detail", "customer_id"),
        order_by=("customer__name", "customer_id"),
    )
    issue_date = DateColumn(verbose_name="Issued", order_by=("issue_date", "id"))
    due_date = DateColumn(verbose_name="Due", order_by=("due_date", "id"))
    total = MoneyColumn()
    paid = MoneyColumn()
    credited = MoneyColumn()
    outstanding = MoneyColumn()
    status = StatusColumn(InvoiceStatus, verbose_name="Status")

    class Meta(Table.Meta):
        model = Invoice
        fields = ("number", "customer", "issue_date", "due_date", "total", "paid", "credited", "outstanding", "status")
        order_by = ("-issue_date",)
        empty_text = "No invoices match."


class PaymentTable(Table):
    date = DateColumn(order_by=("date", "id"))
    invoice = Column(
        verbose_name="Invoice",
        accessor="invoice__display_number",
        link=("billing:invoice_detail", "invoice_id"),
        order_by=("invoice__number",),
    )
    customer = Column(
        verbose_name="Customer",
        accessor="invoice__customer__name",
        link=("customers:detail", "invoice__customer_id"),
        order_by=("invoice__customer__name", "invoice__customer_id"),
    )
    method = ChoiceColumn(PaymentMethod)
    amount = MoneyColumn()
    created_by = Column(
        verbose_name="Recorded by",
        accessor="created_by__username",
        order_by=("created_by__username",),
        default="system",
    )

    class Meta(Table.Meta):
        model = Payment
        fields = ("date", "invoice", "customer", "method", "amount", "created_by")
        order_by = ("-date",)
        empty_text = "No payments match."
