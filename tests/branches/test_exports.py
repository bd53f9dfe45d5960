"""CSV and XLSX exports of ratings and monthly values: content, safety, streaming, scope."""

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.http import FileResponse, StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from branches.models import BranchRating, CriteriaSet, MonthlyReport, Rating, StarAssessment
from branches.services import workflow
from branches.services.recompute import gaps_joined
from branches.services.workflow import ValueInput
from branches.spreadsheets import cells, month_sheet
from tests.branches.factories import OrgUnitFactory
from tests.conftest import PERSONA_NAMES

MARCH = date(2026, 3, 1)


pytestmark = pytest.mark.usefixtures("april_third", "criteria")


def rate(unit, *, stars=(), gaps=None, veto="NONE", period=MARCH, kind=Rating.MONTHLY):
    """Store a rating and its five star assessments as the recompute would."""
    criteria_set = CriteriaSet.objects.get(year=2026, area_type=unit.area_type, is_active=True)
    gaps = gaps or {}
    common = {
        "unit": unit,
        "unit_path": unit.path,
        "period": period,
        "kind": kind,
        "criteria_set": criteria_set,
        "computed_at": timezone.now(),
    }
    BranchRating.objects.create(
        **common,
        area_type=unit.area_type,
        level=len(stars),
        **{f"has_star_{n}": n in stars for n in range(1, 6)},
        veto=veto,
        gap_count=sum(len(g) for g in gaps.values()),
        gaps_text=gaps_joined(
            gap for n in range(1, 6) if n not in stars for gap in gaps.get(n, [])
        ),
    )
    StarAssessment.objects.bulk_create(
        StarAssessment(
            **common,
            star=n,
            star_name=criteria_set.star_names[n - 1],
            is_met=n in stars,
            gaps=gaps.get(n, []),
        )
        for n in range(1, 6)
    )


def export(client, name, code, fmt, period="2026-03", **params):
    return client.get(reverse(f"branches:{name}", args=[code, period, fmt]), params)


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body(response).decode("utf-8-sig"))))


def xlsx_rows(response) -> list[list]:
    sheet = openpyxl.load_workbook(io.BytesIO(body(response))).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


@pytest.fixture
def rated(tree):
    veto = '一票否决：村"两委"干部违纪违法被立案查处 1件 > 0件'
    rate(
        tree.village_a1,
        stars=(2, 3),
        gaps={
            1: ["支部过硬星：需先获得其他四颗星"],
            4: ["幸福和谐星：居民满意度 85% < 90%"],
            5: ["未填报：就业帮扶人数"],
        },
    )
    rate(tree.village_a2, veto="ALL", gaps={n: [veto] for n in range(1, 6)})
    rate(tree.village_b1, stars=(1, 2, 3, 4, 5))
    rate(tree.village_other, stars=(2,))
    return veto


def test_the_ratings_csv_lists_each_branch_with_township_stars_and_gaps(
    tree, personas, login, rated
):
    response = export(login(personas.auditor), "ratings_export", tree.county.code, "csv")
    assert response.status_code == 200
    rows = csv_rows(response)
    assert rows[0] == [
        "月份",
        "支部编码",
        "支部名称",
        "市",
        "县(区)",
        "乡镇(街道)",
        "区域类型",
        "星级",
        "第1颗星",
        "第2颗星",
        "第3颗星",
        "第4颗星",
        "第5颗星",
        "一票否决",
        "差距",
        "计算时间",
    ]
    assert [row[:8] for row in rows[1:]] == [
        [
            "2026-03",
            "410102001001",
            "建设路社区",
            "郑州市",
            "中原区",
            "林山寨街道",
            "城市社区",
            "2",
        ],
        ["2026-03", "410102001002", "西流湖村", "郑州市", "中原区", "林山寨街道", "农村", "0"],
        ["2026-03", "410102002001", "须水村", "郑州市", "中原区", "须水街道", "农村", "5"],
    ]
    a1, a2, b1 = (row[3:] for row in rows[1:])
    assert a1[5:10] == [
        "✗ 支部过硬星",
        "✓ 共建共享星",
        "✓ 平安法治星",
        "✗ 幸福和谐星",
        "✗ 宜业兴业星",
    ]
    assert (
        a1[11]
        == "支部过硬星：需先获得其他四颗星；幸福和谐星：居民满意度 85% < 90%；未填报：就业帮扶人数"
    )
    assert a1[12] == "2026-04-03 10:00:00"  # local time, ISO text
    # An all-stars veto repeats its gap on every star; the export says it once.
    assert (a2[10], a2[11]) == ("否决全部", rated)
    assert b1[5:10] == [
        "✓ 支部过硬星",
        "✓ 产业兴旺星",
        "✓ 生态宜居星",
        "✓ 平安法治星",
        "✓ 文明幸福星",
    ]
    assert (b1[10], b1[11]) == ("无", "")


def test_the_csv_starts_with_a_byte_order_mark_and_names_the_file_in_chinese(
    tree, personas, login, rated
):
    response = export(login(personas.staff_a), "ratings_export", tree.township_a.code, "csv")
    assert body(response).startswith("\ufeff月份,".encode())
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; filename*=utf-8''410102001_")
    assert "%E6%9E%97%E5%B1%B1%E5%AF%A8" in disposition  # 林山寨, RFC 5987 encoded


def test_the_annual_kind_exports_the_annual_rating_of_the_year(tree, personas, login, rated):
    rate(tree.village_a2, stars=(2, 3, 4), period=date(2026, 1, 1), kind=Rating.ANNUAL)
    client = login(personas.staff_a)
    rows = csv_rows(export(client, "ratings_export", tree.township_a.code, "csv", kind="ANNUAL"))
    assert rows[0][0] == "年度"
    assert [row[:8] for row in rows[1:]] == [
        ["2026", "410102001002", "西流湖村", "郑州市", "中原区", "林山寨街道", "农村", "3"]
    ]
    assert (
        export(client, "ratings_export", tree.township_a.code, "csv", kind="X").status_code == 404
    )


def test_the_ratings_xlsx_holds_the_same_rows_as_the_csv(tree, personas, login, rated):
    client = login(personas.county_leader)
    from_csv = csv_rows(export(client, "ratings_export", tree.county.code, "csv"))
    response = export(client, "ratings_export", tree.county.code, "xlsx")
    assert response["Content-Type"] == cells.XLSX_CONTENT_TYPE
    from_xlsx = xlsx_rows(response)

    def as_text(value):
        if value is None:
            return ""
        return value.isoformat(sep=" ") if isinstance(value, datetime) else str(value)

    assert [[as_text(v) for v in row] for row in from_xlsx] == from_csv
    assert from_xlsx[1][7] == 2  # the level is a number in Excel
    assert from_xlsx[1][-1] == datetime(2026, 4, 3, 10, 0)  # a date-time, local and naive


def test_the_values_export_has_one_row_per_branch_and_criterion(tree, personas, login):
    report = workflow.report_get_or_create(unit=tree.village_a2, period=MARCH)
    workflow.report_save_values(
        report=report,
        user=personas.staff_a,
        values={
            "BR-01": ValueInput(True, "3月5日开展"),
            "BR-05": ValueInput(Decimal("12.5")),
            "BR-03": ValueInput(Decimal(2)),
        },
        expected_version=report.version,
    )
    MonthlyReport.objects.filter(pk=report.pk).update(status=MonthlyReport.Status.SUBMITTED)
    client = login(personas.auditor)
    rows = csv_rows(export(client, "values_export", tree.township_a.code, "csv"))
    assert rows[0] == [
        "月份",
        "市",
        "县(区)",
        "乡镇(街道)",
        "支部编码",
        "支部名称",
        "状态",
        "指标编码",
        "指标",
        "填报值",
        "计量单位",
        "备注",
        "佐证材料数",
        "提交人",
        "提交时间",
        "审核人",
        "审核时间",
    ]
    place = ["2026-03", "郑州市", "中原区", "林山寨街道", "410102001002", "西流湖村", "已提交"]
    assert [row[:7] for row in rows[1:]] == [place] * 3
    assert [row[7:13] for row in rows[1:]] == [
        ["BR-01", "主题党日按月开展", "是", "", "3月5日开展", "0"],
        ["BR-03", "村级后备干部人数", "2", "人", "", "0"],
        ["BR-05", "党员集中培训学时", "12.5", "学时", "", "0"],
    ]
    xlsx = xlsx_rows(export(client, "values_export", tree.township_a.code, "xlsx"))
    assert [row[9] for row in xlsx[1:]] == ["是", 2, 12.5]


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ('=HYPERLINK("http://evil","点我")', '\'=HYPERLINK("http://evil","点我")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("建设路社区", "建设路社区"),
        ("a=1", "a=1"),
        (12, 12),
    ],
)
def test_safe_cell_neutralises_what_a_spreadsheet_would_run(text, safe):
    assert cells.safe_cell(text) == safe


def test_formula_like_text_is_neutralised_in_both_formats(tree, personas, login):
    village = OrgUnitFactory(
        code="410102001009", name='=HYPERLINK("http://evil")', parent=tree.township_a
    )
    report = workflow.report_get_or_create(unit=village, period=MARCH)
    workflow.report_save_values(
        report=report,
        user=personas.staff_a,
        values={"BR-01": ValueInput(True, "@SUM(1+1)*cmd|' /C calc'!A0")},
        expected_version=report.version,
    )
    rate(village, gaps={2: ["-2+3 产业兴旺星"]})
    client = login(personas.staff_a)
    township = tree.township_a.code

    values = csv_rows(export(client, "values_export", township, "csv"))
    assert values[1][5] == '\'=HYPERLINK("http://evil")'
    assert values[1][11] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    ratings = csv_rows(export(client, "ratings_export", township, "csv"))
    assert ratings[1][2] == '\'=HYPERLINK("http://evil")'
    assert ratings[1][14] == "'-2+3 产业兴旺星"

    workbook = openpyxl.load_workbook(
        io.BytesIO(body(export(client, "values_export", township, "xlsx")))
    )
    name = workbook.active["F2"]
    assert (name.value, name.data_type) == ('\'=HYPERLINK("http://evil")', "s")
    assert workbook.active["L2"].value.startswith("'@")
    sheet = openpyxl.load_workbook(
        io.BytesIO(body(export(client, "ratings_export", township, "xlsx")))
    ).active
    assert (sheet["C2"].data_type, sheet["O2"].value) == ("s", "'-2+3 产业兴旺星")


def test_the_downloaded_month_sheet_neutralises_names_too(tree, personas):
    OrgUnitFactory(code="410102001009", name="+evil", parent=tree.township_a)
    with month_sheet.report_sheet_file(
        user=personas.staff_a, unit=tree.township_a, period=MARCH
    ) as f:
        rural = openpyxl.load_workbook(f)["农村"]
    assert [c.value for c in rural["B"][1:]] == ["西流湖村", "'+evil"]


def test_exports_are_streamed(tree, personas, login, rated):
    client = login(personas.auditor)
    township = tree.township_a.code
    for name in ("ratings_export", "values_export"):
        as_csv = export(client, name, township, "csv")
        as_xlsx = export(client, name, township, "xlsx")
        assert isinstance(as_csv, StreamingHttpResponse)
        assert isinstance(as_xlsx, FileResponse)
        assert as_csv.streaming and as_xlsx.streaming
        assert as_xlsx["Content-Disposition"].startswith("attachment; filename*=utf-8''")
        body(as_csv), body(as_xlsx)


@pytest.mark.parametrize(
    ("name", "fmt", "period"),
    [
        ("ratings_export", "pdf", "2026-03"),
        ("values_export", "xls", "2026-03"),
        ("values_export", "csv", "2026-3x"),
    ],
)
def test_an_unknown_format_or_month_is_not_found(name, fmt, period, tree, personas, login):
    response = export(login(personas.admin), name, tree.township_a.code, fmt, period=period)
    assert response.status_code == 404


# Who may export what, in both formats: everyone in scope, auditors especially; 404 outside.
# The values and the month sheet follow the reports' one rule (grid workers: 403 whatever
# the unit); the ratings follow the rating pages' (anyone in scope).

URLS = [
    "ratings_csv_township_a",
    "ratings_xlsx_township_a",
    "values_csv_township_a",
    "values_xlsx_township_a",
    "sheet_township_a",
    "values_csv_village_a1",
    "ratings_xlsx_other_county",
    "values_csv_other_county",
    "sheet_other_county",
]
EXPECTED = {
    "admin": [200, 200, 200, 200, 200, 200, 200, 200, 200],
    "province_leader": [200, 200, 200, 200, 200, 200, 200, 200, 200],
    "county_leader": [200, 200, 200, 200, 200, 200, 404, 404, 404],
    "staff_a": [200, 200, 200, 200, 200, 200, 404, 404, 404],
    "staff_b": [404, 404, 404, 404, 404, 404, 404, 404, 404],
    "secretary": [404, 404, 404, 404, 404, 200, 404, 404, 404],
    "auditor": [200, 200, 200, 200, 200, 200, 404, 404, 404],
    "grid_worker": [404, 404, 403, 403, 403, 403, 404, 403, 403],
}


def request_export(client, tree, url):
    what, *rest = url.split("_", 2)
    units = {
        "township_a": tree.township_a,
        "village_a1": tree.village_a1,
        "other_county": tree.other_county,
    }
    if what == "sheet":
        unit = units["_".join(rest)]
        return client.get(reverse("branches:report_sheet", args=[unit.code, "2026-03"]))
    fmt, unit = rest
    return export(client, f"{what}_export", units[unit].code, fmt)


@pytest.mark.parametrize(
    ("persona", "url", "status"),
    [
        (persona, url, status)
        for persona in PERSONA_NAMES
        for url, status in zip(URLS, EXPECTED[persona], strict=True)
    ],
)
def test_permission_matrix(persona, url, status, personas, tree, criteria, login):
    response = request_export(login(getattr(personas, persona)), tree, url)
    assert response.status_code == status


def test_an_export_shows_only_what_the_user_may_see(tree, personas, login, rated):
    rows = csv_rows(
        export(login(personas.secretary), "ratings_export", tree.village_a1.code, "csv")
    )
    assert [row[1] for row in rows[1:]] == [tree.village_a1.code]
    # The city, county and township above the secretary's branch are named.
    assert rows[1][3:6] == ["郑州市", "中原区", "林山寨街道"]


def add_branches(tree, personas, numbers):
    """More rated branches in township A, each with a rating and three values."""
    for i in numbers:
        village = OrgUnitFactory(
            code=f"410102001{100 + i}", name=f"新村{i}", parent=tree.township_a
        )
        rate(village, stars=(2,), gaps={1: ["支部过硬星：需先获得其他四颗星"]})
        report = workflow.report_get_or_create(unit=village, period=MARCH)
        workflow.report_save_values(
            report=report,
            user=personas.staff_a,
            values={
                "BR-01": ValueInput(True),
                "BR-03": ValueInput(Decimal(2)),
                "BR-05": ValueInput(Decimal(3)),
            },
            expected_version=report.version,
        )


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("ratings_export", "csv"),
        ("ratings_export", "xlsx"),
        ("values_export", "csv"),
        ("values_export", "xlsx"),
    ],
)
def test_the_number_of_queries_does_not_grow_with_the_rows(name, fmt, tree, personas, login):
    client = login(personas.auditor)

    def exported():
        with CaptureQueriesContext(connection) as captured:
            response = export(client, name, tree.county.code, fmt)
            content = body(response)
        assert response.status_code == 200
        return len(captured), content

    add_branches(tree, personas, range(2))
    few_queries, few = exported()
    add_branches(tree, personas, range(2, 12))
    many_queries, many = exported()
    assert len(many) > len(few)
    assert many_queries == few_queries, (few_queries, many_queries)


def test_auditors_reach_the_month_values_export_from_the_review_page(
    tree, criteria, personas, login
):
    client = login(personas.auditor)
    review = reverse("branches:report_review", args=[tree.township_a.code, "2026-03"])
    text = client.get(review).content.decode()
    for fmt in ("csv", "xlsx"):
        url = reverse("branches:values_export", args=[tree.township_a.code, "2026-03", fmt])
        assert f'href="{url}"' in text
        assert client.get(url).status_code == 200
