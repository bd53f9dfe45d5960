"""Reported events (事件上报) and their workflow; every step writes a GridEventStep.

REPORTED 已上报 --accept--> ACCEPTED 已受理 --dispatch (to a unit or a person, deadline)-->
DISPATCHED 已派单 --handle (result)--> HANDLED 已处置 --feedback--> FEEDBACK 已反馈
--close--> CLOSED 已办结. REPORTED/ACCEPTED --return (reason)--> RETURNED 已退回.
Any open event --another app's registered action--> CONVERTED 已转为纠纷案件 (the seam below).

Who: anyone who may report (grid workers in their grids, township staff, secretaries)
reports; the township (`User.can_handle_grid_events`) accepts, dispatches, returns, closes;
the assignee (the person, or a user of the unit) or the township handles; the reporter, a
worker of the grid or the township gives the feedback.
"""

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branches.models import OrgUnit
from branches.services.notifications import notify_users
from branches.services.workflow import evidence_check
from grids.models import Grid, GridAssignment, GridEvent, GridEventPhoto, GridEventStep, Household
from grids.services.common import actor_name, clean_text, require

Status = GridEvent.Status
Action = GridEventStep.Action
DESCRIPTION_MAX = 2000
NOTE_MAX = 1000
PHOTOS_MAX = 9

# action: (the statuses it may start from, the status it leads to)
TRANSITIONS = {
    Action.ACCEPTED: ((Status.REPORTED,), Status.ACCEPTED),
    Action.DISPATCHED: ((Status.ACCEPTED,), Status.DISPATCHED),
    Action.HANDLED: ((Status.DISPATCHED,), Status.HANDLED),
    Action.FEEDBACK: ((Status.HANDLED,), Status.FEEDBACK),
    Action.CLOSED: ((Status.FEEDBACK,), Status.CLOSED),
    Action.RETURNED: ((Status.REPORTED, Status.ACCEPTED), Status.RETURNED),
    Action.CONVERTED: (GridEvent.OPEN_STATUSES, Status.CONVERTED),
}


class EventConflict(ValidationError):
    pass


def event_url(event: GridEvent) -> str:
    return reverse("grids:event_detail", args=[event.number])


def _label(status) -> str:
    return str(Status(status).label)


def check_transition(event: GridEvent, action: str) -> str:
    """The status `action` leads to, or a ValidationError saying why not (in Chinese)."""
    starts, target = TRANSITIONS[action]
    if event.status not in starts:
        raise ValidationError(
            _("事件当前为“%(status)s”，不能%(action)s：只有%(allowed)s的事件可以%(action)s。")
            % {
                "status": _label(event.status),
                "action": Action(action).label,
                "allowed": "、".join(f"“{_label(s)}”" for s in starts),
            }
        )
    return target


def _step(event, user, action, *, before="", after="", note="") -> GridEventStep:
    return GridEventStep.objects.create(
        event=event,
        action=action,
        from_status=before,
        to_status=after,
        actor=user,
        actor_name=actor_name(user),
        note=note,
    )


def _advance(event: GridEvent, user, action: str, *, note: str = "", **changes) -> GridEvent:
    """Move the event along `action` if nobody moved it first (a conditional update)."""
    before = event.status
    target = check_transition(event, action)
    updated = GridEvent.objects.filter(pk=event.pk, status=before).update(
        status=target, version=F("version") + 1, updated_at=timezone.now(), **changes
    )
    if not updated:
        event.refresh_from_db()
        raise EventConflict(
            _("该事件在您打开之后已被他人处理（现在为“%(status)s”），请刷新后再操作。")
            % {"status": _label(event.status)}
        )
    event.refresh_from_db()
    event.save(update_fields=["updated_at"])  # the history row of the step
    _step(event, user, action, before=before, after=target, note=note)
    return event


def _visible(user, event: GridEvent) -> None:
    if not GridEvent.objects.visible_to(user).filter(pk=event.pk).exists():
        raise PermissionDenied(_("该事件不在您的管辖范围内。"))


def _handles(user, event: GridEvent) -> None:
    require(user.can_handle_grid_events, _("您的角色不能办理事件（受理、派单、退回、办结）。"))
    _visible(user, event)


def is_grid_worker_of(user, grid_id: int) -> bool:
    return GridAssignment.objects.current().filter(worker__user=user, grid_id=grid_id).exists()


def may_handle(user, event: GridEvent) -> bool:
    if user.is_read_only:
        return False
    if user.can_handle_grid_events:
        return True
    if event.assignee_user_id is not None:
        return event.assignee_user_id == user.pk
    return event.assignee_unit_id is not None and event.assignee_unit_id == user.unit_id


def may_feedback(user, event: GridEvent) -> bool:
    if user.is_read_only:
        return False
    return (
        user.can_handle_grid_events
        or event.reporter_id == user.pk
        or is_grid_worker_of(user, event.grid_id)
    )


def _number() -> str:
    return "T" + uuid.uuid4().hex[:19]


@transaction.atomic
def event_report(
    *,
    user,
    grid: Grid,
    category: str,
    description: str,
    location: str = "",
    household: Household | None = None,
    photos=(),
) -> GridEvent:
    require(user.can_report_grid_events, _("您的角色不能上报事件。"))
    if not Grid.objects.visible_to(user).filter(pk=grid.pk).exists():
        raise PermissionDenied(_("该网格不在您负责的范围内。"))
    if category not in GridEvent.Category.values:
        raise ValidationError(_("请选择事件类别。"))
    if household is not None and household.grid_id != grid.pk:
        raise ValidationError(_("所选住户不在该网格内。"))
    photos = list(photos)
    if len(photos) > PHOTOS_MAX:
        raise ValidationError(_("最多上传 %(max)s 张照片。") % {"max": PHOTOS_MAX})
    for photo in photos:
        photo_check(photo)
    now = timezone.now()
    event = GridEvent.objects.create(
        number=_number(),
        grid=grid,
        household=household,
        category=category,
        description=clean_text(
            _("事件描述"), description, required=True, limit=DESCRIPTION_MAX, multiline=True
        ),
        location=clean_text(_("地点"), location, required=False, limit=200),
        reporter=user,
        reporter_name=actor_name(user),
        reported_at=now,
    )
    event.number = f"SJ{timezone.localdate(now):%Y}{event.pk:07d}"
    event.save(update_fields=["number"])
    _step(event, user, Action.REPORTED, after=Status.REPORTED)
    for photo in photos:
        _photo(event, user, photo)
    return event


# An event's photos: pictures, or a PDF of them (a scan).
PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png", ".pdf")


def photo_check(upload) -> None:
    """A photo's type by name, then the evidence checks (content, size)."""
    name = os.path.basename(upload.name or "")
    if not name.lower().endswith(PHOTO_EXTENSIONS):
        raise ValidationError(
            _("文件“%(name)s”不是照片：请上传 jpg、png 或 pdf 文件。") % {"name": name}
        )
    evidence_check(upload)


def _photo(event, user, upload) -> GridEventPhoto:
    name = os.path.basename(upload.name)
    photo = GridEventPhoto.objects.create(
        event=event, file=upload, original_name=name[:200], size=upload.size, uploaded_by=user
    )
    _step(event, user, Action.PHOTO_ADDED, note=name)
    return photo


@transaction.atomic
def event_accept(*, event: GridEvent, user, note: str = "") -> GridEvent:
    _handles(user, event)
    note = clean_text(_("说明"), note, required=False, limit=NOTE_MAX, multiline=True)
    return _advance(event, user, Action.ACCEPTED, note=note)


@transaction.atomic
def event_dispatch(
    *,
    event: GridEvent,
    user,
    deadline: date,
    assignee_unit: OrgUnit | None = None,
    assignee_user=None,
    note: str = "",
) -> GridEvent:
    _handles(user, event)
    check_transition(event, Action.DISPATCHED)
    if assignee_unit is None and assignee_user is None:
        raise ValidationError(_("派单须指定承办单位或承办人。"))
    visible_units = OrgUnit.objects.visible_to(user)
    if assignee_unit is not None and not visible_units.filter(pk=assignee_unit.pk).exists():
        raise ValidationError(_("承办单位不在您的管辖范围内。"))
    if assignee_user is not None:
        if not assignee_user.is_active or assignee_user.is_read_only:
            raise ValidationError(_("承办人须是可办理事务的在用账号（领导、审计人员不能承办）。"))
        if (
            assignee_user.unit_id is None
            or not visible_units.filter(pk=assignee_user.unit_id).exists()
        ):
            raise ValidationError(_("承办人不在您的管辖范围内。"))
    if deadline < timezone.localdate():
        raise ValidationError(
            _("办理期限不能早于今天（%(today)s）。") % {"today": timezone.localdate()}
        )
    note = clean_text(_("派单说明"), note, required=False, limit=NOTE_MAX, multiline=True)
    whom = assignee_user.get_full_name() or assignee_user.username if assignee_user else ""
    target = " / ".join(x for x in [assignee_unit.name if assignee_unit else "", whom] if x)
    event = _advance(
        event,
        user,
        Action.DISPATCHED,
        note=(_("派至%(to)s，期限 %(deadline)s") % {"to": target, "deadline": deadline})
        + (f"；{note}" if note else ""),
        assignee_unit=assignee_unit,
        assignee_user=assignee_user,
        deadline=deadline,
    )
    if assignee_user is not None:
        recipients = [assignee_user]
    else:
        recipients = list(
            get_user_model()
            .objects.filter(unit=assignee_unit, is_active=True)
            .exclude(role__in=["LEADER", "AUDITOR"])
        )
    notify_users(
        recipients=recipients,
        unit=event.grid.unit,
        text=_("事件 %(number)s（%(category)s）已派给您办理，期限 %(deadline)s。")
        % {"number": event.number, "category": event.get_category_display(), "deadline": deadline},
        url=event_url(event),
    )
    return event


@transaction.atomic
def event_handle(*, event: GridEvent, user, result: str) -> GridEvent:
    _visible(user, event)
    require(may_handle(user, event), _("只有承办人（或乡镇工作人员）可以登记处置结果。"))
    result = clean_text(_("处置结果"), result, required=True, limit=DESCRIPTION_MAX, multiline=True)
    return _advance(
        event, user, Action.HANDLED, note=result, result=result, handled_at=timezone.now()
    )


@transaction.atomic
def event_feedback(*, event: GridEvent, user, note: str) -> GridEvent:
    _visible(user, event)
    require(may_feedback(user, event), _("只有上报人、本网格网格员或乡镇工作人员可以反馈结果。"))
    note = clean_text(_("反馈情况"), note, required=True, limit=NOTE_MAX, multiline=True)
    return _advance(event, user, Action.FEEDBACK, note=note)


@transaction.atomic
def event_close(*, event: GridEvent, user, note: str = "") -> GridEvent:
    _handles(user, event)
    note = clean_text(_("说明"), note, required=False, limit=NOTE_MAX, multiline=True)
    return _advance(event, user, Action.CLOSED, note=note, closed_at=timezone.now())


@transaction.atomic
def event_return(*, event: GridEvent, user, reason: str) -> GridEvent:
    _handles(user, event)
    reason = clean_text(_("退回原因"), reason, required=True, limit=NOTE_MAX, multiline=True)
    event = _advance(event, user, Action.RETURNED, note=reason, closed_at=timezone.now())
    notify_users(
        recipients=[event.reporter],
        unit=event.grid.unit,
        text=_("您上报的事件 %(number)s 被%(actor)s退回：%(reason)s")
        % {"number": event.number, "actor": actor_name(user), "reason": reason},
        url=event_url(event),
    )
    return event


@transaction.atomic
def event_photo_add(*, event: GridEvent, user, upload) -> GridEventPhoto:
    _visible(user, event)
    require(
        not user.is_read_only and (user.can_handle_grid_events or may_feedback(user, event)),
        _("您不能为该事件添加照片。"),
    )
    if not event.is_open:
        raise ValidationError(_("事件已结束，不能再添加照片。"))
    if event.photos.count() >= PHOTOS_MAX:
        raise ValidationError(_("每个事件最多 %(max)s 张照片。") % {"max": PHOTOS_MAX})
    photo_check(upload)
    return _photo(event, user, upload)


# The seam for other apps (the disputes app): an extra action on an event, registered in the
# other app's AppConfig.ready(); grids never imports it.
@dataclass(frozen=True)
class EventAction:
    key: str
    label: str
    # Whether `user` may take the action on `event` (the page shows the button only then).
    allowed: Callable
    # The page to start the action at (the other app's form), given the event.
    url: Callable


class EventActionRegistry:
    def __init__(self):
        self._actions: dict[str, EventAction] = {}

    def register(self, key: str, *, label, allowed: Callable, url: Callable) -> EventAction:
        if key in self._actions:
            raise ValueError(f"event action {key!r} is already registered")
        self._actions[key] = EventAction(key=key, label=label, allowed=allowed, url=url)
        return self._actions[key]

    def unregister(self, key: str) -> None:
        self._actions.pop(key, None)

    def for_event(self, event: GridEvent, user) -> list[EventAction]:
        """The actions `user` may take on `event` now (none once the event is over)."""
        if not event.is_open:
            return []
        return [a for a in self._actions.values() if a.allowed(user, event)]

    def keys(self) -> list[str]:
        return sorted(self._actions)


event_actions = EventActionRegistry()
CONVERTED_LABEL = gettext_lazy("已转为纠纷案件")


@transaction.atomic
def event_mark_converted(*, event: GridEvent, actor, reference: str, url: str = "") -> GridEvent:
    """Another app took the event over (e.g. 转为纠纷案件): record the step and its case."""
    _visible(actor, event)
    require(not actor.is_read_only, _("您的角色不能转办事件。"))
    reference = clean_text(_("案件编号"), reference, required=True, limit=40, name=True)
    if url and (not url.startswith("/") or url.startswith("//")):
        raise ValidationError(_("转办案件的链接须是门户内的页面地址。"))
    return _advance(
        event,
        actor,
        Action.CONVERTED,
        note=_("已转为纠纷案件 %(reference)s") % {"reference": reference},
        converted_reference=reference,
        converted_url=url[:300],
        closed_at=timezone.now(),
    )
