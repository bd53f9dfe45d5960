"""Rectification items (问题清单): the workflow, evidence, verification by the recompute, the
overdue job and bulk opening."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from branches.models import Criterion, Rectification, RectificationEvent
from branches.services import recompute
from branches.services import rectification as rect
from branches.tasks import mark_rectifications_overdue
from governance.models import User
from tests.branches.factories import OrgUnitFactory
from tests.branches.test_recompute import put_reports
from tests.governance.factories import UserFactory

Status = Rectification.Status
Action = RectificationEvent.Action
MARCH, APRIL = date(2026, 3, 1), date(2026, 4, 1)
DEADLINE = date(2026, 4, 30)

pytestmark = pytest.mark.usefixtures("april_third")


def pdf(name="整改照片.pdf"):
    return SimpleUploadedFile(name, b"%PDF-1.4 evidence")


@pytest.fixture
def criteria_by_area(criteria):
    return {s.area_type: s for s in criteria}


@pytest.fixture
def toilets(criteria_by_area):
    """EC-02 卫生厕所普及率 (≥ 90%, the latest month counts) of the rural set."""
    return Criterion.objects.get(criteria_set=criteria_by_area["RURAL"], code="EC-02")


def open_item(user, branch, **kwargs):
    kwargs.setdefault("problem", "卫生厕所普及率 85% < 90%")
    kwargs.setdefault("deadline", DEADLINE)
    return rect.rectification_open(user=user, branch=branch, **kwargs)


def timeline(item):
    return list(item.events.values_list("action", "from_status", "to_status"))


# The workflow.


def test_an_item_goes_open_in_progress_done_with_each_step_recorded(tree, personas):
    item = open_item(personas.staff_a, tree.village_a2)
    assert (item.status, item.version, item.period) == (Status.OPEN, 1, APRIL)
    rect.rectification_start(item=item, user=personas.staff_a, expected_version=1)
    assert item.status == Status.IN_PROGRESS
    rect.rectification_close(
        item=item, user=personas.staff_a, expected_version=item.version, note="已新建卫生厕所 12 座"
    )
    assert item.status == Status.DONE
    assert item.closed_by == personas.staff_a and item.closed_at is not None
    assert timeline(item) == [
        (Action.CREATED, "", Status.OPEN),
        (Action.STARTED, Status.OPEN, Status.IN_PROGRESS),
        (Action.CLOSED, Status.IN_PROGRESS, Status.DONE),
    ]
    assert item.history.count() >= 3


def test_closing_needs_a_file_or_a_note(tree, personas):
    item = open_item(personas.staff_a, tree.village_a2)
    with pytest.raises(ValidationError, match="须提供佐证"):
        rect.rectification_close(item=item, user=personas.staff_a, expected_version=1)
    item.refresh_from_db()
    assert item.status == Status.OPEN
    rect.rectification_close(item=item, user=personas.staff_a, expected_version=1, uploads=[pdf()])
    assert item.status == Status.DONE
    assert item.evidence.get().original_name == "整改照片.pdf"


def test_evidence_is_checked_by_content(tree, personas):
    item = open_item(personas.staff_a, tree.village_a2)
    with pytest.raises(ValidationError, match="内容不是"):
        rect.rectification_evidence_add(
            item=item, user=personas.staff_a, uploads=[SimpleUploadedFile("假.pdf", b"MZ\x90")]
        )
    with pytest.raises(ValidationError, match="类型不受支持"):
        rect.rectification_evidence_add(
            item=item, user=personas.staff_a, uploads=[SimpleUploadedFile("a.exe", b"MZ")]
        )
    assert not item.evidence.exists()


@pytest.mark.parametrize(
    ("steps", "action", "message"),
    [
        ((), "reopen", "只有“已整改”"),
        (("start",), "start", "只有“待整改”"),
        (("close",), "start", "只有“待整改”"),
        (("close",), "close", "不能再标记整改完成"),
    ],
)
def test_illegal_transitions_are_refused_with_a_message(tree, personas, steps, action, message):
    user = personas.staff_a
    item = open_item(user, tree.village_a2)
    for step in steps:
        if step == "start":
            rect.rectification_start(item=item, user=user, expected_version=None)
        else:
            rect.rectification_close(item=item, user=user, expected_version=None, note="已整改")
    calls = {
        "start": lambda: rect.rectification_start(item=item, user=user, expected_version=None),
        "close": lambda: rect.rectification_close(
            item=item, user=user, expected_version=None, note="x"
        ),
        "reopen": lambda: rect.rectification_reopen(
            item=item, user=user, expected_version=None, reason="佐证不足"
        ),
    }
    with pytest.raises(ValidationError, match=message):
        calls[action]()


def test_a_manager_can_send_a_closed_item_back_with_a_reason(tree, personas):
    item = open_item(personas.staff_a, tree.village_a2)
    rect.rectification_close(item=item, user=personas.staff_a, expected_version=1, note="已整改")
    with pytest.raises(ValidationError, match="退回原因"):
        rect.rectification_reopen(
            item=item, user=personas.staff_a, expected_version=None, reason=""
        )
    rect.rectification_reopen(
        item=item, user=personas.county_leader, expected_version=None, reason="照片不清楚"
    )
    assert (item.status, item.closed_at) == (Status.IN_PROGRESS, None)


def test_a_stale_version_is_a_conflict_not_an_overwrite(tree, personas):
    item = open_item(personas.staff_a, tree.village_a2)
    rect.rectification_edit(
        item=item, user=personas.staff_a2, expected_version=1, measure="新建厕所"
    )
    stale = Rectification.objects.get(pk=item.pk)
    stale.version = 1
    with pytest.raises(rect.RectificationConflict) as caught:
        rect.rectification_edit(item=stale, user=personas.staff_a, expected_version=1, measure="x")
    assert "该整改事项在您打开之后已被" in caught.value.describe(personas.staff_a, "")
    item.refresh_from_db()
    assert item.measure == "新建厕所"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"problem": "  "}, "请填写“问题”"),
        ({"problem": "x" * 1001}, "最多 1000 个字"),
        ({"problem": "坏\x00字"}, "控制字符"),
        ({"deadline": date(2026, 4, 2)}, "整改期限不能早于今天"),
    ],
)
def test_opening_validates_what_was_entered(tree, personas, kwargs, message):
    with pytest.raises(ValidationError, match=message):
        open_item(personas.staff_a, tree.village_a2, **kwargs)
    assert not Rectification.objects.exists()


def test_only_a_rated_branch_in_the_jurisdiction_gets_an_item(tree, personas):
    with pytest.raises(ValidationError, match="村\\(社区\\)"):
        open_item(personas.staff_a, tree.township_a)
    with pytest.raises(PermissionDenied):
        open_item(personas.staff_a, tree.village_b1)


@pytest.mark.parametrize(
    ("persona", "may_open", "may_work_own"),
    [
        ("admin", True, True),
        ("county_leader", True, True),
        ("staff_a", True, True),
        ("secretary", False, True),
        ("auditor", False, False),
        ("grid_worker", False, False),
    ],
)
def test_who_may_open_and_work_items(tree, personas, persona, may_open, may_work_own):
    user = getattr(personas, persona)
    item = open_item(personas.staff_a, tree.village_a1)  # the secretary's branch
    if may_open:
        open_item(user, tree.village_a1)
    else:
        with pytest.raises(PermissionDenied):
            open_item(user, tree.village_a1)
    if may_work_own:
        rect.rectification_start(item=item, user=user, expected_version=None)
    else:
        with pytest.raises(PermissionDenied):
            rect.rectification_start(item=item, user=user, expected_version=None)


def test_a_secretary_works_only_their_own_branch(tree, personas):
    item = open_item(personas.staff_a, tree.village_a2)
    with pytest.raises(PermissionDenied):
        rect.rectification_start(item=item, user=personas.secretary, expected_version=None)


# Verification by the recompute.


def test_the_recompute_verifies_a_closed_item_once_its_criterion_passes(
    tree, personas, criteria_by_area, toilets
):
    put_reports(tree.village_a2, criteria_by_area, [1, 2, 3], **{"EC-02": Decimal(85)})
    recompute.ratings_recompute(period=MARCH)
    item = open_item(personas.staff_a, tree.village_a2, criterion=toilets, period=MARCH)
    rect.rectification_close(item=item, user=personas.staff_a, expected_version=1, note="新建厕所")
    # March still fails, but it is before the closing month: it says nothing about the fix.
    recompute.ratings_recompute(period=MARCH)
    item.refresh_from_db()
    assert (item.status, item.still_failing) == (Status.DONE, False)
    put_reports(tree.village_a2, criteria_by_area, [4], **{"EC-02": Decimal(95)})
    recompute.ratings_recompute(period=APRIL)
    item.refresh_from_db()
    assert item.status == Status.VERIFIED and item.verified_at is not None
    assert timeline(item)[-1] == (Action.VERIFIED, Status.DONE, Status.VERIFIED)


def test_a_closed_item_whose_criterion_still_fails_is_flagged_then_verified_later(
    tree, personas, criteria_by_area, toilets
):
    put_reports(tree.village_a2, criteria_by_area, [1, 2, 3, 4], **{"EC-02": Decimal(85)})
    item = open_item(personas.staff_a, tree.village_a2, criterion=toilets, period=MARCH)
    rect.rectification_close(item=item, user=personas.staff_a, expected_version=1, note="新建厕所")
    recompute.ratings_recompute(period=APRIL)
    recompute.ratings_recompute(period=APRIL, unit_ids=[tree.village_a2.pk])
    item.refresh_from_db()
    assert (item.status, item.still_failing) == (Status.DONE, True)
    # Flagged once, not once per recompute.
    assert [a for a, _f, _t in timeline(item)].count(Action.STILL_FAILING) == 1
    from branches.models import ReportValue

    ReportValue.objects.filter(
        report__unit=tree.village_a2, report__period=APRIL, criterion=toilets
    ).update(value_number=Decimal(92))
    recompute.ratings_recompute(period=APRIL, unit_ids=[tree.village_a2.pk])
    item.refresh_from_db()
    assert (item.status, item.still_failing) == (Status.VERIFIED, False)


def test_an_item_without_a_criterion_stays_closed(tree, personas, criteria_by_area):
    put_reports(tree.village_a2, criteria_by_area, [1, 2, 3, 4])
    item = open_item(personas.staff_a, tree.village_a2, problem="台账不规范")
    rect.rectification_close(item=item, user=personas.staff_a, expected_version=1, note="已补齐")
    recompute.ratings_recompute(period=APRIL)
    item.refresh_from_db()
    assert (item.status, item.still_failing) == (Status.DONE, False)


def test_verification_is_set_based(tree, personas, criteria_by_area, toilets):
    """The queries of the verification do not grow with the number of items."""

    def queries_for(n):
        branches = [
            OrgUnitFactory(parent=tree.township_a, level=5, area_type="RURAL") for _ in range(n)
        ]
        for branch in branches:
            put_reports(branch, criteria_by_area, [4])
            item = open_item(personas.staff_a, branch, criterion=toilets, period=MARCH)
            rect.rectification_close(item=item, user=personas.staff_a, expected_version=1, note="x")
        ids = [b.pk for b in branches]
        recompute.ratings_recompute(period=APRIL, unit_ids=ids)
        Rectification.objects.filter(branch_id__in=ids).update(status=Status.DONE)
        with CaptureQueriesContext(connection) as captured:
            outcome = rect.rectifications_verify(period=APRIL, kind="MONTHLY", unit_ids=ids)
        assert outcome["verified"] == n
        return len(captured)

    assert queries_for(2) == queries_for(7)


# The overdue job.


def test_the_overdue_job_marks_open_items_past_their_deadline_once(tree, personas, april_third):
    late = open_item(personas.staff_a, tree.village_a2, deadline=date(2026, 4, 5))
    started = open_item(personas.staff_a, tree.village_a1, deadline=date(2026, 4, 5))
    rect.rectification_start(item=started, user=personas.staff_a, expected_version=None)
    on_time = open_item(personas.staff_a, tree.village_a2, deadline=date(2026, 4, 6))
    closed = open_item(personas.staff_a, tree.village_a2, deadline=date(2026, 4, 5))
    rect.rectification_close(item=closed, user=personas.staff_a, expected_version=None, note="x")
    april_third.move_to("2026-04-06 00:10 +0800")  # Shanghai's 6 April is still 5 April UTC
    assert mark_rectifications_overdue.delay().get() == 2
    assert mark_rectifications_overdue.delay().get() == 0
    statuses = dict(Rectification.objects.values_list("pk", "status"))
    assert statuses == {
        late.pk: Status.OVERDUE,
        started.pk: Status.OVERDUE,
        on_time.pk: Status.OPEN,
        closed.pk: Status.DONE,
    }
    assert RectificationEvent.objects.filter(action=Action.OVERDUE).count() == 2
    # An overdue item may still be closed, or given a new deadline.
    late.refresh_from_db()
    rect.rectification_edit(
        item=late, user=personas.staff_a, expected_version=None, deadline=date(2026, 5, 31)
    )
    assert late.status == Status.OPEN
    started.refresh_from_db()
    rect.rectification_close(item=started, user=personas.staff_a, expected_version=None, note="x")
    assert started.status == Status.DONE


def test_the_beat_schedule_runs_the_overdue_job_daily(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["mark-rectifications-overdue"]
    assert entry["task"] == "branches.tasks.mark_rectifications_overdue"


# Bulk opening.


def test_bulk_opening_creates_every_item_once(tree, personas, toilets):
    items = [
        rect.BulkItem(branch=tree.village_a1, problem="降星：由 3 星降为 2 星", period=MARCH),
        rect.BulkItem(branch=tree.village_a2, problem="降星", period=MARCH, criterion=toilets),
    ]
    created = rect.rectifications_open_bulk(personas.county_leader, items, DEADLINE)
    assert len(created) == 2
    assert {i.source for i in Rectification.objects.all()} == {Rectification.Source.SUPERVISION}
    assert RectificationEvent.objects.filter(action=Action.CREATED).count() == 2
    # Twice: nothing new.
    assert rect.rectifications_open_bulk(personas.county_leader, items, DEADLINE) == []
    assert Rectification.objects.count() == 2


def test_bulk_opening_refuses_branches_outside_the_jurisdiction(tree, personas):
    items = [
        rect.BulkItem(branch=tree.village_a1, problem="降星", period=MARCH),
        rect.BulkItem(branch=tree.village_other, problem="降星", period=MARCH),
    ]
    with pytest.raises(PermissionDenied):
        rect.rectifications_open_bulk(personas.county_leader, items, DEADLINE)
    with pytest.raises(PermissionDenied):
        rect.rectifications_open_bulk(personas.auditor, items[:1], DEADLINE)
    assert not Rectification.objects.exists()


def test_counts_by_child_unit(tree, personas):
    open_item(personas.staff_a, tree.village_a1)
    done = open_item(personas.staff_a, tree.village_a2)
    rect.rectification_close(item=done, user=personas.staff_a, expected_version=None, note="x")
    open_item(personas.staff_b, tree.village_b1)
    counts = rect.rectification_counts(Rectification.objects.all(), depth=tree.township_a.depth)
    assert counts == {
        tree.township_a.path: {Status.OPEN: 1, Status.DONE: 1},
        tree.township_b.path: {Status.OPEN: 1},
    }


# The demo.


def test_the_demo_has_items_consistent_with_its_ratings(db):
    from branches.demo.hierarchy import demo_seed
    from branches.demo.values import demo_values_seed

    demo_seed(scale="town")
    demo_values_seed(seed=2026)
    items = list(Rectification.objects.select_related("criterion"))
    statuses = sorted(i.status for i in items)
    assert statuses == sorted(
        [Status.OPEN, Status.IN_PROGRESS, Status.OVERDUE, Status.DONE, Status.VERIFIED]
    )
    flagged = [i for i in items if i.still_failing]
    assert [i.status for i in flagged] == [Status.DONE]
    verified = next(i for i in items if i.status == Status.VERIFIED)
    assert verified.closed_at < verified.verified_at
    assert all(i.created_at <= (i.closed_at or i.created_at) for i in items)
    assert all(i.criterion is not None for i in items)


# Notifications: the people concerned hear of each step in its transaction.


def notified(text_part=""):
    from governance.models import Notification

    rows = Notification.objects.filter(text__contains=text_part)
    return sorted(rows.values_list("recipient__username", flat=True))


def test_opening_notifies_the_branchs_secretary_and_the_responsible_person(tree, personas):
    open_item(personas.staff_a, tree.village_a1, responsible_user=personas.staff_a2)
    assert notified("有新的整改事项") == ["checker", "shuji"]  # staff_a2 is checker
    from governance.models import Notification

    notification = Notification.objects.filter(recipient=personas.secretary).get()
    assert notification.url == f"/rectifications/{Rectification.objects.get().pk}/"
    assert notification.unit == tree.village_a1


def test_closing_notifies_who_opened_it_and_the_townships_staff_not_the_closer(tree, personas):
    item = open_item(personas.staff_a, tree.village_a1)
    rect.rectification_close(item=item, user=personas.secretary, expected_version=1, note="已整改")
    assert notified("已整改完成") == ["checker", "staff_a"]
    rect.rectification_reopen(
        item=item, user=personas.staff_a2, expected_version=item.version, reason="佐证不足"
    )
    assert notified("退回重新整改") == ["shuji"]


def test_the_overdue_job_notifies_once_per_item_and_step(tree, personas, april_third):
    open_item(personas.staff_a, tree.village_a1, deadline=date(2026, 4, 5))
    april_third.move_to("2026-04-07 09:00 +0800")
    assert rect.rectifications_mark_overdue() == 1
    assert rect.rectifications_mark_overdue() == 0
    assert notified("超过期限") == ["checker", "shuji", "staff_a"]


def test_bulk_opening_notifies_in_a_fixed_number_of_queries(tree, personas):
    def bulk(branches):
        items = [rect.BulkItem(branch=b, problem=f"问题{b.pk}", period=MARCH) for b in branches]
        with CaptureQueriesContext(connection) as queries:
            rect.rectifications_open_bulk(personas.staff_a, items, DEADLINE)
        return len(queries)

    few = bulk([tree.village_a1])
    extra = [OrgUnitFactory(parent=tree.township_a) for _n in range(5)]
    for n, branch in enumerate(extra):
        UserFactory(username=f"shuji{n}", role=User.Role.SECRETARY, unit=branch)
    many = bulk([tree.village_a2, *extra])
    assert many == few
    # Township A's other staff member hears of all seven items, each secretary of their own.
    assert notified("有新的整改事项") == ["checker"] * 7 + [
        "shuji",
        *(f"shuji{n}" for n in range(5)),
    ]


def test_the_branchs_baolian_leader_hears_of_opening_and_closing(tree, personas):
    from branches.models import LeaderAssignment

    LeaderAssignment.objects.create(
        leader=personas.county_leader, branch=tree.village_a1, year=2026
    )
    item = open_item(personas.staff_a, tree.village_a1)
    rect.rectification_close(item=item, user=personas.secretary, expected_version=1, note="已整改")
    mine = notified_texts(personas.county_leader)
    assert any("有新的整改事项" in text for text in mine)
    assert any("已整改完成" in text for text in mine)


def notified_texts(user):
    from governance.models import Notification

    return list(Notification.objects.filter(recipient=user).values_list("text", flat=True))


def test_the_month_found_cannot_be_in_the_future(tree, personas):
    with pytest.raises(ValidationError, match="发现月份不能晚于本月"):
        open_item(personas.staff_a, tree.village_a2, period=date(2026, 5, 1))
    assert open_item(personas.staff_a, tree.village_a2, period=APRIL).period == APRIL
