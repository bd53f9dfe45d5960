"""The spreadsheet round trip of a township's month: download, edit, upload, every bad cell."""

import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from branches.models import Criterion, MonthlyReport, OrgUnit, ReportValue
from branches.services import workflow
from branches.services.workflow import ValueInput
from branches.spreadsheets import cells, month_import, month_sheet, reading
from branches.spreadsheets.reading import read_workbook
from tests.branches.factories import OrgUnitFactory
from tests.conftest import PERSONA_NAMES

MARCH = date(2026, 3, 1)
Status = MonthlyReport.Status
CODE = "支部编码"


pytestmark = pytest.mark.usefixtures("april_third", "criteria")


@pytest.fixture
def village_a3(tree):
    """A second rural branch in township A, so that the rural sheet has two rows."""
    return OrgUnitFactory(code="410102001003", name="东风村", parent=tree.township_a)


def save(unit, user, **values):
    report = workflow.report_get_or_create(unit=unit, period=MARCH)
    workflow.report_save_values(
        report=report,
        user=user,
        values={
            code: v if isinstance(v, ValueInput) else ValueInput(v) for code, v in values.items()
        },
        expected_version=None,
    )
    return report


def download(user, unit) -> openpyxl.Workbook:
    with month_sheet.report_sheet_file(user=user, unit=unit, period=MARCH) as file:
        return openpyxl.load_workbook(file)


def xlsx_upload(workbook, name="填报.xlsx") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def upload(user, workbook, unit, period=MARCH):
    tables = read_workbook(xlsx_upload(workbook), filename="填报.xlsx")
    return month_import.report_sheet_import(user=user, unit=unit, period=period, tables=tables)


def cell(sheet, code, branch_code):
    """The cell of a criterion column (by code) in a branch's row (by code)."""
    column = next(c.column for c in sheet[1] if str(c.value).split()[0] == code)
    row = next(c.row for c in sheet["A"] if c.value == branch_code)
    return sheet.cell(row=row, column=column)


def where(result):
    return [(e.sheet, e.row, e.column) for e in result.errors]


def counts():
    return (
        MonthlyReport.objects.count(),
        ReportValue.objects.count(),
        MonthlyReport.history.count(),
        ReportValue.history.count(),
    )


@pytest.fixture
def nothing_saved(db):
    """Call it once the setup is done: after the test, nothing may have been written since."""
    snapshot = []
    yield lambda: snapshot.append(counts())
    assert snapshot, "the test never started the count"
    assert counts() == snapshot[0]


# The download.


def test_the_sheet_has_one_worksheet_per_area_type_with_rules_in_the_headers(
    tree, personas, village_a3
):
    workbook = download(personas.staff_a, tree.township_a)
    assert workbook.sheetnames == ["农村", "城市社区"]
    rural, urban = workbook["农村"], workbook["城市社区"]
    rural_header = [c.value for c in rural[1]]
    assert rural_header[:4] == ["支部编码", "支部名称", "状态（2026-03）", "版本（请勿修改）"]
    assert "BR-05 党员集中培训学时（学时，≥32，全年累计）" in rural_header
    assert "BR-01 主题党日按月开展（是/否，须为“是”，每月达标）" in rural_header
    assert 'BR-02 "三会一课"按规定召开（是/否，须为“是”，全年至少11个月达标）' in rural_header
    assert any(h.startswith("VT-02 ") and h.endswith("一票否决）") for h in rural_header[4:])
    assert any(h.startswith("IN-01 ") for h in rural_header)
    urban_header = [c.value for c in urban[1]]
    assert any(h.startswith("SH-01 红色物业覆盖小区比例（%，≥80") for h in urban_header[4:])
    assert not any(h.startswith("IN-01 ") for h in urban_header)
    # Metric criteria are computed, never typed in.
    assert not any(h.startswith("SA-01 ") for h in rural_header + urban_header)
    assert [c.value for c in rural["A"][1:]] == ["410102001002", "410102001003"]
    assert [c.value for c in urban["A"][1:]] == ["410102001001"]
    assert rural.freeze_panes == "E2"


def test_yes_no_columns_offer_a_list_and_number_columns_refuse_text(tree, personas):
    rural = download(personas.staff_a, tree.township_a)["农村"]
    br01 = cell(rural, "BR-01", "410102001002").column_letter
    br03 = cell(rural, "BR-03", "410102001002").column_letter
    validations = {
        str(v.sqref).split(":")[0][:-1]: v for v in rural.data_validations.dataValidation
    }
    assert validations[br01].type == "list"
    assert validations[br01].formula1 == '"是,否"'
    assert validations[br03].type == "whole"


def test_current_values_are_filled_and_submitted_rows_are_grey(tree, personas, village_a3):
    save(tree.village_a2, personas.staff_a, **{"BR-01": True, "BR-05": Decimal("12.5")})
    submitted = save(village_a3, personas.staff_a, **{"BR-03": Decimal(3)})
    MonthlyReport.objects.filter(pk=submitted.pk).update(status=Status.SUBMITTED)
    rural = download(personas.staff_a, tree.township_a)["农村"]
    assert cell(rural, "BR-01", "410102001002").value == "是"
    assert cell(rural, "BR-05", "410102001002").value == 12.5
    assert cell(rural, "BR-03", "410102001003").value == 3
    draft_row, locked_row = rural[2], rural[3]
    assert draft_row[2].value == "草稿"
    assert locked_row[2].value == "已提交（不可修改）"
    # Each row carries its report's version; a branch without a report has none.
    assert (draft_row[3].value, locked_row[3].value) == (2, 2)
    assert download(personas.staff_a, tree.township_a)["城市社区"]["D2"].value is None
    assert locked_row[5].fill.fgColor.rgb.endswith("D9D9D9")
    assert draft_row[5].fill.fill_type is None


def test_a_unit_without_branches_cannot_be_downloaded(tree, personas):
    empty = OrgUnitFactory(
        code="410102003", name="空街道", level=OrgUnit.Level.TOWNSHIP, parent=tree.county
    )
    with pytest.raises(ValidationError):
        month_sheet.report_sheet_file(user=personas.admin, unit=empty, period=MARCH)


# The round trip.


def test_a_downloaded_sheet_edited_and_uploaded_saves_drafts(tree, personas, login):
    client = login(personas.staff_a)
    url = reverse("branches:report_sheet", args=[tree.township_a.code, "2026-03"])
    response = client.get(url)
    assert response["Content-Type"] == cells.XLSX_CONTENT_TYPE
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rural, urban = workbook["农村"], workbook["城市社区"]
    cell(rural, "BR-01", "410102001002").value = "是"
    cell(rural, "BR-05", "410102001002").value = 12.5
    cell(rural, "BR-03", "410102001002").value = 3
    cell(urban, "SH-02", "410102001001").value = "25"

    upload_url = reverse("branches:report_sheet_upload", args=[tree.township_a.code, "2026-03"])
    response = client.post(upload_url, {"file": xlsx_upload(workbook)}, follow=True)

    assert "已保存 2 个支部的 4 项数据" in response.content.decode()
    a2 = MonthlyReport.objects.get(unit=tree.village_a2, period=MARCH)
    a1 = MonthlyReport.objects.get(unit=tree.village_a1, period=MARCH)
    assert (a2.status, a1.status) == (Status.DRAFT, Status.DRAFT)
    values = {v.criterion.code: v.value for v in a2.values.select_related("criterion")}
    assert values == {"BR-01": True, "BR-05": Decimal("12.5"), "BR-03": Decimal(3)}
    assert a1.values.get(criterion__code="SH-02").value == Decimal(25)
    assert ReportValue.history.filter(report=a2).count() == 3

    # The same file again: nothing to change, no version bumped.
    response = client.post(upload_url, {"file": xlsx_upload(workbook)}, follow=True)
    assert "没有需要保存的修改" in response.content.decode()
    assert MonthlyReport.objects.get(pk=a2.pk).version == a2.version


def test_an_upload_keeps_notes_and_leaves_blank_columns_of_untouched_rows_alone(
    tree, personas, village_a3
):
    save(tree.village_a2, personas.staff_a, **{"BR-05": ValueInput(Decimal(8), "党校集中轮训")})
    workbook = download(personas.staff_a, tree.township_a)
    cell(workbook["农村"], "BR-05", "410102001002").value = 10
    result = upload(personas.staff_a, workbook, tree.township_a)
    assert result.ok, result.errors
    assert (result.branches, result.values) == (1, 1)
    value = ReportValue.objects.get(report__unit=tree.village_a2, criterion__code="BR-05")
    assert (value.value, value.note) == (Decimal(10), "党校集中轮训")
    # A branch whose row stayed empty gets no report.
    assert not MonthlyReport.objects.filter(unit=village_a3).exists()


def test_a_cleared_cell_clears_the_draft_value(tree, personas):
    save(tree.village_a2, personas.staff_a, **{"BR-05": Decimal(8)})
    workbook = download(personas.staff_a, tree.township_a)
    cell(workbook["农村"], "BR-05", "410102001002").value = None
    assert upload(personas.staff_a, workbook, tree.township_a).ok
    value = ReportValue.objects.get(report__unit=tree.village_a2, criterion__code="BR-05")
    assert value.value is None


# Edits made in the browser since the download are never overwritten.

STALE = "该支部的数据在您下载表格之后又有修改（在网页上或另一份表格中），请重新下载表格再填写。"


def stored(unit):
    return {
        v.criterion.code: v.value
        for v in ReportValue.objects.filter(report__unit=unit, report__period=MARCH)
        .select_related("criterion")
        .exclude(value_bool=None, value_number=None)
    }


def secretary_fills_a1(tree, personas):
    """The secretary of 社区A1 saves every manual value of the month in the browser."""
    report = workflow.report_get_or_create(unit=tree.village_a1, period=MARCH)
    values = {
        c.code: True if c.kind == Criterion.Kind.BOOLEAN else Decimal(1)
        for c in workflow.manual_criteria(report.criteria_set)
    }
    save(tree.village_a1, personas.secretary, **values)
    return values


def test_an_upload_from_before_a_browser_edit_is_refused_and_loses_nothing(
    tree, personas, nothing_saved
):
    workbook = download(personas.staff_a, tree.township_a)
    a1_values = secretary_fills_a1(tree, personas)
    cell(workbook["农村"], "BR-03", "410102001002").value = 2
    nothing_saved()

    result = upload(personas.staff_a, workbook, tree.township_a)

    assert [str(e) for e in result.errors] == [f"城市社区 第2行（建设路社区） [版本] {STALE}"]
    assert stored(tree.village_a1) == a1_values
    assert stored(tree.village_a2) == {}


def test_a_stale_value_does_not_win_over_a_newer_one(tree, personas, nothing_saved):
    save(tree.village_a1, personas.secretary, **{"SH-02": Decimal(5)})
    workbook = download(personas.staff_a, tree.township_a)
    save(tree.village_a1, personas.secretary, **{"SH-02": Decimal(7)})
    cell(workbook["城市社区"], "SH-02", "410102001001").value = 3
    nothing_saved()

    result = upload(personas.staff_a, workbook, tree.township_a)

    assert where(result) == [("城市社区", 2, "版本")]
    assert stored(tree.village_a1) == {"SH-02": Decimal(7)}


def test_a_fresh_download_after_the_edit_uploads_and_keeps_the_edit(tree, personas):
    download(personas.staff_a, tree.township_a)
    a1_values = secretary_fills_a1(tree, personas)
    workbook = download(personas.staff_a, tree.township_a)
    cell(workbook["农村"], "BR-03", "410102001002").value = 2

    result = upload(personas.staff_a, workbook, tree.township_a)

    assert result.ok, result.errors
    assert (result.branches, result.values) == (1, 1)
    assert stored(tree.village_a1) == a1_values
    assert stored(tree.village_a2) == {"BR-03": Decimal(2)}


def test_a_stale_row_that_changes_nothing_does_not_block_the_others(tree, personas):
    workbook = download(personas.staff_a, tree.township_a)
    save(tree.village_a1, personas.secretary, **{"SH-02": Decimal(7)})
    cell(workbook["城市社区"], "SH-02", "410102001001").value = 7
    cell(workbook["农村"], "BR-03", "410102001002").value = 2
    result = upload(personas.staff_a, workbook, tree.township_a)
    assert result.ok, result.errors
    assert (result.branches, result.values) == (1, 1)


def test_a_draft_only_opened_since_the_download_is_not_a_conflict(tree, personas):
    workbook = download(personas.staff_a, tree.township_a)
    # Opening a branch's page creates its empty draft; nothing was saved in it.
    workflow.report_get_or_create(unit=tree.village_a2, period=MARCH)
    cell(workbook["农村"], "BR-03", "410102001002").value = 2
    assert upload(personas.staff_a, workbook, tree.township_a).ok
    assert stored(tree.village_a2) == {"BR-03": Decimal(2)}


@pytest.mark.parametrize(
    ("version", "reason"),
    [
        (
            "abc",
            "版本应为系统填写的数字，收到的是“abc”。此列请勿修改，请在本页重新下载表格再填写。",
        ),
        (-2, "版本应为系统填写的数字，收到的是“-2”。此列请勿修改，请在本页重新下载表格再填写。"),
        (99, STALE),
        (None, STALE),
    ],
)
def test_a_tampered_version_cell_is_refused_in_a_changed_row(
    version, reason, tree, personas, nothing_saved
):
    save(tree.village_a1, personas.secretary, **{"SH-02": Decimal(5)})
    workbook = download(personas.staff_a, tree.township_a)
    urban = workbook["城市社区"]
    urban["D2"].value = version
    nothing_saved()
    # An unchanged row is left alone whatever its version cell says.
    assert upload(personas.staff_a, workbook, tree.township_a).ok

    cell(urban, "SH-02", "410102001001").value = 6
    result = upload(personas.staff_a, workbook, tree.township_a)
    assert where(result) == [("城市社区", 2, "版本")]
    assert result.errors[0].reason == reason


def test_a_sheet_without_the_version_column_is_refused_as_an_old_template(
    tree, personas, nothing_saved
):
    workbook = download(personas.staff_a, tree.township_a)
    workbook["农村"].delete_cols(4)
    cell(workbook["农村"], "BR-03", "410102001002").value = 2
    nothing_saved()
    result = upload(personas.staff_a, workbook, tree.township_a)
    assert where(result) == [("农村", 1, "")]
    assert "第4列应为“版本（请勿修改）”：这是旧版表格" in result.errors[0].reason


def test_an_edit_between_the_check_and_the_save_rolls_back_the_whole_file(
    tree, personas, monkeypatch
):
    workbook = download(personas.staff_a, tree.township_a)
    cell(workbook["农村"], "BR-03", "410102001002").value = 2
    cell(workbook["城市社区"], "SH-02", "410102001001").value = 3
    real_get_or_create = workflow.report_get_or_create

    def secretary_saves_first(*, unit, period, user=None):
        # The secretary saves after the check, just before the upload reads the report.
        if unit == tree.village_a1:
            workflow.report_save_values(
                report=real_get_or_create(unit=unit, period=period),
                user=personas.secretary,
                values={"SH-02": ValueInput(Decimal(7))},
                expected_version=None,
            )
        return real_get_or_create(unit=unit, period=period, user=user)

    monkeypatch.setattr(workflow, "report_get_or_create", secretary_saves_first)
    result = upload(personas.staff_a, workbook, tree.township_a)

    assert [str(e) for e in result.errors] == [f"城市社区 第2行（建设路社区） [版本] {STALE}"]
    # The 农村 row was saved first, then undone with the rest of the file.
    assert stored(tree.village_a2) == {}


# Every bad input: errors by row and column, nothing saved.


def test_wrong_types_are_reported_by_row_and_column_and_nothing_is_saved(
    tree, personas, village_a3, nothing_saved
):
    workbook = download(personas.staff_a, tree.township_a)
    rural = workbook["农村"]
    cell(rural, "BR-05", "410102001002").value = "abc"
    cell(rural, "BR-01", "410102001002").value = "也许"
    cell(rural, "BR-03", "410102001003").value = 2.5
    cell(rural, "EC-02", "410102001003").value = 120
    cell(workbook["城市社区"], "SH-02", "410102001001").value = 25  # valid, still not saved
    nothing_saved()

    result = upload(personas.staff_a, workbook, tree.township_a)

    assert where(result) == [
        ("农村", 2, "BR-01"),
        ("农村", 2, "BR-05"),
        ("农村", 3, "BR-03"),
        ("农村", 3, "EC-02"),
    ]
    reasons = [e.reason for e in result.errors]
    assert "“主题党日按月开展”应填“是”或“否”，收到的是“也许”。" in reasons
    assert "“党员集中培训学时”应填数字，收到的是“abc”。" in reasons
    assert any("应填整数" in r for r in reasons)
    assert any("0 到 100" in r for r in reasons)


def test_an_unknown_branch_code_is_refused(tree, personas, nothing_saved):
    workbook = download(personas.staff_a, tree.township_a)
    workbook["农村"].append(["419999999999", "不存在村", "", "", 25])
    nothing_saved()
    result = upload(personas.staff_a, workbook, tree.township_a)
    assert where(result) == [("农村", 3, CODE)]
    assert "“419999999999”不存在或不在您的管辖范围内" in result.errors[0].reason


def test_a_branch_of_another_township_is_refused_like_an_unknown_one(tree, personas, nothing_saved):
    workbook = download(personas.staff_a, tree.township_a)
    workbook["农村"].append([tree.village_b1.code, "须水村", "", "", "是"])
    nothing_saved()
    result = upload(personas.staff_a, workbook, tree.township_a)
    assert where(result) == [("农村", 3, CODE)]
    # Outside the jurisdiction: the message does not tell whether the branch exists.
    assert "不存在或不在您的管辖范围内" in result.errors[0].reason


def test_a_branch_in_scope_but_outside_the_unit_is_refused(tree, personas, nothing_saved):
    workbook = download(personas.admin, tree.township_a)
    workbook["农村"].append([tree.village_b1.code, "须水村", "", "", "是"])
    workbook["农村"].append([tree.township_b.code, "须水街道", "", "", "是"])
    nothing_saved()
    result = upload(personas.admin, workbook, tree.township_a)
    assert where(result) == [("农村", 3, CODE), ("农村", 4, CODE)]
    assert "不属于林山寨街道" in result.errors[0].reason
    assert "不是村(社区)支部" in result.errors[1].reason


def test_an_extra_column_and_a_missing_column_are_refused(tree, personas, nothing_saved):
    workbook = download(personas.staff_a, tree.township_a)
    rural = workbook["农村"]
    br05 = cell(rural, "BR-05", "410102001002").column
    rural.delete_cols(br05)
    rural.cell(row=1, column=rural.max_column + 1, value="XX-01 自创指标")
    rural.cell(row=2, column=rural.max_column, value=3)
    nothing_saved()
    result = upload(personas.staff_a, workbook, tree.township_a)
    assert where(result) == [
        ("农村", 1, "XX-01 自创指标"),
        ("农村", 1, "BR-05 党员集中培训学时（学时，≥32，全年累计）"),
    ]
    assert "请删除此列" in result.errors[0].reason
    assert "缺少此列" in result.errors[1].reason


def test_data_in_a_column_without_a_header_is_refused(tree, personas, nothing_saved):
    workbook = download(personas.staff_a, tree.township_a)
    rural = workbook["农村"]
    rural.cell(row=2, column=rural.max_column + 2, value="多余")
    nothing_saved()
    result = upload(personas.staff_a, workbook, tree.township_a)
    assert len(result.errors) == 1
    assert result.errors[0].row == 2
    assert result.errors[0].column.isalpha()
    assert "没有列名" in result.errors[0].reason


def test_formulas_are_refused_with_the_row_and_column_excel_shows(tree, personas, nothing_saved):
    workbook = download(personas.staff_a, tree.township_a)
    rural = workbook["农村"]
    cell(rural, "BR-05", "410102001002").value = "=16+16"
    cell(rural, "BR-01", "410102001002").value = "=TRUE()"
    nothing_saved()
    result = upload(personas.staff_a, workbook, tree.township_a)
    assert [str(e) for e in result.errors] == [
        "农村 第2行（西流湖村） [BR-01] 不接受公式，请直接填写“是”或“否”",
        "农村 第2行（西流湖村） [BR-05] 不接受公式，请填写数值",
    ]


def test_a_changed_value_in_a_locked_row_is_refused_but_an_unchanged_one_passes(
    tree, personas, village_a3
):
    report = save(tree.village_a2, personas.staff_a, **{"BR-05": Decimal(8)})
    MonthlyReport.objects.filter(pk=report.pk).update(status=Status.APPROVED)
    workbook = download(personas.staff_a, tree.township_a)
    cell(workbook["农村"], "BR-03", "410102001003").value = 2
    result = upload(personas.staff_a, workbook, tree.township_a)
    assert result.ok, result.errors
    assert (result.branches, result.values) == (1, 1)

    workbook = download(personas.staff_a, tree.township_a)
    cell(workbook["农村"], "BR-05", "410102001002").value = 9
    cell(workbook["农村"], "BR-03", "410102001003").value = 4
    versions = list(MonthlyReport.objects.order_by("pk").values_list("version", flat=True))
    result = upload(personas.staff_a, workbook, tree.township_a)
    assert where(result) == [("农村", 2, "BR-05")]
    assert "已审核，不能修改（现为“8”）" in result.errors[0].reason
    assert "解锁" in result.errors[0].reason
    assert list(MonthlyReport.objects.order_by("pk").values_list("version", flat=True)) == versions
    assert ReportValue.objects.get(report__unit=village_a3, criterion__code="BR-03").value == 2


def test_a_branch_on_the_wrong_worksheet_and_a_repeated_row_are_refused(
    tree, personas, nothing_saved
):
    workbook = download(personas.staff_a, tree.township_a)
    rural = workbook["农村"]
    rural.append([tree.village_a1.code, "建设路社区"])
    rural.append([tree.village_a2.code, "西流湖村", "", "", "是"])
    nothing_saved()
    result = upload(personas.staff_a, workbook, tree.township_a)
    assert where(result) == [("农村", 3, CODE), ("农村", 4, CODE)]
    assert "请填在工作表“城市社区”中" in result.errors[0].reason
    assert "已在第2行出现" in result.errors[1].reason


def test_a_renamed_worksheet_is_refused(tree, personas, nothing_saved):
    workbook = download(personas.staff_a, tree.township_a)
    workbook["农村"].title = "Sheet1"
    nothing_saved()
    result = upload(personas.staff_a, workbook, tree.township_a)
    assert where(result) == [("Sheet1", None, "")]


def test_another_months_sheet_is_refused(tree, personas, nothing_saved):
    workbook = download(personas.staff_a, tree.township_a)
    cell(workbook["农村"], "BR-05", "410102001002").value = 3
    nothing_saved()
    result = upload(personas.staff_a, workbook, tree.township_a, period=date(2026, 2, 1))
    assert where(result) == [("农村", 1, ""), ("城市社区", 1, "")]
    assert "这是2026年3月的表格，本页是2026年2月" in result.errors[0].reason


def test_one_failing_branch_rolls_back_the_whole_file(tree, personas, monkeypatch, nothing_saved):
    workbook = download(personas.staff_a, tree.township_a)
    cell(workbook["城市社区"], "SH-02", "410102001001").value = 25
    cell(workbook["农村"], "BR-05", "410102001002").value = 3
    real_save = workflow.report_save_values

    def save_then_fail(*, report, **kwargs):
        if report.unit_id == tree.village_a1.pk:
            raise ValidationError("该月报表状态为“已提交”，不能修改。")
        return real_save(report=report, **kwargs)

    monkeypatch.setattr(workflow, "report_save_values", save_then_fail)
    nothing_saved()
    result = upload(personas.staff_a, workbook, tree.township_a)
    assert where(result) == [("城市社区", 2, "")]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "填报.csv",
            "支部编码,支部名称\r\n410102001002,西流湖村\r\n".encode(),
            "请上传 Excel 文件（.xlsx）",
        ),
        ("填报.xlsx", b"not a workbook at all", "不是有效的 Excel（.xlsx）文件"),
    ],
)
def test_a_file_that_is_not_an_xlsx_workbook_is_refused(
    name, content, message, tree, personas, login, nothing_saved
):
    nothing_saved()
    url = reverse("branches:report_sheet_upload", args=[tree.township_a.code, "2026-03"])
    response = login(personas.staff_a).post(url, {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 200
    assert message in response.context["form"].errors["file"][0]


def test_the_upload_page_lists_every_error(tree, personas, login):
    workbook = download(personas.staff_a, tree.township_a)
    cell(workbook["农村"], "BR-05", "410102001002").value = "=1"
    cell(workbook["农村"], "BR-03", "410102001002").value = "两个"
    url = reverse("branches:report_sheet_upload", args=[tree.township_a.code, "2026-03"])
    response = login(personas.staff_a).post(url, {"file": xlsx_upload(workbook)})
    page = response.content.decode()
    assert "发现 2 处错误，没有保存任何数据" in page
    assert "不接受公式，请填写数值" in page
    assert "“村级后备干部人数”应填数字，收到的是“两个”。" in page


# Who may download and upload.

PAGES = ["download", "upload_get", "upload_post", "download_village", "download_other_county"]
EXPECTED = {
    "admin": [200, 200, 200, 404, 200],
    "province_leader": [200, 403, 403, 404, 200],
    "county_leader": [200, 403, 403, 404, 404],
    "staff_a": [200, 200, 200, 404, 404],
    "staff_b": [404, 404, 404, 404, 404],
    "secretary": [404, 404, 404, 404, 404],
    "auditor": [200, 403, 403, 404, 404],
    "grid_worker": [403, 403, 403, 403, 403],
}


def request_page(client, tree, page):
    township = tree.township_a.code
    if page == "download":
        return client.get(reverse("branches:report_sheet", args=[township, "2026-03"]))
    if page == "upload_get":
        return client.get(reverse("branches:report_sheet_upload", args=[township, "2026-03"]))
    if page == "upload_post":
        return client.post(reverse("branches:report_sheet_upload", args=[township, "2026-03"]))
    if page == "download_village":
        return client.get(reverse("branches:report_sheet", args=[tree.village_a1.code, "2026-03"]))
    if page == "download_other_county":
        other = tree.village_other.breadcrumbs()[-2].code
        return client.get(reverse("branches:report_sheet", args=[other, "2026-03"]))
    raise AssertionError(page)


@pytest.mark.parametrize(
    ("persona", "page", "status"),
    [
        (persona, page, status)
        for persona in PERSONA_NAMES
        for page, status in zip(PAGES, EXPECTED[persona], strict=True)
    ],
)
def test_permission_matrix(persona, page, status, personas, tree, login):
    response = request_page(login(getattr(personas, persona)), tree, page)
    assert response.status_code == status


@pytest.mark.parametrize("period", ["2026-05", "2026-13", "march"])
def test_a_future_or_malformed_month_is_not_found(period, tree, personas, login):
    url = reverse("branches:report_sheet", args=[tree.township_a.code, period])
    assert login(personas.staff_a).get(url).status_code == 404


def test_anonymous_users_are_sent_to_the_login_page(tree, client):
    url = reverse("branches:report_sheet_upload", args=[tree.township_a.code, "2026-03"])
    response = client.get(url)
    assert response.status_code == 302
    assert "login" in response["Location"]


# Bounds: the work an upload can cause is capped by cells and collected errors.


def test_collecting_errors_stops_at_the_cap_and_the_page_says_more_are_not_listed(
    tree, personas, login, nothing_saved
):
    workbook = download(personas.staff_a, tree.township_a)
    rural = workbook["农村"]
    for column in range(rural.max_column + 1, reading.MAX_COLUMNS + 1):
        rural.cell(row=2, column=column, value=1)
    nothing_saved()
    result = upload(personas.staff_a, workbook, tree.township_a)
    url = reverse("branches:report_sheet_upload", args=[tree.township_a.code, "2026-03"])
    page = login(personas.staff_a).post(url, {"file": xlsx_upload(workbook)}).content.decode()

    assert len(result.errors) == reading.MAX_ERRORS
    assert result.more_errors
    assert "更多错误未列出" in page


def test_a_sheet_past_the_cell_cap_is_refused(tree, personas, settings, nothing_saved):
    workbook = download(personas.staff_a, tree.township_a)
    settings.IMPORT_MAX_CELLS = 10
    nothing_saved()
    result = upload(personas.staff_a, workbook, tree.township_a)
    assert len(result.errors) == 1
    assert result.errors[0].row is None
    assert "个单元格的上限" in result.errors[0].reason
