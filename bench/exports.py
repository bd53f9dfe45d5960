"""Benchmark: export the province's ratings of one month as CSV and XLSX, beside COPY.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/fs_bench .venv/bin/python bench/exports.py

Migrates the database named by DATABASE_URL; when it holds no month with the province's
ratings (~51,000 rated branches), seeds the province, fills January and recomputes it
(as bench/recompute.py does). Then, for the month with the most ratings, as an auditor of
the province, through the real per-page view (`ratings_export`: scoping, row building,
writing, the export log), it measures:
- ratings CSV: the streamed response read to its end;
- ratings XLSX: the workbook built (XlsxWriter, constant_memory) and read;
- PostgreSQL's COPY (SELECT the same rows and columns) TO STDOUT as CSV: the floor;
each the best of BENCH_REPEAT runs (default 3), in rows per second, with the process's peak
memory after each. Targets: CSV >= 50,000 rows/s, XLSX >= 10,000 rows/s. The last line:
summary: csv <n> rows/s, xlsx <n> rows/s, copy <n> rows/s
"""

import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import RequestFactory  # noqa: E402

from branches.models import BranchRating, ExportLog, OrgUnit, Rating  # noqa: E402
from branches.views.sheets import ratings_export  # noqa: E402
from governance.models import User  # noqa: E402

REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))

# The ratings export's rows and columns, as one SQL statement (the floor for its content).
COPY_SQL = """
COPY (
    SELECT to_char(r.period, 'YYYY-MM'), u.code, u.name, city.name, county.name, town.name,
        CASE r.area_type WHEN 'RURAL' THEN '农村' ELSE '城市社区' END, r.level,
        r.has_star_1, r.has_star_2, r.has_star_3, r.has_star_4, r.has_star_5, r.veto,
        r.gaps_text,
        to_char(r.computed_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS')
    FROM branches_branchrating r
    JOIN branches_orgunit u ON u.id = r.unit_id
    LEFT JOIN branches_orgunit city ON city.path = left(r.unit_path, 8)
    LEFT JOIN branches_orgunit county ON county.path = left(r.unit_path, 12)
    LEFT JOIN branches_orgunit town ON town.path = left(r.unit_path, 16)
    WHERE r.period = %s AND r.kind = 'MONTHLY'
    ORDER BY r.period, r.unit_path
) TO STDOUT WITH (FORMAT csv, HEADER)
"""


class _Sink:
    """A file that keeps only the number of bytes written to it."""

    def __init__(self):
        self.size = 0

    def write(self, data):
        self.size += len(data)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare():
    call_command("migrate", verbosity=0)
    if not _largest_month():
        from bench.recompute import JANUARY
        from bench.recompute import prepare as seed_january
        from branches.services import recompute

        seed_january()
        start = time.perf_counter()
        recompute.ratings_recompute(period=JANUARY)
        print(f"recomputed January in {time.perf_counter() - start:.1f} s")
    period, count = _largest_month()
    root = OrgUnit.objects.get(depth=1)
    auditor, _created = User.objects.get_or_create(
        username="bench_exports_auditor",
        defaults={"role": User.Role.AUDITOR, "unit": root, "last_name": "基准"},
    )
    return period, count, root, auditor


def _largest_month():
    row = (
        BranchRating.objects.filter(kind=Rating.MONTHLY)
        .values("period")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    if row is None or row["n"] < 50_000:
        return None
    return row["period"], row["n"]


def export_once(request, root, period, fmt) -> tuple[float, int]:
    start = time.perf_counter()
    response = ratings_export(request, root.code, f"{period:%Y-%m}", fmt)
    size = sum(len(chunk) for chunk in response.streaming_content)
    response.close()
    return time.perf_counter() - start, size


def copy_once(period) -> tuple[float, int]:
    sink = _Sink()
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(cursor.mogrify(COPY_SQL, [period]).decode(), sink)
    return time.perf_counter() - start, sink.size


def best(measure, rows: int, label: str) -> int:
    times = []
    for _run in range(REPEAT):
        seconds, size = measure()
        times.append(seconds)
        print(
            f"  {label}: {seconds:.2f} s, {rows / seconds:,.0f} rows/s, "
            f"{size / 1e6:.1f} MB, peak memory {peak_mb():.0f} MB"
        )
    return round(rows / min(times))


def main():
    if connection.vendor != "postgresql":
        sys.exit("bench/exports.py measures PostgreSQL: set DATABASE_URL=postgres://...")
    period, count, root, auditor = prepare()
    request = RequestFactory().get("/", {"kind": Rating.MONTHLY})
    request.user = auditor
    print(f"ratings of {period:%Y-%m}: {count:,} rows; best of {REPEAT}")
    logged_before = ExportLog.objects.filter(user=auditor).count()
    csv_rate = best(lambda: export_once(request, root, period, "csv"), count, "csv")
    xlsx_rate = best(lambda: export_once(request, root, period, "xlsx"), count, "xlsx")
    copy_rate = best(lambda: copy_once(period), count, "copy")
    logged = ExportLog.objects.filter(user=auditor).order_by("-id")[: 2 * REPEAT]
    assert len(logged) == ExportLog.objects.filter(user=auditor).count() - logged_before
    assert all(entry.rows == count and entry.is_complete for entry in logged), "log rows"
    print(f"csv {csv_rate / copy_rate:.2f} x copy, xlsx {xlsx_rate / copy_rate:.2f} x copy")
    print(f"summary: csv {csv_rate} rows/s, xlsx {xlsx_rate} rows/s, copy {copy_rate} rows/s")


if __name__ == "__main__":
    main()
