"""A report's timeline: an event row for every workflow step, shown on the report page, read
through the API and exported for auditors; the first submission time behind the on-time rate."""

import csv
import importlib
import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import FileResponse, StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from branches.metrics import Window, registry
from branches.models import MonthlyReport, ReportEvent
from branches.services import workflow
from branches.services.workflow import ConflictError, ValueInput
from tests.branches.factories import passing_value
from tests.conftest import PERSONA_NAMES

MARCH = date(2026, 3, 1)
SHANGHAI = ZoneInfo("Asia/Shanghai")
Status = MonthlyReport.Status
Action = ReportEvent.Action


pytestmark = pytest.mark.usefixtures("april_third")


def fill(report, user, **overrides):
    values = {
        c.code: ValueInput(overrides.get(c.code, passing_value(c)))
        for c in workflow.manual_criteria(report.criteria_set)
    }
    workflow.report_save_values(
        report=report, user=user, values=values, expected_version=report.version
    )
    for c in workflow.manual_criteria(report.criteria_set):
        if c.evidence_required:
            workflow.evidence_add(
                report=report,
                user=user,
                criterion_code=c.code,
                upload=SimpleUploadedFile("证明.pdf", b"%PDF-1.4 evidence"),
            )
    report.refresh_from_db()
    return report


def submitted(unit, user, period=MARCH):
    report = fill(workflow.report_get_or_create(unit=unit, period=period, user=user), user)
    workflow.report_submit(report=report, user=user, expected_version=report.version)
    return report


def steps(report):
    """The report's workflow events (evidence uploads have tests of their own)."""
    return list(
        ReportEvent.objects.filter(report=report)
        .exclude(action__in=[Action.EVIDENCE_ADDED, Action.EVIDENCE_REMOVED])
        .order_by("occurred_at", "id")
        .values_list("action", "from_status", "to_status", "actor__username", "reason")
    )


@pytest.fixture
def lifecycle(tree, criteria, personas, april_third):
    """A2's March through every step: created, saved, submitted, returned, resubmitted,
    approved by the checker, unlocked by the county; a minute apart."""
    staff, checker = personas.staff_a, personas.staff_a2
    report = workflow.report_get_or_create(unit=tree.village_a2, period=MARCH, user=staff)
    april_third.shift(60)
    fill(report, staff)
    april_third.shift(60)
    workflow.report_submit(report=report, user=staff, expected_version=report.version)
    april_third.shift(60)
    workflow.report_return(
        report=report, user=checker, reason="佐证不清晰", expected_version=report.version
    )
    april_third.shift(60)
    workflow.report_submit(report=report, user=staff, expected_version=report.version)
    april_third.shift(60)
    workflow.report_approve(report=report, user=checker, expected_version=report.version)
    april_third.shift(60)
    workflow.report_unlock(
        report=report,
        user=personas.county_leader,
        reason="村集体收入数据更正",
        expected_version=report.version,
    )
    return report


def evidence_events(report) -> int:
    return report.events.filter(action=Action.EVIDENCE_ADDED).count()


# The service writes one event per step.


def test_every_workflow_step_writes_one_event_with_who_from_to_and_reason(lifecycle):
    saved = steps(lifecycle)[1]
    assert saved[:4] == (Action.SAVED, "", "", "staff_a")
    assert saved[4].startswith("修改 ")
    assert [step for i, step in enumerate(steps(lifecycle)) if i != 1] == [
        (Action.CREATED, "", Status.DRAFT, "staff_a", ""),
        (Action.SUBMITTED, Status.DRAFT, Status.SUBMITTED, "staff_a", ""),
        (Action.RETURNED, Status.SUBMITTED, Status.RETURNED, "checker", "佐证不清晰"),
        (Action.RESUBMITTED, Status.RETURNED, Status.SUBMITTED, "staff_a", ""),
        (Action.APPROVED, Status.SUBMITTED, Status.APPROVED, "checker", ""),
        (Action.UNLOCKED, Status.APPROVED, Status.RETURNED, "xian", "村集体收入数据更正"),
    ]


def test_an_event_keeps_the_actors_name_at_the_time(tree, criteria, personas):
    report = submitted(tree.village_a2, personas.staff_a2)
    event = report.events.get(action=Action.SUBMITTED)
    assert event.actor_name == "审核员"
    assert event.occurred_at == report.submitted_at


def test_saving_writes_an_event_only_when_something_changed(tree, criteria, personas):
    report = workflow.report_get_or_create(unit=tree.village_a2, period=MARCH)
    code = workflow.manual_criteria(report.criteria_set)[0].code
    for _ in range(2):
        workflow.report_save_values(
            report=report,
            user=personas.staff_a,
            values={code: ValueInput(None, "备注")},
            expected_version=report.version,
        )
    saves = report.events.filter(action=Action.SAVED)
    assert list(saves.values_list("reason", flat=True)) == [f"修改 1 项：{code}"]


def test_opening_an_existing_month_writes_no_second_created_event(tree, criteria, personas):
    report = workflow.report_get_or_create(unit=tree.village_a2, period=MARCH)
    again = workflow.report_get_or_create(unit=tree.village_a2, period=MARCH, user=personas.admin)
    assert again == report
    created = report.events.get()
    assert (created.action, created.actor, created.actor_name) == (Action.CREATED, None, "")


def test_a_refused_step_writes_no_event(tree, criteria, personas):
    report = fill(workflow.report_get_or_create(unit=tree.village_a2, period=MARCH), personas.admin)
    before = report.events.count()
    with pytest.raises(ConflictError):
        workflow.report_submit(report=report, user=personas.staff_a, expected_version=1)
    assert report.events.count() == before


def test_a_resubmission_keeps_the_first_submission_time(tree, criteria, personas, april_third):
    report = submitted(tree.village_a2, personas.staff_a)
    first = report.submitted_at
    workflow.report_return(
        report=report, user=personas.staff_a2, reason="补材料", expected_version=report.version
    )
    april_third.move_to("2026-04-20 09:00 +0800")
    workflow.report_submit(report=report, user=personas.staff_a, expected_version=report.version)
    report.refresh_from_db()
    assert report.first_submitted_at == first
    assert report.submitted_at == datetime(2026, 4, 20, 9, tzinfo=SHANGHAI)


def on_time_rate(unit):
    return registry.compute("branches.on_time_report_rate", Window(2026, 3, 3), [unit.id])[unit.id]


def test_a_month_resubmitted_after_its_due_day_still_counts_as_on_time(
    tree, criteria, personas, april_third
):
    """March is due on 5 April: first submitted on 3 April, resubmitted on 20 April."""
    report = submitted(tree.village_a2, personas.staff_a)
    workflow.report_return(
        report=report, user=personas.staff_a2, reason="补材料", expected_version=report.version
    )
    april_third.move_to("2026-04-20 09:00 +0800")
    workflow.report_submit(report=report, user=personas.staff_a, expected_version=report.version)
    assert on_time_rate(tree.village_a2) == 100
    MonthlyReport.objects.filter(pk=report.pk).update(
        first_submitted_at=datetime(2026, 4, 6, 9, tzinfo=SHANGHAI)
    )
    assert on_time_rate(tree.village_a2) == 0


def test_the_review_page_does_not_flag_a_resubmitted_month_late(
    tree, criteria, personas, login, april_third
):
    report = submitted(tree.village_a2, personas.staff_a)
    workflow.report_return(
        report=report, user=personas.staff_a2, reason="补材料", expected_version=report.version
    )
    april_third.move_to("2026-04-20 09:00 +0800")
    workflow.report_submit(report=report, user=personas.staff_a, expected_version=report.version)
    url = reverse("branches:report_review", args=[tree.township_a.code, "2026-03"])
    rows = login(personas.staff_a2).get(url).context["rows"]
    assert {row.unit.code: row.is_late for row in rows}[tree.village_a2.code] is False


def test_the_backfill_keeps_old_submission_times_and_writes_their_events(tree, criteria, personas):
    old = submitted(tree.village_a2, personas.staff_a)
    workflow.report_approve(report=old, user=personas.staff_a2, expected_version=old.version)
    untouched = workflow.report_get_or_create(unit=tree.village_a1, period=MARCH)
    ReportEvent.objects.all().delete()
    MonthlyReport.objects.update(first_submitted_at=None)
    migration = importlib.import_module("branches.migrations.0013_report_events_backfill")

    migration.backfill(apps, None)

    old.refresh_from_db()
    assert old.first_submitted_at == old.submitted_at
    assert steps(old) == [
        (Action.SUBMITTED, "", Status.SUBMITTED, "staff_a", ""),
        (Action.APPROVED, Status.SUBMITTED, Status.APPROVED, "checker", ""),
    ]
    assert not untouched.events.exists()
    migration.backfill(apps, None)
    assert old.events.count() == 2  # running it again adds nothing


# The report page.


def edit_url(unit, period="2026-03"):
    return reverse("branches:report_edit", args=[unit.code, period])


def test_the_report_page_shows_the_timeline_newest_first_in_chinese(
    tree, lifecycle, personas, login
):
    response = login(personas.auditor).get(edit_url(tree.village_a2))
    assert response.status_code == 200
    events = response.context["events"]
    assert [e.action for e in events][:2] == [Action.UNLOCKED, Action.APPROVED]
    assert events[-1].action == Action.CREATED
    text = response.content.decode()
    assert "办理记录" in text
    for label in ("建立", "保存填报值", "提交", "退回", "重新提交", "审核通过", "解锁"):
        assert f"<strong>{label}</strong>" in text
    assert "已审核 → 已退回" in text
    assert "村集体收入数据更正" in text
    assert "2026-04-03 10:06" in text
    assert text.index("<strong>解锁</strong>") < text.index("<strong>建立</strong>")


def test_the_return_banner_says_who_returned_it_and_when(tree, criteria, personas, login):
    personas.staff_a2.first_name = "李四"
    personas.staff_a2.save()
    report = submitted(tree.village_a2, personas.staff_a)
    workflow.report_return(
        report=report, user=personas.staff_a2, reason="佐证不清晰", expected_version=report.version
    )
    text = login(personas.staff_a).get(edit_url(tree.village_a2)).content.decode()
    assert "退回人：李四，2026-04-03 10:00" in text


def test_an_unlocked_month_says_who_unlocked_it(tree, lifecycle, personas, login):
    text = login(personas.staff_a).get(edit_url(tree.village_a2)).content.decode()
    assert "解锁人：xian，2026-04-03 10:06" in text


def test_the_page_renders_after_every_account_involved_was_deleted(tree, criteria, personas, login):
    report = submitted(tree.village_a2, personas.staff_a)
    workflow.report_return(
        report=report, user=personas.staff_a2, reason="补材料", expected_version=report.version
    )
    workflow.report_submit(report=report, user=personas.staff_a, expected_version=report.version)
    personas.staff_a.delete()
    personas.staff_a2.delete()
    client = login(personas.auditor)

    text = client.get(edit_url(tree.village_a2)).content.decode()
    assert "已于 2026-04-03 10:00 提交（提交人账号已删除）" in text
    assert "审核员（账号已删除）" in text

    workflow.report_approve(report=report, user=personas.admin, expected_version=report.version)
    personas.admin.delete()
    text = client.get(edit_url(tree.village_a2)).content.decode()
    assert "已于 2026-04-03 10:00 审核通过（审核人账号已删除）" in text


def test_a_returned_month_whose_reviewer_was_deleted_still_shows_the_banner(
    tree, criteria, personas, login
):
    report = submitted(tree.village_a2, personas.staff_a)
    workflow.report_return(
        report=report, user=personas.staff_a2, reason="补材料", expected_version=report.version
    )
    ReportEvent.objects.all().delete()
    personas.staff_a2.delete()
    response = login(personas.staff_a).get(edit_url(tree.village_a2))
    assert response.status_code == 200
    assert "退回人：（账号已删除），2026-04-03 10:00" in response.content.decode()


def test_a_report_from_before_the_timeline_renders_with_an_empty_timeline(
    tree, criteria, personas, login
):
    report = submitted(tree.village_a2, personas.staff_a)
    ReportEvent.objects.all().delete()
    MonthlyReport.objects.filter(pk=report.pk).update(
        status=Status.APPROVED, submitted_by=None, reviewed_by=None, reviewed_at=None
    )
    response = login(personas.county_leader).get(edit_url(tree.village_a2))
    assert response.status_code == 200
    assert "暂无办理记录" in response.content.decode()


# The events API.


def events_url(report):
    return reverse("report-events", kwargs={"pk": report.pk})


def test_the_events_api_lists_a_reports_steps_oldest_first(lifecycle, personas, login):
    response = login(personas.auditor).get(events_url(lifecycle))
    assert response.status_code == 200
    body = response.json()
    # The seven workflow steps, and the evidence files `fill` uploaded along the way.
    assert body["count"] == 7 + evidence_events(lifecycle)
    first, last = body["results"][0], body["results"][-1]
    assert (first["action"], first["to_status"], first["actor"]) == ("CREATED", "DRAFT", "staff_a")
    assert last == {
        "id": last["id"],
        "occurred_at": "2026-04-03T10:06:00+08:00",
        "action": "UNLOCKED",
        "action_display": "解锁",
        "from_status": "APPROVED",
        "to_status": "RETURNED",
        "actor": "xian",
        "actor_name": "xian",
        "reason": "村集体收入数据更正",
    }


def test_the_events_api_names_a_deleted_actor_by_the_name_kept(lifecycle, personas, login):
    personas.staff_a2.delete()
    results = login(personas.auditor).get(events_url(lifecycle)).json()["results"]
    returned = next(e for e in results if e["action"] == "RETURNED")
    assert (returned["actor"], returned["actor_name"]) == (None, "审核员")


def test_the_events_api_is_paginated_in_a_fixed_number_of_queries(lifecycle, personas, login):
    client = login(personas.auditor)
    with CaptureQueriesContext(connection) as few:
        client.get(events_url(lifecycle))
    for n in range(60):
        workflow.report_event_record(
            report=lifecycle, user=personas.admin, action=Action.SAVED, reason=str(n)
        )
    with CaptureQueriesContext(connection) as many:
        response = client.get(events_url(lifecycle))
    assert response.json()["count"] == 67 + evidence_events(lifecycle)
    assert response.json()["next"]
    assert len(many) == len(few)


# 西流湖村 (A2) lies in township A: outside township B's and the secretary's (A1's) scope.
EVENTS_API_EXPECTED = {
    "admin": 200,
    "province_leader": 200,
    "county_leader": 200,
    "staff_a": 200,
    "staff_b": 404,
    "secretary": 404,
    "auditor": 200,
    "grid_worker": 403,
    "anonymous": 401,
}


@pytest.mark.parametrize("persona", [*PERSONA_NAMES, "anonymous"])
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_events_api_permission_matrix(persona, method, lifecycle, personas, client):
    if persona != "anonymous":
        client.force_login(getattr(personas, persona))
    response = getattr(client, method)(events_url(lifecycle))
    expected = EVENTS_API_EXPECTED[persona]
    if method != "get" and persona != "anonymous":
        expected = 405  # the endpoint only reads, whoever asks
    assert response.status_code == expected
    detail = client.get(reverse("report-detail", kwargs={"pk": lifecycle.pk}))
    assert detail.status_code == EVENTS_API_EXPECTED[persona]  # scoped as the report itself


def test_the_schema_documents_the_events_endpoint(personas, login):
    schema = login(personas.auditor).get(reverse("api-schema"), {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/reports/{id}/events/"]["get"]
    assert operation["summary"] == "月度填报的办理记录"
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = schema["components"]["schemas"][ok.rsplit("/", 1)[1]]
    assert {"count", "next", "previous", "results"} <= set(page["properties"])
    assert "404" in operation["responses"]
    assert {p["name"] for p in operation["parameters"]} == {"id", "page", "page_size"}


# The auditors' export.


def export(client, unit, fmt, period="2026-03"):
    return client.get(reverse("branches:events_export", args=[unit.code, period, fmt]))


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def csv_rows(response):
    return list(csv.reader(io.StringIO(body(response).decode("utf-8-sig"))))


def xlsx_rows(response):
    sheet = openpyxl.load_workbook(io.BytesIO(body(response))).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def test_the_events_csv_lists_each_step_of_the_townships_month(tree, lifecycle, personas, login):
    submitted(tree.village_b1, personas.staff_b)
    response = export(login(personas.auditor), tree.township_a, "csv")
    assert isinstance(response, StreamingHttpResponse)
    assert "%E5%8A%9E%E7%90%86%E8%AE%B0%E5%BD%95.csv" in response["Content-Disposition"]  # 办理记录
    rows = csv_rows(response)
    assert rows[0] == [
        "月份",
        "市",
        "县(区)",
        "乡镇(街道)",
        "支部编码",
        "支部名称",
        "时间",
        "操作",
        "原状态",
        "新状态",
        "操作人",
        "操作人账号",
        "原因或说明",
    ]
    assert {row[4] for row in rows[1:]} == {tree.village_a2.code}  # township B left out
    uploads = [row for row in rows[1:] if row[7] == "上传佐证材料"]
    assert len(uploads) == evidence_events(lifecycle)
    steps = [row for row in rows[1:] if row[7] != "上传佐证材料"]
    assert [row[7] for row in steps] == [
        "建立",
        "保存填报值",
        "提交",
        "退回",
        "重新提交",
        "审核通过",
        "解锁",
    ]
    assert steps[3] == [
        "2026-03",
        "郑州市",
        "中原区",
        "林山寨街道",
        tree.village_a2.code,
        "西流湖村",
        "2026-04-03 10:03:00",
        "退回",
        "已提交",
        "已退回",
        "审核员",
        "checker",
        "佐证不清晰",
    ]


def test_the_events_xlsx_holds_the_same_rows_as_the_csv(tree, lifecycle, personas, login):
    client = login(personas.county_leader)
    as_xlsx = export(client, tree.county, "xlsx")
    assert isinstance(as_xlsx, FileResponse)
    as_csv = csv_rows(export(client, tree.county, "csv"))
    from_xlsx = xlsx_rows(as_xlsx)
    # The time is a real Excel date-time (local, naive); the CSV has it as ISO text.
    assert all(isinstance(row[6], datetime) for row in from_xlsx[1:])
    assert [
        [cell.isoformat(sep=" ") if isinstance(cell, datetime) else cell or "" for cell in row]
        for row in from_xlsx
    ] == as_csv


def test_the_events_export_of_a_branch_is_reached_from_its_report_page(
    tree, lifecycle, personas, login
):
    client = login(personas.auditor)
    text = client.get(edit_url(tree.village_a2)).content.decode()
    url = reverse("branches:events_export", args=[tree.village_a2.code, "2026-03", "csv"])
    assert f'href="{url}"' in text
    assert len(csv_rows(client.get(url))) == 1 + 7 + evidence_events(lifecycle)


def test_the_review_page_links_the_townships_events_export(tree, criteria, personas, login):
    review = reverse("branches:report_review", args=[tree.township_a.code, "2026-03"])
    text = login(personas.auditor).get(review).content.decode()
    for fmt in ("csv", "xlsx"):
        url = reverse("branches:events_export", args=[tree.township_a.code, "2026-03", fmt])
        assert f'href="{url}"' in text


def test_the_events_export_neutralises_formulas_and_names_deleted_accounts(
    tree, criteria, personas, login
):
    report = submitted(tree.village_a2, personas.staff_a)
    workflow.report_return(
        report=report,
        user=personas.staff_a2,
        reason='=HYPERLINK("http://evil","点我")',
        expected_version=report.version,
    )
    personas.staff_a2.delete()
    client = login(personas.auditor)
    returned = [row for row in csv_rows(export(client, tree.township_a, "csv")) if row[7] == "退回"]
    assert returned[0][10:] == ["审核员", "（账号已删除）", '\'=HYPERLINK("http://evil","点我")']
    cells = [row for row in xlsx_rows(export(client, tree.township_a, "xlsx")) if row[7] == "退回"]
    assert cells[0][12].startswith("'=")


def test_the_events_export_runs_a_fixed_number_of_queries(tree, criteria, personas, login):
    client = login(personas.auditor)
    submitted(tree.village_a1, personas.staff_a)
    with CaptureQueriesContext(connection) as few:
        body(export(client, tree.township_a, "csv"))
    submitted(tree.village_a2, personas.staff_a)
    with CaptureQueriesContext(connection) as many:
        body(export(client, tree.township_a, "csv"))
    assert len(many) == len(few)


# The page's rule: grid workers are refused reports; 404 outside the jurisdiction.
EXPORT_EXPECTED = {
    # persona: (township A, branch A1, township B, another county's branch)
    "admin": (200, 200, 200, 200),
    "province_leader": (200, 200, 200, 200),
    "county_leader": (200, 200, 200, 404),
    "staff_a": (200, 200, 404, 404),
    "staff_b": (404, 404, 200, 404),
    "secretary": (404, 200, 404, 404),
    "auditor": (200, 200, 200, 404),
    "grid_worker": (403, 403, 403, 403),
}


@pytest.mark.parametrize(
    ("persona", "target", "status"),
    [
        (persona, target, status)
        for persona, statuses in EXPORT_EXPECTED.items()
        for target, status in zip(
            ("township_a", "village_a1", "township_b", "village_other"), statuses, strict=True
        )
    ],
)
def test_events_export_permission_matrix(persona, target, status, tree, criteria, personas, login):
    response = export(login(getattr(personas, persona)), getattr(tree, target), "csv")
    assert response.status_code == status


def test_the_events_export_is_refused_to_anonymous_users(tree, criteria, client):
    response = export(client, tree.township_a, "csv")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(("fmt", "period"), [("pdf", "2026-03"), ("csv", "2026-3x")])
def test_an_unknown_format_or_month_of_the_events_export_is_not_found(
    fmt, period, tree, criteria, personas, login
):
    assert export(login(personas.auditor), tree.township_a, fmt, period).status_code == 404


def test_the_events_export_of_a_compound_is_not_found(tree, criteria, personas, login):
    assert export(login(personas.auditor), tree.compound_a1, "csv").status_code == 404
