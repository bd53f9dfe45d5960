"""Demo rectification items (问题清单) in demo township A, consistent with the seeded ratings:
two open (one in progress), one overdue, one closed and verified by the ratings, one closed
but still failing. Opened and closed through the service, as the pages do; dates then set
back to what the story needs, and the overdue job and the verification run as they would."""

from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from branches.models import (
    Criterion,
    OrgUnit,
    Rating,
    Rectification,
    RectificationEvent,
    StarAssessment,
)
from branches.services import rectification as service

Action = RectificationEvent.Action
MEASURES = {
    "open": "召开支委会分析原因，明确专人负责，按月跟踪。",
    "verified": "已补齐台账并按要求开展，乡镇已现场核实。",
    "failing": "已制定整改方案，正在推进。",
}


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, 10))


def _backdate(item: Rectification, *, created: date, closed: date | None = None) -> None:
    """The item and its timeline as if opened (and closed) on those days."""
    Rectification.objects.filter(pk=item.pk).update(
        created_at=_aware(created), **({"closed_at": _aware(closed)} if closed else {})
    )
    events = RectificationEvent.objects.filter(rectification=item)
    events.filter(action=Action.CREATED).update(occurred_at=_aware(created))
    if closed:
        events.filter(action=Action.CLOSED).update(occurred_at=_aware(closed))


def demo_rectifications_seed(*, last_closed: date, today: date) -> int:
    """The demo items of township A's branches; 0 when the demo has no such township."""
    staff = get_user_model().objects.filter(username="demo_zhen_a").first()
    if staff is None or staff.unit is None:
        return 0
    stars = list(
        StarAssessment.objects.filter(
            unit_path__startswith=staff.unit.path, kind=Rating.MONTHLY, period=last_closed
        )
        .exclude(failed_codes=[])
        .order_by("unit_path", "star")
        .values_list("unit_id", "star", "criteria_set_id", "failed_codes", "gaps")
    )
    earlier = last_closed.replace(day=1) - timedelta(days=1)
    earlier = earlier.replace(day=1)
    failed_before = {
        (unit_id, star): set(codes)
        for unit_id, star, codes in StarAssessment.objects.filter(
            unit_path__startswith=staff.unit.path, kind=Rating.MONTHLY, period=earlier
        ).values_list("unit_id", "star", "failed_codes")
    }
    passing_now = {(unit_id, star): set(codes) for unit_id, star, _set, codes, _gaps in stars}
    criteria = {
        (c.criteria_set_id, c.code): c
        for c in Criterion.objects.filter(criteria_set_id__in={s[2] for s in stars})
    }
    branches = OrgUnit.objects.in_bulk({s[0] for s in stars} | {k[0] for k in failed_before})
    deadline = today + timedelta(days=30)
    made, used = 0, set()

    def open_one(unit_id, criterion, period, gaps, measure):
        nonlocal made
        used.add(unit_id)
        made += 1
        problem = "；".join(g for g in gaps if criterion.title in g) or f"{criterion.title} 未达标"
        return service.rectification_open(
            user=staff, branch=branches[unit_id], criterion=criterion, period=period,
            problem=problem, measure=measure, deadline=deadline,
            source=Rectification.Source.SCORECARD,
        )  # fmt: skip

    # Failing last month: two open (one started), one overdue, one closed but still failing.
    first_per_branch = {}
    for row in stars:
        first_per_branch.setdefault(row[0], row)
    for n, (unit_id, _star, set_id, codes, gaps) in enumerate(list(first_per_branch.values())[:4]):
        item = open_one(unit_id, criteria[(set_id, codes[0])], last_closed, gaps, MEASURES["open"])
        if n == 1:
            service.rectification_start(item=item, user=staff, expected_version=None)
        elif n == 2:
            _backdate(item, created=last_closed)
            Rectification.objects.filter(pk=item.pk).update(
                deadline=last_closed + timedelta(days=20)
            )
        elif n == 3:
            service.rectification_close(
                item=item, user=staff, expected_version=None, note=MEASURES["failing"]
            )
            _backdate(item, created=last_closed, closed=last_closed + timedelta(days=10))
    # Failing the month before, passing last month: closed then, verified by last month's rating.
    for (unit_id, star), codes in sorted(failed_before.items()):
        fixed = sorted(codes - passing_now.get((unit_id, star), set()))
        if unit_id in used or not fixed:
            continue
        set_id = StarAssessment.objects.get(
            unit_id=unit_id, kind=Rating.MONTHLY, period=earlier, star=star
        ).criteria_set_id
        criterion = criteria.get((set_id, fixed[0])) or Criterion.objects.get(
            criteria_set_id=set_id, code=fixed[0]
        )
        item = open_one(unit_id, criterion, earlier, [], MEASURES["verified"])
        service.rectification_close(
            item=item, user=staff, expected_version=None, note=MEASURES["verified"]
        )
        _backdate(item, created=earlier, closed=earlier + timedelta(days=20))
        break
    service.rectifications_mark_overdue(today)
    service.rectifications_verify(period=last_closed, kind=Rating.MONTHLY)
    return made
