"""The grids metrics against hand-computed values, in a fixed number of queries."""

from datetime import date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from branches.metrics import Window, registry
from grids.models import GridEvent, Hazard, Visit
from grids.services import grids as grid_service

pytestmark = pytest.mark.django_db

MARCH = Window(2026, 3, 3)
Q1 = Window(2026, 1, 3)


def _visit(household, day):
    Visit.objects.create(
        household=household, grid=household.grid, visited_on=day, purpose=Visit.Purpose.CARE
    )


def test_visit_coverage_is_the_share_of_the_branchs_households_visited(grids, tree, personas):
    # Village A1 holds two households (grid A1 is on its compound): one visited in March.
    _visit(grids.h_a1, date(2026, 3, 10))
    _visit(grids.h_a1, date(2026, 3, 20))
    _visit(grids.h_a2, date(2026, 2, 10))  # outside the window
    ids = [tree.village_a1.pk, tree.village_a2.pk, tree.village_b1.pk, tree.village_other.pk]
    values = registry.compute("grids.visit_coverage", MARCH, ids)
    assert values == {
        tree.village_a1.pk: Decimal("50.0"),
        tree.village_a2.pk: Decimal("0.0"),
        tree.village_b1.pk: Decimal("0.0"),
        tree.village_other.pk: None,  # no households: unknown
    }
    assert registry.compute("grids.visit_coverage", Q1, ids)[tree.village_a2.pk] == Decimal("100.0")


def test_visit_coverage_runs_a_fixed_number_of_queries(grids, tree, django_assert_max_num_queries):
    ids = [tree.village_a1.pk, tree.village_a2.pk, tree.village_b1.pk]
    with django_assert_max_num_queries(4):
        registry.compute("grids.visit_coverage", MARCH, ids)


def test_care_unvisited_counts_care_households_without_a_visit_in_30_days(grids, tree, personas):
    ids = [tree.village_a1.pk, tree.village_a2.pk]
    assert registry.compute("grids.care_unvisited", MARCH, ids) == {
        tree.village_a1.pk: Decimal(1),
        tree.village_a2.pk: Decimal(0),
    }
    _visit(grids.h_a1_care, date(2026, 3, 2))  # within 30 days of 31 March
    assert registry.compute("grids.care_unvisited", MARCH, ids)[tree.village_a1.pk] == 0
    assert (
        registry.compute("grids.care_unvisited", Window(2026, 5, 5), ids)[tree.village_a1.pk] == 1
    )


def _event(grid, n, *, status, reported, deadline=None, handled=None, closed=None):
    at = lambda day: timezone.make_aware(datetime(day.year, day.month, day.day, 10))  # noqa: E731
    return GridEvent.objects.create(
        number=f"E{n}",
        grid=grid,
        category=GridEvent.Category.OTHER,
        description="x",
        status=status,
        reported_at=at(reported),
        deadline=deadline,
        handled_at=at(handled) if handled else None,
        closed_at=at(closed) if closed else None,
    )


def test_event_metrics(grids, tree, april_third):
    S = GridEvent.Status
    d = date
    _event(grids.a2, 1, status=S.CLOSED, reported=d(2026, 3, 1), deadline=d(2026, 3, 5),
           handled=d(2026, 3, 4), closed=d(2026, 3, 6))  # fmt: skip
    _event(grids.a2, 2, status=S.HANDLED, reported=d(2026, 3, 2), deadline=d(2026, 3, 5),
           handled=d(2026, 3, 9))  # fmt: skip
    _event(grids.a2, 3, status=S.DISPATCHED, reported=d(2026, 3, 3), deadline=d(2026, 3, 20))
    _event(grids.a2, 4, status=S.RETURNED, reported=d(2026, 3, 3), closed=d(2026, 3, 3))
    _event(grids.a2, 5, status=S.CLOSED, reported=d(2026, 3, 25), closed=d(2026, 4, 2))
    ids = [tree.village_a2.pk, tree.village_b1.pk]
    # Due in March: 1 on time, 2 late, 3 late (still open past its deadline).
    assert registry.compute("grids.events_on_time", MARCH, ids) == {
        tree.village_a2.pk: Decimal("33.3"),
        tree.village_b1.pk: None,
    }
    # Reported in March, not returned: 1, 2, 3, 5; closed by 31 March: only 1.
    assert registry.compute("grids.event_closure_rate", MARCH, ids)[tree.village_a2.pk] == Decimal(
        "25.0"
    )


def test_an_inactive_household_leaves_the_coverage(grids, tree, personas):
    _visit(grids.h_a2, date(2026, 3, 1))
    extra = grid_service.household_create(
        user=personas.admin,
        grid=grids.a2,
        address_building="一组",
        address_room="99",
        head_name="孙七",
    )
    assert registry.compute("grids.visit_coverage", MARCH, [tree.village_a2.pk]) == {
        tree.village_a2.pk: Decimal("50.0")
    }
    extra.is_active = False
    extra.save()
    assert registry.compute("grids.visit_coverage", MARCH, [tree.village_a2.pk]) == {
        tree.village_a2.pk: Decimal("100.0")
    }


def test_the_scorecard_shows_visit_coverage_from_real_visits(grids, tree, personas, client):
    from django.urls import reverse

    from branches.services import recompute
    from branches.services.criteria import criteria_defaults_load

    criteria_defaults_load(year=2026)
    _visit(grids.h_a1, date(2026, 3, 10))
    with time_machine.travel(datetime(2026, 4, 3, 9, tzinfo=timezone.get_current_timezone())):
        recompute.ratings_recompute(period=date(2026, 3, 1), unit_ids=[tree.village_a1.pk])
        client.force_login(personas.county_leader)
        response = client.get(
            reverse("branches:scorecard", args=[tree.village_a1.code]), {"period": "2026-03"}
        )
    shown = {
        title: value
        for star in response.context["card"]["stars"]
        for title, value, _rule in star["metrics"]
    }
    assert shown["网格走访覆盖率"] == "50%"
    assert '网格走访覆盖率：<span class="fw-semibold">50%</span>' in response.content.decode()


def _hazard(grid, n, *, deadline, closed=None):
    Hazard.objects.create(
        number=f"YH-T{n}", grid=grid, source=Hazard.Source.INSPECTION, place="楼道",
        kind=Hazard.Kind.FIRE, description="堆放杂物", found_on=date(2026, 3, 1),
        deadline=deadline, responsible_name="王五", closed_on=closed,
        status=Hazard.Status.CLOSED if closed else Hazard.Status.OPEN,
    )  # fmt: skip


def test_hazards_on_time(grids, tree, april_third):
    d = date
    _hazard(grids.a2, 1, deadline=d(2026, 3, 10), closed=d(2026, 3, 9))  # on time
    _hazard(grids.a2, 2, deadline=d(2026, 3, 10), closed=d(2026, 3, 12))  # late
    _hazard(grids.a2, 3, deadline=d(2026, 3, 20))  # open past its deadline: late
    _hazard(grids.a2, 4, deadline=d(2026, 4, 20))  # due in April: not counted
    ids = [tree.village_a2.pk, tree.village_b1.pk]
    assert registry.compute("grids.hazards_on_time", MARCH, ids) == {
        tree.village_a2.pk: Decimal("33.3"),
        tree.village_b1.pk: None,
    }
