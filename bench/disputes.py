"""Benchmark: the disputes metrics and the ledger page at county scale.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/fs_bench .venv/bin/python bench/disputes.py

Seeds the county-scale demo hierarchy (no monthly values) if it is not there, then about
BENCH_CASES (20,000) dispute cases over the last twelve closed months with their timelines,
sessions and return visits (the demo's bulk builder). Times, as the median of BENCH_REPEAT
runs after one warm-up: every registered disputes metric for all rated branches over the
year to date (target <= 1 s each), and the ledger page with filters as the county leader
and as township staff (in process, the Django test client; target <= 100 ms). Last line:
summary: slowest metric <ms> ms, slowest ledger <ms> ms
"""

import os
import statistics
import sys
import time
from datetime import date, timedelta
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

from branches.metrics import Window, registry  # noqa: E402
from branches.models import OrgUnit  # noqa: E402
from disputes.demo import demo_disputes_reset, demo_disputes_seed  # noqa: E402
from disputes.models import CaseStep, DisputeCase  # noqa: E402
from governance.models import User  # noqa: E402

REPEAT = int(os.environ.get("BENCH_REPEAT", "10"))
CASES = int(os.environ.get("BENCH_CASES", "20000"))


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def median_ms(function) -> float:
    function()
    times = []
    for _run in range(REPEAT):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def last_months(today: date, n: int) -> list[date]:
    months, month = [], today.replace(day=1)
    for _ in range(n):
        month = (month - timedelta(days=1)).replace(day=1)
        months.append(month)
    return months[::-1]


def prepare(today: date) -> int:
    call_command("migrate", verbosity=0)
    if OrgUnit.objects.rated().count() < 250:
        seconds, _ = timed(
            call_command, "seed_demo", scale="county", no_values=True, reset=True, verbosity=0
        )
        print(f"seeded the county hierarchy in {seconds:.1f} s")
    branches = OrgUnit.objects.rated().count()
    if abs(DisputeCase.objects.count() - CASES) > CASES // 5:
        demo_disputes_reset()
        months = last_months(today, 12)
        per_month = CASES / (branches * 12.5)
        seconds, made = timed(
            demo_disputes_seed,
            months=months,
            today=today,
            seed=2026,
            scale="county",
            per_month=per_month,
        )
        print(f"seeded {made} cases in {seconds:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return branches


def main():
    if connection.vendor != "postgresql":
        sys.exit("run this on PostgreSQL: set DATABASE_URL")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    today = timezone.localdate()
    branches = prepare(today)
    print(
        f"{branches} rated branches, {DisputeCase.objects.count()} cases, "
        f"{CaseStep.objects.count()} timeline steps"
    )
    ids = list(OrgUnit.objects.rated().values_list("id", flat=True))
    window = Window(today.year, 1, today.month)
    slowest_metric = 0.0
    for key in registry.keys():  # noqa: SIM118 (the registry is not a dict)
        if key.startswith("disputes."):
            ms = median_ms(lambda key=key: registry.compute(key, window, ids))
            slowest_metric = max(slowest_metric, ms)
            print(f"metric {key} year to date, {len(ids)} branches: {ms:.1f} ms")
    slowest_ledger = 0.0
    start = (today.replace(day=1) - timedelta(days=90)).isoformat()
    filters = {
        "no filter": "",
        "status + category": "?status=VISITED&category=NEIGHBOUR",
        "overdue": "?overdue=on",
        "level + date range": f"?level=4&received_from={start}&received_to={today}",
        "page 20": "?page=20",
    }
    for username in ("demo_xian", "demo_zhen_a"):
        client = Client()
        client.force_login(User.objects.get(username=username))
        for label, query in filters.items():
            url = f"/disputes/{query}"

            def get(url=url, client=client):
                response = client.get(url)
                assert response.status_code == 200, response.status_code

            ms = median_ms(get)
            slowest_ledger = max(slowest_ledger, ms)
            print(f"ledger as {username}, {label}: {ms:.1f} ms")
    print(
        f"summary: slowest metric {slowest_metric:.0f} ms, slowest ledger {slowest_ledger:.0f} ms"
    )


if __name__ == "__main__":
    main()
