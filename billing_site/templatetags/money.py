"""The one template filter that shows money: {{ credit.amount|money }}."""

from django import template

from billing_site.money import format_money

register = template.Library()
register.filter("money", format_money)
