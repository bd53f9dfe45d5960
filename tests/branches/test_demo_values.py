from collections import Counter
from datetime import date
from itertools import pairwise

import pytest

from branches.demo.users import demo_users_create
from branches.demo.values import demo_values_seed
from branches.models import (
    BranchRating,
    Evidence,
    MonthlyReport,
    OrgUnit,
    RecomputeRun,
    ReportEvent,
    ReportValue,
    StarAssessment,
)
from branches.signals import demo_records_seeding
from governance.models import User
from tests.branches.factories import OrgUnitFactory

TODAY = date(2026, 11, 22)


@pytest.fixture(autouse=True)
def branches_values_only(monkeypatch):
    """The months of values without the records apps' demos (each app tests its own seed);
    the test of the seam connects its own receiver."""
    monkeypatch.setattr(demo_records_seeding, "receivers", [])


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
    # The open month is rated for every branch, as the nightly job leaves it.
    november = BranchRating.objects.filter(period=date(2026, 11, 1), kind="MONTHLY")
    assert november.count() == branches
    assert RecomputeRun.objects.get(period=date(2026, 11, 1)).finished_at is not None
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


# The workflow fields, evidence and timeline are what the services would have written.

Action = ReportEvent.Action
STATUS_STEPS = {
    "DRAFT": [Action.CREATED],
    "SUBMITTED": [Action.CREATED, Action.SUBMITTED],
    "RETURNED": [Action.CREATED, Action.SUBMITTED, Action.RETURNED],
    "APPROVED": [Action.CREATED, Action.SUBMITTED, Action.APPROVED],
}
RESUBMITTED = [Action.RETURNED, Action.RESUBMITTED]


@pytest.fixture
def seeded(county):
    demo_values_seed(seed=7, today=TODAY)
    return county


def test_every_report_past_draft_names_its_submitter_and_a_different_reviewer(seeded):
    reports = MonthlyReport.objects.select_related("submitted_by", "reviewed_by")
    for report in reports.exclude(status="DRAFT"):
        assert report.submitted_by is not None, report
        assert report.first_submitted_at <= report.submitted_at, report
    for report in reports.filter(status__in=["APPROVED", "RETURNED"]):
        assert report.reviewed_by is not None, report
        assert report.reviewed_by != report.submitted_by, report
        assert report.reviewed_at >= report.first_submitted_at, report
        assert report.reviewed_by.role == "TOWNSHIP_STAFF"
        assert report.unit.path.startswith(report.reviewed_by.unit.path)
    for report in reports.filter(status="RETURNED"):
        assert report.return_reason
    assert not reports.filter(status="DRAFT", submitted_by__isnull=False).exists()


def test_each_timeline_leads_in_order_to_the_reports_status(seeded):
    events = {}
    for event in ReportEvent.objects.order_by("occurred_at", "id"):
        events.setdefault(event.report_id, []).append(event)
    reports = list(MonthlyReport.objects.all())
    resubmitted = 0
    for report in reports:
        timeline = events[report.pk]
        steps = [e.action for e in timeline if e.action != Action.EVIDENCE_ADDED]
        if steps[2:4] == RESUBMITTED and report.status != "RETURNED":
            resubmitted += 1
            steps = steps[:2] + steps[4:]
        assert steps == STATUS_STEPS[report.status], (report, steps)
        changes = [e for e in timeline if e.to_status]
        assert changes[-1].to_status == report.status
        assert all(a.to_status == b.from_status for a, b in pairwise(changes))
        assert all(e.actor is not None and e.actor_name for e in timeline)
        assert [e.occurred_at for e in timeline] == sorted(e.occurred_at for e in timeline)
        assert report.created_at == timeline[0].occurred_at
        for event in timeline:
            if event.action == Action.RETURNED:
                assert event.reason and event.actor != timeline[1].actor
    assert resubmitted > 0  # some reports were returned once and resubmitted


def test_each_positive_value_that_needs_evidence_has_a_real_file(seeded, settings):
    values = ReportValue.objects.select_related("criterion", "report")
    needing = [v for v in values if v.criterion.evidence_required and v.value]
    assert needing
    evidence = {e.value_id: e for e in Evidence.objects.all()}
    assert set(evidence) == {v.pk for v in needing}
    kinds = set()
    for value in needing:
        item = evidence[value.pk]
        content = (settings.MEDIA_ROOT / item.file.name).read_bytes()
        assert len(content) == item.size
        extension = item.file.name.rsplit(".", 1)[1]
        kinds.add(extension)
        assert item.original_name.endswith(f".{extension}")
        if extension == "pdf":
            assert content.startswith(b"%PDF-1.4") and content.rstrip().endswith(b"%%EOF")
        else:
            assert content.startswith(b"\x89PNG\r\n\x1a\n")
        if value.report.submitted_by is not None:
            assert item.uploaded_by_id == value.report.submitted_by_id
    assert kinds == {"pdf", "png"}


def test_townships_without_two_staff_logins_get_colleagues_who_cannot_log_in(seeded):
    colleagues = User.objects.filter(username__startswith="staff_")
    assert colleagues.count() == 6  # two for each of the fixture's three townships
    assert not any(user.has_usable_password() for user in colleagues)


def test_the_demo_secretary_submits_their_own_branch_and_township_a_staff_review_it(tree):
    OrgUnit.objects.filter(pk=tree.village_a1.pk).update(secretary_name="张书记")
    tree.village_a1.refresh_from_db()
    seeded_users = demo_users_create(
        province=tree.province,
        city=tree.city,
        county=tree.county,
        townships=[tree.township_a, tree.township_b],
        village=tree.village_a1,
        grid_unit=tree.compound_a1,
    )
    demo_values_seed(seed=7, today=TODAY)
    by_name = {user.username: user for user in seeded_users}
    own = MonthlyReport.objects.filter(unit=tree.village_a1).exclude(status="DRAFT")
    assert {r.submitted_by for r in own} == {by_name["demo_shuji"]}
    sibling = MonthlyReport.objects.filter(unit=tree.village_a2, status="APPROVED")
    assert {r.submitted_by for r in sibling} == {by_name["demo_zhen_a"]}
    assert {r.reviewed_by for r in sibling} == {by_name["demo_zhen_a2"]}
    in_b = MonthlyReport.objects.filter(unit=tree.village_b1, status="APPROVED")
    assert {r.reviewed_by for r in in_b} == {by_name["demo_zhen_b"]}
    assert {r.submitted_by.username for r in in_b} == {"staff_410102002_1"}


def test_a_few_last_month_values_jump_and_carry_the_warning_the_services_would_store(seeded):
    from branches.services.criteria import soft_warning

    flagged = ReportValue.objects.exclude(warning="").select_related("report", "criterion")
    assert flagged, "the review page has a 环比提示 to show"
    for value in flagged:
        assert value.report.period == date(2026, 10, 1)
        before = ReportValue.objects.get(
            report__unit=value.report.unit,
            report__period=date(2026, 9, 1),
            criterion__code=value.criterion.code,
        )
        assert value.warning == soft_warning(value.criterion, value.value, before.value)
        assert value.value <= value.criterion.max_value


def test_the_demos_recent_returns_notify_the_township_staff(county):
    OrgUnit.objects.filter(pk=county.village_a1.pk).update(secretary_name="张书记")
    county.village_a1.refresh_from_db()
    demo_users_create(
        province=county.province,
        city=county.city,
        county=county.county,
        townships=[county.township_a, county.township_b],
        village=county.village_a1,
        grid_unit=county.compound_a1,
    )
    demo_values_seed(seed=7, today=TODAY)
    # Notifications live in governance; the demo reaches them through the workflow's listeners.
    from governance.models import Notification

    notifications = list(
        Notification.objects.filter(event__isnull=False).select_related(
            "event__report", "recipient"
        )
    )
    assert notifications
    # Each recent return, with the resubmission and approval that followed it.
    actions = {n.event.action for n in notifications}
    assert Action.RETURNED in actions
    assert actions <= {Action.RETURNED, Action.RESUBMITTED, Action.APPROVED}
    # Only a report's newest step is unread: a fixed return asks nobody to fix it again.
    newest = {}
    for n in notifications:
        newest[n.event.report_id] = max(newest.get(n.event.report_id, 0), n.event_id)
    assert all(n.is_read == (n.event_id != newest[n.event.report_id]) for n in notifications)
    assert all(n.recipient_id != n.event.actor_id for n in notifications)
    assert all(n.created_at == n.event.occurred_at for n in notifications)
    assert Notification.objects.filter(recipient__username="demo_zhen_a").exists()
    oldest = min(n.created_at for n in notifications).date()
    assert (date.today() - oldest).days <= 90


def test_the_records_apps_seed_before_the_months_are_rated(county):
    seen = {}

    def receiver(sender, *, months, today, seed, scale, **kwargs):
        seen.update(months=months, today=today, seed=seed, scale=scale)
        seen["ratings_then"] = BranchRating.objects.count()

    demo_records_seeding.connect(receiver, dispatch_uid="test_records_seeding")
    try:
        result = demo_values_seed(seed=7, today=TODAY, scale="county")
    finally:
        demo_records_seeding.disconnect(dispatch_uid="test_records_seeding")
    assert seen == {
        "months": result.months,
        "today": TODAY,
        "seed": 7,
        "scale": "county",
        "ratings_then": 0,
    }
    assert BranchRating.objects.exists()
