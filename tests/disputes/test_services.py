"""Registering and handling cases through the services: numbering, levels, the workflow,
who may do what, masking, attachments and the overdue job."""

from datetime import date

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from disputes import services
from disputes.models import CaseCounter, CaseStep, DisputeCase, MediationTeam, ReturnVisit
from tests.branches.evidence_samples import pdf, upload
from tests.disputes.factories import make_case

S = DisputeCase.Status
A = CaseStep.Action
Level = DisputeCase.Level
pytestmark = pytest.mark.usefixtures("april_third")


def test_numbers_run_per_township_and_year(personas, tree):
    first = make_case(personas.secretary, tree.village_a1)
    second = make_case(personas.staff_a, tree.village_a2)
    other = make_case(personas.staff_b, tree.village_b1)
    last_year = make_case(personas.staff_a, tree.village_a2, received_on=date(2025, 12, 30))
    assert first.number == "2026-410102001-0001"
    assert second.number == "2026-410102001-0002"
    assert other.number == "2026-410102002-0001"
    assert last_year.number == "2025-410102001-0001"


def test_a_number_is_never_reused_after_a_failed_registration(personas, tree):
    make_case(personas.staff_a, tree.village_a2)
    with pytest.raises(ValidationError):
        make_case(personas.staff_a, tree.village_a2, summary="")
    # The counter row is rolled back with the failed case, so the number was never used;
    # deleting a case does not give its number back either.
    second = make_case(personas.staff_a, tree.village_a2)
    second.delete()
    third = make_case(personas.staff_a, tree.village_a2)
    assert third.number.endswith("-0003")
    assert CaseCounter.objects.get(township=tree.township_a, year=2026).last_number == 3


def test_a_case_of_a_building_is_handled_by_its_compound(personas, tree):
    case = make_case(personas.grid_worker, tree.building_a1)
    assert case.handling_level == Level.COMPOUND
    assert case.handling_unit == tree.compound_a1
    assert case.branch == tree.village_a1
    assert case.township == tree.township_a
    assert case.status == S.RECEIVED
    assert case.due_on == date(2026, 4, 16)
    assert [s.action for s in case.steps.all()] == [A.RECEIVE]
    assert case.parties.count() == 2


def test_a_case_may_start_at_a_higher_level_but_not_a_lower_one(personas, tree):
    case = make_case(personas.staff_a, tree.village_a2, handling_level=Level.TOWNSHIP)
    assert case.handling_unit == tree.township_a
    with pytest.raises(ValidationError, match="调处层级不能低于"):
        make_case(personas.staff_a, tree.township_a, handling_level=Level.VILLAGE)


@pytest.mark.parametrize("persona", ["county_leader", "auditor"])
def test_read_only_roles_cannot_register(personas, tree, persona):
    with pytest.raises(PermissionDenied):
        make_case(getattr(personas, persona), tree.village_a2)


def test_a_unit_outside_the_jurisdiction_is_refused(personas, tree):
    with pytest.raises(PermissionDenied):
        make_case(personas.staff_b, tree.village_a2)


def test_parties_are_checked(personas, tree):
    with pytest.raises(ValidationError, match="联系电话"):
        make_case(personas.staff_a, tree.village_a2, parties=[{"name": "王五", "phone": "12ab"}])
    with pytest.raises(ValidationError, match="当事人姓名"):
        make_case(personas.staff_a, tree.village_a2, parties=[{"name": "", "phone": ""}])


def test_the_whole_way_village_fails_township_succeeds_closed_and_visited(personas, tree):
    secretary, staff = personas.secretary, personas.staff_a
    case = make_case(secretary, tree.village_a1)
    case = services.case_start(case=case, user=secretary)
    case = services.session_add(
        case=case, user=secretary, held_on=date(2026, 4, 2), place="村委会",
        participants="张三、李四", record="双方各执一词", result="FAILED",
    ).case  # fmt: skip
    case = services.case_fail(case=case, user=secretary, note="双方分歧较大")
    case = services.case_escalate(case=case, user=secretary, reason="村级调解未成功")
    assert case.status == S.RECEIVED
    assert case.handling_level == Level.TOWNSHIP
    assert case.handling_unit == tree.township_a
    assert case.top_level == Level.TOWNSHIP
    # The village no longer handles it; the township does.
    with pytest.raises(PermissionDenied):
        services.case_start(case=case, user=secretary)
    case = services.case_start(case=case, user=staff)
    case = services.case_succeed(case=case, user=staff, note="达成赔偿协议")
    assert case.is_resolved
    case = services.case_close(case=case, user=staff, outcome="WRITTEN")
    assert case.status == S.CLOSED and case.closed_at is not None
    case = services.case_visit(case=case, user=staff, satisfaction="SATISFIED")
    assert case.status == S.VISITED
    assert ReturnVisit.objects.get(case=case).satisfaction == "SATISFIED"
    steps = list(case.steps.values_list("action", "from_status", "to_status"))
    assert steps == [
        (A.RECEIVE, "", S.RECEIVED),
        (A.START, S.RECEIVED, S.MEDIATING),
        (A.SESSION, S.MEDIATING, S.MEDIATING),
        (A.FAIL, S.MEDIATING, S.FAILED),
        (A.ESCALATE, S.FAILED, S.RECEIVED),
        (A.START, S.RECEIVED, S.MEDIATING),
        (A.SUCCEED, S.MEDIATING, S.SUCCEEDED),
        (A.CLOSE, S.SUCCEEDED, S.CLOSED),
        (A.VISIT, S.CLOSED, S.VISITED),
    ]
    escalation = case.steps.get(action=A.ESCALATE)
    assert (escalation.from_level, escalation.to_level) == (Level.VILLAGE, Level.TOWNSHIP)
    assert escalation.actor == secretary and escalation.note == "村级调解未成功"


def test_an_illegal_step_is_refused_with_a_clear_message(personas, tree):
    case = make_case(personas.staff_a, tree.village_a2)
    with pytest.raises(ValidationError, match="案件当前为“已受理”，不能“结案”"):
        services.case_close(case=case, user=personas.staff_a, outcome="WRITTEN")
    assert case.steps.count() == 1


def test_a_successful_mediation_closes_only_with_an_agreement(personas, tree):
    staff = personas.staff_a
    case = make_case(staff, tree.village_a2)
    case = services.case_start(case=case, user=staff)
    case = services.case_succeed(case=case, user=staff)
    with pytest.raises(ValidationError, match="结案方式只能是"):
        services.case_close(case=case, user=staff, outcome="LITIGATION")


def test_a_failed_case_closed_by_litigation_is_not_resolved(personas, tree):
    staff = personas.staff_a
    case = make_case(staff, tree.village_a2)
    case = services.case_start(case=case, user=staff)
    case = services.case_fail(case=case, user=staff, note="不愿调解")
    case = services.case_close(case=case, user=staff, outcome="LITIGATION")
    assert case.status == S.CLOSED and not case.is_resolved


def test_transfer_names_the_department(personas, tree):
    staff = personas.staff_a
    case = make_case(staff, tree.village_a2, category="LABOUR")
    case = services.case_transfer(case=case, user=staff, department="县人社局劳动监察大队")
    assert case.status == S.TRANSFERRED and case.transfer_department == "县人社局劳动监察大队"
    with pytest.raises(ValidationError, match="转办部门"):
        services.case_transfer(case=make_case(staff, tree.village_a2), user=staff, department="")


def test_escalation_to_the_county_and_no_further(personas, tree, django_user_model):
    staff = personas.staff_a
    county_staff = django_user_model.objects.create(
        username="xianzf", role="TOWNSHIP_STAFF", unit=tree.county
    )
    case = make_case(staff, tree.village_a2, handling_level=Level.TOWNSHIP)
    case = services.case_escalate(case=case, user=staff, reason="涉及多个乡镇")
    assert case.handling_unit == tree.county and case.top_level == Level.COUNTY
    with pytest.raises(ValidationError, match="县级"):
        services.case_escalate(case=case, user=county_staff, reason="再上交")


def test_reopen_needs_a_reason_and_makes_it_unresolved(personas, tree):
    staff = personas.staff_a
    case = make_case(staff, tree.village_a2)
    case = services.case_start(case=case, user=staff)
    case = services.case_succeed(case=case, user=staff)
    case = services.case_close(case=case, user=staff, outcome="ORAL")
    with pytest.raises(ValidationError, match="重新办理原因"):
        services.case_reopen(case=case, user=staff, reason=" ")
    case = services.case_reopen(case=case, user=staff, reason="协议未履行")
    assert case.status == S.RECEIVED and not case.is_resolved and case.outcome == ""


def test_an_assigned_mediator_mediates_but_does_not_close(personas, tree):
    staff, worker = personas.staff_a, personas.grid_worker
    case = make_case(staff, tree.village_a2)
    case = services.case_assign(case=case, user=staff, mediator=worker)
    assert services.available_actions(worker, case) == [A.START]
    case = services.case_start(case=case, user=worker)
    case = services.case_succeed(case=case, user=worker)
    with pytest.raises(PermissionDenied):
        services.case_close(case=case, user=worker, outcome="ORAL")


def test_a_team_member_mediates_too(personas, tree):
    staff, worker = personas.staff_a, personas.grid_worker
    team = services.team_save(
        user=staff, unit=tree.village_a2, name="西流湖村调委会", kind="COMMITTEE",
        members=[worker], member_names="老支书王大爷\n乡贤刘先生",
    )  # fmt: skip
    assert team.member_name_list == ["老支书王大爷", "乡贤刘先生"]
    case = make_case(staff, tree.village_a2)
    case = services.case_assign(case=case, user=staff, team=team)
    assert services.is_mediator(worker, case)
    services.case_start(case=case, user=worker)
    with pytest.raises(ValidationError, match="已有名为"):
        services.team_save(user=staff, unit=tree.village_a2, name="西流湖村调委会",
                           kind="TEAM")  # fmt: skip
    assert MediationTeam.objects.count() == 1


def test_the_assignment_step_names_who_was_assigned(personas, tree):
    staff, worker = personas.staff_a, personas.grid_worker
    team = services.team_save(user=staff, unit=tree.township_a, name="镇调委会", kind="COMMITTEE")
    case = make_case(staff, tree.village_a2)
    case = services.case_assign(case=case, user=staff, mediator=worker, team=team, note="尽快")
    step = case.steps.get(action=A.ASSIGN)
    assert step.note == "指派调解员 wangge、调解组织 镇调委会。尽快"


def test_the_assign_form_offers_the_townships_teams_and_names_people(personas, tree):
    from disputes.forms import AssignForm

    staff, worker = personas.staff_a, personas.grid_worker
    worker.first_name = "网格员"
    worker.save()
    township = services.team_save(
        user=staff, unit=tree.township_a, name="镇调委会", kind="COMMITTEE"
    )
    village = services.team_save(user=staff, unit=tree.village_a1, name="村调解队", kind="TEAM")
    services.team_save(user=staff, unit=tree.village_a2, name="邻村调解队", kind="TEAM")
    case = make_case(staff, tree.village_a1)
    form = AssignForm(case=case, user=staff)
    teams = form.fields["team"]
    assert list(teams.queryset) == [township, village]
    assert teams.label_from_instance(township) == f"镇调委会（调解委员会） · {tree.township_a.name}"
    people = form.fields["mediator"]
    assert worker in people.queryset
    assert people.label_from_instance(worker) == f"网格员（wangge） · {tree.compound_a1.name}"
    # The village secretary cannot use the township's team, so it is not offered to them.
    form = AssignForm(case=case, user=personas.secretary)
    assert list(form.fields["team"].queryset) == [village]


def test_the_assign_form_offers_township_people_for_a_village_without_accounts(personas, tree):
    from disputes.forms import AssignForm

    case = make_case(personas.staff_a, tree.village_a2)
    people = set(AssignForm(case=case, user=personas.staff_a).fields["mediator"].queryset)
    assert personas.staff_a in people
    # Readers do not mediate; another township's staff are not offered.
    assert not people & {personas.auditor, personas.county_leader, personas.staff_b}
    # The secretary's jurisdiction stops at their village: no township staff offered.
    people = set(AssignForm(case=case, user=personas.secretary).fields["mediator"].queryset)
    assert personas.staff_a not in people


def test_a_stale_version_is_a_conflict(personas, tree):
    staff = personas.staff_a
    case = make_case(staff, tree.village_a2)
    services.case_start(case=case, user=staff, expected_version=case.version)
    with pytest.raises(services.CaseConflict, match="请刷新页面"):
        services.case_transfer(case=case, user=staff, department="司法所",
                               expected_version=case.version)  # fmt: skip


def test_parties_are_masked_outside_the_handling_jurisdiction(personas, tree):
    secretary = personas.secretary
    case = make_case(secretary, tree.village_a1)
    assert services.may_see_parties(secretary, case)
    assert not services.may_see_parties(personas.grid_worker, case)
    assert services.may_see_parties(personas.county_leader, case)
    case = services.case_escalate(case=case, user=secretary, reason="需乡镇协调")
    assert not services.may_see_parties(secretary, case)
    assert services.may_see_parties(personas.staff_a, case)
    assert services.mask_phone("13812345678") == "138****5678"
    assert services.mask_name("张三") == "张*"
    assert services.mask_name("欧阳娜娜") == "欧***"


def test_attachments_are_content_checked(personas, tree):
    staff = personas.staff_a
    case = make_case(staff, tree.village_a2)
    step = services.attachments_add(
        case=case, user=staff, files=[upload("调解协议.pdf", pdf())], note="协议书"
    )
    assert step.action == A.ATTACH and step.attachments.count() == 1
    with pytest.raises(ValidationError):
        services.attachments_add(
            case=case, user=staff, files=[upload("协议.pdf", b"MZ\x90\x00 not a pdf")]
        )
    with pytest.raises(PermissionDenied):
        services.attachments_add(case=case, user=personas.auditor, files=[upload("a.pdf", pdf())])


def test_the_overdue_job_marks_once_and_notes_it(personas, tree):
    case = make_case(personas.staff_a, tree.village_a2, received_on=date(2026, 3, 1))
    assert case.due_on == date(2026, 3, 16)
    assert services.cases_mark_overdue() == 1
    assert services.cases_mark_overdue() == 0
    case.refresh_from_db()
    assert case.is_overdue and case.days_overdue(date(2026, 4, 3)) == 18
    assert case.steps.filter(action=A.OVERDUE).count() == 1


def test_overdue_follows_the_shanghai_date_not_utc(personas, tree, april_third):
    case = make_case(personas.staff_a, tree.village_a2, received_on=date(2026, 4, 1))
    assert case.due_on == date(2026, 4, 16)
    # 23:30 in Beijing on the due day: not overdue yet (15:30 UTC).
    with time_machine.travel("2026-04-16 15:30 +0000", tick=False):
        assert services.cases_mark_overdue() == 0
    # 00:30 in Beijing the next day, still the 16th in UTC: overdue by one day.
    with time_machine.travel("2026-04-16 16:30 +0000", tick=False):
        assert services.cases_mark_overdue() == 1
    case.refresh_from_db()
    assert case.days_overdue(date(2026, 4, 17)) == 1


def test_a_closed_case_is_never_overdue(personas, tree):
    staff = personas.staff_a
    case = make_case(staff, tree.village_a2, received_on=date(2026, 3, 1))
    case = services.case_start(case=case, user=staff)
    case = services.case_succeed(case=case, user=staff)
    services.case_close(case=case, user=staff, outcome="ORAL")
    assert services.cases_mark_overdue() == 0


def test_the_beat_task_is_idempotent(personas, tree):
    from disputes.tasks import mark_disputes_overdue

    make_case(personas.staff_a, tree.village_a2, received_on=date(2026, 3, 1))
    assert mark_disputes_overdue.delay().get() == 1
    assert mark_disputes_overdue.delay().get() == 0


def test_handlers_are_notified_in_the_portal(personas, tree):
    from governance.models import Notification

    staff, secretary = personas.staff_a, personas.secretary
    case = make_case(secretary, tree.village_a1, received_on=date(2026, 3, 1))
    services.case_assign(case=case, user=secretary, mediator=personas.grid_worker)
    assigned = Notification.objects.get(recipient=personas.grid_worker)
    assert case.number in assigned.text and assigned.url == f"/disputes/{case.number}/"
    services.cases_mark_overdue()
    assert Notification.objects.filter(recipient=secretary, text__contains="办理期限").exists()
    case.refresh_from_db()
    services.case_escalate(case=case, user=secretary, reason="村里调不了")
    assert Notification.objects.filter(recipient=staff, text__contains="上交").exists()


# 110105194912310021 is one check character off: an order or account number, not an ID.
@pytest.mark.parametrize("text", ["身份证 11010519491231002X", "证号11010519491231002x。"])
def test_id_numbers_are_refused_in_every_text(personas, tree, text):
    staff = personas.staff_a
    with pytest.raises(ValidationError, match="不登记身份证号"):
        make_case(staff, tree.village_a2, summary=f"邻里纠纷，{text}")
    with pytest.raises(ValidationError, match="当事人姓名"):
        make_case(staff, tree.village_a2, parties=[{"name": text, "role": "APPLICANT"}])
    case = services.case_start(case=make_case(staff, tree.village_a2), user=staff)
    with pytest.raises(ValidationError, match="未成功原因"):
        services.case_fail(case=case, user=staff, note=text)
    assert make_case(staff, tree.village_a2, summary="订单号 110105194912310021").pk


def test_every_step_leaves_a_change_history(personas, tree):
    staff = personas.staff_a
    case = make_case(staff, tree.village_a2)
    case = services.case_start(case=case, user=staff)
    assert list(case.history.values_list("status", flat=True)) == [S.MEDIATING, S.RECEIVED]
    assert case.parties.first().history.count() == 1
    assert CaseStep.history.filter(case_id=case.pk).count() == 2


def test_the_overdue_job_writes_the_change_history_too(personas, tree):
    case = make_case(personas.staff_a, tree.village_a2, received_on=date(2026, 3, 1))
    services.cases_mark_overdue()
    latest = case.history.first()
    assert latest.is_overdue and latest.history_type == "~"
    assert latest.history_change_reason == "逾期"
    assert CaseStep.history.filter(case_id=case.pk, action=A.OVERDUE).count() == 1


def test_a_case_escalated_to_a_village_tells_its_secretary(personas, tree):
    from governance.models import Notification

    case = make_case(personas.staff_a, tree.compound_a1)
    assert case.handling_level == Level.COMPOUND
    services.case_escalate(case=case, user=personas.staff_a, reason="小区调不了")
    assert Notification.objects.filter(recipient=personas.secretary, text__contains="上交").exists()
