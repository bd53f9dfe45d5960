"""Benchmark: the summary page at province scale, from the rollups and from the ratings.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/fs_bench .venv/bin/python bench/dashboards.py

Prepares the database as bench/recompute.py does (migrate, seed the province scale, fill
January with a value for every manual criterion) and rates January if it is not rated,
which also builds its rollups. Then, for the province root, a city, a county and a
township, the server time of the summary page (in process, the Django test client, the
median of BENCH_REPEAT runs after one warm-up) as the page reads it (one rollup row per
unit) and with the rollups ignored (the direct aggregate over every rating below). Target
on a 2-core machine: every level <= 100 ms. The last line sums it up:
summary: province root <ms> ms, direct aggregate <ms> ms
"""

import os
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))

import recompute as recompute_bench  # sets Django up
from django.conf import settings
from django.db import connection
from django.test import Client

from branches.models import BranchRating, OrgUnit, RatingRollup
from branches.services import dashboards, recompute, rollups
from governance.models import User

REPEAT = int(os.environ.get("BENCH_REPEAT", "10"))
JANUARY = recompute_bench.JANUARY


def prepare() -> None:
    if BranchRating.objects.filter(period=JANUARY, kind="MONTHLY").count() < 50_000:
        recompute_bench.prepare()
        seconds, _ = recompute_bench.timed(recompute.ratings_recompute, period=JANUARY)
        print(f"rated January in {seconds:.1f} s")
    if not RatingRollup.objects.filter(period=JANUARY, kind="MONTHLY", depth=1).exists():
        seconds, _ = recompute_bench.timed(rollups.rollups_refresh, JANUARY, "MONTHLY")
        print(f"built January's rollups in {seconds:.2f} s")
    recompute_bench.execute("VACUUM ANALYZE")


def server_ms(client: Client, url: str) -> float:
    client.get(url)
    times = []
    for _run in range(REPEAT):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    return statistics.median(times)


def main():
    if connection.vendor != "postgresql":
        sys.exit("bench/dashboards.py measures PostgreSQL: set DATABASE_URL=postgres://...")
    prepare()
    settings.ALLOWED_HOSTS = ["*"]
    root = OrgUnit.objects.get(depth=1)
    city = OrgUnit.objects.filter(depth=2).order_by("-numchild", "path").first()
    county = OrgUnit.objects.filter(depth=3, path__startswith=city.path).order_by("path").first()
    town = OrgUnit.objects.filter(depth=4, path__startswith=county.path).order_by("path").first()
    client = Client()
    client.force_login(User.objects.filter(role=User.Role.ADMIN, unit__isnull=True).first())
    count = BranchRating.objects.filter(period=JANUARY, kind="MONTHLY").count()
    print(f"\n{count:,} ratings in {JANUARY:%Y-%m}; median of {REPEAT} requests, server time\n")
    figures = {}
    for unit in (root, city, county, town):
        url = f"/units/{unit.code}/summary/?period={JANUARY:%Y-%m}"
        rolled = server_ms(client, url)
        with mock.patch.object(dashboards, "rollup_rows", return_value=None):
            direct = server_ms(client, url)
        figures[unit.level] = (rolled, direct)
        print(
            f"{unit.get_level_display():<8} {unit.name:<12} rollups {rolled:6.1f} ms   "
            f"direct aggregate {direct:6.1f} ms"
        )
    rolled, direct = figures[OrgUnit.Level.PROVINCE]
    print(f"summary: province root {rolled:.0f} ms, direct aggregate {direct:.0f} ms")


if __name__ == "__main__":
    main()
