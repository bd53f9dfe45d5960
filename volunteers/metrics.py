"""The volunteers metrics (set-based): a few queries for any number of branches.

Each counts the records of units in the branch's subtree (the team's unit for activities and
hours, the volunteer's unit for the in-service share, the order's unit for orders) in the
window's months. Only confirmed hours count. A branch with no records gets 0, except the
in-service share, whose empty denominator (no in-service party member registered) is None:
there is nobody to measure, and None shows as 无数据 rather than a made-up 0 % or 100 %.
"""

import calendar
import os
from datetime import date
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, QuerySet, Sum
from django.db.models.functions import Substr, TruncDate

from branches.metrics import MetricValue, Window, registry
from branches.models import OrgUnit
from volunteers.models import Activity, Attendance, ServiceOrder, Volunteer

STEP = OrgUnit.steplen


def _last_day(window: Window) -> date:
    end = window.end
    return end.replace(day=calendar.monthrange(end.year, end.month)[1])


def _paths(unit_ids: list[int]) -> dict[str, int]:
    return dict(OrgUnit.objects.filter(pk__in=unit_ids).values_list("path", "pk"))


def _per_branch(rows: QuerySet, path_field: str, paths: dict[str, int], value) -> dict[int, object]:
    """{unit id: aggregate} grouping `rows` by the prefix of `path_field` that is a branch's
    path (one grouped query per distinct branch depth, normally one)."""
    common = os.path.commonprefix(list(paths))  # noqa: RUF071 (tree paths, not files)
    common = common[: len(common) // STEP * STEP]
    if common:
        rows = rows.filter(**{f"{path_field}__startswith": common})
    found = {}
    for length in sorted({len(p) for p in paths}):
        wanted = [p for p in paths if len(p) == length]
        grouped = (
            rows.annotate(branch_path=Substr(path_field, 1, length))
            .filter(branch_path__in=wanted)
            .order_by()
            .values("branch_path")
            .annotate(value=value)
            .values_list("branch_path", "value")
        )
        for path, aggregate in grouped:
            found[paths[path]] = aggregate
    return found


def _activities(window: Window) -> QuerySet:
    return Activity.objects.filter(date__range=(window.start, _last_day(window)))


def _decimal_values(found: dict, unit_ids: list[int]) -> dict[int, MetricValue]:
    return {unit_id: Decimal(found.get(unit_id) or 0) for unit_id in unit_ids}


@registry.register("volunteers.activity_count", title="志愿服务活动次数", unit="次")
def activity_count(window: Window, unit_ids: list[int]) -> dict[int, MetricValue]:
    """Activities held by teams of units in the branch's subtree in the window."""
    paths = _paths(unit_ids)
    found = _per_branch(_activities(window), "team__unit__path", paths, Count("id"))
    return _decimal_values(found, unit_ids)


@registry.register("volunteers.confirmed_hours", title="志愿服务时长（已确认）", unit="小时")
def confirmed_hours(window: Window, unit_ids: list[int]) -> dict[int, MetricValue]:
    """Confirmed hours at the activities of the branch's teams in the window."""
    rows = Attendance.objects.confirmed().filter(
        activity__date__range=(window.start, _last_day(window))
    )
    found = _per_branch(rows, "activity__team__unit__path", _paths(unit_ids), Sum("hours"))
    return _decimal_values(found, unit_ids)


@registry.register("volunteers.people_served", title="志愿服务人次", unit="人次")
def people_served(window: Window, unit_ids: list[int]) -> dict[int, MetricValue]:
    found = _per_branch(
        _activities(window), "team__unit__path", _paths(unit_ids), Sum("people_served")
    )
    return _decimal_values(found, unit_ids)


@registry.register("volunteers.orders_on_time", title="服务订单按期办结件数", unit="件")
def orders_on_time(window: Window, unit_ids: list[int]) -> dict[int, MetricValue]:
    """Orders of the branch's subtree completed in the window on or before their deadline
    (Beijing dates)."""
    rows = (
        ServiceOrder.objects.filter(status=ServiceOrder.Status.DONE)
        .annotate(done_on=TruncDate("completed_at"))
        .filter(done_on__range=(window.start, _last_day(window)), done_on__lte=F("deadline"))
    )
    found = _per_branch(rows, "unit__path", _paths(unit_ids), Count("id"))
    return _decimal_values(found, unit_ids)


@registry.register("volunteers.in_service_served_share", title="在职党员报到服务参与率", unit="%")
def in_service_served_share(window: Window, unit_ids: list[int]) -> dict[int, MetricValue]:
    """Share of the branch's active in-service party members (在职党员报到, registered by the
    window's end) with confirmed hours in the window; None when none is registered."""
    last = _last_day(window)
    served = Attendance.objects.confirmed().filter(
        volunteer=OuterRef("pk"), activity__date__range=(window.start, last)
    )
    rows = Volunteer.objects.filter(
        is_in_service_member=True, is_active=True, joined_on__lte=last
    ).annotate(has_served=Exists(served))
    found = _per_branch(
        rows,
        "unit__path",
        _paths(unit_ids),
        Count("id"),
    )
    served_found = _per_branch(
        rows.filter(has_served=True), "unit__path", _paths(unit_ids), Count("id")
    )
    values: dict[int, MetricValue] = {}
    for unit_id in unit_ids:
        total = found.get(unit_id) or 0
        if not total:
            values[unit_id] = None
            continue
        share = Decimal(100) * (served_found.get(unit_id) or 0) / total
        values[unit_id] = share.quantize(Decimal("0.1"))
    return values
