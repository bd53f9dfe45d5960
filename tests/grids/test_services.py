from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from governance.models import Notification
from grids.masking import mask_name, mask_phone
from grids.models import (
    BuildingHead,
    GridBuilding,
    GridEvent,
    GridEventStep,
    Hazard,
    Household,
    Visit,
)
from grids.services import events as event_service
from grids.services import grids as grid_service
from grids.services import hazards as hazard_service
from grids.services.visits import visit_record
from tests.branches.evidence_samples import png
from tests.branches.factories import OrgUnitFactory

Status = GridEvent.Status


def test_masking_keeps_the_first_and_last_characters():
    assert mask_name("张建华") == "张*华"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳小明") == "欧**明"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("") == ""


def test_a_building_belongs_to_one_grid_only(grids, tree, personas):
    other = grid_service.grid_create(
        user=personas.admin, unit=tree.village_a1, code="G-A1-02", name="建设二网格"
    )
    with pytest.raises(ValidationError, match="已划入网格"):
        grid_service.grid_buildings_set(
            user=personas.admin, grid=other, buildings=[tree.building_a1]
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        GridBuilding.objects.create(grid=other, building=tree.building_a1)


@pytest.mark.parametrize("code", ["G 01", "G/01", "G?01", "G#01", "网格一", "G.01"])
def test_a_grid_code_is_one_a_page_address_can_hold(grids, tree, personas, code):
    # The walk saved "G 空格/斜杠?#", after which the grid list could not link to it (500).
    with pytest.raises(ValidationError, match="只能由字母、数字"):
        grid_service.grid_create(
            user=personas.admin, unit=tree.village_a1, code=code, name="新网格"
        )
    grid = grid_service.grid_create(
        user=personas.admin, unit=tree.village_a1, code="G_A1-03", name="新网格"
    )
    assert grid.code == "G_A1-03"


def test_a_grid_covers_only_buildings_inside_its_unit(grids, tree, personas):
    building = OrgUnitFactory(code="B-X", name="外村楼", level=7, parent=tree.village_b1)
    with pytest.raises(ValidationError, match="不在"):
        grid_service.grid_buildings_set(user=personas.admin, grid=grids.a2, buildings=[building])
    with pytest.raises(ValidationError, match="只能建在"):
        grid_service.grid_create(user=personas.admin, unit=tree.township_a, code="X", name="X")


def test_township_staff_manage_grids_only_in_their_township(grids, tree, personas):
    with pytest.raises(PermissionDenied):
        grid_service.grid_create(user=personas.staff_a, unit=tree.village_b1, code="X1", name="X")
    with pytest.raises(PermissionDenied):
        grid_service.grid_create(
            user=personas.county_leader, unit=tree.village_a2, code="X2", name="X"
        )
    assert grid_service.grid_create(
        user=personas.staff_a, unit=tree.village_a2, code="X3", name="X"
    )


def test_a_grid_code_cannot_hide_behind_a_page(grids, tree, personas):
    for code in ("new", "Mine", "events"):
        with pytest.raises(ValidationError, match="不能用作网格编码"):
            grid_service.grid_create(
                user=personas.staff_a, unit=tree.village_a2, code=code, name="X"
            )
        with pytest.raises(ValidationError, match="不能用作网格编码"):
            grid_service.grid_update(user=personas.staff_a, grid=grids.a2, code=code, name="X")


def test_a_grid_edit_is_checked_whole_before_anything_changes(grids, tree, personas):
    with pytest.raises(ValidationError, match="已被使用"):
        grid_service.grid_update(user=personas.staff_a, grid=grids.a2, code="G-A1-01", name="X")
    other = grid_service.grid_create(
        user=personas.admin, unit=tree.village_a1, code="G-A1-02", name="建设二网格"
    )
    with pytest.raises(ValidationError, match="不能重叠"):
        grid_service.grid_update(
            user=personas.staff_a,
            grid=other,
            code="G-A1-03",
            name="改名",
            buildings=[tree.building_a1],
        )
    other.refresh_from_db()
    assert (other.code, other.name) == ("G-A1-02", "建设二网格")
    with pytest.raises(PermissionDenied):
        grid_service.grid_update(user=personas.staff_b, grid=other, code="G-A1-02", name="X")
    with pytest.raises(PermissionDenied):
        grid_service.grid_buildings_set(user=personas.staff_b, grid=grids.a1, buildings=[])


def test_a_worker_account_and_assignment_stay_in_the_village(grids, tree, personas):
    from tests.governance.factories import UserFactory

    stranger = UserFactory(username="wg_b", role="GRID_WORKER", unit=tree.village_b1)
    with pytest.raises(ValidationError, match="关联的账号须属于建设路社区"):
        grid_service.worker_create(
            user=personas.staff_a, unit=tree.village_a1, name="陈晓", account=stranger
        )
    worker = grid_service.worker_create(
        user=personas.staff_a, unit=tree.village_a1, name="陈晓", grid=grids.a1
    )
    assignment = worker.assignments.get()
    with pytest.raises(PermissionDenied):
        grid_service.worker_unassign(user=personas.staff_b, assignment=assignment)
    with pytest.raises(ValidationError, match="不能早于"):
        grid_service.worker_unassign(
            user=personas.staff_a,
            assignment=assignment,
            ended_on=assignment.started_on - timedelta(days=1),
        )
    grid_service.worker_unassign(user=personas.staff_a, assignment=assignment)
    with pytest.raises(ValidationError, match="已于"):
        grid_service.worker_unassign(user=personas.staff_a, assignment=assignment)


def test_a_household_edit_keeps_the_address_rule_and_the_village(grids, tree, personas):
    elsewhere = grid_service.worker_create(user=personas.admin, unit=tree.village_b1, name="吴刚")
    with pytest.raises(ValidationError, match="不属于该网格所在的村"):
        grid_service.household_create(
            user=personas.staff_a,
            grid=grids.a2,
            address_building="一组",
            address_room="10",
            head_name="钱多",
            worker=elsewhere,
        )
    h = grids.h_a1_care
    fields = {"address_building": "1号楼", "address_unit": "1", "head_name": "李秀英"}
    with pytest.raises(ValidationError, match="已有地址为“1号楼-1-101”"):
        grid_service.household_update(
            user=personas.staff_a, household=h, address_room="101", **fields
        )
    grid_service.household_update(
        user=personas.staff_a, household=h, address_room="102", member_count=2, **fields
    )
    h.refresh_from_db()
    assert h.member_count == 2 and h.care_tags == []
    with pytest.raises(PermissionDenied):
        grid_service.household_update(
            user=personas.staff_b, household=h, address_room="102", **fields
        )


def test_a_building_head_lives_in_their_building(grids, tree, personas):
    with pytest.raises(ValidationError, match="楼栋长须是本楼栋的住户"):
        grid_service.building_head_appoint(
            user=personas.staff_a,
            building=tree.building_a1,
            name="王大山",
            selected_on=date(2026, 1, 5),
            household=grids.h_a2,
        )


def test_a_new_building_head_ends_the_term_of_the_one_in_office(grids, tree, personas):
    def appoint(name, day):
        return grid_service.building_head_appoint(
            user=personas.staff_a, building=tree.building_a1, name=name, selected_on=day
        )

    first = appoint("王大山", date(2026, 1, 5))
    second = appoint("李小河", date(2026, 3, 1))
    first.refresh_from_db()
    assert first.term_end == date(2026, 2, 28) and second.term_end is None
    assert list(BuildingHead.objects.filter(building=tree.building_a1).current()) == [second]
    with pytest.raises(ValidationError, match="新的选任日期须晚于"):
        appoint("赵早", date(2026, 2, 1))
    with pytest.raises(ValidationError, match="不能晚于今天"):
        appoint("钱未来", timezone.localdate() + timedelta(days=1))
    assert BuildingHead.objects.filter(building=tree.building_a1).count() == 2


def test_a_grid_worker_sees_only_the_grids_they_are_assigned_to(grids, personas):
    user = personas.grid_worker
    assert list(Household.objects.visible_to(user)) == [grids.h_a1, grids.h_a1_care]
    staff = set(Household.objects.visible_to(personas.staff_a))
    assert staff == {grids.h_a1, grids.h_a1_care, grids.h_a2}
    assert Household.objects.visible_to(personas.county_leader).count() == 4
    assert Household.objects.visible_to(personas.secretary).count() == 2


def test_a_household_refuses_implausible_members_and_bad_phones(grids, personas):
    for kwargs, message in [
        ({"member_count": 0}, "家庭人数"),
        ({"member_count": 31}, "家庭人数"),
        ({"phone": "12ab"}, "格式不对"),
        ({"care_tags": ["X"]}, "关爱标签"),
        ({"head_name": "=cmd"}, "公式"),
    ]:
        base = {"head_name": "周一", "address_building": "3组", "address_room": "1"}
        with pytest.raises(ValidationError, match=message):
            grid_service.household_create(user=personas.admin, grid=grids.a2, **(base | kwargs))


def test_a_visit_moves_the_households_last_visit_day(grids, personas):
    today = timezone.localdate()
    visit = visit_record(
        user=personas.grid_worker,
        household=grids.h_a1,
        visited_on=today - timedelta(days=3),
        purpose=Visit.Purpose.CARE,
        notes="身体良好",
    )
    assert visit.worker == grids.worker and visit.grid == grids.a1
    visit_record(
        user=personas.grid_worker,
        household=grids.h_a1,
        visited_on=today - timedelta(days=10),
        purpose=Visit.Purpose.POLICY,
    )
    grids.h_a1.refresh_from_db()
    assert grids.h_a1.last_visited_on == today - timedelta(days=3)


def test_a_grid_worker_cannot_visit_another_grids_household(grids, personas):
    with pytest.raises(PermissionDenied):
        visit_record(
            user=personas.grid_worker,
            household=grids.h_a2,
            visited_on=timezone.localdate(),
            purpose=Visit.Purpose.CARE,
        )
    with pytest.raises(PermissionDenied):
        visit_record(
            user=personas.auditor,
            household=grids.h_a1,
            visited_on=timezone.localdate(),
            purpose=Visit.Purpose.CARE,
        )


def test_a_visit_cannot_be_in_the_future(grids, personas):
    with pytest.raises(ValidationError, match="不能晚于今天"):
        visit_record(
            user=personas.grid_worker,
            household=grids.h_a1,
            visited_on=timezone.localdate() + timedelta(days=1),
            purpose=Visit.Purpose.CARE,
        )


def _report(grids, personas, **kw):
    return event_service.event_report(
        user=personas.grid_worker,
        grid=grids.a1,
        category=GridEvent.Category.FACILITY,
        description="3号楼路灯损坏",
        **kw,
    )


def test_an_event_goes_through_every_step_with_a_row_each(grids, personas):
    staff = personas.staff_a
    event = _report(grids, personas)
    assert event.number.startswith("SJ") and event.status == Status.REPORTED
    event_service.event_accept(event=event, user=staff)
    deadline = timezone.localdate() + timedelta(days=5)
    event_service.event_dispatch(
        event=event, user=staff, deadline=deadline, assignee_user=personas.staff_a2
    )
    assert Notification.objects.filter(
        recipient=personas.staff_a2, url__contains=event.number
    ).exists()
    event_service.event_handle(event=event, user=personas.staff_a2, result="已更换灯泡")
    event_service.event_feedback(event=event, user=personas.grid_worker, note="居民满意")
    event_service.event_close(event=event, user=staff)
    event.refresh_from_db()
    assert event.status == Status.CLOSED and event.closed_at and event.handled_at
    steps = list(
        GridEventStep.objects.filter(event=event).values_list("action", "from_status", "to_status")
    )
    assert [s[0] for s in steps] == [
        "REPORTED",
        "ACCEPTED",
        "DISPATCHED",
        "HANDLED",
        "FEEDBACK",
        "CLOSED",
    ]
    assert steps[3][1:] == ("DISPATCHED", "HANDLED")
    assert GridEventStep.objects.filter(event=event, actor_name="").count() == 0


def test_illegal_transitions_are_refused_in_chinese(grids, personas):
    event = _report(grids, personas)
    with pytest.raises(ValidationError, match="只有“已反馈”的事件可以办结"):
        event_service.event_close(event=event, user=personas.staff_a)
    with pytest.raises(ValidationError, match="不能派单"):
        event_service.event_dispatch(
            event=event,
            user=personas.staff_a,
            deadline=timezone.localdate(),
            assignee_unit=grids.a1.unit,
        )
    event.refresh_from_db()
    assert event.status == Status.REPORTED


def test_the_grid_worker_cannot_accept_and_leaders_cannot_handle(grids, personas):
    event = _report(grids, personas)
    with pytest.raises(PermissionDenied):
        event_service.event_accept(event=event, user=personas.grid_worker)
    with pytest.raises(PermissionDenied):
        event_service.event_accept(event=event, user=personas.county_leader)
    with pytest.raises(PermissionDenied):
        event_service.event_accept(event=event, user=personas.staff_b)


def test_a_dispatch_needs_an_assignee_and_a_deadline_not_past(grids, personas):
    event = _report(grids, personas)
    event_service.event_accept(event=event, user=personas.staff_a)
    with pytest.raises(ValidationError, match="承办单位或承办人"):
        event_service.event_dispatch(
            event=event, user=personas.staff_a, deadline=timezone.localdate()
        )
    with pytest.raises(ValidationError, match="不能早于今天"):
        event_service.event_dispatch(
            event=event,
            user=personas.staff_a,
            deadline=timezone.localdate() - timedelta(days=1),
            assignee_unit=grids.a1.unit,
        )
    with pytest.raises(ValidationError, match="管辖范围"):
        event_service.event_dispatch(
            event=event,
            user=personas.staff_a,
            deadline=timezone.localdate(),
            assignee_user=personas.staff_b,
        )


def test_a_returned_event_notifies_its_reporter(grids, personas):
    event = _report(grids, personas)
    event_service.event_return(event=event, user=personas.staff_a, reason="重复上报")
    event.refresh_from_db()
    assert event.status == Status.RETURNED
    note = Notification.objects.get(recipient=personas.grid_worker)
    assert "重复上报" in note.text and note.unit == grids.a1.unit
    with pytest.raises(ValidationError, match="请填写"):
        event_service.event_return(
            event=_report(grids, personas), user=personas.staff_a, reason=" "
        )


def test_an_overdue_event_is_open_past_its_deadline(grids, personas):
    event = _report(grids, personas)
    event_service.event_accept(event=event, user=personas.staff_a)
    deadline = timezone.localdate() + timedelta(days=2)
    event_service.event_dispatch(
        event=event, user=personas.staff_a, deadline=deadline, assignee_unit=grids.a1.unit
    )
    event.refresh_from_db()
    assert not event.is_overdue_on(deadline)
    assert event.is_overdue_on(deadline + timedelta(days=1))
    assert GridEvent.objects.overdue_on(deadline + timedelta(days=1)).get() == event


def test_another_app_converts_an_event_through_the_seam(grids, personas):
    calls = []
    action = event_service.event_actions.register(
        "fake.convert",
        label="转为纠纷案件",
        allowed=lambda user, event: user.can_handle_grid_events and event.category == "DISPUTE",
        url=lambda event: f"/fake/new/?event={event.number}",
    )

    def fake_actions(event, user):  # the disputes app registers its own action too
        return [
            a for a in event_service.event_actions.for_event(event, user) if a.key == "fake.convert"
        ]

    try:
        event = _report(grids, personas)
        assert fake_actions(event, personas.staff_a) == []
        event.category = GridEvent.Category.DISPUTE
        assert fake_actions(event, personas.staff_a) == [action]
        assert fake_actions(event, personas.grid_worker) == []
        calls.append(action.url(event))
        event_service.event_mark_converted(
            event=event, actor=personas.staff_a, reference="JF2026-0001", url="/fake/1/"
        )
        event.refresh_from_db()
        assert event.status == Status.CONVERTED
        assert event.converted_reference == "JF2026-0001" and event.converted_url == "/fake/1/"
        step = event.steps.last()
        assert step.action == "CONVERTED" and "JF2026-0001" in step.note
        assert fake_actions(event, personas.staff_a) == []
        with pytest.raises(ValidationError):
            event_service.event_mark_converted(event=event, actor=personas.staff_a, reference="JF2")
    finally:
        event_service.event_actions.unregister("fake.convert")


def _png(name="photo.png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, png(), content_type="image/png")


def test_a_hazard_is_closed_only_with_evidence(grids, personas):
    today = timezone.localdate()
    hazard = hazard_service.hazard_record(
        user=personas.grid_worker,
        grid=grids.a1,
        place="1号楼楼道",
        kind=Hazard.Kind.EBIKE,
        description="楼道内电动车充电",
        deadline=today + timedelta(days=7),
        responsible_name="张建华",
    )
    assert hazard.number.startswith("YH") and hazard.source == Hazard.Source.INSPECTION
    with pytest.raises(ValidationError, match="整改佐证"):
        hazard_service.hazard_close(hazard=hazard, user=personas.staff_a, note="已清理")
    hazard_service.hazard_evidence_add(hazard=hazard, user=personas.grid_worker, upload=_png())
    with pytest.raises(PermissionDenied):
        hazard_service.hazard_close(hazard=hazard, user=personas.grid_worker, note="已清理")
    hazard_service.hazard_close(hazard=hazard, user=personas.staff_a, note="已清理")
    hazard.refresh_from_db()
    assert hazard.status == Hazard.Status.CLOSED and hazard.closed_on_time
    assert [s.action for s in hazard.steps.all()] == ["RECORDED", "EVIDENCE_ADDED", "CLOSED"]


def test_a_hazard_deadline_cannot_precede_its_finding(grids, personas):
    with pytest.raises(ValidationError, match="不能早于发现日期"):
        hazard_service.hazard_record(
            user=personas.staff_a,
            grid=grids.a1,
            place="x",
            kind=Hazard.Kind.GAS,
            description="x",
            found_on=date(2026, 1, 5),
            deadline=date(2026, 1, 1),
            responsible_name="王五",
        )
