"""Export tables (typed columns, a stream of plain tuples) written as CSV or XLSX.

Each column has a kind that decides how its cells are written: text is made inert where a
spreadsheet would run it as a formula, numbers stay numbers, months are text ("2026-03" in
both formats), times are local (Asia/Shanghai) — ISO text in CSV, real Excel date-times in
XLSX. Both writers take one row at a time, so memory stays flat for any number of rows.
"""

import csv
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

import xlsxwriter
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.spreadsheets.cells import FORMULA_TRIGGERS, plain_number

TEXT = "text"
NUMBER = "number"
# A stored report value: 是/否 for a yes/no criterion, else a number.
VALUE = "value"
MONTH = "month"
DATETIME = "datetime"

DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
# Excel's row limit: longer exports go on to a second sheet with the same header.
XLSX_MAX_ROWS = 1_048_576


@dataclass(frozen=True)
class Column:
    title: str
    kind: str = TEXT


@dataclass
class Table:
    """Columns and a stream of rows (tuples in column order)."""

    columns: list[Column]
    rows: Iterable[tuple]


def safe_text(value) -> str:
    if value is None:
        return ""
    value = str(value)
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def month_text(period: date) -> str:
    return f"{period.year:04d}-{period.month:02d}"


# Rows of one export often share a time (a recompute stamps every rating alike).
@lru_cache(maxsize=4096)
def local_naive(moment: datetime) -> datetime:
    """An aware time as the wall-clock time in Asia/Shanghai, without its zone (Excel has none)."""
    return timezone.localtime(moment).replace(tzinfo=None)


def _shown(value):
    if isinstance(value, bool):
        return _("是") if value else _("否")
    return value


def _csv_number(value) -> str:
    if value is None:
        return ""
    return plain_number(value) if isinstance(value, Decimal) else str(value)


def _csv_value(value) -> str:
    return _csv_number(_shown(value)) if not isinstance(value, str) else safe_text(value)


def _csv_month(value) -> str:
    return "" if value is None else month_text(value)


def _csv_datetime(value) -> str:
    return "" if value is None else local_naive(value).isoformat(sep=" ", timespec="seconds")


CSV_CELLS: dict[str, Callable] = {
    TEXT: safe_text,
    NUMBER: _csv_number,
    VALUE: _csv_value,
    MONTH: _csv_month,
    DATETIME: _csv_datetime,
}


class _Echo:
    """A file whose write hands the line back, so csv.writer can feed a generator."""

    def write(self, line: str) -> str:
        return line


# Rows per chunk of a CSV stream: one write to the client per chunk, not per row.
CSV_CHUNK_ROWS = 500


def csv_chunks(table: Table) -> Iterator[str]:
    """CSV text for a streaming response, after a byte order mark (Excel then reads UTF-8),
    in chunks of CSV_CHUNK_ROWS lines."""
    writer = csv.writer(_Echo())
    writerow = writer.writerow
    cells = [CSV_CELLS[column.kind] for column in table.columns]
    yield "\ufeff" + writerow([column.title for column in table.columns])
    lines = []
    for row in table.rows:
        lines.append(writerow([cell(value) for cell, value in zip(cells, row, strict=True)]))
        if len(lines) == CSV_CHUNK_ROWS:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


def _xlsx_number(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def xlsx_file(table: Table, *, title: str):
    """A workbook of the table (a bold, frozen header row) in an open temporary file.

    XlsxWriter's constant_memory mode writes each finished row to disk.
    """
    out = tempfile.TemporaryFile()  # noqa: SIM115 - the response closes it when sent
    workbook = xlsxwriter.Workbook(
        out,
        {
            "constant_memory": True,
            # Text stays text: no guessing of numbers, formulas or links from strings.
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    header = workbook.add_format({"bold": True})
    when = workbook.add_format({"num_format": DATETIME_FORMAT})
    titles = [column.title for column in table.columns]
    sheets = 0

    def new_sheet():
        nonlocal sheets
        sheets += 1
        sheet = workbook.add_worksheet(title if sheets == 1 else f"{title}（{sheets}）")
        sheet.freeze_panes(1, 0)
        sheet.write_row(0, 0, titles, header)
        return sheet

    sheet = new_sheet()

    def text(row, col, value):
        if value:
            sheet.write_string(row, col, safe_text(value))

    def number(row, col, value):
        if value is not None:
            sheet.write_number(row, col, _xlsx_number(value))

    def value(row, col, stored):
        if isinstance(stored, str | bool):
            text(row, col, _shown(stored))
        else:
            number(row, col, stored)

    def month(row, col, period):
        if period is not None:
            sheet.write_string(row, col, month_text(period))

    def moment(row, col, at):
        if at is not None:
            sheet.write_datetime(row, col, local_naive(at), when)

    writers = {TEXT: text, NUMBER: number, VALUE: value, MONTH: month, DATETIME: moment}
    cells = [writers[column.kind] for column in table.columns]
    index = 0
    for row in table.rows:
        index += 1
        if index == XLSX_MAX_ROWS:
            sheet, index = new_sheet(), 1
        for col, (write, cell) in enumerate(zip(cells, row, strict=True)):
            write(index, col, cell)
    workbook.close()
    out.seek(0)
    return out
