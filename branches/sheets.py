"""Monthly scorecards as spreadsheets: a unit's month to download and upload, and exports.

An upload is checked cell by cell before anything is written; one bad cell imports nothing.
Every text cell written to a CSV or XLSX file goes through `safe_cell`, so that text
typed by a user never runs as a formula in the reader's spreadsheet.
"""

import csv
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import groupby
from operator import itemgetter

import openpyxl
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from branches import workflow
from branches.models import (
    BranchRating,
    Criterion,
    MonthlyReport,
    OrgUnit,
    ReportValue,
    StarAssessment,
)

Kind = Criterion.Kind
Status = MonthlyReport.Status
AreaType = OrgUnit.AreaType

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What a spreadsheet may run as a formula when a cell starts with it (OWASP CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Reports in these states cannot change: submitted waits for review, approved is locked.
LOCKED_STATUSES = (Status.SUBMITTED, Status.APPROVED)
# Branch code, name, status and the report's version come before the criteria.
FIXED_COLUMNS = 4
VERSION_INDEX = 3
# The version of a report that nobody has saved yet: opening a branch's page creates one,
# empty. A blank version cell (no report at download) still matches it.
UNSAVED_VERSION = MonthlyReport._meta.get_field("version").default
STALE_ROW = gettext_lazy("该支部的数据在您下载表格后已被他人修改，请重新下载表格再填写。")
STATUS_HEADER = re.compile(r"状态（(\d{4}-\d{2})）")
CHUNK = 2000

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="top")
LOCKED_FILL = PatternFill("solid", fgColor="D9D9D9")
LOCKED_FONT = Font(color="808080")


def safe_cell(value):
    """Text that a spreadsheet would run as a formula, made inert by a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def plain_number(number: Decimal) -> str:
    """32.0000 -> '32', 12.5000 -> '12.5' (never an exponent)."""
    return format(number.normalize(), "f")


def _aggregation_text(criterion: Criterion) -> str:
    A = Criterion.Aggregation
    if criterion.aggregation == A.AT_LEAST_N:
        return _("全年至少%(n)s个月达标") % {"n": criterion.min_months}
    return {
        A.EVERY_MONTH: _("每月达标"),
        A.SUM: _("全年累计"),
        A.AVERAGE: _("全年平均"),
        A.LATEST: _("以最近一次为准"),
        A.METRIC: _("系统计算"),
    }[criterion.aggregation]


def rule_text(criterion: Criterion) -> str:
    """What to enter and how it is judged: '学时，≥32，全年累计'."""
    if criterion.kind == Kind.BOOLEAN:
        parts = [_("是/否"), _("须为“是”")]
    else:
        parts = [
            criterion.unit or criterion.get_kind_display(),
            f"{criterion.get_comparator_display()}{plain_number(criterion.threshold)}",
        ]
    parts.append(_aggregation_text(criterion))
    if criterion.veto_scope != Criterion.VetoScope.NONE:
        parts.append(_("一票否决"))
    return "，".join(parts)


def column_header(criterion: Criterion) -> str:
    return f"{criterion.code} {criterion.title}（{rule_text(criterion)}）"


def fixed_headers(period: date) -> list[str]:
    # The month in the status header ties the file to its month: an upload to another
    # month's page is refused instead of overwriting that month. The version column ties
    # each row to the report it was downloaded from: an upload never overwrites a later edit.
    return [
        _("支部编码"),
        _("支部名称"),
        _("状态（%(month)s）") % {"month": f"{period:%Y-%m}"},
        _("版本（请勿修改）"),
    ]


def sheet_title(area_type: str) -> str:
    return str(AreaType(area_type).label)


def _sheet_area_types() -> dict[str, str]:
    return {sheet_title(value): value for value in AreaType.values}


def _month_reports(user, unit: OrgUnit, period: date):
    return (
        MonthlyReport.objects.visible_to(user)
        .for_period(period)
        .filter(unit__path__startswith=unit.path)
    )


def _month_values(reports) -> dict[tuple[int, str], tuple]:
    """(unit id, criterion code) -> (stored value, note) for the given reports, one query."""
    rows = ReportValue.objects.filter(report__in=reports).values_list(
        "report__unit_id", "criterion__code", "value_bool", "value_number", "note"
    )
    return {
        (unit_id, code): (value_bool if value_bool is not None else value_number, note)
        for unit_id, code, value_bool, value_number, note in rows
    }


# Downloading a month.


def report_sheet_file(*, user, unit: OrgUnit, period: date):
    """The month's workbook of the rated branches under `unit`, as an open temporary file.

    One worksheet per area type present, one row per branch, one column per manual
    criterion of that area type's active set; rows of submitted or approved reports
    are grey because an upload cannot change them.
    """
    branches = list(OrgUnit.objects.visible_to(user).under(unit).rated().order_by("path"))
    if not branches:
        raise ValidationError(
            _("“%(unit)s”下没有村(社区)支部，没有需要填报的数据。") % {"unit": unit.name}
        )
    reports = {r.unit_id: r for r in _month_reports(user, unit, period)}
    values = _month_values(list(reports.values()))
    workbook = openpyxl.Workbook(write_only=True)
    for area_type in AreaType.values:
        rows = [b for b in branches if b.area_type == area_type]
        if not rows:
            continue
        criteria_set = workflow.active_criteria_set(year=period.year, area_type=area_type)
        criteria = workflow.manual_criteria(criteria_set)
        sheet = workbook.create_sheet(sheet_title(area_type))
        _sheet_layout(sheet, criteria, last_row=len(rows) + 1)
        sheet.append(
            [
                _styled(sheet, text, font=HEADER_FONT, fill=HEADER_FILL, alignment=HEADER_ALIGNMENT)
                for text in [*fixed_headers(period), *map(column_header, criteria)]
            ]
        )
        for branch in rows:
            sheet.append(_branch_row(sheet, branch, reports.get(branch.pk), criteria, values))
    return _saved(workbook)


def _sheet_layout(sheet, criteria: list[Criterion], *, last_row: int) -> None:
    sheet.freeze_panes = f"{get_column_letter(FIXED_COLUMNS + 1)}2"
    for letter, width in (("A", 16), ("B", 18), ("C", 14), ("D", 9)):
        sheet.column_dimensions[letter].width = width
    version = get_column_letter(VERSION_INDEX + 1)
    # Excel refuses anything typed into the version column; the upload checks it anyway.
    guard = DataValidation(
        type="custom",
        formula1="FALSE",
        showErrorMessage=True,
        errorTitle=_("版本"),
        error=_("此列由系统填写，用于发现下载后他人所做的修改，请勿修改。"),
    )
    guard.add(f"{version}2:{version}{max(last_row, 2)}")
    sheet.data_validations.append(guard)
    for index, criterion in enumerate(criteria, start=FIXED_COLUMNS + 1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = 20
        validation = _validation(criterion)
        validation.add(f"{letter}2:{letter}{max(last_row, 2)}")
        sheet.data_validations.append(validation)


def _validation(criterion: Criterion) -> DataValidation:
    """Excel's own check of what is typed into a criterion's column."""
    if criterion.kind == Kind.BOOLEAN:
        rule = {"type": "list", "formula1": '"是,否"'}
        message = _("请从下拉列表选择“是”或“否”。")
    elif criterion.kind == Kind.INTEGER:
        rule = {"type": "whole", "operator": "greaterThanOrEqual", "formula1": "0"}
        message = _("请填写 0 或更大的整数。")
    elif criterion.kind == Kind.PERCENTAGE:
        rule = {"type": "decimal", "operator": "between", "formula1": "0", "formula2": "100"}
        message = _("请填写 0 到 100 之间的数字，例如 91 表示 91%。")
    else:
        rule = {"type": "decimal", "operator": "greaterThanOrEqual", "formula1": "0"}
        message = _("请填写 0 或更大的数字。")
    return DataValidation(
        **rule,
        allow_blank=True,
        showErrorMessage=True,
        errorTitle=criterion.code,
        error=f"{criterion.title}：{message}",
    )


def _styled(sheet, value, *, font=None, fill=None, alignment=None, number_format=None):
    cell = WriteOnlyCell(sheet, value=_xlsx_value(value))
    for name, style in (
        ("font", font),
        ("fill", fill),
        ("alignment", alignment),
        ("number_format", number_format),
    ):
        if style is not None:
            setattr(cell, name, style)
    return cell


def _branch_row(sheet, branch, report, criteria, values) -> list:
    locked = report is not None and report.status in LOCKED_STATUSES
    if report is None:
        status = _("未填报")
    elif locked:
        status = _("%(status)s（不可修改）") % {"status": report.get_status_display()}
    else:
        status = report.get_status_display()
    style = {"font": LOCKED_FONT, "fill": LOCKED_FILL} if locked else {}
    # Codes as text: Excel would turn a long number into 4.10102E+11.
    cells = [
        _styled(sheet, branch.code, number_format="@", **style),
        _styled(sheet, branch.name, **style),
        _styled(sheet, status, **style),
        _styled(
            sheet,
            report.version if report else None,
            font=LOCKED_FONT,
            fill=LOCKED_FILL if locked else None,
        ),
    ]
    for criterion in criteria:
        value, _note = values.get((branch.pk, criterion.code), (None, ""))
        cells.append(_styled(sheet, _shown_value(value), **style))
    return cells


def _shown_value(value):
    """A stored value as a reader writes it: 是/否, or the number."""
    if isinstance(value, bool):
        return _("是") if value else _("否")
    return value


# Uploading a month.


@dataclass(frozen=True)
class CellError:
    """One refused cell (or row, or column when `row` is 1, or sheet when `row` is None)."""

    sheet: str
    row: int | None
    column: str
    reason: str

    def __str__(self):
        where = [self.sheet, _("第%(row)s行") % {"row": self.row} if self.row else ""]
        where.append(f"[{self.column}]" if self.column else "")
        return " ".join(part for part in [*where, self.reason] if part)


@dataclass
class SheetImport:
    errors: list[CellError] = field(default_factory=list)
    branches: int = 0
    values: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Change:
    branch: OrgUnit
    sheet: str
    row: int
    values: dict[str, workflow.ValueInput]
    # The report's version when the sheet was downloaded (UNSAVED_VERSION if it had none).
    version: int


class _Refused(Exception):
    def __init__(self, error: CellError):
        self.error = error


def report_sheet_import(*, user, unit: OrgUnit, period: date, tables) -> SheetImport:
    """Check an uploaded month (tables from `read_workbook`) and save its changes as drafts.

    Every cell is checked first; with any error nothing is saved. Only values that differ
    from what is stored are written, so uploading the same file twice changes nothing.
    A row that changes a report saved by someone else since the download is refused, at
    the check and again at the save, so that the upload never overwrites that edit.
    """
    upload = _Upload(user=user, unit=unit, period=period, tables=tables)
    for title, header, rows in tables:
        upload.read_sheet(title, header, rows)
    if upload.errors:
        return SheetImport(errors=upload.errors)
    try:
        with transaction.atomic():
            for change in upload.changes.values():
                _save(change, user=user, period=period)
    except _Refused as refused:
        return SheetImport(errors=[refused.error])
    return SheetImport(
        branches=len(upload.changes),
        values=sum(len(change.values) for change in upload.changes.values()),
    )


def _save(change: _Change, *, user, period: date) -> None:
    try:
        report = workflow.report_get_or_create(unit=change.branch, period=period)
        # The check passed against the downloaded version; a save since then fails here.
        workflow.report_save_values(
            report=report, user=user, values=change.values, expected_version=change.version
        )
    except ValidationError as error:
        raise _Refused(CellError(change.sheet, change.row, "", "；".join(error.messages))) from None
    except workflow.ConflictError:
        raise _Refused(CellError(change.sheet, change.row, _("版本"), str(STALE_ROW))) from None


class _Upload:
    """The state of one upload's checks: what is stored now, errors and changes found."""

    def __init__(self, *, user, unit, period, tables):
        self.unit, self.period = unit, period
        self.errors: list[CellError] = []
        self.changes: dict[int, _Change] = {}
        self.branches = {b.code: b for b in OrgUnit.objects.visible_to(user).under(unit).rated()}
        reports = list(_month_reports(user, unit, period).select_related("criteria_set"))
        self.reports = {r.unit_id: r for r in reports}
        self.stored = _month_values(reports)
        # Codes that are not this unit's branches, told apart in one query: a unit the
        # user may see elsewhere, or nothing the user may see.
        strangers = {
            cells[0] for _title, _header, rows in tables for _number, cells in rows if cells[0]
        } - set(self.branches)
        self.elsewhere = {
            u.code: u for u in OrgUnit.objects.visible_to(user).filter(code__in=strangers)
        }
        self._criteria: dict[int, dict[str, Criterion]] = {}
        self._sheets_seen: dict[str, str] = {}
        self._rows_seen: dict[str, int] = {}

    def error(self, sheet, row, column, reason) -> None:
        self.errors.append(CellError(sheet, row, column, reason))

    def criteria_of(self, criteria_set) -> dict[str, Criterion]:
        if criteria_set.pk not in self._criteria:
            self._criteria[criteria_set.pk] = {
                c.code: c for c in workflow.manual_criteria(criteria_set)
            }
        return self._criteria[criteria_set.pk]

    def read_sheet(self, title: str, header: list[str], rows) -> None:
        area_type = _sheet_area_types().get(title)
        if area_type is None:
            names = "”“".join(_sheet_area_types())
            self.error(
                title,
                None,
                "",
                _("工作表名称应为“%(names)s”之一，请改回下载时的名称或删除此工作表。")
                % {"names": names},
            )
            return
        if area_type in self._sheets_seen:
            self.error(title, None, "", _("工作表重复，请删除其中一个。"))
            return
        self._sheets_seen[area_type] = title
        try:
            criteria_set = workflow.active_criteria_set(year=self.period.year, area_type=area_type)
        except ValidationError as error:
            self.error(title, None, "", error.messages[0])
            return
        active = self.criteria_of(criteria_set)
        columns = self.read_header(title, header, active)
        if columns is None:
            return
        unnamed = [i for i, text in enumerate(header) if not text]
        for number, cells in rows:
            for index in [*unnamed, *range(len(header), len(cells))]:
                if cells[index]:
                    self.error(
                        title,
                        number,
                        get_column_letter(index + 1),
                        _("该列没有列名，请删除这一列的内容。"),
                    )
            self.read_row(title, area_type, number, cells, columns, criteria_set)

    def read_header(self, title, header, active) -> list[tuple[int, str]] | None:
        """(column index, criterion code) of each criterion column; None if unusable."""
        expected = fixed_headers(self.period)
        if header[:FIXED_COLUMNS] != expected:
            found = STATUS_HEADER.fullmatch(header[2]) if len(header) > 2 else None
            if header[:2] == expected[:2] and found and found.group(1) != f"{self.period:%Y-%m}":
                reason = _(
                    "这是 %(file)s 的表格，本页是 %(month)s。请在 %(file)s 的页面上传，"
                    "或在本页重新下载 %(month)s 的表格。"
                ) % {"file": found.group(1), "month": f"{self.period:%Y-%m}"}
            elif header[:VERSION_INDEX] == expected[:VERSION_INDEX]:
                reason = _(
                    "第4列应为“%(column)s”：这是旧版表格，或该列被删除、移动或改名。"
                    "请在本页重新下载表格再填写。"
                ) % {"column": expected[VERSION_INDEX]}
            else:
                reason = _(
                    "前四列应为“%(columns)s”。请使用本页下载的表格，不要删除、移动或改名前四列。"
                ) % {"columns": "”“".join(expected)}
            self.error(title, 1, "", reason)
            return None
        columns, seen = [], {}
        for index, text in enumerate(header[FIXED_COLUMNS:], start=FIXED_COLUMNS):
            if not text:
                continue
            code = text.split()[0]
            letter = get_column_letter(index + 1)
            if code not in active:
                self.error(
                    title,
                    1,
                    text,
                    _("不是“%(sheet)s”需要人工填报的指标，请删除此列。") % {"sheet": title},
                )
            elif code in seen:
                self.error(
                    title,
                    1,
                    text,
                    _("与 %(other)s 列是同一指标，请删除其中一列。") % {"other": seen[code]},
                )
            else:
                seen[code] = letter
                columns.append((index, code))
        for code, criterion in active.items():
            if code not in seen:
                self.error(
                    title,
                    1,
                    column_header(criterion),
                    _("缺少此列。请在本页重新下载表格，不要删除指标列。"),
                )
        return columns

    def read_row(self, title, area_type, number, cells, columns, criteria_set) -> None:
        code = cells[0]
        if not code:
            self.error(title, number, _("支部编码"), _("缺少支部编码，请填写编码或删除这一行。"))
            return
        branch = self.branches.get(code)
        if branch is None:
            self.error(title, number, _("支部编码"), self.stranger_reason(code))
            return
        if branch.area_type != area_type:
            self.error(
                title,
                number,
                _("支部编码"),
                _("“%(name)s”是%(area)s，请填在工作表“%(sheet)s”中。")
                % {
                    "name": branch.name,
                    "area": branch.get_area_type_display(),
                    "sheet": sheet_title(branch.area_type),
                },
            )
            return
        # Only rows on their own sheet count, so a branch's right row is never the repeat.
        if code in self._rows_seen:
            self.error(
                title,
                number,
                _("支部编码"),
                _("支部“%(code)s”已在第%(row)s行出现，请删除重复的行。")
                % {"code": code, "row": self._rows_seen[code]},
            )
            return
        self._rows_seen[code] = number
        report = self.reports.get(branch.pk)
        # A report keeps the criteria set it was started on; new reports take the active one.
        criteria = self.criteria_of(report.criteria_set if report else criteria_set)
        changed = {}
        for index, column in columns:
            old, note = self.stored.get((branch.pk, column), (None, ""))
            value = self.read_cell(
                title, number, column, cells[index], criteria.get(column), report, old
            )
            if value is not _UNCHANGED:
                # The note is not in the sheet: keep the one entered on the page.
                changed[column] = workflow.ValueInput(value, note)
        # A row that changes nothing cannot overwrite anyone: its version is not looked at.
        if changed:
            version = self.downloaded_version(title, number, cells[VERSION_INDEX], report)
            if version is not None:
                self.changes[branch.pk] = _Change(branch, title, number, changed, version)

    def downloaded_version(self, title, number, raw: str, report) -> int | None:
        """The row's report version at download if it is still current; None if refused."""
        column = _("版本")
        if raw and not (raw.isascii() and raw.isdigit()):
            self.error(
                title,
                number,
                column,
                _(
                    "版本应为系统填写的数字，收到的是“%(raw)s”。此列请勿修改，"
                    "请在本页重新下载表格再填写。"
                )
                % {"raw": raw},
            )
            return None
        downloaded = int(raw) if raw else UNSAVED_VERSION
        if downloaded != (report.version if report else UNSAVED_VERSION):
            self.error(title, number, column, str(STALE_ROW))
            return None
        return downloaded

    def read_cell(self, title, number, column, raw, criterion, report, old):
        """The cell's new value, or _UNCHANGED (also when refused: the error is recorded)."""
        if raw.startswith("="):
            wanted = (
                _("请直接填写“是”或“否”")
                if criterion and criterion.kind == Kind.BOOLEAN
                else _("请填写数值")
            )
            self.error(title, number, column, _("不接受公式，%(wanted)s") % {"wanted": wanted})
            return _UNCHANGED
        if criterion is None:
            if raw:
                self.error(
                    title,
                    number,
                    column,
                    _("该支部本月按“%(set)s”填报，其中没有此指标，请清空此格。")
                    % {"set": report.criteria_set},
                )
            return _UNCHANGED
        try:
            value = workflow.parse_value(criterion, raw)
        except ValidationError as error:
            self.error(title, number, column, error.messages[0])
            return _UNCHANGED
        if _same(value, old):
            return _UNCHANGED
        if report is not None and report.status in LOCKED_STATUSES:
            self.error(title, number, column, _locked_reason(report, old))
            return _UNCHANGED
        return value

    def stranger_reason(self, code: str) -> str:
        other = self.elsewhere.get(code)
        if other is None:
            return _(
                "支部编码“%(code)s”不存在或不在您的管辖范围内。请核对编码；"
                "编码列请设为“文本”格式，避免 Excel 把长编码变成科学计数法。"
            ) % {"code": code}
        if not other.is_rated:
            return _("“%(unit)s”不是村(社区)支部，不按月填报，请删除这一行。") % {"unit": other}
        return _("“%(unit)s”不属于%(here)s，请在其所属乡镇(街道)的表格中填报，或删除这一行。") % {
            "unit": other,
            "here": self.unit.name,
        }


_UNCHANGED = object()


def _same(new, old) -> bool:
    # Compared with their types: True == Decimal(1) in Python, but not in a scorecard.
    return type(new) is type(old) and new == old


def _locked_reason(report: MonthlyReport, old) -> str:
    shown = _shown_value(old)
    now = plain_number(shown) if isinstance(shown, Decimal) else (shown or _("空"))
    if report.status == Status.SUBMITTED:
        how = _("如需修改，请先由乡镇(街道)退回")
    else:
        how = _("如需修改，请先由县级及以上解锁")
    return _("该支部本月报表%(status)s，不能修改（现为“%(now)s”）；%(how)s。") % {
        "status": report.get_status_display(),
        "now": now,
        "how": how,
    }


# Exports: rows of plain values (text, numbers, None), written by `csv_chunks` or `xlsx_file`.


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
        ReportValue.objects.filter(report__in=_month_reports(user, unit, period))
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
            _shown_value(value.value),
            criterion.unit,
            value.note,
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


def _xlsx_value(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return safe_cell(value)


def xlsx_file(rows: Iterable[list], *, title: str):
    """A one-sheet workbook of the rows (the first is the header) in an open temporary file."""
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = "A2"
    rows = iter(rows)
    sheet.append([_styled(sheet, text, font=HEADER_FONT) for text in next(rows)])
    for row in rows:
        sheet.append([_xlsx_value(value) for value in row])
    return _saved(workbook)


def _saved(workbook):
    """The workbook in an open temporary file, for a FileResponse to stream and close."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 - the response closes it when sent
    workbook.save(out)
    out.seek(0)
    return out
