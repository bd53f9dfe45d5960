"""转为纠纷案件: a reported grid event that is a dispute opens a case in one form; the case
names the event and its grid, the event records the step and shows the case."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from disputes import services
from disputes.models import DisputeCase
from grids.models import GridEvent
from grids.services import events as event_service
from tests.grids.conftest import grids  # noqa: F401

pytestmark = pytest.mark.usefixtures("april_third")


@pytest.fixture
def event(grids, personas):  # noqa: F811
    return event_service.event_report(
        user=personas.grid_worker,
        grid=grids.a1,
        category=GridEvent.Category.DISPUTE,
        description="3号楼两户因漏水发生争吵，需调解。",
    )


def test_staff_turn_the_event_into_a_case_from_its_page(event, grids, personas, login, tree):  # noqa: F811
    client = login(personas.staff_a)
    page = client.get(reverse("grids:event_detail", args=[event.number])).content.decode()
    form_url = f"{reverse('disputes:case_create')}?event={event.number}"
    assert "转为纠纷案件" in page and form_url in page
    form = client.get(form_url).content.decode()
    assert "3号楼两户因漏水发生争吵" in form and event.number in form
    response = client.post(
        reverse("disputes:case_create"),
        {
            "event": event.number,
            "unit": tree.compound_a1.code,
            "category": DisputeCase.Category.NEIGHBOUR,
            "source": DisputeCase.Source.GRID,
            "risk": DisputeCase.Risk.LOW,
            "received_on": "2026-04-03",
            "summary": "3号楼两户因漏水发生争吵，需调解。",
            "party0_name": "张三",
            "party0_role": "APPLICANT",
            "party1_role": "RESPONDENT",
            "party2_role": "RESPONDENT",
        },
    )
    case = DisputeCase.objects.get()
    assert response.status_code == 302, response.content.decode()[:2000]
    assert (case.grid_event, case.grid) == (event, grids.a1)
    event.refresh_from_db()
    assert event.status == GridEvent.Status.CONVERTED
    assert event.converted_reference == case.number
    page = client.get(reverse("grids:event_detail", args=[event.number])).content.decode()
    assert case.number in page and "已转为纠纷案件" in page
    detail = client.get(reverse("disputes:case_detail", args=[case.number])).content.decode()
    assert f"网格事件 {event.number}" in detail


def test_an_event_becomes_one_case_only(event, personas, tree):
    def convert():
        return services.case_create(
            user=personas.staff_a,
            unit=tree.compound_a1,
            category=DisputeCase.Category.NEIGHBOUR,
            source=DisputeCase.Source.GRID,
            summary="漏水纠纷",
            received_on=event.reported_at.date(),
            grid_event=event,
        )

    convert()
    event.refresh_from_db()
    with pytest.raises(ValidationError, match="已转为纠纷案件"):
        convert()
    assert DisputeCase.objects.count() == 1


def test_the_case_must_arise_in_the_events_village(event, personas, tree):
    with pytest.raises(ValidationError, match="须在该网格事件所在的村"):
        services.case_create(
            user=personas.staff_a,
            unit=tree.village_a2,
            category=DisputeCase.Category.NEIGHBOUR,
            source=DisputeCase.Source.GRID,
            summary="漏水纠纷",
            received_on=event.reported_at.date(),
            grid_event=event,
        )
    event.refresh_from_db()
    assert event.status == GridEvent.Status.REPORTED


def test_readers_and_outsiders_get_no_button(event, personas, login):
    url = reverse("grids:event_detail", args=[event.number])
    assert "转为纠纷案件" not in login(personas.auditor).get(url).content.decode()
    assert login(personas.staff_b).get(url).status_code == 404
    form = f"{reverse('disputes:case_create')}?event={event.number}"
    assert login(personas.staff_b).get(form).status_code == 404


def test_the_api_turns_an_event_into_a_case_and_names_it(event, personas, client, tree):
    client.force_login(personas.staff_a)
    response = client.post(
        "/api/v1/disputes/cases/",
        {
            "unit": tree.compound_a1.code,
            "category": "NEIGHBOUR",
            "source": "GRID",
            "summary": "漏水纠纷",
            "received_on": "2026-04-03",
            "grid_event": event.number,
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["grid_event"] == event.number
    assert response.json()["grid_code"] == "G-A1-01"
    listed = client.get("/api/v1/disputes/cases/").json()["results"]
    assert [row["grid_event"] for row in listed] == [event.number]
