from collections import Counter
from datetime import date

import pytest

from branches.demo.values import demo_values_seed
from branches.models import BranchRating, MonthlyReport, OrgUnit, StarAssessment
from tests.branches.factories import OrgUnitFactory

TODAY = date(2026, 11, 22)


@pytest.fixture
def county(tree):
    for n in range(60):
        OrgUnitFactory(
            parent=tree.township_a if n % 2 else tree.township_b,
            level=OrgUnit.Level.VILLAGE,
            area_type="URBAN" if n % 5 == 0 else "RURAL",
        )
    return tree


def test_demo_values_give_a_realistic_spread_and_ratings(county):
    result = demo_values_seed(seed=7, today=TODAY)
    assert result.months[0] == date(2025, 1, 1) and result.months[-1] == date(2026, 10, 1)
    annual = Counter(
        BranchRating.objects.filter(kind="ANNUAL", period=date(2025, 1, 1)).values_list(
            "level", flat=True
        )
    )
    branches = OrgUnit.objects.rated().count()
    assert sum(annual.values()) == branches
    # Seeded randomness over 66 branches: a few at the top, most below three stars.
    assert annual[4] + annual[5] >= 1
    assert annual[4] + annual[5] < annual[2] + annual[1] + annual[0]
    october = BranchRating.objects.filter(period=date(2026, 10, 1), kind="MONTHLY")
    assert october.count() == branches
    assert (
        StarAssessment.objects.filter(period=date(2026, 10, 1), is_met=False)
        .exclude(gaps=[])
        .exists()
    )
    statuses = Counter(
        MonthlyReport.objects.filter(period=date(2026, 10, 1)).values_list("status", flat=True)
    )
    assert statuses["SUBMITTED"] > statuses["DRAFT"] > 0


def test_demo_values_are_deterministic_for_a_seed(county):
    demo_values_seed(seed=3, today=TODAY)
    first = list(
        BranchRating.objects.order_by("unit_id", "period", "kind").values_list("unit_id", "level")
    )
    MonthlyReport.objects.all().delete()
    BranchRating.objects.all().delete()
    demo_values_seed(seed=3, today=TODAY)
    second = list(
        BranchRating.objects.order_by("unit_id", "period", "kind").values_list("unit_id", "level")
    )
    assert first == second
