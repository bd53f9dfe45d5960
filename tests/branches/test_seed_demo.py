from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from branches.demo.hierarchy import Scale, hierarchy_plan
from branches.demo.users import DEMO_PASSWORD
from branches.models import OrgUnit
from branches.signals import demo_records_reset
from governance.models import User

L = OrgUnit.Level
A = OrgUnit.AreaType
K = OrgUnit.PartyOrgKind

pytestmark = pytest.mark.django_db

SNAPSHOT_FIELDS = [
    "path",
    "depth",
    "numchild",
    "code",
    "name",
    "level",
    "area_type",
    "party_org_kind",
    "party_org_name",
    "secretary_name",
    "member_count",
    "household_count",
]


def seed(scale="town", **options) -> str:
    """seed_demo, by default without the months of values (the hierarchy and the accounts are
    what these tests check; tests/branches/test_demo_values.py and the crawl cover the rest)."""
    options.setdefault("no_values", True)
    out = StringIO()
    call_command("seed_demo", scale=scale, stdout=out, **options)
    return out.getvalue()


def snapshot():
    return list(OrgUnit.objects.order_by("path").values_list(*SNAPSHOT_FIELDS))


def test_the_town_scale_is_the_same_for_the_same_seed():
    seed(seed=7)
    first = snapshot()
    seed(seed=7, reset=True)

    assert snapshot() == first


def test_another_seed_gives_other_names():
    seed(seed=7)
    first = {name for (name,) in OrgUnit.objects.values_list("name")}
    seed(seed=8, reset=True)

    assert {name for (name,) in OrgUnit.objects.values_list("name")} != first


def test_the_town_scale_is_a_street_of_about_twenty_branches_and_a_small_town():
    seed()

    levels = Counter(OrgUnit.objects.values_list("level", flat=True))
    assert [levels[level] for level in (L.PROVINCE, L.CITY, L.COUNTY, L.TOWNSHIP)] == [1, 1, 1, 2]
    street, town = OrgUnit.objects.filter(level=L.TOWNSHIP).order_by("code")
    assert street.name.endswith("街道") and town.name.endswith("镇")
    assert 18 <= OrgUnit.objects.under(street).rated().count() <= 22
    assert 4 <= OrgUnit.objects.under(town).rated().count() <= 6
    rated = Counter(OrgUnit.objects.rated().values_list("area_type", flat=True))
    assert rated[A.RURAL] > 0 and rated[A.URBAN] > 0
    for community in OrgUnit.objects.rated().filter(area_type=A.URBAN):
        compounds = OrgUnit.objects.get_children(community)
        assert 2 <= len(compounds) <= 4
        for compound in compounds:
            assert 2 <= OrgUnit.objects.get_children_count(compound) <= 6
    assert OrgUnit.objects.get(level=L.PROVINCE).name == "河南省"
    assert OrgUnit.objects.get(level=L.CITY).code == "4101"


def expected_party_kinds(unit) -> set[str]:
    if unit.level == L.TOWNSHIP:
        return {K.WORKING_COMMITTEE if unit.name.endswith("街道") else K.COMMITTEE}
    return {
        L.VILLAGE: {K.BRANCH, K.GENERAL_BRANCH},
        L.COMPOUND: {K.BRANCH},
        L.BUILDING: {K.GROUP},
    }.get(unit.level, {K.COMMITTEE})


def test_levels_paths_area_types_and_party_kinds_are_consistent():
    seed()

    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])
    units = {unit.path: unit for unit in OrgUnit.objects.all()}
    children = {path: [] for path in units}
    for unit in units.values():
        if unit.depth > 1:
            children[unit.path[: -OrgUnit.steplen]].append(unit)
    for unit in units.values():
        parent = units.get(unit.path[: -OrgUnit.steplen])
        assert unit.level == unit.depth
        assert unit.code.startswith(parent.code if parent else "41")
        assert unit.party_org_kind in expected_party_kinds(unit), unit
        assert unit.party_org_name and unit.secretary_name
        if unit.level < L.VILLAGE:
            assert unit.area_type == ""
        elif unit.level == L.VILLAGE:
            assert unit.name.endswith("村" if unit.area_type == A.RURAL else "社区")
        else:
            assert unit.area_type == parent.area_type == A.URBAN
        # Counts roll up: a unit holds at least what its children hold.
        assert unit.member_count >= sum(child.member_count for child in children[unit.path])
        assert unit.household_count >= sum(c.household_count for c in children[unit.path])
        assert unit.household_count > 0


def test_it_creates_one_user_per_role_who_can_log_in(client):
    out = seed()

    users = list(User.objects.filter(username__startswith="demo_").select_related("unit"))
    roles = Counter(user.role for user in users)
    assert roles == {role: 1 for role in User.Role.values} | {
        User.Role.LEADER: 3,
        User.Role.TOWNSHIP_STAFF: 3,
    }
    for user in users:
        assert user.username in out
        response = client.post(
            reverse("login"), {"username": user.username, "password": DEMO_PASSWORD}
        )
        assert response.status_code == 302, user.username
        assert client.session["_auth_user_id"] == str(user.pk)
        client.logout()
    assert DEMO_PASSWORD in out


def test_each_demo_user_works_at_the_level_of_their_role():
    seed(scale="county")

    by_name = {u.username: u for u in User.objects.select_related("unit")}
    admin = by_name["demo_admin"]
    assert admin.is_superuser and admin.is_staff and admin.unit is None
    assert by_name["demo_sheng"].unit.level == L.PROVINCE
    assert by_name["demo_shi"].unit.name == "郑州市"
    assert by_name["demo_xian"].unit.level == L.COUNTY
    assert by_name["demo_xian"].unit.path.startswith(by_name["demo_shi"].unit.path)
    assert by_name["demo_shenji"].unit == by_name["demo_xian"].unit
    staff = [by_name[name].unit for name in ("demo_zhen_a", "demo_zhen_a2", "demo_zhen_b")]
    assert [unit.level for unit in staff] == [L.TOWNSHIP, L.TOWNSHIP, L.TOWNSHIP]
    assert staff[0] == staff[1] != staff[2]
    secretary_unit = by_name["demo_shuji"].unit
    assert secretary_unit.level == L.VILLAGE
    secretary = by_name["demo_shuji"]
    assert secretary.last_name + secretary.first_name == secretary_unit.secretary_name
    grid_unit = by_name["demo_wangge"].unit
    assert grid_unit.level == L.COMPOUND and grid_unit.path.startswith(secretary_unit.path)


def test_the_county_scale_is_one_county_of_about_300_branches():
    seed(scale="county")

    levels = Counter(OrgUnit.objects.values_list("level", flat=True))
    assert levels[L.COUNTY] == 1
    assert levels[L.TOWNSHIP] == 15
    assert 270 <= levels[L.VILLAGE] <= 330
    assert OrgUnit.objects.get(level=L.COUNTY).name == "中牟县"
    # Unit history was recorded for the demo.
    assert OrgUnit.history.filter(history_type="+").count() == OrgUnit.objects.count()


def test_the_province_plan_has_the_shape_of_henan():
    plan = hierarchy_plan(scale=Scale.PROVINCE, seed=2026)

    levels = Counter(unit.level for unit in plan.units)
    assert levels[L.CITY] == 18
    assert levels[L.COUNTY] == 157
    assert 2300 <= levels[L.TOWNSHIP] <= 2500
    assert levels[L.COMPOUND] == levels[L.BUILDING] == 0
    rated = Counter(unit.area_type for unit in plan.units if unit.level == L.VILLAGE)
    assert 44_000 <= rated[A.RURAL] <= 48_000
    assert 4_500 <= rated[A.URBAN] <= 5_500
    assert len({unit.code for unit in plan.units}) == len(plan.units)
    assert len({unit.path for unit in plan.units}) == len(plan.units)


def test_it_refuses_a_non_empty_hierarchy(tree):
    before = snapshot()

    with pytest.raises(CommandError, match="--reset"):
        seed()

    assert snapshot() == before
    assert not User.objects.filter(username__startswith="demo_").exists()


def test_reset_replaces_the_hierarchy_and_the_accounts_inside_it(personas):
    seed(reset=True)

    assert not OrgUnit.objects.filter(code="410102002").exists()  # the fixture's 须水街道
    assert not User.objects.filter(username="staff_a").exists()
    # An administrator without a unit works outside the hierarchy and stays.
    assert User.objects.filter(username="admin").exists()
    townships = OrgUnit.objects.filter(level=L.TOWNSHIP).order_by("code")
    assert [unit.code for unit in townships] == ["410102001", "410102100"]
    assert OrgUnit.history.filter(code="410102002").count() == 0


def test_reset_keeps_the_export_log_without_its_units(personas, tree):
    from branches.models import ExportLog

    log = ExportLog.objects.create(
        user=personas.auditor,
        user_name="审计员",
        export=ExportLog.Export.choices[0][0],
        format=ExportLog.Format.CSV,
        unit=tree.township_a,
        unit_code=tree.township_a.code,
    )
    seed(reset=True)

    log.refresh_from_db()
    assert log.unit_id is None and log.user_id is None
    assert log.unit_code == "410102001" and log.user_name == "审计员"


def test_reset_asks_the_records_apps_to_empty_theirs_first(personas):
    units_then = []

    def receiver(sender, **kwargs):
        units_then.append(OrgUnit.objects.count())

    demo_records_reset.connect(receiver, dispatch_uid="test_records_reset")
    try:
        seed(reset=True, no_values=False)
    finally:
        demo_records_reset.disconnect(dispatch_uid="test_records_reset")
    assert len(units_then) == 1 and units_then[0] > 0  # before anything was deleted
