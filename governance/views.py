import sys
from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.db import InterfaceError, OperationalError
from django.db.models import Count
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views import defaults

from branches.models import OrgUnit
from branches.views.workbench import workbench_context
from governance.middleware import is_api_request


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
    return render(
        request,
        "governance/home.html",
        {
            "workbench": workbench,
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
