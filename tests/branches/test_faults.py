"""Faults against real parts: a worker killed with SIGKILL in the middle of a period recompute,
a database outage that outlasts a task's retries, and the API during an outage.

Runs where CELERY_BROKER_URL names a broker and the database is PostgreSQL (CI sets both);
the worker and the server are separate processes, so they share a real database.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import date

import pytest
from django.conf import settings
from django.db import connection, transaction
from rest_framework.authtoken.models import Token

from branches.models import BranchRating, OrgUnit, RecomputeChunk, RecomputeRun
from branches.services import recompute, runs
from branches.tasks import sweep_recomputes
from tests.branches.factories import OrgUnitFactory
from tests.faults import TcpProxy, Worker, database_url, purge_broker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

L = OrgUnit.Level
MARCH = date(2026, 3, 1)


@pytest.fixture(autouse=True)
def real_parts():
    if not settings.CELERY_BROKER_URL or connection.vendor != "postgresql":
        pytest.skip("needs CELERY_BROKER_URL and PostgreSQL (set in CI by .ci/run)")
    purge_broker()


@pytest.fixture
def cities(tree, criteria):
    """Beside the tree's city (4 branches), cities of 3, 2 and 1 branches: chunks of four
    distinct sizes, so the order a worker takes them in is known (largest first)."""
    made = [tree.city]
    for number, size in enumerate([3, 2, 1], start=2):
        city = OrgUnitFactory(code=f"41{number:02d}", level=L.CITY, parent=tree.province)
        county = OrgUnitFactory(code=f"41{number:02d}01", level=L.COUNTY, parent=city)
        township = OrgUnitFactory(code=f"41{number:02d}01001", level=L.TOWNSHIP, parent=county)
        for _ in range(size):
            OrgUnitFactory(parent=township)
        made.append(OrgUnit.objects.get(pk=city.pk))
    return made


def wait_until(condition, seconds: float, what: str, worker: Worker | None = None):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            log = worker.log[-4000:] if worker else ""
            raise AssertionError(f"{what} within {seconds} s\n{log}")
        time.sleep(0.1)


def request_run() -> RecomputeRun:
    return runs.run_request(period=MARCH, origin=RecomputeRun.Origin.CLOSED_MONTH)


def test_a_worker_killed_mid_period_comes_back_and_the_period_completes(cities, tmp_path):
    # The second-largest city is held by another recompute, so the worker is caught inside
    # the period: the first chunk done, the second started and waiting.
    held = threading.Event()
    release = threading.Event()

    def hold_second_city():
        from django.db import connections

        try:
            with transaction.atomic():
                recompute._lock_scope(recompute.lock_names(MARCH, "MONTHLY", [cities[1].path]))
                held.set()
                release.wait(60)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_second_city)
    holder.start()
    assert held.wait(10)
    worker = Worker().wait_ready()
    try:
        run = request_run()
        chunk = {c.unit_id: c for c in run.chunks.all()}
        first, second = chunk[cities[0].pk], chunk[cities[1].pk]
        wait_until(
            lambda: (
                RecomputeChunk.objects.filter(pk=second.pk, started_at__isnull=False).exists()
                and RecomputeChunk.objects.filter(pk=first.pk, finished_at__isnull=False).exists()
            ),
            30,
            "the worker did not reach the second chunk",
            worker,
        )
        worker.kill()
    finally:
        release.set()
        holder.join(10)
        worker.stop()
    run.refresh_from_db()
    assert run.finished_at is None
    assert RecomputeChunk.objects.filter(run=run, finished_at__isnull=True).count() == 3
    assert BranchRating.objects.filter(period=MARCH).count() == 4

    # Restarted with its beat; nobody runs a command: the sweep sends the lost chunks again.
    restarted = Worker(
        env={"RECOMPUTE_SWEEP_SECONDS": "1", "RECOMPUTE_STALE_SECONDS": "2"},
        beat_schedule=str(tmp_path / "beat-schedule"),
    ).wait_ready()
    try:
        wait_until(
            lambda: RecomputeRun.objects.filter(pk=run.pk, finished_at__isnull=False).exists(),
            90,
            "the period was not completed",
            restarted,
        )
    finally:
        restarted.stop()
    run.refresh_from_db()
    assert run.result["branches"] == OrgUnit.objects.rated().count() == 10
    assert BranchRating.objects.filter(period=MARCH).count() == 10
    second.refresh_from_db()
    assert second.sends >= 2, "the chunk lost with the worker was sent again"


def test_a_task_that_spends_its_retries_in_an_outage_is_recovered_by_the_sweep(cities):
    proxy = TcpProxy(int(connection.settings_dict["PORT"] or 5432))
    worker = Worker(
        env={
            "DATABASE_URL": database_url(proxy.port),
            "RECOMPUTE_RETRY_MAX": "2",
            "RECOMPUTE_RETRY_BACKOFF": "1",
            "RECOMPUTE_RETRY_BACKOFF_MAX": "1",
            "RECOMPUTE_STALE_SECONDS": "1",
        }
    ).wait_ready()
    try:
        proxy.cut()
        run = request_run()
        # Every chunk fails, is retried twice, and gives up for good.
        wait_until(
            lambda: worker.log.count("raised unexpected: OperationalError") >= 4,
            60,
            "the chunks did not give up",
            worker,
        )
        assert worker.log.count("Retry in 1s") >= 8
        run.refresh_from_db()
        assert run.finished_at is None
        proxy.restore()
        time.sleep(1.5)  # quiet for longer than RECOMPUTE_STALE_SECONDS
        sweep_recomputes.delay()
        wait_until(
            lambda: RecomputeRun.objects.filter(pk=run.pk, finished_at__isnull=False).exists(),
            60,
            "the sweep did not bring the run back",
            worker,
        )
    finally:
        worker.stop()
        proxy.close()
    assert BranchRating.objects.filter(period=MARCH).count() == 10


def get(url: str, headers: dict):
    """(status, headers, body) of a GET, error statuses included."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_api_answers_json_503_while_the_database_is_down(personas):
    token = Token.objects.create(user=personas.staff_a)
    proxy = TcpProxy(int(connection.settings_dict["PORT"] or 5432))
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        env={
            **os.environ,
            "DATABASE_URL": database_url(proxy.port),
            "DEBUG": "false",
            "SECRET_KEY": "fault-test-" + "x" * 50,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
        },
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/api/v1/units/"
    headers = {"Authorization": f"Token {token.key}"}
    try:

        def answers():
            try:
                return get(url, headers)[0] == 200
            except OSError:
                return False

        wait_until(answers, 30, "the server did not answer")
        proxy.cut()
        status, answer_headers, body = get(url, headers)
        assert status == 503, body
        assert answer_headers["Content-Type"].startswith("application/json")
        assert answer_headers["Retry-After"] == "30"
        assert "数据库暂时无法连接" in json.loads(body)["detail"]
        proxy.restore()
        assert get(url, headers)[0] == 200
    finally:
        server.terminate()
        server.wait(10)
        proxy.close()
