"""Service orders (点单派单).

REQUESTED 待派单 --dispatch (team, deadline)--> DISPATCHED 已派单 --accept--> ACCEPTED 已接单
ACCEPTED --complete--> DONE 已完成 --rate (1-5, once)--> DONE
REQUESTED/DISPATCHED/ACCEPTED --cancel (reason)--> CANCELLED 已取消
Overdue: dispatched or accepted past the deadline (computed, never stored).
Who: staff, secretaries and grid workers record; the party organisation dispatches and
cancels; the team leader (or the dispatchers) accepts and completes. Every step is a row.
"""

from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.models import OrgUnit
from volunteers.models import ServiceOrder, ServiceOrderStep, Team
from volunteers.services.activities import is_leader_of
from volunteers.services.notifications import notify
from volunteers.services.teams import check_unit, require
from volunteers.services.text import clean_name, clean_phone, clean_text

Status = ServiceOrder.Status
Action = ServiceOrderStep.Action
# Plausibility: a service wanted or due more than a year ahead is a typing slip (2062 for 2026).
AHEAD_MAX = timedelta(days=366)


def _step(order, user, action, before, note="") -> ServiceOrderStep:
    return ServiceOrderStep.objects.create(
        order=order,
        action=action,
        from_status=before,
        to_status=order.status,
        actor=user,
        actor_name=(user.get_full_name() or user.username) if user else "",
        note=note,
    )


def _locked(user, order: ServiceOrder) -> ServiceOrder:
    found = (
        ServiceOrder.objects.visible_to(user)
        .select_for_update(of=("self",))
        .select_related("team__leader", "unit")
        .filter(pk=order.pk)
        .first()
    )
    if found is None:
        raise PermissionDenied(_("该服务订单不在您的管辖范围内。"))
    return found


def _expect(order: ServiceOrder, allowed, verb: str) -> None:
    if order.status not in allowed:
        raise ValidationError(
            _("该订单当前状态为“%(status)s”，不能%(verb)s。")
            % {"status": order.get_status_display(), "verb": verb}
        )


def shows_resident(user) -> bool:
    """A resident's name and phone in full for the roles that take and handle orders; the
    read-only roles (leaders, auditors) read them masked, on the page and in the API."""
    return user.can_take_orders


def may_work(user, order: ServiceOrder) -> bool:
    return user.can_dispatch_orders or (order.team is not None and is_leader_of(user, order.team))


@transaction.atomic
def order_create(
    *,
    user,
    unit: OrgUnit,
    category: str,
    description: str,
    resident_name: str,
    resident_phone: str = "",
    wanted_on: date | None = None,
) -> ServiceOrder:
    require(user.can_take_orders)
    check_unit(user, unit)
    if category not in ServiceOrder.Category.values:
        raise ValidationError(_("请选择服务类别。"))
    if wanted_on is not None and wanted_on > timezone.localdate() + AHEAD_MAX:
        raise ValidationError(_("期望服务日期不能晚于一年以后，请检查年份。"))
    order = ServiceOrder(
        number="",
        unit=unit,
        category=category,
        description=clean_text(
            _("需求描述"), description, required=True, limit=1000, multiline=True
        ),
        resident_name=clean_name(_("居民姓名"), resident_name, limit=50),
        resident_phone=clean_phone(resident_phone),
        wanted_on=wanted_on,
        created_by=user,
    )
    order.number = f"tmp-{timezone.now().timestamp()}"[:20]
    order.save()
    order.number = f"FW{timezone.localdate():%Y%m}-{order.pk:06d}"
    order.save(update_fields=["number"])
    _step(order, user, Action.CREATED, "")
    return order


@transaction.atomic
def order_dispatch(*, user, order: ServiceOrder, team: Team, deadline: date) -> ServiceOrder:
    require(user.can_dispatch_orders, _("只有党组织（乡镇工作人员、支部书记）可以派单。"))
    order = _locked(user, order)
    _expect(order, (Status.REQUESTED,), _("派单"))
    if not Team.objects.visible_to(user).filter(pk=team.pk, is_active=True).exists():
        raise ValidationError(_("请选择您管辖范围内在册的志愿服务队。"))
    if deadline < timezone.localdate():
        raise ValidationError(_("完成期限不能早于今天。"))
    if deadline > timezone.localdate() + AHEAD_MAX:
        raise ValidationError(_("完成期限不能晚于一年以后，请检查年份。"))
    order.status = Status.DISPATCHED
    order.team = team
    order.deadline = deadline
    order.dispatched_at = timezone.now()
    order.save()
    _step(order, user, Action.DISPATCHED, Status.REQUESTED, note=team.name)
    leader = team.leader
    notify(
        recipients=[leader.user if leader else None],
        unit=order.unit,
        text=_("服务订单 %(number)s（%(category)s）已派给%(team)s，请在 %(deadline)s 前完成。")
        % {
            "number": order.number,
            "category": order.get_category_display(),
            "team": team.name,
            "deadline": deadline.isoformat(),
        },
        url=f"/volunteers/orders/{order.pk}/",
    )
    return order


@transaction.atomic
def order_accept(*, user, order: ServiceOrder) -> ServiceOrder:
    order = _locked(user, order)
    require(may_work(user, order), _("只有承接队伍的队长或派单人可以接单。"))
    _expect(order, (Status.DISPATCHED,), _("接单"))
    order.status = Status.ACCEPTED
    order.accepted_at = timezone.now()
    order.save()
    _step(order, user, Action.ACCEPTED, Status.DISPATCHED)
    return order


@transaction.atomic
def order_complete(*, user, order: ServiceOrder, note: str = "") -> ServiceOrder:
    order = _locked(user, order)
    require(may_work(user, order), _("只有承接队伍的队长或派单人可以办结。"))
    _expect(order, (Status.ACCEPTED,), _("办结（须先接单）"))
    note = clean_text(_("办理情况"), note, required=False, limit=500)
    order.status = Status.DONE
    order.completed_at = timezone.now()
    order.save()
    _step(order, user, Action.DONE, Status.ACCEPTED, note=note)
    return order


@transaction.atomic
def order_rate(*, user, order: ServiceOrder, satisfaction: int, note: str = "") -> ServiceOrder:
    require(user.can_take_orders)
    order = _locked(user, order)
    _expect(order, (Status.DONE,), _("评价"))
    if order.satisfaction is not None:
        raise ValidationError(_("该订单已评价过（%(n)s 分）。") % {"n": order.satisfaction})
    if isinstance(satisfaction, bool) or satisfaction not in range(1, 6):
        raise ValidationError(_("满意度须是 1 到 5 分。"))
    order.satisfaction = satisfaction
    order.save()
    _step(
        order,
        user,
        Action.RATED,
        Status.DONE,
        note=clean_text(_("居民意见"), note, required=False, limit=500),
    )
    return order


@transaction.atomic
def order_cancel(*, user, order: ServiceOrder, reason: str) -> ServiceOrder:
    require(user.can_dispatch_orders)
    order = _locked(user, order)
    _expect(order, ServiceOrder.OPEN_STATUSES, _("取消"))
    reason = clean_text(_("取消原因"), reason, required=True, limit=500)
    before = order.status
    order.status = Status.CANCELLED
    order.save()
    _step(order, user, Action.CANCELLED, before, note=reason)
    return order
