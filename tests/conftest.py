"""Shared fixtures: a small hierarchy and one persona per role.

河南省 41 → 郑州市 4101 → 中原区 410102 → 乡镇 A 林山寨街道 (410102001) with
社区 A1 (urban, with a compound and a building) and 村 A2 (rural); 乡镇 B 须水街道
(410102002) with 村 B1. A second county 410103 holds nothing the personas of the
first may see.
"""

from dataclasses import dataclass

import pytest
import time_machine

from branches.models import OrgUnit
from branches.services.criteria import criteria_defaults_load
from governance.models import User
from tests.branches.factories import OrgUnitFactory
from tests.governance.factories import PASSWORD, UserFactory

L = OrgUnit.Level


# The scorecard tests' day: 3 April 2026 in Beijing, so March is the last closed month.
APRIL_THIRD = "2026-04-03 10:00 +0800"


@pytest.fixture
def april_third():
    """The clock stopped at APRIL_THIRD; the traveller it yields can move it."""
    with time_machine.travel(APRIL_THIRD, tick=False) as traveller:
        yield traveller


@pytest.fixture
def criteria(db):
    """This year's default criteria sets, rural and urban (CRITERIA.md)."""
    return criteria_defaults_load(year=2026)


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploaded evidence goes to a throwaway folder, not the work tree."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _tasks_in_process(request):
    """Tasks run in-process, even where CI configures a broker; worker tests opt out."""
    from governance.celery import app

    eager = request.node.get_closest_marker("worker") is None
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = eager
    yield
    app.conf.task_always_eager = previous


@dataclass
class Tree:
    province: OrgUnit
    city: OrgUnit
    county: OrgUnit
    other_county: OrgUnit
    township_a: OrgUnit
    township_b: OrgUnit
    village_a1: OrgUnit
    village_a2: OrgUnit
    compound_a1: OrgUnit
    building_a1: OrgUnit
    village_b1: OrgUnit
    village_other: OrgUnit


@pytest.fixture
def tree(db) -> Tree:
    province = OrgUnitFactory(code="41", name="河南省", level=L.PROVINCE, parent=None)
    city = OrgUnitFactory(code="4101", name="郑州市", level=L.CITY, parent=province)
    county = OrgUnitFactory(code="410102", name="中原区", level=L.COUNTY, parent=city)
    other_county = OrgUnitFactory(code="410103", name="二七区", level=L.COUNTY, parent=city)
    township_a = OrgUnitFactory(
        code="410102001", name="林山寨街道", level=L.TOWNSHIP, parent=county
    )
    township_b = OrgUnitFactory(code="410102002", name="须水街道", level=L.TOWNSHIP, parent=county)
    village_a1 = OrgUnitFactory(
        code="410102001001",
        name="建设路社区",
        level=L.VILLAGE,
        area_type=OrgUnit.AreaType.URBAN,
        parent=township_a,
    )
    compound_a1 = OrgUnitFactory(
        code="410102001001001",
        name="锦绣小区",
        level=L.COMPOUND,
        area_type=OrgUnit.AreaType.URBAN,
        parent=village_a1,
    )
    building_a1 = OrgUnitFactory(
        code="410102001001001001",
        name="1号楼",
        level=L.BUILDING,
        area_type=OrgUnit.AreaType.URBAN,
        parent=compound_a1,
    )
    village_a2 = OrgUnitFactory(code="410102001002", name="西流湖村", parent=township_a)
    village_b1 = OrgUnitFactory(code="410102002001", name="须水村", parent=township_b)
    other_township = OrgUnitFactory(
        code="410103001", name="淮河路街道", level=L.TOWNSHIP, parent=other_county
    )
    village_other = OrgUnitFactory(code="410103001001", name="淮河村", parent=other_township)
    # Reload: treebeard updated numchild in the database behind these instances.
    units = {u.code: u for u in OrgUnit.objects.all()}
    return Tree(
        **{
            name: units[unit.code]
            for name, unit in [
                ("province", province),
                ("city", city),
                ("county", county),
                ("other_county", other_county),
                ("township_a", township_a),
                ("township_b", township_b),
                ("village_a1", village_a1),
                ("village_a2", village_a2),
                ("compound_a1", compound_a1),
                ("building_a1", building_a1),
                ("village_b1", village_b1),
                ("village_other", village_other),
            ]
        }
    )


@dataclass
class Personas:
    admin: User
    province_leader: User
    county_leader: User
    staff_a: User
    # A second township-A staff member: the checker of what staff_a submits (maker–checker).
    staff_a2: User
    staff_b: User
    secretary: User
    auditor: User
    grid_worker: User


PERSONA_NAMES = [
    "admin",
    "province_leader",
    "county_leader",
    "staff_a",
    "staff_b",
    "secretary",
    "auditor",
    "grid_worker",
]


@pytest.fixture
def personas(tree) -> Personas:
    R = User.Role
    return Personas(
        admin=UserFactory(username="admin", role=R.ADMIN, is_staff=True, is_superuser=True),
        province_leader=UserFactory(username="sheng", role=R.LEADER, unit=tree.province),
        county_leader=UserFactory(username="xian", role=R.LEADER, unit=tree.county),
        staff_a=UserFactory(username="staff_a", role=R.TOWNSHIP_STAFF, unit=tree.township_a),
        staff_a2=UserFactory(
            username="checker",
            first_name="审核员",
            role=R.TOWNSHIP_STAFF,
            unit=tree.township_a,
        ),
        staff_b=UserFactory(username="staff_b", role=R.TOWNSHIP_STAFF, unit=tree.township_b),
        secretary=UserFactory(username="shuji", role=R.SECRETARY, unit=tree.village_a1),
        auditor=UserFactory(username="shenji", role=R.AUDITOR, unit=tree.county),
        grid_worker=UserFactory(username="wangge", role=R.GRID_WORKER, unit=tree.compound_a1),
    )


@pytest.fixture
def login(client):
    """Log the test client in as a user; returns the client."""

    def _login(user):
        client.force_login(user)
        return client

    return _login


__all__ = ["PASSWORD", "PERSONA_NAMES"]
