from django.contrib import admin

from .models import Customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "phone", "archived"]
    list_filter = ["archived"]
    search_fields = ["name", "email", "phone"]
