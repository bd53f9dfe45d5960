"""Demo scorecards: monthly values that give a county a realistic spread of stars.

Each rated branch draws a target level (about 2% five-star, 10% four-star, 25%
three-star, the rest lower); every criterion of a star it should hold passes, and
one criterion of each other star fails. Some branches improve through the year (a
LATEST criterion starts failing and is fixed), a few lose a star to a veto incident
(零事故), and a handful have an incident that vetoes every star.

Last year is complete and approved (so there is an annual rating); this year runs up
to the last closed month, whose reports are mostly awaiting review.
"""

import random
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_CEILING, Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from branches.metrics import report_due_date
from branches.models import CriteriaSet, Criterion, MonthlyReport, OrgUnit, Rating, ReportValue
from branches.services.criteria import criteria_defaults_load
from branches.services.recompute import ratings_recompute

Status = MonthlyReport.Status
Agg = Criterion.Aggregation

# Target level -> share of branches (DESIGN.md: a county's published spread).
LEVEL_SHARES = [(5, 0.015), (4, 0.10), (3, 0.25), (2, 0.395), (1, 0.16), (0, 0.08)]
IMPROVING_SHARE = 0.15
STAR_VETO_SHARE = 0.03
ALL_VETO_SHARE = 0.01
VETO_STAR_CODE, VETO_ALL_CODE = "SA-04", "VT-02"


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


@transaction.atomic
def demo_values_seed(*, seed: int, today: date | None = None) -> ValuesResult:
    """Write the demo reports and values of every rated branch, then compute the ratings."""
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
    reports, values = [], []
    now = timezone.now()
    for unit_id, area_type in OrgUnit.objects.rated().values_list("pk", "area_type"):
        plans = {}
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
                reviewed_at=now if status in (Status.APPROVED, Status.RETURNED) else None,
                return_reason="请补充佐证材料后重新提交。" if status == Status.RETURNED else "",
            )
            reports.append(report)
            for criterion in manual[key]:
                value = _value(criterion, period.month, plans[key], rng)
                values.append((report, criterion, value))
    MonthlyReport.objects.bulk_create(reports, batch_size=2000)
    ReportValue.objects.bulk_create(
        (
            ReportValue(
                report_id=report.pk,
                criterion_id=criterion.pk,
                value_bool=value if isinstance(value, bool) else None,
                value_number=None if isinstance(value, bool) else value,
            )
            for report, criterion, value in values
        ),
        batch_size=5000,
    )
    for period in months:
        ratings_recompute(period=period)
    ratings_recompute(period=last_year[0], kind=Rating.ANNUAL)
    return ValuesResult(reports=len(reports), values=len(values), months=months)
