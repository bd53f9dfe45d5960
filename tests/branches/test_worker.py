"""A real Celery worker against a real broker: submitting a report makes the rating appear.

Runs where CELERY_BROKER_URL names a broker and the database is PostgreSQL (CI sets
both); the worker is a separate process, so it must share a real database.
"""

import os
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from branches.models import BranchRating
from branches.services import workflow
from branches.services.criteria import criteria_defaults_load
from governance.celery import app
from tests.branches.test_workflow import fill

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker():
    if not settings.CELERY_BROKER_URL or connection.vendor != "postgresql":
        pytest.skip("needs CELERY_BROKER_URL and PostgreSQL (set in CI by .ci/run)")
    app.control.purge()
    env = {**os.environ, "DATABASE_URL": database_url(), "DEBUG": "true"}
    process = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "governance", "worker",
            "--pool=solo", "--loglevel=INFO", "--without-gossip", "--without-mingle",
        ],
        env=env,
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=1):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the worker did not start:\n{process.stdout.read()}")
        yield process
    finally:
        process.terminate()
        process.wait(30)


def test_submitting_a_report_makes_the_rating_appear(tree, personas, worker):
    criteria_defaults_load(year=timezone.localdate().year)
    # The worker runs on the real clock, so the test uses the real current month.
    report = workflow.report_get_or_create(
        unit=tree.village_a2, period=timezone.localdate().replace(day=1)
    )
    fill(report, personas.staff_a)
    workflow.report_submit(report=report, user=personas.staff_a, expected_version=report.version)
    deadline = time.monotonic() + 60
    while not BranchRating.objects.filter(unit=tree.village_a2, period=report.period).exists():
        assert time.monotonic() < deadline, "the worker wrote no rating within 60 s"
        time.sleep(0.5)
    report.refresh_from_db()
    assert not report.needs_recompute
    assert BranchRating.objects.get(unit=tree.village_a2, period=report.period).gap_count > 0
