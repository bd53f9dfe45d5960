"""A real Celery worker against a real broker: submitting a report makes the rating appear.

Runs where CELERY_BROKER_URL names a broker and the database is PostgreSQL (CI sets
both); the worker is a separate process, so it must share a real database.
"""

import time

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from branches.models import BranchRating
from branches.services import workflow
from branches.services.criteria import criteria_defaults_load
from tests.branches.test_workflow import fill
from tests.faults import Worker, purge_broker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker():
    if not settings.CELERY_BROKER_URL or connection.vendor != "postgresql":
        pytest.skip("needs CELERY_BROKER_URL and PostgreSQL (set in CI by .ci/run)")
    purge_broker()
    worker = Worker().wait_ready()
    yield worker
    worker.stop()


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
