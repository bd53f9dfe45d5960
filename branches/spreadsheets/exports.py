"""Exports of ratings and month values as streamed CSV or XLSX, formula-neutralised."""

import csv
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal
from itertools import groupby
from operator import itemgetter

import openpyxl
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.models import (
    BranchRating,
    MonthlyReport,
    OrgUnit,
    ReportEvent,
    ReportValue,
    StarAssessment,
)
from branches.spreadsheets.cells import (
    CHUNK,
    HEADER_FONT,
    plain_number,
    safe_cell,
    saved_workbook,
    shown_value,
    styled,
    xlsx_value,
)
from branches.spreadsheets.month_sheet import month_reports

Status = MonthlyReport.Status
AreaType = OrgUnit.AreaType


def _township_of(unit: OrgUnit):
    """A function from a branch path to its township's name; one query for the whole unit."""
    step = OrgUnit.steplen
    above = [unit.path[:end] for end in range(step, len(unit.path) + 1, step)]
    names = dict(
        OrgUnit.objects.filter(level=OrgUnit.Level.TOWNSHIP)
        .filter(Q(path__startswith=unit.path) | Q(path__in=above))
        .values_list("path", "name")
    )

    def township(path: str) -> str:
        return next(
            (names[path[:end]] for end in range(step, len(path) + 1, step) if path[:end] in names),
            "",
        )

    return township


def _gaps_by_path(rows) -> Iterator[tuple[str, list[str]]]:
    """(unit path, gaps) from (unit path, gaps of one star) rows ordered by path."""
    for path, group in groupby(rows, key=itemgetter(0)):
        # An all-stars veto repeats its gap on every star: say it once.
        yield path, list(dict.fromkeys(gap for _path, gaps in group for gap in gaps))


def ratings_rows(*, user, unit: OrgUnit, period: date, kind: str) -> Iterator[list]:
    """The header, then one row per rated branch under `unit` with a rating of that period.

    A fixed number of queries for any number of branches: the ratings and the failed
    stars' gaps are read as two streams in path order and merged.
    """
    stars = range(1, 6)
    yield [
        _("支部编码"),
        _("支部名称"),
        _("乡镇(街道)"),
        _("区域类型"),
        _("星级"),
        *(_("第%(n)s颗星") % {"n": n} for n in stars),
        _("一票否决"),
        _("差距"),
        _("计算时间"),
    ]
    township = _township_of(unit)
    area_types = dict(AreaType.choices)
    vetoes = dict(BranchRating.Veto.choices)
    ratings = (
        BranchRating.objects.visible_to(user)
        .under(unit)
        .filter(period=period, kind=kind)
        .select_related("unit", "criteria_set")
        .order_by("unit_path")
    )
    gaps = _gaps_by_path(
        StarAssessment.objects.visible_to(user)
        .under(unit)
        .filter(period=period, kind=kind, is_met=False)
        .order_by("unit_path", "star")
        .values_list("unit_path", "gaps")
        .iterator(chunk_size=CHUNK)
    )
    pending = next(gaps, None)
    for rating in ratings.iterator(chunk_size=CHUNK):
        while pending is not None and pending[0] < rating.unit_path:
            pending = next(gaps, None)
        own_gaps = pending[1] if pending is not None and pending[0] == rating.unit_path else []
        held = [getattr(rating, f"has_star_{n}") for n in stars]
        names = rating.criteria_set.star_names
        yield [
            rating.unit.code,
            rating.unit.name,
            township(rating.unit_path),
            str(area_types[rating.area_type]),
            rating.level,
            *(f"{'✓' if has else '✗'} {name}" for has, name in zip(held, names, strict=True)),
            str(vetoes[rating.veto]),
            "；".join(own_gaps),
            timezone.localtime(rating.computed_at).strftime("%Y-%m-%d %H:%M"),
        ]


def values_rows(*, user, unit: OrgUnit, period: date) -> Iterator[list]:
    """The header, then one row per branch and criterion entered for the month under `unit`."""
    yield [
        _("支部编码"),
        _("支部名称"),
        _("乡镇(街道)"),
        _("月份"),
        _("状态"),
        _("指标编码"),
        _("指标"),
        _("填报值"),
        _("单位"),
        _("备注"),
    ]
    township = _township_of(unit)
    statuses = dict(Status.choices)
    values = (
        ReportValue.objects.filter(report__in=month_reports(user, unit, period))
        .select_related("report__unit", "criterion")
        .order_by("report__unit__path", "criterion__star", "criterion__order", "criterion__code")
    )
    month = f"{period:%Y-%m}"
    for value in values.iterator(chunk_size=CHUNK):
        branch, criterion = value.report.unit, value.criterion
        yield [
            branch.code,
            branch.name,
            township(branch.path),
            month,
            str(statuses[value.report.status]),
            criterion.code,
            criterion.title,
            shown_value(value.value),
            criterion.unit,
            value.note,
        ]


def events_rows(*, user, unit: OrgUnit, period: date) -> Iterator[list]:
    """The header, then every workflow step of the month's reports under `unit`, by branch
    and time: who did what and when, from which status to which, and why."""
    yield [
        _("支部编码"),
        _("支部名称"),
        _("乡镇(街道)"),
        _("月份"),
        _("时间"),
        _("操作"),
        _("原状态"),
        _("新状态"),
        _("操作人"),
        _("操作人账号"),
        _("原因或说明"),
    ]
    township = _township_of(unit)
    statuses = dict(Status.choices)
    actions = dict(ReportEvent.Action.choices)
    events = (
        ReportEvent.objects.visible_to(user)
        .filter(report__in=month_reports(user, unit, period))
        .select_related("report__unit", "actor")
        .order_by("report__unit__path", "occurred_at", "id")
    )
    month = f"{period:%Y-%m}"
    deleted = _("（账号已删除）")
    for event in events.iterator(chunk_size=CHUNK):
        branch = event.report.unit
        if event.actor is not None:
            account = event.actor.username
        else:
            account = deleted if event.actor_name else ""
        yield [
            branch.code,
            branch.name,
            township(branch.path),
            month,
            timezone.localtime(event.occurred_at).strftime("%Y-%m-%d %H:%M:%S"),
            str(actions[event.action]),
            str(statuses.get(event.from_status, "")),
            str(statuses.get(event.to_status, "")),
            event.actor_name,
            account,
            event.reason,
        ]


class _Echo:
    """A file whose write hands the line back, so csv.writer can feed a generator."""

    def write(self, line: str) -> str:
        return line


def _csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return plain_number(value)
    return str(safe_cell(value))


def csv_chunks(rows: Iterable[list]) -> Iterator[str]:
    """CSV lines for a streaming response, after a byte order mark (Excel then reads UTF-8)."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    for row in rows:
        yield writer.writerow([_csv_text(value) for value in row])


def xlsx_file(rows: Iterable[list], *, title: str):
    """A one-sheet workbook of the rows (the first is the header) in an open temporary file."""
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = "A2"
    rows = iter(rows)
    sheet.append([styled(sheet, text, font=HEADER_FONT) for text in next(rows)])
    for row in rows:
        sheet.append([xlsx_value(value) for value in row])
    return saved_workbook(workbook)
