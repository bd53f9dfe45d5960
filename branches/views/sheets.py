"""A unit's month as a spreadsheet (download, upload) and the CSV/XLSX exports."""

from datetime import date

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branches.models import ExportLog, OrgUnit, Rating
from branches.services import workflow
from branches.spreadsheets import exports, month_import, month_sheet
from branches.spreadsheets.reading import SpreadsheetError, more_errors_message, read_workbook
from branches.views.exports import export_response, month_sheet_response
from branches.views.reports import get_report_unit_for_user
from branches.views.units import breadcrumbs_for, get_unit_for_user

Export = ExportLog.Export
EXPORT_FORMATS = ExportLog.TABLE_FORMATS
# An upload with more errors than this shows the first ones; fixing them usually fixes the rest.
SHEET_ERRORS_SHOWN = 500


class ReportSheetForm(forms.Form):
    """An uploaded month; reading it checks its format, size and safety."""

    file = forms.FileField(
        label=gettext_lazy("填好的表格"),
        help_text=gettext_lazy("从本页下载的 Excel 文件（.xlsx），填写后原样上传。"),
        error_messages={"required": gettext_lazy("请选择要上传的文件。")},
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".xlsx"}),
    )

    def clean(self):
        cleaned = super().clean()
        uploaded = cleaned.get("file")
        if uploaded is not None:
            try:
                cleaned["tables"] = read_workbook(uploaded, filename=uploaded.name)
            except SpreadsheetError as error:
                self.add_error("file", str(error))
        return cleaned


def _month(text: str) -> date:
    try:
        return workflow.parse_period(text)
    except ValidationError:
        raise Http404("no such month") from None


def _sheet_scope(user, code: str, period: str) -> tuple[OrgUnit, date]:
    """The unit (above the rated branches) and a month not in the future; 404 otherwise.

    The month sheet holds the month's reports, so its rule is theirs."""
    unit = get_report_unit_for_user(user, code)
    month = _month(period)
    if unit.level >= OrgUnit.Level.VILLAGE or month > timezone.localdate().replace(day=1):
        raise Http404("no monthly sheet for this unit and month")
    return unit, month


@login_required
def report_sheet(request, code, period):
    unit, month = _sheet_scope(request.user, code, period)
    try:
        file = month_sheet.report_sheet_file(user=request.user, unit=unit, period=month)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
        return redirect("branches:unit_detail", code=unit.code)
    rows = OrgUnit.objects.visible_to(request.user).under(unit).rated().count()
    return month_sheet_response(
        user=request.user,
        unit=unit,
        period=month,
        file=file,
        rows=rows,
        filename=f"{unit.code}_{unit.name}_{month:%Y-%m}_评星填报表.xlsx",
    )


@login_required
def report_sheet_upload(request, code, period):
    unit, month = _sheet_scope(request.user, code, period)
    if not request.user.can_enter_reports:
        raise PermissionDenied
    result = None
    form = ReportSheetForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        result = month_import.report_sheet_import(
            user=request.user, unit=unit, period=month, tables=form.cleaned_data["tables"]
        )
        if result.ok:
            if result.values:
                messages.success(
                    request,
                    _("已保存 %(branches)s 个支部的 %(values)s 项数据，均为草稿，请提交审核。")
                    % {"branches": result.branches, "values": result.values},
                )
            else:
                messages.info(request, _("表格中的数据与系统中一致，没有需要保存的修改。"))
            if not result.warnings:
                return redirect("branches:report_sheet_upload", code=unit.code, period=period)
            # Saved: the page lists the warnings once (uploading again changes nothing).
    return render(
        request,
        "branches/report_sheet_upload.html",
        {
            "unit": unit,
            "month": month,
            "period": f"{month:%Y-%m}",
            "breadcrumbs": breadcrumbs_for(request.user, unit),
            "form": form,
            "result": result,
            "errors_shown": result.errors[:SHEET_ERRORS_SHOWN] if result else [],
            "warnings_shown": result.warnings[:SHEET_ERRORS_SHOWN] if result else [],
            "more_errors": more_errors_message(),
        },
    )


@login_required
def ratings_export(request, code, period, fmt):
    unit = get_unit_for_user(request.user, code)
    month = _month(period)
    kind = request.GET.get("kind", Rating.MONTHLY)
    if fmt not in EXPORT_FORMATS or kind not in Rating.values:
        raise Http404("no such export")
    if kind == Rating.ANNUAL:
        month, label = date(month.year, 1, 1), _("%(year)s年度星级") % {"year": month.year}
    else:
        label = _("%(month)s星级") % {"month": f"{month:%Y-%m}"}
    table = exports.ratings_table(user=request.user, unit=unit, start=month, end=month, kind=kind)
    return export_response(
        user=request.user,
        export=Export.RATINGS,
        fmt=fmt,
        unit=unit,
        params={"period": f"{month:%Y-%m}", "kind": kind},
        table=table,
        filename=f"{unit.code}_{unit.name}_{label}",
    )


@login_required
def values_export(request, code, period, fmt):
    unit = get_report_unit_for_user(request.user, code)
    month = _month(period)
    if fmt not in EXPORT_FORMATS:
        raise Http404("no such export")
    table = exports.values_table(user=request.user, unit=unit, start=month, end=month)
    return export_response(
        user=request.user,
        export=Export.VALUES,
        fmt=fmt,
        unit=unit,
        params={"period": f"{month:%Y-%m}"},
        table=table,
        filename=f"{unit.code}_{unit.name}_{month:%Y-%m}_填报数据",
    )


@login_required
def events_export(request, code, period, fmt):
    """The month's workflow steps under a branch or township, for auditors: the report page's
    access rule (grid workers are refused, 404 outside the jurisdiction)."""
    unit = get_report_unit_for_user(request.user, code)
    month = _month(period)
    if fmt not in EXPORT_FORMATS or unit.level > OrgUnit.Level.VILLAGE:
        raise Http404("no such export")
    table = exports.events_table(user=request.user, unit=unit, start=month, end=month)
    return export_response(
        user=request.user,
        export=Export.EVENTS,
        fmt=fmt,
        unit=unit,
        params={"period": f"{month:%Y-%m}"},
        table=table,
        filename=f"{unit.code}_{unit.name}_{month:%Y-%m}_办理记录",
    )
