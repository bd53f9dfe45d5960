"""The registration services called directly: the rules hold whoever calls them."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from volunteers.models import Membership, Merchant, Team
from volunteers.services import points, teams

pytestmark = pytest.mark.usefixtures("april_third")


def _update(user, team, **changes):
    fields = {
        "name": team.name,
        "colour": team.colour,
        "domain": team.domain,
        "leader": team.leader,
        "is_active": team.is_active,
    } | changes
    return teams.team_update(user=user, team=team, **fields)


def test_a_team_keeps_its_own_name_and_cannot_take_a_sisters(personas, tree, vol):
    _update(personas.staff_a, vol.team, domain="党史宣讲")
    teams.team_create(
        user=personas.staff_a,
        unit=tree.village_a1,
        name="绿色环保队",
        colour="GREEN",
        domain="环境",
    )
    with pytest.raises(ValidationError) as caught:
        _update(personas.staff_a, vol.team, name="绿色环保队")
    assert caught.value.message_dict == {
        "name": ["建设路社区已有名为“绿色环保队”的队伍，请换一个名称。"]
    }
    vol.team.refresh_from_db()
    assert vol.team.name == "红色宣讲队" and vol.team.domain == "党史宣讲"


def test_a_team_outside_the_jurisdiction_is_not_edited(personas, vol):
    with pytest.raises(PermissionDenied):
        _update(personas.staff_a, vol.other_team, name="改名")
    with pytest.raises(PermissionDenied):
        _update(personas.auditor, vol.team, name="改名")


def test_an_inactive_volunteer_cannot_lead(personas, tree, vol):
    gone = teams.volunteer_create(user=personas.staff_a, unit=tree.village_a1, name="钱多")
    gone.is_active = False
    gone.save()
    with pytest.raises(ValidationError) as caught:
        _update(personas.staff_a, vol.team, leader=gone)
    assert list(caught.value.message_dict) == ["leader"]


def test_ending_a_membership_that_does_not_exist_is_explained(personas, tree, vol):
    stranger = teams.volunteer_create(user=personas.staff_a, unit=tree.village_a1, name="吴一")
    with pytest.raises(ValidationError, match="吴一不是本队队员"):
        teams.membership_end(user=personas.staff_a, team=vol.team, volunteer=stranger)
    teams.membership_end(user=personas.staff_a, team=vol.team, volunteer=vol.member)
    assert not Membership.objects.filter(team=vol.team, volunteer=vol.member).exists()


def test_a_volunteer_moves_only_inside_the_jurisdiction(personas, tree, vol):
    fields = {
        "name": "王小红",
        "phone": "",
        "is_party_member": True,
        "is_in_service_member": False,
        "skills": "",
        "joined_on": vol.member.joined_on,
        "is_active": True,
    }
    with pytest.raises(PermissionDenied):
        teams.volunteer_update(
            user=personas.staff_a, volunteer=vol.member, unit=tree.village_b1, **fields
        )
    teams.volunteer_update(
        user=personas.staff_a, volunteer=vol.member, unit=tree.village_a2, **fields
    )
    vol.member.refresh_from_db()
    assert vol.member.unit == tree.village_a2 and not vol.member.is_in_service_member


def test_merchants_are_kept_by_township_staff(personas, tree, vol):
    with pytest.raises(PermissionDenied):
        points.merchant_create(
            user=personas.secretary, unit=tree.village_a1, name="小卖部", offer="饮料"
        )
    merchant = points.merchant_create(
        user=personas.staff_a, unit=tree.village_a1, name="小卖部", offer="饮料"
    )
    points.merchant_update(
        user=personas.staff_a,
        merchant=merchant,
        unit=tree.village_a1,
        name="小卖部",
        offer="饮料一瓶",
        address="建设路 1 号",
        is_active=True,
    )
    merchant.refresh_from_db()
    assert (merchant.offer, merchant.address) == ("饮料一瓶", "建设路 1 号")
    assert Merchant.objects.filter(name="小卖部").count() == 1


def test_disbanding_twice_is_explained_not_an_error_page(personas, login, vol):
    client = login(personas.staff_a)
    url = reverse("volunteers:team_disband", args=[vol.team.pk])
    assert client.post(url).status_code == 302
    response = client.post(url, follow=True)
    assert response.status_code == 200 and "该队伍已解散。" in response.content.decode()
    assert Team.objects.get(pk=vol.team.pk).disbanded_on is not None
