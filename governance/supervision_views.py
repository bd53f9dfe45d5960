"""Supervision report pages: the list of my jurisdiction's reports, a report with its
versions, publish, regenerate, generate on demand, and the PDF and XLSX downloads. One
access rule for all of them and the API: `report_for_user`."""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.encoding import escape_uri_path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from branches.models import OrgUnit
from branches.services.dashboards import last_closed_month
from branches.services.workflow import parse_period
from branches.views.exports import xlsx_response
from governance.models import SupervisionReport
from governance.services import supervision
from governance.services.supervision_files import (
    report_context,
    report_filename,
    report_pdf,
    report_xlsx,
)

PAGE_SIZE = 20


def reports_for_user(user):
    return SupervisionReport.objects.visible_to(user).select_related("unit", "published_by")


def report_for_user(user, pk) -> SupervisionReport:
    """The report if it is in the user's jurisdiction (404 otherwise)."""
    report = reports_for_user(user).filter(pk=pk).first()
    if report is None:
        raise Http404(_("没有找到该督导通报，或它不在您的管辖范围内。"))
    return report


def report_list_filter(user, params) -> tuple:
    """The list's queryset and its filter values; a bad filter is a ValidationError."""
    reports = reports_for_user(user)
    if not params.get("all_versions"):
        reports = reports.latest()
    month = (params.get("month") or "").strip()
    if month:
        reports = reports.filter(period=parse_period(month))
    level = (params.get("level") or "").strip()
    if level:
        if level not in {str(value) for value in supervision.REPORT_LEVELS}:
            raise ValidationError(_("单位层级应为 1（省）、2（市）、3（县区）或 4（乡镇街道）。"))
        reports = reports.filter(unit__level=int(level))
    status = (params.get("status") or "").strip()
    if status:
        if status not in SupervisionReport.Status.values:
            raise ValidationError(_("状态应为 DRAFT（草稿）或 PUBLISHED（已发布）。"))
        reports = reports.filter(status=status)
    return reports, {"month": month, "level": level, "status": status}


@login_required
def supervision_list(request):
    try:
        reports, filters = report_list_filter(request.user, request.GET)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        reports, filters = reports_for_user(request.user).none(), {}
    page = Paginator(reports.order_by("-period", "unit__path", "-version"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    unit = request.user.unit
    return render(
        request,
        "governance/supervision_list.html",
        {
            "page": page,
            "filters": filters,
            "levels": [(value, OrgUnit.Level(value).label) for value in supervision.REPORT_LEVELS],
            "statuses": SupervisionReport.Status.choices,
            "may_generate": request.user.can_publish_supervision
            and (unit is None or unit.level in supervision.REPORT_LEVELS),
            "default_month": f"{last_closed_month():%Y-%m}",
        },
    )


@login_required
def supervision_detail(request, pk):
    report = report_for_user(request.user, pk)
    versions = reports_for_user(request.user).filter(unit=report.unit, period=report.period)
    return render(
        request,
        "governance/supervision_detail.html",
        {
            **report_context(report),
            "versions": versions.order_by("-version"),
            "may_publish": request.user.can_publish_supervision,
            "may_rectify": request.user.can_manage_rectifications
            and bool(report.snapshot.get("lost", {}).get("moves")),
        },
    )


def _act(request, report, action) -> bool:
    """Run the service step; a refusal becomes a message on the page."""
    try:
        action()
    except PermissionDenied:
        raise
    except supervision.ConflictError as error:
        messages.error(request, str(error))
        return False
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return False
    return True


@login_required
@require_POST
def supervision_publish(request, pk):
    report = report_for_user(request.user, pk)
    if not request.user.can_publish_supervision:
        raise PermissionDenied(_("只有本单位或上级单位的领导可以发布督导通报。"))
    if not request.POST.get("confirm"):
        messages.error(request, _("请先勾选“我已核对通报内容，确认发布”，再点发布。"))
        return redirect("supervision_detail", pk=report.pk)
    if _act(
        request,
        report,
        lambda: supervision.report_publish(
            request.user, report, generated_at=request.POST.get("generated_at", "")
        ),
    ):
        report.refresh_from_db()
        if report.is_published:
            messages.success(request, _("督导通报已发布。"))
    return redirect("supervision_detail", pk=report.pk)


@login_required
@require_POST
def supervision_regenerate(request, pk):
    report = report_for_user(request.user, pk)
    if not request.user.can_publish_supervision:
        raise PermissionDenied(_("只有领导可以重新生成督导通报。"))
    result = {}

    def regenerate():
        result["report"] = supervision.report_regenerate(
            request.user, report, reason=request.POST.get("reason", "")
        )

    if _act(request, report, regenerate) and "report" in result:
        messages.success(
            request, _("督导通报已重新生成（第%(v)s版）。") % {"v": result["report"].version}
        )
        return redirect("supervision_detail", pk=result["report"].pk)
    return redirect("supervision_detail", pk=report.pk)


@login_required
@require_POST
def supervision_generate(request):
    """Generate the report of the user's unit (or a unit in scope by id) for a month."""
    user = request.user
    if not user.can_publish_supervision:
        raise PermissionDenied(_("只有领导可以生成督导通报。"))
    try:
        period = parse_period((request.POST.get("month") or "").strip())
        unit_id = (request.POST.get("unit") or "").strip()
        units = OrgUnit.objects.visible_to(user)
        if unit_id:
            if not unit_id.isdigit():
                raise ValidationError(_("单位编号应为数字。"))
            unit = units.filter(pk=int(unit_id)).first()
        else:
            unit = user.unit or units.filter(depth=1).first()
        if unit is None:
            raise Http404(_("没有找到该单位，或它不在您的管辖范围内。"))
        report = supervision.report_generate_for_unit(user, unit, period)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("supervision_list")
    messages.success(request, _("督导通报已生成。"))
    return redirect("supervision_detail", pk=report.pk)


def _attachment(response, filename: str):
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{escape_uri_path(filename)}"
    return response


@login_required
def supervision_pdf(request, pk):
    report = report_for_user(request.user, pk)
    response = HttpResponse(report_pdf(report), content_type="application/pdf")
    return _attachment(response, f"{report_filename(report)}.pdf")


@login_required
def supervision_xlsx(request, pk):
    report = report_for_user(request.user, pk)
    return xlsx_response(report_xlsx(report), f"{report_filename(report)}.xlsx")


@login_required
@require_POST
def supervision_rectify(request, pk):
    """Open rectification items for every branch the report names as having lost a star."""
    report = report_for_user(request.user, pk)
    if not request.user.can_manage_rectifications:
        raise PermissionDenied(_("您的角色不能建立整改事项。"))
    try:
        text = (request.POST.get("deadline") or "").strip()
        try:
            deadline = date.fromisoformat(text)
        except ValueError:
            raise ValidationError(
                _("整改期限应为日期，格式 YYYY-MM-DD，收到的是“%(text)s”。") % {"text": text[:20]}
            ) from None
        created = supervision.report_rectify_lost(request.user, report, deadline)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("已为降星支部建立 %(n)s 项整改事项（已有未完成事项的支部不重复建立）。")
            % {"n": len(created)},
        )
    return redirect("supervision_detail", pk=report.pk)
