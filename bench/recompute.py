"""Benchmark: recompute the star assessments of a whole province for one month.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/fs_bench .venv/bin/python bench/recompute.py

Migrates the database named by DATABASE_URL, seeds the province scale (~51,000 rated
branches) unless it is already there, fills January of this year with a value for every
manual criterion of every branch, then prints:
- the full recompute time (cold: no stored rows; warm: nothing changed; changed: every
  branch's values differ from the stored rows);
- the floor: one SQL statement reading the same values and writing one row per
  branch and star (INSERT ... SELECT ... GROUP BY ... ON CONFLICT DO UPDATE);
- their ratio; and the time to recompute one branch after a submit;
- the fan-out: the same month as a durable run split per city across 1 and then 2 real
  Celery worker processes against Redis (CELERY_BROKER_URL, default redis://127.0.0.1:6379/13),
  from the request to the run's recorded completion.
Targets on a 2-core machine: single-process <= 3x the floor; with two workers <= 10 s; one
branch <= 200 ms. The last line sums it up for comparing runs:
summary: single <s> s, floor <s> s, ratio <x>, two workers <s> s
"""

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
# The fan-out needs a broker: the run's chunks go to real worker processes.
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from branches.demo.hierarchy import demo_seed  # noqa: E402
from branches.models import (  # noqa: E402
    BranchRating,
    MonthlyReport,
    OrgUnit,
    RecomputeRun,
    ReportValue,
    StarAssessment,
)
from branches.services import recompute, runs  # noqa: E402
from branches.services.criteria import criteria_defaults_load  # noqa: E402

YEAR = timezone.localdate().year
JANUARY = date(YEAR, 1, 1)

FILL_REPORTS = """
INSERT INTO branches_monthlyreport
    (unit_id, period, criteria_set_id, status, return_reason, unlock_reason, version,
     needs_recompute, created_at, updated_at, submitted_at, reviewed_at)
SELECT u.id, %(period)s, cs.id, 'APPROVED', '', '', 1, false, now(), now(), now(), now()
FROM branches_orgunit u
JOIN branches_criteriaset cs ON cs.area_type = u.area_type AND cs.year = %(year)s AND cs.is_active
WHERE u.level = 5
"""

# Every manual criterion gets a value; most pass, a realistic share fails.
FILL_VALUES = """
INSERT INTO branches_reportvalue
    (report_id, criterion_id, value_bool, value_number, note, warning)
SELECT r.id, c.id,
    CASE WHEN c.kind = 'BOOLEAN' THEN random() < 0.93 END,
    CASE
        WHEN c.kind = 'BOOLEAN' THEN NULL
        WHEN c.comparator = 'LTE' THEN CASE WHEN random() < 0.01 THEN 1 ELSE 0 END
        WHEN c.aggregation = 'SUM' THEN round((c.threshold / 12 * (0.6 + random()))::numeric, 2)
        WHEN c.kind = 'PERCENTAGE'
            THEN least(100, round((c.threshold * (0.9 + random() * 0.2))::numeric, 1))
        ELSE round((c.threshold * (0.8 + random() * 0.5))::numeric, 0)
    END,
    '', ''
FROM branches_monthlyreport r
JOIN branches_criterion c ON c.criteria_set_id = r.criteria_set_id AND c.source = 'MANUAL'
WHERE r.period = %(period)s
"""

FLOOR_TABLE = """
CREATE UNLOGGED TABLE IF NOT EXISTS bench_floor (
    unit_id bigint, period date, kind varchar(8), star smallint, is_met boolean, inputs jsonb,
    computed_at timestamptz, PRIMARY KEY (unit_id, period, kind, star)
)
"""

FLOOR = """
INSERT INTO bench_floor (unit_id, period, kind, star, is_met, inputs, computed_at)
SELECT r.unit_id, r.period, 'MONTHLY', c.star,
    bool_and(CASE
        WHEN c.kind = 'BOOLEAN' THEN coalesce(v.value_bool, false)
        WHEN c.comparator = 'GTE' THEN v.value_number >= c.threshold
        WHEN c.comparator = 'LTE' THEN v.value_number <= c.threshold
        ELSE v.value_number = c.threshold
    END),
    jsonb_object_agg(c.code, coalesce(v.value_number::text, v.value_bool::text)),
    now()
FROM branches_reportvalue v
JOIN branches_monthlyreport r ON r.id = v.report_id
JOIN branches_criterion c ON c.id = v.criterion_id
WHERE r.period = %(period)s AND r.status IN ('SUBMITTED', 'APPROVED')
GROUP BY r.unit_id, r.period, c.star
ON CONFLICT (unit_id, period, kind, star) DO UPDATE
SET is_met = EXCLUDED.is_met, inputs = EXCLUDED.inputs, computed_at = EXCLUDED.computed_at
"""


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def execute(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or {})
        return cursor.rowcount


def prepare():
    call_command("migrate", verbosity=0)
    if OrgUnit.objects.rated().count() < 50_000:
        seconds, _ = timed(demo_seed, scale="province", reset=True)
        print(f"seeded the province in {seconds:.1f} s")
    criteria_defaults_load(year=YEAR)
    if not MonthlyReport.objects.filter(period=JANUARY).exists():
        execute("SELECT setseed(0.42)")
        seconds, reports = timed(execute, FILL_REPORTS, {"period": JANUARY, "year": YEAR})
        values_seconds, values = timed(execute, FILL_VALUES, {"period": JANUARY})
        print(f"filled {reports} reports and {values} values in {seconds + values_seconds:.1f} s")
    StarAssessment.objects.filter(period=JANUARY).delete()
    BranchRating.objects.filter(period=JANUARY).delete()
    execute("VACUUM ANALYZE")


def start_workers(count: int, log) -> list[subprocess.Popen]:
    """`count` solo-pool worker processes, each doing one chunk at a time, their output to
    `log` (not into the figures); once all answer."""
    from governance.celery import app

    app.control.purge()
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "governance", "worker", "--pool=solo",
             "--loglevel=WARNING", "--without-gossip", "--without-mingle",
             "--hostname", f"bench{n}@%h"],
            cwd=Path(__file__).resolve().parent.parent,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for n in range(count)
    ]  # fmt: skip
    deadline = time.monotonic() + 60
    while len(app.control.ping(timeout=1)) < count:
        if time.monotonic() > deadline:
            sys.exit("the bench workers did not start within 60 s")
    return workers


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        worker.wait(60)


def fan_out(count: int) -> tuple[float, int]:
    """Wall time of a cold province month as a durable run on `count` workers, from the
    request to the completion its last chunk records; and the number of chunks."""
    StarAssessment.objects.filter(period=JANUARY).delete()
    BranchRating.objects.filter(period=JANUARY).delete()
    RecomputeRun.objects.filter(period=JANUARY).delete()
    execute("VACUUM ANALYZE branches_starassessment")
    execute("VACUUM ANALYZE branches_branchrating")
    with tempfile.TemporaryFile(mode="w+") as log:
        return _timed_run(count, log)


def _timed_run(count: int, log) -> tuple[float, int]:
    workers = start_workers(count, log)
    try:
        start = time.perf_counter()
        run = runs.run_request(period=JANUARY, origin=RecomputeRun.Origin.ON_DEMAND)
        deadline = time.monotonic() + 300
        while not RecomputeRun.objects.filter(pk=run.pk, finished_at__isnull=False).exists():
            if time.monotonic() > deadline:
                log.seek(0)
                sys.exit(f"the run did not finish within 300 s:\n{log.read()[-4000:]}")
            time.sleep(0.05)
        seconds = time.perf_counter() - start
    finally:
        stop_workers(workers)
    run.refresh_from_db()
    assert run.result["branches"] == OrgUnit.objects.rated().count(), run.result
    return seconds, run.chunks.count()


def main():
    if connection.vendor != "postgresql":
        sys.exit("bench/recompute.py measures PostgreSQL: set DATABASE_URL=postgres://...")
    prepare()
    branches = OrgUnit.objects.rated().count()
    values = ReportValue.objects.filter(report__period=JANUARY).count()
    print(f"\n{branches} rated branches, {values} values in {JANUARY:%Y-%m}\n")

    cold, result = timed(recompute.ratings_recompute, period=JANUARY)
    print(f"full recompute, cold (no stored rows):  {cold:6.2f} s  ({result.written} rows)")
    warm, result = timed(recompute.ratings_recompute, period=JANUARY)
    print(f"full recompute, warm (nothing changed): {warm:6.2f} s  ({result.written} rows)")
    # Stored rows that differ from what the engine derives: every row is rewritten.
    StarAssessment.objects.filter(period=JANUARY).update(gaps=[], inputs={}, digest="")
    BranchRating.objects.filter(period=JANUARY).update(gap_count=99, digest="")
    changed, result = timed(recompute.ratings_recompute, period=JANUARY)
    print(f"full recompute, every row changed:      {changed:6.2f} s  ({result.written} rows)")

    execute(FLOOR_TABLE)
    execute("TRUNCATE bench_floor")
    floor_cold, rows = timed(execute, FLOOR, {"period": JANUARY})
    floor_update, _ = timed(execute, FLOOR, {"period": JANUARY})
    print(
        f"floor (one INSERT ... SELECT ... GROUP BY ... ON CONFLICT), insert: {floor_cold:.2f} s"
        f", update: {floor_update:.2f} s  ({rows} rows)"
    )
    print(f"ratio cold / floor insert:     {cold / floor_cold:.1f}x")
    print(f"ratio changed / floor update:  {changed / floor_update:.1f}x")

    # Steady state: autovacuum has analysed the freshly written tables by the time staff submit.
    execute("ANALYZE branches_starassessment")
    execute("ANALYZE branches_branchrating")
    unit_id = OrgUnit.objects.rated().order_by("path").values_list("pk", flat=True)[branches // 2]
    one = []
    for _ in range(20):
        BranchRating.objects.filter(unit_id=unit_id, period=JANUARY).update(digest="")
        seconds, _ = timed(recompute.ratings_recompute, period=JANUARY, unit_ids=[unit_id])
        one.append(seconds * 1000)
    print(
        f"one branch-month after a submit: median {statistics.median(one):.1f} ms, "
        f"max {max(one):.1f} ms (20 runs)"
    )
    months = recompute.months_affected(JANUARY)
    seconds, _ = timed(recompute.branch_month_recompute, unit_id=unit_id, period=JANUARY)
    print(
        f"the whole after-submit task for January ({len(months)} months to date): "
        f"{seconds * 1000:.0f} ms"
    )

    one_worker, chunks = fan_out(1)
    print(f"\nfan-out, cold, 1 worker process:   {one_worker:6.2f} s  ({chunks} chunks: cities)")
    two_workers, _ = fan_out(2)
    print(f"fan-out, cold, 2 worker processes: {two_workers:6.2f} s")
    print(
        f"\nsummary: single {cold:.2f} s, floor {floor_cold:.2f} s, "
        f"ratio {cold / floor_cold:.1f}, two workers {two_workers:.2f} s"
    )


if __name__ == "__main__":
    main()
