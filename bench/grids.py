"""Benchmark: the grids metrics and the grid pages at county scale on PostgreSQL.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/fs_grids .venv/bin/python bench/grids.py

Seeds the county demo hierarchy (about 300 rated branches) if it is not there, then by SQL
(INSERT ... SELECT generate_series) about 100,000 households in 4 grids per branch, 600,000
visits over this year's months and 20,000 events. Then, server time (median of BENCH_REPEAT
runs after a warm-up):
- each registered grids metric for every rated branch, year to date (target <= 1 s each);
- a grid worker's household picker (the visit form) and a township's event queue
  (target <= 50 ms each, in process through the Django test client);
- the visit coverage's time per 100,000 visits, to extrapolate the province.
The last line: summary: <metric ms ...>, picker <ms> ms, queue <ms> ms, <ms> ms per 100k visits
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

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from branches.demo.hierarchy import demo_seed  # noqa: E402
from branches.metrics import Window, registry  # noqa: E402
from branches.models import OrgUnit  # noqa: E402
from governance.models import User  # noqa: E402
from grids.models import GridEvent, GridWorker, Household, Visit  # noqa: E402

REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))
HOUSEHOLDS = 100_000
VISITS = 600_000
EVENTS = 20_000
GRIDS_PER_BRANCH = 4
TODAY = timezone.localdate()
YEAR_START = TODAY.replace(month=1, day=1)

GRIDS = """
INSERT INTO grids_grid (unit_id, code, name, party_group, is_active, created_at, updated_at)
SELECT u.id, u.code || '-B' || g, u.name || '第' || g || '网格', '', true, now(), now()
FROM branches_orgunit u, generate_series(1, %(per)s) g WHERE u.level = 5
"""
WORKERS = """
INSERT INTO grids_gridworker (unit_id, name, kind, is_party_member, phone, is_active,
                              created_at, updated_at)
SELECT g.unit_id, '网格员' || g.id, 'FULL_TIME', true, '', true, now(), now() FROM grids_grid g
"""
ASSIGNMENTS = """
INSERT INTO grids_gridassignment (worker_id, grid_id, started_on)
SELECT w.id, g.id, %(start)s FROM grids_grid g
JOIN grids_gridworker w ON w.name = '网格员' || g.id
"""
HOUSEHOLDS_SQL = """
INSERT INTO grids_household (grid_id, address_building, address_unit, address_room, head_name,
    phone, member_count, care_tags, is_party_member_household, is_active, created_at, updated_at)
SELECT g.id, (n / 20 + 1) || '组', '', n::text, '户主' || n, '13800000000', 1 + n %% 5,
       CASE WHEN n %% 9 = 0 THEN '["ELDERLY_ALONE"]'::jsonb ELSE '[]'::jsonb END,
       n %% 17 = 0, true, now(), now()
FROM grids_grid g, generate_series(1, %(per)s) n
"""
VISITS_SQL = """
INSERT INTO grids_visit (household_id, grid_id, visited_on, purpose, notes, needs_follow_up,
                         created_at)
SELECT h.id, h.grid_id, %(start)s::date + ((random() * %(days)s)::int), 'CARE', '', false, now()
FROM grids_household h, generate_series(1, %(per)s) k
"""
EVENTS_SQL = """
INSERT INTO grids_gridevent (number, grid_id, category, description, location, status,
    reporter_name, reported_at, deadline, handled_at, closed_at, result, converted_reference,
    converted_url, version, updated_at)
SELECT 'SJB' || lpad(n::text, 8, '0'), g.id, 'OTHER', '测试事件', '',
       (ARRAY['REPORTED', 'ACCEPTED', 'DISPATCHED', 'HANDLED', 'FEEDBACK', 'CLOSED', 'CLOSED',
              'CLOSED'])[1 + n %% 8],
       '', t, (t + interval '7 days')::date,
       CASE WHEN n %% 8 >= 3 THEN t + interval '3 days' END,
       CASE WHEN n %% 8 >= 5 THEN t + interval '5 days' END, '', '', '', 1, now()
FROM (SELECT n, %(start)s::timestamptz + (random() * %(days)s) * interval '1 day' AS t,
             1 + (n %% (SELECT count(*) FROM grids_grid)) AS slot
      FROM generate_series(1, %(events)s) n) e
JOIN (SELECT id, row_number() OVER (ORDER BY id) AS slot FROM grids_grid) g ON g.slot = e.slot
"""


def execute(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or {})
        return cursor.rowcount


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def prepare():
    call_command("migrate", verbosity=0)
    if OrgUnit.objects.rated().count() < 200:
        seconds, _ = timed(demo_seed, scale="county", reset=True)
        print(f"seeded the county in {seconds:.1f} s")
    if Household.objects.count() >= HOUSEHOLDS * 0.9:
        return
    branches = OrgUnit.objects.rated().count()
    per_grid = max(1, round(HOUSEHOLDS / (branches * GRIDS_PER_BRANCH)))
    days = max(1, (TODAY - YEAR_START).days)
    start = time.perf_counter()
    execute("SELECT setseed(0.42)")
    execute(GRIDS, {"per": GRIDS_PER_BRANCH})
    execute(WORKERS)
    execute(ASSIGNMENTS, {"start": YEAR_START})
    households = execute(HOUSEHOLDS_SQL, {"per": per_grid})
    visits = execute(VISITS_SQL, {"start": YEAR_START, "days": days,
                                  "per": round(VISITS / households)})  # fmt: skip
    events = execute(EVENTS_SQL, {"start": YEAR_START, "days": days, "events": EVENTS})
    execute(
        "UPDATE grids_household h SET last_visited_on = v.last FROM (SELECT household_id, "
        "max(visited_on) AS last FROM grids_visit GROUP BY household_id) v "
        "WHERE v.household_id = h.id"
    )
    print(
        f"{branches} branches: {households:,} households, {visits:,} visits, {events:,} events "
        f"in {time.perf_counter() - start:.1f} s"
    )
    execute("VACUUM ANALYZE")


def median_ms(function) -> float:
    function()
    times = []
    for _run in range(REPEAT):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def page_ms(client, url) -> float:
    def get():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    return median_ms(get)


def main():
    if connection.vendor != "postgresql":
        sys.exit("bench/grids.py measures PostgreSQL: set DATABASE_URL=postgres://...")
    prepare()
    settings.ALLOWED_HOSTS = ["*"]
    ids = list(OrgUnit.objects.rated().values_list("pk", flat=True))
    window = Window(TODAY.year, 1, TODAY.month)
    visits = Visit.objects.filter(visited_on__gte=YEAR_START).count()
    print(
        f"\n{len(ids)} branches, {Household.objects.count():,} households, {visits:,} visits, "
        f"{GridEvent.objects.count():,} events; window {window.year} 1-{window.last_month}; "
        f"median of {REPEAT}\n"
    )
    figures = {}
    for key in [k for k in registry if k.startswith("grids.")]:
        figures[key] = median_ms(lambda key=key: registry.compute(key, window, ids))
        print(f"{key:<28} {figures[key]:8.1f} ms   (target <= 1000 ms)")
    # A grid worker with a login in one grid, and the township staff of that grid's township.
    worker = GridWorker.objects.filter(user__isnull=True).order_by("pk").first()
    grid = worker.assignments.first().grid
    user, _ = User.objects.get_or_create(
        username="bench_wangge", defaults={"role": User.Role.GRID_WORKER, "unit": grid.unit}
    )
    GridWorker.objects.filter(user=user).exclude(pk=worker.pk).update(user=None)
    worker.user = user
    worker.save(update_fields=["user"])
    township = OrgUnit.objects.get(path=grid.unit.path[: 4 * OrgUnit.Level.TOWNSHIP])
    staff, _ = User.objects.get_or_create(
        username="bench_zhen", defaults={"role": User.Role.TOWNSHIP_STAFF, "unit": township}
    )
    client = Client()
    client.force_login(user)
    picker = page_ms(client, "/grids/visits/new/")
    print(f"{'household picker (visit form)':<28} {picker:8.1f} ms   (target <= 50 ms)")
    client.force_login(staff)
    queue = page_ms(client, "/grids/events/")
    queue_filtered = page_ms(client, "/grids/events/?status=DISPATCHED&overdue=on")
    print(f"{'event queue (township)':<28} {queue:8.1f} ms   (target <= 50 ms)")
    print(f"{'event queue, overdue filter':<28} {queue_filtered:8.1f} ms")
    per_100k = figures["grids.visit_coverage"] * 100_000 / max(visits, 1)
    print(f"{'visit coverage per 100k':<28} {per_100k:8.1f} ms per 100,000 visits")
    metric_text = ", ".join(f"{k.split('.')[1]} {v:.0f} ms" for k, v in figures.items())
    print(
        f"summary: {metric_text}, picker {picker:.0f} ms, queue {queue:.0f} ms, "
        f"{per_100k:.0f} ms per 100k visits"
    )


if __name__ == "__main__":
    main()
