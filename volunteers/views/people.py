"""Volunteers (phone masked in lists), a profile with hours and the points ledger, the
redemption and adjustment forms, merchants, the leaderboard and the ledger exports."""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from branches.models import ExportLog, OrgUnit
from branches.spreadsheets import tables
from branches.views.exports import export_response
from volunteers.forms import (
    AdjustForm,
    MerchantForm,
    RedeemForm,
    SearchForm,
    VolunteerForm,
    add_service_error,
)
from volunteers.models import (
    Attendance,
    Merchant,
    PointsEntry,
    ServiceOrderStep,
    Team,
    Volunteer,
    YearHours,
)
from volunteers.services import points as points_service
from volunteers.services import teams as teams_service
from volunteers.views.teams import (
    MAX_ID,
    PAGE_SIZE,
    default_unit_code,
    form_page,
    require_manager,
    require_reader,
)

EXPORT_HOURS = "VOL_HOURS"
EXPORT_POINTS = "VOL_POINTS"
EXPORT_ORDER_STEPS = "VOL_ORDER_STEPS"
EXPORT_TITLES = {
    EXPORT_HOURS: "志愿服务时长台账",
    EXPORT_POINTS: "积分银行明细",
    EXPORT_ORDER_STEPS: "服务订单办理记录",
}
EXPORT_PAGES = {EXPORT_ORDER_STEPS: "volunteers:order_list"}
EXPORT_OF = {"hours": EXPORT_HOURS, "points": EXPORT_POINTS, "orders": EXPORT_ORDER_STEPS}


def get_volunteer_for_user(user, pk: int) -> Volunteer:
    require_reader(user)
    if pk > MAX_ID:
        raise Http404("no such volunteer")
    return get_object_or_404(
        Volunteer.objects.visible_to(user).select_related("unit", "user"), pk=pk
    )


@login_required
def volunteer_list(request):
    user = request.user
    require_reader(user)
    form = SearchForm(request.GET)
    people = Volunteer.objects.visible_to(user).select_related("unit", "points_balance")
    if form.is_valid():
        data = form.cleaned_data
        if q := data["q"].strip():
            people = people.filter(name__contains=q)
        if data["identity"]:
            people = people.filter(**SearchForm.IDENTITIES[data["identity"]])
        if data["state"]:
            people = people.filter(is_active=data["state"] == "active")
    page = Paginator(people.order_by("unit__path", "name", "id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "volunteers/volunteer_list.html",
        {"page": page, "form": form, "can_manage": user.can_manage_volunteers},
    )


def _window_starts(today: date) -> tuple[date, date]:
    return today.replace(day=1), today.replace(month=1, day=1)


@login_required
def volunteer_detail(request, pk: int):
    user = request.user
    volunteer = get_volunteer_for_user(user, pk)
    month_start, year_start = _window_starts(timezone.localdate())
    confirmed = Attendance.objects.filter(volunteer=volunteer).confirmed()
    totals = confirmed.aggregate(
        total=Sum("hours"),
        year=Sum("hours", filter=Q(activity__date__gte=year_start)),
        month=Sum("hours", filter=Q(activity__date__gte=month_start)),
    )
    pending = Attendance.objects.filter(volunteer=volunteer).pending().aggregate(h=Sum("hours"))
    ledger = PointsEntry.objects.filter(volunteer=volunteer).select_related("merchant")
    page = Paginator(ledger.order_by("-created_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    recent = (
        Attendance.objects.filter(volunteer=volunteer)
        .select_related("activity__team")
        .order_by("-activity__date", "-id")[:20]
    )
    return render(
        request,
        "volunteers/volunteer_detail.html",
        {
            "volunteer": volunteer,
            "teams": Team.objects.filter(memberships__volunteer=volunteer).order_by("name"),
            "totals": totals,
            "pending_hours": pending["h"],
            "balance": points_service.balance_of(volunteer),
            "page": page,
            "recent": recent,
            "show_phone": user.can_manage_volunteers,
            "can_manage_points": user.can_manage_points,
            "can_manage": user.can_manage_volunteers,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def points_redeem(request, pk: int):
    user = request.user
    volunteer = get_volunteer_for_user(user, pk)
    if not user.can_manage_points:
        raise PermissionDenied
    form = RedeemForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            points_service.points_redeem(
                user=user,
                volunteer=volunteer,
                merchant=data["merchant"],
                points=data["points"],
                reason=data["reason"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("已在%(merchant)s兑换 %(points)s 积分，%(name)s的余额为 %(balance)s 分。")
                % {
                    "merchant": data["merchant"].name,
                    "points": data["points"],
                    "name": volunteer.name,
                    "balance": points_service.balance_of(volunteer),
                },
            )
            return redirect("volunteers:volunteer_detail", pk=volunteer.pk)
    return render(
        request,
        "volunteers/points_form.html",
        {
            "volunteer": volunteer,
            "form": form,
            "title": _("积分兑换"),
            "balance": points_service.balance_of(volunteer),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def points_adjust(request, pk: int):
    user = request.user
    volunteer = get_volunteer_for_user(user, pk)
    if not user.can_manage_points:
        raise PermissionDenied
    form = AdjustForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            points_service.points_adjust(
                user=user,
                volunteer=volunteer,
                points=form.cleaned_data["points"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("积分已调整。"))
            return redirect("volunteers:volunteer_detail", pk=volunteer.pk)
    return render(
        request,
        "volunteers/points_form.html",
        {
            "volunteer": volunteer,
            "form": form,
            "title": _("积分调整"),
            "balance": points_service.balance_of(volunteer),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def merchant_list(request):
    user = request.user
    require_reader(user)
    merchants = (
        Merchant.objects.visible_to(user)
        .select_related("unit")
        .annotate(redeemed=Coalesce(Sum("redemptions__points"), 0) * -1)
        .order_by("-is_active", "unit__path", "name")
    )
    page = Paginator(merchants, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "volunteers/merchant_list.html",
        {"page": page, "can_manage": user.can_manage_points},
    )


def get_merchant_for_user(user, pk: int) -> Merchant:
    require_reader(user)
    if pk > MAX_ID:
        raise Http404("no such merchant")
    return get_object_or_404(Merchant.objects.visible_to(user).select_related("unit"), pk=pk)


def require_merchant_manager(user) -> None:
    """Merchants belong to the points bank: the people who redeem there keep them."""
    if not user.can_manage_points:
        raise PermissionDenied


@login_required
@require_http_methods(["GET", "POST"])
def volunteer_create(request):
    user = request.user
    require_reader(user)
    require_manager(user)
    form = VolunteerForm(
        request.POST or None,
        user=user,
        initial={"unit": default_unit_code(user), "joined_on": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            volunteer = teams_service.volunteer_create(user=user, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("已登记志愿者%(name)s。") % {"name": volunteer.name})
            return redirect("volunteers:volunteer_detail", pk=volunteer.pk)
    return form_page(request, "volunteers/volunteer_form.html", {"form": form, "volunteer": None})


@login_required
@require_http_methods(["GET", "POST"])
def volunteer_edit(request, pk: int):
    user = request.user
    volunteer = get_volunteer_for_user(user, pk)
    require_manager(user)
    form = VolunteerForm(
        request.POST or None,
        user=user,
        volunteer=volunteer,
        initial={
            "unit": volunteer.unit.code,
            "name": volunteer.name,
            "phone": volunteer.phone,
            "is_party_member": volunteer.is_party_member,
            "is_in_service_member": volunteer.is_in_service_member,
            "skills": volunteer.skills,
            "joined_on": volunteer.joined_on,
            "is_active": volunteer.is_active,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            teams_service.volunteer_update(user=user, volunteer=volunteer, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("已保存%(name)s的资料。") % {"name": volunteer.name})
            return redirect("volunteers:volunteer_detail", pk=volunteer.pk)
    return form_page(
        request, "volunteers/volunteer_form.html", {"form": form, "volunteer": volunteer}
    )


@login_required
@require_http_methods(["GET", "POST"])
def merchant_create(request):
    user = request.user
    require_reader(user)
    require_merchant_manager(user)
    form = MerchantForm(request.POST or None, user=user, initial={"unit": default_unit_code(user)})
    if request.method == "POST" and form.is_valid():
        try:
            merchant = points_service.merchant_create(user=user, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("已登记爱心商家“%(name)s”。") % {"name": merchant.name})
            return redirect("volunteers:merchant_list")
    return form_page(request, "volunteers/merchant_form.html", {"form": form, "merchant": None})


@login_required
@require_http_methods(["GET", "POST"])
def merchant_edit(request, pk: int):
    user = request.user
    merchant = get_merchant_for_user(user, pk)
    require_merchant_manager(user)
    form = MerchantForm(
        request.POST or None,
        user=user,
        merchant=merchant,
        initial={
            "unit": merchant.unit.code,
            "name": merchant.name,
            "offer": merchant.offer,
            "address": merchant.address,
            "is_active": merchant.is_active,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            points_service.merchant_update(user=user, merchant=merchant, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("已保存爱心商家“%(name)s”。") % {"name": merchant.name})
            return redirect("volunteers:merchant_list")
    return form_page(request, "volunteers/merchant_form.html", {"form": form, "merchant": merchant})


LEADERBOARD_SIZE = 20
LEADERBOARD_MAX = 100


def leaderboard_rows(user, period: str, today: date) -> tuple[list[dict], list[dict]]:
    """The top volunteers and teams of the user's jurisdiction by confirmed hours this
    month or this year: grouped by id only (no name joins in the aggregate, no COUNT over
    the groups), the names read for the few rows shown. The year reads the `YearHours`
    rollup (about a row per volunteer), the month the attendance rows."""
    if period == "year":
        source = YearHours.objects.visible_to(user).filter(year=today.year)
        team = "team_id"
    else:
        source = (
            Attendance.objects.visible_to(user)
            .confirmed()
            .filter(activity__date__gte=today.replace(day=1))
        )
        team = "activity__team_id"
    people = list(
        source.order_by()
        .values("volunteer_id")
        .annotate(total=Sum("hours"))
        .order_by("-total", "volunteer_id")[:LEADERBOARD_MAX]
    )
    teams = list(
        source.order_by()
        .values(team)
        .annotate(total=Sum("hours"))
        .order_by("-total", team)[:LEADERBOARD_SIZE]
    )
    return (
        [{"volunteer_id": r["volunteer_id"], "hours": r["total"]} for r in people],
        [{"team_id": r[team], "hours": r["total"]} for r in teams],
    )


def _named_people(rows: list[dict]) -> list[dict]:
    names = {
        v["id"]: v
        for v in Volunteer.objects.filter(pk__in=[r["volunteer_id"] for r in rows]).values(
            "id", "name", "unit__name"
        )
    }
    return [
        r
        | {
            "volunteer__name": names[r["volunteer_id"]]["name"],
            "volunteer__unit__name": names[r["volunteer_id"]]["unit__name"],
        }
        for r in rows
    ]


def _named_teams(rows: list[dict]) -> list[dict]:
    names = {
        t["id"]: t
        for t in Team.objects.filter(pk__in=[r["team_id"] for r in rows]).values(
            "id", "name", "unit__name"
        )
    }
    return [
        r
        | {"team_name": names[r["team_id"]]["name"], "unit_name": names[r["team_id"]]["unit__name"]}
        for r in rows
    ]


@login_required
def leaderboard(request):
    user = request.user
    require_reader(user)
    period = "year" if request.GET.get("period") == "year" else "month"
    people, teams = leaderboard_rows(user, period, timezone.localdate())
    page = Paginator(people, LEADERBOARD_SIZE).get_page(request.GET.get("page"))
    page.object_list = _named_people(list(page.object_list))
    return render(
        request,
        "volunteers/leaderboard.html",
        {
            "period": period,
            "page": page,
            "offset": page.start_index() - 1 if page.object_list else 0,
            "teams": _named_teams(teams),
        },
    )


def _export_unit(user) -> OrgUnit:
    """The exported scope as a unit for the log: the user's unit, or the root."""
    return user.unit or OrgUnit.objects.filter(depth=1).first()


def _hours_table(user, year: int) -> tables.Table:
    rows = (
        Attendance.objects.visible_to(user)
        .filter(activity__date__year=year)
        .select_related("activity__team__unit", "volunteer", "confirmed_by")
        .order_by("activity__date", "activity_id", "id")
    )
    return tables.Table(
        [
            tables.Column("日期"),
            tables.Column("单位编码"),
            tables.Column("单位"),
            tables.Column("队伍"),
            tables.Column("活动"),
            tables.Column("志愿者"),
            tables.Column("时长(小时)", tables.NUMBER),
            tables.Column("状态"),
            tables.Column("确认人"),
            tables.Column("确认时间", tables.DATETIME),
        ],
        (
            (
                a.activity.date.isoformat(),
                a.activity.team.unit.code,
                a.activity.team.unit.name,
                a.activity.team.name,
                a.activity.title,
                a.volunteer.name,
                a.hours,
                a.get_status_display(),
                str(a.confirmed_by) if a.confirmed_by else "",
                a.confirmed_at,
            )
            for a in rows.iterator(chunk_size=2000)
        ),
    )


def _points_table(user, year: int) -> tables.Table:
    rows = (
        PointsEntry.objects.visible_to(user)
        .filter(created_at__year=year)
        .select_related("volunteer__unit", "merchant", "created_by")
        .order_by("created_at", "id")
    )
    return tables.Table(
        [
            tables.Column("时间", tables.DATETIME),
            tables.Column("单位编码"),
            tables.Column("单位"),
            tables.Column("志愿者"),
            tables.Column("类型"),
            tables.Column("积分", tables.NUMBER),
            tables.Column("事由"),
            tables.Column("商家"),
            tables.Column("经办人"),
        ],
        (
            (
                e.created_at,
                e.volunteer.unit.code,
                e.volunteer.unit.name,
                e.volunteer.name,
                e.get_kind_display(),
                e.points,
                e.reason,
                e.merchant.name if e.merchant else "",
                str(e.created_by) if e.created_by else "",
            )
            for e in rows.iterator(chunk_size=2000)
        ),
    )


def _order_steps_table(user, year: int) -> tables.Table:
    """Every workflow step of the service orders (who, when, from → to, why); the resident's
    name and phone stay out of it."""
    rows = (
        ServiceOrderStep.objects.visible_to(user)
        .filter(occurred_at__year=year)
        .select_related("order__unit", "order__team")
        .order_by("occurred_at", "id")
    )
    return tables.Table(
        [
            tables.Column("时间", tables.DATETIME),
            tables.Column("单号"),
            tables.Column("单位编码"),
            tables.Column("服务地点"),
            tables.Column("服务类别"),
            tables.Column("承接队伍"),
            tables.Column("操作"),
            tables.Column("原状态"),
            tables.Column("新状态"),
            tables.Column("操作人"),
            tables.Column("说明"),
        ],
        (
            (
                s.occurred_at,
                s.order.number,
                s.order.unit.code,
                s.order.unit.name,
                s.order.get_category_display(),
                s.order.team.name if s.order.team else "",
                s.get_action_display(),
                s.get_from_status_display() if s.from_status else "",
                s.get_to_status_display() if s.to_status else "",
                s.actor_name,
                s.note,
            )
            for s in rows.iterator(chunk_size=2000)
        ),
    )


TABLES = {
    EXPORT_HOURS: _hours_table,
    EXPORT_POINTS: _points_table,
    EXPORT_ORDER_STEPS: _order_steps_table,
}


@login_required
def ledger_export(request, which: str, fmt: str):
    """The hours ledger, the points ledger or the service orders' steps of a year in the
    user's jurisdiction, streamed (CSV) or as a workbook, formula-safe (branches' writers),
    logged like every export."""
    user = request.user
    require_reader(user)
    if which not in EXPORT_OF or fmt not in ExportLog.TABLE_FORMATS:
        raise Http404("no such export")
    try:
        year = int(request.GET.get("year", timezone.localdate().year))
    except ValueError:
        year = timezone.localdate().year
    if not 2000 <= year <= 2100:
        raise Http404("no such year")
    export = EXPORT_OF[which]
    table = TABLES[export](user, year)
    unit = _export_unit(user)
    return export_response(
        user=user,
        export=export,
        fmt=fmt,
        unit=unit,
        params={"year": year},
        table=table,
        filename=f"{unit.code}_{EXPORT_TITLES[export]}_{year}",
    )
