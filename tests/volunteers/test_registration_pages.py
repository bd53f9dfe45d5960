"""Registering and editing teams, volunteers, memberships and merchants in the browser."""

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from volunteers.models import Membership, Merchant, PointsBalance, Team, Volunteer
from volunteers.services import teams

pytestmark = pytest.mark.usefixtures("april_third")


def _team_data(tree, **changes):
    return {
        "unit": tree.village_a1.code,
        "name": "蓝色应急队",
        "colour": "BLUE",
        "domain": "应急救援",
        "leader": "",
    } | changes


def _volunteer_data(tree, **changes):
    return {
        "unit": tree.compound_a1.code,
        "name": "赵大明",
        "phone": "13700002222",
        "is_party_member": "on",
        "skills": "维修家电",
        "joined_on": "2026-04-01",
    } | changes


def _errors(response, field):
    return response.context["form"].errors.get(field, [])


# Teams


def test_staff_create_a_team_whose_leader_becomes_a_member(personas, login, tree, vol):
    client = login(personas.staff_a)
    response = client.post(
        reverse("volunteers:team_create"), _team_data(tree, leader=vol.member.pk)
    )
    team = Team.objects.get(name="蓝色应急队")
    assert response.status_code == 302
    assert response["Location"] == reverse("volunteers:team_detail", args=[team.pk])
    assert (team.unit, team.colour, team.domain, team.leader) == (
        tree.village_a1,
        "BLUE",
        "应急救援",
        vol.member,
    )
    assert team.is_active and Membership.objects.filter(team=team, volunteer=vol.member).exists()
    assert team.history.get().history_user == personas.staff_a


def test_staff_edit_a_team_and_clearing_active_disbands_it_today(personas, login, vol):
    client = login(personas.staff_a)
    url = reverse("volunteers:team_edit", args=[vol.team.pk])
    assert "红色宣讲队" in client.get(url).content.decode()
    response = client.post(
        url,
        {"name": "红色宣讲一队", "colour": "ORANGE", "domain": "党史宣讲", "leader": vol.member.pk},
    )
    assert response.status_code == 302
    vol.team.refresh_from_db()
    assert vol.team.name == "红色宣讲一队" and vol.team.colour == "ORANGE"
    assert vol.team.leader == vol.member
    assert not vol.team.is_active and vol.team.disbanded_on == date(2026, 4, 3)
    response = client.post(
        url, {"name": "红色宣讲一队", "colour": "ORANGE", "domain": "党史宣讲", "is_active": "on"}
    )
    vol.team.refresh_from_db()
    assert vol.team.is_active and vol.team.disbanded_on is None and vol.team.leader is None


def test_a_duplicate_team_name_comes_back_400_beside_the_field_with_the_typed_values(
    personas, login, tree, vol
):
    response = login(personas.staff_a).post(
        reverse("volunteers:team_create"),
        _team_data(tree, name="红色宣讲队", domain="文艺演出"),
    )
    assert response.status_code == 400
    assert _errors(response, "name") == ["建设路社区已有名为“红色宣讲队”的队伍，请换一个名称。"]
    page = response.content.decode()
    assert "建设路社区已有名为“红色宣讲队”的队伍" in page and 'value="文艺演出"' in page
    assert Team.objects.filter(name="红色宣讲队").count() == 1


def test_an_empty_team_form_says_what_to_fill_in(personas, login, tree, vol):
    response = login(personas.staff_a).post(
        reverse("volunteers:team_create"), _team_data(tree, name=" ", colour="", domain="")
    )
    assert response.status_code == 400
    assert _errors(response, "colour") == ["请选择队伍颜色。"]
    assert _errors(response, "name") and _errors(response, "domain")


def test_a_unit_outside_the_jurisdiction_cannot_be_picked(personas, login, tree, vol):
    response = login(personas.staff_a).post(
        reverse("volunteers:team_create"), _team_data(tree, unit=tree.village_b1.code)
    )
    assert response.status_code == 400
    assert "不在您的管辖范围内" in _errors(response, "unit")[0]
    assert not Team.objects.filter(name="蓝色应急队").exists()


def test_the_unit_box_suggests_the_units_of_the_jurisdiction_only(personas, login, tree, vol):
    body = login(personas.staff_a).get(reverse("volunteers:team_create")).content.decode()
    assert 'list="id_unit-units"' in body and '<datalist id="id_unit-units">' in body
    assert f'<option value="{tree.village_a1.code}">{tree.village_a1.name}</option>' in body
    assert f'value="{tree.village_b1.code}"' not in body  # another township's village
    assert f'<option value="{tree.township_a.code}"' not in body  # not a unit a team has


def test_a_township_is_not_a_unit_a_team_belongs_to(personas, login, tree, vol):
    response = login(personas.staff_a).post(
        reverse("volunteers:team_create"), _team_data(tree, unit=tree.township_a.code)
    )
    assert response.status_code == 400 and _errors(response, "unit")


def test_a_leader_from_another_branch_is_refused_beside_the_leader_field(
    personas, login, tree, vol
):
    elsewhere = teams.volunteer_create(user=personas.staff_a, unit=tree.village_a2, name="周强")
    client = login(personas.staff_a)
    response = client.post(reverse("volunteers:team_create"), _team_data(tree, leader=elsewhere.pk))
    assert response.status_code == 400
    assert "队长须是本村(社区)在册的志愿者" in _errors(response, "leader")[0]
    response = client.post(
        reverse("volunteers:team_edit", args=[vol.team.pk]),
        {"name": "红色宣讲队", "colour": "RED", "domain": "政策宣讲", "leader": elsewhere.pk},
    )
    assert response.status_code == 400
    assert _errors(response, "leader") == ["请从列表中选择本村(社区)在册的志愿者作队长。"]
    vol.team.refresh_from_db()
    assert vol.team.leader == vol.leader


@pytest.mark.parametrize("role", ["auditor", "county_leader", "grid_worker"])
def test_read_only_roles_cannot_create_a_team(role, personas, login, tree, vol):
    response = login(getattr(personas, role)).post(
        reverse("volunteers:team_create"), _team_data(tree)
    )
    assert response.status_code == 403
    assert not Team.objects.filter(name="蓝色应急队").exists()


@pytest.mark.parametrize("role,expected", [("auditor", 403), ("staff_b", 404)])
def test_a_team_is_edited_only_by_its_managers(role, expected, personas, login, vol):
    response = login(getattr(personas, role)).post(
        reverse("volunteers:team_edit", args=[vol.team.pk]),
        {"name": "改名", "colour": "RED", "domain": "政策宣讲", "is_active": "on"},
    )
    assert response.status_code == expected
    vol.team.refresh_from_db()
    assert vol.team.name == "红色宣讲队"


def test_the_secretary_registers_a_team_for_their_own_branch_only(personas, login, tree, vol):
    client = login(personas.secretary)
    assert client.post(reverse("volunteers:team_create"), _team_data(tree)).status_code == 302
    response = client.post(
        reverse("volunteers:team_create"), _team_data(tree, unit=tree.village_a2.code, name="乙")
    )
    assert response.status_code == 400 and not Team.objects.filter(name="乙").exists()


def test_changes_need_the_csrf_token(personas, tree, vol):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.staff_a)
    assert client.post(reverse("volunteers:team_create"), _team_data(tree)).status_code == 403
    assert not Team.objects.filter(name="蓝色应急队").exists()


# Memberships


def test_staff_add_a_volunteer_to_a_team_and_end_the_membership(personas, login, tree, vol):
    newcomer = teams.volunteer_create(user=personas.staff_a, unit=tree.building_a1, name="孙丽")
    client = login(personas.staff_a)
    add_url = reverse("volunteers:member_add", args=[vol.team.pk])
    assert "孙丽" in client.get(add_url).content.decode()
    assert client.post(add_url, {"volunteer": newcomer.pk}).status_code == 302
    membership = Membership.objects.get(team=vol.team, volunteer=newcomer)
    assert membership.joined_on == date(2026, 4, 3)

    page = client.get(reverse("volunteers:team_detail", args=[vol.team.pk])).content.decode()
    end_url = reverse("volunteers:member_end", args=[vol.team.pk, newcomer.pk])
    assert end_url in page
    assert client.get(end_url).status_code == 405
    assert client.post(end_url).status_code == 302
    assert not Membership.objects.filter(team=vol.team, volunteer=newcomer).exists()
    last = Membership.history.filter(volunteer_id=newcomer.pk).latest("history_id")
    assert last.history_type == "-" and last.history_user == personas.staff_a


def test_a_volunteer_outside_the_branch_cannot_be_added(personas, login, tree, vol):
    elsewhere = teams.volunteer_create(user=personas.staff_a, unit=tree.village_a2, name="周强")
    response = login(personas.staff_a).post(
        reverse("volunteers:member_add", args=[vol.team.pk]), {"volunteer": elsewhere.pk}
    )
    assert response.status_code == 400
    assert _errors(response, "volunteer") == ["请从列表中选择本村(社区)在册、尚未入队的志愿者。"]
    assert not Membership.objects.filter(volunteer=elsewhere).exists()


def test_the_leader_does_not_leave_before_a_new_leader_is_named(personas, login, vol):
    client = login(personas.staff_a)
    response = client.post(
        reverse("volunteers:member_end", args=[vol.team.pk, vol.leader.pk]), follow=True
    )
    assert "李队长是本队队长：请先在“编辑队伍”中更换队长" in response.content.decode()
    assert Membership.objects.filter(team=vol.team, volunteer=vol.leader).exists()


@pytest.mark.parametrize("role,expected", [("auditor", 403), ("staff_b", 404)])
def test_memberships_are_ended_only_by_the_teams_managers(role, expected, personas, login, vol):
    url = reverse("volunteers:member_end", args=[vol.team.pk, vol.member.pk])
    assert login(getattr(personas, role)).post(url).status_code == expected
    assert Membership.objects.filter(team=vol.team, volunteer=vol.member).exists()


# Volunteers


def test_staff_register_a_volunteer_and_edit_the_profile(personas, login, tree, vol):
    client = login(personas.staff_a)
    response = client.post(reverse("volunteers:volunteer_create"), _volunteer_data(tree))
    volunteer = Volunteer.objects.get(name="赵大明")
    assert response.status_code == 302
    assert response["Location"] == reverse("volunteers:volunteer_detail", args=[volunteer.pk])
    assert (volunteer.unit, volunteer.phone, volunteer.skills) == (
        tree.compound_a1,
        "13700002222",
        "维修家电",
    )
    assert volunteer.is_party_member and not volunteer.is_in_service_member
    assert volunteer.joined_on == date(2026, 4, 1) and volunteer.is_active
    assert PointsBalance.objects.filter(volunteer=volunteer, balance=0).exists()

    url = reverse("volunteers:volunteer_edit", args=[volunteer.pk])
    response = client.post(
        url,
        _volunteer_data(
            tree, unit=tree.building_a1.code, phone="", is_in_service_member="on", skills="理发"
        ),
    )
    assert response.status_code == 302
    volunteer.refresh_from_db()
    assert (volunteer.unit, volunteer.phone, volunteer.skills) == (tree.building_a1, "", "理发")
    assert volunteer.is_in_service_member and not volunteer.is_active
    assert volunteer.history.count() == 2


def test_invalid_volunteer_input_comes_back_400_with_what_to_fix(personas, login, tree, vol):
    response = login(personas.staff_a).post(
        reverse("volunteers:volunteer_create"),
        _volunteer_data(tree, phone="12345", is_party_member="", is_in_service_member="on"),
    )
    assert response.status_code == 400
    assert _errors(response, "phone") == ["手机号只能是 7 到 15 位数字，例如 13812345678。"]
    assert _errors(response, "is_in_service_member") == [
        "“在职党员报到”只适用于党员，请同时勾选“党员”。"
    ]
    page = response.content.decode()
    assert 'value="赵大明"' in page and 'value="12345"' in page
    assert not Volunteer.objects.filter(name="赵大明").exists()


def test_a_future_registration_date_is_refused(personas, login, tree, vol):
    response = login(personas.staff_a).post(
        reverse("volunteers:volunteer_create"), _volunteer_data(tree, joined_on="2026-05-01")
    )
    assert response.status_code == 400
    assert _errors(response, "joined_on") == ["注册日期不能晚于今天。"]


def test_a_volunteer_cannot_be_moved_outside_the_jurisdiction(personas, login, tree, vol):
    response = login(personas.staff_a).post(
        reverse("volunteers:volunteer_edit", args=[vol.member.pk]),
        _volunteer_data(tree, unit=tree.village_b1.code, name="王小红"),
    )
    assert response.status_code == 400 and "不在您的管辖范围内" in _errors(response, "unit")[0]
    vol.member.refresh_from_db()
    assert vol.member.unit == tree.compound_a1


@pytest.mark.parametrize(
    "role,expected", [("auditor", 403), ("grid_worker", 403), ("staff_b", 404)]
)
def test_a_volunteer_is_edited_only_by_the_managers_in_scope(
    role, expected, personas, login, tree, vol
):
    response = login(getattr(personas, role)).post(
        reverse("volunteers:volunteer_edit", args=[vol.member.pk]),
        _volunteer_data(tree, name="改名"),
    )
    assert response.status_code == expected
    vol.member.refresh_from_db()
    assert vol.member.name == "王小红"


def test_the_auditor_cannot_register_a_volunteer(personas, login, tree, vol):
    response = login(personas.auditor).post(
        reverse("volunteers:volunteer_create"), _volunteer_data(tree)
    )
    assert response.status_code == 403 and not Volunteer.objects.filter(name="赵大明").exists()


# Merchants


def test_staff_add_a_merchant_and_end_the_partnership(personas, login, tree, vol):
    client = login(personas.staff_a)
    response = client.post(
        reverse("volunteers:merchant_create"),
        {"unit": tree.village_a1.code, "name": "便民理发店", "offer": "20 积分理发一次"},
    )
    merchant = Merchant.objects.get(name="便民理发店")
    assert response.status_code == 302 and merchant.unit == tree.village_a1 and merchant.is_active
    page = client.get(reverse("volunteers:merchant_list")).content.decode()
    assert reverse("volunteers:merchant_edit", args=[merchant.pk]) in page

    response = client.post(
        reverse("volunteers:merchant_edit", args=[merchant.pk]),
        {"unit": tree.compound_a1.code, "name": "便民理发店", "offer": "30 积分理发一次"},
    )
    assert response.status_code == 302
    merchant.refresh_from_db()
    assert merchant.unit == tree.compound_a1 and merchant.offer == "30 积分理发一次"
    assert not merchant.is_active


def test_invalid_merchant_input_comes_back_400_with_what_to_fix(personas, login, tree, vol):
    response = login(personas.staff_a).post(
        reverse("volunteers:merchant_create"),
        {"unit": tree.village_a1.code, "name": "爱心超市", "offer": "=1+1"},
    )
    assert response.status_code == 400
    assert _errors(response, "name") == [
        "建设路社区已有名为“爱心超市”的爱心商家，请换一个名称，或编辑原有的商家。"
    ]
    assert "不能以 = + - @ 开头" in _errors(response, "offer")[0]
    assert Merchant.objects.count() == 1


@pytest.mark.parametrize("role,expected", [("secretary", 403), ("auditor", 403), ("staff_b", 404)])
def test_merchants_are_edited_only_by_township_staff_in_scope(
    role, expected, personas, login, tree, vol
):
    response = login(getattr(personas, role)).post(
        reverse("volunteers:merchant_edit", args=[vol.merchant.pk]),
        {"unit": tree.village_a1.code, "name": "改名", "offer": "日用品", "is_active": "on"},
    )
    assert response.status_code == expected
    vol.merchant.refresh_from_db()
    assert vol.merchant.name == "爱心超市"


# Links


def test_managers_find_the_new_pages_from_the_lists_and_read_only_roles_do_not(
    personas, login, vol
):
    links = [
        (reverse("volunteers:team_list"), reverse("volunteers:team_create")),
        (
            reverse("volunteers:team_detail", args=[vol.team.pk]),
            reverse("volunteers:team_edit", args=[vol.team.pk]),
        ),
        (
            reverse("volunteers:team_detail", args=[vol.team.pk]),
            reverse("volunteers:member_add", args=[vol.team.pk]),
        ),
        (reverse("volunteers:volunteer_list"), reverse("volunteers:volunteer_create")),
        (
            reverse("volunteers:volunteer_detail", args=[vol.member.pk]),
            reverse("volunteers:volunteer_edit", args=[vol.member.pk]),
        ),
        (reverse("volunteers:merchant_list"), reverse("volunteers:merchant_create")),
    ]
    staff = login(personas.staff_a)
    for page, link in links:
        assert link in staff.get(page).content.decode(), (page, link)
    auditor = login(personas.auditor)
    for page, link in links:
        assert link not in auditor.get(page).content.decode(), (page, link)


def test_a_disbanded_team_takes_no_new_members(personas, login, tree, vol):
    newcomer = teams.volunteer_create(user=personas.staff_a, unit=tree.village_a1, name="孙丽")
    teams.team_disband(user=personas.staff_a, team=vol.team)
    response = login(personas.staff_a).post(
        reverse("volunteers:member_add", args=[vol.team.pk]), {"volunteer": newcomer.pk}
    )
    assert response.status_code == 400
    assert _errors(response, "volunteer") == ["该队伍已解散，不能再添加队员。"]
    assert not Membership.objects.filter(volunteer=newcomer).exists()


def test_disbanding_a_team_with_a_new_leader_keeps_the_leader_a_member(personas, login, tree, vol):
    newcomer = teams.volunteer_create(user=personas.staff_a, unit=tree.village_a1, name="孙丽")
    response = login(personas.staff_a).post(
        reverse("volunteers:team_edit", args=[vol.team.pk]),
        {"name": "红色宣讲队", "colour": "RED", "domain": "政策宣讲", "leader": newcomer.pk},
    )
    assert response.status_code == 302
    vol.team.refresh_from_db()
    assert not vol.team.is_active and vol.team.leader == newcomer
    assert Membership.objects.filter(team=vol.team, volunteer=newcomer).exists()


def test_a_missing_value_names_the_field_to_fill_in(personas, login, tree, vol):
    response = login(personas.staff_a).post(
        reverse("volunteers:volunteer_create"), _volunteer_data(tree, name="", joined_on="")
    )
    assert response.status_code == 400
    assert _errors(response, "name") == ["请填写“姓名”。"]
    assert _errors(response, "joined_on") == ["请填写“注册日期”。"]
