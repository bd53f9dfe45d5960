"""Durable period recomputes: recorded before they are sent, fanned out per city, finished by
the last chunk, brought back by the sweep; the open month rated for every branch."""

import logging
import threading
from datetime import date, timedelta

import pytest
import time_machine
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from branches import tasks
from branches.models import BranchRating, OrgUnit, RecomputeRun
from branches.services import recompute, runs, workflow
from governance.celery import app
from tests.branches.factories import OrgUnitFactory
from tests.branches.test_recompute import put_reports, villages
from tests.branches.test_workflow import fill

pytestmark = pytest.mark.usefixtures("april_third")

L = OrgUnit.Level
MARCH = date(2026, 3, 1)
APRIL = date(2026, 4, 1)
Origin = RecomputeRun.Origin


@pytest.fixture
def criteria(criteria):
    """This year's default sets by area type (as tests.branches.test_recompute has them)."""
    return {s.area_type: s for s in criteria}


@pytest.fixture
def second_city(tree):
    """A second city with three branches beside the tree's one city (four branches)."""
    city = OrgUnitFactory(code="4102", name="开封市", level=L.CITY, parent=tree.province)
    county = OrgUnitFactory(code="410202", name="龙亭区", level=L.COUNTY, parent=city)
    township = OrgUnitFactory(code="410202001", name="北书店乡", level=L.TOWNSHIP, parent=county)
    villages(township, 3)
    return OrgUnit.objects.get(pk=city.pk)


@pytest.fixture
def with_broker(monkeypatch):
    """Tasks go to a broker (recorded here) instead of running in-process."""
    sent = []

    class Group:
        def __init__(self, signatures):
            self.signatures = list(signatures)

        def apply_async(self):
            sent.append([signature.args[0] for signature in self.signatures])

    monkeypatch.setattr(runs, "group", Group)
    app.conf.task_always_eager = False
    yield sent
    app.conf.task_always_eager = True


def request(django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        return runs.run_request(period=MARCH, origin=Origin.ON_DEMAND, **kwargs)


def test_a_province_run_has_a_chunk_per_city_and_a_city_run_one(
    tree, second_city, django_capture_on_commit_callbacks, with_broker
):
    run = request(django_capture_on_commit_callbacks)
    chunks = {c.unit_id: c.branches for c in run.chunks.all()}
    assert chunks == {tree.city.pk: 4, second_city.pk: 3}
    assert with_broker == [[c.pk for c in run.chunks.order_by("-branches")]], "largest first"
    county_run = request(django_capture_on_commit_callbacks, under=tree.county)
    assert [(c.unit_id, c.branches) for c in county_run.chunks.all()] == [(tree.county.pk, 3)]


def test_asking_again_while_a_run_is_unfinished_adds_nothing(
    tree, django_capture_on_commit_callbacks, with_broker
):
    first = request(django_capture_on_commit_callbacks)
    again = request(django_capture_on_commit_callbacks)
    assert again.pk == first.pk
    assert RecomputeRun.objects.count() == 1
    assert len(with_broker) == 1


def test_a_scope_without_branches_is_finished_at_once(tree, django_capture_on_commit_callbacks):
    run = request(django_capture_on_commit_callbacks, under=tree.building_a1)
    assert run.finished_at is not None
    assert run.result["branches"] == 0


def test_without_a_broker_the_run_is_done_in_this_process(
    tree, second_city, criteria, django_capture_on_commit_callbacks
):
    put_reports(tree.village_a2, criteria, [1, 2, 3])
    run = request(django_capture_on_commit_callbacks)
    run.refresh_from_db()
    assert run.finished_at is not None
    assert run.result["branches"] == 7
    assert not run.chunks.filter(finished_at__isnull=True).exists()
    assert BranchRating.objects.filter(period=MARCH).count() == 7


def test_the_last_chunk_to_finish_records_the_run(
    tree, second_city, criteria, django_capture_on_commit_callbacks, with_broker
):
    run = request(django_capture_on_commit_callbacks)
    first, second = run.chunks.order_by("-branches")
    assert runs.chunk_execute(first.pk)["branches"] == 4
    run.refresh_from_db()
    assert run.started_at is not None and run.finished_at is None
    assert BranchRating.objects.filter(period=MARCH).count() == 4
    runs.chunk_execute(second.pk)
    run.refresh_from_db()
    assert run.finished_at is not None
    assert run.result["branches"] == 7
    assert run.result["written"] == 7 * 6
    assert BranchRating.objects.filter(period=MARCH).count() == 7
    # A message delivered twice finds its chunk done and writes nothing.
    assert runs.chunk_execute(first.pk) == {"chunk": first.pk, "done_before": True}


def test_the_sweep_sends_again_a_chunk_lost_with_its_worker(
    tree, second_city, criteria, django_capture_on_commit_callbacks, with_broker
):
    run = request(django_capture_on_commit_callbacks)
    first, second = run.chunks.order_by("-branches")
    runs.chunk_execute(first.pk)
    # The worker holding the second chunk was killed: nothing more happens to it.
    assert runs.runs_sweep() == {"finished": 0, "resent": 0}, "not quiet long enough yet"
    later = timezone.now() + timedelta(seconds=settings.RECOMPUTE_STALE_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        assert runs.runs_sweep() == {"finished": 0, "resent": 1}
    assert with_broker[-1] == [second.pk]
    second.refresh_from_db()
    assert second.sends == 2
    runs.chunk_execute(second.pk)
    run.refresh_from_db()
    assert run.finished_at is not None


def test_the_sweep_closes_a_run_whose_worker_died_after_its_last_commit(
    tree, django_capture_on_commit_callbacks, with_broker
):
    run = request(django_capture_on_commit_callbacks)
    run.chunks.update(finished_at=timezone.now(), result={"branches": 4})
    assert runs.runs_sweep()["finished"] == 1
    run.refresh_from_db()
    assert run.finished_at is not None and run.result["branches"] == 4


def test_a_broker_that_is_down_costs_one_warning_and_the_sweep_sends_later(
    tree, django_capture_on_commit_callbacks, with_broker, monkeypatch, caplog
):
    class Down:
        def __init__(self, signatures):
            pass

        def apply_async(self):
            raise ConnectionRefusedError(111, "Connection refused")

    recorder = runs.group
    monkeypatch.setattr(runs, "group", Down)
    with caplog.at_level(logging.WARNING):
        run = request(django_capture_on_commit_callbacks)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].exc_info is None
    assert "the sweep will send it again" in warnings[0].getMessage()
    monkeypatch.setattr(runs, "group", recorder)
    later = timezone.now() + timedelta(seconds=settings.RECOMPUTE_STALE_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        assert runs.runs_sweep()["resent"] == run.chunks.count() == 1
    assert with_broker == [[run.chunks.get().pk]]


def test_task_retries_ride_out_a_thirty_minute_outage():
    options = tasks.recompute_chunk
    waits = [
        get_exponential_backoff_interval(
            options.retry_backoff, attempt, options.retry_backoff_max, options.retry_jitter
        )
        for attempt in range(options.max_retries)
    ]
    assert sum(waits) >= 30 * 60, waits
    assert max(waits) < settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"], (
        "a retry's countdown must end before Redis hands its message to another worker"
    )


def test_the_open_months_first_change_rates_every_branch_in_it(
    tree, personas, criteria, django_capture_on_commit_callbacks
):
    report = workflow.report_get_or_create(unit=tree.village_a2, period=APRIL)
    fill(report, personas.staff_a)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.report_submit(
            report=report, user=personas.staff_a, expected_version=report.version
        )
    run = RecomputeRun.objects.get(period=APRIL)
    assert run.origin == Origin.OPEN_MONTH and run.finished_at is not None
    rated = OrgUnit.objects.rated().count()
    assert BranchRating.objects.filter(period=APRIL).count() == rated
    # A later change of the open month asks for nothing more.
    report.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        workflow.report_return(
            report=report,
            user=personas.staff_a2,
            reason="请补充活动照片",
            expected_version=report.version,
        )
    assert RecomputeRun.objects.filter(period=APRIL).count() == 1


def test_a_closed_months_change_does_not_open_a_run_of_it(
    tree, personas, criteria, django_capture_on_commit_callbacks
):
    with time_machine.travel("2027-01-05 10:00 +0800", tick=False):
        report = workflow.report_get_or_create(unit=tree.village_a2, period=MARCH)
        fill(report, personas.staff_a)
        with django_capture_on_commit_callbacks(execute=True):
            workflow.report_submit(
                report=report, user=personas.staff_a, expected_version=report.version
            )
    assert not RecomputeRun.objects.exists(), "2026 is closed: no open month is touched"


def test_the_nightly_job_rates_the_open_month(tree, criteria, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run_id = tasks.recompute_open_month.delay().get()
    run = RecomputeRun.objects.get(pk=run_id)
    assert (run.period, run.origin) == (APRIL, Origin.OPEN_MONTH)
    assert BranchRating.objects.filter(period=APRIL).count() == OrgUnit.objects.rated().count()
    assert runs.period_status(APRIL) == {"is_open": True, "recomputing": False}
    assert runs.period_status(MARCH) == {"is_open": False, "recomputing": False}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_recomputes_of_two_cities_run_side_by_side(tree, second_city, criteria):
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's; SQLite serialises writers itself")
    holder_ready, release = threading.Event(), threading.Event()

    def hold_the_first_city():
        try:
            with transaction.atomic():
                recompute._lock_scope(recompute.lock_names(MARCH, "MONTHLY", [tree.city.path]))
                holder_ready.set()
                release.wait(10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_first_city)
    holder.start()
    holder_ready.wait(10)
    try:
        # The second city does not wait for the first one's lock.
        result = recompute.ratings_recompute(period=MARCH, under=second_city)
        assert result.branches == 3
    finally:
        release.set()
        holder.join(10)


def test_the_open_month_is_labelled_in_progress_on_pages_and_in_the_api(
    tree, criteria, personas, login, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        tasks.recompute_open_month.delay()
        runs.run_request(period=MARCH, origin=Origin.ON_DEMAND)
    client = login(personas.staff_a)
    summary = f"/units/{tree.township_a.code}/summary/"
    assert "进行中" in client.get(summary, {"period": "2026-04"}).content.decode()
    assert "进行中" not in client.get(summary, {"period": "2026-03"}).content.decode()
    scorecard = f"/units/{tree.village_a2.code}/scorecard/"
    assert "进行中" in client.get(scorecard, {"period": "2026-04"}).content.decode()
    rows = client.get("/api/v1/ratings/", {"under": tree.township_a.code}).json()["results"]
    by_period = {(row["period"], row["in_progress"]) for row in rows}
    assert by_period == {("2026-04", True), ("2026-03", False)}


def test_a_pending_run_of_every_branch_is_shown_while_it_works(
    tree, criteria, personas, login, django_capture_on_commit_callbacks, with_broker
):
    request(django_capture_on_commit_callbacks)
    page = login(personas.staff_a).get(
        f"/units/{tree.township_a.code}/summary/", {"period": "2026-03"}
    )
    assert "正在重算" in page.content.decode()
