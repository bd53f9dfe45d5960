"""The one access rule of the grid records: the jurisdiction (the grid's unit's live path),
`User.can_read_grids`, and for grid workers only the grids they are assigned to."""

from branches.models import UnitScopedQuerySet


class GridScopedQuerySet(UnitScopedQuerySet):
    # How a row reaches its grid's unit path, and its grid's id.
    path_lookup = "grid__unit__path"
    grid_lookup = "grid_id"

    def role_may_read(self, user) -> bool:
        return getattr(user, "can_read_grids", False)

    def visible_to(self, user):
        qs = super().visible_to(user)
        if getattr(user, "grids_assigned_only", False):
            from grids.models.grids import GridAssignment

            assigned = GridAssignment.objects.current().filter(worker__user=user)
            qs = qs.filter(**{f"{self.grid_lookup}__in": assigned.values("grid_id")})
        return qs
