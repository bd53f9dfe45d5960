"""The grids pages: the permission matrix, masking, the phone flow, query counts."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from grids.models import GridEvent, Visit
from grids.services import events as event_service


@pytest.fixture
def event(grids, personas):
    return event_service.event_report(
        user=personas.grid_worker, grid=grids.a1, category="FACILITY", description="路灯坏了"
    )


def _urls(grids, event):
    return {
        "grid_list": reverse("grids:grid_list"),
        "grid_a1": reverse("grids:grid_detail", args=[grids.a1.code]),
        "grid_b1": reverse("grids:grid_detail", args=[grids.b1.code]),
        "my_grids": reverse("grids:my_grids"),
        "household_a1": reverse("grids:household_detail", args=[grids.h_a1.pk]),
        "household_a2": reverse("grids:household_detail", args=[grids.h_a2.pk]),
        "unvisited": reverse("grids:households_unvisited"),
        "import": reverse("grids:household_import"),
        "visits": reverse("grids:visit_list"),
        "visit_new": reverse("grids:visit_create"),
        "events": reverse("grids:event_list"),
        "event_new": reverse("grids:event_create"),
        "event": reverse("grids:event_detail", args=[event.number]),
        "hazards": reverse("grids:hazard_list"),
        "hazard_new": reverse("grids:hazard_create"),
        "ledger": reverse("grids:grid_export", args=["GRID_LEDGER"]),
        "grid_new": reverse("grids:grid_create"),
        "grid_edit": reverse("grids:grid_edit", args=[grids.a1.code]),
        "worker_new": reverse("grids:worker_create", args=[grids.a1.code]),
        "household_new": reverse("grids:household_create", args=[grids.a1.code]),
        "household_edit": reverse("grids:household_edit", args=[grids.h_a1.pk]),
        "head_new": reverse("grids:building_head_create", args=[grids.a1.code]),
    }


# The pages that keep grids: the township's (403 in scope for any other role, 404 outside).
KEEPING = ["grid_edit", "worker_new", "household_new", "household_edit", "head_new"]
REFUSED = dict.fromkeys(["grid_new", *KEEPING], 403)


# role: the pages it gets 200 on; everything else in the list answers 403 or 404 as given.
MATRIX = {
    "grid_worker": {
        "grid_b1": 404, "household_a2": 404, "import": 403, **REFUSED,
    },
    "staff_a": {"grid_b1": 404},
    "staff_b": {
        "grid_a1": 404, "household_a1": 404, "household_a2": 404, "event": 404,
        **dict.fromkeys(KEEPING, 404),
    },
    "county_leader": {
        "import": 403, "visit_new": 403, "event_new": 403, "hazard_new": 403, **REFUSED,
    },
    "auditor": {
        "import": 403, "visit_new": 403, "event_new": 403, "hazard_new": 403, **REFUSED,
    },
    "secretary": {
        "grid_b1": 404, "household_a2": 404, "import": 403, "visit_new": 403, **REFUSED,
    },
    "admin": {},
}  # fmt: skip


@pytest.mark.parametrize("role", sorted(MATRIX))
def test_permission_matrix(role, grids, personas, event, login):
    client = login(getattr(personas, role))
    for name, url in _urls(grids, event).items():
        expected = MATRIX[role].get(name, 200)
        status = client.get(url).status_code
        assert status == expected, f"{role} GET {name}: {status} != {expected}"


def test_anonymous_users_are_sent_to_login(client, grids, event):
    for url in _urls(grids, event).values():
        assert client.get(url).status_code == 302


def test_lists_mask_names_for_leaders_and_show_them_to_handlers(grids, personas, login):
    url = reverse("grids:grid_detail", args=[grids.a1.code])
    page = login(personas.county_leader).get(url).content.decode()
    assert "张*华" in page and "张建华" not in page
    detail = login(personas.county_leader).get(
        reverse("grids:household_detail", args=[grids.h_a1.pk])
    )
    assert "张建华" in detail.content.decode() and "13912345678" in detail.content.decode()
    assert "张建华" in login(personas.staff_a).get(url).content.decode()


def test_exports_mask_like_the_lists(grids, personas, login):
    url = reverse("grids:grid_export", args=["GRID_LEDGER"]) + "?format=csv"
    leader = b"".join(login(personas.county_leader).get(url).streaming_content).decode()
    assert "张*华" in leader and "139****5678" in leader and "张建华" not in leader
    staff = b"".join(login(personas.staff_a).get(url).streaming_content).decode()
    assert "张建华" in staff and "王大山" in staff and "赵小明" not in staff
    worker = b"".join(login(personas.grid_worker).get(url).streaming_content).decode()
    assert "王大山" not in worker
    xlsx = login(personas.auditor).get(url.replace("csv", "xlsx"))
    assert xlsx.status_code == 200


def test_a_grid_worker_records_a_visit_in_a_few_taps(grids, personas, login):
    client = login(personas.grid_worker)
    form = client.get(reverse("grids:visit_create")).content.decode()
    assert "101" in form and "西流" not in form
    response = client.post(
        reverse("grids:visit_create"),
        {
            "household": grids.h_a1.pk,
            "purpose": "CARE",
            "visited_on": timezone.localdate().isoformat(),
        },
    )
    assert response.status_code == 302
    assert Visit.objects.get().household == grids.h_a1
    refused = client.post(
        reverse("grids:visit_create"),
        {"household": grids.h_a2.pk, "purpose": "CARE", "visited_on": timezone.localdate()},
    )
    assert refused.status_code == 400 and Visit.objects.count() == 1


def test_report_dispatch_and_close_through_the_pages(grids, personas, login):
    worker = login(personas.grid_worker)
    response = worker.post(
        reverse("grids:event_create"),
        {"grid": grids.a1.pk, "category": "SAFETY", "description": "楼道堆放杂物"},
    )
    event = GridEvent.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{event.number}/")
    staff = login(personas.staff_a)

    def act(client, action, **data):
        url = reverse("grids:event_action", args=[event.number, action])
        assert client.post(url, data).status_code == 302

    act(staff, "ACCEPTED")
    deadline = (timezone.localdate() + timedelta(days=3)).isoformat()
    act(staff, "DISPATCHED", assignee_user=personas.staff_a2.pk, deadline=deadline)
    page = staff.get(reverse("grids:event_detail", args=[event.number])).content.decode()
    assert "已派单" in page
    act(login(personas.staff_a2), "HANDLED", note="已清理")
    act(login(personas.grid_worker), "FEEDBACK", note="群众满意")
    act(login(personas.staff_a), "CLOSED")
    event.refresh_from_db()
    assert event.status == GridEvent.Status.CLOSED
    assert event.steps.count() == 6


def test_a_refused_step_says_why_and_keeps_what_was_typed(grids, tree, personas, event, login):
    client = login(personas.staff_a)
    client.post(reverse("grids:event_action", args=[event.number, "ACCEPTED"]))
    url = reverse("grids:event_action", args=[event.number, "DISPATCHED"])
    page = reverse("grids:event_detail", args=[event.number])
    # The pickers offer the township and its villages, and the people there who can act.
    form = client.get(page).context["dispatch_form"]
    units = list(form.fields["assignee_unit"].queryset)
    assert tree.township_a in units and tree.village_a1 in units
    assert tree.township_b not in units and tree.compound_a1 not in units
    people = set(form.fields["assignee_user"].queryset)
    assert {personas.staff_a, personas.staff_a2, personas.grid_worker} <= people
    assert not people & {personas.county_leader, personas.staff_b, personas.auditor}
    response = client.post(url, {"deadline": "2026-04-10", "note": "请尽快处理"})
    body = response.content.decode()
    assert response.status_code == 400 and "至少一项" in body and "请尽快处理" in body
    response = client.post(url, {"assignee_user": personas.staff_a2.pk, "deadline": "2026-04-01"})
    assert response.status_code == 400 and "办理期限不能早于今天" in response.content.decode()
    outside = client.post(url, {"assignee_user": personas.staff_b.pk, "deadline": "2026-04-10"})
    assert outside.status_code == 400 and "有效的选项" in outside.content.decode()
    event.refresh_from_db()
    assert event.status == GridEvent.Status.ACCEPTED
    returned = client.post(
        reverse("grids:event_action", args=[event.number, "RETURNED"]), {"note": " "}
    )
    assert returned.status_code == 400 and "退回原因" in returned.content.decode()


def test_an_illegal_action_shows_the_reason(grids, personas, event, login):
    client = login(personas.staff_a)
    url = reverse("grids:event_action", args=[event.number, "CLOSED"])
    response = client.post(url, follow=True)
    assert "只有“已反馈”的事件可以办结" in response.content.decode()
    assert login(personas.auditor).post(url).status_code == 403
    assert (
        login(personas.grid_worker)
        .post(reverse("grids:event_action", args=[event.number, "ACCEPTED"]))
        .status_code
        == 403
    )


def test_the_event_queue_filters(grids, personas, event, login):
    client = login(personas.staff_a)
    assert (
        event.number
        in client.get(reverse("grids:event_list") + "?status=REPORTED").content.decode()
    )
    assert (
        event.number
        not in client.get(reverse("grids:event_list") + "?status=CLOSED").content.decode()
    )
    assert (
        event.number not in client.get(reverse("grids:event_list") + "?overdue=on").content.decode()
    )


def test_the_grid_worker_home_shows_their_grids(grids, personas, login):
    page = login(personas.grid_worker).get(reverse("home")).content.decode()
    assert "我的网格" in page and grids.a1.name in page


@pytest.mark.parametrize(
    "name",
    [
        "grids:grid_list",
        "grids:event_list",
        "grids:households_unvisited",
        "grids:visit_list",
        "grids:hazard_list",
    ],
)
def test_list_pages_run_a_bounded_number_of_queries(
    name, grids, personas, login, django_assert_max_num_queries
):
    client = login(personas.staff_a)
    for n in range(5):
        event_service.event_report(
            user=personas.staff_a, grid=grids.a2, category="OTHER", description=f"事{n}"
        )
    with django_assert_max_num_queries(16):
        assert client.get(reverse(name)).status_code == 200


def test_the_home_page_lists_the_events_waiting_for_the_township(grids, personas, login):
    event_service.event_report(
        user=personas.grid_worker,
        grid=grids.a1,
        category=GridEvent.Category.FACILITY,
        description="3号楼路灯损坏",
    )
    home = login(personas.staff_a).get(reverse("home"))
    todo = {item.label: (item.count, item.url) for item in home.context["todo"]}
    queue = reverse("grids:event_list")
    assert todo["网格上报事件待受理"] == (1, f"{queue}?status=REPORTED")
    assert "网格上报事件待受理" in home.content.decode()
    # Township B's staff have nothing of A's; the grid worker does not handle events.
    for other in (personas.staff_b, personas.grid_worker):
        labels = [item.label for item in login(other).get(reverse("home")).context["todo"]]
        assert "网格上报事件待受理" not in labels


def test_the_hazard_page_says_why_a_step_was_refused(grids, personas, login):
    from grids.services import hazards as hazard_service
    from tests.branches.evidence_samples import png, upload

    hazard = hazard_service.hazard_record(
        user=personas.grid_worker,
        grid=grids.a1,
        place="1号楼楼道",
        kind="EBIKE",
        description="楼道内电动车充电",
        deadline=timezone.localdate() + timedelta(days=7),
        responsible_name="张建华",
    )
    staff = login(personas.staff_a)
    close = reverse("grids:hazard_close", args=[hazard.number])
    response = staff.post(close, {"note": "已劝离车辆"})
    body = response.content.decode()
    assert response.status_code == 400 and "须先上传整改佐证" in body and "已劝离车辆" in body
    evidence = reverse("grids:hazard_evidence", args=[hazard.number])
    response = staff.post(evidence, {"file": upload("假图片.png", b"not an image")})
    assert response.status_code == 400 and "假图片.png" in response.content.decode()
    assert staff.post(evidence, {"file": upload("现场.png", png())}).status_code == 302
    assert staff.post(close, {"note": "已劝离车辆"}).status_code == 302
    hazard.refresh_from_db()
    assert hazard.status == "CLOSED"
    again = staff.post(close, {"note": "再次销号"})
    assert again.status_code == 400 and "该隐患已销号" in again.content.decode()


def test_the_visit_log_export_makes_formulas_inert(grids, personas, login):
    Visit.objects.create(
        household=grids.h_a1,
        grid=grids.a1,
        visited_on=timezone.localdate(),
        purpose=Visit.Purpose.CARE,
        notes='=HYPERLINK("http://x.example","点我")',
    )
    url = reverse("grids:grid_export", args=["GRID_VISITS"]) + "?format=csv"
    text = b"".join(login(personas.staff_a).get(url).streaming_content).decode()
    assert "'=HYPERLINK(" in text
    assert ",=HYPERLINK(" not in text and '"=HYPERLINK(' not in text


def test_a_hazard_page_is_scoped_like_its_grid(grids, personas, login):
    from grids.services import hazards as hazard_service

    hazard = hazard_service.hazard_record(
        user=personas.grid_worker,
        grid=grids.a1,
        place="1号楼楼道",
        kind="FIRE",
        description="楼道堆放杂物",
        deadline=timezone.localdate() + timedelta(days=7),
        responsible_name="张建华",
    )
    url = reverse("grids:hazard_detail", args=[hazard.number])
    expected = {
        "grid_worker": 200, "staff_a": 200, "county_leader": 200, "auditor": 200,
        "admin": 200, "staff_b": 404,
    }  # fmt: skip
    for role, status in expected.items():
        got = login(getattr(personas, role)).get(url).status_code
        assert got == status, f"{role} GET hazard_detail: {got} != {status}"
    # Outside the jurisdiction the export leaves it out too.
    export = reverse("grids:grid_export", args=["GRID_HAZARDS"]) + "?format=csv"
    assert (
        hazard.number
        not in b"".join(login(personas.staff_b).get(export).streaming_content).decode()
    )
    assert hazard.number in b"".join(login(personas.staff_a).get(export).streaming_content).decode()
