"""Household pages: one household, those not visited for 30+ days, the import, adding and
editing one by form; visits: the phone-friendly form and the visit log."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from branches.spreadsheets.reading import SpreadsheetError, more_errors_message, read_table
from grids.access import get_grid_for_user, get_household_for_user, require_reader
from grids.forms import HouseholdForm, ImportForm, VisitForm
from grids.masking import shows_full
from grids.models import GridAssignment, GridWorker, Household, Visit
from grids.services import grids as grid_service
from grids.services.household_import import COLUMNS, households_import
from grids.services.visits import visit_record

PAGE_SIZE = 50
STALE_DAYS = 30


@login_required
def household_detail(request, pk):
    user = request.user
    household = get_household_for_user(user, pk)
    visits = Visit.objects.filter(household=household).select_related("worker")[:20]
    return render(
        request,
        "grids/household_detail.html",
        {
            "household": household,
            "visits": visits,
            "may_visit": user.can_record_visits,
            "may_manage": user.can_manage_grids,
        },
    )


@login_required
def households_unvisited(request):
    user = request.user
    require_reader(user)
    since = timezone.localdate() - timedelta(days=STALE_DAYS)
    households = (
        Household.objects.visible_to(user)
        .active()
        .not_visited_since(since)
        .select_related("grid")
        .order_by("last_visited_on", "grid__code", "pk")
    )
    if request.GET.get("care") == "1":
        households = households.with_care()
    page = Paginator(households, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "grids/households_unvisited.html",
        {
            "page": page,
            "full": shows_full(user),
            "care": request.GET.get("care") == "1",
            "days": STALE_DAYS,
            "may_visit": user.can_record_visits,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def household_import(request):
    user = request.user
    if not user.can_manage_grids:
        raise PermissionDenied
    form = ImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            header, rows = read_table(upload, filename=upload.name)
        except SpreadsheetError as error:
            form.add_error("file", str(error))
        else:
            result = households_import(user=user, header=header, rows=rows)
            if result.ok:
                messages.success(request, _("已导入 %(n)s 户。") % {"n": result.created})
                return redirect("grids:grid_list")
    return render(
        request,
        "grids/household_import.html",
        {
            "form": form,
            "result": result,
            "columns": COLUMNS,
            "more_errors": more_errors_message() if result and result.more_errors else "",
        },
        status=400 if request.method == "POST" else 200,
    )


def picker_households(user):
    """The households a user may record a visit for, the longest unvisited first."""
    return (
        Household.objects.visible_to(user)
        .active()
        .order_by("last_visited_on", "address_building", "address_unit", "address_room", "pk")
    )


@login_required
@require_http_methods(["GET", "POST"])
def visit_create(request):
    user = request.user
    require_reader(user)
    if not user.can_record_visits:
        raise PermissionDenied
    households = picker_households(user)
    initial = {}
    chosen = request.GET.get("household", "")
    if chosen.isdigit() and len(chosen) < 10:
        initial["household"] = int(chosen)
    form = VisitForm(request.POST or None, households=households, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            visit_record(
                user=user,
                household=data["household"],
                visited_on=data["visited_on"],
                purpose=data["purpose"],
                notes=data["notes"],
                needs_follow_up=data["needs_follow_up"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("走访已记录：%(a)s") % {"a": data["household"].address})
            return redirect(reverse("grids:visit_create"))
    return render(
        request,
        "grids/visit_form.html",
        {"form": form, "has_households": households.exists()},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def visit_list(request):
    user = request.user
    require_reader(user)
    visits = Visit.objects.visible_to(user).select_related("household", "grid", "worker")
    page = Paginator(visits, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "grids/visit_list.html", {"page": page, "full": shows_full(user)})


def household_choices(user, grid, household=None):
    """The grid's buildings and the workers assigned to it (and the household's own contact,
    if no longer assigned), for the pickers."""
    assigned = Q(pk__in=GridAssignment.objects.current().filter(grid=grid).values("worker_id"))
    if household is not None and household.worker_id is not None:
        assigned |= Q(pk=household.worker_id)
    workers = GridWorker.objects.visible_to(user).filter(assigned)
    return {"buildings": grid.buildings.order_by("path"), "workers": workers.order_by("name")}


def _saved(user, target, data, *, create: bool):
    """Create a household in `target` (a grid), or update `target` (a household)."""
    fields = {
        name: data[name]
        for name in (
            "address_building",
            "address_unit",
            "address_room",
            "head_name",
            "phone",
            "member_count",
            "care_tags",
            "is_party_member_household",
            "building",
            "worker",
        )
    }
    if create:
        return grid_service.household_create(user=user, grid=target, **fields)
    return grid_service.household_update(user=user, household=target, **fields)


@login_required
@require_http_methods(["GET", "POST"])
def household_create(request, code):
    """One household by form, beside the import."""
    user = request.user
    grid = get_grid_for_user(user, code, write=True)
    form = HouseholdForm(request.POST or None, **household_choices(user, grid))
    if request.method == "POST" and form.is_valid():
        try:
            household = _saved(user, grid, form.cleaned_data, create=True)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("住户“%(a)s”已登记。") % {"a": household.address})
            return redirect("grids:household_detail", pk=household.pk)
    return render(
        request,
        "grids/household_form.html",
        {"form": form, "grid": grid, "household": None},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def household_edit(request, pk):
    user = request.user
    household = get_household_for_user(user, pk, write=True)
    initial = {
        name: getattr(household, name)
        for name in (
            "address_building",
            "address_unit",
            "address_room",
            "head_name",
            "phone",
            "member_count",
            "care_tags",
            "is_party_member_household",
        )
    }
    initial |= {"building": household.building_id, "worker": household.worker_id}
    form = HouseholdForm(
        request.POST or None, initial=initial, **household_choices(user, household.grid, household)
    )
    if request.method == "POST" and form.is_valid():
        try:
            household = _saved(user, household, form.cleaned_data, create=False)
        except ValidationError as error:
            form.add_error(None, error)
            household = get_household_for_user(user, pk)  # as saved, not as typed
        else:
            messages.success(request, _("住户“%(a)s”已保存。") % {"a": household.address})
            return redirect("grids:household_detail", pk=household.pk)
    return render(
        request,
        "grids/household_form.html",
        {"form": form, "grid": household.grid, "household": household},
        status=400 if request.method == "POST" else 200,
    )
