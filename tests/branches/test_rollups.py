"""Rating rollups: kept equal to the direct aggregate of the ratings, set-based."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from branches.models import (
    BranchRating,
    OrgUnit,
    RatingRollup,
    ReportValue,
    assessment_paths_refresh,
)
from branches.services import dashboards, recompute, rollups, workflow
from tests.branches.factories import OrgUnitFactory
from tests.branches.test_recompute import criteria, put_reports, villages  # noqa: F401
from tests.branches.test_timeline import fill

MARCH = date(2026, 3, 1)
FEBRUARY = date(2026, 2, 1)

pytestmark = pytest.mark.usefixtures("april_third")


def summaries(user) -> list[OrgUnit]:
    return list(OrgUnit.objects.filter(level__lt=OrgUnit.Level.VILLAGE))


def assert_rollups_match(user, period=MARCH, kind="MONTHLY"):
    """Every unit above the branches: the figures from its rollups equal the aggregate of
    the ratings below it, and so do its children's."""
    names = dashboards.star_names(period.year)
    for unit in summaries(user):
        direct = dashboards.distribution(
            dashboards.ratings_under(user, unit, period=period, kind=kind), names
        )
        assert dashboards.rollup_rows(unit, period=period, kind=kind) is not None
        assert (
            dashboards.summary_figures(user, unit, period=period, kind=kind, names=names) == direct
        ), unit.name
        if kind == "MONTHLY":
            completeness = dashboards.report_completeness(user, unit, period=period)
            assert completeness == dashboards.report_completeness_direct(
                user, unit, period=period
            ), unit.name


def test_a_recompute_builds_the_rollups_of_every_unit(tree, criteria, personas):  # noqa: F811
    put_reports(tree.village_a1, criteria, [1, 2, 3])
    put_reports(tree.village_a2, criteria, [1, 2, 3], **{"EC-02": Decimal(85)})
    recompute.ratings_recompute(period=MARCH)
    assert_rollups_match(personas.admin)
    township = RatingRollup.objects.filter(unit=tree.township_a, period=MARCH)
    assert sum(row.total for row in township) == 2
    root = RatingRollup.objects.filter(unit=tree.province, period=MARCH)
    assert sum(row.total for row in root) == BranchRating.objects.filter(period=MARCH).count()


def test_one_branchs_recompute_refreshes_the_units_above_it(tree, criteria, personas):  # noqa: F811
    put_reports(tree.village_a1, criteria, [1, 2, 3])
    put_reports(tree.village_b1, criteria, [1, 2, 3])
    recompute.ratings_recompute(period=MARCH)
    ReportValue.objects.filter(
        report__unit=tree.village_b1, report__period=MARCH, criterion__code="VT-02"
    ).update(value_number=1)
    recompute.ratings_recompute(period=MARCH, unit_ids=[tree.village_b1.pk])
    assert BranchRating.objects.get(unit=tree.village_b1, period=MARCH).veto == "ALL"
    assert_rollups_match(personas.admin)
    county = RatingRollup.objects.get(unit=tree.county, period=MARCH, area_type="RURAL")
    assert county.vetoed == 1


def test_the_first_refresh_of_a_period_builds_all_of_it(tree, criteria, personas):  # noqa: F811
    """A period rated before the rollups existed: the next recompute of any one branch
    builds every unit's rows, so a child table never shows a neighbour as empty."""
    put_reports(tree.village_a1, criteria, [1, 2, 3])
    put_reports(tree.village_other, criteria, [1, 2, 3])
    recompute.ratings_recompute(period=MARCH)
    RatingRollup.objects.all().delete()
    # Without rollups the pages read the ratings directly.
    assert dashboards.rollup_rows(tree.county, period=MARCH, kind="MONTHLY") is None
    put_reports(tree.village_a2, criteria, [3])
    recompute.ratings_recompute(period=MARCH, unit_ids=[tree.village_a2.pk])
    assert RatingRollup.objects.filter(unit__code="410103001", period=MARCH).exists()
    assert_rollups_match(personas.admin)


def test_the_workflow_keeps_the_rollups_in_line(tree, criteria, personas):  # noqa: F811
    """Submit, approve, unlock: each recomputes its branch, and the rollups follow."""
    put_reports(tree.village_a1, criteria, [1, 2], status="APPROVED")
    put_reports(tree.village_a2, criteria, [1, 2, 3], status="APPROVED")
    recompute.ratings_recompute(period=MARCH)
    report = fill(
        workflow.report_get_or_create(unit=tree.village_a1, period=MARCH, user=personas.staff_a),
        personas.staff_a,
    )
    steps = [
        lambda r: workflow.report_submit(report=r, user=personas.staff_a, expected_version=None),
        lambda r: workflow.report_approve(report=r, user=personas.staff_a2, expected_version=None),
        lambda r: workflow.report_unlock(
            report=r, user=personas.county_leader, reason="数据有误，需更正", expected_version=None
        ),
    ]
    for step in steps:
        report = step(report)
        recompute.branch_month_recompute(unit_id=tree.village_a1.pk, period=MARCH)
        assert_rollups_match(personas.admin)


def test_the_refresh_costs_the_same_queries_for_any_number_of_units(tree, criteria):  # noqa: F811
    def refresh_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            rollups.rollups_refresh(MARCH, "MONTHLY")
        return len(queries)

    for village in villages(tree.township_b, 2):
        put_reports(village, criteria, [3])
    recompute.ratings_recompute(period=MARCH)
    few = refresh_queries()
    for township in [
        OrgUnitFactory(parent=tree.county, level=OrgUnit.Level.TOWNSHIP) for _ in range(3)
    ]:
        for village in villages(township, 4):
            put_reports(village, criteria, [3])
    recompute.ratings_recompute(period=MARCH)
    assert refresh_queries() == few


def test_moving_a_township_rebuilds_the_rollups(tree, criteria, personas):  # noqa: F811
    put_reports(tree.village_b1, criteria, [1, 2, 3])
    recompute.ratings_recompute(period=MARCH)
    OrgUnit.objects.move(tree.township_b, tree.other_county, "last-child")
    assert assessment_paths_refresh()
    assert rollups.rollups_rebuild() >= 1
    assert_rollups_match(personas.admin)
    moved = OrgUnit.objects.get(pk=tree.other_county.pk)
    assert sum(r.total for r in RatingRollup.objects.filter(unit=moved, period=MARCH)) == 2


def test_the_summary_shows_the_trend_ranking_and_when_the_figures_were_computed(
    tree,
    criteria,  # noqa: F811
    personas,
    login,
):
    put_reports(tree.village_a1, criteria, [1, 2, 3])
    put_reports(tree.village_b1, criteria, [1, 2, 3], **{"EC-02": Decimal(85)})
    recompute.ratings_recompute(period=FEBRUARY)
    recompute.ratings_recompute(period=MARCH)
    response = login(personas.county_leader).get(
        f"/units/{tree.county.code}/summary/", {"period": "2026-03"}
    )
    html = response.content.decode()
    assert "数据截至" in html
    trend = response.context["trend"]
    assert [month["period"] for month in trend][-2:] == [FEBRUARY, MARCH]
    # Every rated branch is rated, with reports or not: 建设路社区 5★, 西流湖村 0★, 须水村 3★.
    assert trend[-1]["total"] == 3 and trend[0]["levels"] is None
    assert "近12个月星级分布" in html and "未评定" in html
    children = {child["unit"].pk: child for child in response.context["children"]}
    assert (children[tree.township_b.pk]["average"], children[tree.township_b.pk]["rank"]) == (3, 1)
    assert (children[tree.township_a.pk]["average"], children[tree.township_a.pk]["rank"]) == (
        2.5,
        2,
    )


def test_the_rollups_count_reports_in_and_in_on_time_by_the_first_submission(
    tree,
    criteria,  # noqa: F811
    personas,
):
    """March is due on 5 April (Beijing time): a first submission on the 5th at 23:59 is on
    time, one at 00:00 on the 6th is late, and a resubmission keeps the first one's date."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from branches.models import MonthlyReport

    beijing = ZoneInfo("Asia/Shanghai")
    put_reports(tree.village_a1, criteria, [3])
    put_reports(tree.village_a2, criteria, [3], status="APPROVED")
    put_reports(tree.village_b1, criteria, [3])
    times = {
        tree.village_a1: (datetime(2026, 4, 5, 23, 59, tzinfo=beijing), None),
        tree.village_a2: (datetime(2026, 4, 6, 0, 0, tzinfo=beijing), None),
        tree.village_b1: (datetime(2026, 4, 1, 9, 0, tzinfo=beijing),
                          datetime(2026, 4, 9, 9, 0, tzinfo=beijing)),
    }  # fmt: skip
    for unit, (first, later) in times.items():
        MonthlyReport.objects.filter(unit=unit, period=MARCH).update(
            first_submitted_at=first, submitted_at=later or first
        )
    recompute.ratings_recompute(period=MARCH)
    county = dashboards.report_completeness(personas.admin, tree.county, period=MARCH)
    assert (county["submitted"], county["approved"], county["on_time"]) == (2, 1, 2)
    township_a = dashboards.report_completeness(personas.admin, tree.township_a, period=MARCH)
    assert township_a["on_time"] == 1 and township_a["expected"] == 2
    assert_rollups_match(personas.admin)
