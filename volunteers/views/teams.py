"""Teams, their activity calendar, recording an activity with attendance, confirming hours.

One access rule (`<Model>.objects.visible_to`, `User.can_*`): 404 outside the jurisdiction,
403 in scope without the right. The rules live in the services; these pages call them.
"""

import calendar
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from volunteers.forms import (
    ActivityForm,
    MemberAddForm,
    RejectForm,
    TeamForm,
    add_service_error,
)
from volunteers.models import Activity, Attendance, Team, Volunteer
from volunteers.services import activities as service
from volunteers.services import teams as teams_service
from volunteers.services.activities import AttendanceLine
from volunteers.services.teams import team_disband as disband

PAGE_SIZE = 50
MAX_ID = 2**63 - 1


def require_reader(user) -> None:
    if not user.can_read_volunteers:
        raise PermissionDenied


def require_manager(user) -> None:
    """Register and edit teams and volunteers: `User.can_manage_volunteers` (in scope)."""
    if not user.can_manage_volunteers:
        raise PermissionDenied


def default_unit_code(user) -> str:
    """The user's own unit when records can belong to it (a branch or below)."""
    return user.unit.code if user.unit and user.unit.level >= 5 else ""


def get_team_for_user(user, pk: int) -> Team:
    require_reader(user)
    if pk > MAX_ID:
        raise Http404("no such team")
    return get_object_or_404(Team.objects.visible_to(user).select_related("unit", "leader"), pk=pk)


@login_required
def team_list(request):
    user = request.user
    require_reader(user)
    teams = (
        Team.objects.visible_to(user)
        .select_related("unit", "leader")
        .annotate(member_count=Count("memberships", distinct=True))
        .order_by("-is_active", "unit__path", "name")
    )
    page = Paginator(teams, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "volunteers/team_list.html",
        {"page": page, "can_manage": user.can_manage_volunteers},
    )


def _month(request) -> date:
    """The calendar's month (?month=YYYY-MM), this month when absent or implausible (the
    years 1 and 9999 made the previous/next links overflow)."""
    text = request.GET.get("month", "")[:10]
    try:
        year, month = (int(part) for part in text.split("-")) if text else (0, 0)
        if 2000 <= year <= 2100:
            return date(year, month, 1)
    except ValueError:
        pass
    return timezone.localdate().replace(day=1)


@login_required
def team_detail(request, pk: int):
    user = request.user
    team = get_team_for_user(user, pk)
    month = _month(request)
    last = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    activities = (
        Activity.objects.filter(team=team, date__range=(month, last))
        .select_related("place")
        .annotate(
            attendee_count=Count("attendances"),
            pending_count=Count("attendances", filter=Q(attendances__status="PENDING")),
        )
        .order_by("date", "start_time")
    )
    days: dict[date, list] = {}
    for activity in activities:
        days.setdefault(activity.date, []).append(activity)
    previous = (month.replace(day=1) - timedelta(days=1)).replace(day=1)
    following = last + timedelta(days=1)
    members = team.memberships.select_related("volunteer__unit").order_by("volunteer__name")[:200]
    return render(
        request,
        "volunteers/team_detail.html",
        {
            "team": team,
            "month": month,
            "days": sorted(days.items()),
            "previous": previous,
            "following": following if following <= timezone.localdate() else None,
            "members": members,
            "can_record": service.may_record(user, team) and team.is_active,
            "can_manage": user.can_manage_volunteers,
        },
    )


def _attendance_lines(request, members) -> tuple[list[AttendanceLine], list[str]]:
    lines, errors = [], []
    for membership in members:
        volunteer = membership.volunteer
        if request.POST.get(f"present_{volunteer.pk}") != "on":
            continue
        text = request.POST.get(f"hours_{volunteer.pk}", "").strip()[:10]
        try:
            lines.append(AttendanceLine(volunteer, service.hours_check(Decimal(text))))
        except (InvalidOperation, ValidationError) as error:
            detail = getattr(error, "messages", [_("服务时长须是数字，例如 2 或 1.5。")])[0]
            errors.append(f"{volunteer.name}：{detail}")
    return lines, errors


def _attendance_rows(request, members) -> list[tuple]:
    """(volunteer, hours as typed, ticked) per member: a re-rendered form keeps both."""
    rows = []
    for membership in members:
        pk = membership.volunteer.pk
        if request.method == "POST":
            hours = request.POST.get(f"hours_{pk}", "").strip()[:10]
            ticked = request.POST.get(f"present_{pk}") == "on"
        else:
            hours, ticked = "2", False
        rows.append((membership.volunteer, hours, ticked))
    return rows


@login_required
@require_http_methods(["GET", "POST"])
def activity_record(request, pk: int):
    user = request.user
    team = get_team_for_user(user, pk)
    if not service.may_record(user, team):
        raise PermissionDenied
    members = list(team.memberships.select_related("volunteer__unit").order_by("volunteer__name"))
    form = ActivityForm(
        request.POST or None,
        request.FILES or None,
        user=user,
        initial={
            "place": team.unit.code,
            "date": timezone.localdate(),
            "people_served": 0,
            "kind": service.default_kind(team),
        },
    )
    errors, lines = [], []
    if request.method == "POST":
        lines, errors = _attendance_lines(request, members)
        if form.is_valid() and not errors:
            data = form.cleaned_data
            try:
                activity = service.activity_record(
                    user=user,
                    team=team,
                    title=data["title"],
                    kind=data["kind"],
                    on=data["date"],
                    start_time=data["start_time"],
                    end_time=data["end_time"],
                    place=data["place"],
                    people_served=data["people_served"],
                    description=data["description"],
                    attendance=lines,
                    photos=data["photos"],
                )
            except ValidationError as error:
                errors.extend(error.messages)
            else:
                messages.success(
                    request,
                    _("已记录活动“%(title)s”，%(n)s 人的服务时长待队长或乡镇工作人员确认。")
                    % {"title": activity.title, "n": len(lines)},
                )
                return redirect(
                    f"{reverse('volunteers:team_detail', args=[team.pk])}"
                    f"?month={activity.date:%Y-%m}"
                )
    return render(
        request,
        "volunteers/activity_form.html",
        {
            "team": team,
            "form": form,
            "rows": _attendance_rows(request, members),
            "errors": errors,
        },
        status=400 if request.method == "POST" else 200,
    )


def get_activity_for_user(user, pk: int) -> Activity:
    require_reader(user)
    if pk > MAX_ID:
        raise Http404("no such activity")
    return get_object_or_404(
        Activity.objects.visible_to(user).select_related("team__unit", "place", "created_by"),
        pk=pk,
    )


@login_required
def activity_detail(request, pk: int):
    activity = get_activity_for_user(request.user, pk)
    rows = activity.attendances.select_related("volunteer", "confirmed_by").order_by(
        "volunteer__name"
    )
    return render(
        request,
        "volunteers/activity_detail.html",
        {"activity": activity, "rows": rows, "photos": activity.photos.all()},
    )


@login_required
def activity_photo(request, pk: int, photo_pk: int):
    """One photo of an activity, to whoever reads the activity (a download, as evidence)."""
    activity = get_activity_for_user(request.user, pk)
    if photo_pk > MAX_ID:
        raise Http404("no such photo")
    photo = get_object_or_404(activity.photos, pk=photo_pk)
    try:
        file = photo.file.open("rb")
    except FileNotFoundError:
        raise Http404("the photo's file is gone") from None
    return FileResponse(file, as_attachment=True, filename=photo.original_name)


def _confirmable(user):
    """The pending hours `user` may confirm (all in scope for township staff, their own
    team's for a team leader), or None when they confirm none: they read, read-only."""
    pending = Attendance.objects.visible_to(user).pending()
    if user.can_confirm_hours:
        return pending
    if Team.objects.visible_to(user).filter(leader__user=user).exists():
        return pending.filter(activity__team__leader__user=user)
    return None


def _team_filter(request, rows) -> Team | None:
    text = request.GET.get("team", "")
    if not (text.isdigit() and len(text) < 19):
        return None
    return Team.objects.filter(pk__in=rows.values("activity__team_id")).filter(pk=text).first()


@login_required
@require_http_methods(["GET", "POST"])
def hours_confirm(request):
    user = request.user
    require_reader(user)
    confirmable = _confirmable(user)
    can_act = confirmable is not None
    rows = (
        confirmable if can_act else Attendance.objects.visible_to(user).pending()
    ).select_related("volunteer__unit", "activity__team__unit")
    teams = (
        Team.objects.filter(pk__in=rows.order_by().values("activity__team_id"))
        .select_related("unit")
        .order_by("unit__path", "name")
    )
    team = _team_filter(request, rows)
    if team is not None:
        rows = rows.filter(activity__team=team)
    rows = rows.order_by("activity__date", "activity_id", "volunteer__name")
    reject_form = RejectForm(request.POST if "reject" in request.POST else None)
    if request.method == "POST":
        ids = [int(i) for i in request.POST.getlist("attendance")[: service.BULK_MAX]
               if i.isdigit() and len(i) < 19]  # fmt: skip
        if not can_act:
            raise PermissionDenied
        if not ids:
            messages.error(request, _("请先勾选要处理的服务时长。"))
        else:
            try:
                if "reject" in request.POST:
                    if not reject_form.is_valid():
                        raise ValidationError(_("退回时请在“原因”中写明未通过的原因。"))
                    done = service.hours_reject(
                        user=user, attendance_ids=ids, reason=reject_form.cleaned_data["reason"]
                    )
                    messages.success(request, _("已退回 %(n)s 条服务时长。") % {"n": len(done)})
                else:
                    done = service.hours_confirm(user=user, attendance_ids=ids)
                    messages.success(
                        request,
                        _("已确认 %(n)s 条服务时长，积分已计入志愿者账户。") % {"n": len(done)},
                    )
                return redirect(request.get_full_path())
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "volunteers/hours_confirm.html",
        {
            "page": page,
            "reject_form": reject_form,
            "can_act": can_act,
            "teams": teams,
            "team": team,
            "points_per_hour": settings.VOLUNTEER_POINTS_PER_HOUR,
        },
    )


@login_required
@require_POST
def team_disband(request, pk: int):
    team = get_team_for_user(request.user, pk)
    try:
        disband(user=request.user, team=team)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("已将“%(name)s”标记为解散。") % {"name": team.name})
    return redirect("volunteers:team_detail", pk=team.pk)


def form_page(request, template: str, context: dict):
    """A form page: 200 to fill in, 400 when a POST comes back with what to fix."""
    return render(request, template, context, status=400 if request.method == "POST" else 200)


@login_required
@require_http_methods(["GET", "POST"])
def team_create(request):
    user = request.user
    require_reader(user)
    require_manager(user)
    form = TeamForm(request.POST or None, user=user, initial={"unit": default_unit_code(user)})
    if request.method == "POST" and form.is_valid():
        try:
            team = teams_service.team_create(user=user, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request,
                _("已建立“%(name)s”。请添加队员；队长可在“编辑”中指定。") % {"name": team.name},
            )
            return redirect("volunteers:team_detail", pk=team.pk)
    return form_page(request, "volunteers/team_form.html", {"form": form, "team": None})


@login_required
@require_http_methods(["GET", "POST"])
def team_edit(request, pk: int):
    user = request.user
    team = get_team_for_user(user, pk)
    require_manager(user)
    form = TeamForm(
        request.POST or None,
        user=user,
        team=team,
        initial={
            "name": team.name,
            "colour": team.colour,
            "domain": team.domain,
            "leader": team.leader_id,
            "is_active": team.is_active,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            teams_service.team_update(user=user, team=team, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("已保存“%(name)s”。") % {"name": team.name})
            return redirect("volunteers:team_detail", pk=team.pk)
    return form_page(request, "volunteers/team_form.html", {"form": form, "team": team})


@login_required
@require_http_methods(["GET", "POST"])
def member_add(request, pk: int):
    user = request.user
    team = get_team_for_user(user, pk)
    require_manager(user)
    form = MemberAddForm(request.POST or None, user=user, team=team)
    if request.method == "POST" and form.is_valid():
        volunteer = form.cleaned_data["volunteer"]
        try:
            teams_service.membership_add(user=user, team=team, volunteer=volunteer)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request,
                _("%(name)s已加入“%(team)s”。") % {"name": volunteer.name, "team": team.name},
            )
            return redirect("volunteers:team_detail", pk=team.pk)
    return form_page(request, "volunteers/member_form.html", {"form": form, "team": team})


@login_required
@require_POST
def member_end(request, pk: int, volunteer_pk: int):
    user = request.user
    team = get_team_for_user(user, pk)
    require_manager(user)
    if volunteer_pk > MAX_ID:
        raise Http404("no such member")
    volunteer = get_object_or_404(Volunteer.objects.visible_to(user), pk=volunteer_pk)
    try:
        teams_service.membership_end(user=user, team=team, volunteer=volunteer)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("%(name)s已离开“%(team)s”。") % {"name": volunteer.name, "team": team.name}
        )
    return redirect("volunteers:team_detail", pk=team.pk)
