"""One access helper per resource, for the pages, the exports and the API alike:
403 when the role reads no grids, 404 outside the user's scope (jurisdiction, and for a
grid worker the grids they are assigned to)."""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from grids.models import Grid, GridEvent, Hazard, Household

MAX_ID = 2**31 - 1


def require_reader(user) -> None:
    if not getattr(user, "can_read_grids", False):
        raise PermissionDenied


def _get(queryset, **lookup):
    try:
        return queryset.get(**lookup)
    except queryset.model.DoesNotExist:
        raise Http404("not found") from None


def _require_keeper(user, write: bool) -> None:
    """Keeping grids, workers and households is the township's (after the 404 of the scope)."""
    if write and not user.can_manage_grids:
        raise PermissionDenied


def get_grid_for_user(user, code: str, write: bool = False) -> Grid:
    require_reader(user)
    grid = _get(Grid.objects.visible_to(user).select_related("unit"), code=code[:40])
    _require_keeper(user, write)
    return grid


def get_household_for_user(user, pk: int, write: bool = False) -> Household:
    require_reader(user)
    if pk > MAX_ID:
        raise Http404("not found")
    household = _get(
        Household.objects.visible_to(user).select_related("grid__unit", "building", "worker"), pk=pk
    )
    _require_keeper(user, write)
    return household


def get_event_for_user(user, number: str) -> GridEvent:
    require_reader(user)
    return _get(
        GridEvent.objects.visible_to(user).select_related(
            "grid__unit", "household", "assignee_unit", "assignee_user", "reporter"
        ),
        number=number[:20],
    )


def get_hazard_for_user(user, number: str) -> Hazard:
    require_reader(user)
    return _get(Hazard.objects.visible_to(user).select_related("grid__unit"), number=number[:20])
