"""包联 and 结对 pages: assignments with their visits, pairing suggestions and pairs."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from branches.forms.assignments import AssignmentForm, VisitForm
from branches.models import LeaderAssignment, OrgUnit, Pairing
from branches.services import assignments as service

PAGE_SIZE = 50


def _require_reader(user) -> None:
    if not user.can_read_reports:
        raise PermissionDenied(_("您的角色不能查看包联和结对。"))


def _year(request) -> int | None:
    """?year= when it is a sensible year; anything else means no filter."""
    text = request.GET.get("year", "").strip()
    if text.isdigit() and service.YEAR_MIN <= int(text) <= service.YEAR_MAX:
        return int(text)
    return None


def _scoped_unit(user, code: str) -> OrgUnit | None:
    code = code.strip()[:32]
    return OrgUnit.objects.visible_to(user).filter(code=code).first() if code else None


@login_required
def assignment_list(request):
    _require_reader(request.user)
    rows = LeaderAssignment.objects.visible_to(request.user).select_related(
        "leader__unit", "branch"
    )
    year = _year(request)
    if year:
        rows = rows.filter(year=year)
    leader = request.GET.get("leader", "").strip()[:150]
    if leader:
        rows = rows.filter(leader__username=leader)
    unit_code = request.GET.get("unit", "")
    unit = _scoped_unit(request.user, unit_code)
    if unit_code.strip() and unit is None:
        messages.warning(request, _("找不到该单位编码，或它不在您的管辖范围内；已列出全部。"))
    elif unit is not None:
        rows = rows.filter(branch__path__startswith=unit.path)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "branches/assignment_list.html",
        {
            "page": page,
            "year": year,
            "leader": leader,
            "unit_code": unit.code if unit else "",
            "can_manage": service.can_manage(request.user),
            "this_year": timezone.localdate().year,
        },
    )


@login_required
def assignment_create(request):
    if not service.can_manage(request.user):
        raise PermissionDenied(_("只有县级及以上领导和系统管理员可以安排包联。"))
    initial = {"branch": request.GET.get("branch", "")[:32]}
    form = AssignmentForm(
        request.POST if request.method == "POST" else None, user=request.user, initial=initial
    )
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            assignment = service.assignment_create(
                user=request.user,
                leader=data["leader"],
                branch=data["branch"],
                year=data["year"],
                note=data["note"],
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(
                request,
                _("已安排%(leader)s包联“%(branch)s”（%(year)s 年度）。")
                % {
                    "leader": assignment.leader.get_full_name() or assignment.leader.username,
                    "branch": assignment.branch.name,
                    "year": assignment.year,
                },
            )
            return redirect("assignment_detail", pk=assignment.pk)
    return render(request, "branches/assignment_form.html", {"form": form})


@login_required
def assignment_detail(request, pk):
    _require_reader(request.user)
    assignment = service.get_assignment_for_user(request.user, pk)
    may_record = service.can_record_visit(request.user, assignment)
    form = None
    if request.method == "POST":
        if not may_record:
            raise PermissionDenied(_("只有包联该支部的领导本人可以记录走访。"))
        form = VisitForm(request.POST)
        if form.is_valid():
            try:
                service.visit_add(assignment=assignment, user=request.user, **form.cleaned_data)
            except ValidationError as error:
                for message in error.messages:
                    form.add_error(None, message)
            else:
                messages.success(request, _("已记录走访。"))
                return redirect("assignment_detail", pk=assignment.pk)
    elif may_record:
        form = VisitForm()
    visits = assignment.visits.select_related("recorded_by")
    page = Paginator(visits, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "branches/assignment_detail.html",
        {"assignment": assignment, "page": page, "form": form},
    )


@login_required
def pairing_list(request):
    _require_reader(request.user)
    rows = Pairing.objects.visible_to(request.user).select_related(
        "county", "strong", "weak", "confirmed_by"
    )
    year = _year(request)
    if year:
        rows = rows.filter(year=year)
    status = request.GET.get("status", "")
    if status in Pairing.Status.values:
        rows = rows.filter(status=status)
    else:
        status = ""
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "branches/pairing_list.html",
        {
            "page": page,
            "year": year,
            "status": status,
            "statuses": Pairing.Status.choices,
            "counties": service.counties_for(request.user)[:200],
            "can_manage": service.can_manage(request.user),
        },
    )


@login_required
def pairing_suggestions(request, code):
    _require_reader(request.user)
    county = service.get_county_for_user(request.user, code)
    year = _year(request) or timezone.localdate().year
    suggestions = service.pairing_suggestions(county, year=year)
    return render(
        request,
        "branches/pairing_suggestions.html",
        {
            "county": county,
            "year": year,
            "suggestions": suggestions,
            "can_manage": service.can_manage(request.user),
        },
    )


@login_required
@require_POST
def pairing_confirm_new(request, code):
    """Confirm a suggested pair in one step (the suggestions page's button)."""
    _require_reader(request.user)
    county = service.get_county_for_user(request.user, code)
    strong = _scoped_unit(request.user, request.POST.get("strong", ""))
    weak = _scoped_unit(request.user, request.POST.get("weak", ""))
    if strong is None or weak is None:
        raise Http404("no such branch in your jurisdiction")
    year = _year_posted(request)
    try:
        service.pairing_create_confirmed(
            user=request.user,
            strong=strong,
            weak=weak,
            year=year,
            note=request.POST.get("note", "")[: service.TEXT_LIMIT],
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("已确认“%(strong)s”与“%(weak)s”结对（%(year)s 年度）。")
            % {"strong": strong.name, "weak": weak.name, "year": year},
        )
    return redirect(f"{_suggestions_url(county)}?year={year}")


def _year_posted(request) -> int:
    text = request.POST.get("year", "").strip()
    if text.isdigit() and service.YEAR_MIN <= int(text) <= service.YEAR_MAX:
        return int(text)
    return timezone.localdate().year


def _suggestions_url(county: OrgUnit) -> str:
    return reverse("pairing_suggestions", args=[county.code])


@login_required
@require_POST
def pairing_end(request, pk):
    _require_reader(request.user)
    pairing = service.get_pairing_for_user(request.user, pk)
    try:
        service.pairing_end(pairing=pairing, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("已结束“%(strong)s”与“%(weak)s”的结对。")
            % {"strong": pairing.strong.name, "weak": pairing.weak.name},
        )
    return redirect("pairing_list")


@login_required
@require_POST
def pairing_confirm(request, pk):
    _require_reader(request.user)
    pairing = service.get_pairing_for_user(request.user, pk)
    try:
        service.pairing_confirm(pairing=pairing, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("已确认结对。"))
    return redirect("pairing_list")
