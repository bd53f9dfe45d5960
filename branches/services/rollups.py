"""Rating rollups: the totals of each unit above the branches, kept with the ratings.

Refreshed in the recompute's transaction after its ratings are written, bottom up: the
townships the recompute touched from their branches' ratings, then each level above from
the rows of the level below. A handful of statements whatever the number of units; the
first refresh of a period builds every unit's rows, so a period's rollups are complete or
absent (readers fall back to the direct aggregate while absent).

Two recomputes of different cities run side by side (`recompute.lock_names`) and share the
units above them: the part above the townships is taken under one lock per period and kind,
held to commit, so the later of two refreshes reads the other's committed rows.
"""

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.utils import timezone

from branches.metrics import report_due_date
from branches.models import BranchRating, MonthlyReport, OrgUnit, Rating, RatingRollup

STEPLEN = OrgUnit.steplen
TOWNSHIP_DEPTH = OrgUnit.Level.TOWNSHIP
BRANCH_DEPTH = OrgUnit.Level.VILLAGE
REPORTS = ["reports_submitted", "reports_approved", "reports_on_time"]
COUNTS = [
    *(f"level_{n}" for n in range(6)),
    *(f"star_{k}" for k in range(1, 6)),
    "vetoed",
    "total",
    *REPORTS,
]
Status = MonthlyReport.Status
FROM_RATINGS = (
    [f"count(CASE WHEN r.level = {n} THEN 1 END)" for n in range(6)]
    + [f"count(CASE WHEN r.has_star_{k} THEN 1 END)" for k in range(1, 6)]
    + ["count(CASE WHEN r.veto <> 'NONE' THEN 1 END)", "count(*)"]
    + [
        f"count(CASE WHEN m.status = '{Status.SUBMITTED}' THEN 1 END)",
        f"count(CASE WHEN m.status = '{Status.APPROVED}' THEN 1 END)",
        # First submitted before the end of the due day (a return keeps it on time).
        "count(CASE WHEN coalesce(m.first_submitted_at, m.submitted_at) < %s THEN 1 END)",
    ]
)
# The branch's report of the rating's month (monthly ratings only).
RATINGS_WITH_REPORTS = (
    "branches_branchrating r LEFT JOIN branches_monthlyreport m "
    f"ON m.unit_id = r.unit_id AND m.period = r.period AND r.kind = '{Rating.MONTHLY}'"
)
FROM_ROWS = [f"sum(r.{column})" for column in COUNTS]


def due_end(period: date) -> datetime:
    """The moment the month's due day ends in the portal's time zone."""
    day = report_due_date(period) + timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, time.min))


def _execute(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _lock(period: date, kind: str) -> None:
    if connection.vendor == "postgresql":
        _execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"rollups:{kind}:{period}"])


def _insert(
    depth: int, source: str, aggregates: list[str], where: str, params: list, select_params=()
) -> None:
    """Rows of `depth` for (period, kind), grouped by the prefix of the paths of the source
    rows (`source` names them r)."""
    width = depth * STEPLEN
    table = RatingRollup._meta.db_table
    columns = ", ".join(COUNTS)
    _execute(
        f"INSERT INTO {table} (unit_id, unit_path, depth, period, kind, area_type, {columns}, "
        "computed_at) "
        f"SELECT u.id, u.path, {depth}, r.period, r.kind, r.area_type, {', '.join(aggregates)}, "
        "max(r.computed_at) "
        f"FROM {source} JOIN branches_orgunit u ON u.path = substr(r.unit_path, 1, {width}) "
        f"WHERE r.period = %s AND r.kind = %s {where} "
        "GROUP BY u.id, u.path, r.period, r.kind, r.area_type",
        [*select_params, *params],
    )


def _refresh_depth(depth: int, period: date, kind: str, prefixes: list[str] | None) -> None:
    """Replace the rows of `depth` (all of them, or those of the `prefixes` paths)."""
    width = depth * STEPLEN
    rows = RatingRollup.objects.filter(period=period, kind=kind, depth=depth)
    if prefixes is not None:
        rows = rows.filter(unit_path__in=prefixes)
    rows.delete()
    where, params = "", [period, kind]
    if prefixes is not None:
        where = f"AND substr(r.unit_path, 1, {width}) IN ({', '.join(['%s'] * len(prefixes))})"
        params += prefixes
    if depth == TOWNSHIP_DEPTH:
        where += f" AND length(r.unit_path) = {BRANCH_DEPTH * STEPLEN}"
        due = connection.ops.adapt_datetimefield_value(due_end(period))  # SQLite: naive UTC
        _insert(depth, RATINGS_WITH_REPORTS, FROM_RATINGS, where, params, [due])
    else:
        where += f" AND r.depth = {depth + 1}"
        _insert(depth, f"{RatingRollup._meta.db_table} r", FROM_ROWS, where, params)


def rollups_refresh(period: date, kind: str, paths: Iterable[str] | None = None) -> None:
    """Bring the rollups of (period, kind) in line with its stored ratings: those above the
    branches at `paths`, or every unit's (paths None, and the period's first refresh)."""
    kind = str(kind)
    _lock(period, kind)
    built = RatingRollup.objects.filter(period=period, kind=kind, depth=1).exists()
    paths = None if paths is None or not built else list(paths)
    for depth in range(TOWNSHIP_DEPTH, 0, -1):
        prefixes = None if paths is None else sorted({p[: depth * STEPLEN] for p in paths})
        # One statement per refresh; a province-wide one has 2,400 townships: all of them.
        if prefixes is not None and len(prefixes) > 500:
            prefixes = None
        _refresh_depth(depth, period, kind, prefixes)


def rollups_rebuild() -> int:
    """Every period's rollups from the stored ratings (after units moved); the periods done."""
    periods = list(BranchRating.objects.order_by().values_list("period", "kind").distinct())
    RatingRollup.objects.all().delete()
    for period, kind in periods:
        rollups_refresh(period, kind)
    return len(periods)
