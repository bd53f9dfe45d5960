from datetime import date

from django.db.models import Sum

from volunteers.demo import demo_records_reset, demo_records_seed
from volunteers.models import Attendance, PointsBalance, PointsEntry, ServiceOrder, Team

MONTHS = [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]


def test_the_demo_seeds_consistent_records_and_the_reset_empties_them(tree, personas):
    demo_records_seed(None, months=MONTHS, today=date(2026, 4, 3), seed=1, scale="town")
    assert Team.objects.filter(unit=tree.village_a1).exists()
    pending = Attendance.objects.filter(status="PENDING")
    assert pending.exists()
    assert not pending.filter(activity__date__lt=MONTHS[-1]).exists()
    assert not Attendance.objects.exclude(status="PENDING").filter(confirmed_at=None).exists()
    statuses = set(ServiceOrder.objects.values_list("status", flat=True))
    assert statuses == set(ServiceOrder.Status.values)
    for balance in PointsBalance.objects.all():
        total = PointsEntry.objects.filter(volunteer_id=balance.volunteer_id).aggregate(
            s=Sum("points")
        )["s"]
        assert balance.balance == (total or 0) >= 0
    for order in ServiceOrder.objects.all():
        assert order.steps.last().to_status == order.status
    demo_records_seed(None, months=MONTHS, today=date(2026, 4, 3), seed=1, scale="town")
    demo_records_reset(None)
    assert not Team.objects.exists() and not PointsEntry.objects.exists()
