import pytest
from rest_framework.test import APIClient

from tests.volunteers.conftest import record
from volunteers.services import activities, orders, points

pytestmark = pytest.mark.usefixtures("april_third")


@pytest.fixture
def api():
    def _as(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return _as


def test_lists_are_scoped(personas, api, tree, vol):
    record(personas.staff_a, vol.team, tree.village_a1, [(vol.member, "2")])
    for path in [
        "volunteer-teams",
        "volunteers",
        "volunteer-activities",
        "volunteer-attendance",
        "volunteer-points",
        "service-orders",
    ]:
        assert api(personas.staff_a).get(f"/api/v1/{path}/").status_code == 200, path
    names = {
        t["name"] for t in api(personas.staff_b).get("/api/v1/volunteer-teams/").json()["results"]
    }
    assert names == {"黄色保洁队"}
    people = api(personas.staff_a).get("/api/v1/volunteers/").json()["results"]
    assert {p["phone"] for p in people} == {"138****5678", "139****1111"}
    assert api(personas.staff_b).get(f"/api/v1/volunteers/{vol.member.pk}/").status_code == 404


def test_confirm_and_redeem_through_the_api(personas, api, tree, vol, settings):
    settings.VOLUNTEER_POINTS_PER_HOUR = 10
    activity = record(personas.staff_a, vol.team, tree.village_a1, [(vol.member, "3")])
    row = activity.attendances.get()
    response = api(personas.secretary).post(
        "/api/v1/volunteer-attendance/confirm/", {"ids": [row.pk]}, format="json"
    )
    assert response.status_code == 403
    response = api(vol.leader_user).post(
        "/api/v1/volunteer-attendance/confirm/", {"ids": [row.pk]}, format="json"
    )
    assert response.status_code == 200 and response.json() == {"confirmed": 1}
    url = f"/api/v1/volunteers/{vol.member.pk}/redeem/"
    ok = api(personas.staff_a).post(url, {"merchant": vol.merchant.pk, "points": 20}, format="json")
    assert ok.status_code == 201 and ok.json()["points"] == -20
    over = api(personas.staff_a).post(
        url, {"merchant": vol.merchant.pk, "points": 20}, format="json"
    )
    assert over.status_code == 400
    assert "积分不足" in over.json()["non_field_errors"][0]
    for bad in (0, -1, "x"):
        response = api(personas.staff_a).post(
            url, {"merchant": vol.merchant.pk, "points": bad}, format="json"
        )
        assert response.status_code == 400
    assert (
        api(personas.secretary)
        .post(url, {"merchant": vol.merchant.pk, "points": 1}, format="json")
        .status_code
        == 403
    )
    assert points.balance_of(vol.member) == 10
    ledger = api(personas.staff_a).get(f"/api/v1/volunteer-points/?volunteer={vol.member.pk}")
    assert [e["points"] for e in ledger.json()["results"]] == [-20, 30]


def test_an_order_through_the_api(personas, api, tree, vol):
    staff = api(personas.staff_a)
    created = staff.post(
        "/api/v1/service-orders/",
        {
            "unit": tree.compound_a1.code,
            "category": "REPAIR",
            "description": "修灯",
            "resident_name": "张",
            "resident_phone": "13700001234",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    order = created.json()
    assert order["resident_phone"] == "137****1234" and order["team"] is None
    base = f"/api/v1/service-orders/{order['id']}"
    assert staff.post(f"{base}/accept/", {}, format="json").status_code == 400
    response = staff.post(
        f"{base}/dispatch/", {"team": vol.team.pk, "deadline": "2026-04-05"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "DISPATCHED"
    assert api(vol.leader_user).post(f"{base}/accept/", {}, format="json").status_code == 200
    assert api(vol.leader_user).post(f"{base}/complete/", {}, format="json").status_code == 200
    assert staff.post(f"{base}/rate/", {"satisfaction": 6}, format="json").status_code == 400
    assert staff.post(f"{base}/rate/", {"satisfaction": 4}, format="json").status_code == 200
    steps = staff.get(f"{base}/steps/").json()["results"]
    assert [s["action"] for s in steps] == ["CREATED", "DISPATCHED", "ACCEPTED", "DONE", "RATED"]
    assert api(personas.staff_b).get(base + "/").status_code == 404
    overdue = staff.get("/api/v1/service-orders/?overdue=true").json()["count"]
    assert overdue == 0


@pytest.mark.parametrize(
    "path",
    [
        "volunteer-teams",
        "volunteers",
        "volunteer-activities",
        "volunteer-attendance",
        "volunteer-points",
        "service-orders",
    ],
)
def test_list_apis_have_a_bounded_number_of_queries(
    path, personas, api, tree, vol, django_assert_max_num_queries
):
    for n in range(5):
        a = record(
            personas.staff_a,
            vol.team,
            tree.village_a1,
            [(vol.member, "1"), (vol.leader, "1")],
            title=f"活动{n}",
        )
        activities.hours_confirm(
            user=personas.staff_a, attendance_ids=list(a.attendances.values_list("pk", flat=True))
        )
        orders.order_create(
            user=personas.staff_a,
            unit=tree.village_a1,
            category="OTHER",
            description="x",
            resident_name=f"居民{n}",
        )
    client = api(personas.staff_a)
    with django_assert_max_num_queries(6):
        assert client.get(f"/api/v1/{path}/").status_code == 200


def test_bulk_confirm_takes_json_only(personas, api):
    data = "&".join(f"ids={n}" for n in range(1, 1001))
    response = api(personas.staff_a).post(
        "/api/v1/volunteer-attendance/confirm/",
        data,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415


def test_pending_hours_are_returned_through_the_api_with_a_reason(personas, api, tree, vol):
    activity = record(personas.staff_a, vol.team, tree.village_a1, [(vol.member, "3")])
    row = activity.attendances.get()
    url = "/api/v1/volunteer-attendance/reject/"
    assert api(vol.leader_user).post(url, {"ids": [row.pk]}, format="json").status_code == 400
    assert (
        api(personas.secretary)
        .post(url, {"ids": [row.pk], "reason": "未到场"}, format="json")
        .status_code
        == 403
    )
    response = api(vol.leader_user).post(url, {"ids": [row.pk], "reason": "未到场"}, format="json")
    assert response.status_code == 200 and response.json() == {"rejected": 1}
    row.refresh_from_db()
    assert row.status == "REJECTED" and row.reject_reason == "未到场"
    assert points.balance_of(vol.member) == 0
    again = api(vol.leader_user).post(url, {"ids": [row.pk], "reason": "未到场"}, format="json")
    assert again.status_code == 400 and "已处理" in again.json()["non_field_errors"][0]
