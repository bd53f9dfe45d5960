"""Durable period recomputes (branches.models.runs): request, fan out, finish, sweep.

A run is recorded with its chunks (one per city) in the requesting transaction and sent to
the workers after it commits, as a Celery group of one task per chunk. Each chunk writes its
ratings and its own completion in one transaction; whichever chunk commits last records the
run's completion. Nothing depends on a message surviving: the sweep sends again whatever is
unfinished and has been quiet for `RECOMPUTE_STALE_SECONDS`. Without a broker (the embedded
default) the run is done in this process, in one recompute of its whole scope.
"""

import logging
from datetime import date, timedelta

from celery import current_app, group
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Substr
from django.utils import timezone

from branches.models import (
    BranchRating,
    OrgUnit,
    Rating,
    RecomputeChunk,
    RecomputeRun,
    StarAssessment,
)
from branches.services.recompute import CITY_PATH_LENGTH, RecomputeResult, ratings_recompute
from branches.signals import run_finished
from governance.database import statistics_refresh

logger = logging.getLogger(__name__)

TOTALS = ("branches", "written", "unchanged", "without_criteria")


def run_request(
    *, period: date, kind: str = Rating.MONTHLY, under: OrgUnit | None = None, origin: str
) -> RecomputeRun:
    """Record a recompute of `period` (every rated branch, or those under `under`) and send it
    once the transaction commits. While one of the same scope is unfinished, that one is
    returned: asking twice does the work once."""
    period = date(period.year, 1, 1) if kind == Rating.ANNUAL else period.replace(day=1)
    pending = RecomputeRun.objects.filter(
        period=period, kind=kind, under=under, finished_at__isnull=True
    )
    with transaction.atomic():
        if run := pending.first():
            return run
        try:
            with transaction.atomic():
                run = RecomputeRun.objects.create(
                    period=period, kind=kind, under=under, origin=origin
                )
        except IntegrityError:
            # Another request of the same scope committed first.
            return pending.get()
        chunks = [
            RecomputeChunk(run=run, unit_id=unit_id, branches=branches)
            for unit_id, branches in _plan(under)
        ]
        RecomputeChunk.objects.bulk_create(chunks)
        if not chunks:
            run.started_at = run.finished_at = timezone.now()
            run.result = RecomputeResult(period=period.isoformat(), kind=kind).as_dict()
            run.save(update_fields=["started_at", "finished_at", "result"])
        else:
            transaction.on_commit(lambda: run_send(run.pk))
    return run


def _plan(under: OrgUnit | None) -> list[tuple[int, int]]:
    """[(unit id, rated branches under it)] of a run's chunks: a scope within one city is one
    chunk; a wider one has a chunk per city with rated branches (a branch placed straight
    under the province is a chunk of its own)."""
    rated = OrgUnit.objects.rated()
    if under is not None:
        rated = rated.filter(path__startswith=under.path)
        if len(under.path) >= CITY_PATH_LENGTH:
            count = rated.count()
            return [(under.pk, count)] if count else []
    counts = dict(
        rated.annotate(city=Substr("path", 1, CITY_PATH_LENGTH))
        .order_by()
        .values("city")
        .annotate(n=Count("pk"))
        .values_list("city", "n")
    )
    units = OrgUnit.objects.filter(path__in=list(counts)).values_list("pk", "path")
    return [(pk, counts[path]) for pk, path in units]


def run_send(run_id: int, *, chunk_ids: list[int] | None = None) -> int:
    """Send the run's unfinished chunks (or those of `chunk_ids`) to the workers, largest
    first so that the workers finish together; the number sent. Without a broker the whole
    run is done here instead. A broker that is down costs one warning: the sweep sends later."""
    if current_app.conf.task_always_eager:
        run_execute(run_id)
        return 0
    from branches.tasks import recompute_chunk

    chunks = RecomputeChunk.objects.filter(run_id=run_id, finished_at__isnull=True)
    if chunk_ids is not None:
        chunks = chunks.filter(pk__in=chunk_ids)
    ids = list(chunks.order_by("-branches", "pk").values_list("pk", flat=True))
    if not ids:
        return 0
    # Marked as sent before sending: a send that fails is then as quiet as a lost message.
    RecomputeChunk.objects.filter(pk__in=ids).update(sent_at=timezone.now(), sends=F("sends") + 1)
    try:
        group(recompute_chunk.si(pk) for pk in ids).apply_async()
    except Exception as error:
        logger.warning(
            "could not send recompute run %s (%s chunks; %s: %s); the sweep will send it again",
            run_id,
            len(ids),
            type(error).__name__,
            error,
        )
        return 0
    return len(ids)


def run_execute(run_id: int) -> dict:
    """The whole run in this process, in one recompute of its scope (no broker)."""
    with transaction.atomic():
        run = RecomputeRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.finished_at is not None:
            return run.result if run else {}
        run.started_at = run.started_at or timezone.now()
        result = ratings_recompute(period=run.period, kind=run.kind, under=run.under).as_dict()
        now = timezone.now()
        run.chunks.filter(finished_at__isnull=True).update(
            started_at=run.started_at, finished_at=now
        )
        run.finished_at, run.result = now, result
        run.save(update_fields=["started_at", "finished_at", "result"])
        statistics_refresh(StarAssessment, BranchRating, rows=result["written"])
    return result


def chunk_execute(chunk_id: int) -> dict:
    """One chunk's recompute; its completion is written with its ratings, in one transaction.
    A chunk already done (a message sent twice) does nothing."""
    now = timezone.now()
    # Marked outside the chunk's transaction: concurrent chunks must not wait on the run's row.
    RecomputeChunk.objects.filter(pk=chunk_id, finished_at__isnull=True).update(started_at=now)
    chunk = RecomputeChunk.objects.select_related("run").filter(pk=chunk_id).first()
    if chunk is None or chunk.finished_at is not None:
        return {"chunk": chunk_id, "done_before": True}
    RecomputeRun.objects.filter(pk=chunk.run_id, started_at__isnull=True).update(started_at=now)
    with transaction.atomic():
        # A second delivery of the same chunk waits here for the first and then finds it done.
        locked = RecomputeChunk.objects.select_for_update().filter(pk=chunk_id).first()
        if locked is None or locked.finished_at is not None:
            return {"chunk": chunk_id, "done_before": True}
        run = chunk.run
        unit = OrgUnit.objects.get(pk=chunk.unit_id)
        result = ratings_recompute(period=run.period, kind=run.kind, under=unit).as_dict()
        RecomputeChunk.objects.filter(pk=chunk_id).update(finished_at=timezone.now(), result=result)
    run_finish_if_complete(chunk.run_id)
    return {"chunk": chunk_id, **result}


def run_finish_if_complete(run_id: int) -> bool:
    """Record the run's completion if every chunk is done. Each chunk calls it after its own
    commit, so the last of two chunks finishing at once always sees both (and the sweep calls
    it too, for a worker lost between the two)."""
    results = list(
        RecomputeChunk.objects.filter(run_id=run_id).values_list("finished_at", "result")
    )
    if any(finished is None for finished, _result in results):
        return False
    run = RecomputeRun.objects.filter(pk=run_id).values("period", "kind").first()
    if run is None:
        return False
    total = RecomputeResult(period=run["period"].isoformat(), kind=run["kind"]).as_dict()
    for _finished, result in results:
        for key in TOTALS:
            total[key] += result.get(key, 0)
    finished = RecomputeRun.objects.filter(pk=run_id, finished_at__isnull=True).update(
        finished_at=timezone.now(), result=total
    )
    if finished:
        # Once per run, not per chunk: the chunks' ANALYZEs would queue behind each other.
        statistics_refresh(StarAssessment, BranchRating, rows=total["written"])
        transaction.on_commit(lambda: run_finished.send(sender=RecomputeRun, run_id=run_id))
    return bool(finished)


def runs_sweep() -> dict:
    """Bring back what a killed worker, a lost message or a task out of retries left: close
    the runs whose chunks are all done and send again every unfinished chunk that has been
    neither sent nor started for `RECOMPUTE_STALE_SECONDS`."""
    quiet_since = timezone.now() - timedelta(seconds=settings.RECOMPUTE_STALE_SECONDS)
    open_runs = list(
        RecomputeRun.objects.filter(finished_at__isnull=True).values_list("pk", flat=True)
    )
    finished = sum(run_finish_if_complete(pk) for pk in open_runs)
    stale = (
        RecomputeChunk.objects.filter(run__finished_at__isnull=True, finished_at__isnull=True)
        .filter(Q(sent_at__isnull=True) | Q(sent_at__lt=quiet_since))
        .filter(Q(started_at__isnull=True) | Q(started_at__lt=quiet_since))
        .values_list("run_id", "pk")
    )
    by_run: dict[int, list[int]] = {}
    for run_id, pk in stale:
        by_run.setdefault(run_id, []).append(pk)
    resent = sum(run_send(run_id, chunk_ids=ids) for run_id, ids in by_run.items())
    if resent:
        logger.warning("the sweep sent %s unfinished recompute chunks again", resent)
    return {"finished": finished, "resent": resent}


def open_month() -> date:
    return timezone.localdate().replace(day=1)


def open_month_ensure_rated() -> RecomputeRun | None:
    """The first change of the open month asks for every branch to be rated in it, so that
    the month never shows the touched branches only; later changes need nothing more (the
    nightly run refreshes the rest)."""
    period = open_month()
    whole = RecomputeRun.objects.filter(period=period, kind=Rating.MONTHLY, under__isnull=True)
    if whole.exists():
        return None
    return run_request(period=period, origin=RecomputeRun.Origin.OPEN_MONTH)


def period_status(period: date, kind: str = Rating.MONTHLY) -> dict:
    """What a rating page says about its period: still open (进行中) and whether a recompute of
    every branch is under way."""
    pending = RecomputeRun.objects.filter(
        period=period, kind=kind, under__isnull=True, finished_at__isnull=True
    ).exists()
    is_open = kind == Rating.MONTHLY and period == open_month()
    return {"is_open": is_open, "recomputing": pending}
