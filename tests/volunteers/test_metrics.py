from datetime import date
from decimal import Decimal

import pytest

from branches.metrics import Window, registry
from tests.volunteers.conftest import record
from volunteers.services import activities, orders, teams

pytestmark = pytest.mark.usefixtures("april_third")
Q1 = Window(2026, 1, 3)


def _all(key, tree):
    ids = [tree.village_a1.pk, tree.village_a2.pk, tree.village_b1.pk]
    return registry.compute(key, Q1, ids)


def test_metrics_against_hand_computed_values(personas, tree, vol):
    staff = personas.staff_a
    # A1's team: two activities in Q1, one in April (outside); B1's team: one in March.
    a = record(
        staff,
        vol.team,
        tree.village_a1,
        [(vol.member, "2"), (vol.leader, "3")],
        on=date(2026, 1, 10),
        people=30,
    )
    record(
        staff, vol.team, tree.compound_a1, [(vol.leader, "1.5")], on=date(2026, 3, 31), people=12
    )
    record(staff, vol.team, tree.village_a1, [(vol.member, "4")], on=date(2026, 4, 2), people=99)
    record(personas.staff_b, vol.other_team, tree.village_b1, [], on=date(2026, 3, 1), people=5)
    activities.hours_confirm(
        user=staff, attendance_ids=[a.attendances.get(volunteer=vol.member).pk]
    )

    assert _all("volunteers.activity_count", tree) == {
        tree.village_a1.pk: Decimal(2),
        tree.village_a2.pk: Decimal(0),
        tree.village_b1.pk: 1,
    }
    # Only the confirmed 2 hours count; the leader's 3 + 1.5 are pending.
    assert _all("volunteers.confirmed_hours", tree)[tree.village_a1.pk] == Decimal("2.0")
    assert _all("volunteers.confirmed_hours", tree)[tree.village_b1.pk] == 0
    assert _all("volunteers.people_served", tree)[tree.village_a1.pk] == 42
    share = _all("volunteers.in_service_served_share", tree)
    # A1 has one in-service member (王小红) who served; A2 and B1 have none registered.
    assert share == {
        tree.village_a1.pk: Decimal("100.0"),
        tree.village_a2.pk: None,
        tree.village_b1.pk: None,
    }
    teams.volunteer_create(
        user=staff,
        unit=tree.village_a1,
        name="赵在职",
        is_party_member=True,
        is_in_service_member=True,
        joined_on=date(2026, 2, 1),
    )
    assert _all("volunteers.in_service_served_share", tree)[tree.village_a1.pk] == Decimal("50.0")


def test_orders_on_time_counts_orders_done_by_their_deadline(personas, tree, vol, april_third):
    staff = personas.staff_a
    april_third.move_to("2026-03-01 10:00 +0800")
    made = []
    for deadline in (date(2026, 3, 5), date(2026, 3, 2)):
        order = orders.order_create(
            user=staff,
            unit=tree.compound_a1,
            category="REPAIR",
            description="修灯",
            resident_name="张",
        )
        orders.order_dispatch(user=staff, order=order, team=vol.team, deadline=deadline)
        orders.order_accept(user=staff, order=order)
        made.append(order)
    april_third.move_to("2026-03-04 10:00 +0800")
    for order in made:
        orders.order_complete(user=staff, order=order)
    values = _all("volunteers.orders_on_time", tree)
    assert values[tree.village_a1.pk] == 1 and values[tree.village_b1.pk] == 0


def test_the_activity_criterion_joins_the_default_catalogue():
    from branches.catalogue import default_catalogue

    codes = {c["code"] for c in default_catalogue("RURAL").criteria}
    assert "CI-03" in codes
    codes = {c["code"] for c in default_catalogue("URBAN").criteria}
    assert "HA-01" in codes
