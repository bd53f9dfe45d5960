"""The dispute pages: the ledger and my cases, a case with its timeline and next actions,
the new-case form, the monthly screening table, the mediation teams, and their exports.

One access rule (`DisputeCase.objects.visible_to`, `User.can_*_disputes`, the service's
`may_act`) for the pages, the exports and the API: a case outside the jurisdiction is 404,
an action the user may not take 403.
"""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from branches.models import OrgUnit
from branches.services import exports as export_services
from branches.services.dashboards import last_closed_month
from branches.spreadsheets import tables
from branches.views.exports import export_response
from disputes import forms, screening, services
from disputes.models import CaseAttachment, CaseStep, DisputeCase, MediationTeam, ReturnVisit
from grids.access import get_event_for_user

A = CaseStep.Action
PAGE_SIZE = 50
NUMBER_MAX = 40
FORMATS = ("csv", "xlsx")


def get_case_for_user(user, number: str) -> DisputeCase:
    """A case the user may read: 404 outside the jurisdiction (and for unknown numbers)."""
    if len(number) > NUMBER_MAX:
        raise Http404("no such case")
    return get_object_or_404(
        DisputeCase.objects.visible_to(user).select_related(
            "unit", "handling_unit", "mediator", "team", "created_by", "grid", "grid_event"
        ),
        number=number,
    )


def filtered_cases(user, form: forms.LedgerFilterForm):
    """The ledger's cases for the filters (none when the filters are invalid)."""
    cases = DisputeCase.objects.visible_to(user)
    if not form.is_valid():
        return cases.none()
    data = form.cleaned_data
    if data["status"]:
        cases = cases.filter(status=data["status"])
    if data["category"]:
        cases = cases.filter(category=data["category"])
    if data["level"]:
        cases = cases.filter(handling_level=data["level"])
    if data["overdue"]:
        cases = cases.overdue_on(timezone.localdate())
    if data["received_from"]:
        cases = cases.filter(received_on__gte=data["received_from"])
    if data["received_to"]:
        cases = cases.filter(received_on__lte=data["received_to"])
    if code := data["under"].strip():
        unit = OrgUnit.objects.visible_to(user).filter(code=code).first()
        if unit is None:
            form.add_error(
                "under",
                _("找不到编码为“%(code)s”的单位，或它不在您的管辖范围内。") % {"code": code},
            )
            return cases.none()
        cases = cases.under(unit)
    return cases


def _badge(case) -> str:
    if case.status in (DisputeCase.Status.CLOSED, DisputeCase.Status.VISITED):
        return "text-bg-success" if case.is_resolved else "text-bg-secondary"
    return {
        DisputeCase.Status.SUCCEEDED: "text-bg-success",
        DisputeCase.Status.FAILED: "text-bg-warning",
    }.get(case.status, "text-bg-primary")


def _ledger(request, *, mine: bool):
    user = request.user
    form = forms.LedgerFilterForm(request.GET)
    cases = filtered_cases(user, form)
    if mine:
        cases = cases.for_user_as_mediator(user)
    cases = cases.select_related("unit", "handling_unit").order_by("-received_on", "-id")
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    # Labels translated once per page, not once per row (the lazy labels cost per call).
    labels = {
        name: {value: str(label) for value, label in choices}
        for name, choices in (
            ("status", DisputeCase.Status.choices),
            ("category", DisputeCase.Category.choices),
            ("level", DisputeCase.Level.choices),
        )
    }
    for case in page.object_list:
        case.overdue_days = case.days_overdue(today)
        case.status_label = labels["status"][case.status]
        case.category_label = labels["category"][case.category]
        case.level_label = labels["level"][case.handling_level]
        case.badge = _badge(case)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "disputes/case_list.html",
        {
            "form": form,
            "page": page,
            "mine": mine,
            "query": query.urlencode(),
            "can_register": user.can_register_disputes,
        },
        status=200 if form.is_valid() else 400,
    )


@login_required
def case_list(request):
    return _ledger(request, mine=False)


@login_required
def my_cases(request):
    return _ledger(request, mine=True)


@login_required
@require_http_methods(["GET", "POST"])
def case_create(request):
    user = request.user
    if not user.can_register_disputes:
        raise PermissionDenied
    initial = {"received_on": timezone.localdate()}
    if user.unit is not None and user.unit.level >= OrgUnit.Level.TOWNSHIP:
        initial["unit"] = user.unit.code
    # 转为纠纷案件 from a grid event: its place, text and source filled in.
    number = (request.POST if request.method == "POST" else request.GET).get("event", "")
    event = get_event_for_user(user, number) if number else None
    if event is not None:
        initial |= {
            "event": event.number,
            "unit": event.grid.unit.code,
            "summary": event.description,
            "source": DisputeCase.Source.GRID,
        }
    form = forms.CaseCreateForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            case = services.case_create(
                user=user,
                unit=data["unit"],
                category=data["category"],
                source=data["source"],
                summary=data["summary"],
                received_on=data["received_on"],
                risk=data["risk"],
                handling_level=data["handling_level"],
                parties=form.parties(),
                grid_event=event,
            )
        except (ValidationError, PermissionDenied) as error:
            form.add_error(None, error if isinstance(error, ValidationError) else str(error))
        else:
            messages.success(request, _("已登记矛盾纠纷 %(n)s。") % {"n": case.number})
            return redirect("disputes:case_detail", case.number)
    return render(request, "disputes/case_form.html", {"form": form, "event": event})


def _call_action(action, case, user, data, files=None):
    """Run one workflow step with a form's cleaned data."""
    version = data.get("version")
    common = {"case": case, "user": user, "expected_version": version}
    if action == A.ASSIGN:
        return services.case_assign(
            **common,
            mediator=data.get("mediator"),
            team=data.get("team"),
            note=data.get("note", ""),
        )
    if action == A.START:
        return services.case_start(**common, note=data.get("note", ""))
    if action == A.SUCCEED:
        return services.case_succeed(**common, note=data.get("note", ""))
    if action == A.FAIL:
        return services.case_fail(**common, note=data["note"])
    if action == A.TRANSFER:
        return services.case_transfer(
            **common, department=data["department"], note=data.get("note", "")
        )
    if action == A.ESCALATE:
        return services.case_escalate(**common, reason=data["reason"])
    if action == A.CLOSE:
        return services.case_close(**common, outcome=data["outcome"], note=data.get("note", ""))
    if action == A.VISIT:
        return services.case_visit(
            **common,
            satisfaction=data["satisfaction"],
            visited_on=data.get("visited_on"),
            note=data.get("note", ""),
        )
    if action == A.REOPEN:
        return services.case_reopen(**common, reason=data["reason"])
    if action == A.SESSION:
        return services.session_add(
            **common,
            held_on=data["held_on"],
            place=data["place"],
            participants=data["participants"],
            record=data["record"],
            result=data["result"],
            conclude=data.get("conclude", False),
        )
    raise Http404("no such action")


def _party_rows(user, case):
    full = services.may_see_parties(user, case)
    return full, [
        {
            "role": party.get_role_display(),
            "name": party.name if full else services.mask_name(party.name),
            "phone": (party.phone if full else services.mask_phone(party.phone)) or "—",
        }
        for party in case.parties.all()
    ]


@login_required
@require_http_methods(["GET", "POST"])
def case_detail(request, number):
    user = request.user
    case = get_case_for_user(user, number)
    actions = services.available_actions(user, case)
    today = timezone.localdate()
    bound_action, bound = None, None
    if request.method == "POST":
        step = request.POST.get("step", "")
        if step == "attach":
            if not (services.may_handle(user, case) or services.is_mediator(user, case)):
                raise PermissionDenied
            bound_action = "attach"
            bound = forms.AttachForm(request.POST, request.FILES)
            if bound.is_valid():
                try:
                    services.attachments_add(
                        case=case,
                        user=user,
                        files=bound.cleaned_data["files"],
                        note=bound.cleaned_data["note"],
                    )
                except ValidationError as error:
                    bound.add_error("files", error)
                else:
                    messages.success(request, _("附件已上传。"))
                    return redirect("disputes:case_detail", case.number)
        else:
            if step not in forms.ACTION_FORMS:
                raise Http404("no such action")
            if not services.may_act(user, case, step):
                raise PermissionDenied
            bound_action = step
            bound = forms.ACTION_FORMS[step](request.POST, case=case, user=user)
            if bound.is_valid():
                try:
                    _call_action(step, case, user, bound.cleaned_data)
                except ValidationError as error:
                    bound.add_error(None, error)
                except PermissionDenied as error:
                    bound.add_error(None, str(error))
                else:
                    messages.success(request, _("已完成“%(action)s”。") % {"action": A(step).label})
                    return redirect("disputes:case_detail", case.number)
    action_forms = []
    for action in actions:
        if action == bound_action:
            form = bound
        else:
            initial = {"version": case.version, "visited_on": today, "held_on": today}
            form = forms.ACTION_FORMS[action](initial=initial, case=case, user=user)
        action_forms.append((action, A(action).label, form))
    # A step refused for a form the page does not show now (posted from a stale page).
    step_errors = []
    if bound is not None and bound_action not in actions and bound_action != "attach":
        step_errors = [*bound.non_field_errors()] + [
            f"{bound[name].label}：{error}"
            for name, errs in bound.errors.items()
            if name != "__all__"
            for error in errs
        ]
    may_attach = not user.is_read_only and (
        services.may_handle(user, case) or services.is_mediator(user, case)
    )
    attach_form = bound if bound_action == "attach" else forms.AttachForm()
    full, parties = _party_rows(user, case)
    shown = services.text_for(user, case)
    steps = list(case.steps.prefetch_related("attachments").order_by("-occurred_at", "-id"))
    sessions = list(case.sessions.select_related("mediator"))
    visits = list(case.visits.select_related("visitor"))
    for step in steps:
        step.shown_note = shown(step.note)
        # A file is often named after a party (张三调解协议.pdf): its name is masked too.
        for file in step.attachments.all():
            file.shown_name = shown(file.original_name)
    for session in sessions:
        session.shown_participants = shown(session.participants)
        session.shown_record = shown(session.record)
    for visit in visits:
        visit.shown_note = shown(visit.note)
    return render(
        request,
        "disputes/case_detail.html",
        {
            "case": case,
            "parties": parties,
            "parties_masked": not full,
            "summary": shown(case.summary),
            "steps": steps,
            "sessions": sessions,
            "visits": visits,
            "action_forms": action_forms,
            "attach_form": attach_form if may_attach else None,
            "overdue_days": case.days_overdue(today),
            "step_errors": step_errors,
        },
        status=400 if bound is not None else 200,
    )


@login_required
def case_attachment(request, number, pk):
    case = get_case_for_user(request.user, number)
    attachment = get_object_or_404(CaseAttachment, case=case, pk=pk)
    shown = services.text_for(request.user, case)
    return FileResponse(
        attachment.file.open("rb"), as_attachment=True, filename=shown(attachment.original_name)
    )


def _screening_scope(request):
    """The unit (a township, or the user's own village) and month of the screening table."""
    user = request.user
    data = request.GET.copy()
    if not data.get("month"):
        data["month"] = f"{last_closed_month():%Y-%m}"
    form = forms.ScreeningForm(data)
    if not form.is_valid():
        return form, None, None
    code = form.cleaned_data["township"].strip()
    visible = OrgUnit.objects.visible_to(user)
    if code:
        unit = visible.filter(code=code, level__gte=OrgUnit.Level.TOWNSHIP).first()
        if unit is None:
            form.add_error("township", _("找不到该乡镇(街道)，或它不在您的管辖范围内。"))
            return form, None, None
    elif user.unit is not None and user.unit.level >= OrgUnit.Level.TOWNSHIP:
        unit = user.unit
    else:
        unit = visible.filter(level=OrgUnit.Level.TOWNSHIP).first()
    text = form.cleaned_data["month"]
    return form, unit, date(int(text[:4]), int(text[5:7]), 1)


@login_required
def screening_page(request):
    form, unit, month = _screening_scope(request)
    table = screening.screening_table(unit, month) if unit else None
    townships = OrgUnit.objects.visible_to(request.user).filter(level=OrgUnit.Level.TOWNSHIP)
    return render(
        request,
        "disputes/screening.html",
        {
            "form": form,
            "table": table,
            "townships": townships[:200],
            "query": request.GET.urlencode(),
        },
        status=200 if form.is_valid() else 400,
    )


# Recorded in the export log under these codes (registered with it in DisputesConfig.ready).
LEDGER, SCREENING = "DISPUTE_LEDGER", "DISPUTE_SCREENING"
EXPORT_TITLES = {LEDGER: "矛盾纠纷台账", SCREENING: "矛盾纠纷排查化解情况表"}


@login_required
def screening_export(request, fmt):
    if fmt not in (*FORMATS, "pdf"):
        raise Http404("no such format")
    _form, unit, month = _screening_scope(request)
    if unit is None:
        raise Http404("no such unit")
    table = screening.screening_table(unit, month)
    name = f"{unit.code}_{unit.name}_{month:%Y-%m}_矛盾纠纷排查化解情况表"
    params = {"unit": unit.code, "month": f"{month:%Y-%m}"}
    if fmt == "pdf":
        log = export_services.export_log_start(
            user=request.user, export=SCREENING, fmt=fmt, unit=unit, params=params
        )
        pdf = screening.screening_pdf(table)
        export_services.export_log_finish(log=log, rows=len(table.rows), is_complete=True)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = content_disposition_header(True, f"{name}.pdf")
        return response
    return export_response(
        user=request.user,
        export=SCREENING,
        fmt=fmt,
        unit=unit,
        params=params,
        table=screening.screening_export_table(table),
        filename=name,
    )


def ledger_table(cases, user) -> tables.Table:
    columns = [
        tables.Column(_("案件编号")),
        tables.Column(_("发生地")),
        tables.Column(_("纠纷类型")),
        tables.Column(_("来源")),
        tables.Column(_("受理日期")),
        tables.Column(_("风险等级")),
        tables.Column(_("调处层级")),
        tables.Column(_("调处单位")),
        tables.Column(_("状态")),
        tables.Column(_("结案方式")),
        tables.Column(_("办理期限")),
        tables.Column(_("逾期天数"), tables.NUMBER),
        tables.Column(_("结案日期")),
        tables.Column(_("回访满意度")),
        tables.Column(_("来源网格事件")),
        tables.Column(_("纠纷概要")),
    ]
    today = timezone.localdate()
    satisfaction = dict(ReturnVisit.Satisfaction.choices)
    last_visit = ReturnVisit.objects.filter(case=OuterRef("pk")).order_by("-visited_on", "-id")
    full = services.parties_shown_to(user)
    rows = (
        (
            case.number,
            case.unit.name,
            case.get_category_display(),
            case.get_source_display(),
            case.received_on.isoformat(),
            case.get_risk_display(),
            case.get_handling_level_display(),
            case.handling_unit.name,
            case.get_status_display(),
            case.get_outcome_display() or "",
            case.due_on.isoformat(),
            case.days_overdue(today),
            timezone.localdate(case.closed_at).isoformat() if case.closed_at else "",
            str(satisfaction.get(case.last_satisfaction, "")),
            case.grid_event.number if case.grid_event_id else "",
            case.summary if full(case) else services.mask_text(case.summary, case.parties.all()),
        )
        for case in cases.select_related("unit", "handling_unit", "grid_event")
        .annotate(last_satisfaction=Subquery(last_visit.values("satisfaction")[:1]))
        .prefetch_related("parties")
        .iterator(chunk_size=2000)
    )
    return tables.Table(columns, rows)


@login_required
def ledger_export(request, fmt):
    if fmt not in FORMATS:
        raise Http404("no such format")
    user = request.user
    form = forms.LedgerFilterForm(request.GET)
    cases = filtered_cases(user, form).order_by("-received_on", "-id")
    # The log names the exported unit: the user's jurisdiction (the root for an administrator).
    unit = user.unit or OrgUnit.objects.filter(depth=1).first()
    if unit is None:
        raise Http404("no units")
    params = {}  # the filters as the log page shows them (choices by their label)
    for key, value in (form.cleaned_data if form.is_valid() else {}).items():
        if value not in (None, "", False):
            labels = dict(getattr(form.fields[key], "choices", ()))
            params["case_status" if key == "status" else key] = str(labels.get(value, value))
    return export_response(
        user=user,
        export=LEDGER,
        fmt=fmt,
        unit=unit,
        params=params,
        table=ledger_table(cases, user),
        filename=f"矛盾纠纷台账_{timezone.localdate():%Y-%m-%d}",
    )


@login_required
@require_http_methods(["GET", "POST"])
def team_list(request):
    user = request.user
    teams = (
        MediationTeam.objects.visible_to(user)
        .select_related("unit")
        .prefetch_related("members")
        .order_by("unit__path", "name")
    )
    form = None
    if user.can_handle_disputes:
        initial = {"unit": user.unit.code} if user.unit else {}
        form = forms.TeamForm(request.POST or None, user=user, initial=initial)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                services.team_save(
                    user=user,
                    unit=data["unit"],
                    name=data["name"],
                    kind=data["kind"],
                    members=data["members"],
                    member_names=data["member_names"],
                )
            except (ValidationError, PermissionDenied) as error:
                form.add_error(None, error if isinstance(error, ValidationError) else str(error))
            else:
                messages.success(request, _("已添加调解组织。"))
                return redirect(reverse("disputes:team_list"))
    elif request.method == "POST":
        raise PermissionDenied
    page = Paginator(teams, PAGE_SIZE).get_page(request.GET.get("page"))
    status = 400 if (form is not None and form.is_bound and not form.is_valid()) else 200
    return render(request, "disputes/team_list.html", {"page": page, "form": form}, status=status)
