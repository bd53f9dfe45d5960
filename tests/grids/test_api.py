from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from grids.models import GridEvent
from grids.services import events as event_service


@pytest.fixture
def api():
    def _as(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return _as


def test_households_list_masks_for_leaders_and_detail_shows_in_full(grids, personas, api):
    leader = api(personas.county_leader)
    rows = leader.get("/api/v1/households/").json()["results"]
    assert {r["head_name"] for r in rows} >= {"张*华", "王*山"}
    assert all("*" in r["phone"] for r in rows)
    detail = leader.get(f"/api/v1/households/{grids.h_a1.pk}/").json()
    assert detail["head_name"] == "张建华" and detail["phone"] == "13912345678"
    staff = api(personas.staff_a).get("/api/v1/households/").json()["results"]
    assert "张建华" in {r["head_name"] for r in staff} and len(staff) == 3


def test_a_grid_worker_reads_only_their_grids(grids, personas, api):
    client = api(personas.grid_worker)
    assert [g["code"] for g in client.get("/api/v1/grids/").json()["results"]] == ["G-A1-01"]
    assert client.get(f"/api/v1/households/{grids.h_a2.pk}/").status_code == 404
    assert client.get("/api/v1/grids/G-B1-01/").status_code == 404


def test_a_visit_and_an_event_through_the_api(grids, personas, api):
    worker = api(personas.grid_worker)
    today = timezone.localdate().isoformat()
    response = worker.post(
        "/api/v1/visits/", {"household": grids.h_a1.pk, "visited_on": today, "purpose": "CARE"}
    )
    assert response.status_code == 201, response.json()
    assert (
        worker.post(
            "/api/v1/visits/", {"household": grids.h_a2.pk, "visited_on": today, "purpose": "CARE"}
        ).status_code
        == 400
    )
    response = worker.post(
        "/api/v1/grid-events/", {"grid": "G-A1-01", "category": "SAFETY", "description": "杂物"}
    )
    assert response.status_code == 201
    number = response.json()["number"]
    staff = api(personas.staff_a)
    assert worker.post(f"/api/v1/grid-events/{number}/accept/").status_code == 403
    assert staff.post(f"/api/v1/grid-events/{number}/close/").status_code == 400
    assert staff.post(f"/api/v1/grid-events/{number}/accept/").json()["status"] == "ACCEPTED"
    deadline = (timezone.localdate() + timedelta(days=2)).isoformat()
    body = staff.post(
        f"/api/v1/grid-events/{number}/dispatch/",
        {"deadline": deadline, "assignee_user": "checker"},
    ).json()
    assert body["status"] == "DISPATCHED" and body["assignee_username"] == "checker"
    steps = staff.get(f"/api/v1/grid-events/{number}/steps/").json()
    assert [s["action"] for s in steps] == ["REPORTED", "ACCEPTED", "DISPATCHED"]
    assert (
        api(personas.auditor)
        .post(f"/api/v1/grid-events/{number}/return/", {"note": "x"})
        .status_code
        == 403
    )
    assert api(personas.staff_b).get(f"/api/v1/grid-events/{number}/").status_code == 404


def test_hazards_api_records_and_lists(grids, personas, api):
    client = api(personas.staff_a)
    response = client.post(
        "/api/v1/hazards/",
        {
            "grid": "G-A2-01",
            "place": "村口",
            "kind": "GAS",
            "description": "燃气管老化",
            "deadline": timezone.localdate().isoformat(),
            "responsible_name": "王五",
        },
    )
    assert response.status_code == 201, response.json()
    assert client.get("/api/v1/hazards/?status=OPEN").json()["count"] == 1
    assert api(personas.staff_b).get("/api/v1/hazards/").json()["count"] == 0


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/grids/",
        "/api/v1/households/",
        "/api/v1/visits/",
        "/api/v1/grid-events/",
        "/api/v1/hazards/",
    ],
)
def test_list_apis_run_a_bounded_number_of_queries(
    url, grids, personas, api, django_assert_max_num_queries
):
    for n in range(5):
        event_service.event_report(
            user=personas.staff_a, grid=grids.a2, category="OTHER", description=f"事{n}"
        )
    client = api(personas.staff_a)
    with django_assert_max_num_queries(8):
        assert client.get(url).status_code == 200
    assert GridEvent.objects.count() == 5
