"""The monthly scorecard pages: data entry, township review, unlock, evidence downloads."""

import math
import re
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from branches.models import Criterion, Evidence, MonthlyReport, OrgUnit, ReportValue
from branches.services import workflow
from branches.services.workbench import is_late
from branches.services.workflow import ValueInput
from tests.branches.factories import OrgUnitFactory, passing_value
from tests.conftest import PERSONA_NAMES

MARCH, FEBRUARY = date(2026, 3, 1), date(2026, 2, 1)
Status = MonthlyReport.Status
SHANGHAI = ZoneInfo("Asia/Shanghai")


pytestmark = pytest.mark.usefixtures("april_third")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def edit_url(unit, period=MARCH):
    return reverse("branches:report_edit", args=[unit.code, f"{period:%Y-%m}"])


def review_url(township, period=MARCH, **query):
    url = reverse("branches:report_review", args=[township.code, f"{period:%Y-%m}"])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def typed(criterion) -> str:
    """A passing value as a person types it into the page (whole numbers where asked)."""
    value = passing_value(criterion)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if criterion.kind == Criterion.Kind.INTEGER:
        return str(math.ceil(value))
    return str(value)


def form_data(report, **overrides):
    """A complete page post for `report`: every manual criterion passing unless overridden."""
    data = {"version": report.version}
    for criterion in workflow.manual_criteria(report.criteria_set):
        data[f"value-{criterion.code}"] = overrides.get(criterion.code, typed(criterion))
    return data


def evidence_files(report):
    return {
        f"evidence-{c.code}": SimpleUploadedFile("会议记录.pdf", b"%PDF-1.4 minutes")
        for c in workflow.manual_criteria(report.criteria_set)
        if c.evidence_required
    }


def submitted(unit, user, period=MARCH):
    """A branch-month filled with passing values and evidence, then submitted."""
    report = workflow.report_get_or_create(unit=unit, period=period)
    workflow.report_save_values(
        report=report,
        user=user,
        values={
            c.code: ValueInput(passing_value(c))
            for c in workflow.manual_criteria(report.criteria_set)
        },
        expected_version=report.version,
    )
    for code in evidence_files(report):
        workflow.evidence_add(
            report=report,
            user=user,
            criterion_code=code.removeprefix("evidence-"),
            upload=SimpleUploadedFile("会议记录.pdf", b"%PDF-1.4 minutes"),
        )
    workflow.report_submit(report=report, user=user, expected_version=report.version)
    return report


def approved(unit, user, period=MARCH, *, checker):
    """Submitted by `user`, approved by `checker` (maker–checker: never the same person)."""
    report = submitted(unit, user, period)
    workflow.report_approve(report=report, user=checker, expected_version=report.version)
    return report


def page_version(response) -> str:
    return re.search(r'name="version" value="(\d+)"', response.content.decode()).group(1)


# Data entry.


def test_a_secretary_fills_in_and_submits_their_branch_through_the_page(
    tree, criteria, personas, login
):
    client = login(personas.secretary)
    page = client.get(edit_url(tree.village_a1))
    assert page.status_code == 200
    blank = page.context["report"]
    data = form_data(blank) | evidence_files(blank) | {"submit": ""}
    response = client.post(edit_url(tree.village_a1), data, follow=True)
    assert response.redirect_chain[-1][0] == edit_url(tree.village_a1)
    assert "已提交，等待乡镇(街道)审核。" in response.content.decode()
    report = MonthlyReport.objects.get(unit=tree.village_a1, period=MARCH)
    assert report.status == Status.SUBMITTED
    assert report.submitted_by == personas.secretary
    manual = workflow.manual_criteria(report.criteria_set)
    assert report.values.filter(value_bool__isnull=True, value_number__isnull=True).count() == 0
    assert report.values.count() == len(manual)
    assert Evidence.objects.filter(value__report=report).count() == len(evidence_files(report))


def test_saving_a_draft_keeps_blanks_unsent_and_submitting_an_incomplete_month_says_what_is_missing(
    tree, criteria, personas, login
):
    client = login(personas.staff_a)
    version = page_version(client.get(edit_url(tree.village_a2)))
    data = {"version": version, "value-BR-03": "3", "note-BR-03": "新增1名", "submit": ""}
    response = client.post(edit_url(tree.village_a2), data, follow=True)
    text = response.content.decode()
    assert "草稿已保存，但还不能提交" in text
    assert "未填报：党员集中培训学时" in text
    report = MonthlyReport.objects.get(unit=tree.village_a2, period=MARCH)
    assert report.status == Status.DRAFT
    assert list(report.values.values_list("criterion__code", "value_number", "note")) == [
        ("BR-03", Decimal(3), "新增1名")
    ]


def test_the_page_groups_criteria_by_star_with_rules_and_last_months_values(
    tree, criteria, personas, login
):
    february = submitted(tree.village_a2, personas.staff_a, FEBRUARY)
    february.values.filter(criterion__code="BR-05").update(value_number=Decimal("3.5"))
    text = login(personas.staff_a).get(edit_url(tree.village_a2)).content.decode()
    for star_name in ("支部过硬星", "产业兴旺星", "生态宜居星", "平安法治星", "文明幸福星"):
        assert star_name in text
    assert "≥ 32 学时，全年累计（按月进度折算）" in text
    assert "每月均须为“是”" in text
    assert "至少10个月达标" in text
    assert "≤ 0 件，全年累计；未达标即否决全部星（一票否决）" in text
    assert "上月：3.5 学时" in text
    assert "本月组织党员集中培训的学时数" in text  # the help text


def test_a_metric_criterion_shows_its_computed_value_read_only(tree, criteria, personas, login):
    rural = next(s for s in criteria if s.area_type == OrgUnit.AreaType.RURAL)
    Criterion.objects.create(
        criteria_set=rural,
        code="OT-01",
        star=1,
        title="月度报表按时报送率",
        source=Criterion.Source.METRIC,
        metric_key="branches.on_time_report_rate",
        kind=Criterion.Kind.PERCENTAGE,
        unit="%",
        comparator=Criterion.Comparator.GTE,
        threshold=Decimal(80),
        aggregation=Criterion.Aggregation.METRIC,
        order=99,
    )
    with time_machine.travel("2026-03-02 09:00 +0800", tick=False):
        submitted(tree.village_a2, personas.staff_a, FEBRUARY)
    text = login(personas.staff_a).get(edit_url(tree.village_a2)).content.decode()
    # One of January..March submitted on time.
    assert 'value="33.3%" readonly' in text
    assert "≥ 80%，系统按年初至本月自动计算" in text
    assert 'name="value-OT-01"' not in text


def test_bad_input_is_shown_beside_each_field_and_nothing_is_saved(tree, criteria, personas, login):
    client = login(personas.staff_a)
    blank = client.get(edit_url(tree.village_a2)).context["report"]
    data = form_data(blank, **{"BR-05": "abc", "BR-03": "2.5", "EC-02": "120"}) | {
        "evidence-BR-01": SimpleUploadedFile("病毒.exe", b"MZ")
    }
    response = client.post(edit_url(tree.village_a2), data)
    assert response.status_code == 200
    text = response.content.decode()
    assert "“党员集中培训学时”应填数字，收到的是“abc”。" in text
    assert "“村级后备干部人数”应填整数（单位：人），收到的是“2.5”。" in text
    assert "是百分比，应在 0 到 100 之间" in text
    assert "佐证材料只接受" in text
    assert "有 4 处填写有误" in text
    assert 'name="value-BR-05" value="abc"' in text  # what was typed stays on the page
    # A refused first post does not even start the month.
    assert not MonthlyReport.objects.exists()
    assert not ReportValue.objects.exists()
    assert not Evidence.objects.exists()


def test_two_stale_pages_the_second_save_gets_a_conflict_and_keeps_the_typed_values(
    tree, criteria, personas, login
):
    personas.secretary.last_name, personas.secretary.first_name = "李", "红梅"
    personas.secretary.save()
    staff = login(personas.staff_a)
    secretary = Client()
    secretary.force_login(personas.secretary)
    url = edit_url(tree.village_a1)
    staff_version = page_version(staff.get(url))
    secretary_version = page_version(secretary.get(url))
    assert staff_version == secretary_version

    first = {"version": secretary_version, "value-BR-03": "5"}
    assert secretary.post(url, first).status_code == 302
    report = MonthlyReport.objects.get(unit=tree.village_a1, period=MARCH)
    second = {"version": staff_version, "value-BR-03": "7", "note-BR-03": "以花名册为准"}
    response = staff.post(url, second)

    assert response.status_code == 200
    text = response.content.decode()
    # The colleague's name, not their login.
    assert "该月报表在您打开之后已被李红梅修改（" in text
    assert "shuji" not in text
    assert 'name="value-BR-03" value="7"' in text
    assert 'value="以花名册为准"' in text
    assert "当前已保存：5 人" in text
    assert report.values.get(criterion__code="BR-03").value_number == 5
    # The page now carries the stored version: saving again is a deliberate overwrite.
    report.refresh_from_db()
    assert page_version(response) == str(report.version)
    assert staff.post(url, {**second, "version": page_version(response)}).status_code == 302
    assert report.values.get(criterion__code="BR-03").value_number == 7


def test_after_approval_the_page_is_locked_and_says_by_whom(tree, criteria, personas, login):
    personas.staff_a2.first_name = "张三"
    personas.staff_a2.save()
    report = approved(tree.village_a2, personas.staff_a, checker=personas.staff_a2)
    client = login(personas.staff_a)
    text = client.get(edit_url(tree.village_a2)).content.decode()
    assert "已由 张三 于 2026-04-03 10:00 审核通过，如需修改请联系县级组织部门解锁" in text
    assert "保存草稿" not in text
    assert 'name="value-BR-03"' not in text
    assert 'name="reason"' not in text  # township staff cannot unlock
    response = client.post(edit_url(tree.village_a2), form_data(report, **{"BR-03": "9"}))
    assert response.status_code == 302
    assert report.values.get(criterion__code="BR-03").value_number == passing_value(
        Criterion.objects.get(criteria_set=report.criteria_set, code="BR-03")
    )


def test_a_county_leader_unlocks_an_approved_month_with_a_reason(tree, criteria, personas, login):
    report = approved(tree.village_a2, personas.staff_a, checker=personas.staff_a2)
    client = login(personas.county_leader)
    page = client.get(edit_url(tree.village_a2)).content.decode()
    assert 'name="reason"' in page
    url = reverse("branches:report_unlock", args=[tree.village_a2.code, "2026-03"])
    response = client.post(url, {"version": report.version, "reason": " "}, follow=True)
    assert "请填写解锁原因" in response.content.decode()
    report.refresh_from_db()
    assert report.status == Status.APPROVED
    client.post(url, {"version": report.version, "reason": "村集体收入数据更正"})
    report.refresh_from_db()
    assert report.status == Status.RETURNED
    assert report.unlock_reason == "村集体收入数据更正"


def test_a_returned_report_shows_the_reason_prominently(tree, criteria, personas, login):
    report = submitted(tree.village_a2, personas.staff_a)
    workflow.report_return(
        report=report, user=personas.staff_a, reason="集体收入佐证不清晰", expected_version=None
    )
    text = login(personas.staff_a).get(edit_url(tree.village_a2)).content.decode()
    assert "该月报表已退回，请按以下原因修改后重新提交" in text
    assert "集体收入佐证不清晰" in text
    assert "保存草稿" in text


def test_readers_see_a_month_nobody_started_without_creating_it(tree, criteria, personas, login):
    response = login(personas.auditor).get(edit_url(tree.village_a2))
    assert response.status_code == 200
    text = response.content.decode()
    assert "该支部尚未开始填报本月数据。" in text
    assert "保存草稿" not in text
    assert not MonthlyReport.objects.exists()


@pytest.mark.parametrize(
    ("month", "message"),
    [("2026-05", "不能填报未来月份的数据。"), ("2026-13", "月份超出范围：月应在 1 至 12 之间")],
)
def test_a_future_or_impossible_month_gets_a_clear_message(
    month, message, tree, criteria, personas, login
):
    url = reverse("branches:report_edit", args=[tree.village_a2.code, month])
    response = login(personas.staff_a).get(url)
    assert response.status_code == 404
    assert message in response.content.decode()
    assert not MonthlyReport.objects.exists()


def test_an_editor_opening_a_month_creates_nothing_until_the_first_save(
    tree, criteria, personas, login
):
    client = login(personas.staff_a)
    page = client.get(edit_url(tree.village_a2))
    assert page.status_code == 200
    text = page.content.decode()
    assert "保存草稿" in text
    assert "第一次保存草稿（或提交）时才建立本月报表" in text
    assert 'name="evidence-BR-01"' in text  # files can go with the first save
    assert page_version(page) == "1"
    assert not MonthlyReport.objects.exists()
    assert not MonthlyReport.history.exists()
    # Browsing months leaves the branch "未开始" on the township's review page.
    review = client.get(review_url(tree.township_a, status="NOT_STARTED"))
    assert tree.village_a2 in [row.unit for row in review.context["rows"]]


def test_the_first_save_creates_the_draft_with_its_values_and_evidence(
    tree, criteria, personas, login
):
    client = login(personas.staff_a)
    version = page_version(client.get(edit_url(tree.village_a2)))
    upload = SimpleUploadedFile("会议记录.pdf", b"%PDF-1.4 minutes")
    data = {"version": version, "value-BR-03": "2", "evidence-BR-01": upload}
    assert client.post(edit_url(tree.village_a2), data).status_code == 302
    report = MonthlyReport.objects.get(unit=tree.village_a2, period=MARCH)
    assert report.status == Status.DRAFT
    assert report.values.get(criterion__code="BR-03").value_number == 2
    assert Evidence.objects.filter(value__report=report, value__criterion__code="BR-01").exists()


@pytest.mark.parametrize("month", ["0001-01", "9999-12", "1999-12", "2101-01"])
@pytest.mark.parametrize("page", ["report_edit", "report_review"])
def test_a_month_outside_the_years_kept_gets_a_clear_404_not_a_server_error(
    month, page, tree, criteria, personas, login
):
    unit = tree.village_a2 if page == "report_edit" else tree.township_a
    response = login(personas.staff_a).get(reverse(f"branches:{page}", args=[unit.code, month]))
    assert response.status_code == 404
    text = response.content.decode()
    assert f"月份的年份应在 2000 至 2100 年之间，收到的是“{month}”。" in text
    assert reverse(f"branches:{page}", args=[unit.code, "2026-04"]) in text  # the way back


@pytest.mark.parametrize("month", ["0001-01", "9999-12"])
@pytest.mark.parametrize(
    ("name", "extra", "query"),
    [
        ("report_sheet", [], ""),
        ("report_sheet_upload", [], ""),
        ("values_export", ["csv"], ""),
        ("ratings_export", ["csv"], ""),
        ("ratings_export", ["csv"], "?kind=ANNUAL"),
    ],
)
def test_the_sheets_and_exports_of_a_month_outside_the_years_kept_are_not_found(
    month, name, extra, query, tree, criteria, personas, login
):
    url = reverse(f"branches:{name}", args=[tree.township_a.code, month, *extra]) + query
    assert login(personas.staff_a).get(url).status_code == 404


def test_the_first_month_kept_links_to_no_earlier_month(tree, criteria, personas, login):
    response = login(personas.staff_a).get(review_url(tree.township_a, date(2000, 1, 1)))
    assert response.status_code == 200
    assert response.context["month"]["previous"] is None
    assert "1999-12" not in response.content.decode()


def test_the_month_picker_links_back_but_not_into_the_future(tree, criteria, personas, login):
    client = login(personas.staff_a)
    april = client.get(edit_url(tree.village_a2, date(2026, 4, 1))).content.decode()
    assert f'href="{edit_url(tree.village_a2)}"' in april
    assert "2026-05" not in april
    january = client.get(edit_url(tree.village_a2, date(2026, 1, 1))).content.decode()
    assert f'href="{edit_url(tree.village_a2, date(2025, 12, 1))}"' in january
    assert f'href="{edit_url(tree.village_a2, FEBRUARY)}"' in january
    assert f'href="{reverse("branches:unit_detail", args=[tree.village_a2.code])}"' in january


def test_evidence_is_downloaded_through_a_checked_view(tree, criteria, personas, login):
    report = submitted(tree.village_a2, personas.staff_a)
    evidence = Evidence.objects.filter(value__report=report).first()
    url = reverse("branches:report_evidence", args=[tree.village_a2.code, "2026-03", evidence.pk])
    page = login(personas.auditor).get(edit_url(tree.village_a2)).content.decode()
    assert f'href="{url}"' in page
    response = login(personas.auditor).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 minutes"
    assert "attachment" in response["Content-Disposition"]
    assert login(personas.staff_b).get(url).status_code == 404
    wrong_branch = reverse(
        "branches:report_evidence", args=[tree.village_a1.code, "2026-03", evidence.pk]
    )
    assert login(personas.staff_a).get(wrong_branch).status_code == 404


# Township review.


def test_the_review_page_lists_every_branch_including_those_not_started(
    tree, criteria, personas, login
):
    submitted(tree.village_a2, personas.staff_a)
    response = login(personas.staff_a).get(review_url(tree.township_a))
    rows = {row.unit.code: row for row in response.context["rows"]}
    assert set(rows) == {tree.village_a1.code, tree.village_a2.code}
    assert rows[tree.village_a1.code].report is None
    assert rows[tree.village_a2.code].report.status == Status.SUBMITTED
    text = response.content.decode()
    assert "未开始" in text
    assert "2026-04-03 10:00" in text  # submitted at
    assert "staff_a" in text  # submitted by


@pytest.mark.parametrize(
    ("status", "expected"),
    [("NOT_STARTED", ["village_a1"]), ("SUBMITTED", ["village_a2"]), ("APPROVED", [])],
)
def test_the_review_page_filters_by_status(status, expected, tree, criteria, personas, login):
    submitted(tree.village_a2, personas.staff_a)
    response = login(personas.staff_a).get(review_url(tree.township_a, status=status))
    assert [row.unit for row in response.context["rows"]] == [getattr(tree, n) for n in expected]


def test_the_review_page_shows_fifty_branches_a_page(tree, criteria, personas, login):
    for n in range(49):
        OrgUnitFactory(
            parent=OrgUnit.objects.get(pk=tree.township_a.pk), code=f"41010200109{n:02d}"
        )
    client = login(personas.staff_a)
    first = client.get(review_url(tree.township_a))
    second = client.get(review_url(tree.township_a, page=2))
    assert len(first.context["rows"]) == 50
    assert len(second.context["rows"]) == 1


def test_bulk_approve_approves_each_checked_report(tree, criteria, personas, login):
    reports = [submitted(u, personas.staff_a) for u in (tree.village_a1, tree.village_a2)]
    data = {"action": "approve", "selected": [f"{r.pk}:{r.version}" for r in reports]}
    response = login(personas.staff_a2).post(review_url(tree.township_a), data, follow=True)
    assert "已审核通过 2 份报表：" in response.content.decode()
    for report in reports:
        report.refresh_from_db()
        assert report.status == Status.APPROVED
        assert report.reviewed_by == personas.staff_a2


def test_bulk_return_needs_a_reason_and_then_returns_each(tree, criteria, personas, login):
    reports = [submitted(u, personas.staff_a) for u in (tree.village_a1, tree.village_a2)]
    client = login(personas.staff_a)
    data = {"action": "return", "selected": [f"{r.pk}:{r.version}" for r in reports]}
    response = client.post(review_url(tree.township_a), data)
    assert response.status_code == 200
    assert "退回时请填写退回原因" in response.content.decode()
    assert MonthlyReport.objects.filter(status=Status.SUBMITTED).count() == 2
    client.post(review_url(tree.township_a), data | {"reason": "佐证材料不全"})
    for report in reports:
        report.refresh_from_db()
        assert report.status == Status.RETURNED
        assert report.return_reason == "佐证材料不全"


def test_bulk_approve_reports_the_ones_that_failed_and_why(tree, criteria, personas, login):
    fresh = submitted(tree.village_a1, personas.staff_a)
    stale = submitted(tree.village_a2, personas.staff_a)
    data = {
        "action": "approve",
        "selected": [f"{fresh.pk}:{fresh.version}", f"{stale.pk}:{stale.version - 1}"],
    }
    response = login(personas.staff_a2).post(review_url(tree.township_a), data, follow=True)
    text = response.content.decode()
    assert "已审核通过 1 份报表：" in text
    assert "1 份未处理：西流湖村：该月报表在您打开之后已被" in text
    stale.refresh_from_db()
    assert stale.status == Status.SUBMITTED


def test_bulk_review_never_touches_reports_of_another_township(tree, criteria, personas, login):
    other = submitted(tree.village_b1, personas.staff_b)
    data = {"action": "approve", "selected": [f"{other.pk}:{other.version}"]}
    response = login(personas.staff_a).post(review_url(tree.township_a), data, follow=True)
    assert "1 份未处理" in response.content.decode()
    other.refresh_from_db()
    assert other.status == Status.SUBMITTED


def test_the_late_flag_marks_months_not_submitted_by_the_due_day(tree, criteria, personas, login):
    """February is due on 5 March (REPORT_DUE_DAY=5); the flag reads the first submission."""
    a3 = OrgUnitFactory(parent=tree.township_a, code="410102001003", name="后河村")
    on_time = submitted(tree.village_a1, personas.staff_a, FEBRUARY)
    late = submitted(tree.village_a2, personas.staff_a, FEBRUARY)
    on_time_at = datetime(2026, 3, 5, 23, 30, tzinfo=SHANGHAI)
    MonthlyReport.objects.filter(pk=on_time.pk).update(
        submitted_at=on_time_at, first_submitted_at=on_time_at
    )
    late_at = datetime(2026, 3, 6, 0, 30, tzinfo=SHANGHAI)
    MonthlyReport.objects.filter(pk=late.pk).update(
        submitted_at=late_at, first_submitted_at=late_at
    )
    response = login(personas.staff_a).get(review_url(tree.township_a, FEBRUARY))
    flags = {row.unit.code: row.is_late for row in response.context["rows"]}
    assert flags == {tree.village_a1.code: False, tree.village_a2.code: True, a3.code: True}
    assert response.content.decode().count(">逾期<") == 2


def test_an_unsubmitted_month_is_late_only_after_its_due_day(settings):
    settings.REPORT_DUE_DAY = 5
    assert not is_late(None, MARCH, date(2026, 4, 5))
    assert is_late(None, MARCH, date(2026, 4, 6))


@pytest.mark.parametrize(
    "selected",
    ["9999999999999999999999999:1", "1:9999999999999999999999999", "2147483648:1", "0:1", "-1:1"],
)
def test_a_report_id_or_version_out_of_range_is_a_form_error_not_a_server_error(
    selected, tree, criteria, personas, login
):
    report = submitted(tree.village_a2, personas.staff_a)
    data = {"action": "approve", "selected": [selected]}
    response = login(personas.staff_a).post(review_url(tree.township_a), data)
    assert response.status_code == 200
    assert "所选报表无效，请刷新页面后重新勾选。" in response.content.decode()
    report.refresh_from_db()
    assert report.status == Status.SUBMITTED


def test_a_page_version_out_of_range_is_a_form_error_not_a_server_error(
    tree, criteria, personas, login
):
    client = login(personas.staff_a)
    data = {"version": "99999999999999999999", "value-BR-03": "2"}
    response = client.post(edit_url(tree.village_a2), data)
    assert response.status_code == 200
    assert "页面版本信息无效，请重新打开填报页面。" in response.content.decode()
    assert not MonthlyReport.objects.exists()


def test_an_unlock_with_a_version_out_of_range_is_refused_with_a_message(
    tree, criteria, personas, login
):
    report = approved(tree.village_a2, personas.staff_a, checker=personas.staff_a2)
    url = reverse("branches:report_unlock", args=[tree.village_a2.code, "2026-03"])
    data = {"version": "99999999999999999999", "reason": "更正"}
    response = login(personas.county_leader).post(url, data, follow=True)
    assert "页面版本信息无效" in response.content.decode()
    report.refresh_from_db()
    assert report.status == Status.APPROVED


def test_readers_see_the_review_list_without_the_review_controls(tree, criteria, personas, login):
    submitted(tree.village_a2, personas.staff_a)
    text = login(personas.county_leader).get(review_url(tree.township_a)).content.decode()
    assert "西流湖村" in text
    assert 'name="selected"' not in text
    assert 'value="approve"' not in text


def test_the_review_page_takes_a_fixed_number_of_queries(tree, criteria, personas, login):
    client = login(personas.staff_a)
    submitted(tree.village_a2, personas.staff_a)
    with CaptureQueriesContext(connection) as before:
        client.get(review_url(tree.township_a))
    for n in range(10):
        village = OrgUnitFactory(
            parent=OrgUnit.objects.get(pk=tree.township_a.pk), code=f"41010200110{n}"
        )
        submitted(village, personas.staff_a)
    with CaptureQueriesContext(connection) as after:
        response = client.get(review_url(tree.township_a))
    assert len(response.context["rows"]) == 12
    assert len(after) == len(before), [q["sql"] for q in after.captured_queries]


def test_a_review_page_is_a_townships(tree, criteria, personas, login):
    client = login(personas.staff_a)
    assert client.get(review_url(tree.village_a2)).status_code == 404
    assert login(personas.county_leader).get(review_url(tree.county)).status_code == 404


# Permissions: persona × page × method → status.

PAGES = [
    "edit_get",
    "edit_get_sibling",
    "edit_post",
    "review_get",
    "review_post",
    "unlock_post",
    "evidence_get",
    "edit_get_other_county",
]
# 建设路社区 (A1) is the secretary's branch in township A; 西流湖村 (A2) is its sibling.
EXPECTED = {
    "admin": [200, 200, 302, 200, 302, 302, 200, 200],
    "province_leader": [200, 200, 403, 200, 403, 302, 200, 200],
    "county_leader": [200, 200, 403, 200, 403, 302, 200, 404],
    "staff_a": [200, 200, 302, 200, 302, 403, 200, 404],
    "staff_b": [404, 404, 404, 404, 404, 404, 404, 404],
    "secretary": [200, 404, 302, 404, 404, 403, 200, 404],
    "auditor": [200, 200, 403, 200, 403, 403, 200, 404],
    "grid_worker": [403, 403, 403, 403, 403, 403, 403, 403],
}


@pytest.fixture
def scene(tree, criteria, personas):
    """A1: March a draft, February approved with evidence; A2: March submitted."""
    draft = workflow.report_get_or_create(unit=tree.village_a1, period=MARCH)
    february = approved(tree.village_a1, personas.staff_a, FEBRUARY, checker=personas.staff_a2)
    return {
        "draft": draft,
        "february": february,
        "evidence": Evidence.objects.filter(value__report=february).first(),
        "to_review": submitted(tree.village_a2, personas.staff_a),
    }


def request_page(client, tree, scene, page):
    a1 = tree.village_a1
    if page == "edit_get":
        return client.get(edit_url(a1))
    if page == "edit_get_sibling":
        return client.get(edit_url(tree.village_a2))
    if page == "edit_post":
        return client.post(edit_url(a1), form_data(scene["draft"]))
    if page == "review_get":
        return client.get(review_url(tree.township_a))
    if page == "review_post":
        report = scene["to_review"]
        data = {"action": "approve", "selected": [f"{report.pk}:{report.version}"]}
        return client.post(review_url(tree.township_a), data)
    if page == "unlock_post":
        url = reverse("branches:report_unlock", args=[a1.code, "2026-02"])
        return client.post(url, {"version": scene["february"].version, "reason": "更正"})
    if page == "evidence_get":
        args = [a1.code, "2026-02", scene["evidence"].pk]
        return client.get(reverse("branches:report_evidence", args=args))
    if page == "edit_get_other_county":
        return client.get(edit_url(tree.village_other))
    raise AssertionError(page)


@pytest.mark.parametrize(
    ("persona", "page", "status"),
    [
        (persona, page, status)
        for persona in PERSONA_NAMES
        for page, status in zip(PAGES, EXPECTED[persona], strict=True)
    ],
)
def test_permission_matrix(persona, page, status, personas, tree, scene, login):
    response = request_page(login(getattr(personas, persona)), tree, scene, page)
    assert response.status_code == status


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_users_are_sent_to_the_login_page(page, tree, scene, client):
    response = request_page(client, tree, scene, page)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_review_actions_need_the_csrf_token(tree, scene, personas):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.staff_a)
    report = scene["to_review"]
    data = {"action": "approve", "selected": [f"{report.pk}:{report.version}"]}
    assert client.post(review_url(tree.township_a), data).status_code == 403
    report.refresh_from_db()
    assert report.status == Status.SUBMITTED


def test_unlock_only_answers_post(tree, scene, personas, login):
    url = reverse("branches:report_unlock", args=[tree.village_a1.code, "2026-02"])
    assert login(personas.county_leader).get(url).status_code == 405


def test_a_read_only_post_changes_nothing(tree, scene, personas, login):
    login(personas.auditor).post(edit_url(tree.village_a1), form_data(scene["draft"]))
    assert not scene["draft"].values.exists()
    scene["to_review"].refresh_from_db()
    login(personas.county_leader).post(
        review_url(tree.township_a),
        {
            "action": "approve",
            "selected": [f"{scene['to_review'].pk}:{scene['to_review'].version}"],
        },
    )
    scene["to_review"].refresh_from_db()
    assert scene["to_review"].status == Status.SUBMITTED


@pytest.mark.parametrize("state", [Status.SUBMITTED, Status.APPROVED])
def test_a_report_whose_submitter_and_reviewer_accounts_are_gone_still_opens(
    state, tree, criteria, personas, login
):
    if state == Status.APPROVED:
        report = approved(tree.village_a2, personas.staff_a, checker=personas.staff_a2)
    else:
        report = submitted(tree.village_a2, personas.staff_a)
    # Deleted accounts leave the report (SET_NULL); the page must not read their names.
    MonthlyReport.objects.filter(pk=report.pk).update(submitted_by=None, reviewed_by=None)
    response = login(personas.county_leader).get(edit_url(tree.village_a2))
    assert response.status_code == 200
    text = response.content.decode()
    assert ("审核通过" if state == Status.APPROVED else "等待乡镇(街道)审核") in text
    assert ("审核人账号已删除" if state == Status.APPROVED else "提交人账号已删除") in text


def test_the_review_page_of_a_future_month_says_there_is_nothing_to_review(
    tree, criteria, personas, login
):
    response = login(personas.staff_a).get(f"/units/{tree.township_a.code}/review/2026-05/")
    assert response.status_code == 404
    assert "未来月份还没有报表可审核。" in response.content.decode()
    current = login(personas.staff_a).get(f"/units/{tree.township_a.code}/review/2026-04/")
    assert current.status_code == 200


def test_approving_with_a_typed_return_reason_asks_which_was_meant(tree, criteria, personas, login):
    report = submitted(tree.village_a1, personas.staff_a)
    data = {"action": "approve", "selected": [f"{report.pk}:{report.version}"], "reason": "缺照片"}
    response = login(personas.staff_a2).post(review_url(tree.township_a), data)
    text = response.content.decode()
    assert response.status_code == 200
    assert "您填写了退回原因，却点了“审核通过”" in text and "缺照片" in text
    report.refresh_from_db()
    assert report.status == Status.SUBMITTED


def test_an_over_long_return_reason_gets_one_message_with_the_limit(
    tree, criteria, personas, login
):
    report = submitted(tree.village_a1, personas.staff_a)
    data = {
        "action": "return",
        "selected": [f"{report.pk}:{report.version}"],
        "reason": "长" * 1001,
    }
    text = login(personas.staff_a2).post(review_url(tree.township_a), data).content.decode()
    assert "退回原因最多 1000 字，现在是 1001 字。" in text
    assert "退回时请填写退回原因" not in text
