import sys
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import InterfaceError, OperationalError
from django.db.models import Count
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from django.views.decorators.http import require_POST

from branches.models import OrgUnit
from branches.services import dashboards
from branches.services.assignments import leader_branches
from branches.services.home import home_items
from branches.views.workbench import workbench_context
from governance.middleware import is_api_request
from governance.models import Notification
from governance.services import supervision
from governance.services.notifications import (
    notification_mark_read,
    notifications_mark_all_read,
)


@login_required
def home(request):
    """The user's jurisdiction at a glance: units below it by level, rated branches by area type."""
    unit = request.user.unit
    units = OrgUnit.objects.visible_to(request.user)
    top_depth = unit.depth if unit else 1
    # Grouped queries over the subtree; order_by() drops the default path ordering,
    # which would otherwise be added to the GROUP BY.
    by_level = (
        units.filter(depth__gt=top_depth).values("level").annotate(n=Count("id")).order_by("level")
    )
    by_area = units.rated().values("area_type").annotate(n=Count("id")).order_by("area_type")
    level_counts = [(OrgUnit.Level(row["level"]).label, row["n"]) for row in by_level]
    area_counts = {row["area_type"]: row["n"] for row in by_area}
    rated_total = sum(area_counts.values())
    this_month = timezone.localdate().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    # A township's staff land on their month workbench.
    workbench = None
    if unit and unit.level == OrgUnit.Level.TOWNSHIP and request.user.can_read_reports:
        workbench = workbench_context(request.user, unit)
    show_overview = _reads_star_figures(request.user)
    return render(
        request,
        "governance/home.html",
        {
            "workbench": workbench,
            "leader_branches": leader_branches(request.user),
            "todo": home_items(request.user),
            "supervision_reports": supervision.home_reports(request.user),
            "show_overview": show_overview,
            "overview": dashboards.jurisdiction_overview(request.user, unit)
            if show_overview
            else None,
            "unit": unit,
            "roots": [] if unit else list(units.filter(depth=1).order_by("code")),
            "level_counts": level_counts,
            "rated_total": rated_total,
            "rated_rural": area_counts.get(OrgUnit.AreaType.RURAL, 0),
            "rated_urban": area_counts.get(OrgUnit.AreaType.URBAN, 0),
            "this_month": f"{this_month:%Y-%m}",
            "last_month": f"{last_month:%Y-%m}",
        },
    )


def _reads_star_figures(user) -> bool:
    """Leaders and auditors (the read-only roles) land on their jurisdiction's star figures;
    staff land on the workbench, a secretary on their branch, an administrator on the tree."""
    unit = user.unit
    return (
        unit is not None
        and unit.level < OrgUnit.Level.VILLAGE
        and user.role in (user.Role.LEADER, user.Role.AUDITOR)
    )


# Error handlers (governance.urls): JSON under /api/, where callers are programs, and
# Django's own pages (our templates/4xx.html, 500.html) everywhere else.
API_ERRORS = {
    400: _("请求无效：地址或参数中含有不允许的字符，或请求格式不正确。请检查后重试。"),
    403: _("您没有执行此操作的权限。"),
    404: _("接口不存在，请对照 API 文档（/api/docs/）检查地址。"),
    500: _("服务器内部错误，请稍后重试；如果问题持续，请联系系统管理员。"),
    503: _("数据库暂时无法连接，本次请求没有保存任何内容，请稍后重试。"),
}
# Seconds a client is asked to wait when the database is unreachable.
RETRY_AFTER_SECONDS = 30


def _api_error(status: int) -> JsonResponse:
    return JsonResponse(
        {"detail": str(API_ERRORS[status])},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


def bad_request(request, exception):
    if is_api_request(request):
        return _api_error(400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    if is_api_request(request):
        return _api_error(403)
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    if is_api_request(request):
        return _api_error(404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    # Django calls this while handling the exception, so it is still the current one.
    if isinstance(sys.exc_info()[1], (OperationalError, InterfaceError)):
        return database_unavailable(request)
    if is_api_request(request):
        return _api_error(500)
    return defaults.server_error(request)


def database_unavailable(request):
    """503 with Retry-After: the database is down or unreachable, not a bug; each write runs
    in one transaction, so nothing was half-saved."""
    if is_api_request(request):
        response = _api_error(503)
    else:
        # No request context: the page must not query the database it could not reach.
        response = HttpResponse(
            loader.get_template("503.html").render({"retry_after": RETRY_AFTER_SECONDS}),
            status=503,
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


NOTIFICATIONS_PAGE_SIZE = 20


def get_notification_for_user(user, pk: int) -> Notification:
    """One of the user's own notifications: anyone else's (or a missing one) is a 404."""
    notification = (
        Notification.objects.visible_to(user)
        .select_related("event__report__unit")
        .filter(pk=pk)
        .first()
    )
    if notification is None:
        raise Http404("no such notification for this user")
    return notification


@login_required
def notification_list(request):
    """The user's notifications, newest first, unread ones marked; `?unread=1` only those."""
    notifications = Notification.objects.visible_to(request.user).select_related(
        "event__report__unit", "unit"
    )
    only_unread = request.GET.get("unread") == "1"
    if only_unread:
        notifications = notifications.unread()
    page = Paginator(notifications, NOTIFICATIONS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "governance/notification_list.html",
        {
            "page": page,
            "only_unread": only_unread,
            "retention_days": settings.NOTIFICATION_RETENTION_DAYS,
        },
    )


def _back_to_list(request):
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)
    return redirect("notification_list")


@login_required
@require_POST
def notification_read(request, pk):
    notification = get_notification_for_user(request.user, pk)
    notification_mark_read(notification=notification)
    return _back_to_list(request)


@login_required
def notification_open(request, pk):
    """Follow a notification to its report, marking it read on the way."""
    notification = get_notification_for_user(request.user, pk)
    notification_mark_read(notification=notification)
    if notification.event is None:
        # Only paths are stored (notify_users checks), so this never leaves the portal.
        return redirect(notification.url or "notification_list")
    report = notification.event.report
    return redirect("branches:report_edit", report.unit.code, f"{report.period:%Y-%m}")


@login_required
@require_POST
def notifications_read_all(request):
    marked = notifications_mark_all_read(user=request.user)
    if marked:
        messages.success(request, _("已将 %(n)s 条通知标为已读。") % {"n": marked})
    else:
        messages.info(request, _("没有未读通知。"))
    return _back_to_list(request)
