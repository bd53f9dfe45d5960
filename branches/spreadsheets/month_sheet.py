"""Monthly scorecards as spreadsheets: a unit's month to download and upload, and exports.

An upload is checked cell by cell before anything is written; one bad cell imports nothing.
Every text cell written to a CSV or XLSX file goes through `safe_cell`, so that text
typed by a user never runs as a formula in the reader's spreadsheet.
"""

import re
from datetime import date

import openpyxl
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from branches.models import (
    Criterion,
    MonthlyReport,
    OrgUnit,
    ReportValue,
)
from branches.services import workflow
from branches.spreadsheets.cells import (
    HEADER_FONT,
    plain_number,
    saved_workbook,
    shown_value,
    styled,
)

Kind = Criterion.Kind
Status = MonthlyReport.Status
AreaType = OrgUnit.AreaType

# Reports in these states cannot change: submitted waits for review, approved is locked.
LOCKED_STATUSES = (Status.SUBMITTED, Status.APPROVED)
# Branch code, name, status and the report's version come before the criteria.
FIXED_COLUMNS = 4
VERSION_INDEX = 3
# The version of a report that nobody has saved yet: opening a branch's page creates one,
# empty. A blank version cell (no report at download) still matches it.
UNSAVED_VERSION = MonthlyReport._meta.get_field("version").default
STALE_ROW = gettext_lazy(
    "该支部的数据在您下载表格之后又有修改（在网页上或另一份表格中），请重新下载表格再填写。"
)
STATUS_HEADER = re.compile(r"状态（(\d{4}-\d{2})）")
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="top")
LOCKED_FILL = PatternFill("solid", fgColor="D9D9D9")
LOCKED_FONT = Font(color="808080")


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


def sheet_area_types() -> dict[str, str]:
    return {sheet_title(value): value for value in AreaType.values}


def month_reports(user, unit: OrgUnit, period: date):
    return (
        MonthlyReport.objects.visible_to(user)
        .for_period(period)
        .filter(unit__path__startswith=unit.path)
    )


def month_values(reports) -> dict[tuple[int, str], tuple]:
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
    reports = {r.unit_id: r for r in month_reports(user, unit, period)}
    values = month_values(list(reports.values()))
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
                styled(sheet, text, font=HEADER_FONT, fill=HEADER_FILL, alignment=HEADER_ALIGNMENT)
                for text in [*fixed_headers(period), *map(column_header, criteria)]
            ]
        )
        for branch in rows:
            sheet.append(_branch_row(sheet, branch, reports.get(branch.pk), criteria, values))
    return saved_workbook(workbook)


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
        styled(sheet, branch.code, number_format="@", **style),
        styled(sheet, branch.name, **style),
        styled(sheet, status, **style),
        styled(
            sheet,
            report.version if report else None,
            font=LOCKED_FONT,
            fill=LOCKED_FILL if locked else None,
        ),
    ]
    for criterion in criteria:
        value, _note = values.get((branch.pk, criterion.code), (None, ""))
        cells.append(styled(sheet, shown_value(value), **style))
    return cells
