"""Every export logged the same way: who, which export, its parameters,
when, and the rows produced.

The log row is written before the first byte (so an export killed midway still shows) and
updated when the stream ends: completed, or cut short because the client disconnected or
an error stopped it — then with the rows produced so far and `is_complete` false.
"""

from collections.abc import Iterable, Iterator

from django.utils import timezone

from branches.models import ExportLog, OrgUnit
from branches.spreadsheets import tables

Export = ExportLog.Export
Format = ExportLog.Format


def allowed_exports(user) -> list[str]:
    """The exports a role may use: ratings like the rating pages (anyone in scope); month
    values, the timeline and the change history like the reports (`can_read_reports`)."""
    allowed = [Export.RATINGS]
    if getattr(user, "can_read_reports", False):
        allowed += [Export.VALUES, Export.EVENTS, Export.HISTORY]
    return allowed


def export_log_start(*, user, export: str, fmt: str, unit: OrgUnit, params: dict) -> ExportLog:
    """The log row of an export about to be produced (no rows yet, not complete)."""
    return ExportLog.objects.create(
        user=user,
        user_name=str(user),
        export=export,
        format=fmt,
        unit=unit,
        unit_code=unit.code,
        params=params,
    )


def export_log_finish(*, log: ExportLog, rows: int, is_complete: bool) -> None:
    # One UPDATE in autocommit: the stream runs after the view has returned.
    ExportLog.objects.filter(pk=log.pk).update(
        rows=rows, is_complete=is_complete, finished_at=timezone.now()
    )
    log.rows, log.is_complete = rows, is_complete


class CountedRows:
    """The rows of a table, counted as they are read."""

    def __init__(self, rows: Iterable[tuple]):
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[tuple]:
        for row in self.rows:
            self.count += 1
            yield row


def logged_chunks(chunks: Iterator, counted: CountedRows, log: ExportLog) -> Iterator:
    """The chunks, then the log row updated; also when the client goes away (the server
    closes the response, which closes this generator) or an error ends the stream."""
    complete = False
    try:
        yield from chunks
        complete = True
    finally:
        export_log_finish(log=log, rows=counted.count, is_complete=complete)


def logged_xlsx(table: tables.Table, counted: CountedRows, log: ExportLog, *, title: str):
    """The table's workbook (an open temporary file), the log row updated once it is built."""
    complete = False
    try:
        file = tables.xlsx_file(table, title=title)
        complete = True
    finally:
        export_log_finish(log=log, rows=counted.count, is_complete=complete)
    return file
