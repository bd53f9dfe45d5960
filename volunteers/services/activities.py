"""Activities and their attendance; hours pending until confirmed, then points earned.

PENDING 待确认 --confirm (team leader or township staff)--> CONFIRMED 已确认 (+ EARNED points)
PENDING --reject (reason)--> REJECTED 未通过
Only confirmed hours count: metrics, leaderboard, profile totals and the points bank.
"""

import os
from dataclasses import dataclass
from datetime import date, time
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import ExtractYear
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from branches.filetypes import content_problem
from branches.models import OrgUnit
from volunteers.models import (
    HOURS_MAX,
    PEOPLE_SERVED_MAX,
    Activity,
    ActivityPhoto,
    Attendance,
    PointsEntry,
    Team,
    Volunteer,
    YearHours,
)
from volunteers.services.notifications import notify
from volunteers.services.points import ledger_append
from volunteers.services.teams import check_unit, require
from volunteers.services.text import clean_name, clean_text

Status = Attendance.Status
PHOTO_EXTENSIONS = {".jpg", ".jpeg", ".png"}
PHOTO_MAX_BYTES = 5 * 2**20
PHOTOS_MAX = 9
ATTENDANCE_MAX = 500
BULK_MAX = 1000


@dataclass(frozen=True)
class AttendanceLine:
    volunteer: Volunteer
    hours: Decimal


def may_record(user, team: Team) -> bool:
    return user.can_manage_volunteers or is_leader_of(user, team)


def is_leader_of(user, team: Team) -> bool:
    leader = team.leader
    return leader is not None and leader.user_id is not None and leader.user_id == user.pk


# The kind a team's activities usually are, for the record form's default: a word of its
# service domain, else its colour (七彩志愿服务队: 红 宣讲, 橙 应急救援 … as in the demo).
KIND_WORDS = [
    (Activity.Kind.FAMILY_EDUCATION, ("家庭教育", "家教")),
    (Activity.Kind.POLICY, ("宣讲", "政策", "党史")),
    (Activity.Kind.RESCUE, ("应急", "救援", "消防", "防汛", "安全")),
    (Activity.Kind.ENVIRONMENT, ("环境", "卫生", "垃圾", "保洁")),
    (Activity.Kind.LEGAL_AID, ("法律", "调解", "普法")),
    (Activity.Kind.CLINIC, ("义诊", "健康", "医疗")),
    (Activity.Kind.CARE, ("关爱", "帮扶", "慰问", "老人", "儿童")),
    (Activity.Kind.CULTURE, ("文化", "文明", "文艺", "娱乐")),
]
KIND_OF_COLOUR = {
    Team.Colour.RED: Activity.Kind.POLICY,
    Team.Colour.ORANGE: Activity.Kind.RESCUE,
    Team.Colour.YELLOW: Activity.Kind.ENVIRONMENT,
    Team.Colour.GREEN: Activity.Kind.CULTURE,
    Team.Colour.BLUE: Activity.Kind.LEGAL_AID,
    Team.Colour.PURPLE: Activity.Kind.CARE,
    Team.Colour.CYAN: Activity.Kind.CLINIC,
}


def default_kind(team: Team) -> str:
    """The activity kind the record form proposes for `team` (the recorder may change it)."""
    for text in (team.domain, team.name):
        for kind, words in KIND_WORDS:
            if any(word in text for word in words):
                return kind
    return KIND_OF_COLOUR.get(team.colour, Activity.Kind.OTHER)


def may_confirm(user, team: Team) -> bool:
    return user.can_confirm_hours or is_leader_of(user, team)


def photo_check(upload) -> None:
    name = os.path.basename(upload.name or "")
    clean_text(_("文件名"), name, required=True, limit=200)
    extension = os.path.splitext(name)[1].lower()
    if extension not in PHOTO_EXTENSIONS:
        raise ValidationError(
            _("文件“%(name)s”不是照片：活动照片只接受 jpg、png 文件。") % {"name": name}
        )
    if upload.size > PHOTO_MAX_BYTES:
        raise ValidationError(_("照片“%(name)s”超过 5 MB，请压缩后再上传。") % {"name": name})
    problem = content_problem(upload, extension)
    if problem:
        raise ValidationError(problem)


def hours_text(hours) -> str:
    """Hours as the pages and ledger texts write them: no trailing .0 (2, 1.5, 10); 0 for none."""
    if hours is None or hours == "":
        return "0"
    try:
        value = Decimal(str(hours))
    except ArithmeticError:
        return str(hours)
    if not value.is_finite():
        return str(hours)
    return f"{value.normalize():f}" if value else "0"


def hours_check(hours) -> Decimal:
    try:
        value = Decimal(str(hours))
    except ArithmeticError:
        raise ValidationError(_("服务时长须是数字，例如 2 或 1.5。")) from None
    if not value.is_finite() or not Decimal(0) < value <= HOURS_MAX:
        raise ValidationError(
            _("服务时长须大于 0 且不超过 %(max)s 小时，现在是 %(value)s。")
            % {"max": HOURS_MAX, "value": hours}
        )
    if value != value.quantize(Decimal("0.1")):
        raise ValidationError(_("服务时长最多保留一位小数，例如 1.5。"))
    return value


@transaction.atomic
def activity_record(
    *,
    user,
    team: Team,
    title: str,
    kind: str,
    on: date,
    start_time: time,
    end_time: time,
    place: OrgUnit,
    people_served: int,
    description: str = "",
    attendance: list[AttendanceLine] = (),
    photos=(),
) -> Activity:
    """Record an activity with its attendance (all hours pending)."""
    require(may_record(user, team))
    if not Team.objects.visible_to(user).filter(pk=team.pk).exists():
        raise PermissionDenied(_("该队伍不在您的管辖范围内。"))
    if not team.is_active:
        raise ValidationError(_("该队伍已解散，不能再记录活动。"))
    check_unit(user, place)
    if kind not in Activity.Kind.values:
        raise ValidationError(_("请选择活动类型。"))
    if on > timezone.localdate():
        raise ValidationError(_("活动日期不能晚于今天：请在活动结束后再记录。"))
    if end_time <= start_time:
        raise ValidationError(_("结束时间须晚于开始时间。"))
    if not 0 <= people_served <= PEOPLE_SERVED_MAX:
        raise ValidationError(_("服务人数须在 0 到 %(max)s 之间。") % {"max": PEOPLE_SERVED_MAX})
    if len(attendance) > ATTENDANCE_MAX:
        raise ValidationError(_("一次最多登记 %(max)s 人。") % {"max": ATTENDANCE_MAX})
    if len(photos) > PHOTOS_MAX:
        raise ValidationError(_("一次最多上传 %(max)s 张照片。") % {"max": PHOTOS_MAX})
    for upload in photos:
        photo_check(upload)
    seen = set()
    visible = set(
        Volunteer.objects.visible_to(user)
        .filter(pk__in=[line.volunteer.pk for line in attendance])
        .values_list("pk", flat=True)
    )
    for line in attendance:
        if line.volunteer.pk in seen:
            raise ValidationError(_("志愿者“%(name)s”登记了两次。") % {"name": line.volunteer.name})
        if line.volunteer.pk not in visible:
            raise PermissionDenied(_("该志愿者不在您的管辖范围内。"))
        seen.add(line.volunteer.pk)
        hours_check(line.hours)
    activity = Activity.objects.create(
        team=team,
        title=clean_name(_("活动名称"), title, limit=100),
        kind=kind,
        date=on,
        start_time=start_time,
        end_time=end_time,
        place=place,
        people_served=people_served,
        description=clean_text(
            _("活动内容"), description, required=False, limit=2000, multiline=True
        ),
        created_by=user,
    )
    # With their history rows (a plain bulk_create leaves the PENDING state unrecorded).
    bulk_create_with_history(
        [
            Attendance(activity=activity, volunteer=line.volunteer, hours=hours_check(line.hours))
            for line in attendance
        ],
        Attendance,
        default_user=user,
    )
    for upload in photos:
        ActivityPhoto.objects.create(
            activity=activity,
            file=upload,
            original_name=os.path.basename(upload.name),
            size=upload.size,
        )
    return activity


def points_for(hours: Decimal) -> int:
    return int((hours * settings.VOLUNTEER_POINTS_PER_HOUR).to_integral_value(ROUND_HALF_UP))


@transaction.atomic
def hours_confirm(*, user, attendance_ids: list[int]) -> list[Attendance]:
    """Confirm pending hours (bulk) and credit their points; all or nothing."""
    if len(attendance_ids) > BULK_MAX:
        raise ValidationError(_("一次最多确认 %(max)s 条。") % {"max": BULK_MAX})
    rows = list(
        Attendance.objects.visible_to(user)
        .filter(pk__in=attendance_ids)
        .select_related("activity__team__leader", "activity__team__unit", "volunteer__user")
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    if len(rows) != len(set(attendance_ids)):
        raise PermissionDenied(_("部分服务时长不存在或不在您的管辖范围内。"))
    now = timezone.now()
    for row in rows:
        require(
            may_confirm(user, row.activity.team),
            _("只有队长或乡镇(街道)工作人员可以确认服务时长。"),
        )
        if row.status != Status.PENDING:
            raise ValidationError(
                _("%(name)s在“%(title)s”的服务时长已是“%(status)s”，不能再确认。")
                % {
                    "name": row.volunteer.name,
                    "title": row.activity.title,
                    "status": row.get_status_display(),
                }
            )
        row.status = Status.CONFIRMED
        row.confirmed_by = user
        row.confirmed_at = now
        row.save()
        points = points_for(row.hours)
        if points > 0:
            ledger_append(
                volunteer=row.volunteer,
                kind=PointsEntry.Kind.EARNED,
                points=points,
                reason=_("参加“%(title)s”%(hours)s小时")
                % {"title": row.activity.title, "hours": hours_text(row.hours)},
                attendance=row,
                user=user,
            )
        notify(
            recipients=[row.volunteer.user],
            unit=row.activity.team.unit,
            text=_("您在“%(title)s”的 %(hours)s 小时服务时长已确认，获得 %(points)s 积分。")
            % {"title": row.activity.title, "hours": hours_text(row.hours), "points": points},
            url=f"/volunteers/people/{row.volunteer_id}/",
        )
    year_hours_refresh(
        volunteer_ids={row.volunteer_id for row in rows},
        years={row.activity.date.year for row in rows},
    )
    return rows


@transaction.atomic
def hours_reject(*, user, attendance_ids: list[int], reason: str) -> list[Attendance]:
    reason = clean_text(_("未通过原因"), reason, required=True, limit=200)
    rows = list(
        Attendance.objects.visible_to(user)
        .filter(pk__in=attendance_ids, status=Status.PENDING)
        .select_related("activity__team__leader")
        .select_for_update(of=("self",))
    )
    if len(rows) != len(set(attendance_ids)):
        raise ValidationError(_("部分服务时长不存在、不在您的管辖范围内或已处理。"))
    now = timezone.now()
    for row in rows:
        require(may_confirm(user, row.activity.team))
        row.status = Status.REJECTED
        row.confirmed_by = user
        row.confirmed_at = now
        row.reject_reason = reason
        row.save()
    return rows


def year_hours_refresh(*, volunteer_ids=None, years=None) -> None:
    """Rewrite the `YearHours` rollup from the confirmed attendance rows, for the given
    volunteers and years (all of them when None): delete, then one grouped insert."""
    stale = YearHours.objects.all()
    confirmed = Attendance.objects.confirmed()
    if volunteer_ids is not None:
        stale = stale.filter(volunteer_id__in=volunteer_ids)
        confirmed = confirmed.filter(volunteer_id__in=volunteer_ids)
    if years is not None:
        stale = stale.filter(year__in=years)
        confirmed = confirmed.filter(activity__date__year__in=years)
    stale.delete()
    rows = (
        confirmed.order_by()
        .annotate(year=ExtractYear("activity__date"))
        .values("year", "activity__team_id", "volunteer_id")
        .annotate(total=Sum("hours"))
    )
    YearHours.objects.bulk_create(
        (
            YearHours(
                year=r["year"],
                team_id=r["activity__team_id"],
                volunteer_id=r["volunteer_id"],
                hours=r["total"],
            )
            for r in rows.iterator()
        ),
        batch_size=5000,
    )
