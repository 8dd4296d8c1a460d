from django.contrib import admin

from .models import Invoice, InvoiceLine, Payment


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    readonly_fields = ["amount"]


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["number", "customer", "issue_date", "due_date", "total", "outstanding", "status"]
    list_filter = ["status"]
    search_fields = ["=number", "customer__name"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer", "created_by", "voided_by"]
    readonly_fields = ["number", "total", "paid", "credited", "outstanding", "status", "voided_at"]
    inlines = [InvoiceLineInline]


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["date", "invoice", "amount", "method"]
    list_filter = ["method"]
    list_select_related = ["invoice"]
    raw_id_fields = ["invoice", "created_by"]
