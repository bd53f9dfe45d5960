"""The portal's own pages: home, login and lockout, logout, and the Django admin."""

import pytest
import time_machine
from django.urls import reverse

from branches.models import OrgUnit
from governance.models import User
from tests.branches.factories import OrgUnitFactory
from tests.conftest import PASSWORD, PERSONA_NAMES

L = OrgUnit.Level

# persona → (home, admin index). Only the administrator is Django staff.
EXPECTED = {
    "admin": (200, 200),
    "province_leader": (200, 302),
    "county_leader": (200, 302),
    "staff_a": (200, 302),
    "staff_b": (200, 302),
    "secretary": (200, 302),
    "auditor": (200, 302),
    "grid_worker": (200, 302),
}


@pytest.mark.parametrize(
    ("persona", "url_name", "status"),
    [
        (persona, url_name, status)
        for persona in PERSONA_NAMES
        for url_name, status in zip(["home", "admin:index"], EXPECTED[persona], strict=True)
    ],
)
def test_permission_matrix(persona, url_name, status, personas, login):
    response = login(getattr(personas, persona)).get(reverse(url_name))
    assert response.status_code == status
    if status == 302:
        assert response["Location"].startswith(reverse("admin:login"))


def test_anonymous_users_are_sent_from_home_to_the_login_page(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login") + "?next=/"


def test_home_counts_the_units_below_the_users_unit_by_level(personas, login):
    response = login(personas.staff_a).get(reverse("home"))
    assert [(str(label), n) for label, n in response.context["level_counts"]] == [
        ("村(社区)", 2),
        ("小区(网格片区)", 1),
        ("楼栋", 1),
    ]
    assert (
        response.context["rated_total"],
        response.context["rated_rural"],
        response.context["rated_urban"],
    ) == (2, 1, 1)
    page = response.content.decode()
    assert "林山寨街道" in page
    assert "乡镇(街道)工作人员" in page


def test_home_of_an_administrator_without_unit_covers_every_root(personas, tree, login):
    response = login(personas.admin).get(reverse("home"))
    assert response.context["roots"] == [tree.province]
    counts = dict((str(label), n) for label, n in response.context["level_counts"])
    assert counts == {
        "市": 1,
        "县(区)": 2,
        "乡镇(街道)": 3,
        "村(社区)": 4,
        "小区(网格片区)": 1,
        "楼栋": 1,
    }
    assert response.context["rated_total"] == 4


def test_home_shows_empty_states_when_there_is_nothing_below(personas, login):
    page = login(personas.grid_worker).get(reverse("home")).content.decode()
    assert "您的管辖范围内没有下级单位。" not in page  # the compound has a building
    assert "您的管辖范围内没有参加评星的村(社区)党组织。" in page


def test_home_of_an_empty_portal_asks_the_administrator_to_import(db, login):
    admin = User.objects.create_user("root", password=PASSWORD, role=User.Role.ADMIN)
    page = login(admin).get(reverse("home")).content.decode()
    assert "还没有组织架构数据，请先导入组织架构。" in page


@pytest.mark.parametrize("extra_villages", [1, 20])
def test_home_queries_do_not_grow_with_the_tree(
    extra_villages, personas, tree, login, django_assert_max_num_queries
):
    for n in range(extra_villages):
        OrgUnitFactory(code=f"H{n:03d}", parent=tree.township_b)
    client = login(personas.county_leader)
    # Session, user, unit, two counts, the top bar's unread notifications, the published
    # supervision reports, the leader's star figures, which stop at their first query while
    # nothing is rated (with ratings: tests/governance/test_leader_home.py), and the
    # leader's 包联 branches (none here).
    with django_assert_max_num_queries(9):
        client.get(reverse("home"))


def test_the_navbar_shows_name_role_unit_and_a_logout_form(personas, login):
    personas.auditor.first_name, personas.auditor.last_name = "审", "张"
    personas.auditor.save()
    page = login(personas.auditor).get(reverse("home")).content.decode()
    assert "张审" in page  # family name first, as Chinese names are written
    assert "审计人员 · 中原区" in page
    assert f'<form method="post" action="{reverse("logout")}"' in page
    assert reverse("admin:index") not in page


def test_the_navbar_offers_the_admin_site_to_staff(personas, login):
    page = login(personas.admin).get(reverse("home")).content.decode()
    assert f'href="{reverse("admin:index")}"' in page
    assert "全省" in page


def test_logout_is_a_post_and_returns_to_the_login_page(personas, login):
    client = login(personas.staff_a)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert client.get(reverse("home")).status_code == 302


def test_the_login_page_is_in_chinese(db, client):
    page = client.get(reverse("login")).content.decode()
    assert "用户名" in page
    assert "密码" in page
    assert "登录" in page


def test_a_wrong_password_is_explained_in_chinese(personas, client):
    response = client.post(reverse("login"), {"username": "staff_a", "password": "wrong"})
    assert response.status_code == 200
    assert "区分大小写" in response.content.decode()


def test_logging_in_leads_home(personas, client):
    response = client.post(reverse("login"), {"username": "staff_a", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_too_many_failures_show_the_lockout_page(personas, client, settings):
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "staff_a", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "staff_a", "password": PASSWORD})
    assert response.status_code == 429
    page = response.content.decode()
    assert "登录失败次数过多，账号已暂时锁定" in page
    assert f"连续 {settings.AXES_FAILURE_LIMIT} 次输入错误的密码" in page
    assert "30 分钟后再试" in page


class TestAdmin:
    def test_the_site_header_is_the_portals(self, personas, login):
        page = login(personas.admin).get(reverse("admin:index")).content.decode()
        assert "五星支部门户 管理后台" in page

    @pytest.mark.parametrize(
        "url_name",
        [
            "admin:branches_orgunit_changelist",
            "admin:branches_orgunit_add",
            "admin:governance_user_changelist",
            "admin:governance_user_add",
        ],
    )
    def test_list_and_add_pages_open(self, url_name, personas, login):
        assert login(personas.admin).get(reverse(url_name)).status_code == 200

    def test_unit_change_and_history_pages_open(self, personas, tree, login):
        client = login(personas.admin)
        pk = tree.village_a1.pk
        assert client.get(reverse("admin:branches_orgunit_change", args=[pk])).status_code == 200
        assert client.get(reverse("admin:branches_orgunit_history", args=[pk])).status_code == 200

    def test_the_unit_form_takes_the_reference_unit_as_a_code_not_a_list_of_all_units(
        self, personas, tree, login
    ):
        response = login(personas.admin).get(
            reverse("admin:branches_orgunit_change", args=[tree.village_a1.pk])
        )
        page = response.content.decode()
        assert 'name="treebeard_ref_node"' in page
        assert f'value="{tree.township_a.code}"' in page
        assert "<option" not in page.split('name="treebeard_ref_node"')[1].split(">")[0]
        assert tree.village_other.name not in page

    def unit_form(self, **fields):
        return {
            "code": "410102001003",
            "name": "新村",
            "level": L.VILLAGE,
            "area_type": "RURAL",
            "party_org_kind": "",
            "party_org_name": "",
            "secretary_name": "",
            "member_count": 0,
            "household_count": 0,
            "treebeard_position": "first-child",
            "treebeard_ref_node": "410102001",
            **fields,
        }

    def test_a_unit_is_added_under_the_unit_whose_code_is_given(self, personas, tree, login):
        response = login(personas.admin).post(
            reverse("admin:branches_orgunit_add"), self.unit_form()
        )
        assert response.status_code == 302
        unit = OrgUnit.objects.get(code="410102001003")
        assert OrgUnit.objects.get_parent(unit) == tree.township_a

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"level": L.COUNTY, "area_type": ""}, "层级必须低于上级单位“林山寨街道”"),
            ({"treebeard_ref_node": "999"}, "没有这个编码的单位"),
            ({"area_type": ""}, "村(社区)及以下单位必须选择区域类型"),
            (
                {"level": L.COMPOUND, "treebeard_ref_node": "410102001001", "area_type": "RURAL"},
                "应与上级单位一致（城市社区）",
            ),
        ],
    )
    def test_a_wrong_placement_is_a_form_error(self, fields, message, personas, tree, login):
        response = login(personas.admin).post(
            reverse("admin:branches_orgunit_add"), self.unit_form(**fields)
        )
        assert response.status_code == 200
        assert message in response.content.decode()
        assert not OrgUnit.objects.filter(code="410102001003").exists()

    def test_a_unit_moves_to_another_parent_through_the_form(self, personas, tree, login):
        unit = tree.village_a2
        form = self.unit_form(code=unit.code, name=unit.name, treebeard_ref_node="410102002")
        response = login(personas.admin).post(
            reverse("admin:branches_orgunit_change", args=[unit.pk]), form
        )
        assert response.status_code == 302
        moved = OrgUnit.objects.get(pk=unit.pk)
        assert OrgUnit.objects.get_parent(moved) == tree.township_b

    def test_a_unit_cannot_be_placed_below_itself(self, personas, tree, login):
        unit = tree.village_a1
        form = self.unit_form(
            code=unit.code, name=unit.name, area_type="URBAN", treebeard_ref_node="410102001001001"
        )
        response = login(personas.admin).post(
            reverse("admin:branches_orgunit_change", args=[unit.pk]), form
        )
        assert response.status_code == 200
        assert "不能以本单位或它的下级单位作为参照单位" in response.content.decode()

    def test_a_level_above_the_units_children_is_a_form_error(self, personas, tree, login):
        unit = tree.village_a1
        form = self.unit_form(code=unit.code, name=unit.name, level=L.COMPOUND, area_type="URBAN")
        response = login(personas.admin).post(
            reverse("admin:branches_orgunit_change", args=[unit.pk]), form
        )
        assert response.status_code == 200
        assert "该单位有“小区(网格片区)”层级的下级单位" in response.content.decode()

    def test_drag_and_drop_refuses_to_break_the_level_rule(self, personas, tree, login):
        response = login(personas.admin).post(
            reverse("admin:branches_orgunit_changelist") + "move/",
            {"node": tree.township_b.pk, "target": tree.village_a1.pk, "relation": "child"},
        )
        assert response.status_code == 400
        moved = OrgUnit.objects.get(pk=tree.township_b.pk)
        assert OrgUnit.objects.get_parent(moved) == tree.county

    def test_a_user_is_given_a_role_and_a_unit(self, personas, tree, login):
        response = login(personas.admin).post(
            reverse("admin:governance_user_add"),
            {
                "username": "newstaff",
                "usable_password": "true",
                "password1": "Xq9!long-pass-77",
                "password2": "Xq9!long-pass-77",
                "role": User.Role.TOWNSHIP_STAFF,
                "unit": tree.township_b.pk,
            },
        )
        assert response.status_code == 302
        user = User.objects.get(username="newstaff")
        assert (user.role, user.unit) == (User.Role.TOWNSHIP_STAFF, tree.township_b)

    def test_a_user_without_unit_is_refused_with_a_clear_message(self, personas, login):
        response = login(personas.admin).post(
            reverse("admin:governance_user_add"),
            {
                "username": "nounit",
                "usable_password": "true",
                "password1": "Xq9!long-pass-77",
                "password2": "Xq9!long-pass-77",
                "role": User.Role.AUDITOR,
                "unit": "",
            },
        )
        assert response.status_code == 200
        assert "除系统管理员外，每个用户都必须有管辖单位" in response.content.decode()
        assert not User.objects.filter(username="nounit").exists()

    def test_the_unit_autocomplete_finds_units_by_name(self, personas, tree, login):
        response = login(personas.admin).get(
            reverse("admin:autocomplete"),
            {"app_label": "governance", "model_name": "user", "field_name": "unit", "term": "林山"},
        )
        assert response.status_code == 200
        assert [r["id"] for r in response.json()["results"]] == [str(tree.township_a.pk)]


@time_machine.travel("2026-04-03 10:00 +0800", tick=False)
def test_home_links_each_role_to_its_monthly_work(personas, login):
    staff_home = login(personas.staff_a).get(reverse("home")).content.decode()
    assert reverse("branches:report_review", args=["410102001", "2026-03"]) in staff_home
    secretary_home = login(personas.secretary).get(reverse("home")).content.decode()
    assert reverse("branches:report_edit", args=["410102001001", "2026-04"]) in secretary_home
    assert reverse("branches:scorecard", args=["410102001001"]) in secretary_home
    leader_home = login(personas.county_leader).get(reverse("home")).content.decode()
    assert reverse("branches:summary", args=["410102"]) in leader_home


def test_out_of_scope_and_forbidden_pages_explain_themselves_in_chinese(personas, tree, login):
    client = login(personas.staff_a)
    missing = client.get(reverse("branches:unit_detail", args=[tree.village_b1.code]))
    assert missing.status_code == 404
    assert "不在您的管辖范围内" in missing.content.decode()
    assert tree.village_b1.name not in missing.content.decode()
    forbidden = login(personas.auditor).get(
        reverse("branches:unit_edit", args=[tree.village_a1.code])
    )
    assert forbidden.status_code == 403
    assert "返回首页" in forbidden.content.decode()
