"""Celery tasks of the oversight layer: thin wrappers around the services."""

from datetime import date

from celery import shared_task

from governance.services.notifications import notifications_purge


@shared_task
def purge_notifications() -> int:
    """The nightly purge of notifications past their retention period (idempotent)."""
    return notifications_purge()


@shared_task
def generate_supervision_reports(period: str, unit_id: int | None = None) -> dict:
    """Every report of the month (or those under one unit): drafts replaced, published kept."""
    from branches.models import OrgUnit
    from governance.services.supervision import reports_generate

    root = OrgUnit.objects.get(pk=unit_id) if unit_id else None
    return reports_generate(date.fromisoformat(period), root)


def supervision_after_run(sender, run_id: int, **kwargs) -> None:
    """Enqueue the month's reports when the finished run is the closed month's recompute of
    every branch."""
    from branches.models import Rating, RecomputeRun

    run = RecomputeRun.objects.filter(
        pk=run_id,
        origin=RecomputeRun.Origin.CLOSED_MONTH,
        under__isnull=True,
        kind=Rating.MONTHLY,
    ).first()
    if run is not None:
        generate_supervision_reports.delay(run.period.isoformat())


def supervision_after_demo(sender, months, **kwargs) -> None:
    """The demo's last closed month gets its reports: drafts, the demo county's published by
    the demo county leader (so that a demo walk shows both)."""
    from governance.models import SupervisionReport, User
    from governance.services.supervision import report_publish, reports_generate

    if not months:
        return
    reports_generate(months[-1])
    county_leader = User.objects.filter(username="demo_xian").select_related("unit").first()
    report = SupervisionReport.objects.filter(
        period=months[-1], is_latest=True, unit=getattr(county_leader, "unit", None)
    ).first()
    if report is not None and not report.is_published:
        report_publish(county_leader, report)
