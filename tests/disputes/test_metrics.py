"""The disputes metrics against hand-computed values (window January to March 2026, the
clock on 3 April 2026)."""

from datetime import date
from decimal import Decimal

import pytest

from branches.metrics import Window, registry
from disputes import services
from tests.disputes.factories import make_case

pytestmark = pytest.mark.usefixtures("april_third")
Q1 = Window(2026, 1, 3)


@pytest.fixture
def ledger(personas, tree):
    staff = personas.staff_a
    a2 = tree.village_a2

    def resolved(received_on):
        case = make_case(staff, a2, received_on=received_on)
        case = services.case_start(case=case, user=staff)
        case = services.case_succeed(case=case, user=staff)
        return services.case_close(case=case, user=staff, outcome="WRITTEN")

    c1 = resolved(date(2026, 1, 10))
    c2 = make_case(staff, a2, received_on=date(2026, 2, 1))
    c2 = services.case_start(case=c2, user=staff)
    c2 = services.case_fail(case=c2, user=staff, note="不同意调解")
    c2 = services.case_close(case=c2, user=staff, outcome="LITIGATION")
    make_case(staff, a2, received_on=date(2026, 3, 25))  # due 9 April: not yet due
    make_case(staff, a2, received_on=date(2026, 2, 10))  # due 25 February: due, open, overdue
    c5 = make_case(staff, a2, received_on=date(2026, 1, 5), handling_level=4)
    services.case_escalate(case=c5, user=staff, reason="跨乡镇")  # to the county, due again
    make_case(staff, a2, received_on=date(2026, 4, 1))  # outside the window
    services.case_visit(case=c1, user=staff, satisfaction="SATISFIED")
    services.case_visit(case=c2, user=staff, satisfaction="UNSATISFIED")
    return tree


def values(key, tree, window=Q1):
    ids = [tree.village_a1.pk, tree.village_a2.pk]
    result = registry.compute(key, window, ids)
    return result[tree.village_a2.pk], result[tree.village_a1.pk]


def test_resolution_rate(ledger):
    # Closed or due by 1 April: c1 (resolved), c2 (closed unresolved), c4 (due) -> 1 of 3.
    assert values("disputes.resolution_rate", ledger) == (Decimal("33.3"), Decimal(100))


def test_resolved_in_township(ledger):
    assert values("disputes.resolved_in_township", ledger) == (Decimal(1), Decimal(0))


def test_escalated_above_township(ledger):
    assert values("disputes.escalated_above_township", ledger) == (Decimal(1), Decimal(0))


def test_overdue_cases(ledger):
    assert values("disputes.overdue_cases", ledger) == (Decimal(1), Decimal(0))


def test_return_satisfaction_counts_visits_of_the_window(ledger):
    assert values("disputes.return_satisfaction", ledger) == (None, None)
    april = Window(2026, 4, 4)
    assert values("disputes.return_satisfaction", ledger, april) == (Decimal("50.0"), None)


def test_metrics_take_a_fixed_number_of_queries(ledger, django_assert_max_num_queries):
    keys = [k for k in registry.keys() if k.startswith("disputes.")]  # noqa: SIM118
    assert len(keys) == 5
    for key in keys:
        with django_assert_max_num_queries(1):
            registry.compute(key, Q1, [ledger.village_a2.pk, ledger.village_b1.pk])
