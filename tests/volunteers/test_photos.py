import pytest
from django.urls import reverse

from tests.branches.evidence_samples import pdf, png, upload
from volunteers.models import Activity, ActivityPhoto

pytestmark = pytest.mark.usefixtures("april_third")


def _post(client, team, place, *photos):
    return client.post(
        reverse("volunteers:activity_record", args=[team.pk]),
        {
            "title": "清洁家园",
            "kind": "ENVIRONMENT",
            "date": "2026-04-02",
            "start_time": "09:00",
            "end_time": "11:00",
            "place": place.code,
            "people_served": "10",
            "photos": list(photos),
        },
    )


def test_a_photo_whose_content_is_not_an_image_is_refused(personas, login, tree, vol):
    client = login(personas.staff_a)
    response = _post(client, vol.team, tree.village_a1, upload("现场.jpg", pdf()))
    assert response.status_code == 400 and "现场.jpg" in response.content.decode()
    response = _post(client, vol.team, tree.village_a1, upload("名单.pdf", pdf()))
    assert response.status_code == 400 and "只接受 jpg、png" in response.content.decode()
    assert not Activity.objects.exists() and not ActivityPhoto.objects.exists()


def test_a_real_photo_is_kept_and_read_in_scope_only(personas, login, tree, vol):
    client = login(personas.staff_a)
    assert _post(client, vol.team, tree.village_a1, upload("现场.png", png())).status_code == 302
    photo = ActivityPhoto.objects.get()
    page = client.get(reverse("volunteers:activity_detail", args=[photo.activity_id]))
    url = reverse("volunteers:activity_photo", args=[photo.activity_id, photo.pk])
    assert url in page.content.decode()
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == png()
    assert login(personas.staff_b).get(url).status_code == 404
    other = reverse("volunteers:activity_photo", args=[photo.activity_id, photo.pk + 1])
    assert client.get(other).status_code == 404
