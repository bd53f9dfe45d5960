"""The volunteers lines of the home page's to-do list (`branches.services.home`)."""

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.services.home import HomeItem
from volunteers.models import Attendance, ServiceOrder

Status = ServiceOrder.Status


def volunteers_home_items(user) -> list[HomeItem]:
    items = []
    if user.can_confirm_hours:
        items.append(
            HomeItem(
                _("志愿服务时长待确认"),
                Attendance.objects.visible_to(user).pending().count(),
                reverse("volunteers:hours_confirm"),
            )
        )
    if user.can_dispatch_orders:
        counts = (
            ServiceOrder.objects.visible_to(user)
            .open()
            .aggregate(
                requested=Count("pk", filter=Q(status=Status.REQUESTED)),
                overdue=Count(
                    "pk",
                    filter=Q(
                        status__in=(Status.DISPATCHED, Status.ACCEPTED),
                        deadline__lt=timezone.localdate(),
                    ),
                ),
            )
        )
        queue = reverse("volunteers:order_list")
        items += [
            HomeItem(
                _("群众点单待派单"), counts["requested"], f"{queue}?status={Status.REQUESTED}"
            ),
            HomeItem(
                _("服务订单已逾期"), counts["overdue"], f"{queue}?status=OVERDUE", urgent=True
            ),
        ]
    return items
