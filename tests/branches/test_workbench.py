"""The township month workbench: the staff's home, the month tables, bulk submit of complete
drafts, the lists that need action, and who may see and use it."""

from datetime import date

import pytest

from branches.models import MonthlyReport
from branches.services import workbench, workflow
from tests.branches.test_workflow import fill

pytestmark = pytest.mark.usefixtures("april_third", "criteria")

Status = MonthlyReport.Status
MARCH = date(2026, 3, 1)
APRIL = date(2026, 4, 1)


def draft(unit, user, *, complete=True, evidence=True):
    report = workflow.report_get_or_create(unit=unit, period=MARCH)
    if complete:
        fill(report, user, evidence=evidence)
    return report


def workbench_url(tree):
    return f"/units/{tree.township_a.code}/workbench/"


def test_the_month_table_counts_items_and_required_files(tree, personas):
    complete = draft(tree.village_a1, personas.staff_a)
    no_files = draft(tree.village_a2, personas.staff_a, evidence=False)
    rows = {
        row.unit: row for row in workbench.month_table(personas.staff_a, tree.township_a, MARCH)
    }
    assert set(rows) == {tree.village_a1, tree.village_a2}, "only township A's branches"
    full, missing = rows[tree.village_a1], rows[tree.village_a2]
    assert full.report == complete and full.filled == full.total > 0
    assert full.evidence_need > 0 and full.evidence_have == full.evidence_need
    assert full.submittable
    assert missing.report == no_files and missing.evidence_have == 0 < missing.evidence_need
    assert not missing.submittable
    # March was due on 5 April: two days left on 3 April.
    assert full.days_to_due == 2 and not full.is_late


def test_a_branch_not_started_shows_its_items_to_fill(tree, personas):
    row = workbench.month_table(personas.staff_a, tree.township_a, APRIL)[0]
    assert row.report is None and row.status_label == "未开始"
    assert row.filled == 0 < row.total


def test_bulk_submit_submits_the_complete_drafts_and_says_why_the_others_were_refused(
    tree, personas, login
):
    complete = draft(tree.village_a1, personas.staff_a)
    incomplete = draft(tree.village_a2, personas.staff_a, complete=False)
    response = login(personas.staff_a).post(
        workbench_url(tree),
        {
            "period": "2026-03",
            "selected": [f"{r.pk}:{r.version}" for r in (complete, incomplete)],
        },
        follow=True,
    )
    page = response.content.decode()
    assert "已提交 1 份：建设路社区" in page
    assert "西流湖村 未提交：未填报" in page
    complete.refresh_from_db()
    incomplete.refresh_from_db()
    assert (complete.status, incomplete.status) == (Status.SUBMITTED, Status.DRAFT)


def test_bulk_submit_refuses_a_stale_version_and_another_townships_report(tree, personas, login):
    mine = draft(tree.village_a1, personas.staff_a)
    theirs = draft(tree.village_b1, personas.staff_b)
    response = login(personas.staff_a).post(
        workbench_url(tree),
        {"period": "2026-03", "selected": [f"{mine.pk}:{mine.version - 1}", f"{theirs.pk}:1"]},
        follow=True,
    )
    page = response.content.decode()
    assert "部分所选报表不属于本乡镇该月，未处理。" in page
    assert "建设路社区 未提交：该月报表在您打开之后已被" in page
    theirs.refresh_from_db()
    assert theirs.status == Status.DRAFT


def test_bulk_submit_without_a_choice_says_what_to_do(tree, personas, login):
    response = login(personas.staff_a).post(workbench_url(tree), {"period": "2026-03"}, follow=True)
    assert "请先勾选要处理的报表。" in response.content.decode()


def test_the_staff_home_is_the_workbench_with_what_needs_action(tree, personas, login):
    returned = draft(tree.village_a1, personas.staff_a)
    workflow.report_submit(
        report=returned, user=personas.staff_a, expected_version=returned.version
    )
    returned.refresh_from_db()
    workflow.report_return(
        report=returned,
        user=personas.staff_a2,
        reason="请补充照片",
        expected_version=returned.version,
    )
    page = login(personas.staff_a).get("/").content.decode()
    assert "月度填报工作台" in page
    assert "2026年4月" in page and "2026年3月" in page
    assert "被退回的报表（1 份）" in page and "请补充照片" in page
    # March is due on 5 April: within five days, and one branch has not submitted.
    assert "2026年3月报表 4月5日 截止（还有 2 天）" in page
    assert "西流湖村" in page
    # February's due day has passed and nothing was submitted for it.
    assert "已过截止日仍未提交" in page


def test_a_leader_sees_no_workbench_on_home(tree, personas, login):
    assert "月度填报工作台" not in login(personas.county_leader).get("/").content.decode()


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("staff_a", 200),
        ("staff_a2", 200),
        ("county_leader", 200),
        ("auditor", 200),
        ("admin", 200),
        ("staff_b", 404),
        ("secretary", 404),
        ("grid_worker", 403),
    ],
)
def test_who_may_open_the_workbench(tree, personas, login, persona, status):
    response = login(getattr(personas, persona)).get(workbench_url(tree))
    assert response.status_code == status


@pytest.mark.parametrize(
    ("persona", "status"),
    [("county_leader", 403), ("auditor", 403), ("staff_b", 404), ("grid_worker", 403)],
)
def test_who_may_not_bulk_submit(tree, personas, login, persona, status):
    report = draft(tree.village_a1, personas.staff_a)
    response = login(getattr(personas, persona)).post(
        workbench_url(tree), {"period": "2026-03", "selected": [f"{report.pk}:{report.version}"]}
    )
    assert response.status_code == status
    report.refresh_from_db()
    assert report.status == Status.DRAFT


def test_the_workbench_is_a_townships(tree, personas, login):
    client = login(personas.county_leader)
    assert client.get(f"/units/{tree.county.code}/workbench/").status_code == 404
    assert client.get(f"/units/{tree.village_a1.code}/workbench/").status_code == 404


def test_a_returned_report_is_not_bulk_submitted_unchanged(tree, personas, login):
    report = draft(tree.village_a1, personas.staff_a)
    workflow.report_submit(report=report, user=personas.staff_a, expected_version=report.version)
    report.refresh_from_db()
    workflow.report_return(
        report=report, user=personas.staff_a2, reason="请补充照片", expected_version=report.version
    )
    report.refresh_from_db()
    row = workbench.month_table(personas.staff_a, tree.township_a, MARCH)[0]
    assert row.report == report and not row.submittable
    response = login(personas.staff_a).post(
        workbench_url(tree),
        {"period": "2026-03", "selected": [f"{report.pk}:{report.version}"], "next": "/"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/"
    assert "已退回的报表请先按退回原因修改" in response.content.decode()
    report.refresh_from_db()
    assert report.status == Status.RETURNED


def test_bulk_submit_goes_back_only_to_a_page_of_this_site(tree, personas, login):
    response = login(personas.staff_a).post(
        workbench_url(tree), {"period": "2026-03", "next": "https://evil.example/"}
    )
    assert response.url == workbench_url(tree)


def test_what_needs_action_takes_the_same_queries_for_any_number_of_months(
    tree, personas, django_assert_max_num_queries
):
    # 3 April: January and February are overdue, March is due soon; nothing is submitted.
    with django_assert_max_num_queries(5):
        actions = workbench.needing_action(personas.staff_a, tree.township_a)
    assert [month["period"] for month in actions["overdue"]] == [
        date(2026, 2, 1),
        date(2026, 1, 1),
    ]
    assert actions["due_soon"]["period"] == MARCH
    branches = {unit.code for unit in actions["due_soon"]["units"]}
    assert branches == {unit.code for unit in actions["overdue"][0]["units"]}
    assert actions["due_soon"]["count"] == len(branches) > 0


def test_the_workbench_tells_a_reviewer_what_awaits_review(tree, personas, login):
    for unit in (tree.village_a1, tree.village_a2):
        report = draft(unit, personas.staff_a)
        workflow.report_submit(
            report=report, user=personas.staff_a, expected_version=report.version
        )
    mine = login(personas.staff_a).get("/").content.decode()
    assert "2026年3月：2 份待审核" in mine
    assert "其中 2 份由您提交，须由本乡镇(街道)另一名工作人员审核" in mine
    assert "?status=SUBMITTED" in mine
    other = login(personas.staff_a2).get("/").content.decode()
    assert "2026年3月：2 份待审核" in other and "由您提交" not in other


def test_the_workbench_links_each_months_township_sheet(tree, personas, login):
    page = login(personas.staff_a).get(workbench_url(tree)).content.decode()
    for month in ("2026-04", "2026-03"):
        assert f"/units/{tree.township_a.code}/reports/{month}/sheet.xlsx" in page
        assert f"/units/{tree.township_a.code}/reports/{month}/sheet/" in page
    assert "已提交（含已审核）" in page
