from django.contrib import admin

from .models import Credit, CreditAssignment, CreditBatch


@admin.register(Credit)
class CreditAdmin(admin.ModelAdmin):
    list_display = ["date", "customer", "amount", "assigned", "remaining", "status", "reason", "created_by"]
    list_filter = ["status", "reason"]
    search_fields = ["customer__name"]
    list_select_related = ["customer", "created_by"]
    raw_id_fields = ["customer", "batch", "created_by"]
    readonly_fields = ["assigned", "remaining", "status", "version"]


@admin.register(CreditAssignment)
class CreditAssignmentAdmin(admin.ModelAdmin):
    list_display = ["credit", "invoice", "amount", "created_at"]
    list_select_related = ["credit", "invoice"]
    raw_id_fields = ["credit", "invoice", "created_by"]


@admin.register(CreditBatch)
class CreditBatchAdmin(admin.ModelAdmin):
    list_display = ["created_at", "amount", "count", "total", "reason", "created_by", "undone_at"]
    raw_id_fields = ["created_by", "undone_by"]
