"""Grid pages: the list, a grid (workers, buildings, households, coverage, open events), and
the grid worker's own grids."""

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import render
from django.utils import timezone

from grids.access import get_grid_for_user, require_reader
from grids.masking import shows_full
from grids.models import BuildingHead, Grid, GridAssignment, GridEvent, Household, Visit

PAGE_SIZE = 50


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
    return render(request, "grids/grid_list.html", {"page": page, "q": q})


@login_required
def grid_detail(request, code):
    user = request.user
    grid = get_grid_for_user(user, code)
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
        },
    )


@login_required
def my_grids(request):
    """The grid worker's home: their grids, what is due, and the two forms they use most."""
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
        "my_grids": grids,
        "stale_count": stale.count(),
        "my_open_events": GridEvent.objects.visible_to(user).open().count(),
        "may_visit": user.can_record_visits,
        "may_report": user.can_report_grid_events,
    }
