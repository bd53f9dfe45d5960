"""In-portal notifications: made from a report's workflow events, in the step's transaction.

`notifications_for_events` is registered as a listener of `branches.services.workflow` (see
GovernanceConfig.ready): a return, an approval or an unlock notifies the report's latest
submitter and the staff of the branch's township; a resubmission after a return notifies the
township's staff (one of them reviews it). Never the person who took the step. A report's
newest notified step supersedes its earlier ones: they are marked read, so nobody is told to
fix a report already resubmitted or to review one already approved.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from branches.models import OrgUnit, ReportEvent
from governance.models import Notification, User

Action = ReportEvent.Action
NOTIFIED_ACTIONS = frozenset(
    {Action.RETURNED, Action.APPROVED, Action.UNLOCKED, Action.RESUBMITTED}
)


def _ancestor_paths(path: str) -> list[str]:
    """The paths of a unit and of every unit above it."""
    step = OrgUnit.steplen
    return [path[:end] for end in range(step, len(path) + 1, step)]


def _sees(path: str | None, role: str, is_superuser: bool, branch_path: str) -> bool:
    """Whether a user whose unit has `path` may see the branch (jurisdiction_path's rule)."""
    if path is None:
        return is_superuser or role == User.Role.ADMIN
    return branch_path.startswith(path)


def notifications_for_events(*, events: list[ReportEvent]) -> list[Notification]:
    """The notifications of returned, resubmitted, approved and unlocked events: one query for
    the recipients of all of them, one to supersede earlier ones, one insert. No transaction of
    its own: it runs in the one of the step that recorded the events, and falls with it."""
    wanted = [event for event in events if event.action in NOTIFIED_ACTIONS]
    if not wanted:
        return []
    newest = {}
    for event in sorted(wanted, key=lambda e: e.pk):  # a report's steps in their order
        newest[event.report_id] = event
    _superseded_settle(newest.values())
    branch_paths = {event.pk: event.report.unit.path for event in wanted}
    prefixes = {p for path in branch_paths.values() for p in _ancestor_paths(path)}
    submitters = {event.report.submitted_by_id for event in wanted} - {None}
    candidates = list(
        User.objects.filter(is_active=True)
        .filter(Q(role=User.Role.TOWNSHIP_STAFF, unit__path__in=prefixes) | Q(pk__in=submitters))
        .values_list("pk", "role", "is_superuser", "unit__path")
    )
    rows = []
    for event in wanted:
        branch_path = branch_paths[event.pk]
        for pk, role, is_superuser, path in candidates:
            staff = role == User.Role.TOWNSHIP_STAFF
            # A resubmission awaits a reviewer; the others concern the submitter too.
            concerned = staff or (
                pk == event.report.submitted_by_id and event.action != Action.RESUBMITTED
            )
            if concerned and pk != event.actor_id and _sees(path, role, is_superuser, branch_path):
                # Several steps of one report at once (the demo): the older ones are read.
                later = newest[event.report_id]
                read_at = None if later is event else later.occurred_at
                rows.append(
                    Notification(
                        recipient_id=pk, event=event, created_at=event.occurred_at, read_at=read_at
                    )
                )
    # Announcing an event twice (the demo re-run) adds nothing.
    return Notification.objects.bulk_create(rows, ignore_conflicts=True)


def _superseded_settle(newest) -> None:
    """Mark read the unread notifications of earlier steps of the reports of `newest` (each
    report's newest notified event)."""
    earlier = Q(pk__in=[])
    for event in newest:
        earlier |= Q(event__report_id=event.report_id, event_id__lt=event.pk)
    Notification.objects.filter(earlier, read_at__isnull=True).update(read_at=timezone.now())


def notifications_for_request(*, notices: list, **_):
    """Store the notices another app sent (branches.signals.notification_requested) in that
    app's transaction: one query for the recipients, one insert. Inactive accounts are skipped."""
    wanted = {pk for notice in notices for pk in notice.recipients}
    active = set(User.objects.filter(pk__in=wanted, is_active=True).values_list("pk", flat=True))
    now = timezone.now()
    Notification.objects.bulk_create(
        Notification(recipient_id=pk, unit=n.unit, text=n.text, url=n.url, created_at=now)
        for n in notices
        for pk in n.recipients
        if pk in active
    )


@transaction.atomic
def notification_mark_read(*, notification: Notification) -> Notification:
    """Mark one notification read (again: nothing changes)."""
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )
    return notification


@transaction.atomic
def notifications_mark_all_read(*, user) -> int:
    """Mark every unread notification of the user read; how many were marked."""
    return Notification.objects.visible_to(user).unread().update(read_at=timezone.now())


@transaction.atomic
def notifications_purge(*, now: datetime | None = None) -> int:
    """Delete notifications older than NOTIFICATION_RETENTION_DAYS; how many went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.NOTIFICATION_RETENTION_DAYS)
    deleted, _by_model = Notification.objects.filter(created_at__lt=cutoff).delete()
    return deleted
