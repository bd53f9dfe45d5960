from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from branches.models import BranchRating, Criterion, MonthlyReport
from branches.services import workflow
from branches.services.workflow import ConflictError, ValueInput
from tests.branches.factories import passing_value

MARCH = date(2026, 3, 1)
Status = MonthlyReport.Status


pytestmark = pytest.mark.usefixtures("april_third")


@pytest.fixture
def report(tree, criteria):
    return workflow.report_get_or_create(unit=tree.village_a2, period=MARCH)


def submit_months(unit, user, months, captured):
    """Fill and submit the given months of 2026 for a branch, running the after-commit hooks."""
    for month in months:
        report = fill(workflow.report_get_or_create(unit=unit, period=date(2026, month, 1)), user)
        with captured(execute=True):
            workflow.report_submit(report=report, user=user, expected_version=report.version)


def fill(report, user, *, evidence=True, **overrides):
    values = {
        c.code: ValueInput(overrides.get(c.code, passing_value(c)))
        for c in workflow.manual_criteria(report.criteria_set)
    }
    workflow.report_save_values(
        report=report, user=user, values=values, expected_version=report.version
    )
    if evidence:
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


def test_a_new_month_starts_as_a_draft_on_the_active_criteria_set(report, tree):
    assert report.status == Status.DRAFT
    assert report.criteria_set.area_type == tree.village_a2.area_type
    assert report.criteria_set.year == 2026


def test_it_refuses_a_report_for_a_future_month_or_a_township(tree, criteria):
    with pytest.raises(ValidationError):
        workflow.report_get_or_create(unit=tree.village_a2, period=date(2026, 5, 1))
    with pytest.raises(ValidationError):
        workflow.report_get_or_create(unit=tree.township_a, period=MARCH)


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("BOOLEAN", "是", True),
        ("BOOLEAN", "否", False),
        ("INTEGER", "12", Decimal(12)),
        ("NUMBER", "1,250.5", Decimal("1250.5")),
        ("PERCENTAGE", "91%", Decimal(91)),
        ("NUMBER", "", None),
        ("NUMBER", ".5", Decimal("0.5")),
        ("NUMBER", 12.5, Decimal("12.5")),  # a spreadsheet cell's float, not typed text
    ],
)
def test_parse_value_accepts_what_people_type(kind, raw, expected):
    criterion = Criterion(code="X", title="测试", kind=kind, unit="个")
    assert workflow.parse_value(criterion, raw) == expected


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        ("BOOLEAN", "也许", "应填“是”或“否”"),
        ("INTEGER", "2.5", "应填整数"),
        ("NUMBER", "abc", "应填数字"),
        ("NUMBER", "-1", "不能为负数"),
        ("PERCENTAGE", "120", "0 到 100"),
        ("PERCENTAGE", "1e30", "应填数字，收到的是“1e30”"),
        ("NUMBER", "1e3", "应填数字，收到的是“1e3”"),
        ("NUMBER", "NaN", "应填数字"),
        ("NUMBER", "Infinity", "应填数字"),
        ("NUMBER", "99999999999", "最多 9,999,999,999，收到的是“99999999999”"),
        ("PERCENTAGE", "99999999999", "0 到 100"),
    ],
)
def test_parse_value_explains_what_is_wrong(kind, raw, message):
    criterion = Criterion(code="X", title="测试指标", kind=kind, unit="个")
    with pytest.raises(ValidationError) as error:
        workflow.parse_value(criterion, raw)
    assert message in error.value.messages[0]
    assert "测试指标" in error.value.messages[0]


def test_submit_approve_locks_the_month_and_computes_the_rating(
    report, personas, django_capture_on_commit_callbacks
):
    submit_months(report.unit, personas.staff_a, [1, 2], django_capture_on_commit_callbacks)
    fill(report, personas.staff_a)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.report_submit(
            report=report, user=personas.staff_a, expected_version=report.version
        )
    assert report.status == Status.SUBMITTED
    rating = BranchRating.objects.get(unit=report.unit, period=MARCH, kind="MONTHLY")
    assert rating.level == 5
    workflow.report_approve(report=report, user=personas.staff_a2, expected_version=report.version)
    assert report.status == Status.APPROVED
    assert report.reviewed_by == personas.staff_a2
    with pytest.raises(ValidationError):
        fill(report, personas.staff_a, evidence=False)


def test_submit_lists_missing_values_and_evidence(report, personas):
    with pytest.raises(ValidationError) as error:
        workflow.report_submit(
            report=report, user=personas.staff_a, expected_version=report.version
        )
    assert any(m.startswith("未填报：") for m in error.value.messages)
    fill(report, personas.staff_a, evidence=False)
    with pytest.raises(ValidationError) as error:
        workflow.report_submit(
            report=report, user=personas.staff_a, expected_version=report.version
        )
    assert any(m.startswith("缺少佐证材料：") for m in error.value.messages)


@pytest.mark.parametrize(
    ("action", "status"),
    [
        ("report_approve", Status.DRAFT),
        ("report_return", Status.DRAFT),
        ("report_unlock", Status.SUBMITTED),
        ("report_submit", Status.APPROVED),
        ("report_approve", Status.APPROVED),
    ],
)
def test_illegal_transitions_are_refused(report, personas, action, status):
    MonthlyReport.objects.filter(pk=report.pk).update(status=status)
    report.refresh_from_db()
    kwargs = {"reason": "原因"} if action in ("report_return", "report_unlock") else {}
    with pytest.raises(ValidationError):
        getattr(workflow, action)(
            report=report, user=personas.admin, expected_version=report.version, **kwargs
        )
    report.refresh_from_db()
    assert report.status == status


def test_a_secretary_submits_but_never_approves(report, personas):
    fill(report, personas.secretary)
    workflow.report_submit(report=report, user=personas.secretary, expected_version=report.version)
    with pytest.raises(PermissionDenied):
        workflow.report_approve(
            report=report, user=personas.secretary, expected_version=report.version
        )


def test_returning_needs_a_reason_and_reopens_the_draft(report, personas):
    fill(report, personas.staff_a)
    workflow.report_submit(report=report, user=personas.staff_a, expected_version=report.version)
    with pytest.raises(ValidationError):
        workflow.report_return(
            report=report, user=personas.staff_a, reason=" ", expected_version=report.version
        )
    workflow.report_return(
        report=report, user=personas.staff_a, reason="佐证不清晰", expected_version=report.version
    )
    assert report.status == Status.RETURNED
    assert report.return_reason == "佐证不清晰"
    fill(report, personas.staff_a, evidence=False, **{"BR-03": Decimal(3)})


def test_only_a_level_above_the_township_unlocks_with_a_reason(report, personas):
    fill(report, personas.staff_a)
    workflow.report_submit(report=report, user=personas.staff_a, expected_version=report.version)
    workflow.report_approve(report=report, user=personas.staff_a2, expected_version=report.version)
    with pytest.raises(PermissionDenied):
        workflow.report_unlock(
            report=report, user=personas.staff_a, reason="更正", expected_version=report.version
        )
    workflow.report_unlock(
        report=report,
        user=personas.county_leader,
        reason="数据更正",
        expected_version=report.version,
    )
    assert report.status == Status.RETURNED
    assert report.unlock_reason == "数据更正"
    assert report.history.filter(unlock_reason="数据更正").exists()


def test_a_stale_save_gets_a_conflict_and_overwrites_nothing(report, personas):
    loaded_version = report.version
    code = "BR-03"
    workflow.report_save_values(
        report=report,
        user=personas.staff_a,
        values={code: ValueInput(Decimal(4))},
        expected_version=loaded_version,
    )
    stale = MonthlyReport.objects.get(pk=report.pk)
    with pytest.raises(ConflictError) as error:
        workflow.report_save_values(
            report=stale,
            user=personas.secretary,
            values={code: ValueInput(Decimal(9))},
            expected_version=loaded_version,
        )
    assert "该月报表在您打开之后已被" in str(error.value)
    # Told to the one who made the other change, it says so rather than blaming "someone".
    error.value.changed_by = personas.secretary
    assert "已被您本人（在另一个窗口或设备上）修改" in error.value.describe(personas.secretary, "")
    assert "您本人" not in error.value.describe(personas.staff_a, "")
    assert report.values.get(criterion__code=code).value_number == 4


def test_every_value_change_is_kept_in_the_history(report, personas):
    for number in (1, 2):
        report.refresh_from_db()
        workflow.report_save_values(
            report=report,
            user=personas.staff_a,
            values={"BR-03": ValueInput(Decimal(number))},
            expected_version=report.version,
        )
    value = report.values.get(criterion__code="BR-03")
    assert [h.value_number for h in value.history.order_by("history_date")] == [1, 2]


def test_evidence_of_the_wrong_type_or_size_is_refused(report, personas, settings):
    with pytest.raises(ValidationError) as error:
        workflow.evidence_add(
            report=report,
            user=personas.staff_a,
            criterion_code="BR-01",
            upload=SimpleUploadedFile("run.exe", b"MZ"),
        )
    assert "只接受" in error.value.messages[0]
    settings.EVIDENCE_MAX_BYTES = 10
    with pytest.raises(ValidationError) as error:
        workflow.evidence_add(
            report=report,
            user=personas.staff_a,
            criterion_code="BR-01",
            upload=SimpleUploadedFile("大.pdf", b"x" * 11),
        )
    assert "文件过大" in error.value.messages[0]


def test_a_submit_with_the_broker_down_is_saved_and_marked_for_the_sweep(
    report, personas, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    from branches import tasks
    from branches.services import recompute

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    submit_months(report.unit, personas.staff_a, [1, 2], django_capture_on_commit_callbacks)
    monkeypatch.setattr(tasks.recompute_branch_month, "delay", broker_down)
    fill(report, personas.staff_a)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        workflow.report_submit(
            report=report, user=personas.staff_a, expected_version=report.version
        )
    assert len(callbacks) == 1
    # One warning line naming the cause, no traceback.
    [record] = [r for r in caplog.records if "could not enqueue" in r.getMessage()]
    assert record.levelname == "WARNING" and record.exc_info is None
    assert "ConnectionError: broker unreachable" in record.getMessage()
    report.refresh_from_db()
    assert report.status == Status.SUBMITTED
    assert report.needs_recompute
    # March still shows what January and February's submits computed: without March's values.
    assert BranchRating.objects.get(unit=report.unit, period=MARCH).level < 5
    recompute.marked_reports_recompute()
    report.refresh_from_db()
    assert not report.needs_recompute
    assert BranchRating.objects.get(unit=report.unit, period=MARCH).level == 5
