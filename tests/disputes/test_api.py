"""The disputes API: scoping, one endpoint per action with the pages' validation, masking,
the timeline, teams and query counts."""

import pytest

from disputes import services
from tests.disputes.factories import make_case

pytestmark = pytest.mark.usefixtures("april_third")
BASE = "/api/v1/disputes/cases/"


@pytest.fixture
def api(client):
    def _as(user):
        client.force_login(user)
        return client

    return _as


def test_the_list_is_scoped(api, personas, tree):
    case = make_case(personas.staff_a, tree.village_a2)
    assert api(personas.staff_a).get(BASE).json()["count"] == 1
    assert api(personas.staff_b).get(BASE).json()["count"] == 0
    assert api(personas.staff_b).get(f"{BASE}{case.number}/").status_code == 404
    assert api(personas.auditor).get(f"{BASE}{case.number}/").status_code == 200


def test_register_and_walk_the_workflow(api, personas, tree):
    client = api(personas.secretary)
    response = client.post(
        BASE,
        {
            "unit": tree.village_a1.code,
            "category": "LAND",
            "source": "HOTLINE",
            "summary": "承包地边界争议",
            "received_on": "2026-04-02",
            "parties": [{"name": "赵六", "role": "APPLICANT", "phone": "13800001111"}],
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    case = response.json()
    assert case["status"] == "RECEIVED" and case["parties"][0]["phone"] == "13800001111"
    url = f"{BASE}{case['number']}/"
    response = client.post(
        f"{url}close/", {"version": 1, "outcome": "WRITTEN"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "不能“结案”" in response.json()["non_field_errors"][0]
    response = client.post(f"{url}start/", {"version": 1}, content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "MEDIATING"
    stale = client.post(f"{url}fail/", {"version": 1, "note": "x"}, content_type="application/json")
    assert stale.status_code == 409
    client.post(f"{url}fail/", {"version": 2, "note": "不同意"}, content_type="application/json")
    response = client.post(
        f"{url}escalate/", {"version": 3, "reason": "村级未果"}, content_type="application/json"
    )
    assert response.json()["handling_level"] == 4
    # Now masked for the secretary, and no more actions.
    data = client.get(url).json()
    assert data["parties"][0]["phone"] == "138****1111" and data["allowed_actions"] == []
    assert (
        client.post(f"{url}start/", {"version": 4}, content_type="application/json").status_code
        == 403
    )
    steps = client.get(f"{url}steps/").json()
    assert [s["action"] for s in steps["results"]] == ["RECEIVE", "START", "FAIL", "ESCALATE"]


def test_read_only_roles_cannot_write(api, personas, tree):
    case = make_case(personas.staff_a, tree.village_a2)
    client = api(personas.county_leader)
    response = client.post(
        f"{BASE}{case.number}/start/", {"version": 1}, content_type="application/json"
    )
    assert response.status_code == 403
    response = client.post(
        BASE,
        {
            "unit": tree.village_a2.code,
            "category": "LAND",
            "source": "GRID",
            "summary": "x",
            "received_on": "2026-04-01",
        },
        content_type="application/json",
    )
    assert response.status_code == 403


def test_sessions_and_teams(api, personas, tree):
    staff = personas.staff_a
    case = make_case(staff, tree.village_a2)
    case = services.case_start(case=case, user=staff)
    client = api(staff)
    response = client.post(
        f"{BASE}{case.number}/session/",
        {
            "version": case.version,
            "held_on": "2026-04-02",
            "place": "村委会",
            "participants": "双方",
            "record": "达成一致",
            "result": "AGREED",
        },
        content_type="application/json",
    )
    assert response.status_code == 200
    assert client.get("/api/v1/disputes/sessions/").json()["count"] == 1
    response = client.post(
        "/api/v1/disputes/teams/",
        {"unit": tree.village_a2.code, "name": "调委会", "kind": "COMMITTEE"},
        content_type="application/json",
    )
    assert response.status_code == 201 and response.json()["members"] == []
    assert api(personas.staff_b).get("/api/v1/disputes/teams/").json()["count"] == 0


def test_team_members_are_set_through_the_api_inside_the_jurisdiction(api, personas, tree):
    client = api(personas.staff_a)
    team = {"unit": tree.village_a2.code, "name": "调解队", "kind": "TEAM"}
    response = client.post(
        "/api/v1/disputes/teams/",
        {**team, "members": [personas.grid_worker.username]},
        content_type="application/json",
    )
    assert response.status_code == 201 and response.json()["members"] == ["wangge"]
    response = client.post(
        "/api/v1/disputes/teams/",
        {**team, "name": "另一队", "members": [personas.staff_b.username]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "不在您的管辖范围内" in response.json()["non_field_errors"][0]


def test_the_list_takes_a_fixed_number_of_queries(
    api, personas, tree, django_assert_max_num_queries
):
    for _ in range(5):
        make_case(personas.staff_a, tree.village_a2)
    client = api(personas.staff_a)
    with django_assert_max_num_queries(8):
        assert client.get(BASE, {"status": "RECEIVED", "overdue": "false"}).status_code == 200
