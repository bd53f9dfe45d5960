"""Grid pages: the list, a grid (workers, buildings, households, coverage, open events), the
grid worker's own grids; and the township's keeping of them: create and edit a grid, enlist,
assign and unassign its workers, appoint building heads."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from branches.models import OrgUnit
from governance.models import User
from grids.access import MAX_ID, get_grid_for_user, require_reader
from grids.forms import AssignForm, BuildingHeadForm, GridForm, WorkerForm
from grids.masking import shows_full
from grids.models import (
    BuildingHead,
    Grid,
    GridAssignment,
    GridEvent,
    GridWorker,
    Household,
    Visit,
)
from grids.services import grids as service

PAGE_SIZE = 50
L = OrgUnit.Level


def grid_counts(grids, today):
    """Households, visited this month and open events per grid: one grouped query each."""
    ids = [g.pk for g in grids]
    month = today.replace(day=1)
    households = dict(
        Household.objects.active()
        .filter(grid_id__in=ids)
        .values("grid_id")
        .annotate(n=Count("pk"))
        .values_list("grid_id", "n")
        .order_by()
    )
    visited = dict(
        Household.objects.active()
        .filter(grid_id__in=ids, last_visited_on__gte=month)
        .values("grid_id")
        .annotate(n=Count("pk"))
        .values_list("grid_id", "n")
        .order_by()
    )
    events = dict(
        GridEvent.objects.open()
        .filter(grid_id__in=ids)
        .values("grid_id")
        .annotate(n=Count("pk"))
        .values_list("grid_id", "n")
        .order_by()
    )
    for grid in grids:
        grid.household_total = households.get(grid.pk, 0)
        grid.visited_month = visited.get(grid.pk, 0)
        grid.open_events = events.get(grid.pk, 0)
        grid.coverage = (
            round(100 * grid.visited_month / grid.household_total) if grid.household_total else None
        )
    return grids


@login_required
def grid_list(request):
    user = request.user
    require_reader(user)
    grids = Grid.objects.visible_to(user).select_related("unit").order_by("code")
    q = request.GET.get("q", "").strip()[:50]
    if q:
        grids = grids.filter(
            Q(code__icontains=q) | Q(name__icontains=q) | Q(unit__name__icontains=q)
        )
    page = Paginator(grids, PAGE_SIZE).get_page(request.GET.get("page"))
    grid_counts(page.object_list, timezone.localdate())
    return render(
        request,
        "grids/grid_list.html",
        {"page": page, "q": q, "may_manage": user.can_manage_grids},
    )


@login_required
def grid_detail(request, code):
    user = request.user
    return _detail(request, get_grid_for_user(user, code))


def _detail(request, grid, *, assign_form=None):
    """The grid page; after a refused assignment, with its reason (400)."""
    user = request.user
    may_manage = user.can_manage_grids
    if may_manage and assign_form is None:
        assign_form = AssignForm(workers=assignable_workers(user, grid))
    today = timezone.localdate()
    grid_counts([grid], today)
    workers = (
        GridAssignment.objects.current()
        .filter(grid=grid)
        .select_related("worker")
        .order_by("worker__name")
    )
    buildings = list(grid.buildings.order_by("code"))
    heads = {}
    for head in BuildingHead.objects.current(today).filter(building__in=buildings):
        heads.setdefault(head.building_id, []).append(head)
    for building in buildings:
        building.heads = heads.get(building.pk, [])
    households = (
        Household.objects.active()
        .filter(grid=grid)
        .order_by("address_building", "address_unit", "address_room", "pk")
    )
    page = Paginator(households, PAGE_SIZE).get_page(request.GET.get("page"))
    events = GridEvent.objects.open().filter(grid=grid).order_by("deadline", "-reported_at")[:20]
    for event in events:
        event.overdue = event.is_overdue_on(today)
    return render(
        request,
        "grids/grid_detail.html",
        {
            "grid": grid,
            "workers": workers,
            "buildings": buildings,
            "page": page,
            "events": events,
            "full": shows_full(user),
            "visits_month": Visit.objects.filter(
                grid=grid, visited_on__gte=today.replace(day=1)
            ).count(),
            "may_manage": may_manage,
            "assign_form": assign_form,
        },
        status=400 if assign_form is not None and assign_form.errors else 200,
    )


@login_required
def my_grids(request):
    """The grid worker's home: their grids, what is due, and the two forms they use most.
    Any other reader sees the same overview of the grids in their jurisdiction, titled so."""
    user = request.user
    require_reader(user)
    return render(request, "grids/my_grids.html", my_grids_context(user))


def my_grids_context(user) -> dict:
    today = timezone.localdate()
    grids = list(Grid.objects.visible_to(user).select_related("unit").order_by("code")[:20])
    grid_counts(grids, today)
    stale = (
        Household.objects.visible_to(user).active().not_visited_since(today - timedelta(days=30))
    )
    return {
        "assigned_only": user.grids_assigned_only,
        "my_grids": grids,
        "stale_count": stale.count(),
        "my_open_events": GridEvent.objects.visible_to(user).open().count(),
        "may_visit": user.can_record_visits,
        "may_report": user.can_report_grid_events,
    }


def grid_units(user):
    """The places a grid may be built on: villages/communities and compounds in jurisdiction."""
    return (
        OrgUnit.objects.visible_to(user).filter(level__in=(L.VILLAGE, L.COMPOUND)).order_by("path")
    )


def grid_buildings(user, under: OrgUnit | None = None):
    buildings = OrgUnit.objects.visible_to(user).filter(level=L.BUILDING)
    if under is not None:
        buildings = buildings.filter(path__startswith=under.path)
    return buildings.order_by("path")


def _form_page(request, template, context, *, posted):
    return render(request, template, context, status=400 if posted else 200)


@login_required
@require_http_methods(["GET", "POST"])
def grid_create(request):
    user = request.user
    require_reader(user)
    if not user.can_manage_grids:
        raise PermissionDenied
    form = GridForm(request.POST or None, units=grid_units(user), buildings=grid_buildings(user))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            grid = service.grid_create(
                user=user,
                unit=data["unit"],
                code=data["code"],
                name=data["name"],
                party_group=data["party_group"],
                buildings=list(data["buildings"]),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("网格“%(name)s”已建立。") % {"name": grid.name})
            return redirect("grids:grid_detail", code=grid.code)
    return _form_page(
        request,
        "grids/grid_form.html",
        {"form": form, "grid": None},
        posted=request.method == "POST",
    )


@login_required
@require_http_methods(["GET", "POST"])
def grid_edit(request, code):
    user = request.user
    grid = get_grid_for_user(user, code, write=True)
    initial = {
        "unit": grid.unit_id,
        "code": grid.code,
        "name": grid.name,
        "party_group": grid.party_group,
        "buildings": list(grid.buildings.values_list("pk", flat=True)),
    }
    form = GridForm(
        request.POST or None,
        initial=initial,
        units=grid_units(user),
        buildings=grid_buildings(user, grid.unit),
        grid=grid,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            grid = service.grid_update(
                user=user,
                grid=grid,
                code=data["code"],
                name=data["name"],
                party_group=data["party_group"],
                buildings=list(data["buildings"]),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("网格“%(name)s”已保存。") % {"name": grid.name})
            return redirect("grids:grid_detail", code=grid.code)
    return _form_page(
        request,
        "grids/grid_form.html",
        {"form": form, "grid": grid},
        posted=request.method == "POST",
    )


def assignable_workers(user, grid: Grid):
    """Active workers of the grid's village not yet assigned to it (the service checks again)."""
    village = service.village_of(grid.unit)
    current = GridAssignment.objects.current().filter(grid=grid).values("worker_id")
    return (
        GridWorker.objects.visible_to(user)
        .active()
        .filter(unit__path__startswith=village.path)
        .exclude(pk__in=current)
        .order_by("name", "pk")
    )


def worker_accounts(user, grid: Grid):
    """Grid-worker accounts of the grid's village not yet linked to a worker."""
    village = service.village_of(grid.unit)
    return (
        User.objects.filter(
            is_active=True,
            role=User.Role.GRID_WORKER,
            unit__in=OrgUnit.objects.visible_to(user).filter(path__startswith=village.path),
            grid_worker__isnull=True,
        )
        .select_related("unit")
        .order_by("username")
    )


@login_required
@require_http_methods(["GET", "POST"])
def worker_create(request, code):
    """Enlist a grid worker of the grid's village and assign them to this grid."""
    user = request.user
    grid = get_grid_for_user(user, code, write=True)
    form = WorkerForm(request.POST or None, accounts=worker_accounts(user, grid))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            worker = service.worker_create(
                user=user,
                unit=service.village_of(grid.unit),
                name=data["name"],
                kind=data["kind"],
                is_party_member=data["is_party_member"],
                phone=data["phone"],
                account=data["account"],
                grid=grid,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("网格员“%(name)s”已登记并分配到本网格。") % {"name": worker.name},
            )
            return redirect("grids:grid_detail", code=grid.code)
    return _form_page(
        request,
        "grids/worker_form.html",
        {"form": form, "grid": grid},
        posted=request.method == "POST",
    )


@login_required
@require_POST
def worker_assign(request, code):
    user = request.user
    grid = get_grid_for_user(user, code, write=True)
    form = AssignForm(request.POST, workers=assignable_workers(user, grid))
    if form.is_valid():
        try:
            service.worker_assign(user=user, worker=form.cleaned_data["worker"], grid=grid)
        except ValidationError as error:
            form.add_error(None, error)
    if form.errors:
        return _detail(request, grid, assign_form=form)
    messages.success(
        request, _("已将%(name)s分配到本网格。") % {"name": form.cleaned_data["worker"].name}
    )
    return redirect("grids:grid_detail", code=grid.code)


@login_required
@require_POST
def worker_unassign(request, code, pk):
    user = request.user
    grid = get_grid_for_user(user, code, write=True)
    if pk > MAX_ID:
        raise Http404
    assignment = (
        GridAssignment.objects.current().filter(grid=grid, pk=pk).select_related("worker").first()
    )
    if assignment is None:
        raise Http404
    service.worker_unassign(user=user, assignment=assignment)
    messages.success(request, _("%(name)s已不再负责本网格。") % {"name": assignment.worker.name})
    return redirect("grids:grid_detail", code=grid.code)


@login_required
@require_http_methods(["GET", "POST"])
def building_head_create(request, code):
    """Appoint a 楼栋长/楼道长 for one of the grid's buildings."""
    user = request.user
    grid = get_grid_for_user(user, code, write=True)
    buildings = grid.buildings.order_by("path")
    households = (
        Household.objects.active()
        .filter(grid=grid, building__isnull=False)
        .order_by("address_building", "address_unit", "address_room", "pk")
    )
    initial = {}
    chosen = request.GET.get("building", "")
    if chosen.isdigit() and len(chosen) < 10:
        initial["building"] = int(chosen)
    form = BuildingHeadForm(
        request.POST or None,
        initial=initial,
        buildings=buildings,
        households=households,
        user=user,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            head = service.building_head_appoint(user=user, **data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("已选任%(building)s%(title)s：%(name)s。")
                % {
                    "building": head.building.name,
                    "title": head.get_title_display(),
                    "name": head.name,
                },
            )
            return redirect("grids:grid_detail", code=grid.code)
    return _form_page(
        request,
        "grids/building_head_form.html",
        {"form": form, "grid": grid, "has_buildings": buildings.exists()},
        posted=request.method == "POST",
    )
