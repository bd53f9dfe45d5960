"""The grids lines of the home page's to-do list (`branches.services.home`)."""

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.services.home import HomeItem
from grids.models import GridEvent


def grids_home_items(user) -> list[HomeItem]:
    if not user.can_handle_grid_events:
        return []
    counts = (
        GridEvent.objects.visible_to(user)
        .open()
        .aggregate(
            reported=Count("pk", filter=Q(status=GridEvent.Status.REPORTED)),
            overdue=Count("pk", filter=Q(deadline__lt=timezone.localdate())),
        )
    )
    queue = reverse("grids:event_list")
    return [
        HomeItem(
            _("网格上报事件待受理"),
            counts["reported"],
            f"{queue}?status={GridEvent.Status.REPORTED}",
        ),
        HomeItem(_("网格事件已逾期"), counts["overdue"], f"{queue}?overdue=on", urgent=True),
    ]
