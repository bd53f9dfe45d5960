"""{{ report.period|month_label }}: a month in prose (branches.periods)."""

from datetime import date

from django import template

from branches import periods

register = template.Library()


@register.filter
def month_label(value) -> str:
    """A date, or a 'YYYY-MM' string, as '2026年10月'; anything else is shown unchanged."""
    if isinstance(value, str):
        try:
            year, month = (int(part) for part in value.split("-"))
            value = date(year, month, 1)
        except ValueError:
            return value
    if isinstance(value, date):
        return periods.month_label(value)
    return value
