"""The read-only org-unit API: jurisdiction, filters, pagination, permissions, query count."""

import pytest
from django.urls import reverse

from branches.models import OrgUnit
from tests.branches.factories import OrgUnitFactory
from tests.conftest import PERSONA_NAMES

LIST_URL = reverse("unit-list")

STAFF_A_CODES = [
    "410102001",
    "410102001001",
    "410102001001001",
    "410102001001001001",
    "410102001002",
]


def detail_url(code):
    return reverse("unit-detail", kwargs={"code": code})


def codes(response):
    return [unit["code"] for unit in response.json()["results"]]


@pytest.fixture
def staff_a_client(personas, login):
    return login(personas.staff_a)


@pytest.fixture
def many_villages(tree):
    """Sixty more villages under township A, for paging."""
    return [
        OrgUnitFactory(code=f"4101020019{n:02d}", name=f"分页村{n}", parent=tree.township_a)
        for n in range(60)
    ]


class TestJurisdiction:
    def test_it_lists_only_the_users_unit_and_its_descendants(self, staff_a_client):
        response = staff_a_client.get(LIST_URL)

        assert response.status_code == 200
        assert codes(response) == STAFF_A_CODES
        assert response.json()["count"] == len(STAFF_A_CODES)

    def test_an_administrator_sees_the_whole_province(self, personas, login):
        response = login(personas.admin).get(LIST_URL)

        assert response.json()["count"] == OrgUnit.objects.count()

    @pytest.mark.parametrize("code", ["410102002", "410102002001", "410102", "41", "410103001001"])
    def test_it_returns_404_outside_jurisdiction(self, staff_a_client, code):
        assert staff_a_client.get(detail_url(code)).status_code == 404

    def test_it_returns_404_for_an_unknown_code(self, staff_a_client):
        assert staff_a_client.get(detail_url("999999")).status_code == 404

    def test_search_never_finds_a_unit_of_another_township(self, staff_a_client):
        assert codes(staff_a_client.get(LIST_URL, {"search": "须水"})) == []
        assert codes(staff_a_client.get(LIST_URL, {"search": "410102002"})) == []

    def test_level_filter_never_finds_a_unit_of_another_township(self, staff_a_client):
        response = staff_a_client.get(LIST_URL, {"level": "VILLAGE"})

        assert codes(response) == ["410102001001", "410102001002"]

    @pytest.mark.parametrize("parameter", ["parent", "under"])
    def test_a_unit_outside_jurisdiction_is_refused_like_an_unknown_one(
        self, staff_a_client, parameter
    ):
        outside = staff_a_client.get(LIST_URL, {parameter: "410102002"})
        unknown = staff_a_client.get(LIST_URL, {parameter: "999999"})

        assert outside.status_code == unknown.status_code == 400
        assert outside.json() == unknown.json()
        assert "不在您的管辖范围内" in outside.json()[parameter][0]


class TestRepresentation:
    def test_a_unit_carries_its_facts_codes_and_labels(self, tree, staff_a_client):
        OrgUnit.objects.filter(pk=tree.village_a1.pk).update(
            party_org_kind=OrgUnit.PartyOrgKind.BRANCH,
            party_org_name="建设路社区党支部",
            secretary_name="王芳",
            member_count=42,
            household_count=1300,
        )

        unit = staff_a_client.get(detail_url("410102001001")).json()

        assert unit == {
            "code": "410102001001",
            "name": "建设路社区",
            "level": 5,
            "level_display": "村(社区)",
            "area_type": "URBAN",
            "area_type_display": "城市社区",
            "party_org_kind": "BRANCH",
            "party_org_kind_display": "党支部",
            "party_org_name": "建设路社区党支部",
            "secretary_name": "王芳",
            "member_count": 42,
            "household_count": 1300,
            "parent_code": "410102001",
            "depth": 5,
            "children_count": 1,
            "updated_at": unit["updated_at"],
        }
        assert unit["updated_at"]

    def test_the_root_has_no_parent_code(self, personas, login):
        unit = login(personas.admin).get(detail_url("41")).json()

        assert unit["parent_code"] is None
        assert unit["depth"] == 1

    def test_the_list_gives_each_unit_its_parent_code(self, staff_a_client):
        units = staff_a_client.get(LIST_URL).json()["results"]

        assert {u["code"]: u["parent_code"] for u in units} == {
            "410102001": "410102",
            "410102001001": "410102001",
            "410102001001001": "410102001001",
            "410102001001001001": "410102001001001",
            "410102001002": "410102001",
        }


class TestFilters:
    def test_parent_lists_direct_children_only(self, staff_a_client):
        response = staff_a_client.get(LIST_URL, {"parent": "410102001"})

        assert codes(response) == ["410102001001", "410102001002"]

    def test_parent_is_resolved_independently_of_the_other_filters(self, staff_a_client):
        response = staff_a_client.get(LIST_URL, {"parent": "410102001", "level": 5})

        assert codes(response) == ["410102001001", "410102001002"]

    def test_under_lists_the_unit_and_its_whole_subtree(self, staff_a_client):
        response = staff_a_client.get(LIST_URL, {"under": "410102001001"})

        assert codes(response) == ["410102001001", "410102001001001", "410102001001001001"]

    @pytest.mark.parametrize("level", ["5", "VILLAGE", "village", " Village "])
    def test_level_accepts_a_number_or_a_name(self, staff_a_client, level):
        response = staff_a_client.get(LIST_URL, {"level": level})

        assert response.status_code == 200
        assert codes(response) == ["410102001001", "410102001002"]

    @pytest.mark.parametrize("level", ["0", "8", "HAMLET", "5.0", "²"])
    def test_an_invalid_level_is_refused_with_the_valid_values(self, staff_a_client, level):
        response = staff_a_client.get(LIST_URL, {"level": level})

        assert response.status_code == 400
        message = response.json()["level"][0]
        assert "1–7" in message
        assert "VILLAGE" in message

    def test_area_type_filters_by_area_type(self, personas, login):
        client = login(personas.county_leader)

        rural = codes(client.get(LIST_URL, {"area_type": "RURAL"}))
        urban = codes(client.get(LIST_URL, {"area_type": "URBAN"}))

        assert rural == ["410102001002", "410102002001"]
        assert urban == ["410102001001", "410102001001001", "410102001001001001"]

    def test_an_unknown_area_type_is_refused(self, staff_a_client):
        assert staff_a_client.get(LIST_URL, {"area_type": "FOREST"}).status_code == 400

    def test_search_matches_part_of_a_name(self, staff_a_client):
        assert codes(staff_a_client.get(LIST_URL, {"search": "流湖"})) == ["410102001002"]

    def test_search_matches_part_of_a_code(self, staff_a_client):
        response = staff_a_client.get(LIST_URL, {"search": "1001001"})

        assert codes(response) == ["410102001001001", "410102001001001001"]

    def test_filters_combine(self, personas, login):
        client = login(personas.county_leader)

        response = client.get(LIST_URL, {"under": "410102001", "area_type": "RURAL", "level": 5})

        assert codes(response) == ["410102001002"]

    def test_empty_parameters_are_ignored(self, staff_a_client):
        response = staff_a_client.get(LIST_URL, {"parent": "", "level": "", "search": ""})

        assert codes(response) == STAFF_A_CODES


class TestPagination:
    def test_a_page_holds_50_units_by_default(self, staff_a_client, many_villages):
        body = staff_a_client.get(LIST_URL).json()

        assert body["count"] == 65
        assert len(body["results"]) == 50
        assert body["next"].endswith("?page=2")
        assert body["previous"] is None

    def test_the_last_page_holds_the_rest(self, staff_a_client, many_villages):
        body = staff_a_client.get(LIST_URL, {"page": 2}).json()

        assert len(body["results"]) == 15
        assert body["next"] is None

    def test_page_size_chooses_the_page_length(self, staff_a_client, many_villages):
        body = staff_a_client.get(LIST_URL, {"page_size": 20, "page": 4}).json()

        assert len(body["results"]) == 5

    def test_page_size_is_capped_at_500(self, personas, login, tree):
        township = tree.township_a
        for n in range(500):
            OrgUnitFactory(code=f"T{n:04d}", name=f"楼{n}", parent=township)

        body = login(personas.admin).get(LIST_URL, {"page_size": 1000}).json()

        assert body["count"] == 513
        assert len(body["results"]) == 500

    def test_a_page_past_the_end_is_404(self, staff_a_client):
        assert staff_a_client.get(LIST_URL, {"page": 9}).status_code == 404


class TestQueryCount:
    @pytest.mark.parametrize("page_size", [5, 65])
    def test_the_list_costs_the_same_queries_whatever_the_page_size(
        self, staff_a_client, many_villages, django_assert_max_num_queries, page_size
    ):
        # Session, user, the user's unit (jurisdiction), count, page.
        with django_assert_max_num_queries(5):
            response = staff_a_client.get(LIST_URL, {"page_size": page_size})

        assert len(response.json()["results"]) == page_size


ALL_PERSONAS = [*PERSONA_NAMES, "anonymous"]

# Township A's community 建设路社区: inside every jurisdiction but township B's and
# the grid worker's (whose unit is a compound below it).
IN_A1 = {name: 200 for name in PERSONA_NAMES} | {"staff_b": 404, "grid_worker": 404}

MATRIX = [
    ("list", "get", dict.fromkeys(PERSONA_NAMES, 200)),
    ("list", "post", dict.fromkeys(PERSONA_NAMES, 405)),
    ("detail", "get", IN_A1),
    ("detail", "put", dict.fromkeys(PERSONA_NAMES, 405)),
    ("detail", "patch", dict.fromkeys(PERSONA_NAMES, 405)),
    ("detail", "delete", dict.fromkeys(PERSONA_NAMES, 405)),
]


@pytest.mark.parametrize("persona", ALL_PERSONAS)
@pytest.mark.parametrize(("url_name", "method", "expected"), MATRIX)
def test_permission_matrix(client, personas, persona, url_name, method, expected):
    if persona != "anonymous":
        client.force_login(getattr(personas, persona))
    url = LIST_URL if url_name == "list" else detail_url("410102001001")

    response = getattr(client, method)(url, data={}, content_type="application/json")

    # Token authentication first: an anonymous caller gets 401 with WWW-Authenticate.
    assert response.status_code == expected.get(persona, 401)


def test_write_methods_are_refused_even_outside_jurisdiction(staff_a_client):
    response = staff_a_client.delete(detail_url("410102002001"))

    assert response.status_code == 405
    assert OrgUnit.objects.filter(code="410102002001").exists()
