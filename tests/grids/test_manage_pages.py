"""The pages that keep grids, workers, households and building heads, and add event photos:
township staff in their township; read-only roles 403; outside the jurisdiction 404."""

import pytest
from django.urls import reverse

from grids.models import GridEvent, GridEventStep
from grids.services import events as event_service
from tests.branches.evidence_samples import png, upload


@pytest.fixture
def event(grids, personas):
    return event_service.event_report(
        user=personas.grid_worker, grid=grids.a1, category="FACILITY", description="路灯坏了"
    )


def _photo_url(event):
    return reverse("grids:event_photo_add", args=[event.number])


def test_the_reporter_and_the_township_add_photos_after_reporting(grids, personas, event, login):
    page = login(personas.grid_worker).get(reverse("grids:event_detail", args=[event.number]))
    assert page.context["may_add_photo"] and "补充照片" in page.content.decode()
    response = login(personas.grid_worker).post(
        _photo_url(event), {"photo": upload("现场.png", png())}
    )
    assert response.status_code == 302
    response = login(personas.staff_a).post(_photo_url(event), {"photo": upload("复查.png", png())})
    assert response.status_code == 302
    assert sorted(event.photos.values_list("original_name", flat=True)) == ["复查.png", "现场.png"]
    assert event.steps.filter(action=GridEventStep.Action.PHOTO_ADDED).count() == 2
    body = login(personas.staff_a).get(reverse("grids:event_detail", args=[event.number]))
    assert "复查.png" in body.content.decode()


def test_read_only_roles_and_bystanders_may_not_add_photos(grids, personas, event, login):
    for persona, status in [("auditor", 403), ("county_leader", 403), ("secretary", 403)]:
        client = login(getattr(personas, persona))
        page = client.get(reverse("grids:event_detail", args=[event.number]))
        assert not page.context["may_add_photo"], persona
        response = client.post(_photo_url(event), {"photo": upload("x.png", png())})
        assert response.status_code == status, persona
    response = login(personas.staff_b).post(_photo_url(event), {"photo": upload("x.png", png())})
    assert response.status_code == 404
    assert not event.photos.exists()


def test_a_refused_photo_says_why(grids, personas, event, login, settings):
    client = login(personas.grid_worker)
    response = client.post(_photo_url(event), {"photo": upload("假图片.png", b"not an image")})
    assert response.status_code == 400 and "假图片.png" in response.content.decode()
    response = client.post(_photo_url(event), {"photo": upload("病毒.exe", b"MZ")})
    assert response.status_code == 400 and "类型不受支持" in response.content.decode()
    settings.EVIDENCE_MAX_BYTES = 10  # png() is a few dozen bytes
    response = client.post(_photo_url(event), {"photo": upload("大图.png", png())})
    assert response.status_code == 400 and "文件过大" in response.content.decode()
    assert not event.photos.exists()


def test_no_photos_once_the_event_is_over(grids, personas, event, login):
    event_service.event_return(event=event, user=personas.staff_a, reason="不属于网格事项")
    client = login(personas.grid_worker)
    assert not client.get(reverse("grids:event_detail", args=[event.number])).context[
        "may_add_photo"
    ]
    response = client.post(_photo_url(event), {"photo": upload("现场.png", png())})
    assert response.status_code == 400 and "事件已结束" in response.content.decode()
    assert GridEvent.objects.get(pk=event.pk).photos.count() == 0
