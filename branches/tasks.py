"""Celery tasks of the rating engine: thin wrappers that take ids and call the recompute service."""

import logging
from datetime import date

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from branches.models import OrgUnit, Rating
from branches.services import recompute

logger = logging.getLogger(__name__)

# Transient failures worth retrying: the database went away or refused a connection.
TRANSIENT = (OperationalError, InterfaceError)
RETRY = {
    "autoretry_for": TRANSIENT,
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(**RETRY)
def recompute_branch_month(unit_id: int, period: str) -> dict:
    """Recompute one branch's month after a submit, approval, return or unlock."""
    result = recompute.branch_month_recompute(unit_id=unit_id, period=date.fromisoformat(period))
    return result.as_dict()


@shared_task(**RETRY)
def recompute_period(period: str, under_code: str | None = None) -> dict:
    """Recompute a month (every rated branch, or those under a unit)."""
    under = OrgUnit.objects.get(code=under_code) if under_code else None
    result = recompute.ratings_recompute(period=date.fromisoformat(period), under=under)
    return result.as_dict()


@shared_task(**RETRY)
def sweep_marked_reports() -> dict:
    """Recompute the branch-months whose recompute never reached a worker (broker down)."""
    return recompute.marked_reports_recompute().as_dict()


@shared_task(**RETRY)
def recompute_closed_month() -> dict:
    """The monthly beat job: recompute the month that just closed (run on the 1st);
    after December, the year's annual rating too."""
    today = timezone.localdate()
    closed = (
        date(today.year - 1, 12, 1) if today.month == 1 else date(today.year, today.month - 1, 1)
    )
    logger.info("recomputing closed month %s", closed)
    result = recompute.ratings_recompute(period=closed).as_dict()
    if closed.month == 12:
        annual = recompute.ratings_recompute(period=closed, kind=Rating.ANNUAL)
        result["annual"] = annual.as_dict()
    return result
