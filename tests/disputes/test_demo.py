"""The demo's dispute ledger obeys the workflow and the reset clears it."""

from datetime import date

import pytest

from disputes.demo import demo_disputes_reset, demo_disputes_seed
from disputes.models import CaseCounter, CaseStep, DisputeCase, MediationTeam
from disputes.workflow import TRANSITIONS

pytestmark = pytest.mark.usefixtures("april_third")
MONTHS = [date(2025, m, 1) for m in range(4, 13)] + [date(2026, m, 1) for m in (1, 2, 3)]


def test_demo_cases_follow_the_workflow(personas, tree):
    made = demo_disputes_seed(
        months=MONTHS, today=date(2026, 4, 3), seed=7, scale="town", per_month=4
    )
    assert made == DisputeCase.objects.count() > 50
    cases = DisputeCase.objects.prefetch_related("steps")
    for case in cases:
        steps = list(case.steps.all())
        assert steps[0].action == CaseStep.Action.RECEIVE
        status = steps[0].to_status
        for step in steps[1:]:
            if step.action in TRANSITIONS:
                assert step.from_status == status, (case.number, step.action)
                assert status in TRANSITIONS[step.action].sources
            status = step.to_status or status
            assert step.occurred_at.date() < date(2026, 4, 3)
        assert status == case.status, case.number
        assert case.is_resolved == (
            case.outcome in DisputeCase.RESOLVED_OUTCOMES or case.status == "SUCCEEDED"
        )
    numbers = set(cases.values_list("number", flat=True))
    assert len(numbers) == made
    assert DisputeCase.objects.filter(is_resolved=True).count() > made * 0.8
    assert DisputeCase.objects.filter(top_level=DisputeCase.Level.COUNTY).exists()
    demo_disputes_reset()
    assert not DisputeCase.objects.exists()
    assert not MediationTeam.objects.exists() and not CaseCounter.objects.exists()
