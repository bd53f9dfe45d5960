"""Province-scale hierarchy benchmark: seed time and subtree query times on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fs_bench .venv/bin/python bench/hierarchy.py

It migrates the database named by DATABASE_URL, DELETES its hierarchy and seeds the province
demo (~53,000 units), then prints the figures. Targets: seed <= 120 s, each subtree query
<= 20 ms. Exits 1 when a target is missed.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.db.models.functions import Substr  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from branches.demo.hierarchy import Scale, demo_reset, demo_seed  # noqa: E402
from branches.models import OrgUnit  # noqa: E402

SEED_TARGET_S = 120
QUERY_TARGET_MS = 20
RUNS = 20


def main() -> int:
    if connection.vendor != "postgresql":
        print(
            "bench/hierarchy.py measures the province deployment, which runs on PostgreSQL. "
            "SQLite serves one township on a laptop; it has neither the varchar_pattern_ops "
            "indexes nor PostgreSQL's planner, so its figures would say nothing about a province.\n"
            "Set DATABASE_URL=postgres://... (e.g. postgres://postgres@127.0.0.1:5432/fs_bench)."
        )
        return 2

    # Timings on a shared machine mean little without its load; the minimum shows the floor.
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"database: {connection.settings_dict['NAME']} on PostgreSQL; load average {load}")
    call_command("migrate", interactive=False, verbosity=0)

    started = time.perf_counter()
    demo_reset()
    reset_s = time.perf_counter() - started
    started = time.perf_counter()
    result = demo_seed(scale=Scale.PROVINCE, reset=True)
    seed_s = time.perf_counter() - started
    units = sum(result.unit_counts.values())
    print(f"reset (delete the old hierarchy): {reset_s:.1f} s")
    print(
        f"seed province: {seed_s:.1f} s for {units:,} units "
        f"({result.unit_counts[OrgUnit.Level.VILLAGE]:,} rated branches)"
    )

    # FULL: the reset's DELETE left the old rows' space in the table and its indexes; the
    # rewrite gives every run the compact state of a first seed. Then VACUUM ANALYZE: index-only
    # scans skip the table only for pages the visibility map marks all-visible, and only
    # VACUUM sets it (autovacuum would, a little later).
    table = connection.ops.quote_name(OrgUnit._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM FULL {table}")
        cursor.execute(f"VACUUM ANALYZE {table}")

    province = OrgUnit.objects.get(depth=1)
    city = _city_with_most_branches()
    user = get_user_model().objects.select_related("unit").get(username="demo_zhen_a")
    figures = [
        _timed(
            f"rated branches under {city.name} ({city.code})",
            lambda: OrgUnit.objects.under(city).rated().count(),
        ),
        _timed(
            f"rated branches under {province.name} (root)",
            lambda: OrgUnit.objects.under(province).rated().count(),
        ),
        _timed(
            f"visible_to({user.username} @ {user.unit.name}).count()",
            lambda: OrgUnit.objects.visible_to(user).count(),
        ),
        _timed(
            f"list(visible_to({user.username} @ {user.unit.name}))",
            lambda: len(list(OrgUnit.objects.visible_to(user))),
        ),
    ]
    for label, median_ms, min_ms, value in figures:
        print(
            f"{label}: {median_ms:.2f} ms median, {min_ms:.2f} ms min of {RUNS} (result {value:,})"
        )

    # A proper subtree must be read through an index. The root's subtree is the whole table,
    # where a sequential scan is the right plan; its EXPLAIN is printed for information.
    city_plan = _explain(lambda: OrgUnit.objects.under(city).rated().count())
    root_plan = _explain(lambda: OrgUnit.objects.under(province).rated().count())
    print(f"\nEXPLAIN ANALYZE, rated count under {city.name}:\n{city_plan}")
    print(f"\nEXPLAIN ANALYZE, rated count under {province.name} (root):\n{root_plan}")

    missed = []
    if seed_s > SEED_TARGET_S:
        missed.append(f"seed {seed_s:.1f} s > {SEED_TARGET_S} s")
    missed += [
        f"{label} {ms:.2f} ms > {QUERY_TARGET_MS} ms"
        for label, ms, _min, _value in figures
        if ms > QUERY_TARGET_MS
    ]
    if "Index" not in city_plan:
        missed.append(f"the count under {city.name} does not use an index")
    print()
    print("targets missed: " + "; ".join(missed) if missed else "all targets met")
    return 1 if missed else 0


def _city_with_most_branches() -> OrgUnit:
    """The worst case among the cities: the one with the most rated branches."""
    city_path_len = 2 * OrgUnit.steplen
    biggest = (
        OrgUnit.objects.rated()
        .order_by()
        .values(city_path=Substr("path", 1, city_path_len))
        .annotate(branches=Count("id"))
        .order_by("-branches")
        .first()
    )
    return OrgUnit.objects.get(path=biggest["city_path"])


def _timed(label: str, query) -> tuple[str, float, float, int]:
    """Median and minimum wall time (ms) of `query` over RUNS runs, after one warm-up run."""
    value = query()
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        query()
        times.append((time.perf_counter() - started) * 1000)
    return label, statistics.median(times), min(times), value


def _explain(query) -> str:
    """EXPLAIN ANALYZE of the SQL that `query` runs (captured as it runs)."""
    with CaptureQueriesContext(connection) as captured:
        query()
    sql = captured.captured_queries[-1]["sql"]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


if __name__ == "__main__":
    sys.exit(main())
