"""The export centre (every export a role may use, over a month range) and the export log."""

import csv
import io
from datetime import date, datetime

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from branches.forms.units import UNIT_EDITABLE_FIELDS
from branches.models import Evidence, ExportLog, OrgUnit, Rating, ReportEvent, ReportValue
from branches.services import workflow
from branches.services.units import unit_update
from branches.spreadsheets import tables
from tests.branches.factories import OrgUnitFactory
from tests.branches.test_exports import rate
from tests.branches.test_timeline import fill
from tests.conftest import PERSONA_NAMES

JANUARY, FEBRUARY, MARCH = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)
Export = ExportLog.Export

pytestmark = pytest.mark.usefixtures("april_third", "criteria")


def centre(client, **params):
    return client.get(reverse("export_centre"), params)


def download(client, export, *, start="2026-03", end="2026-03", fmt="csv", **params):
    return centre(client, export=export, start=start, end=end, format=fmt, **params)


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.content.decode()[:2000]
    return list(csv.reader(io.StringIO(body(response).decode("utf-8-sig"))))


def csv_dicts(response) -> list[dict]:
    header, *rows = csv_rows(response)
    return [dict(zip(header, row, strict=True)) for row in rows]


def xlsx_rows(response) -> list[list]:
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(body(response))).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def submit_and_approve(unit, staff, checker, period=MARCH, *, evidence=0):
    """A complete report of `unit` submitted by `staff` and approved by `checker` (if any),
    with `evidence` files more than required on BR-01."""
    report = fill(workflow.report_get_or_create(unit=unit, period=period, user=staff), staff)
    for n in range(evidence):
        workflow.evidence_add(
            report=report,
            user=staff,
            criterion_code="BR-01",
            upload=SimpleUploadedFile(f"证明{n}.pdf", b"%PDF-1.4 evidence"),
        )
    report.refresh_from_db()
    workflow.report_submit(report=report, user=staff, expected_version=report.version)
    report.refresh_from_db()
    if checker is not None:
        workflow.report_approve(report=report, user=checker, expected_version=report.version)
        report.refresh_from_db()
    return report


def edit_unit(unit, user, **changes):
    data = {name: getattr(unit, name) for name in UNIT_EDITABLE_FIELDS}
    return unit_update(
        unit=unit, user=user, data={**data, **changes}, expected_updated_at=unit.updated_at
    )


def values_of(*reports) -> int:
    return ReportValue.objects.filter(report__in=reports).count()


# Who may open the centre, and who sees it in the navigation.


@pytest.mark.parametrize("persona", PERSONA_NAMES)
def test_every_role_opens_the_centre_and_sees_only_the_exports_it_may_use(persona, personas, login):
    response = centre(login(getattr(personas, persona)))
    assert response.status_code == 200
    text = response.content.decode()
    assert 'value="RATINGS"' in text
    report_exports = ['value="VALUES"', 'value="EVENTS"', 'value="HISTORY"']
    if persona == "grid_worker":
        assert not any(choice in text for choice in report_exports)
    else:
        assert all(choice in text for choice in report_exports)
    linked = persona not in ("secretary", "grid_worker")
    assert (f'href="{reverse("export_centre")}"' in text) == linked
    assert (f'href="{reverse("export_log")}"' in text) == (persona in ("admin", "auditor"))


def test_the_centre_points_to_the_records_apps_exports(login, personas):
    text = centre(login(personas.auditor)).content.decode()
    for title, page in [
        ("网格台账", "grids:grid_list"),
        ("走访记录", "grids:visit_list"),
        ("矛盾纠纷台账", "disputes:case_list"),
        ("志愿服务时长台账", "volunteers:volunteer_list"),
    ]:
        assert f'<a href="{reverse(page)}">{title}</a>' in text


def test_the_centre_needs_a_login(client):
    response = centre(client)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# Each export × each role, in the jurisdiction and outside it: 200 a file, 403 a role
# that may not use the export (whatever the unit), 404 a unit outside the jurisdiction.

UNITS = ["own", "township_a", "other_county"]
EXPECTED = {
    # persona: {unit: (ratings, report exports)}
    "admin": {"own": (200, 200), "township_a": (200, 200), "other_county": (200, 200)},
    "province_leader": {"own": (200, 200), "township_a": (200, 200), "other_county": (200, 200)},
    "county_leader": {"own": (200, 200), "township_a": (200, 200), "other_county": (404, 404)},
    "staff_a": {"own": (200, 200), "township_a": (200, 200), "other_county": (404, 404)},
    "staff_b": {"own": (200, 200), "township_a": (404, 404), "other_county": (404, 404)},
    "secretary": {"own": (200, 200), "township_a": (404, 404), "other_county": (404, 404)},
    "auditor": {"own": (200, 200), "township_a": (200, 200), "other_county": (404, 404)},
    "grid_worker": {"own": (200, 403), "township_a": (404, 403), "other_county": (404, 403)},
}


@pytest.mark.parametrize("export", Export.values[:4])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize(
    ("persona", "unit"), [(persona, unit) for persona in PERSONA_NAMES for unit in UNITS]
)
def test_permission_matrix(export, fmt, persona, unit, personas, tree, login):
    code = "" if unit == "own" else getattr(tree, unit).code
    client = login(getattr(personas, persona))
    response = download(client, export, fmt=fmt, unit=code)
    expected = EXPECTED[persona][unit][0 if export == Export.RATINGS else 1]
    assert response.status_code == expected
    logged = ExportLog.objects.filter(user=getattr(personas, persona), export=export)
    if expected == 200:
        body(response)
        assert logged.get().format == fmt
    else:
        assert not logged.exists()
    if expected == 404:
        assert "在您的管辖范围内没有编码或名称为" in response.content.decode()


# The form's checks: what is wrong and how to fix it, never a 500.


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"start": "2026-03", "end": "2026-01"}, 400, "截止月份不能早于起始月份"),
        ({"start": "2024-01", "end": "2026-03"}, 400, "一次最多导出 24 个月，现在选择了 27 个月"),
        ({"start": "2026-13"}, 400, "月份超出范围"),
        ({"start": "2026/03"}, 400, "月份格式应为 YYYY-MM"),
        ({"start": ""}, 400, "请填写起始月份"),
        ({"end": "2026-05"}, 400, "截止月份不能晚于本月（2026年4月）"),
        ({"status": "APPROVED"}, 400, "星级评定不按填报状态筛选"),
        ({"status": "LOST", "export": "VALUES"}, 400, "请从列表中选择填报状态"),
        ({"kind": "WEEKLY"}, 400, "星级类型只能是"),
        ({"format": "pdf"}, 400, "文件格式只能是 CSV 或 Excel"),
        ({"export": "SECRETS"}, 400, "请从列表中选择要导出的内容"),
        ({"export": ""}, 400, "请选择要导出的内容"),
        ({"unit": "9" * 70}, 400, "单位编码或名称最长 64 个字"),
        ({"unit": "41\x00"}, 400, ""),
        ({"unit": "999999"}, 404, "在您的管辖范围内没有编码或名称为“999999”的单位"),
    ],
)
def test_a_bad_request_says_what_is_wrong(params, status, message, personas, login):
    query = {"export": "RATINGS", "start": "2026-03", "end": "2026-03", "format": "csv"}
    response = centre(login(personas.auditor), **{**query, **params})
    assert response.status_code == status
    if message:
        assert message in response.content.decode()
    assert not ExportLog.objects.exists()


def test_a_range_of_exactly_24_months_is_allowed(personas, login):
    response = download(login(personas.auditor), Export.RATINGS, start="2024-05", end="2026-04")
    assert len(csv_rows(response)) == 1


# Contents.


def test_an_empty_result_is_a_file_with_only_the_header(personas, login):
    for export in Export.values[:4]:
        rows = csv_rows(download(login(personas.auditor), export))
        assert len(rows) == 1 and rows[0], export
        assert len(xlsx_rows(download(login(personas.auditor), export, fmt="xlsx"))) == 1


def test_ratings_cover_every_month_of_the_range_with_a_period_column(tree, personas, login):
    for period, stars in ((JANUARY, (2,)), (FEBRUARY, (2, 3)), (MARCH, (2, 3, 4))):
        rate(tree.village_a2, stars=stars, period=period)
    rate(tree.village_a2, stars=(5,), period=date(2025, 12, 1))  # before the range
    rows = csv_dicts(
        download(login(personas.auditor), Export.RATINGS, start="2026-01", end="2026-03")
    )
    assert [(row["月份"], row["支部编码"], row["星级"]) for row in rows] == [
        ("2026-01", tree.village_a2.code, "1"),
        ("2026-02", tree.village_a2.code, "2"),
        ("2026-03", tree.village_a2.code, "3"),
    ]


def test_annual_ratings_cover_the_years_of_the_range(tree, personas, login):
    rate(tree.village_a1, stars=(1, 2), period=date(2025, 1, 1), kind=Rating.ANNUAL)
    rate(tree.village_a1, stars=(1,), period=JANUARY, kind=Rating.ANNUAL)
    rate(tree.village_a1, stars=(1, 2, 3), period=MARCH)  # monthly: not in the annual file
    response = download(
        login(personas.auditor), Export.RATINGS, start="2025-06", end="2026-03", kind="ANNUAL"
    )
    rows = csv_dicts(response)
    assert [(row["年度"], row["星级"]) for row in rows] == [("2025", "2"), ("2026", "1")]
    assert "2025-2026" in response["Content-Disposition"].replace("%E5%B9%B4", "")


def test_month_values_say_who_submitted_and_reviewed_them_and_when(
    tree, personas, login, april_third
):
    february = submit_and_approve(tree.village_a2, personas.staff_a, None, period=FEBRUARY)
    april_third.shift(3600)
    march = submit_and_approve(tree.village_a1, personas.staff_a, personas.staff_a2, evidence=2)
    rows = csv_dicts(
        download(login(personas.auditor), Export.VALUES, start="2026-02", end="2026-03")
    )
    # By month, then branch; one row per criterion entered.
    keys = [(row["月份"], row["支部编码"]) for row in rows]
    assert keys == [("2026-02", tree.village_a2.code)] * values_of(february) + [
        ("2026-03", tree.village_a1.code)
    ] * values_of(march)
    first = rows[0]
    assert (first["状态"], first["提交人"], first["审核人"]) == ("已提交", "staff_a", "")
    assert (first["提交时间"], first["审核时间"]) == ("2026-04-03 10:00:00", "")
    last = rows[-1]
    assert [last[k] for k in ("市", "县(区)", "乡镇(街道)", "支部名称")] == [
        "郑州市",
        "中原区",
        "林山寨街道",
        "建设路社区",
    ]
    assert (last["状态"], last["提交人"], last["审核人"]) == (
        "已审核",
        "staff_a",
        "审核员（checker）",
    )
    assert last["提交时间"] == last["审核时间"] == "2026-04-03 11:00:00"
    files = Evidence.objects.filter(value__report=march)
    assert {row["指标编码"]: row["佐证材料数"] for row in rows if row["月份"] == "2026-03"} == {
        value.criterion.code: str(files.filter(value=value).count())
        for value in march.values.select_related("criterion")
    }
    assert next(row for row in rows[len(keys) - values_of(march) :] if row["指标编码"] == "BR-01")[
        "佐证材料数"
    ] == str(files.filter(value__criterion__code="BR-01").count())
    assert files.filter(value__criterion__code="BR-01").count() >= 3


def test_the_status_filter_keeps_the_reports_in_that_status(tree, personas, login):
    submit_and_approve(tree.village_a1, personas.staff_a, personas.staff_a2)
    submit_and_approve(tree.village_a2, personas.staff_a, None)
    client = login(personas.auditor)
    for status, code in (("APPROVED", tree.village_a1.code), ("SUBMITTED", tree.village_a2.code)):
        for export in (Export.VALUES, Export.EVENTS, Export.HISTORY):
            rows = csv_dicts(download(client, export, status=status))
            codes = {row.get("支部编码") or row.get("单位编码") for row in rows}
            if export == Export.HISTORY:
                codes -= {tree.village_a1.code, tree.village_a2.code} - {code}
            assert codes == {code}, (export, status)


def test_dates_are_excel_date_times_in_local_time_and_months_are_text(tree, personas, login):
    submit_and_approve(tree.village_a1, personas.staff_a, personas.staff_a2)
    rate(tree.village_a1, stars=(2,))
    client = login(personas.auditor)
    values = xlsx_rows(download(client, Export.VALUES, fmt="xlsx"))
    header = values[0]
    first = dict(zip(header, values[1], strict=True))
    assert first["提交时间"] == first["审核时间"] == datetime(2026, 4, 3, 10, 0)
    assert first["月份"] == "2026-03"
    ratings = xlsx_rows(download(client, Export.RATINGS, fmt="xlsx"))
    assert ratings[1][-1] == datetime(2026, 4, 3, 10, 0)
    workbook = openpyxl.load_workbook(io.BytesIO(body(download(client, Export.EVENTS, fmt="xlsx"))))
    cell = workbook.active["G2"]
    assert cell.is_date and cell.number_format == tables.DATETIME_FORMAT


def test_a_formula_in_a_unit_name_is_neutralised_in_every_export(tree, personas, login):
    village = OrgUnitFactory(
        code="410102001009", name='=HYPERLINK("http://evil","点我")', parent=tree.township_a
    )
    submit_and_approve(village, personas.staff_a, personas.staff_a2)
    rate(village, gaps={2: ["@SUM(A1) 产业兴旺星"]})
    client = login(personas.admin)
    safe = '\'=HYPERLINK("http://evil","点我")'
    for export, column in (
        (Export.RATINGS, "支部名称"),
        (Export.VALUES, "支部名称"),
        (Export.EVENTS, "支部名称"),
        (Export.HISTORY, "单位名称"),
    ):
        rows = csv_dicts(download(client, export, unit=village.code))
        assert rows and all(row[column] == safe for row in rows), export
        sheet = xlsx_rows(download(client, export, unit=village.code, fmt="xlsx"))
        position = sheet[0].index(column)
        assert all(row[position] == safe for row in sheet[1:]), export
    ratings = csv_dicts(download(client, Export.RATINGS, unit=village.code))
    assert ratings[0]["差距"] == "'@SUM(A1) 产业兴旺星"


def test_the_change_history_says_who_changed_what_and_when(tree, personas, login, april_third):
    unit = tree.village_a1
    edit_unit(unit, personas.staff_a, secretary_name="王芳", member_count=35)
    april_third.shift(60)
    report = submit_and_approve(unit, personas.staff_a, personas.staff_a2)
    april_third.shift(60)
    workflow.report_unlock(
        report=report,
        user=personas.county_leader,
        reason="数据有误",
        expected_version=report.version,
    )
    rows = csv_dicts(
        download(login(personas.auditor), Export.HISTORY, unit=unit.code, end="2026-04")
    )
    unit_rows = [row for row in rows if row["记录类型"] == "组织单位"]
    edits = [row for row in unit_rows if row["操作"] == "修改"]
    assert len(edits) == 1
    assert edits[0]["操作人"] == "staff_a"
    assert edits[0]["时间"] == "2026-04-03 10:00:00"
    assert "书记：（空） → 王芳" in edits[0]["变更内容"]
    assert "党员数：0 → 35" in edits[0]["变更内容"]
    reports = [row for row in rows if row["记录类型"] == "月度填报"]
    assert reports and {row["月份"] for row in reports} == {"2026-03"}
    assert [row["变更内容"].split("；")[0] for row in reports] == [
        "状态：草稿",
        "状态：草稿 → 已提交",
        "状态：已提交 → 已审核",
        "状态：已审核 → 已退回",  # unlocked: back to the branch with the reason
    ]
    assert "解锁原因：（空） → 数据有误" in reports[-1]["变更内容"]
    values = [row for row in rows if row["记录类型"] == "填报值"]
    assert {row["指标编码"] for row in values} == set(
        report.values.values_list("criterion__code", flat=True)
    )
    assert {row["操作"] for row in values} == {"创建"}


def test_the_change_history_leaves_out_unit_changes_outside_the_range(
    tree, personas, login, april_third
):
    unit = tree.village_a1
    edit_unit(unit, personas.staff_a, secretary_name="王芳")
    rows = csv_dicts(
        download(
            login(personas.auditor), Export.HISTORY, unit=unit.code, start="2026-01", end="2026-03"
        )
    )
    # The edit was on 3 April: not in January to March.
    assert not [row for row in rows if row["操作"] == "修改" and row["记录类型"] == "组织单位"]


# The export log.


def test_an_export_is_logged_with_who_what_its_parameters_and_the_rows(tree, personas, login):
    submit_and_approve(tree.village_a1, personas.staff_a, personas.staff_a2)
    submit_and_approve(tree.village_a2, personas.staff_a, None, period=FEBRUARY)
    client = login(personas.auditor)
    response = download(
        client, Export.VALUES, start="2026-02", end="2026-03", unit=tree.township_a.code
    )
    log = ExportLog.objects.get()
    assert (log.rows, log.is_complete) == (0, False)  # written before the first byte
    rows = csv_rows(response)
    log.refresh_from_db()
    assert (log.user, log.user_name, log.export, log.format) == (
        personas.auditor,
        "shenji",
        Export.VALUES,
        "csv",
    )
    assert (log.unit, log.unit_code) == (tree.township_a, tree.township_a.code)
    assert log.params == {"start": "2026-02", "end": "2026-03", "unit": tree.township_a.code}
    assert (log.rows, log.is_complete) == (len(rows) - 1, True)
    assert log.rows == ReportValue.objects.count()
    assert log.started_at == log.finished_at == datetime.fromisoformat("2026-04-03 10:00 +0800")

    xlsx_rows(download(client, Export.RATINGS, fmt="xlsx", kind="ANNUAL", start="2026-01"))
    annual = ExportLog.objects.filter(export=Export.RATINGS).get()
    assert (annual.format, annual.rows, annual.is_complete) == ("xlsx", 0, True)
    assert annual.params == {
        "start": "2026-01",
        "end": "2026-03",
        "unit": tree.county.code,
        "kind": "ANNUAL",
    }


# Closing the response closes the database connection too (request_finished): no test
# transaction may be open around it.
@pytest.mark.django_db(transaction=True)
def test_a_download_cut_short_is_logged_with_the_rows_produced(tree, personas, login, monkeypatch):
    monkeypatch.setattr(tables, "CSV_CHUNK_ROWS", 2)
    for n in range(5):
        village = OrgUnitFactory(code=f"41010200110{n}", name=f"新村{n}", parent=tree.township_a)
        rate(village, stars=(2,))
    response = download(login(personas.auditor), Export.RATINGS)
    chunks = iter(response.streaming_content)
    next(chunks), next(chunks)  # the header and two rows, then the client goes away
    response.close()  # as the server does when the client goes away
    log = ExportLog.objects.get()
    assert (log.rows, log.is_complete) == (2, False)
    assert log.finished_at is not None


@pytest.mark.parametrize(
    ("name", "args", "export"),
    [
        ("branches:ratings_export", ["township_a", "2026-03", "csv"], Export.RATINGS),
        ("branches:values_export", ["township_a", "2026-03", "xlsx"], Export.VALUES),
        ("branches:events_export", ["township_a", "2026-03", "csv"], Export.EVENTS),
        ("branches:report_sheet", ["township_a", "2026-03"], Export.MONTH_SHEET),
    ],
)
def test_the_per_page_exports_are_logged_the_same_way(name, args, export, tree, personas, login):
    submit_and_approve(tree.village_a1, personas.staff_a, personas.staff_a2)
    rate(tree.village_a1, stars=(2,))
    code = getattr(tree, args[0]).code
    response = login(personas.staff_a).get(reverse(name, args=[code, *args[1:]]))
    assert response.status_code == 200
    body(response)
    log = ExportLog.objects.get()
    expected_rows = {
        Export.RATINGS: 1,
        Export.VALUES: ReportValue.objects.count(),
        Export.EVENTS: ReportEvent.objects.count(),
        Export.MONTH_SHEET: 2,  # the township's two branches
    }[export]
    assert (log.user, log.export, log.unit, log.rows, log.is_complete) == (
        personas.staff_a,
        export,
        tree.township_a,
        expected_rows,
        True,
    )
    assert log.params["period"] == "2026-03"


LOG_EXPECTED = {
    "admin": 200,
    "province_leader": 403,
    "county_leader": 403,
    "staff_a": 403,
    "staff_b": 403,
    "secretary": 403,
    "auditor": 200,
    "grid_worker": 403,
}


@pytest.mark.parametrize("persona", PERSONA_NAMES)
def test_the_log_is_read_by_auditors_and_administrators_only(persona, personas, login):
    response = login(getattr(personas, persona)).get(reverse("export_log"))
    assert response.status_code == LOG_EXPECTED[persona]


def test_an_auditor_reads_the_exports_of_data_in_their_jurisdiction(tree, personas, login):
    download(login(personas.staff_a), Export.RATINGS)  # township A: in the county
    download(login(personas.admin), Export.VALUES, unit=tree.county.code)  # the county
    download(login(personas.admin), Export.RATINGS, unit=tree.other_county.code)  # outside
    download(login(personas.province_leader), Export.EVENTS)  # the province: above it
    assert ExportLog.objects.count() == 4
    text = login(personas.auditor).get(reverse("export_log")).content.decode()
    assert text.count("<tr>") == 1 + 2
    assert "林山寨街道（410102001）" in text and "中原区（410102）" in text
    assert "二七区" not in text and "河南省" not in text
    everything = login(personas.admin).get(reverse("export_log")).content.decode()
    assert everything.count("<tr>") == 1 + 4


def test_the_log_is_newest_first_filterable_and_paginated(tree, personas, login, april_third):
    for _n in range(3):
        download(login(personas.staff_a), Export.RATINGS)
        april_third.shift(60)
    download(login(personas.county_leader), Export.VALUES)
    client = login(personas.auditor)
    newest = client.get(reverse("export_log")).content.decode()
    assert newest.index("2026-04-03 10:03:00") < newest.index("2026-04-03 10:00:00")
    by_user = client.get(reverse("export_log"), {"user": "staff"}).content.decode()
    assert by_user.count("<tr>") == 1 + 3
    by_export = client.get(reverse("export_log"), {"export": "VALUES"}).content.decode()
    assert by_export.count("<tr>") == 1 + 1 and "xian" in by_export
    # The parameters in words, not their stored keys.
    assert "起始月份：" in by_export and "start=" not in by_export
    ExportLog.objects.bulk_create(
        ExportLog(
            user=personas.staff_a,
            user_name="staff_a",
            export=Export.RATINGS,
            format="csv",
            unit=tree.township_a,
            unit_code=tree.township_a.code,
        )
        for _n in range(60)
    )
    first = client.get(reverse("export_log"))
    assert len(first.context["page"].object_list) == 50
    second = client.get(reverse("export_log"), {"page": 2})
    assert len(second.context["page"].object_list) == 64 - 50
    garbage = client.get(reverse("export_log"), {"page": "x", "export": "NOPE", "user": "x" * 500})
    assert garbage.status_code == 200


def test_the_admin_lists_the_log_read_only(personas, login, tree):
    download(login(personas.staff_a), Export.RATINGS)
    client = login(personas.admin)
    assert client.get(reverse("admin:branches_exportlog_changelist")).status_code == 200
    log = ExportLog.objects.get()
    assert client.get(reverse("admin:branches_exportlog_add")).status_code == 403
    change = client.post(reverse("admin:branches_exportlog_change", args=[log.pk]), {"rows": 9})
    assert change.status_code in (200, 403)
    log.refresh_from_db()
    assert log.rows == 0
    assert client.get(reverse("admin:branches_exportlog_delete", args=[log.pk])).status_code == 403


@pytest.mark.parametrize("export", Export.values[:4])
def test_the_number_of_queries_does_not_grow_with_the_rows(export, tree, personas, login):
    client = login(personas.auditor)

    def exported():
        with CaptureQueriesContext(connection) as captured:
            content = body(download(client, export, unit=tree.township_a.code))
        return len(captured), content

    def add(numbers):
        for n in numbers:
            village = OrgUnitFactory(
                code=f"41010200120{n}", name=f"新村{n}", parent=tree.township_a
            )
            submit_and_approve(village, personas.staff_a, personas.staff_a2)
            rate(village, stars=(2,), gaps={1: ["支部过硬星：需先获得其他四颗星"]})

    add(range(1))
    few_queries, few = exported()
    add(range(1, 4))
    many_queries, many = exported()
    assert len(many) > len(few)
    assert many_queries == few_queries, (few_queries, many_queries)


def test_a_unit_is_picked_by_name_or_code_from_the_units_in_scope(tree, personas, login):
    client = login(personas.county_leader)
    page = client.get(reverse("export_centre")).content.decode()
    assert f'<option value="{tree.township_a.code}">{tree.township_a.name}</option>' in page
    assert tree.other_county.code not in page
    by_name = download(client, Export.RATINGS, unit=tree.township_a.name)
    assert by_name.status_code == 200
    assert ExportLog.objects.get(user=personas.county_leader).unit == tree.township_a
    # A name outside the jurisdiction is answered like a name that does not exist.
    assert download(client, Export.RATINGS, unit=tree.other_county.name).status_code == 404


def test_a_name_shared_by_two_units_asks_for_the_code(tree, personas, login):
    OrgUnitFactory(parent=tree.township_b, name=tree.village_a1.name, level=OrgUnit.Level.VILLAGE)
    response = download(login(personas.county_leader), Export.RATINGS, unit=tree.village_a1.name)
    assert response.status_code == 400
    assert "有多个名为" in response.content.decode()
