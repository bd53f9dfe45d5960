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
from datetime import date

from django.db import connection

from branches.models import BranchRating, OrgUnit, RatingRollup

STEPLEN = OrgUnit.steplen
TOWNSHIP_DEPTH = OrgUnit.Level.TOWNSHIP
BRANCH_DEPTH = OrgUnit.Level.VILLAGE
COUNTS = [f"level_{n}" for n in range(6)] + [f"star_{k}" for k in range(1, 6)] + ["vetoed", "total"]
FROM_RATINGS = (
    [f"count(CASE WHEN r.level = {n} THEN 1 END)" for n in range(6)]
    + [f"count(CASE WHEN r.has_star_{k} THEN 1 END)" for k in range(1, 6)]
    + ["count(CASE WHEN r.veto <> 'NONE' THEN 1 END)", "count(*)"]
)
FROM_ROWS = [f"sum(r.{column})" for column in COUNTS]


def _execute(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _lock(period: date, kind: str) -> None:
    if connection.vendor == "postgresql":
        _execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"rollups:{kind}:{period}"])


def _insert(depth: int, source: str, aggregates: list[str], where: str, params: list) -> None:
    """Rows of `depth` for (period, kind), grouped by the prefix of the source rows' paths."""
    width = depth * STEPLEN
    table = RatingRollup._meta.db_table
    columns = ", ".join(COUNTS)
    _execute(
        f"INSERT INTO {table} (unit_id, unit_path, depth, period, kind, area_type, {columns}, "
        "computed_at) "
        f"SELECT u.id, u.path, {depth}, r.period, r.kind, r.area_type, {', '.join(aggregates)}, "
        "max(r.computed_at) "
        f"FROM {source} r JOIN branches_orgunit u ON u.path = substr(r.unit_path, 1, {width}) "
        f"WHERE r.period = %s AND r.kind = %s {where} "
        "GROUP BY u.id, u.path, r.period, r.kind, r.area_type",
        params,
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
        _insert(depth, "branches_branchrating", FROM_RATINGS, where, params)
    else:
        where += f" AND r.depth = {depth + 1}"
        _insert(depth, RatingRollup._meta.db_table, FROM_ROWS, where, params)


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
