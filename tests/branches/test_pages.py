"""The unit browser pages: who may open what, scoping, editing and query counts."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from branches.models import OrgUnit
from branches.services.units import unit_update
from tests.branches.factories import OrgUnitFactory
from tests.conftest import PERSONA_NAMES

L = OrgUnit.Level

# The pages, each aimed at 建设路社区 (village A1 in township A) unless it says otherwise.
PAGES = [
    "unit_list",
    "detail_in_township_a",
    "history_in_township_a",
    "search",
    "edit_get",
    "edit_post",
    "detail_in_other_county",
]
# persona → status per page above. A1 lies below township A, the county and the province;
# the secretary's own branch; above the grid worker's compound.
EXPECTED = {
    "admin": [200, 200, 200, 200, 200, 302, 200],
    "province_leader": [200, 200, 200, 200, 403, 403, 200],
    "county_leader": [200, 200, 200, 200, 403, 403, 404],
    "staff_a": [200, 200, 200, 200, 200, 302, 404],
    "staff_b": [200, 404, 404, 200, 404, 404, 404],
    "secretary": [200, 200, 200, 200, 403, 403, 404],
    "auditor": [200, 200, 200, 200, 403, 403, 404],
    "grid_worker": [200, 404, 404, 200, 404, 404, 404],
}


def edit_data(unit, **changes):
    """A complete edit form for `unit` as loaded now, with some fields changed."""
    data = {
        "name": unit.name,
        "party_org_kind": unit.party_org_kind,
        "party_org_name": unit.party_org_name,
        "secretary_name": unit.secretary_name,
        "member_count": unit.member_count,
        "household_count": unit.household_count,
        "expected_updated_at": unit.updated_at.isoformat(),
    }
    return {**data, **changes}


def request_page(client, tree, page):
    a1 = tree.village_a1.code
    if page == "unit_list":
        return client.get(reverse("branches:unit_list"))
    if page == "detail_in_township_a":
        return client.get(reverse("branches:unit_detail", args=[a1]))
    if page == "history_in_township_a":
        return client.get(reverse("branches:unit_history", args=[a1]))
    if page == "search":
        return client.get(reverse("branches:unit_search"), {"q": "村"})
    if page == "edit_get":
        return client.get(reverse("branches:unit_edit", args=[a1]))
    if page == "edit_post":
        data = edit_data(tree.village_a1, secretary_name="王书记")
        return client.post(reverse("branches:unit_edit", args=[a1]), data)
    if page == "detail_in_other_county":
        return client.get(reverse("branches:unit_detail", args=[tree.village_other.code]))
    raise AssertionError(page)


@pytest.mark.parametrize(
    ("persona", "page", "status"),
    [
        (persona, page, status)
        for persona in PERSONA_NAMES
        for page, status in zip(PAGES, EXPECTED[persona], strict=True)
    ],
)
def test_permission_matrix(persona, page, status, personas, tree, login):
    response = request_page(login(getattr(personas, persona)), tree, page)
    assert response.status_code == status


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_users_are_sent_to_the_login_page(page, tree, client):
    response = request_page(client, tree, page)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_a_saved_edit_goes_back_to_the_unit_with_a_message(personas, tree, login):
    client = login(personas.staff_a)
    url = reverse("branches:unit_edit", args=[tree.village_a1.code])
    response = client.post(url, edit_data(tree.village_a1, secretary_name="王书记"), follow=True)
    assert response.redirect_chain[-1][0] == reverse(
        "branches:unit_detail", args=[tree.village_a1.code]
    )
    assert "已保存“建设路社区”的修改。" in response.content.decode()
    assert OrgUnit.objects.get(pk=tree.village_a1.pk).secretary_name == "王书记"


@pytest.mark.parametrize("unit", ["township_b", "village_b1"])
@pytest.mark.parametrize("view", ["unit_detail", "unit_history", "unit_edit"])
def test_staff_of_township_a_get_404_on_township_b(unit, view, personas, tree, login):
    client = login(personas.staff_a)
    code = getattr(tree, unit).code
    assert client.get(reverse(f"branches:{view}", args=[code])).status_code == 404


def test_an_edit_posted_outside_the_jurisdiction_changes_nothing(personas, tree, login):
    client = login(personas.staff_a)
    url = reverse("branches:unit_edit", args=[tree.village_b1.code])
    response = client.post(url, edit_data(tree.village_b1, name="被篡改"))
    assert response.status_code == 404
    assert OrgUnit.objects.get(pk=tree.village_b1.pk).name == "须水村"


def test_search_never_returns_units_outside_the_jurisdiction(personas, tree, login):
    client = login(personas.staff_a)
    by_name = client.get(reverse("branches:unit_search"), {"q": "村"})
    assert [unit.code for unit, _ in by_name.context["results"]] == [tree.village_a2.code]
    by_code = client.get(reverse("branches:unit_search"), {"q": "4101"})
    codes = {unit.code for unit, _ in by_code.context["results"]}
    assert codes == set(OrgUnit.objects.under(tree.township_a).values_list("code", flat=True))


def test_search_shows_each_results_level_and_parent_chain(personas, tree, login):
    client = login(personas.staff_a)
    response = client.get(reverse("branches:unit_search"), {"q": "1号楼"})
    [(unit, chain)] = response.context["results"]
    assert unit == tree.building_a1
    assert [(a.name, is_link) for a, is_link in chain] == [
        ("河南省", False),
        ("郑州市", False),
        ("中原区", False),
        ("林山寨街道", True),
        ("建设路社区", True),
        ("锦绣小区", True),
    ]
    page = response.content.decode()
    assert "楼栋" in page
    assert f'href="{reverse("branches:unit_detail", args=[tree.county.code])}"' not in page


def test_search_without_a_query_asks_for_one(personas, login):
    response = login(personas.staff_a).get(reverse("branches:unit_search"))
    assert response.context["page"] is None
    assert "输入单位名称中的文字" in response.content.decode()


def test_search_without_matches_says_so(personas, login):
    response = login(personas.staff_a).get(reverse("branches:unit_search"), {"q": "不存在的单位"})
    assert "没有找到与“不存在的单位”匹配的单位" in response.content.decode()


def test_the_unit_list_is_the_users_own_unit(personas, tree, login):
    response = login(personas.staff_a).get(reverse("branches:unit_list"))
    assert [unit for unit, _ in response.context["rows"]] == [tree.township_a]


def test_the_unit_list_of_an_administrator_is_the_root(personas, tree, login):
    response = login(personas.admin).get(reverse("branches:unit_list"))
    assert [unit for unit, _ in response.context["rows"]] == [tree.province]


def test_unit_detail_counts_the_descendants_of_each_child_by_level(personas, tree, login):
    response = login(personas.county_leader).get(
        reverse("branches:unit_detail", args=[tree.county.code])
    )
    rows = {
        unit.code: [(str(label), n) for label, n in counts]
        for unit, counts in response.context["rows"]
    }
    assert rows == {
        tree.township_a.code: [("村(社区)", 2), ("小区(网格片区)", 1), ("楼栋", 1)],
        tree.township_b.code: [("村(社区)", 1)],
    }


def test_breadcrumbs_link_only_inside_the_jurisdiction(personas, tree, login):
    response = login(personas.staff_a).get(
        reverse("branches:unit_detail", args=[tree.compound_a1.code])
    )
    crumbs = [(unit.name, is_link) for unit, is_link in response.context["breadcrumbs"]]
    assert crumbs == [
        ("河南省", False),
        ("郑州市", False),
        ("中原区", False),
        ("林山寨街道", True),
        ("建设路社区", True),
        ("锦绣小区", True),
    ]
    page = response.content.decode()
    assert f'href="{reverse("branches:unit_detail", args=[tree.city.code])}"' not in page
    assert f'href="{reverse("branches:unit_detail", args=[tree.township_a.code])}"' in page


def test_children_are_paginated_fifty_to_a_page_by_code(personas, tree, login):
    for n in range(55, 0, -1):
        OrgUnitFactory(code=f"410102002{n:03d}9", name=f"村{n}", parent=tree.township_b)
    client = login(personas.admin)
    url = reverse("branches:unit_detail", args=[tree.township_b.code])
    first = [unit.code for unit, _ in client.get(url).context["rows"]]
    second = [unit.code for unit, _ in client.get(url, {"page": 2}).context["rows"]]
    assert len(first) == 50
    assert len(second) == 6
    assert first + second == sorted(first + second)


def test_the_history_page_shows_who_changed_what(personas, tree, login):
    client = login(personas.staff_a)
    url = reverse("branches:unit_edit", args=[tree.village_a1.code])
    client.post(url, edit_data(tree.village_a1, secretary_name="王书记", party_org_kind="BRANCH"))
    response = client.get(reverse("branches:unit_history", args=[tree.village_a1.code]))
    latest = response.context["entries"][0]
    assert latest["record"].history_user == personas.staff_a
    assert sorted((str(label), str(old), str(new)) for label, old, new in latest["changes"]) == [
        ("书记", "（空）", "王书记"),
        ("党组织类型", "（空）", "党支部"),
    ]
    assert response.context["entries"][-1]["record"].history_type == "+"


class TestEditConflict:
    def test_the_second_of_two_stale_forms_is_refused_and_overwrites_nothing(self, personas, tree):
        url = reverse("branches:unit_edit", args=[tree.village_a1.code])
        personas.staff_a.last_name, personas.staff_a.first_name = "王", "丽"
        personas.staff_a.save()
        first, second = Client(), Client()
        first.force_login(personas.staff_a)
        second.force_login(personas.admin)
        loaded = edit_data(tree.village_a1)
        assert first.post(url, {**loaded, "secretary_name": "张三"}).status_code == 302
        history_count = tree.village_a1.history.count()

        response = second.post(url, {**loaded, "secretary_name": "李四", "member_count": 99})

        assert response.status_code == 200
        page = response.content.decode()
        assert "保存失败" in page
        assert "为避免覆盖他人的修改，本次内容没有保存" in page
        # Who changed it, by the name colleagues know, not the login.
        assert "已被王丽于" in page
        assert "staff_a" not in page
        unit = OrgUnit.objects.get(pk=tree.village_a1.pk)
        assert (unit.secretary_name, unit.member_count) == ("张三", 0)
        assert unit.history.count() == history_count
        # The form is shown again with the current values and the current version.
        form = response.context["form"]
        assert form.initial["secretary_name"] == "张三"
        assert form["expected_updated_at"].value() == unit.updated_at.isoformat()

    def test_the_refreshed_form_saves(self, personas, tree, login):
        url = reverse("branches:unit_edit", args=[tree.village_a1.code])
        client = login(personas.staff_a)
        stale = edit_data(tree.village_a1)
        client.post(url, {**stale, "secretary_name": "张三"})
        current = OrgUnit.objects.get(pk=tree.village_a1.pk)
        response = client.post(url, edit_data(current, member_count=40))
        assert response.status_code == 302
        assert OrgUnit.objects.get(pk=tree.village_a1.pk).member_count == 40


def test_saving_an_unchanged_form_adds_no_history_entry(personas, tree, login):
    url = reverse("branches:unit_edit", args=[tree.village_a1.code])
    before = tree.village_a1.history.count()
    assert login(personas.staff_a).post(url, edit_data(tree.village_a1)).status_code == 302
    assert tree.village_a1.history.count() == before


@pytest.mark.parametrize("persona", ["staff_b", "auditor"])
def test_the_edit_service_itself_refuses_users_without_the_right(persona, personas, tree):
    with pytest.raises(PermissionDenied):
        unit_update(
            unit=tree.village_a1,
            user=getattr(personas, persona),
            data=edit_data(tree.village_a1, name="改名"),
            expected_updated_at=tree.village_a1.updated_at,
        )
    assert OrgUnit.objects.get(pk=tree.village_a1.pk).name == "建设路社区"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "请填写单位名称。"),
        ({"member_count": "-1"}, "党员数不能为负数，请填写 0 或更大的整数。"),
        ({"household_count": "很多"}, "户数请填写整数，例如 1200。"),
        ({"expected_updated_at": "昨天"}, "页面版本信息无效，请重新打开编辑页面。"),
        ({"party_org_kind": "X"}, "选择一个有效的选项"),
    ],
)
def test_edit_errors_are_explained_in_chinese(changes, message, personas, tree, login):
    url = reverse("branches:unit_edit", args=[tree.village_a1.code])
    response = login(personas.staff_a).post(url, edit_data(tree.village_a1, **changes))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert OrgUnit.objects.get(pk=tree.village_a1.pk).updated_at == tree.village_a1.updated_at


def test_the_edit_form_does_not_offer_code_level_or_parent(personas, tree, login):
    response = login(personas.staff_a).get(
        reverse("branches:unit_edit", args=[tree.village_a1.code])
    )
    assert set(response.context["form"].fields) == {
        "name",
        "party_org_kind",
        "party_org_name",
        "secretary_name",
        "member_count",
        "household_count",
        "expected_updated_at",
    }


def test_posted_code_and_level_are_ignored(personas, tree, login):
    url = reverse("branches:unit_edit", args=[tree.village_a1.code])
    data = edit_data(tree.village_a1, code="999", level=L.COUNTY)
    assert login(personas.staff_a).post(url, data).status_code == 302
    unit = OrgUnit.objects.get(pk=tree.village_a1.pk)
    assert (unit.code, unit.level) == (tree.village_a1.code, L.VILLAGE)


def add_children(parent, count, prefix):
    """`count` villages under `parent`, each with a compound below it."""
    for n in range(count):
        village = OrgUnitFactory(code=f"{prefix}{n:03d}", name=f"{prefix}村{n}", parent=parent)
        OrgUnitFactory(code=f"{prefix}{n:03d}01", level=L.COMPOUND, parent=village)


@pytest.mark.parametrize("children", [2, 30])
def test_unit_detail_queries_do_not_grow_with_children(
    children, personas, tree, login, django_assert_max_num_queries
):
    add_children(tree.township_b, children, "T")
    client = login(personas.admin)
    url = reverse("branches:unit_detail", args=[tree.township_b.code])
    # +1 for the top bar's unread notifications.
    with django_assert_max_num_queries(8):
        response = client.get(url)
    assert len(response.context["rows"]) == children + 1


@pytest.mark.parametrize("matches", [2, 30])
def test_search_queries_do_not_grow_with_results(
    matches, personas, tree, login, django_assert_max_num_queries
):
    add_children(tree.township_a, matches, "S")
    client = login(personas.staff_a)
    # +1 for the top bar's unread notifications.
    with django_assert_max_num_queries(7):
        response = client.get(reverse("branches:unit_search"), {"q": "S"})
    assert len(response.context["results"]) == min(2 * matches, 50)


@pytest.mark.parametrize("edits", [2, 25])
def test_history_queries_do_not_grow_with_records(
    edits, personas, tree, login, django_assert_max_num_queries
):
    unit = tree.village_a1
    for n in range(edits):
        unit.member_count = n + 1
        unit.save()
    client = login(personas.staff_a)
    # +1 for the top bar's unread notifications.
    with django_assert_max_num_queries(8):
        response = client.get(reverse("branches:unit_history", args=[unit.code]))
    assert len(response.context["entries"]) == min(edits + 1, 20)
