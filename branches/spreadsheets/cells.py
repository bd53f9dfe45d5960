"""Writing spreadsheet cells safely: text a spreadsheet would run as a formula is made inert,
numbers stay numbers, workbooks go to a temporary file for streaming."""

import tempfile
from decimal import Decimal

from django.utils.translation import gettext as _
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What a spreadsheet may run as a formula when a cell starts with it (OWASP CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Rows read per database round trip when streaming.
CHUNK = 2000
HEADER_FONT = Font(bold=True)


def safe_cell(value):
    """Text that a spreadsheet would run as a formula, made inert by a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def plain_number(number: Decimal) -> str:
    """32.0000 -> '32', 12.5000 -> '12.5' (never an exponent)."""
    return format(number.normalize(), "f")


def xlsx_value(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return safe_cell(value)


def styled(sheet, value, *, font=None, fill=None, alignment=None, number_format=None):
    cell = WriteOnlyCell(sheet, value=xlsx_value(value))
    for name, style in (
        ("font", font),
        ("fill", fill),
        ("alignment", alignment),
        ("number_format", number_format),
    ):
        if style is not None:
            setattr(cell, name, style)
    return cell


def shown_value(value):
    """A stored value as a reader writes it: 是/否, or the number."""
    if isinstance(value, bool):
        return _("是") if value else _("否")
    return value


def saved_workbook(workbook):
    """The workbook in an open temporary file, for a FileResponse to stream and close."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 - the response closes it when sent
    workbook.save(out)
    out.seek(0)
    return out
