"""Celery tasks of the rating engine: thin wrappers that take ids and call the services.

Every period recompute is a durable row (branches.services.runs) before it is a message, so
a killed worker or a task that ran out of retries is brought back by the sweep.
"""

import logging
from datetime import date

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from branches.models import OrgUnit, Rating, RecomputeRun
from branches.services import recompute, runs

logger = logging.getLogger(__name__)

# Transient failures worth retrying: the database went away or refused a connection.
TRANSIENT = (OperationalError, InterfaceError)
# Exponential backoff without jitter, so the total wait is known: 2, 4, … 256 s, then 300 s
# each; the default 13 retries wait 2,010 s in all, so a 30-minute database outage is ridden
# out. A task that still gives up leaves its durable record for the sweep.
RETRY = {
    "autoretry_for": TRANSIENT,
    "retry_backoff": settings.RECOMPUTE_RETRY_BACKOFF,
    "retry_backoff_max": settings.RECOMPUTE_RETRY_BACKOFF_MAX,
    "retry_jitter": False,
    "max_retries": settings.RECOMPUTE_RETRY_MAX,
}


@shared_task(**RETRY)
def recompute_branch_month(unit_id: int, period: str) -> dict:
    """Recompute one branch's month after a submit, approval, return or unlock (and, in the
    open month's first change, ask for every branch to be rated in it)."""
    month = date.fromisoformat(period)
    result = recompute.branch_month_recompute(unit_id=unit_id, period=month)
    if recompute.months_affected(month)[-1] == runs.open_month():
        runs.open_month_ensure_rated()
    return result.as_dict()


@shared_task(**RETRY)
def recompute_chunk(chunk_id: int) -> dict:
    """One chunk (a city) of a period recompute."""
    return runs.chunk_execute(chunk_id)


@shared_task(**RETRY)
def recompute_period(period: str, under_code: str | None = None) -> int:
    """Ask for a month to be recomputed (every rated branch, or those under a unit); the id
    of its durable run."""
    under = OrgUnit.objects.get(code=under_code) if under_code else None
    run = runs.run_request(
        period=date.fromisoformat(period), under=under, origin=RecomputeRun.Origin.ON_DEMAND
    )
    return run.pk


@shared_task(**RETRY)
def sweep_recomputes() -> dict:
    """Bring back lost recompute work: branch-months whose recompute never reached a worker
    (broker down) and period recompute chunks left unfinished (worker killed, retries spent)."""
    marked = recompute.marked_reports_recompute().as_dict()
    return {"marked_reports": marked, **runs.runs_sweep()}


@shared_task(**RETRY)
def recompute_closed_month() -> dict:
    """The monthly beat job: recompute the month that just closed (run on the 1st); after
    December, the year's annual rating too. The ids of the durable runs it asked for."""
    today = timezone.localdate()
    closed = (
        date(today.year - 1, 12, 1) if today.month == 1 else date(today.year, today.month - 1, 1)
    )
    logger.info("recomputing closed month %s", closed)
    origin = RecomputeRun.Origin.CLOSED_MONTH
    asked = {"monthly": runs.run_request(period=closed, origin=origin).pk}
    if closed.month == 12:
        asked["annual"] = runs.run_request(period=closed, kind=Rating.ANNUAL, origin=origin).pk
    return asked


@shared_task(**RETRY)
def recompute_open_month() -> int:
    """The nightly beat job: rate every branch in the month still open (进行中), so that its
    figures are whole, not just the branches that changed."""
    run = runs.run_request(period=runs.open_month(), origin=RecomputeRun.Origin.OPEN_MONTH)
    return run.pk


@shared_task(**RETRY)
def mark_rectifications_overdue() -> int:
    """Daily: open rectification items past their deadline become 逾期 (idempotent)."""
    from branches.services.rectification import rectifications_mark_overdue

    return rectifications_mark_overdue()
