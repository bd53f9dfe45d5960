from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import render
from django.utils import timezone

from branches.models import OrgUnit


@login_required
def home(request):
    """The user's jurisdiction at a glance: units below it by level, rated branches by area type."""
    unit = request.user.unit
    units = OrgUnit.objects.visible_to(request.user)
    top_depth = unit.depth if unit else 1
    # Grouped queries over the subtree; order_by() drops the default path ordering,
    # which would otherwise be added to the GROUP BY.
    by_level = (
        units.filter(depth__gt=top_depth).values("level").annotate(n=Count("id")).order_by("level")
    )
    by_area = units.rated().values("area_type").annotate(n=Count("id")).order_by("area_type")
    level_counts = [(OrgUnit.Level(row["level"]).label, row["n"]) for row in by_level]
    area_counts = {row["area_type"]: row["n"] for row in by_area}
    rated_total = sum(area_counts.values())
    this_month = timezone.localdate().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    return render(
        request,
        "governance/home.html",
        {
            "unit": unit,
            "roots": [] if unit else list(units.filter(depth=1).order_by("code")),
            "level_counts": level_counts,
            "rated_total": rated_total,
            "rated_rural": area_counts.get(OrgUnit.AreaType.RURAL, 0),
            "rated_urban": area_counts.get(OrgUnit.AreaType.URBAN, 0),
            "this_month": f"{this_month:%Y-%m}",
            "last_month": f"{last_month:%Y-%m}",
        },
    )
