from collections import Counter
from datetime import date

from branches.metrics import Window, registry
from branches.models import OrgUnit
from grids.demo import demo_grids_reset, demo_grids_seed
from grids.models import Grid, GridAssignment, GridEvent, Hazard, Household, Visit
from tests.governance.factories import UserFactory

MONTHS = [date(2026, m, 1) for m in range(1, 11)]


def test_the_demo_seeds_every_village_and_obeys_the_workflow(tree, personas):
    UserFactory(username="demo_wangge", role="GRID_WORKER", unit=tree.compound_a1)
    demo_grids_seed(months=MONTHS, today=date(2026, 11, 20), seed=3, scale="town")
    villages = OrgUnit.objects.rated()
    assert all(Grid.objects.filter(unit__path__startswith=v.path).exists() for v in villages)
    assert GridAssignment.objects.filter(worker__user__username="demo_wangge").exists()
    statuses = Counter(GridEvent.objects.values_list("status", flat=True))
    assert {"CLOSED", "RETURNED"} <= set(statuses)
    for event in GridEvent.objects.prefetch_related("steps"):
        steps = list(event.steps.all())
        assert (
            steps[0].action == "REPORTED" and (steps[-1].to_status or event.status) == event.status
        )
        if event.status == "DISPATCHED":
            assert event.deadline and (event.assignee_unit_id or event.assignee_user_id)
    for hazard in Hazard.objects.filter(status="CLOSED"):
        assert hazard.evidence.exists() and hazard.closed_on
    assert Visit.objects.exists() and Household.objects.exists()
    values = registry.compute("grids.visit_coverage", Window(2026, 1, 10), [v.pk for v in villages])
    assert all(v is not None for v in values.values())
    demo_grids_reset()
    assert not Grid.objects.exists() and not Visit.objects.exists()
