"""{{ row.hours|hours }}: service hours written one way everywhere (2, 1.5; never 2.0)."""

from django import template

from volunteers.services.activities import hours_text

register = template.Library()


@register.filter
def hours(value) -> str:
    return hours_text(value)
