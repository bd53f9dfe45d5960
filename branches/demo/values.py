"""Demo scorecards: monthly values that give a county a realistic spread of stars.

Each rated branch draws a target level (about 2% five-star, 10% four-star, 25%
three-star, the rest lower); every criterion of a star it should hold passes, and
one criterion of each other star fails. Some branches improve through the year (a
LATEST criterion starts failing and is fixed), a few lose a star to a veto incident
(零事故), and a handful have an incident that vetoes every star.

Last year is complete and approved (so there is an annual rating); this year runs up
to the last closed month, whose reports are mostly awaiting review.

Every report carries what the workflow would have written: who submitted it and when
(first and latest), who reviewed it (never the submitter), an evidence file for each
positive value that needs one, and its timeline of events; some were returned once with a
reason and resubmitted. The timeline draws from its own random stream, so the values and
ratings of a seed do not depend on it.
"""

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from branches.demo.evidence import evidence_files_write, pdf_bytes, png_bytes
from branches.demo.oversight import demo_oversight_seed
from branches.demo.rectification import demo_rectifications_seed
from branches.demo.users import Staff, township_staff
from branches.metrics import report_due_date
from branches.models import (
    BranchRating,
    CriteriaSet,
    Criterion,
    Evidence,
    MonthlyReport,
    OrgUnit,
    Rating,
    RecomputeRun,
    ReportEvent,
    ReportValue,
    StarAssessment,
)
from branches.services import workflow
from branches.services.criteria import criteria_defaults_load, soft_warning
from branches.services.recompute import ratings_recompute
from branches.signals import demo_records_seeding, demo_values_seeded
from governance.database import statistics_refresh

Status = MonthlyReport.Status
Action = ReportEvent.Action
Agg = Criterion.Aggregation

# Target level -> share of branches (DESIGN.md: a county's published spread).
LEVEL_SHARES = [(5, 0.015), (4, 0.10), (3, 0.25), (2, 0.395), (1, 0.16), (0, 0.08)]
IMPROVING_SHARE = 0.15
STAR_VETO_SHARE = 0.03
ALL_VETO_SHARE = 0.01
VETO_STAR_CODE, VETO_ALL_CODE = "SA-04", "VT-02"
# Of the last closed month's reports, this share has one value that jumps against the month
# before (a 环比提示 for the reviewer); drawn from its own stream, like the timeline.
JUMP_SHARE = 0.05
# Of the reports that went through review, this share was returned once and resubmitted.
RETURNED_ONCE_SHARE = 0.12
RETURN_REASONS = [
    "请补充佐证材料后重新提交。",
    "党员集中培训学时与签到表不一致，请核对后重新提交。",
    "主题党日活动照片不清晰，请重新上传后提交。",
    "村集体经济收入请附财务报表，金额与报表一致后重新提交。",
]
# Evidence the catalogue asks photos for is a PNG; the rest are PDF documents.
PHOTO_WORD = "照片"
# Rows per UPDATE ... WHERE pk IN (...): below SQLite's limit on query parameters.
UPDATE_BATCH = 900


@dataclass
class Plan:
    """What one branch's year looks like."""

    failing: dict[str, set[int]]  # criterion code -> the months it fails (all: 1..12)
    incidents: dict[str, int]  # veto criterion code -> month of the incident


@dataclass
class ValuesResult:
    reports: int
    values: int
    months: list[date]
    evidence: int = 0
    events: int = 0


@dataclass
class Step:
    """One event of a report's timeline."""

    action: str
    from_status: str
    to_status: str
    actor: object
    at: datetime
    reason: str = ""


def _rate_open_month(period: date) -> None:
    """Every branch rated in the month still open, as the nightly job leaves it (进行中)."""
    started = timezone.now()
    result = ratings_recompute(period=period)
    RecomputeRun.objects.create(
        period=period,
        kind=Rating.MONTHLY,
        origin=RecomputeRun.Origin.OPEN_MONTH,
        requested_at=started,
        started_at=started,
        finished_at=timezone.now(),
        result=result.as_dict(),
    )


def closed_months(today: date) -> tuple[list[date], list[date]]:
    """(last year's 12 months, this year's closed months up to last month)."""
    last_year = [date(today.year - 1, m, 1) for m in range(1, 13)]
    this_year = [date(today.year, m, 1) for m in range(1, today.month)]
    return last_year, this_year


def _target_level(rng: random.Random) -> int:
    roll, total = rng.random(), 0.0
    for level, share in LEVEL_SHARES:
        total += share
        if roll < total:
            return level
    return 0


def _plan(rng: random.Random, criteria_set: CriteriaSet, manual: list[Criterion]) -> Plan:
    level = _target_level(rng)
    # The capstone (star 1) comes last: level 4 holds stars 2-5, level 5 all five.
    held = {1, 2, 3, 4, 5} if level == 5 else set(rng.sample([2, 3, 4, 5], min(level, 4)))
    failing: dict[str, set[int]] = {}
    all_months = set(range(1, 13))
    for star in {1, 2, 3, 4, 5} - held:
        candidates = [c for c in manual if c.star == star and c.veto_scope == "NONE"]
        criterion = rng.choice(candidates)
        failing[criterion.code] = all_months
    if rng.random() < IMPROVING_SHARE:
        latest = [c for c in manual if c.aggregation == Agg.LATEST and c.code not in failing]
        if latest:
            # Fails in the first months and is fixed later: the branch gains a star mid-year.
            failing[rng.choice(latest).code] = set(range(1, rng.randint(3, 7)))
    incidents = {}
    if rng.random() < STAR_VETO_SHARE:
        incidents[VETO_STAR_CODE] = rng.randint(4, 11)
    if rng.random() < ALL_VETO_SHARE:
        incidents[VETO_ALL_CODE] = rng.randint(2, 11)
    return Plan(failing=failing, incidents=incidents)


def _value(criterion: Criterion, month: int, plan: Plan, rng: random.Random):
    if criterion.code in plan.incidents:
        return Decimal(1 if plan.incidents[criterion.code] == month else 0)
    fails = month in plan.failing.get(criterion.code, ())
    if criterion.kind == Criterion.Kind.BOOLEAN:
        return not fails
    threshold = criterion.threshold
    if criterion.comparator == Criterion.Comparator.LTE:
        return Decimal(0) if not fails else threshold + 1
    if criterion.aggregation == Agg.SUM:
        monthly = threshold / 12
        factor = Decimal(rng.randint(30, 70) if fails else rng.randint(105, 150)) / 100
        value = monthly * factor
    else:
        factor = Decimal(rng.randint(60, 90) if fails else rng.randint(100, 115)) / 100
        value = threshold * factor
    if criterion.kind == Criterion.Kind.PERCENTAGE:
        value = min(value, Decimal(100))
    if criterion.kind == Criterion.Kind.INTEGER:
        # Round away from the threshold so that a passing month stays a pass.
        return value.to_integral_value(rounding=ROUND_CEILING) if not fails else value // 1
    return value.quantize(Decimal("0.01"))


def _jump_code(jumps, manual, plan: Plan, previous, *, last: bool) -> str | None:
    """The criterion whose value jumps this month, or None (only in the last closed month).

    Only a criterion the branch passes anyway: a larger value of a >= rule changes no star.
    """
    if not last or jumps.random() >= JUMP_SHARE:
        return None
    candidates = [
        c.code
        for c in manual
        if c.jump_factor
        and c.comparator == Criterion.Comparator.GTE
        and c.code not in plan.failing
        and previous.get(c.code, 0) > 0
    ]
    return jumps.choice(candidates) if candidates else None


def _jumped(criterion: Criterion, before: Decimal) -> Decimal:
    """A value past the jump factor (and within the upper bound, as the services require)."""
    value = before * (criterion.jump_factor + 2)
    if criterion.max_value is not None:
        value = min(value, criterion.max_value)
    if criterion.kind == Criterion.Kind.INTEGER:
        return value.to_integral_value(rounding=ROUND_CEILING)
    return value.quantize(Decimal("0.01"))


def _status(rng: random.Random, period: date, last_closed: date) -> str | None:
    if period < last_closed:
        return Status.APPROVED
    roll = rng.random()
    if roll < 0.55:
        return Status.SUBMITTED
    if roll < 0.75:
        return Status.APPROVED
    if roll < 0.85:
        return Status.DRAFT
    if roll < 0.90:
        return Status.RETURNED
    return None  # not started yet: the review page shows it as missing


def _submitted_at(rng: random.Random, period: date, now):
    """Mostly within the first days of the next month (on time), sometimes a little late."""
    due = report_due_date(period)
    on_time = rng.random() < 0.9
    due_day = settings.REPORT_DUE_DAY
    day = rng.randint(1, due_day) if on_time else min(rng.randint(due_day + 1, due_day + 6), 28)
    moment = timezone.make_aware(datetime(due.year, due.month, day, rng.randint(8, 17)))
    return min(moment, now)


def _timeline(flow: random.Random, report: MonthlyReport, *, maker, checker, now) -> list[Step]:
    """The events that lead to the report's status, in order; sets the report's workflow
    fields (submitted/reviewed by and at, first submission, return reason) to match."""

    def later(moment, low, high):
        return min(moment + timedelta(hours=flow.randint(low, high)), now)

    if report.status == Status.DRAFT:
        start = timezone.make_aware(
            datetime.combine(report_due_date(report.period), datetime.min.time())
        )
        created = min(start - timedelta(hours=flow.randint(24, 96)), now)
        return [Step(Action.CREATED, "", Status.DRAFT, maker, created)]
    first = report.submitted_at
    steps = [
        Step(Action.CREATED, "", Status.DRAFT, maker, first - timedelta(hours=flow.randint(2, 72))),
        Step(Action.SUBMITTED, Status.DRAFT, Status.SUBMITTED, maker, first),
    ]
    report.submitted_by, report.first_submitted_at = maker, first
    returned = report.status == Status.RETURNED or flow.random() < RETURNED_ONCE_SHARE
    if returned:
        reason = flow.choice(RETURN_REASONS)
        at = later(first, 3, 48)
        steps.append(Step(Action.RETURNED, Status.SUBMITTED, Status.RETURNED, checker, at, reason))
        report.reviewed_by, report.reviewed_at, report.return_reason = checker, at, reason
        if report.status == Status.RETURNED:
            return steps
        at = later(at, 2, 72)
        steps.append(Step(Action.RESUBMITTED, Status.RETURNED, Status.SUBMITTED, maker, at))
        report.submitted_at, report.return_reason = at, ""
    if report.status == Status.APPROVED:
        at = later(report.submitted_at, 2, 96)
        steps.append(Step(Action.APPROVED, Status.SUBMITTED, Status.APPROVED, checker, at))
        report.reviewed_by, report.reviewed_at = checker, at
    return steps


def _staff_by_branch(rated: list[tuple]) -> dict[int, Staff]:
    """Branch id -> who enters and reviews its reports: the township's maker and checker,
    except that a branch secretary with an account submits their own branch's."""
    township_paths = {path[: -OrgUnit.steplen] for _pk, _area, _code, path in rated}
    townships = list(OrgUnit.objects.filter(path__in=township_paths))
    by_township = township_staff(townships)
    by_path = {t.path: by_township[t.pk] for t in townships}
    User = get_user_model()
    secretaries = {
        user.unit_id: user
        for user in User.objects.filter(
            role=User.Role.SECRETARY, unit_id__in=[pk for pk, *_rest in rated], is_active=True
        ).order_by("-username")
    }
    staff = {}
    for pk, _area, _code, path in rated:
        township = by_path[path[: -OrgUnit.steplen]]
        secretary = secretaries.get(pk)
        staff[pk] = Staff(maker=secretary, checker=township.checker) if secretary else township
    return staff


def _evidence_content(criterion: Criterion) -> tuple[str, bytes]:
    if PHOTO_WORD in criterion.help_text:
        colour = tuple(40 + (ord(ch) * 37) % 200 for ch in criterion.code[:3])
        return ".png", png_bytes(colour)
    return ".pdf", pdf_bytes(f"Five-Star Branch Portal demo evidence: {criterion.code}")


def _evidence(report: MonthlyReport, value: ReportValue, criterion, code, maker, extension, data):
    """The Evidence row of a value; its file is written apart (`evidence_files_write`)."""
    title = criterion.title.replace('"', "")
    return Evidence(
        value=value,
        file=f"evidence/{report.period:%Y/%m}/{code}/demo-{criterion.code}{extension}",
        original_name=f"{title}_{report.period:%Y年%m月}{extension}",
        size=len(data),
        uploaded_by=maker,
    )


def _batches(items: list, size: int = UPDATE_BATCH):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _backdate(reports: list[MonthlyReport], evidence: list[Evidence]) -> None:
    """bulk_create stamps now on the auto_now fields: give them the timeline's times instead."""
    events = ReportEvent.objects.filter(report=OuterRef("pk"))
    created = events.filter(action=Action.CREATED).values("occurred_at")[:1]
    latest = events.order_by("-occurred_at", "-id").values("occurred_at")[:1]
    for batch in _batches([r.pk for r in reports]):
        MonthlyReport.objects.filter(pk__in=batch).update(
            created_at=Subquery(created), updated_at=Subquery(latest)
        )
    # An evidence file was uploaded while its report was a draft: when the draft was created.
    drafted = ReportEvent.objects.filter(
        action=Action.CREATED, report__values=OuterRef("value_id")
    ).values("occurred_at")[:1]
    for batch in _batches([e.pk for e in evidence]):
        Evidence.objects.filter(pk__in=batch).update(uploaded_at=Subquery(drafted))


@transaction.atomic
def demo_values_seed(*, seed: int, today: date | None = None, scale: str = "town") -> ValuesResult:
    """Write the demo reports, values, evidence and timelines of every rated branch, then
    compute the ratings."""
    today = today or timezone.localdate()
    last_year, this_year = closed_months(today)
    months = last_year + this_year
    for year in {m.year for m in months}:
        criteria_defaults_load(year=year)
    sets = {
        (s.year, s.area_type): s
        for s in CriteriaSet.objects.filter(is_active=True).prefetch_related("criteria")
    }
    manual = {
        key: [c for c in s.criteria.all() if c.source == Criterion.Source.MANUAL]
        for key, s in sets.items()
    }
    rng = random.Random(seed)
    flow = random.Random(f"{seed}-workflow")
    jumps = random.Random(f"{seed}-jumps")
    reports, rows, events, evidence, files = [], [], [], [], {}
    contents: dict[str, tuple[str, bytes]] = {}
    now = timezone.now()
    rated = list(OrgUnit.objects.rated().values_list("pk", "area_type", "code", "path"))
    staff = _staff_by_branch(rated)
    for unit_id, area_type, code, _path in rated:
        plans = {}
        # Last month's numbers by criterion code, for the month-on-month warnings.
        previous: dict[str, Decimal] = {}
        for period in months:
            key = (period.year, area_type)
            if key not in plans:
                plans[key] = _plan(rng, sets[key], manual[key])
            status = _status(rng, period, months[-1])
            if status is None:
                continue
            report = MonthlyReport(
                unit_id=unit_id,
                period=period,
                criteria_set=sets[key],
                status=status,
                submitted_at=_submitted_at(rng, period, now) if status != Status.DRAFT else None,
            )
            maker, checker = staff[unit_id].maker, staff[unit_id].checker
            steps = _timeline(flow, report, maker=maker, checker=checker, now=now)
            created = steps[0].at
            uploads = []
            jump = _jump_code(jumps, manual[key], plans[key], previous, last=period == months[-1])
            for criterion in manual[key]:
                value = _value(criterion, period.month, plans[key], rng)
                if criterion.code == jump:
                    value = _jumped(criterion, previous[criterion.code])
                row = ReportValue(
                    report=report,
                    value_bool=value if isinstance(value, bool) else None,
                    value_number=None if isinstance(value, bool) else value,
                    criterion=criterion,
                    # What report_save_values stores for the reviewer.
                    warning=soft_warning(criterion, value, previous.get(criterion.code)) or "",
                )
                rows.append(row)
                if not isinstance(value, bool):
                    previous[criterion.code] = value
                if criterion.evidence_required and _is_positive(value):
                    if criterion.code not in contents:
                        contents[criterion.code] = _evidence_content(criterion)
                    extension, data = contents[criterion.code]
                    item = _evidence(report, row, criterion, code, maker, extension, data)
                    evidence.append(item)
                    files[item.file.name] = data
                    # Uploaded with the draft's first save, as the data-entry page does.
                    reason = f"{criterion.title}：{item.original_name}"
                    uploads.append(Step(Action.EVIDENCE_ADDED, "", "", maker, created, reason))
            steps[1:1] = uploads
            reports.append(report)
            events.extend(_event(report, step) for step in steps)
    MonthlyReport.objects.bulk_create(reports, batch_size=2000)
    ReportEvent.objects.bulk_create(events, batch_size=5000)
    ReportValue.objects.bulk_create(rows, batch_size=5000)
    evidence_files_write(files)
    Evidence.objects.bulk_create(evidence, batch_size=5000)
    _backdate(reports, evidence)
    _announce_recent_returns(events, now=now)
    # The records apps' metrics feed the ratings: their demo records come first.
    demo_records_seeding.send(
        sender=ValuesResult, months=months, today=today, seed=seed, scale=scale
    )
    for period in months:
        ratings_recompute(period=period)
    ratings_recompute(period=last_year[0], kind=Rating.ANNUAL)
    _rate_open_month(today.replace(day=1))
    if this_year or last_year:
        demo_rectifications_seed(last_closed=months[-1], today=today)
    demo_oversight_seed()
    statistics_refresh(
        MonthlyReport, ReportEvent, ReportValue, Evidence, StarAssessment, BranchRating
    )
    demo_values_seeded.send(sender=ValuesResult, months=months)
    return ValuesResult(
        reports=len(reports),
        values=len(rows),
        months=months,
        evidence=len(evidence),
        events=len(events),
    )


def _announce_recent_returns(events: list[ReportEvent], *, now) -> None:
    """The returns still within the notifications' retention, with the resubmission and the
    approval that followed each, go to the workflow's listeners (the in-portal notifications
    of the submitter and the township's staff), as the live steps would have sent them."""
    since = now - timedelta(days=settings.NOTIFICATION_RETENTION_DAYS)
    returned = {
        id(e.report) for e in events if e.action == Action.RETURNED and e.occurred_at >= since
    }
    followed = {Action.RETURNED, Action.RESUBMITTED, Action.APPROVED}
    recent = [e for e in events if id(e.report) in returned and e.action in followed]
    units = OrgUnit.objects.in_bulk({e.report.unit_id for e in recent})
    for event in recent:
        event.report.unit = units[event.report.unit_id]
    workflow.report_events_announce(events=recent)


def _event(report: MonthlyReport, step: Step) -> ReportEvent:
    return ReportEvent(
        report=report,
        action=step.action,
        from_status=step.from_status,
        to_status=step.to_status,
        actor=step.actor,
        actor_name=step.actor.get_full_name() or step.actor.username,
        reason=step.reason,
        occurred_at=step.at,
    )


def _is_positive(value) -> bool:
    return value is True or (not isinstance(value, bool) and value > 0)
