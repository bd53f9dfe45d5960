from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from tests.volunteers.conftest import record
from volunteers.models import Attendance, PointsBalance, PointsEntry, ServiceOrder
from volunteers.services import activities, orders, points

pytestmark = pytest.mark.usefixtures("april_third")


def test_recorded_hours_are_pending_and_earn_nothing(personas, tree, vol):
    activity = record(personas.staff_a, vol.team, tree.village_a1, [(vol.member, "2")])
    row = activity.attendances.get()
    assert row.status == Attendance.Status.PENDING
    assert points.balance_of(vol.member) == 0
    assert not PointsEntry.objects.exists()


def test_confirming_hours_credits_points_at_the_configured_rate(personas, tree, vol, settings):
    settings.VOLUNTEER_POINTS_PER_HOUR = 10
    activity = record(personas.staff_a, vol.team, tree.village_a1, [(vol.member, "2.5")])
    row = activity.attendances.get()
    activities.hours_confirm(user=vol.leader_user, attendance_ids=[row.pk])
    row.refresh_from_db()
    assert row.status == Attendance.Status.CONFIRMED and row.confirmed_by == vol.leader_user
    assert points.balance_of(vol.member) == 25 == points.ledger_sum(vol.member)
    with pytest.raises(ValidationError, match="不能再确认"):
        activities.hours_confirm(user=personas.staff_a, attendance_ids=[row.pk])
    assert points.balance_of(vol.member) == 25


def test_only_the_leader_or_township_staff_confirm(personas, tree, vol):
    activity = record(personas.staff_a, vol.team, tree.village_a1, [(vol.member, "2")])
    row = activity.attendances.get()
    with pytest.raises(PermissionDenied):
        activities.hours_confirm(user=personas.secretary, attendance_ids=[row.pk])
    with pytest.raises(PermissionDenied):  # outside township B's jurisdiction
        activities.hours_confirm(user=personas.staff_b, attendance_ids=[row.pk])
    activities.hours_confirm(user=personas.staff_a, attendance_ids=[row.pk])


def test_activity_refuses_bad_inputs(personas, tree, vol):
    with pytest.raises(ValidationError, match="不超过 24"):
        record(personas.staff_a, vol.team, tree.village_a1, [(vol.member, "25")])
    with pytest.raises(ValidationError, match="两次"):
        record(personas.staff_a, vol.team, tree.village_a1, [(vol.member, "1"), (vol.member, "1")])
    with pytest.raises(ValidationError, match="晚于今天"):
        record(personas.staff_a, vol.team, tree.village_a1, [], on=date(2026, 5, 1))
    with pytest.raises(ValidationError, match=r"控制字符|换行"):
        record(personas.staff_a, vol.team, tree.village_a1, [], title="宣讲\u202e")
    with pytest.raises(PermissionDenied):
        record(personas.staff_b, vol.team, tree.village_a1, [])


def _earn(personas, tree, vol, hours="10"):
    activity = record(personas.staff_a, vol.team, tree.village_a1, [(vol.member, hours)])
    activities.hours_confirm(user=personas.staff_a, attendance_ids=[activity.attendances.get().pk])


def test_redemption_lowers_the_balance_and_an_overspend_is_refused(personas, tree, vol):
    _earn(personas, tree, vol)  # 100 points
    points.points_redeem(
        user=personas.staff_a, volunteer=vol.member, merchant=vol.merchant, points=60
    )
    assert points.balance_of(vol.member) == 40
    with pytest.raises(ValidationError, match="当前余额 40 分，本次需要 60 分，还差 20 分"):
        points.points_redeem(
            user=personas.staff_a, volunteer=vol.member, merchant=vol.merchant, points=60
        )
    for bad in (0, -5, True, "3"):
        with pytest.raises(ValidationError):
            points.points_redeem(
                user=personas.staff_a, volunteer=vol.member, merchant=vol.merchant, points=bad
            )
    assert points.balance_of(vol.member) == 40 == points.ledger_sum(vol.member)


def test_adjustments_need_staff_and_a_reason(personas, tree, vol):
    with pytest.raises(PermissionDenied):
        points.points_adjust(user=personas.secretary, volunteer=vol.member, points=5, reason="补录")
    with pytest.raises(ValidationError, match="调整原因"):
        points.points_adjust(user=personas.staff_a, volunteer=vol.member, points=5, reason=" ")
    with pytest.raises(ValidationError, match="积分不足"):
        points.points_adjust(user=personas.staff_a, volunteer=vol.member, points=-5, reason="更正")
    points.points_adjust(user=personas.staff_a, volunteer=vol.member, points=5, reason="补录")
    assert points.balance_of(vol.member) == 5 == points.ledger_sum(vol.member)


def test_the_database_refuses_a_negative_balance(vol):
    with pytest.raises(IntegrityError), transaction.atomic():
        PointsBalance.objects.filter(volunteer=vol.member).update(balance=F("balance") - 1)


def test_the_database_refuses_a_second_earning_for_the_same_hours(personas, tree, vol):
    _earn(personas, tree, vol, "1")
    row = Attendance.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        PointsEntry.objects.create(volunteer=vol.member, kind="EARNED", points=10, attendance=row)


def test_an_order_goes_from_request_to_done(personas, tree, vol):
    staff = personas.staff_a
    order = orders.order_create(
        user=personas.grid_worker,
        unit=tree.compound_a1,
        category="REPAIR",
        description="水龙头漏水",
        resident_name="张大爷",
        resident_phone="13700000000",
    )
    assert order.number.startswith("FW202604-")
    with pytest.raises(ValidationError, match="不能接单"):
        orders.order_accept(user=staff, order=order)
    orders.order_dispatch(user=staff, order=order, team=vol.team, deadline=date(2026, 4, 10))
    with pytest.raises(ValidationError, match="不能派单"):
        orders.order_dispatch(user=staff, order=order, team=vol.team, deadline=date(2026, 4, 10))
    with pytest.raises(PermissionDenied):
        orders.order_accept(user=personas.grid_worker, order=order)
    orders.order_accept(user=vol.leader_user, order=order)
    orders.order_complete(user=vol.leader_user, order=order, note="已更换")
    order = orders.order_rate(user=staff, order=order, satisfaction=5)
    assert order.status == ServiceOrder.Status.DONE and order.is_done_on_time
    with pytest.raises(ValidationError, match="已评价"):
        orders.order_rate(user=staff, order=order, satisfaction=4)
    with pytest.raises(ValidationError, match="不能取消"):
        orders.order_cancel(user=staff, order=order, reason="重复")
    assert [s.action for s in order.steps.all()] == [
        "CREATED",
        "DISPATCHED",
        "ACCEPTED",
        "DONE",
        "RATED",
    ]


def test_an_order_past_its_deadline_is_overdue(personas, tree, vol, april_third):
    order = orders.order_create(
        user=personas.staff_a,
        unit=tree.village_a1,
        category="ELDERLY",
        description="陪同就医",
        resident_name="刘奶奶",
    )
    orders.order_dispatch(
        user=personas.staff_a, order=order, team=vol.team, deadline=date(2026, 4, 5)
    )
    order.refresh_from_db()
    assert not order.is_overdue_on(date(2026, 4, 5))
    assert order.is_overdue_on(date(2026, 4, 6))
    assert list(ServiceOrder.objects.overdue_on(date(2026, 4, 6))) == [order]
    with pytest.raises(ValidationError, match="早于今天"):
        other = orders.order_create(
            user=personas.staff_a,
            unit=tree.village_a1,
            category="OTHER",
            description="x",
            resident_name="赵",
        )
        orders.order_dispatch(
            user=personas.staff_a,
            order=other,
            team=vol.team,
            deadline=date(2026, 4, 3) - timedelta(days=1),
        )
    orders.order_cancel(user=personas.staff_a, order=order, reason="居民已自行解决")
    order.refresh_from_db()
    assert not order.is_overdue_on(date(2026, 4, 6))


def test_hours_count_only_when_confirmed(personas, tree, vol):
    a = record(personas.staff_a, vol.team, tree.village_a1, [(vol.member, "2"), (vol.leader, "3")])
    member_row = a.attendances.get(volunteer=vol.member)
    activities.hours_confirm(user=personas.staff_a, attendance_ids=[member_row.pk])
    confirmed = Attendance.objects.confirmed()
    assert [r.hours for r in confirmed] == [Decimal("2.0")]


def test_confirmed_hours_and_a_dispatch_notify_the_people_concerned(personas, tree, vol):
    from governance.models import Notification

    activity = record(personas.staff_a, vol.team, tree.village_a1, [(vol.leader, "2")])
    activities.hours_confirm(user=personas.staff_a, attendance_ids=[activity.attendances.get().pk])
    order = orders.order_create(
        user=personas.staff_a,
        unit=tree.village_a1,
        category="OTHER",
        description="x",
        resident_name="赵",
    )
    orders.order_dispatch(
        user=personas.staff_a, order=order, team=vol.team, deadline=date(2026, 4, 9)
    )
    texts = [str(n.text) for n in Notification.objects.filter(recipient=vol.leader_user)]
    assert any("已确认" in t for t in texts) and any("已派给" in t for t in texts)


def test_a_ledger_line_is_never_changed_or_deleted(personas, tree, vol):
    _earn(personas, tree, vol, "1")
    entry = PointsEntry.objects.get()
    entry.points = 1000
    with pytest.raises(ValueError, match="never changed"):
        entry.save()
    with pytest.raises(ValueError, match="never deleted"):
        entry.delete()
    entry.refresh_from_db()
    assert entry.points == points.ledger_sum(vol.member) == points.balance_of(vol.member)


def test_an_order_date_more_than_a_year_ahead_is_refused(personas, tree, vol):
    with pytest.raises(ValidationError, match="期望服务日期不能晚于一年以后"):
        orders.order_create(
            user=personas.staff_a,
            unit=tree.village_a1,
            category="OTHER",
            description="x",
            resident_name="赵",
            wanted_on=date(2062, 4, 3),
        )
    order = orders.order_create(
        user=personas.staff_a,
        unit=tree.village_a1,
        category="OTHER",
        description="x",
        resident_name="赵",
        wanted_on=date(2026, 5, 1),
    )
    with pytest.raises(ValidationError, match="完成期限不能晚于一年以后"):
        orders.order_dispatch(
            user=personas.staff_a, order=order, team=vol.team, deadline=date(9999, 12, 31)
        )
    orders.order_dispatch(
        user=personas.staff_a, order=order, team=vol.team, deadline=date(2027, 4, 3)
    )
