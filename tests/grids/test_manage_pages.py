"""The pages that keep grids, workers, households and building heads, and add event photos:
township staff in their township; read-only roles 403; outside the jurisdiction 404."""

import pytest
from django.urls import reverse

from branches.models import OrgUnit
from governance.models import User
from grids.models import (
    BuildingHead,
    Grid,
    GridAssignment,
    GridEvent,
    GridEventStep,
    GridWorker,
    Household,
)
from grids.services import events as event_service
from grids.services import grids as grid_service
from tests.branches.evidence_samples import png, upload
from tests.governance.factories import UserFactory


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


def test_a_photo_opens_for_whoever_reads_the_event_only(grids, personas, event, login):
    login(personas.grid_worker).post(_photo_url(event), {"photo": upload("现场.png", png())})
    photo = event.photos.get()
    url = reverse("grids:event_photo", args=[event.number, photo.pk])
    page = login(personas.staff_a).get(reverse("grids:event_detail", args=[event.number]))
    assert f'href="{url}"' in page.content.decode()
    for persona, status in [("staff_a", 200), ("auditor", 200), ("staff_b", 404)]:
        response = login(getattr(personas, persona)).get(url)
        assert response.status_code == status, persona
        if status == 200:
            assert b"".join(response.streaming_content) == png()
            assert response["Content-Type"] == "image/png"
    other = reverse("grids:event_photo", args=[event.number, photo.pk + 1])
    assert login(personas.staff_a).get(other).status_code == 404


def test_a_refused_photo_says_why(grids, personas, event, login, settings):
    client = login(personas.grid_worker)
    response = client.post(_photo_url(event), {"photo": upload("假图片.png", b"not an image")})
    assert response.status_code == 400 and "假图片.png" in response.content.decode()
    response = client.post(_photo_url(event), {"photo": upload("病毒.exe", b"MZ")})
    assert response.status_code == 400 and "不是照片" in response.content.decode()
    response = client.post(_photo_url(event), {"photo": upload("说明.docx", b"PK")})
    assert response.status_code == 400
    assert "请上传 jpg、png 或 pdf 文件" in response.content.decode()
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


def test_township_staff_create_a_grid_from_their_own_places(grids, tree, personas, login):
    client = login(personas.staff_a)
    assert "新建网格" in client.get(reverse("grids:grid_list")).content.decode()
    form = client.get(reverse("grids:grid_create")).context["form"]
    units = set(form.fields["unit"].queryset)
    assert {tree.village_a1, tree.village_a2, tree.compound_a1} == units
    assert set(form.fields["buildings"].queryset) == {tree.building_a1}
    response = client.post(
        reverse("grids:grid_create"),
        {"unit": tree.village_a2.pk, "code": "G-A2-02", "name": "西流二组", "party_group": ""},
    )
    assert response.status_code == 302 and response["Location"].endswith("/G-A2-02/")
    grid = Grid.objects.get(code="G-A2-02")
    assert grid.unit == tree.village_a2 and grid.name == "西流二组"


def test_a_refused_grid_says_why_and_keeps_what_was_typed(grids, tree, personas, login):
    client = login(personas.staff_a)
    url = reverse("grids:grid_create")
    overlap = client.post(
        url,
        {
            "unit": tree.village_a1.pk,
            "code": "G-A1-09",
            "name": "建设九网格",
            "buildings": [tree.building_a1.pk],
        },
    )
    body = overlap.content.decode()
    assert overlap.status_code == 400
    assert "楼栋“1号楼”已划入网格“锦绣一网格”：同一村(社区)的网格不能重叠。" in body
    assert "建设九网格" in body and "G-A1-09" in body
    taken = client.post(url, {"unit": tree.village_a2.pk, "code": "G-B1-01", "name": "重复"})
    assert taken.status_code == 400 and "网格编码“G-B1-01”已被使用" in taken.content.decode()
    blank = client.post(url, {"unit": tree.village_a2.pk, "code": "G-A2-05", "name": " "})
    assert blank.status_code == 400 and "请填写“网格名称”" in blank.content.decode()
    outside = client.post(url, {"unit": tree.village_b1.pk, "code": "G-B1-05", "name": "外面"})
    assert outside.status_code == 400 and "有效的选项" in outside.content.decode()
    assert not Grid.objects.filter(code__in=["G-A1-09", "G-A2-05", "G-B1-05"]).exists()


def test_township_staff_edit_a_grid_in_place(grids, tree, personas, login):
    client = login(personas.staff_a)
    url = reverse("grids:grid_edit", args=[grids.a1.code])
    assert "编辑" in client.get(reverse("grids:grid_detail", args=[grids.a1.code])).content.decode()
    form = client.get(url).context["form"]
    assert form.initial["buildings"] == [tree.building_a1.pk]
    response = client.post(
        url,
        {
            "unit": tree.village_a2.pk,  # ignored: the place of a grid stays
            "code": "G-A1-01",
            "name": "锦绣网格",
            "party_group": "锦绣党小组",
        },
    )
    assert response.status_code == 302
    grids.a1.refresh_from_db()
    assert grids.a1.unit == tree.compound_a1 and grids.a1.name == "锦绣网格"
    assert grids.a1.party_group == "锦绣党小组" and not grids.a1.buildings.exists()
    other = client.post(
        reverse("grids:grid_edit", args=[grids.a2.code]),
        {"code": "G-A1-01", "name": "西流一组"},
    )
    assert other.status_code == 400 and "网格编码“G-A1-01”已被使用" in other.content.decode()
    grids.a2.refresh_from_db()
    assert grids.a2.code == "G-A2-01"


def test_an_edit_cannot_take_a_building_of_another_grid(grids, tree, personas, login):
    second = grid_service.grid_create(
        user=personas.admin, unit=tree.village_a1, code="G-A1-02", name="建设二网格"
    )
    client = login(personas.staff_a)
    response = client.post(
        reverse("grids:grid_edit", args=[second.code]),
        {"code": second.code, "name": "建设二网格改", "buildings": [tree.building_a1.pk]},
    )
    body = response.content.decode()
    assert response.status_code == 400 and "同一村(社区)的网格不能重叠" in body
    assert "建设二网格改" in body
    second.refresh_from_db()
    assert second.name == "建设二网格" and not second.buildings.exists()


def test_township_staff_enlist_and_assign_a_worker_from_the_grid_page(grids, tree, personas, login):
    account = UserFactory(username="wangge2", role=User.Role.GRID_WORKER, unit=tree.village_a1)
    elsewhere = UserFactory(username="wangge3", role=User.Role.GRID_WORKER, unit=tree.village_b1)
    client = login(personas.staff_a)
    url = reverse("grids:worker_create", args=[grids.a1.code])
    accounts = set(client.get(url).context["form"].fields["account"].queryset)
    # The persona grid worker is linked already; township B's account is not offered.
    assert accounts == {account} and elsewhere not in accounts
    response = client.post(
        url,
        {"name": "陈晓", "kind": "PART_TIME", "phone": "13700001111", "account": account.pk},
    )
    assert response.status_code == 302
    worker = GridWorker.objects.get(name="陈晓")
    assert worker.unit == tree.village_a1 and worker.user == account
    assert GridAssignment.objects.current().filter(worker=worker, grid=grids.a1).exists()
    page = client.get(reverse("grids:grid_detail", args=[grids.a1.code])).content.decode()
    assert "陈晓" in page and "取消分配" in page


def test_a_refused_worker_says_why(grids, personas, login):
    client = login(personas.staff_a)
    url = reverse("grids:worker_create", args=[grids.a1.code])
    response = client.post(url, {"name": "陈晓", "kind": "PART_TIME", "phone": "12345"})
    body = response.content.decode()
    assert response.status_code == 400 and "手机号/电话“12345”格式不对" in body and "陈晓" in body
    response = client.post(url, {"name": "", "kind": "PART_TIME"})
    assert response.status_code == 400 and "请填写“姓名”" in response.content.decode()
    assert not GridWorker.objects.filter(name="陈晓").exists()
    assert login(personas.auditor).post(url, {"name": "X", "kind": "PART_TIME"}).status_code == 403
    outside = login(personas.staff_b).post(url, {"name": "X", "kind": "PART_TIME"})
    assert outside.status_code == 404


def test_a_worker_is_assigned_and_unassigned_on_the_grid_page(grids, tree, personas, login):
    spare = grid_service.worker_create(user=personas.admin, unit=tree.village_a1, name="周强")
    other_village = grid_service.worker_create(
        user=personas.admin, unit=tree.village_a2, name="吴刚"
    )
    client = login(personas.staff_a)
    detail = reverse("grids:grid_detail", args=[grids.a1.code])
    offered = set(client.get(detail).context["assign_form"].fields["worker"].queryset)
    assert offered == {spare}  # not the one already assigned, not another village's
    assign = reverse("grids:worker_assign", args=[grids.a1.code])
    refused = client.post(assign, {"worker": other_village.pk})
    assert refused.status_code == 400 and "有效的选项" in refused.content.decode()
    assert client.post(assign, {"worker": spare.pk}).status_code == 302
    assignment = GridAssignment.objects.current().get(worker=spare, grid=grids.a1)
    unassign = reverse("grids:worker_unassign", args=[grids.a1.code, assignment.pk])
    assert login(personas.auditor).post(unassign).status_code == 403
    assert login(personas.grid_worker).post(unassign).status_code == 403
    assert login(personas.staff_b).post(unassign).status_code == 404
    assert login(personas.staff_b).post(assign, {"worker": spare.pk}).status_code == 404
    assert login(personas.staff_a).post(unassign).status_code == 302
    assignment.refresh_from_db()
    assert assignment.ended_on is not None
    # Once ended it is no longer on the page to end again.
    assert login(personas.staff_a).post(unassign).status_code == 404
    other = reverse(
        "grids:worker_unassign", args=[grids.a2.code, grids.worker.assignments.get().pk]
    )
    assert login(personas.staff_a).post(other).status_code == 404  # not this grid's


def _household_data(**changes):
    data = {
        "address_building": "1号楼",
        "address_unit": "2",
        "address_room": "201",
        "head_name": "孙丽",
        "phone": "13600002222",
        "member_count": "3",
        "care_tags": ["HARDSHIP"],
    }
    return data | changes


def test_township_staff_add_one_household_by_form(grids, tree, personas, login):
    client = login(personas.staff_a)
    url = reverse("grids:household_create", args=[grids.a1.code])
    form = client.get(url).context["form"]
    assert set(form.fields["building"].queryset) == {tree.building_a1}
    assert set(form.fields["worker"].queryset) == {grids.worker}
    assert "身份证" not in "".join(form.fields)
    response = client.post(
        url, _household_data(building=tree.building_a1.pk, worker=grids.worker.pk)
    )
    household = Household.objects.get(head_name="孙丽")
    assert response.status_code == 302
    assert response["Location"] == reverse("grids:household_detail", args=[household.pk])
    assert household.grid == grids.a1 and household.address == "1号楼-2-201"
    assert household.care_tags == ["HARDSHIP"] and household.member_count == 3
    assert household.worker == grids.worker and household.building == tree.building_a1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"phone": "138-00"}, "手机号/电话“138-00”格式不对"),
        ({"head_name": " "}, "请填写“户主姓名”"),
        ({"address_room": "101", "address_unit": "1"}, "该网格中已有地址为“1号楼-1-101”的住户"),
        ({"member_count": "31"}, "家庭人数应为 1 到 30 之间的整数"),
        ({"member_count": "三"}, "家庭人数请填写整数"),
    ],
)
def test_a_refused_household_says_why_and_keeps_what_was_typed(
    changes, message, grids, personas, login
):
    client = login(personas.staff_a)
    url = reverse("grids:household_create", args=[grids.a1.code])
    response = client.post(url, _household_data(**changes))
    body = response.content.decode()
    assert response.status_code == 400 and message in body
    assert "13600002222" in body or "phone" in changes
    assert not Household.objects.filter(head_name="孙丽").exists()


def test_only_the_township_adds_households_in_its_grids(grids, personas, login):
    url = reverse("grids:household_create", args=[grids.a1.code])
    for persona in ("auditor", "county_leader", "secretary", "grid_worker"):
        assert login(getattr(personas, persona)).post(url, _household_data()).status_code == 403
    assert login(personas.staff_b).post(url, _household_data()).status_code == 404
    assert not Household.objects.filter(head_name="孙丽").exists()


def test_township_staff_edit_a_household(grids, personas, login):
    client = login(personas.staff_a)
    detail = reverse("grids:household_detail", args=[grids.h_a1.pk])
    assert (
        reverse("grids:household_edit", args=[grids.h_a1.pk]) in client.get(detail).content.decode()
    )
    url = reverse("grids:household_edit", args=[grids.h_a1.pk])
    form = client.get(url).context["form"]
    assert form.initial["head_name"] == "张建华" and form.initial["worker"] == grids.worker.pk
    response = client.post(
        url,
        {
            "address_building": "1号楼",
            "address_unit": "1",
            "address_room": "101",
            "head_name": "张建国",
            "phone": "",
            "member_count": "4",
            "care_tags": ["VETERAN"],
            "is_party_member_household": "on",
        },
    )
    assert response.status_code == 302
    grids.h_a1.refresh_from_db()
    assert grids.h_a1.head_name == "张建国" and grids.h_a1.member_count == 4
    assert grids.h_a1.care_tags == ["VETERAN"] and grids.h_a1.is_party_member_household
    assert grids.h_a1.phone == "" and grids.h_a1.worker is None and grids.h_a1.building is None
    clash = client.post(url, _household_data(address_room="102", address_unit="1"))
    body = clash.content.decode()
    assert clash.status_code == 400 and "该网格中已有地址为“1号楼-1-102”的住户" in body
    assert "孙丽" in body
    grids.h_a1.refresh_from_db()
    assert grids.h_a1.head_name == "张建国"
    assert login(personas.auditor).post(url, _household_data()).status_code == 403
    assert login(personas.staff_b).post(url, _household_data()).status_code == 404


def test_township_staff_appoint_a_building_head(grids, tree, personas, login):
    client = login(personas.staff_a)
    detail = reverse("grids:grid_detail", args=[grids.a1.code])
    url = reverse("grids:building_head_create", args=[grids.a1.code])
    assert url in client.get(detail).content.decode()
    form = client.get(url).context["form"]
    assert set(form.fields["building"].queryset) == {tree.building_a1}
    assert set(form.fields["household"].queryset) == {grids.h_a1}
    response = client.post(
        url,
        {
            "building": tree.building_a1.pk,
            "title": "STAIRWAY",
            "name": "张建华",
            "phone": "13912345678",
            "household": grids.h_a1.pk,
            "selected_on": "2026-01-05",
            "term_end": "2028-12-31",
        },
    )
    assert response.status_code == 302
    head = BuildingHead.objects.get()
    assert head.building == tree.building_a1 and head.get_title_display() == "楼道长"
    assert head.household == grids.h_a1
    assert "楼道长 张建华" in client.get(detail).content.decode()


def test_a_refused_building_head_says_why(grids, tree, personas, login):
    client = login(personas.staff_a)
    url = reverse("grids:building_head_create", args=[grids.a1.code])
    data = {
        "building": tree.building_a1.pk,
        "title": "BUILDING",
        "name": "钱多多",
        "selected_on": "2026-01-05",
        "term_end": "2025-12-31",
    }
    response = client.post(url, data)
    body = response.content.decode()
    assert (
        response.status_code == 400 and "任期截止日期不能早于选任日期" in body and "钱多多" in body
    )
    response = client.post(url, data | {"term_end": "", "phone": "110"})
    assert response.status_code == 400 and "格式不对" in response.content.decode()
    outside = client.post(url, data | {"building": OrgUnit.objects.get(code="410102002001").pk})
    assert outside.status_code == 400 and "有效的选项" in outside.content.decode()
    assert not BuildingHead.objects.exists()
    assert login(personas.auditor).post(url, data).status_code == 403
    assert login(personas.staff_b).post(url, data).status_code == 404
    # A grid without buildings has nobody to appoint, and says where to add them.
    page = login(personas.staff_a).get(reverse("grids:building_head_create", args=[grids.a2.code]))
    assert "请先在“编辑网格”中选择楼栋" in page.content.decode()


def test_the_grid_overview_is_titled_for_who_reads_it(grids, personas, login):
    url = reverse("grids:my_grids")
    page = login(personas.auditor).get(url)
    body = page.content.decode()
    assert page.status_code == 200 and "<title>辖区网格概览" in body
    assert "我的网格" not in body and "您还没有分配网格" not in body
    assert grids.a1.name in body and grids.b1.name in body
    worker = login(personas.grid_worker).get(url).content.decode()
    assert "<title>我的网格" in worker and grids.a1.name in worker


def test_an_empty_jurisdiction_says_so_not_that_no_grid_was_assigned(tree, personas, login):
    body = login(personas.auditor).get(reverse("grids:my_grids")).content.decode()
    assert "您的管辖范围内还没有网格。" in body and "您还没有分配网格" not in body
    worker = login(personas.grid_worker).get(reverse("grids:my_grids")).content.decode()
    assert "您还没有分配网格，请联系乡镇工作人员。" in worker
