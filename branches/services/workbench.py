"""The township month workbench: every branch's month at a glance, bulk submit of complete
drafts, and the months that need action. Read-only except `drafts_bulk_submit`, which submits
each report through the workflow on its own."""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.metrics import report_due_date
from branches.models import CriteriaSet, Criterion, Evidence, MonthlyReport, OrgUnit, ReportValue
from branches.services import workflow
from branches.services.workflow import ConflictError

Status = MonthlyReport.Status
# Branches and months listed under each "needs action" heading; the count says if there are more.
ACTION_LIST_SIZE = 50
DUE_SOON_DAYS = 5


def is_late(first_submitted_at, period: date, today: date) -> bool:
    """Not first submitted by the month's due day (settings.REPORT_DUE_DAY of the next month):
    a month resubmitted after a return keeps the date of its first submission."""
    due = report_due_date(period)
    if first_submitted_at is None:
        return today > due
    return timezone.localdate(first_submitted_at) > due


def first_submission(report: MonthlyReport | None):
    """When the report was first submitted (submitted_at for rows from before the field)."""
    if report is None:
        return None
    return report.first_submitted_at or report.submitted_at


@dataclass
class BranchMonth:
    """One branch's month in the workbench table."""

    unit: OrgUnit
    report: MonthlyReport | None
    filled: int
    total: int
    evidence_have: int
    evidence_need: int
    is_late: bool
    days_to_due: int

    @property
    def status_label(self) -> str:
        return self.report.get_status_display() if self.report else _("未开始")

    @property
    def status(self) -> str:
        return self.report.status if self.report else "NOT_STARTED"

    @property
    def submittable(self) -> bool:
        """A draft with every item filled and every required file. A returned report is not
        one: it is changed as its reason asks and resubmitted from its own page."""
        return (
            self.report is not None
            and self.report.status == Status.DRAFT
            and self.filled == self.total
            and self.evidence_have == self.evidence_need
        )


def month_table(user, township: OrgUnit, period: date) -> list[BranchMonth]:
    """Each rated branch under the township with its month's progress, in a fixed number of
    queries whatever the number of branches."""
    units = list(OrgUnit.objects.visible_to(user).under(township).rated().order_by("code"))
    reports = {
        r.unit_id: r
        for r in MonthlyReport.objects.visible_to(user)
        .filter(period=period, unit__in=units)
        .select_related("submitted_by")
    }
    manual = _manual_criteria(period, reports.values())
    filled, evidence = _progress(list(reports.values()), manual)
    today = timezone.localdate()
    days = (report_due_date(period) - today).days
    rows = []
    for unit in units:
        report = reports.get(unit.id)
        set_id = report.criteria_set_id if report else manual["active"].get(unit.area_type)
        need_have = evidence.get(report.pk, (0, 0)) if report else (0, 0)
        rows.append(
            BranchMonth(
                unit=unit,
                report=report,
                filled=filled.get(report.pk, 0) if report else 0,
                total=len(manual["sets"].get(set_id, ())),
                evidence_need=need_have[0],
                evidence_have=need_have[1],
                is_late=is_late(first_submission(report), period, today),
                days_to_due=days,
            )
        )
    return rows


def _manual_criteria(period: date, reports) -> dict:
    """{"sets": {criteria set id: [(criterion id, evidence required)]}, "active": {area type:
    set id}} for the reports' sets and the year's active ones (for branches not started)."""
    set_ids = {r.criteria_set_id for r in reports}
    sets = CriteriaSet.objects.filter(Q(pk__in=set_ids) | Q(year=period.year, is_active=True))
    active = {s.area_type: s.pk for s in sets if s.is_active and s.year == period.year}
    criteria = defaultdict(list)
    rows = Criterion.objects.filter(criteria_set__in=sets, source=Criterion.Source.MANUAL)
    for set_id, pk, required in rows.values_list("criteria_set_id", "pk", "evidence_required"):
        criteria[set_id].append((pk, required))
    return {"sets": criteria, "active": active}


def _progress(reports: list[MonthlyReport], manual: dict) -> tuple[dict, dict]:
    """({report id: items filled}, {report id: (files needed, files present)}): a file is
    needed for each positive value of a criterion that requires evidence."""
    required = {pk for rows in manual["sets"].values() for pk, needs in rows if needs}
    manual_ids = {pk for rows in manual["sets"].values() for pk, _needs in rows}
    values = ReportValue.objects.filter(report__in=reports, criterion_id__in=manual_ids).filter(
        Q(value_bool__isnull=False) | Q(value_number__isnull=False)
    )
    with_files = set(
        Evidence.objects.filter(value__report__in=reports).values_list("value_id", flat=True)
    )
    filled, need, have = Counter(), Counter(), Counter()
    rows = values.values_list("pk", "report_id", "criterion_id", "value_bool", "value_number")
    for pk, report_id, criterion_id, value_bool, value_number in rows:
        filled[report_id] += 1
        positive = value_bool is True or (value_number is not None and value_number > 0)
        if criterion_id in required and positive:
            need[report_id] += 1
            have[report_id] += pk in with_files
    return filled, {pk: (need[pk], have[pk]) for pk in need}


@dataclass
class SubmitResult:
    unit: OrgUnit
    submitted: bool
    message: str


def drafts_bulk_submit(user, township: OrgUnit, period: date, versions: dict) -> list:
    """Submit the chosen drafts of the township's month ({report id: expected version}), each
    on its own: one that is incomplete, changed meanwhile or not a draft is refused with why,
    the others go through."""
    workflow._require(user.can_enter_reports, _("您的角色不能提交月度数据。"))
    chosen = (
        MonthlyReport.objects.visible_to(user)
        .filter(pk__in=list(versions), period=period, unit__path__startswith=township.path)
        .select_related("unit", "criteria_set")
        .order_by("unit__code")
    )
    results = []
    for report in chosen:
        if report.status == Status.RETURNED:
            message = _("已退回的报表请先按退回原因修改，再在该月填报页面提交。")
            results.append(SubmitResult(report.unit, False, message))
            continue
        try:
            workflow.report_submit(report=report, user=user, expected_version=versions[report.pk])
        except ConflictError as error:
            advice = _("请刷新页面后再提交。")
            results.append(SubmitResult(report.unit, False, error.describe(user, advice)))
        except PermissionDenied as error:
            results.append(SubmitResult(report.unit, False, str(error)))
        except ValidationError as error:
            results.append(SubmitResult(report.unit, False, _problems(error.messages)))
        else:
            results.append(SubmitResult(report.unit, True, _("已提交")))
    return results


def _problems(problems: list[str], shown: int = 3) -> str:
    """A draft's reasons for refusal, the first few of them: the month's page lists all."""
    text = "；".join(problem.rstrip("。") for problem in problems[:shown])
    if len(problems) > shown:
        text += _("等 %(n)s 项，请打开该月填报页面逐项补齐") % {"n": len(problems)}
    return text + "。"


def needing_action(user, unit: OrgUnit) -> dict:
    """What the staff of `unit` should act on: submitted reports awaiting review (by month),
    returned reports with their reasons, months past their due day not yet submitted, and the
    month due within DUE_SOON_DAYS days."""
    today = timezone.localdate()
    reports = MonthlyReport.objects.visible_to(user).filter(unit__path__startswith=unit.path)
    returned = reports.filter(status=Status.RETURNED).select_related("unit")
    # A township's branches (tens): read once, with the months already in, and sorted here.
    branches = list(OrgUnit.objects.visible_to(user).under(unit).rated().order_by("code"))
    last_closed = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    # The months of the last closed month's year up to it (in January: last year's).
    months = [date(last_closed.year, month, 1) for month in range(1, last_closed.month + 1)]
    done = set(
        MonthlyReport.objects.filter(
            unit__in=branches, period__in=months, status__in=[Status.SUBMITTED, Status.APPROVED]
        ).values_list("unit_id", "period")
    )

    def unsubmitted(period: date) -> dict:
        pending = [branch for branch in branches if (branch.pk, period) not in done]
        return {"period": period, "units": pending[:ACTION_LIST_SIZE], "count": len(pending)}

    overdue = [unsubmitted(period) for period in months if report_due_date(period) < today]
    due_soon = None
    due = report_due_date(last_closed)
    if today <= due <= today + timedelta(days=DUE_SOON_DAYS):
        due_soon = {**unsubmitted(last_closed), "due": due, "days": (due - today).days}
    # What waits for a reviewer, by month; the user's own submissions need someone else.
    awaiting = (
        reports.filter(status=Status.SUBMITTED)
        .values("period")
        .annotate(count=Count("pk"), mine=Count("pk", filter=Q(submitted_by=user)))
        .order_by("-period")
    )
    return {
        "awaiting_review": [
            {**month, "mine": month["mine"] if settings.REVIEW_SEPARATION else 0}
            for month in awaiting
        ],
        "returned": list(returned.order_by("-period", "unit__code")[:ACTION_LIST_SIZE]),
        "returned_count": returned.count(),
        "overdue": [month for month in reversed(overdue) if month["count"]],
        "due_soon": due_soon if due_soon and due_soon["count"] else None,
    }
