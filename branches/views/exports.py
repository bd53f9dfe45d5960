"""The export centre (every export the role may use, over a month range) and the export log.

Every export — from here or from the per-page links (`branches.views.sheets`) — leaves
through `export_response` (or `month_sheet_response`), which logs it.
"""

from datetime import date

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from branches.forms.exports import MAX_MONTHS, ExportForm
from branches.models import ExportLog, OrgUnit, Rating
from branches.services import exports as export_services
from branches.spreadsheets import cells, tables
from branches.spreadsheets.exports import EXPORT_TABLES

Export = ExportLog.Export
LOG_PAGE_SIZE = 50


def xlsx_response(file, filename: str) -> FileResponse:
    return FileResponse(
        file, as_attachment=True, filename=filename, content_type=cells.XLSX_CONTENT_TYPE
    )


def export_response(
    *,
    user,
    export: str,
    fmt: str,
    unit: OrgUnit,
    params: dict,
    table: tables.Table,
    filename: str,
):
    """The table as a streamed CSV or an XLSX download, logged with the rows produced."""
    log = export_services.export_log_start(
        user=user, export=export, fmt=fmt, unit=unit, params=params
    )
    counted = export_services.CountedRows(table.rows)
    table = tables.Table(table.columns, counted)
    if fmt == ExportLog.Format.CSV:
        response = StreamingHttpResponse(
            export_services.logged_chunks(tables.csv_chunks(table), counted, log),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = content_disposition_header(True, f"{filename}.csv")
        return response
    title = dict(ExportLog.export_choices())[export]
    file = export_services.logged_xlsx(table, counted, log, title=str(title))
    return xlsx_response(file, f"{filename}.xlsx")


def month_sheet_response(*, user, unit: OrgUnit, period: date, file, rows: int, filename: str):
    """The month sheet (built by `month_sheet`) as a download, logged with its branch rows."""
    log = export_services.export_log_start(
        user=user,
        export=Export.MONTH_SHEET,
        fmt=ExportLog.Format.XLSX,
        unit=unit,
        params={"period": f"{period:%Y-%m}"},
    )
    export_services.export_log_finish(log=log, rows=rows, is_complete=True)
    return xlsx_response(file, filename)


def _range_label(start: date, end: date, kind: str | None) -> str:
    if kind == Rating.ANNUAL:
        years = {start.year, end.year}
        return _("%(years)s年度") % {"years": "-".join(str(y) for y in sorted(years))}
    if start == end:
        return f"{start:%Y-%m}"
    return f"{start:%Y-%m}_{end:%Y-%m}"


def _centre_export(user, data: dict):
    export, unit, start, end = data["export"], data["unit"], data["start"], data["end"]
    kind = data["kind"] if export == Export.RATINGS else None
    status = data["status"]
    arguments = {"user": user, "unit": unit, "start": start, "end": end}
    if export == Export.RATINGS:
        arguments["kind"] = kind
    else:
        arguments["status"] = status
    params = {"start": f"{start:%Y-%m}", "end": f"{end:%Y-%m}", "unit": unit.code}
    if kind:
        params["kind"] = kind
    if status:
        params["status"] = status
    label = str(Export(export).label)
    return export_response(
        user=user,
        export=export,
        fmt=data["format"],
        unit=unit,
        params=params,
        table=EXPORT_TABLES[export](**arguments),
        filename=f"{unit.code}_{unit.name}_{_range_label(start, end, kind)}_{label}",
    )


EXPORT_DESCRIPTIONS = {
    Export.RATINGS: _(
        "每个支部每期一行：月份（或年度）、市/县/乡镇、星级、五颗星、一票否决、差距、计算时间。"
    ),
    Export.VALUES: _(
        "每个支部每月每项指标一行：填报值、佐证材料数、提交人和提交时间、审核人和审核时间，"
        "含市/县/乡镇。"
    ),
    Export.EVENTS: _("月度报表的每一步办理：时间、操作、原状态和新状态、操作人、原因。"),
    Export.HISTORY: _(
        "谁在何时改了什么：所选月份内对单位信息的修改，以及这些月份报表和填报值的全部修改。"
    ),
}


@login_required
def export_centre(request):
    """The exports the role may use; with ?export=… the chosen export, validated, as a file."""
    user = request.user
    allowed = export_services.allowed_exports(user)
    this_month = f"{timezone.localdate():%Y-%m}"
    requested = request.GET.get("export")
    status = 200
    if requested is None:
        form = ExportForm(
            user=user,
            allowed=allowed,
            initial={"export": allowed[0], "start": this_month, "end": this_month},
        )
    else:
        if requested in EXPORT_TABLES and requested not in allowed:
            raise PermissionDenied
        form = ExportForm(request.GET, user=user, allowed=allowed)
        if form.is_valid():
            return _centre_export(user, form.cleaned_data)
        # A unit outside the jurisdiction is answered as one that does not exist.
        status = 404 if form.unit_not_found else 400
    return render(
        request,
        "branches/export_centre.html",
        {
            "form": form,
            "exports": [
                (value, Export(value).label, EXPORT_DESCRIPTIONS[value]) for value in allowed
            ],
            "max_months": MAX_MONTHS,
            "scope": user.unit,
            "can_read_log": user.can_read_export_log,
            "record_exports": [
                (title, reverse(page)) for title, page in ExportLog.record_export_pages()
            ],
        },
        status=status,
    )


@login_required
def export_log_list(request):
    """The export log, newest first: auditors (exports of data in their jurisdiction) and
    administrators (everything) only; ?user= (account or name) and ?export= filter it."""
    if not request.user.can_read_export_log:
        raise PermissionDenied
    entries = ExportLog.objects.visible_to(request.user).select_related("unit")
    who = request.GET.get("user", "").strip()[:150]
    if who:
        entries = entries.filter(user_name__icontains=who)
    export = request.GET.get("export", "")
    choices = ExportLog.export_choices()
    if export in dict(choices):
        entries = entries.filter(export=export)
    else:
        export = ""
    page = Paginator(entries, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "branches/export_log.html",
        {"page": page, "who": who, "export": export, "exports": choices},
    )
