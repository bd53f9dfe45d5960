"""Masking filters for the templates (the rule: grids/masking.py)."""

from django import template

from grids import masking

register = template.Library()


@register.filter
def masked_name(value):
    return masking.mask_name(value)


@register.filter
def masked_phone(value):
    return masking.mask_phone(value)
