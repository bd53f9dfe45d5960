"""How a month is named in prose: 2026年10月 (pages, messages, notifications), never 2026-10.

The YYYY-MM form stays where a program reads it: URLs, ?period=, the API, file names and the
month sheet's machine-read header.
"""

from datetime import date

from django.utils.translation import gettext as _


def month_label(period: date) -> str:
    """date(2026, 10, 1) -> '2026年10月'."""
    return _("%(year)s年%(month)s月") % {"year": period.year, "month": period.month}
