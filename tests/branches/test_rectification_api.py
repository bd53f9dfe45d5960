"""The rectification API: scoped CRUD, workflow actions, evidence, filters, and answers that
match the OpenAPI schema."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from branches.models import Rectification
from branches.services import rectification as rect
from tests.conftest import PERSONA_NAMES
from tests.governance.test_openapi import SCHEMA_URL, assert_documented

Status = Rectification.Status
DEADLINE = "2026-04-30"

pytestmark = pytest.mark.usefixtures("april_third", "criteria")


@pytest.fixture
def schema(personas, login):
    return login(personas.admin).get(SCHEMA_URL, {"format": "json"}).json()


def api_for(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.fixture
def item(tree, personas):
    """An open item of 建设路社区 (township A, the secretary's branch)."""
    return rect.rectification_open(
        user=personas.staff_a, branch=tree.village_a1, problem="党员活动室未挂牌",
        deadline=date(2026, 4, 30),
    )  # fmt: skip


def detail(pk, step=""):
    name = f"rectification-{step}" if step else "rectification-detail"
    return reverse(name, args=[pk])


def test_create_from_a_criterion_then_start_and_close(tree, personas, schema):
    api = api_for(personas.staff_a)
    response = api.post(
        reverse("rectification-list"),
        {
            "branch": tree.village_a2.code,
            "criterion": "EC-02",
            "period": "2026-03",
            "problem": "卫生厕所普及率 85% < 90%",
            "deadline": DEADLINE,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert_documented(schema, response)
    body = response.json()
    assert (body["criterion_code"], body["source"], body["status"]) == (
        "EC-02",
        "SCORECARD",
        "OPEN",
    )
    pk = body["id"]
    response = api.post(detail(pk, "start"), {"version": 1}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "IN_PROGRESS"
    response = api.post(detail(pk, "close"), {"version": 2}, format="json")
    assert response.status_code == 400
    assert_documented(schema, response)
    assert "须提供佐证" in response.content.decode()
    upload = SimpleUploadedFile("照片.pdf", b"%PDF-1.4 evidence")
    response = api.post(detail(pk, "evidence"), {"files": [upload]}, format="multipart")
    assert response.status_code == 201, response.content
    assert_documented(schema, response)
    download = api.get(response.json()[0]["download_url"])
    assert download.status_code == 200
    version = api.get(detail(pk)).json()["version"]
    response = api.post(detail(pk, "close"), {"version": version}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "DONE"
    assert_documented(schema, response)
    events = api.get(detail(pk, "events")).json()["results"]
    assert [e["action"] for e in events] == ["CREATED", "STARTED", "EVIDENCE_ADDED", "CLOSED"]


def test_a_stale_version_answers_409(item, personas, schema):
    api = api_for(personas.staff_a)
    api.patch(detail(item.pk), {"version": 1, "measure": "挂牌"}, format="json")
    response = api.patch(detail(item.pk), {"version": 1, "measure": "另一个"}, format="json")
    assert response.status_code == 409
    assert_documented(schema, response)
    assert response.json()["version"] == 2


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"problem": ""}, "problem"),
        ({"deadline": "2026-04-01"}, "non_field_errors"),
        ({"deadline": "tomorrow"}, "deadline"),
        ({"criterion": "NOPE-1"}, "criterion"),
        ({"period": "2026-13"}, "period"),
        ({"branch": "999"}, "branch"),
        ({"problem": "x\x00y"}, "problem"),
    ],
)
def test_bad_input_is_a_400_saying_what_to_fix(tree, personas, schema, data, field):
    payload = {"branch": tree.village_a2.code, "problem": "问题", "deadline": DEADLINE, **data}
    response = api_for(personas.staff_a).post(reverse("rectification-list"), payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert_documented(schema, response)


def test_huge_and_odd_ids_are_404(personas):
    api = api_for(personas.admin)
    assert api.get("/api/v1/rectifications/99999999999/").status_code == 404
    assert api.get("/api/v1/rectifications/abc/").status_code == 404
    assert api.get("/api/v1/rectifications/1/evidence/99999999999/").status_code == 404


def test_filters(item, tree, personas, april_third):
    other = rect.rectification_open(
        user=personas.staff_a, branch=tree.village_a2, problem="x", deadline=date(2026, 4, 4)
    )
    april_third.move_to("2026-04-06 10:00 +0800")
    api = api_for(personas.county_leader)

    def ids(**params):
        response = api.get(reverse("rectification-list"), params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    # Overdue by its deadline even before the daily job ran.
    assert ids(status="OVERDUE") == [other.pk]
    assert ids(overdue="true") == [other.pk]
    assert ids(status="OPEN") == [item.pk]
    assert ids(branch=tree.village_a1.code) == [item.pk]
    assert ids(under=tree.township_b.code) == []
    assert ids(deadline_from="2026-04-10") == [item.pk]
    assert ids(still_failing="true") == []
    assert api.get(reverse("rectification-list"), {"status": "LOST"}).status_code == 400
    assert api.get(reverse("rectification-list"), {"under": "9" * 50}).status_code == 400


# The permission matrix: read (list and detail), create, start, outside the jurisdiction.

EXPECTED = {
    # persona: (list sees the item, detail, create, start, the other county's item)
    "admin": (True, 200, 201, 200, 200),
    "province_leader": (True, 200, 201, 200, 200),
    "county_leader": (True, 200, 201, 200, 404),
    "staff_a": (True, 200, 201, 200, 404),
    "staff_b": (False, 404, 400, 404, 404),
    "secretary": (True, 200, 403, 200, 404),
    "auditor": (True, 200, 403, 403, 404),
    "grid_worker": (False, 403, 403, 403, 403),
}


@pytest.mark.parametrize("persona", PERSONA_NAMES)
def test_permission_matrix(persona, item, tree, personas, schema):
    user = getattr(personas, persona)
    elsewhere = rect.rectification_open(
        user=personas.admin, branch=tree.village_other, problem="x", deadline=date(2026, 4, 30)
    )
    listed, read, create, start, outside = EXPECTED[persona]
    api = api_for(user)
    response = api.get(reverse("rectification-list"))
    assert_documented(schema, response)
    if persona == "grid_worker":
        assert response.status_code == 403
    else:
        assert (item.pk in [r["id"] for r in response.json()["results"]]) == listed
    response = api.get(detail(item.pk))
    assert response.status_code == read
    assert_documented(schema, response)
    response = api.post(
        reverse("rectification-list"),
        {"branch": tree.village_a1.code, "problem": "问题", "deadline": DEADLINE},
        format="json",
    )
    assert response.status_code == create, response.content
    assert_documented(schema, response)
    response = api.post(detail(item.pk, "start"), {"version": 1}, format="json")
    assert response.status_code == start, response.content
    assert_documented(schema, response)
    assert api.get(detail(elsewhere.pk)).status_code == outside
