"""Grids metrics for the rating engine (set-based: a fixed number of queries per call).

A branch's households are the active households of the grids under the rated unit's
subtree (the grid's unit's live path starts with the branch's path).

- grids.visit_coverage: % of those households visited at least once in the window;
  None when the branch has no households (nothing to cover is unknown, not 100 %).
- grids.care_unvisited: households with a care tag not visited in the 30 days up to the
  window's last day (0 when there are none).
- grids.events_on_time: % of the events due in the window (deadline in it, and passed or
  handled) handled by their deadline; None without such events.
- grids.event_closure_rate: % of the events reported in the window (returned ones are not
  counted: they were not accepted) closed or taken over by the window's end; None without.
- grids.hazards_on_time: % of the hazards due in the window (deadline in it, and passed or
  closed) closed (销号) by their deadline; None without such hazards.
"""

import calendar
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import Substr, TruncDate
from django.utils import timezone

from branches.metrics import MetricValue, Window, registry
from branches.models import OrgUnit
from grids.models import GridEvent, Hazard, Household, Visit

CARE_DAYS = 30
STEPLEN = OrgUnit.steplen


def window_last_day(window: Window) -> date:
    return date(
        window.year, window.last_month, calendar.monthrange(window.year, window.last_month)[1]
    )


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _percent(part: int, whole: int) -> MetricValue:
    if not whole:
        return None
    return (Decimal(100) * part / whole).quantize(Decimal("0.1"))


def _prefixes(unit_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    """The units' paths grouped by length (one query): rated units share one depth."""
    by_length = defaultdict(list)
    for pk, path in OrgUnit.objects.filter(pk__in=unit_ids).values_list("pk", "path"):
        by_length[len(path)].append((pk, path))
    return by_length


def _per_unit(queryset, path_field: str, unit_ids: list[int], **aggregates) -> dict[int, dict]:
    """Aggregates of `queryset` grouped by the unit whose subtree holds the row's path."""
    out = {}
    for length, units in _prefixes(unit_ids).items():
        pk_by_path = {path: pk for pk, path in units}
        rows = (
            queryset.annotate(branch_path=Substr(path_field, 1, length))
            .filter(branch_path__in=list(pk_by_path))
            .values("branch_path")
            .annotate(**aggregates)
        )
        for row in rows:
            out[pk_by_path[row.pop("branch_path")]] = row
    return out


@registry.register("grids.visit_coverage", title="网格走访覆盖率", unit="%")
def visit_coverage(window: Window, unit_ids: list[int]) -> dict[int, MetricValue]:
    last = window_last_day(window)
    # Households, then those among them with a visit in the window: an IN in the WHERE is a
    # hashed semi-join (a per-household EXISTS probed the visits index 100,000 times).
    visited = Visit.objects.filter(visited_on__range=(window.start, last)).values("household_id")
    households = Household.objects.active()
    totals = _per_unit(households, "grid__unit__path", unit_ids, total=Count("pk"))
    seen = _per_unit(households.filter(pk__in=visited), "grid__unit__path", unit_ids, n=Count("pk"))
    rows = {
        pk: {"total": row["total"], "seen": seen.get(pk, {}).get("n", 0)}
        for pk, row in totals.items()
    }
    return {pk: _percent(row["seen"], row["total"]) for pk, row in rows.items()}


@registry.register("grids.care_unvisited", title="关爱对象30天未走访户数", unit="户")
def care_unvisited(window: Window, unit_ids: list[int]) -> dict[int, MetricValue]:
    last = window_last_day(window)
    recent = Visit.objects.filter(
        household=OuterRef("pk"), visited_on__range=(last - timedelta(days=CARE_DAYS - 1), last)
    )
    rows = _per_unit(
        Household.objects.active().with_care().annotate(recent=Exists(recent)),
        "grid__unit__path",
        unit_ids,
        n=Count("pk", filter=Q(recent=False)),
    )
    values = dict.fromkeys(unit_ids, Decimal(0))
    values.update({pk: Decimal(row["n"]) for pk, row in rows.items()})
    return values


@registry.register("grids.events_on_time", title="网格事件按期处置率", unit="%")
def events_on_time(window: Window, unit_ids: list[int]) -> dict[int, MetricValue]:
    last = window_last_day(window)
    today = timezone.localdate()
    due = GridEvent.objects.filter(deadline__range=(window.start, last)).filter(
        Q(handled_at__isnull=False) | Q(deadline__lt=today)
    )
    rows = _per_unit(
        due.annotate(handled_on=TruncDate("handled_at")),
        "grid__unit__path",
        unit_ids,
        total=Count("pk"),
        on_time=Count("pk", filter=Q(handled_on__lte=F("deadline"))),
    )
    return {pk: _percent(row["on_time"], row["total"]) for pk, row in rows.items()}


@registry.register("grids.event_closure_rate", title="网格事件办结率", unit="%")
def event_closure_rate(window: Window, unit_ids: list[int]) -> dict[int, MetricValue]:
    end = _aware(window_last_day(window) + timedelta(days=1))
    reported = GridEvent.objects.filter(reported_at__gte=_aware(window.start), reported_at__lt=end)
    S = GridEvent.Status
    rows = _per_unit(
        reported.exclude(status=S.RETURNED),
        "grid__unit__path",
        unit_ids,
        total=Count("pk"),
        closed=Count("pk", filter=Q(status__in=[S.CLOSED, S.CONVERTED], closed_at__lt=end)),
    )
    return {pk: _percent(row["closed"], row["total"]) for pk, row in rows.items()}


@registry.register("grids.hazards_on_time", title="安全隐患按期整改率", unit="%")
def hazards_on_time(window: Window, unit_ids: list[int]) -> dict[int, MetricValue]:
    last = window_last_day(window)
    today = timezone.localdate()
    due = Hazard.objects.filter(deadline__range=(window.start, last)).filter(
        Q(closed_on__isnull=False) | Q(deadline__lt=today)
    )
    rows = _per_unit(
        due,
        "grid__unit__path",
        unit_ids,
        total=Count("pk"),
        on_time=Count("pk", filter=Q(closed_on__lte=F("deadline"))),
    )
    return {pk: _percent(row["on_time"], row["total"]) for pk, row in rows.items()}
