import importlib
import threading
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from branches.metrics import Window, registry
from branches.models import (
    BranchRating,
    MonthlyReport,
    OrgUnit,
    RecomputeRun,
    ReportValue,
    StarAssessment,
)
from branches.services import recompute
from branches.services.criteria import criteria_defaults_load
from branches.services.workflow import manual_criteria
from tests.branches.factories import OrgUnitFactory, passing_value

Status = MonthlyReport.Status
MARCH = date(2026, 3, 1)


pytestmark = pytest.mark.usefixtures("april_third")


@pytest.fixture
def criteria(db):
    return {s.area_type: s for s in criteria_defaults_load(year=2026)}


def put_reports(unit, criteria, months, status=Status.SUBMITTED, **overrides):
    """Reports with every manual value passing (or overridden), written directly."""
    criteria_set = criteria[unit.area_type]
    for month in months:
        report = MonthlyReport.objects.create(
            unit=unit, period=date(2026, month, 1), criteria_set=criteria_set, status=status
        )
        for criterion in manual_criteria(criteria_set):
            value = overrides.get(criterion.code, passing_value(criterion))
            ReportValue.objects.create(
                report=report,
                criterion=criterion,
                value_bool=value if isinstance(value, bool) else None,
                value_number=None if isinstance(value, bool) else value,
            )


def villages(parent, n):
    return [
        OrgUnitFactory(parent=parent, level=OrgUnit.Level.VILLAGE, area_type="RURAL")
        for _ in range(n)
    ]


def test_a_branch_meeting_every_criterion_holds_five_stars(tree, criteria):
    put_reports(tree.village_a2, criteria, [1, 2, 3])
    put_reports(tree.village_a1, criteria, [1, 2, 3])
    recompute.ratings_recompute(period=MARCH)
    ratings = BranchRating.objects.filter(period=MARCH, kind="MONTHLY")
    assert {r.unit_id: r.level for r in ratings} == {
        tree.village_a1.pk: 5,
        tree.village_a2.pk: 5,
        tree.village_b1.pk: 0,
        tree.village_other.pk: 0,
    }
    assert StarAssessment.objects.filter(period=MARCH).count() == 4 * 5


def test_each_failure_is_explained_with_the_star_and_the_rule(tree, criteria):
    put_reports(tree.village_a2, criteria, [1, 2, 3], **{"EC-02": Decimal(85)})
    recompute.ratings_recompute(period=MARCH, unit_ids=[tree.village_a2.pk])
    eco = StarAssessment.objects.get(unit=tree.village_a2, period=MARCH, star=3)
    assert not eco.is_met
    assert eco.gaps == ["生态宜居星：卫生厕所普及率 85% < 90%"]
    assert eco.failed_codes == ["EC-02"]
    assert eco.inputs["EC-02"] == "85"
    rating = BranchRating.objects.get(unit=tree.village_a2, period=MARCH)
    assert (rating.level, rating.has_star_3, rating.has_star_1) == (3, False, False)


def test_a_veto_removes_every_star(tree, criteria):
    put_reports(tree.village_a2, criteria, [1, 2, 3])
    ReportValue.objects.filter(
        report__unit=tree.village_a2, report__period=MARCH, criterion__code="VT-02"
    ).update(value_number=1)
    recompute.ratings_recompute(period=MARCH)
    rating = BranchRating.objects.get(unit=tree.village_a2, period=MARCH)
    assert (rating.level, rating.veto) == (0, "ALL")
    veto = "一票否决（全部星）：平安法治星 重大安全生产事故或群体性事件 1件 > 0件（3月）"
    stored = StarAssessment.objects.filter(unit=tree.village_a2, period=MARCH).order_by("star")
    assert [star.gaps for star in stored] == [[veto]] * 5
    # Only the vetoing star's own criterion failed; the others lost their star to it.
    assert [star.failed_codes for star in stored] == [[], [], [], ["VT-02"], []]
    assert rating.gaps_text == veto


@pytest.mark.parametrize(
    ("status", "wording"),
    [(None, "未填报"), (Status.DRAFT, "草稿未提交"), (Status.RETURNED, "已退回待重报")],
)
def test_a_month_that_does_not_count_is_named_by_its_reports_state(tree, criteria, status, wording):
    put_reports(tree.village_a2, criteria, [1, 3])
    if status is not None:
        put_reports(tree.village_a2, criteria, [2], status=status)
    recompute.ratings_recompute(period=MARCH, unit_ids=[tree.village_a2.pk])
    party = StarAssessment.objects.get(unit=tree.village_a2, period=MARCH, star=1)
    assert party.gaps == [
        f"支部过硬星：{wording}：主题党日按月开展（2月）",
        # A sum at least: the missing month added nothing to the shortfall.
        "支部过硬星：党员集中培训学时 7.34学时 < 8学时（截至3月，全年32学时）",
        f"支部过硬星：{wording}：党员集中培训学时（2月）",
        f'支部过硬星：{wording}：村"两委"干部违纪违法被立案查处（2月）',
        "支部过硬星：需先获得其他四颗星",
    ]
    # A veto item's missing month fails its star but fires no veto.
    rating = BranchRating.objects.get(unit=tree.village_a2, period=MARCH)
    assert (rating.veto, rating.has_star_2) == ("NONE", True)


def test_the_annual_rating_names_a_month_still_awaiting_review(tree, criteria):
    put_reports(tree.village_a2, criteria, range(1, 12), status=Status.APPROVED)
    put_reports(tree.village_a2, criteria, [12], status=Status.SUBMITTED)
    recompute.ratings_recompute(period=date(2026, 1, 1), kind="ANNUAL")
    safety = StarAssessment.objects.get(unit=tree.village_a2, kind="ANNUAL", star=4)
    assert "平安法治星：待审核：安全隐患排查次数（12月）" in safety.gaps
    assert "平安法治星：待审核：重大安全生产事故或群体性事件（12月）" in safety.gaps
    assert BranchRating.objects.get(unit=tree.village_a2, kind="ANNUAL").veto == "NONE"


def test_a_breach_beside_a_draft_month_fires_the_veto_and_names_both(tree, criteria):
    put_reports(tree.village_a2, criteria, [1], **{"VT-02": Decimal(1)})
    put_reports(tree.village_a2, criteria, [2], status=Status.DRAFT)
    put_reports(tree.village_a2, criteria, [3])
    recompute.ratings_recompute(period=MARCH, unit_ids=[tree.village_a2.pk])
    safety = StarAssessment.objects.get(unit=tree.village_a2, period=MARCH, star=4)
    veto = "一票否决（全部星）：平安法治星 重大安全生产事故或群体性事件 1件 > 0件（1月）"
    assert veto in safety.gaps
    assert "平安法治星：草稿未提交：重大安全生产事故或群体性事件（2月）" in safety.gaps
    assert all(veto in star.gaps for star in StarAssessment.objects.filter(unit=tree.village_a2))
    rating = BranchRating.objects.get(unit=tree.village_a2, period=MARCH)
    assert (rating.level, rating.veto) == (0, "ALL")


def test_monthly_counts_submitted_reports_and_annual_only_approved_ones(tree, criteria):
    put_reports(tree.village_a2, criteria, range(1, 13), status=Status.SUBMITTED)
    put_reports(tree.village_a1, criteria, range(1, 13), status=Status.APPROVED)
    recompute.ratings_recompute(period=date(2026, 12, 1))
    recompute.ratings_recompute(period=date(2026, 1, 1), kind="ANNUAL")
    monthly = dict(BranchRating.objects.filter(kind="MONTHLY").values_list("unit_id", "level"))
    annual = dict(BranchRating.objects.filter(kind="ANNUAL").values_list("unit_id", "level"))
    assert monthly[tree.village_a2.pk] == monthly[tree.village_a1.pk] == 5
    assert (annual[tree.village_a1.pk], annual[tree.village_a2.pk]) == (5, 0)


def test_drafts_are_ignored(tree, criteria):
    put_reports(tree.village_a2, criteria, [1, 2, 3], status=Status.DRAFT)
    recompute.ratings_recompute(period=MARCH)
    assert BranchRating.objects.get(unit=tree.village_a2, period=MARCH).level == 0


def test_recomputing_twice_changes_nothing(tree, criteria):
    put_reports(tree.village_a2, criteria, [1, 2, 3], **{"IN-01": Decimal(0)})
    first = recompute.ratings_recompute(period=MARCH)
    rows = list(StarAssessment.objects.order_by("pk").values()) + list(
        BranchRating.objects.order_by("pk").values()
    )
    second = recompute.ratings_recompute(period=MARCH)
    assert first.written == 4 * 6
    assert (second.written, second.unchanged) == (0, 4 * 6)
    assert rows == list(StarAssessment.objects.order_by("pk").values()) + list(
        BranchRating.objects.order_by("pk").values()
    )


def test_recomputing_twice_with_months_missing_changes_nothing(tree, criteria):
    put_reports(tree.village_a2, criteria, [1])
    put_reports(tree.village_a2, criteria, [2], status=Status.RETURNED)
    put_reports(tree.village_a1, criteria, [3], status=Status.DRAFT)
    first = recompute.ratings_recompute(period=MARCH)
    second = recompute.ratings_recompute(period=MARCH)
    assert first.written == 4 * 6
    assert (second.written, second.unchanged) == (0, 4 * 6)


def test_a_changed_value_rewrites_only_that_branch(tree, criteria):
    put_reports(tree.village_a2, criteria, [1, 2, 3])
    recompute.ratings_recompute(period=MARCH)
    ReportValue.objects.filter(
        report__unit=tree.village_a2, report__period=MARCH, criterion__code="EC-02"
    ).update(value_number=50)
    result = recompute.ratings_recompute(period=MARCH)
    # The rating row and the two stars that changed: 生态宜居星 and the capstone.
    assert result.written == 3


def test_an_engine_error_while_rows_are_written_surfaces_and_writes_nothing(
    tree, criteria, monkeypatch
):
    put_reports(tree.village_a2, criteria, [1, 2, 3])
    assess, calls = recompute.rating.assess, []

    def assess_failing_on_the_third_branch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise ValueError("the engine refused")
        return assess(*args, **kwargs)

    monkeypatch.setattr(recompute.rating, "assess", assess_failing_on_the_third_branch)
    # The engine's own error, not the driver's account of an aborted COPY.
    with pytest.raises(ValueError, match="the engine refused"):
        recompute.ratings_recompute(period=MARCH)
    assert not StarAssessment.objects.exists()
    assert not BranchRating.objects.exists()


def test_the_query_count_does_not_grow_with_the_number_of_branches(tree, criteria):
    put_reports(tree.village_a2, criteria, [1, 2, 3])
    with CaptureQueriesContext(connection) as few:
        recompute.ratings_recompute(period=MARCH)
    for village in villages(tree.township_b, 12):
        put_reports(village, criteria, [1, 2])
        put_reports(village, criteria, [3], status=Status.DRAFT)
    with CaptureQueriesContext(connection) as many:
        recompute.ratings_recompute(period=MARCH)
    assert BranchRating.objects.filter(period=MARCH).count() == 4 + 12
    assert len(many.captured_queries) == len(few.captured_queries)


def test_one_branch_recompute_covers_the_later_months_of_the_year(tree, criteria):
    put_reports(tree.village_a2, criteria, [1, 2, 3])
    recompute.branch_month_recompute(unit_id=tree.village_a2.pk, period=date(2026, 2, 1))
    periods = set(
        BranchRating.objects.filter(unit=tree.village_a2).values_list("period", flat=True)
    )
    assert periods == {date(2026, 2, 1), MARCH, date(2026, 4, 1)}


def test_recompute_under_a_unit_leaves_the_rest_alone(tree, criteria):
    recompute.ratings_recompute(period=MARCH, under=tree.township_a)
    assert set(BranchRating.objects.values_list("unit_id", flat=True)) == {
        tree.village_a1.pk,
        tree.village_a2.pk,
    }


def test_the_command_recomputes_a_period(tree, criteria, capsys):
    call_command("recompute_ratings", "--period", "2026-03", "--under", tree.county.code)
    assert "2026-03-01" in capsys.readouterr().out
    assert BranchRating.objects.filter(period=MARCH).count() == 3


def test_a_criteria_set_used_by_a_rating_is_locked(tree, criteria):
    recompute.ratings_recompute(period=MARCH)
    assert all(s.is_locked for s in type(criteria["RURAL"]).objects.all())


def test_the_on_time_metric_counts_reports_submitted_by_the_due_day(tree, criteria):
    from django.utils import timezone

    put_reports(tree.village_a2, criteria, [1, 2])
    MonthlyReport.objects.filter(period=date(2026, 1, 1)).update(
        submitted_at=timezone.make_aware(timezone.datetime(2026, 2, 3, 9))
    )
    MonthlyReport.objects.filter(period=date(2026, 2, 1)).update(
        submitted_at=timezone.make_aware(timezone.datetime(2026, 3, 20, 9))
    )
    values = registry.compute(
        "branches.on_time_report_rate", Window(2026, 1, 2), [tree.village_a2.pk, tree.village_b1.pk]
    )
    assert values == {tree.village_a2.pk: Decimal("50.0"), tree.village_b1.pk: Decimal("0.0")}


def test_a_metric_criterion_is_fed_by_the_registry(tree, criteria):
    from branches.models import Criterion

    rural = criteria["RURAL"]
    Criterion.objects.create(
        criteria_set=rural,
        code="BR-90",
        star=1,
        title="月度报表按时报送率",
        source="METRIC",
        metric_key="branches.on_time_report_rate",
        kind="PERCENTAGE",
        unit="%",
        comparator="GTE",
        threshold=Decimal(80),
        aggregation="METRIC",
    )
    recompute.ratings_recompute(period=MARCH, unit_ids=[tree.village_a2.pk])
    star = StarAssessment.objects.get(unit=tree.village_a2, period=MARCH, star=1)
    assert any("月度报表按时报送率 0% < 80%" in gap for gap in star.gaps)


def test_an_unknown_metric_key_is_refused_by_the_registry():
    with pytest.raises(KeyError):
        registry.compute("nope.metric", Window(2026, 1, 3), [1])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_recomputes_of_the_same_period_never_run_at_once(tree, criteria):
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's; SQLite serialises writers itself")
    holder_ready, release = threading.Event(), threading.Event()
    order = []

    def hold_the_lock():
        try:
            with transaction.atomic():
                recompute._lock_scope(
                    recompute.lock_names(MARCH, "MONTHLY", [tree.village_a2.path])
                )
                holder_ready.set()
                release.wait(10)
                order.append("holder done")
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    holder_ready.wait(10)

    def recompute_march():
        try:
            recompute.ratings_recompute(period=MARCH)
            order.append("recompute")
        finally:
            connections.close_all()

    waiter = threading.Thread(target=recompute_march)
    waiter.start()
    waiter.join(1)
    assert waiter.is_alive(), "the second recompute must wait for the lock"
    release.set()
    holder.join(10)
    waiter.join(10)
    assert order == ["holder done", "recompute"]


def test_the_beat_job_on_new_year_recomputes_december_and_the_annual_rating(
    tree, criteria, django_capture_on_commit_callbacks
):
    from branches.tasks import recompute_closed_month

    criteria_defaults_load(year=2025)
    with (
        time_machine.travel("2026-01-01 02:00 +0800", tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        asked = recompute_closed_month.delay().get()
    monthly, annual = (RecomputeRun.objects.get(pk=asked[k]) for k in ("monthly", "annual"))
    assert (monthly.period, monthly.kind) == (date(2025, 12, 1), "MONTHLY")
    assert (annual.period, annual.kind) == (date(2025, 1, 1), "ANNUAL")
    assert monthly.finished_at and annual.finished_at, "without a broker the runs are done at once"
    assert monthly.result["branches"] == OrgUnit.objects.rated().count()
    assert set(BranchRating.objects.values_list("period", "kind")) == {
        (date(2025, 12, 1), "MONTHLY"),
        (date(2025, 1, 1), "ANNUAL"),
    }


def test_a_moved_branch_leaves_its_old_jurisdiction_at_once(tree, criteria, personas):
    put_reports(tree.village_a2, criteria, [1, 2, 3])
    recompute.ratings_recompute(period=MARCH)
    assert BranchRating.objects.visible_to(personas.staff_a).filter(unit=tree.village_a2).exists()
    OrgUnit.objects.move(tree.village_a2, tree.township_b, "last-child")
    assert not BranchRating.objects.visible_to(personas.staff_a).filter(unit=tree.village_a2)
    assert BranchRating.objects.visible_to(personas.staff_b).filter(unit=tree.village_a2).exists()
    moved = OrgUnit.objects.get(pk=tree.village_a2.pk)
    assert BranchRating.objects.get(unit=moved, period=MARCH).unit_path != moved.path
    from branches.models import assessment_paths_refresh

    assert assessment_paths_refresh() == 6
    assert BranchRating.objects.get(unit=moved, period=MARCH).unit_path == moved.path


def test_a_branch_is_rated_on_the_set_its_reports_were_entered_on(tree, criteria):
    from branches.models import Criterion
    from branches.services.criteria import criteria_set_copy

    put_reports(tree.village_a2, criteria, [1, 2, 3])
    new_version = criteria_set_copy(source=criteria["RURAL"])
    Criterion.objects.create(
        criteria_set=new_version,
        code="NEW-1",
        star=2,
        title="新增指标",
        kind="BOOLEAN",
        comparator="IS_YES",
        aggregation="LATEST",
    )
    recompute.ratings_recompute(period=MARCH)
    rating = BranchRating.objects.get(unit=tree.village_a2, period=MARCH)
    assert (rating.level, rating.criteria_set_id) == (5, criteria["RURAL"].pk)
    # A branch with no reports is measured against the year's active set.
    assert BranchRating.objects.get(unit=tree.village_b1, period=MARCH).criteria_set_id == (
        new_version.pk
    )


def test_correcting_a_closed_year_recomputes_its_annual_rating(tree):
    last_year = {s.area_type: s for s in criteria_defaults_load(year=2025)}
    unit = tree.village_a2
    for month in range(1, 13):
        report = MonthlyReport.objects.create(
            unit=unit,
            period=date(2025, month, 1),
            criteria_set=last_year["RURAL"],
            status="APPROVED",
        )
        for criterion in manual_criteria(last_year["RURAL"]):
            value = passing_value(criterion)
            ReportValue.objects.create(
                report=report,
                criterion=criterion,
                value_bool=value if isinstance(value, bool) else None,
                value_number=None if isinstance(value, bool) else value,
            )
    recompute.ratings_recompute(period=date(2025, 1, 1), kind="ANNUAL")
    assert BranchRating.objects.get(unit=unit, kind="ANNUAL").level == 5
    ReportValue.objects.filter(
        report__unit=unit, report__period=date(2025, 12, 1), criterion__code="EC-02"
    ).update(value_number=50)
    recompute.branch_month_recompute(unit_id=unit.pk, period=date(2025, 12, 1))
    annual = BranchRating.objects.get(unit=unit, kind="ANNUAL")
    assert (annual.period, annual.level, annual.has_star_3) == (date(2025, 1, 1), 3, False)


def test_the_rating_keeps_the_gaps_of_its_missing_stars_and_their_codes(tree, criteria):
    put_reports(tree.village_a2, criteria, [1, 3], **{"EC-02": Decimal(85)})
    recompute.ratings_recompute(period=MARCH, unit_ids=[tree.village_a2.pk])
    stars = StarAssessment.objects.filter(unit=tree.village_a2, period=MARCH).order_by("star")
    rating = BranchRating.objects.get(unit=tree.village_a2, period=MARCH)
    assert rating.gaps_text == "；".join(
        gap for star in stars if not star.is_met for gap in star.gaps
    )
    party = stars[0]
    # Months without a value fail their criteria too; the capstone names no criterion.
    assert party.failed_codes == ["BR-01", "BR-05", "VT-01"]
    assert party.gaps[-1] == "支部过硬星：需先获得其他四颗星"
    assert stars[2].failed_codes[0] == "EC-02"


def test_the_migration_derives_the_failed_codes_the_engine_records(tree, criteria):
    """Rows rated before 0018 get their codes from their gap texts: the same codes."""
    backfill = importlib.import_module("branches.migrations.0018_rating_failed_codes")
    put_reports(tree.village_a1, criteria, [1, 3], **{"SA-05": Decimal(0), "CI-04": Decimal(50)})
    put_reports(tree.village_a2, criteria, [1, 2, 3], **{"VT-02": Decimal(1)})
    put_reports(tree.village_b1, criteria, [2], status=Status.RETURNED)
    recompute.ratings_recompute(period=MARCH)
    titles = {}
    for criteria_set in criteria.values():
        for c in criteria_set.criteria.order_by("order", "code"):
            titles.setdefault((criteria_set.pk, c.star), []).append((c.code, c.title))
    stored = StarAssessment.objects.filter(period=MARCH, is_met=False)
    assert stored.count() > 10
    for star in stored:
        derived = backfill.failed_codes(
            star.star_name, star.gaps, titles[star.criteria_set_id, star.star]
        )
        assert derived == star.failed_codes, star.gaps


def test_the_migration_fills_the_rows_rated_before_it(tree, criteria):
    backfill = importlib.import_module("branches.migrations.0018_rating_failed_codes")
    put_reports(tree.village_a1, criteria, [1, 3], **{"EC-02": Decimal(85)})
    put_reports(tree.village_a2, criteria, [1, 2, 3], **{"VT-02": Decimal(1)})
    recompute.ratings_recompute(period=MARCH)
    engine = {
        "stars": list(StarAssessment.objects.order_by("pk").values_list("failed_codes", flat=True)),
        "ratings": list(BranchRating.objects.order_by("pk").values_list("gaps_text", flat=True)),
    }
    StarAssessment.objects.update(failed_codes=[])
    BranchRating.objects.update(gaps_text="")
    backfill.backfill(django_apps, None)
    assert {
        "stars": list(StarAssessment.objects.order_by("pk").values_list("failed_codes", flat=True)),
        "ratings": list(BranchRating.objects.order_by("pk").values_list("gaps_text", flat=True)),
    } == engine
    assert any(engine["stars"]) and any(engine["ratings"])
