"""Volunteers fixtures: one team of 建设路社区 with two volunteers, one a leader with an account."""

from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal

import pytest

from governance.models import User
from tests.governance.factories import UserFactory
from volunteers.models import Merchant, Team, Volunteer
from volunteers.services import activities, teams
from volunteers.services.activities import AttendanceLine


@dataclass
class Vol:
    team: Team
    leader: Volunteer
    leader_user: User
    member: Volunteer
    merchant: Merchant
    other_team: Team


@pytest.fixture
def vol(tree, personas) -> Vol:
    staff = personas.staff_a
    leader_user = UserFactory(username="duizhang", role=User.Role.GRID_WORKER, unit=tree.village_a1)
    leader = teams.volunteer_create(
        user=staff,
        unit=tree.village_a1,
        name="李队长",
        phone="13812345678",
        is_party_member=True,
        account=leader_user,
        joined_on=date(2026, 1, 5),
    )
    member = teams.volunteer_create(
        user=staff,
        unit=tree.compound_a1,
        name="王小红",
        phone="13900001111",
        is_party_member=True,
        is_in_service_member=True,
        joined_on=date(2026, 1, 5),
    )
    team = teams.team_create(
        user=staff,
        unit=tree.village_a1,
        name="红色宣讲队",
        colour=Team.Colour.RED,
        domain="政策宣讲",
        leader=leader,
    )
    teams.membership_add(user=staff, team=team, volunteer=member)
    other_team = teams.team_create(
        user=personas.staff_b,
        unit=tree.village_b1,
        name="黄色保洁队",
        colour=Team.Colour.YELLOW,
        domain="环境卫生",
    )
    merchant = Merchant.objects.create(unit=tree.village_a1, name="爱心超市", offer="日用品")
    return Vol(team, leader, leader_user, member, merchant, other_team)


def record(user, team, place, lines, on=date(2026, 3, 10), people=30, title="政策宣讲进小区"):
    return activities.activity_record(
        user=user,
        team=team,
        title=title,
        kind="POLICY",
        on=on,
        start_time=time(9),
        end_time=time(11),
        place=place,
        people_served=people,
        attendance=[AttendanceLine(v, Decimal(h)) for v, h in lines],
    )
