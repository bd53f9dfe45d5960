"""Benchmark: generate every supervision report of one province month, and one township's PDF.

Usage: .venv/bin/python bench/supervision.py
(BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/fivestar_bench_super)

Migrates the database; when it holds no month with the province's ratings (~51,000 rated
branches), seeds the province, fills January and recomputes it (as bench/exports.py does).
Then, for the month with the most ratings, it measures the set-based generation of every
report (province, cities, counties, townships: ~2,600 units) twice (the second run replaces
the drafts) and one township's PDF, each the best of BENCH_REPEAT runs (default 3).
Targets: a province month <= 60 s, a township PDF <= 2 s. The last line:
summary: province month <s> s, township pdf <s> s
"""

import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fivestar_bench_super"
)

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.exports import prepare  # noqa: E402
from governance.models import SupervisionReport  # noqa: E402
from governance.services.supervision import reports_generate  # noqa: E402
from governance.services.supervision_files import report_pdf  # noqa: E402

REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))


def main():
    if connection.vendor != "postgresql":
        sys.exit("bench/supervision.py measures PostgreSQL: set BENCH_DATABASE_URL=postgres://...")
    period, count, _root, _auditor = prepare()
    print(f"ratings of {period:%Y-%m}: {count:,} branches; best of {REPEAT}")
    SupervisionReport.objects.filter(period=period, status=SupervisionReport.Status.DRAFT).delete()
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    times = []
    for _run in range(REPEAT):
        connection.queries_log.clear()  # the preparation's queries would fill the log
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            result = reports_generate(period)
            times.append(time.perf_counter() - start)
        print(f"  generate: {times[-1]:.1f} s, {len(queries)} queries, {result}")
    township = (
        SupervisionReport.objects.filter(period=period, is_latest=True, unit__level=4)
        .select_related("unit")
        .order_by("unit__path")
        .first()
    )
    pdf_times = []
    for _run in range(REPEAT):
        start = time.perf_counter()
        size = len(report_pdf(SupervisionReport.objects.get(pk=township.pk)))
        pdf_times.append(time.perf_counter() - start)
        print(f"  pdf of {township.unit.name}: {pdf_times[-1]:.2f} s, {size / 1e3:.0f} kB")
    reports = SupervisionReport.objects.filter(period=period, is_latest=True).count()
    print(f"{reports} reports of {period:%Y-%m}")
    print(f"summary: province month {min(times):.1f} s, township pdf {min(pdf_times):.2f} s")


if __name__ == "__main__":
    main()
