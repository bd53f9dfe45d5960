"""Uploading a township's month sheet: every cell is checked before anything is written;
one bad cell imports nothing."""

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter

from branches.models import (
    Criterion,
    MonthlyReport,
    OrgUnit,
)
from branches.periods import month_label
from branches.services import workflow
from branches.services.criteria import previous_month_values, soft_warning
from branches.spreadsheets.cells import (
    plain_number,
    shown_value,
)
from branches.spreadsheets.month_sheet import (
    FIXED_COLUMNS,
    LOCKED_STATUSES,
    STALE_ROW,
    STATUS_HEADER,
    UNSAVED_VERSION,
    VERSION_INDEX,
    column_header,
    fixed_headers,
    month_reports,
    month_values,
    sheet_area_types,
    sheet_title,
)
from branches.spreadsheets.reading import ErrorList, SpreadsheetError, TooManyErrors
from branches.validators import text_problem

Status = MonthlyReport.Status
Kind = Criterion.Kind
AreaType = OrgUnit.AreaType


@dataclass(frozen=True)
class CellError:
    """One refused cell (or row, or column when `row` is 1, or sheet when `row` is None)."""

    sheet: str
    row: int | None
    column: str
    reason: str
    # The branch the row is about, as the person knows it (its name, or the code typed).
    branch: str = ""

    def __str__(self):
        row = _("第%(row)s行") % {"row": self.row} if self.row else ""
        where = [self.sheet, row + (f"（{self.branch}）" if self.branch else "")]
        where.append(f"[{self.column}]" if self.column else "")
        return " ".join(part for part in [*where, self.reason] if part)


@dataclass
class SheetImport:
    errors: list[CellError] = field(default_factory=list)
    branches: int = 0
    values: int = 0
    # The check stopped at the error cap: more errors than those listed may exist.
    more_errors: bool = False
    # Month-on-month warnings of the saved values (one per cell): saved, flagged for review.
    warnings: list[CellError] = field(default_factory=list)

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
    upload = _Upload(user=user, unit=unit, period=period)
    try:
        for title, header, rows in tables:
            try:
                upload.read_sheet(title, header, rows)
            except SpreadsheetError as error:
                # A limit of the file (rows, cells) passed while the sheet's rows were read.
                return SheetImport(errors=[CellError(title, None, "", str(error))])
    except TooManyErrors:
        upload.explain_strangers()
        return SheetImport(errors=list(upload.errors), more_errors=True)
    if upload.errors:
        upload.explain_strangers()
        return SheetImport(errors=list(upload.errors))
    try:
        with transaction.atomic():
            for change in upload.changes.values():
                _save(change, user=user, period=period)
    except _Refused as refused:
        return SheetImport(errors=[refused.error])
    return SheetImport(
        branches=len(upload.changes),
        values=sum(len(change.values) for change in upload.changes.values()),
        # Any refused cell or row saves nothing, so every warning is about a saved value.
        warnings=upload.warnings,
    )


def _save(change: _Change, *, user, period: date) -> None:
    try:
        report = workflow.report_get_or_create(unit=change.branch, period=period, user=user)
        # The check passed against the downloaded version; a save since then fails here.
        workflow.report_save_values(
            report=report, user=user, values=change.values, expected_version=change.version
        )
    except ValidationError as error:
        reason = "；".join(error.messages)
        raise _Refused(
            CellError(change.sheet, change.row, "", reason, change.branch.name)
        ) from None
    except workflow.ConflictError:
        stale = CellError(change.sheet, change.row, _("版本"), str(STALE_ROW), change.branch.name)
        raise _Refused(stale) from None


class _Upload:
    """The state of one upload's checks: what is stored now, errors and changes found."""

    def __init__(self, *, user, unit, period):
        self.user, self.unit, self.period = user, unit, period
        self.errors = ErrorList()
        self.warnings: list[CellError] = []
        self.changes: dict[int, _Change] = {}
        self.branches = {b.code: b for b in OrgUnit.objects.visible_to(user).under(unit).rated()}
        self.previous = previous_month_values(
            unit_ids=[b.pk for b in self.branches.values()], period=period
        )
        reports = list(month_reports(user, unit, period).select_related("criteria_set"))
        self.reports = {r.unit_id: r for r in reports}
        self.stored = month_values(reports)
        # Errors about codes that are not this unit's branches: (index in errors, code).
        # Their reasons are written at the end, from one query (`explain_strangers`).
        self._strangers: list[tuple[int, str]] = []
        self._criteria: dict[int, dict[str, Criterion]] = {}
        self._sheets_seen: dict[str, str] = {}
        self._rows_seen: dict[str, int] = {}
        # (sheet, row) -> the branch the row names, for the error and warning lists.
        self._row_branch: dict[tuple[str, int], str] = {}

    def error(self, sheet, row, column, reason) -> None:
        branch = self._row_branch.get((sheet, row), "")
        self.errors.append(CellError(sheet, row, column, reason, branch))

    def criteria_of(self, criteria_set) -> dict[str, Criterion]:
        if criteria_set.pk not in self._criteria:
            self._criteria[criteria_set.pk] = {
                c.code: c for c in workflow.manual_criteria(criteria_set)
            }
        return self._criteria[criteria_set.pk]

    def read_sheet(self, title: str, header: list[str], rows) -> None:
        area_type = sheet_area_types().get(title)
        if area_type is None:
            names = "”“".join(sheet_area_types())
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
        names = {index: code for index, code in columns}
        for number, cells in rows:
            for index in [*unnamed, *range(len(header), len(cells))]:
                if cells[index]:
                    self.error(
                        title,
                        number,
                        get_column_letter(index + 1),
                        _("该列没有列名，请删除这一列的内容。"),
                    )
            clean = True
            for index, text in enumerate(cells[: len(header)]):
                if text and (problem := text_problem(text)):
                    column = names.get(index) or header[index] or get_column_letter(index + 1)
                    self.error(title, number, column, problem)
                    clean = False
            if clean:
                self.read_row(title, area_type, number, cells, columns, criteria_set)

    @staticmethod
    def _sheet_month(text: str) -> str:
        """The month a sheet's status header names, in prose when it is a real month."""
        try:
            return month_label(workflow.parse_period(text))
        except ValidationError:
            return text

    def read_header(self, title, header, active) -> list[tuple[int, str]] | None:
        """(column index, criterion code) of each criterion column; None if unusable."""
        expected = fixed_headers(self.period)
        if header[:FIXED_COLUMNS] != expected:
            found = STATUS_HEADER.fullmatch(header[2]) if len(header) > 2 else None
            if header[:2] == expected[:2] and found and found.group(1) != f"{self.period:%Y-%m}":
                reason = _(
                    "这是%(file)s的表格，本页是%(month)s。请在%(file)s的页面上传，"
                    "或在本页重新下载%(month)s的表格。"
                ) % {"file": self._sheet_month(found.group(1)), "month": month_label(self.period)}
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
        self._row_branch[title, number] = branch.name if branch else code
        if branch is None:
            index = len(self.errors)
            self.error(title, number, _("支部编码"), "")
            self._strangers.append((index, code))
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
                # The same check the save makes; listed here with the cell it is about.
                warning = soft_warning(
                    criteria[column], value, self.previous.get((branch.pk, column))
                )
                if warning:
                    self.warnings.append(CellError(title, number, column, warning, branch.name))
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

    def explain_strangers(self) -> None:
        """Write the reasons of the errors about strange codes, told apart in one query:
        a unit the user may see elsewhere, or nothing the user may see."""
        codes = {code for _index, code in self._strangers}
        elsewhere = {
            u.code: u for u in OrgUnit.objects.visible_to(self.user).filter(code__in=codes)
        }
        for index, code in self._strangers:
            error = self.errors[index]
            self.errors[index] = replace(error, reason=self.stranger_reason(code, elsewhere))

    def stranger_reason(self, code: str, elsewhere: dict[str, OrgUnit]) -> str:
        other = elsewhere.get(code)
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
    shown = shown_value(old)
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
