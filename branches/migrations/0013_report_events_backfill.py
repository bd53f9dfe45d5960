"""Reports from before the timeline: keep their first submission time, and give submitted and
approved ones the events their submitter/reviewer fields already tell."""

from django.db import migrations
from django.db.models import F

BATCH = 2000


def _name(user):
    if user is None:
        return ""
    full = f"{user.first_name} {user.last_name}".strip()
    return full or user.username


def backfill(apps, schema_editor):
    MonthlyReport = apps.get_model("branches", "MonthlyReport")
    ReportEvent = apps.get_model("branches", "ReportEvent")
    MonthlyReport.objects.filter(
        first_submitted_at__isnull=True, submitted_at__isnull=False
    ).update(first_submitted_at=F("submitted_at"))
    # The ids first: the events written below change what "reports without events" matches.
    ids = list(
        MonthlyReport.objects.filter(events__isnull=True)
        .exclude(submitted_at__isnull=True, reviewed_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for start in range(0, len(ids), BATCH):
        reports = MonthlyReport.objects.filter(pk__in=ids[start : start + BATCH]).select_related(
            "submitted_by", "reviewed_by"
        )
        ReportEvent.objects.bulk_create(
            [event for report in reports for event in _events(ReportEvent, report)]
        )


def _events(ReportEvent, report):
    if report.submitted_at is not None:
        yield ReportEvent(
            report=report,
            action="SUBMITTED",
            to_status="SUBMITTED",
            actor=report.submitted_by,
            actor_name=_name(report.submitted_by),
            occurred_at=report.submitted_at,
        )
    if report.status == "APPROVED" and report.reviewed_at is not None:
        yield ReportEvent(
            report=report,
            action="APPROVED",
            from_status="SUBMITTED",
            to_status="APPROVED",
            actor=report.reviewed_by,
            actor_name=_name(report.reviewed_by),
            occurred_at=report.reviewed_at,
        )


class Migration(migrations.Migration):
    dependencies = [("branches", "0012_report_events")]

    # The events written here are indistinguishable from later ones: undoing keeps them.
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
