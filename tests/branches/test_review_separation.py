"""Maker–checker (审核与填报分离, settings.REVIEW_SEPARATION): whoever submitted a report
cannot approve it — in the service, on the review page and in the API; returning stays open."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from branches.models import MonthlyReport, ReportEvent
from branches.services import workflow
from branches.services.workflow import ValueInput
from tests.branches.factories import passing_value

MARCH = date(2026, 3, 1)
Status = MonthlyReport.Status
REFUSAL = "您提交了这份报表，按“审核与填报分离”规定不能由您本人审核，请由本乡镇另一名工作人员审核。"


pytestmark = pytest.mark.usefixtures("april_third")


def submitted(unit, user):
    report = workflow.report_get_or_create(unit=unit, period=MARCH, user=user)
    workflow.report_save_values(
        report=report,
        user=user,
        values={
            c.code: ValueInput(passing_value(c))
            for c in workflow.manual_criteria(report.criteria_set)
        },
        expected_version=report.version,
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
    workflow.report_submit(report=report, user=user, expected_version=report.version)
    return report


def approve(report, user):
    return workflow.report_approve(report=report, user=user, expected_version=report.version)


def give_back(report, user, reason="补材料"):
    return workflow.report_return(
        report=report, user=user, reason=reason, expected_version=report.version
    )


# The service.


def test_the_submitter_cannot_approve_their_own_report(tree, criteria, personas):
    report = submitted(tree.village_a2, personas.staff_a)
    with pytest.raises(PermissionDenied) as refused:
        approve(report, personas.staff_a)
    assert str(refused.value) == REFUSAL
    report.refresh_from_db()
    assert report.status == Status.SUBMITTED
    assert not report.events.filter(action=ReportEvent.Action.APPROVED).exists()


def test_another_staff_member_of_the_township_approves_it(tree, criteria, personas):
    report = submitted(tree.village_a2, personas.staff_a)
    approve(report, personas.staff_a2)
    assert (report.status, report.reviewed_by) == (Status.APPROVED, personas.staff_a2)


def test_an_administrator_who_submitted_is_held_to_the_rule_too(tree, criteria, personas):
    report = submitted(tree.village_a2, personas.admin)
    with pytest.raises(PermissionDenied):
        approve(report, personas.admin)


def test_the_submitter_may_return_their_own_report(tree, criteria, personas):
    report = submitted(tree.village_a2, personas.staff_a)
    give_back(report, personas.staff_a, "我填错了，退回修改")
    assert report.status == Status.RETURNED


def test_the_latest_submission_decides_who_may_not_approve(tree, criteria, personas):
    report = submitted(tree.village_a1, personas.secretary)
    give_back(report, personas.staff_a)
    workflow.report_submit(report=report, user=personas.staff_a, expected_version=report.version)
    with pytest.raises(PermissionDenied):
        approve(report, personas.staff_a)
    give_back(report, personas.staff_a2)
    workflow.report_submit(report=report, user=personas.secretary, expected_version=report.version)
    approve(report, personas.staff_a)
    assert report.status == Status.APPROVED


def test_a_report_from_before_the_timeline_is_judged_by_submitted_by(tree, criteria, personas):
    report = submitted(tree.village_a2, personas.staff_a)
    report.events.all().delete()
    with pytest.raises(PermissionDenied):
        approve(report, personas.staff_a)
    approve(report, personas.staff_a2)


def test_a_report_whose_submitter_was_deleted_can_be_approved(tree, criteria, personas):
    report = submitted(tree.village_a2, personas.staff_a2)
    personas.staff_a2.delete()
    report.refresh_from_db()
    approve(report, personas.staff_a)
    assert report.status == Status.APPROVED


def test_with_the_setting_off_the_submitter_may_approve(tree, criteria, personas, settings):
    settings.REVIEW_SEPARATION = False
    report = submitted(tree.village_a2, personas.staff_a)
    approve(report, personas.staff_a)
    assert (report.status, report.reviewed_by) == (Status.APPROVED, personas.staff_a)


# The review page.


def review_url(township):
    return reverse("branches:report_review", args=[township.code, "2026-03"])


def test_bulk_review_refuses_ones_own_submissions_naming_why_and_approves_the_rest(
    tree, criteria, personas, login
):
    own = submitted(tree.village_a2, personas.staff_a)
    theirs = submitted(tree.village_a1, personas.secretary)
    data = {"action": "approve", "selected": [f"{r.pk}:{r.version}" for r in (own, theirs)]}
    response = login(personas.staff_a).post(review_url(tree.township_a), data, follow=True)
    text = response.content.decode()
    assert "已审核通过 1 份报表：" in text
    assert f"1 份未处理：西流湖村：{REFUSAL}" in text
    own.refresh_from_db(), theirs.refresh_from_db()
    assert (own.status, theirs.status) == (Status.SUBMITTED, Status.APPROVED)


def test_the_review_page_marks_ones_own_submissions(tree, criteria, personas, login):
    submitted(tree.village_a2, personas.staff_a)
    assert (
        "本人提交，须由他人审核"
        in login(personas.staff_a).get(review_url(tree.township_a)).content.decode()
    )
    assert (
        "本人提交" not in login(personas.staff_a2).get(review_url(tree.township_a)).content.decode()
    )


def test_bulk_return_of_ones_own_submission_goes_through(tree, criteria, personas, login):
    own = submitted(tree.village_a2, personas.staff_a)
    data = {"action": "return", "selected": [f"{own.pk}:{own.version}"], "reason": "填错了"}
    login(personas.staff_a).post(review_url(tree.township_a), data)
    own.refresh_from_db()
    assert own.status == Status.RETURNED


def test_with_the_setting_off_bulk_review_approves_ones_own(
    tree, criteria, personas, login, settings
):
    settings.REVIEW_SEPARATION = False
    own = submitted(tree.village_a2, personas.staff_a)
    data = {"action": "approve", "selected": [f"{own.pk}:{own.version}"]}
    response = login(personas.staff_a).post(review_url(tree.township_a), data, follow=True)
    assert "已审核通过 1 份报表：" in response.content.decode()
    assert "本人提交" not in response.content.decode()
    own.refresh_from_db()
    assert own.status == Status.APPROVED


# The API.


def api_post(client, report, action, **extra):
    return client.post(
        reverse(f"report-{action}", kwargs={"pk": report.pk}),
        data={"version": report.version, **extra},
        content_type="application/json",
    )


def test_the_api_answers_403_naming_the_rule(tree, criteria, personas, login):
    report = submitted(tree.village_a2, personas.staff_a)
    response = api_post(login(personas.staff_a), report, "approve")
    assert response.status_code == 403
    assert response.json() == {"detail": REFUSAL}
    report.refresh_from_db()
    assert report.status == Status.SUBMITTED


def test_the_api_lets_the_submitter_return_and_another_approve(tree, criteria, personas, login):
    report = submitted(tree.village_a2, personas.staff_a)
    returned = api_post(login(personas.staff_a), report, "return", reason="填错了")
    assert returned.status_code == 200
    report.refresh_from_db()
    workflow.report_submit(report=report, user=personas.staff_a, expected_version=report.version)
    approved = api_post(login(personas.staff_a2), report, "approve")
    assert approved.status_code == 200
    assert approved.json()["reviewed_by"] == "checker"


# (maker, approver, REVIEW_SEPARATION) -> status of the API approve.
SEPARATION_MATRIX = [
    ("staff_a", "staff_a", True, 403),
    ("staff_a", "staff_a2", True, 200),
    ("secretary", "staff_a", True, 200),
    ("admin", "admin", True, 403),
    ("staff_a2", "admin", True, 200),
    ("staff_a", "staff_a", False, 200),
    ("admin", "admin", False, 200),
    ("secretary", "secretary", False, 403),  # a secretary never approves, setting or not
]


@pytest.mark.parametrize(("maker", "approver", "separation", "status"), SEPARATION_MATRIX)
def test_separation_matrix(
    maker, approver, separation, status, tree, criteria, personas, login, settings
):
    settings.REVIEW_SEPARATION = separation
    report = submitted(tree.village_a1, getattr(personas, maker))
    response = api_post(login(getattr(personas, approver)), report, "approve")
    assert response.status_code == status
    report.refresh_from_db()
    assert report.status == (Status.APPROVED if status == 200 else Status.SUBMITTED)
