"""Monthly scorecard pages: a branch-month's data entry and a township's monthly review.

The rules live in `branches.services.workflow`; these views only load, call a service and say
what happened.
"""

from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.forms import RadioSelect
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from branches.forms.reports import (
    CONFIRM_WARNINGS,
    ReportForm,
    ReviewForm,
    UnlockForm,
    criterion_rule,
    note_field_name,
    plain_number,
    remove_field_name,
    replace_field_name,
    shown_value,
    upload_field_name,
    value_field_name,
    warned_field_name,
)
from branches.metrics import UnknownMetric, Window, registry, report_due_date
from branches.models import Criterion, Evidence, MonthlyReport, OrgUnit, ReportEvent, ReportValue
from branches.periods import month_label
from branches.services import workflow
from branches.services.workbench import first_submission, is_late
from branches.services.workflow import ConflictError, parse_period
from branches.views.units import breadcrumbs_for, get_unit_for_user

Status = MonthlyReport.Status
Action = ReportEvent.Action
EDITABLE = (Status.DRAFT, Status.RETURNED)
# The review page's filter value for branches that have no report for the month yet.
NOT_STARTED = "NOT_STARTED"
REVIEW_PAGE_SIZE = 50


def get_report_unit_for_user(user, code: str) -> OrgUnit:
    """A unit whose reports the user may read: 403 for a role that reads no reports (whatever
    the code, so it tells nothing about the unit), 404 outside the jurisdiction.

    The one access rule of reports and their values: the report, evidence, review and unlock
    pages, the values exports and the month sheet all start here (`User.can_read_reports`,
    which the reports API asks too).
    """
    if not user.can_read_reports:
        raise PermissionDenied
    return get_unit_for_user(user, code)


def get_branch_for_user(user, code: str) -> OrgUnit:
    """A rated branch whose scorecards the user may read: 403 by role, 404 outside scope."""
    unit = get_report_unit_for_user(user, code)
    if not unit.is_rated:
        raise Http404("only village and community branches have monthly reports")
    return unit


def _month(text: str) -> date:
    try:
        return parse_period(text)
    except ValidationError:
        raise Http404("not a month") from None


def _unavailable(request, unit: OrgUnit, error: ValidationError):
    """A 404 page saying why the month cannot be opened, with a link to the current one."""
    return render(
        request,
        "branches/report_unavailable.html",
        {
            "unit": unit,
            "breadcrumbs": breadcrumbs_for(request.user, unit),
            "problems": error.messages,
            "current": f"{timezone.localdate():%Y-%m}",
        },
        status=404,
    )


def _shift(period: date, months: int) -> date:
    index = period.year * 12 + period.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _month_nav(view: str, code: str, period: date) -> dict:
    """Links to the previous and next month; none into the future or outside the years kept."""
    current = timezone.localdate().replace(day=1)
    earlier, later = _shift(period, -1), _shift(period, 1)
    years = workflow.PERIOD_YEARS
    return {
        "label": month_label(period),
        "previous": reverse(view, args=[code, f"{earlier:%Y-%m}"])
        if earlier.year in years
        else None,
        "next": reverse(view, args=[code, f"{later:%Y-%m}"])
        if later <= current and later.year in years
        else None,
    }


@dataclass
class EvidenceEntry:
    """One stored evidence file, with its delete and replace inputs while editable."""

    evidence: Evidence
    remove_field: object = None
    replace_field: object = None


@dataclass
class CriterionRow:
    """What the page shows for one criterion."""

    criterion: Criterion
    rule: str
    last_month: str
    current: str = ""  # the stored value, shown read-only or beside the input after a conflict
    note: str = ""
    warning: str = ""  # the month-on-month warning stored with the value, for the reviewer
    pending: str = ""  # a warning of the value just typed, waiting for the person's confirmation
    metric: str | None = None  # the computed value of a metric criterion
    evidence: list[EvidenceEntry] = field(default_factory=list)
    value_field: object = None
    note_field: object = None
    upload_field: object = None


def _order(value: ReportValue) -> tuple:
    criterion = value.criterion
    return (criterion.star, criterion.order, criterion.code)


def _stored_values(report: MonthlyReport) -> dict[str, ReportValue]:
    if report.pk is None:
        return {}
    return {v.criterion.code: v for v in report.values.select_related("criterion")}


def _previous_values(unit: OrgUnit, period: date) -> dict[str, object]:
    """Last month's values by criterion code, in one query (codes are stable across years)."""
    rows = ReportValue.objects.filter(
        report__unit=unit, report__period=_shift(period, -1)
    ).values_list("criterion__code", "value_bool", "value_number")
    return {code: boolean if boolean is not None else number for code, boolean, number in rows}


def metric_shown(criterion: Criterion, unit: OrgUnit, window: Window) -> str:
    """A computed criterion's value for one branch over a window, as the pages show it."""
    try:
        value = registry.compute(criterion.metric_key, window, [unit.id])[unit.id]
    except UnknownMetric:
        return _("该系统指标尚未启用")
    return shown_value(criterion, value) if value is not None else _("暂无数据")


def _metric_value(criterion: Criterion, unit: OrgUnit, period: date) -> str:
    return metric_shown(criterion, unit, Window(period.year, 1, period.month))


def _report_evidence(report: MonthlyReport) -> list[Evidence]:
    if report.pk is None:
        return []
    return list(
        Evidence.objects.filter(value__report=report)
        .select_related("value__criterion", "uploaded_by")
        .order_by("uploaded_at", "pk")
    )


def _star_groups(
    report, *, manual, stored, form, evidence, pending=None
) -> list[tuple[int, str, list]]:
    """The criteria grouped by star in display order, each with what its row shows."""
    unit, period = report.unit, report.period
    previous = _previous_values(unit, period)
    by_code = {}
    for item in evidence:
        entry = EvidenceEntry(item)
        if form is not None:
            entry.remove_field = form[remove_field_name(item.pk)]
            entry.replace_field = form[replace_field_name(item.pk)]
        by_code.setdefault(item.value.criterion.code, []).append(entry)
    metric_criteria = report.criteria_set.criteria.filter(source=Criterion.Source.METRIC)
    rows = []
    for criterion in [*manual, *metric_criteria]:
        code = criterion.code
        row = CriterionRow(
            criterion=criterion,
            rule=criterion_rule(criterion),
            last_month=shown_value(criterion, previous.get(code)),
        )
        if criterion.source == Criterion.Source.METRIC:
            row.metric = _metric_value(criterion, unit, period)
            # Last month: the year to date up to it (nothing before January).
            row.last_month = (
                _metric_value(criterion, unit, period.replace(month=period.month - 1))
                if period.month > 1
                else "—"
            )
        else:
            value = stored.get(code)
            row.current = shown_value(criterion, value.value if value else None)
            row.note = value.note if value else ""
            row.warning = value.warning if value else ""
            row.pending = (pending or {}).get(code, "")
            row.evidence = by_code.get(code, [])
            if form is not None:
                row.value_field = form[value_field_name(code)]
                row.note_field = form[note_field_name(code)]
                row.upload_field = form[upload_field_name(code)]
        rows.append(row)
    rows.sort(key=lambda r: (r.criterion.star, r.criterion.order, r.criterion.code))
    names = report.criteria_set.star_names
    return [
        (star, names[star - 1], [r for r in rows if r.criterion.star == star])
        for star in range(1, len(names) + 1)
    ]


def _error_summary(form: ReportForm) -> list[tuple[str, str, list[str]]]:
    """(the field's element id, what it is for, its messages) for every invalid visible field,
    in the page's order: the links of the error summary."""
    summary = []
    for bound in form.visible_fields():
        if not bound.errors:
            continue
        widget = bound.field.widget
        anchor = bound.auto_id
        if isinstance(widget, RadioSelect):
            anchor = f"{anchor}_0"  # the first choice: the group itself has no id
        label = widget.attrs.get("aria-label") or str(bound.label)
        summary.append((anchor, label, list(bound.errors)))
    return summary


def _save(request, report: MonthlyReport, form: ReportForm) -> None:
    """Save the draft and its file changes together, then submit if asked; raises what the
    services raise."""
    user = request.user
    removals, replacements, uploads = form.removals(), form.replacements(), form.uploads()
    with transaction.atomic():
        workflow.report_save_values(
            report=report,
            user=user,
            values=form.values(),
            expected_version=form.cleaned_data["version"],
            confirmed_warnings=form.confirmed_warnings(),
        )
        for item in removals:
            workflow.evidence_delete(report=report, user=user, evidence=item)
        for item, upload in replacements:
            workflow.evidence_replace(report=report, user=user, evidence=item, upload=upload)
        for code, files in uploads.items():
            workflow.evidence_add_files(
                report=report, user=user, criterion_code=code, uploads=files
            )
    added = sum(len(files) for files in uploads.values())
    if removals or replacements or added:
        messages.info(
            request,
            _("佐证材料：删除 %(removed)s 个，替换 %(replaced)s 个，新上传 %(added)s 个。")
            % {"removed": len(removals), "replaced": len(replacements), "added": added},
        )
    if "submit" not in request.POST:
        messages.success(request, _("草稿已保存。"))
        return
    try:
        workflow.report_submit(report=report, user=user, expected_version=report.version)
    except ValidationError as error:
        messages.warning(
            request,
            _("草稿已保存，但还不能提交，请先补齐：%(problems)s")
            % {"problems": "；".join(error.messages)},
        )
    else:
        messages.success(request, _("已提交，等待乡镇(街道)审核。"))


@login_required
@require_http_methods(["GET", "POST"])
def report_edit(request, code, period):
    user = request.user
    unit = get_branch_for_user(user, code)
    if request.method == "POST" and not user.can_enter_reports:
        raise PermissionDenied
    try:
        month = parse_period(period)
        # Opening a month creates nothing: the draft is created by its first save, so
        # browsing months leaves the review page's "未开始" and the history alone.
        report = workflow.report_or_blank(unit=unit, period=month)
    except ValidationError as error:
        return _unavailable(request, unit, error)
    editable = user.can_enter_reports and report.status in EDITABLE
    manual = workflow.manual_criteria(report.criteria_set)
    stored = _stored_values(report)
    evidence = _report_evidence(report)
    bound = request.method == "POST"
    form = ReportForm(
        request.POST if bound else None,
        request.FILES if bound else None,
        criteria=manual,
        stored=stored,
        version=report.version,
        evidence=evidence if editable else (),
    )
    conflict = False
    pending = {}
    if bound:
        if not editable:
            messages.error(
                request,
                _("该月报表状态为“%(status)s”，不能修改。")
                % {"status": report.get_status_display()},
            )
            return redirect(request.path)
        if form.is_valid():
            try:
                if report.pk is None:
                    report = workflow.report_get_or_create(unit=unit, period=month, user=user)
                _save(request, report, form)
            except ConflictError as error:
                messages.error(request, error.describe(user, _("您的修改尚未保存。")))
                conflict = True
            except workflow.UnconfirmedWarnings as error:
                pending = error.warnings
            except ValidationError as error:
                for message in error.messages:
                    messages.error(request, message)
            else:
                return redirect(request.path)
    if pending:
        # Nothing was saved: show the warnings beside what was typed, and ask to confirm
        # exactly these values (a value changed again is checked again).
        report.refresh_from_db()
        data = request.POST.copy()
        data.pop(CONFIRM_WARNINGS, None)
        for code in pending:
            data[warned_field_name(code)] = plain_number(form.cleaned_data[value_field_name(code)])
        form = ReportForm(
            data,
            criteria=manual,
            stored=stored,
            version=report.version,
            evidence=evidence if editable else (),
        )
    if conflict:
        # Keep what the user typed, beside the values now stored; saving again is a
        # deliberate overwrite of the version they have now seen.
        editable = report.status in EDITABLE
        stored = _stored_values(report)
        evidence = _report_evidence(report)
        data = request.POST.copy()
        data["version"] = str(report.version)
        form = ReportForm(
            data,
            criteria=manual,
            stored=stored,
            version=report.version,
            evidence=evidence if editable else (),
        )
    breadcrumbs = breadcrumbs_for(user, unit)
    township = next(
        (
            crumb
            for crumb, is_link in breadcrumbs
            if is_link and crumb.level == OrgUnit.Level.TOWNSHIP
        ),
        None,
    )
    may_review_list = township is not None and (user.can_review_reports or user.is_read_only)
    # Newest first; reports from before the timeline simply have none.
    events = (
        list(report.events.select_related("actor").order_by("-occurred_at", "-id"))
        if report.pk
        else []
    )
    return render(
        request,
        "branches/report_edit.html",
        {
            "unit": unit,
            "period": f"{month:%Y-%m}",
            "report": report,
            "breadcrumbs": breadcrumbs,
            "month": _month_nav("branches:report_edit", unit.code, month),
            "groups": _star_groups(
                report,
                manual=manual,
                stored=stored,
                form=form if editable else None,
                evidence=evidence,
                pending=pending,
            ),
            "form": form,
            "error_summary": _error_summary(form) if form.is_bound else [],
            "pending": [
                (code, criterion.title, pending[code])
                for criterion in manual
                if (code := criterion.code) in pending
            ],
            "warnings": [
                (code, value.criterion.title, value.warning)
                for code, value in sorted(stored.items(), key=lambda item: _order(item[1]))
                if value.warning
            ],
            "editable": editable,
            "conflict": conflict,
            "missing": workflow.missing_for_submit(report) if editable and report.pk else [],
            "unlock_form": UnlockForm(initial={"version": report.version})
            if report.is_locked and user.can_unlock_reports
            else None,
            "review_url": reverse("branches:report_review", args=[township.code, f"{month:%Y-%m}"])
            if may_review_list
            else None,
            "events": events,
            "events_export": {
                fmt: reverse("branches:events_export", args=[unit.code, f"{month:%Y-%m}", fmt])
                for fmt in ("csv", "xlsx")
            },
            "return_event": next(
                (e for e in events if e.action in (Action.RETURNED, Action.UNLOCKED)), None
            )
            if report.status == Status.RETURNED
            else None,
        },
    )


def get_evidence_for_user(user, code: str, period: str, pk: int) -> Evidence:
    """An evidence file of a branch-month the user may read: 403 by role, 404 outside scope."""
    unit = get_branch_for_user(user, code)
    return get_object_or_404(
        Evidence.objects.visible_to(user),
        pk=pk,
        value__report__unit=unit,
        value__report__period=_month(period),
    )


def evidence_download(evidence: Evidence) -> FileResponse:
    """The stored file as an attachment under its original name (the page's and the API's)."""
    try:
        handle = evidence.file.open("rb")
    except FileNotFoundError:
        raise Http404("the evidence file is missing from storage") from None
    return FileResponse(handle, as_attachment=True, filename=evidence.original_name)


@login_required
def report_evidence(request, code, period, pk):
    """An evidence file, served only to users who may read the branch's reports."""
    return evidence_download(get_evidence_for_user(request.user, code, period, pk))


@login_required
@require_POST
def report_unlock(request, code, period):
    unit = get_branch_for_user(request.user, code)
    if not request.user.can_unlock_reports:
        raise PermissionDenied
    report = get_object_or_404(MonthlyReport, unit=unit, period=_month(period))
    form = UnlockForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
        return redirect("branches:report_edit", code=code, period=period)
    try:
        workflow.report_unlock(
            report=report,
            user=request.user,
            reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data["version"],
        )
    except ConflictError as error:
        messages.error(request, error.describe(request.user, _("请刷新页面后再解锁。")))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("已解锁，报表退回填报人修改，解锁原因已记入变更记录。"))
    return redirect("branches:report_edit", code=code, period=period)


@dataclass
class ReviewRow:
    unit: OrgUnit
    report: MonthlyReport | None
    is_late: bool
    # The month-on-month warnings saved with the report's values: "title：message".
    warnings: list[str] = field(default_factory=list)


def _review_each(user, reports, versions, *, action, reason) -> tuple[list[str], list[str]]:
    """Approve or return each report on its own version; returns (branches done, failure
    lines)."""
    done, failures = [], []
    for report in reports:
        try:
            if action == ReviewForm.APPROVE:
                workflow.report_approve(
                    report=report, user=user, expected_version=versions[report.pk]
                )
            else:
                workflow.report_return(
                    report=report, user=user, reason=reason, expected_version=versions[report.pk]
                )
        except ConflictError as error:
            failures.append(
                f"{report.unit.name}：{error.describe(user, _('请刷新页面后再审核。'))}"
            )
        except PermissionDenied as error:
            # Maker–checker: one's own submission is refused, the others go through.
            failures.append(f"{report.unit.name}：{error}")
        except ValidationError as error:
            failures.append(f"{report.unit.name}：{'；'.join(error.messages)}")
        else:
            done.append(report.unit.name)
    return done, failures


@login_required
@require_http_methods(["GET", "POST"])
def report_review(request, code, period):
    user = request.user
    township = get_report_unit_for_user(user, code)
    if township.level != OrgUnit.Level.TOWNSHIP:
        raise Http404("the review page is a township's")
    try:
        month = parse_period(period)
        if month > timezone.localdate().replace(day=1):
            raise ValidationError(_("未来月份还没有报表可审核。"))
    except ValidationError as error:
        return _unavailable(request, township, error)
    reports = MonthlyReport.objects.visible_to(user).for_period(month)
    form = ReviewForm(request.POST if request.method == "POST" else None)
    if form.is_bound:
        if not user.can_review_reports:
            raise PermissionDenied
        if form.is_valid():
            versions = form.cleaned_data["selected"]
            chosen = list(
                reports.filter(pk__in=list(versions), unit__path__startswith=township.path)
                .select_related("unit")
                .order_by("unit__code")
            )
            done, failures = _review_each(
                user,
                chosen,
                versions,
                action=form.cleaned_data["action"],
                reason=form.cleaned_data["reason"].strip(),
            )
            if len(chosen) < len(versions):
                failures.append(
                    _("%(n)s 份所选报表不属于%(township)s本月，未处理。")
                    % {"n": len(versions) - len(chosen), "township": township.name}
                )
            verb = _("审核通过") if form.cleaned_data["action"] == ReviewForm.APPROVE else _("退回")
            if done:
                messages.success(
                    request,
                    _("已%(verb)s %(n)s 份报表：%(names)s。")
                    % {"verb": verb, "n": len(done), "names": "、".join(done)},
                )
            elif not failures:
                messages.info(request, _("没有报表需要处理。"))
            if failures:
                messages.error(
                    request,
                    _("%(n)s 份未处理：%(lines)s")
                    % {"n": len(failures), "lines": "；".join(failures)},
                )
            return redirect(request.get_full_path())
    branches = OrgUnit.objects.visible_to(user).under(township).rated().order_by("code")
    status = request.GET.get("status", "")
    if status == NOT_STARTED:
        branches = branches.exclude(reports__period=month)
    elif status in Status.values:
        branches = branches.filter(reports__period=month, reports__status=status)
    else:
        status = ""
    page = Paginator(branches, REVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
    by_unit = {
        r.unit_id: r
        for r in reports.filter(unit_id__in=[u.id for u in page.object_list]).select_related(
            "submitted_by"
        )
    }
    today = timezone.localdate()
    warnings = {}
    for report_id, title, message in (
        ReportValue.objects.filter(report__in=list(by_unit.values()))
        .exclude(warning="")
        .order_by("criterion__star", "criterion__order", "criterion__code")
        .values_list("report_id", "criterion__title", "warning")
    ):
        warnings.setdefault(report_id, []).append(f"{title}：{message}")
    rows = [
        ReviewRow(
            unit=unit,
            report=(report := by_unit.get(unit.id)),
            is_late=is_late(first_submission(report), month, today),
            warnings=warnings.get(report.pk, []) if report else [],
        )
        for unit in page.object_list
    ]
    counts = dict(
        reports.filter(unit__path__startswith=township.path)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    total = OrgUnit.objects.visible_to(user).under(township).rated().count()
    filters = [
        ("", _("全部"), total),
        (NOT_STARTED, _("未开始"), total - sum(counts.values())),
        *((value, label, counts.get(value, 0)) for value, label in Status.choices),
    ]
    return render(
        request,
        "branches/report_review.html",
        {
            "township": township,
            "breadcrumbs": breadcrumbs_for(user, township),
            "period": f"{month:%Y-%m}",
            "month": _month_nav("branches:report_review", township.code, month),
            "due": report_due_date(month),
            "filters": filters,
            "status": status,
            "page": page,
            "rows": rows,
            "form": form,
            "can_review": user.can_review_reports,
            "review_separation": settings.REVIEW_SEPARATION,
        },
    )
