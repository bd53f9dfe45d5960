"""The disputes metrics, registered in the branches metric registry (set-based).

A case counts for the rated branch (village level) where it arose, in the window of the
month it was received. Empty cases mean:
- resolution_rate: resolved ÷ (resolved, closed or past due by the window's end, or by
  today in the open month); 100 when nothing was closed or due — a branch with no dispute
  to settle has settled all of them.
- resolved_in_township / escalated_above_township / overdue_cases: counts, 0 when none.
- return_satisfaction: satisfied or basically satisfied ÷ visits; None when there was no
  return visit in the window (satisfaction unknown).
"""

from datetime import date
from decimal import Decimal

from django.db.models import Count, Q
from django.utils import timezone

from branches.metrics import MetricValue, Window, registry
from disputes.models import DisputeCase, ReturnVisit

Level = DisputeCase.Level


def window_end(window: Window) -> date:
    """The first day after the window."""
    end = window.end
    return date(end.year + 1, 1, 1) if end.month == 12 else date(end.year, end.month + 1, 1)


def _cases(window: Window, unit_ids: list[int]):
    return DisputeCase.objects.filter(
        branch_id__in=unit_ids, received_on__gte=window.start, received_on__lt=window_end(window)
    )


def _percent(part: int, whole: int) -> Decimal:
    return (Decimal(100) * part / whole).quantize(Decimal("0.1"))


@registry.register("disputes.resolution_rate", title="矛盾纠纷化解率", unit="%")
def resolution_rate(window: Window, unit_ids: list[int]) -> dict[int, MetricValue]:
    # A case still within its time limit today is not yet due (the open month).
    due_by = min(window_end(window), timezone.localdate())
    rows = (
        _cases(window, unit_ids)
        .filter(Q(is_resolved=True) | Q(closed_at__isnull=False) | Q(due_on__lt=due_by))
        .values("branch_id")
        .annotate(total=Count("id"), resolved=Count("id", filter=Q(is_resolved=True)))
    )
    values: dict[int, MetricValue] = dict.fromkeys(unit_ids, Decimal(100))
    for row in rows:
        values[row["branch_id"]] = _percent(row["resolved"], row["total"])
    return values


def _counts(window: Window, unit_ids: list[int], condition: Q) -> dict[int, MetricValue]:
    rows = _cases(window, unit_ids).filter(condition).values("branch_id").annotate(n=Count("id"))
    values: dict[int, MetricValue] = dict.fromkeys(unit_ids, Decimal(0))
    for row in rows:
        values[row["branch_id"]] = Decimal(row["n"])
    return values


@registry.register("disputes.resolved_in_township", title="矛盾纠纷镇内化解件数", unit="件")
def resolved_in_township(window: Window, unit_ids: list[int]) -> dict[int, MetricValue]:
    return _counts(window, unit_ids, Q(is_resolved=True, top_level__gte=Level.TOWNSHIP))


@registry.register(
    "disputes.escalated_above_township", title="矛盾纠纷上交县级及以上件数", unit="件"
)
def escalated_above_township(window: Window, unit_ids: list[int]) -> dict[int, MetricValue]:
    return _counts(window, unit_ids, Q(top_level__lt=Level.TOWNSHIP))


@registry.register("disputes.overdue_cases", title="矛盾纠纷超期未结件数", unit="件")
def overdue_cases(window: Window, unit_ids: list[int]) -> dict[int, MetricValue]:
    """Cases of the window still open past their due date today."""
    today = timezone.localdate()
    return _counts(window, unit_ids, Q(status__in=DisputeCase.OPEN_STATUSES, due_on__lt=today))


@registry.register("disputes.return_satisfaction", title="矛盾纠纷回访满意率", unit="%")
def return_satisfaction(window: Window, unit_ids: list[int]) -> dict[int, MetricValue]:
    rows = (
        ReturnVisit.objects.filter(
            case__branch_id__in=unit_ids,
            visited_on__gte=window.start,
            visited_on__lt=window_end(window),
        )
        .values("case__branch_id")
        .annotate(
            total=Count("id"),
            satisfied=Count("id", filter=Q(satisfaction__in=ReturnVisit.SATISFIED_VALUES)),
        )
    )
    values: dict[int, MetricValue] = dict.fromkeys(unit_ids)
    for row in rows:
        values[row["case__branch_id"]] = _percent(row["satisfied"], row["total"])
    return values
