import threading
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from tests.volunteers.conftest import record
from volunteers.models import PointsBalance
from volunteers.services import activities, points


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_redemptions_never_overspend(personas, tree, vol):
    if connection.vendor != "postgresql":
        pytest.skip("row locks across connections are PostgreSQL's; SQLite serialises writers")
    activity = record(
        personas.staff_a, vol.team, tree.village_a1, [(vol.member, "10")], on=date(2026, 1, 10)
    )
    activities.hours_confirm(user=personas.staff_a, attendance_ids=[activity.attendances.get().pk])
    assert points.balance_of(vol.member) == 100
    start = threading.Barrier(2)
    outcomes = []

    def redeem():
        try:
            start.wait(10)
            points.points_redeem(
                user=personas.staff_a, volunteer=vol.member, merchant=vol.merchant, points=80
            )
            outcomes.append("ok")
        except ValidationError as error:
            outcomes.append(error.messages[0])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=redeem) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(outcomes) == 2 and outcomes.count("ok") == 1
    assert any("积分不足" in o for o in outcomes)
    assert PointsBalance.objects.get(volunteer=vol.member).balance == 20
    assert points.ledger_sum(vol.member) == 20


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_constraint_alone_refuses_the_second_of_two_racing_updates(personas, tree, vol):
    """Without the service's lock: two ledger appends of -80 on 100, the database refuses one."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    activity = record(
        personas.staff_a, vol.team, tree.village_a1, [(vol.member, "10")], on=date(2026, 1, 10)
    )
    activities.hours_confirm(user=personas.staff_a, attendance_ids=[activity.attendances.get().pk])
    start = threading.Barrier(2)
    outcomes = []

    def append():
        from django.db import transaction

        try:
            start.wait(10)
            with transaction.atomic():
                points.ledger_append(
                    volunteer=vol.member, kind="ADJUSTED", points=-80, reason="并发测试"
                )
            outcomes.append("ok")
        except points.InsufficientPoints:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=append) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["ok", "refused"]
    assert points.balance_of(vol.member) == 20 == points.ledger_sum(vol.member)
