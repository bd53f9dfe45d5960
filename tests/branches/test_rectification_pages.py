"""The rectification pages: list, detail with actions, open from a scorecard gap, edit, bulk
open, evidence download; the permission matrix of every page."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from branches.models import Rectification, RectificationEvidence
from branches.services import recompute
from branches.services import rectification as rect
from tests.branches.test_recompute import put_reports
from tests.conftest import PERSONA_NAMES

Status = Rectification.Status
MARCH = date(2026, 3, 1)

pytestmark = pytest.mark.usefixtures("april_third", "criteria")


@pytest.fixture
def item(tree, personas):
    """An open item of 建设路社区 (township A, the secretary's branch), with one file."""
    item = rect.rectification_open(
        user=personas.staff_a, branch=tree.village_a1, problem="党员活动室未挂牌",
        deadline=date(2026, 4, 30),
    )  # fmt: skip
    rect.rectification_evidence_add(
        item=item, user=personas.staff_a, uploads=[SimpleUploadedFile("牌.pdf", b"%PDF-1.4 x")]
    )
    item.refresh_from_db()
    return item


def test_opening_from_a_scorecard_gap_prefills_the_form(tree, personas, login, criteria):
    by_area = {s.area_type: s for s in criteria}
    put_reports(tree.village_a2, by_area, [1, 2, 3], **{"EC-02": Decimal(85)})
    recompute.ratings_recompute(period=MARCH)
    client = login(personas.staff_a)
    page = client.get(reverse("branches:scorecard", args=[tree.village_a2.code]))
    text = page.content.decode()
    link = f"{reverse('rectification_create')}?branch={tree.village_a2.code}&amp;criterion=EC-02"
    assert link in text
    assert "未完成 0 项" in text
    form = client.get(
        reverse("rectification_create"),
        {"branch": tree.village_a2.code, "criterion": "EC-02", "period": "2026-03"},
    )
    assert form.status_code == 200
    assert "卫生厕所普及率 85% &lt; 90%" in form.content.decode()
    response = client.post(
        reverse("rectification_create"),
        {
            "branch": tree.village_a2.code,
            "criterion": "EC-02",
            "period": "2026-03",
            "problem": "生态宜居星：卫生厕所普及率 85% < 90%",
            "deadline": "2026-04-30",
        },
    )
    item = Rectification.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("rectification_detail", args=[item.pk])
    assert (item.criterion.code, item.source, item.period) == ("EC-02", "SCORECARD", MARCH)
    # Read-only roles see no button.
    auditor_page = login(personas.auditor).get(
        reverse("branches:scorecard", args=[tree.village_a2.code])
    )
    assert reverse("rectification_create") not in auditor_page.content.decode()
    assert "未完成 1 项" in auditor_page.content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"problem": ""}, "请填写“问题”"),
        ({"deadline": "2026-04-01"}, "整改期限不能早于今天"),
        ({"deadline": "明天"}, "日期格式应为"),
        ({"branch": "410102001"}, "只针对村(社区)"),
        ({"branch": "410103001001"}, "不在您的管辖范围内"),
        ({"criterion": "XX-99"}, "没有编码为“XX-99”的指标"),
        ({"period": "2026-13"}, "月份超出范围"),
        ({"problem": "x" * 1001}, "1000"),
        ({"problem": "a\u202eb"}, "改变文字显示方向"),
    ],
)
def test_the_open_form_says_what_to_fix(tree, personas, login, data, message):
    payload = {"branch": tree.village_a2.code, "problem": "问题", "deadline": "2026-04-30"}
    response = login(personas.staff_a).post(reverse("rectification_create"), {**payload, **data})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Rectification.objects.exists()


def test_the_detail_page_starts_and_closes_with_evidence(item, personas, login):
    client = login(personas.secretary)
    url = reverse("rectification_detail", args=[item.pk])
    page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "开始整改" in text and "办理记录" in text and "牌.pdf" in text
    assert client.post(url, {"step": "start", "version": item.version}).status_code == 302
    item.refresh_from_db()
    assert item.status == Status.IN_PROGRESS
    stale = client.post(url, {"step": "close", "version": 1, "note": "已挂牌"})
    assert stale.status_code == 400
    assert "该整改事项在您打开之后已被" in stale.content.decode()
    response = client.post(url, {"step": "close", "version": item.version, "note": "已挂牌"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == Status.DONE
    assert "已整改" in client.get(url).content.decode()


def test_a_bad_upload_is_refused_on_the_page(item, personas, login):
    url = reverse("rectification_detail", args=[item.pk])
    response = login(personas.staff_a).post(
        url, {"step": "evidence", "files": [SimpleUploadedFile("x.pdf", b"GIF89a")]}
    )
    assert response.status_code == 400
    assert "内容不是" in response.content.decode()
    assert RectificationEvidence.objects.count() == 1


def test_the_list_filters_and_flags(item, tree, personas, login, april_third):
    done = rect.rectification_open(
        user=personas.staff_a, branch=tree.village_a2, problem="台账", deadline=date(2026, 4, 4)
    )
    rect.rectification_close(item=done, user=personas.staff_a, expected_version=None, note="x")
    Rectification.objects.filter(pk=done.pk).update(still_failing=True)
    client = login(personas.county_leader)
    url = reverse("rectification_list")
    text = client.get(url).content.decode()
    assert "党员活动室未挂牌" in text and "已整改但仍未达标" in text
    text = client.get(url, {"status": "STILL_FAILING"}).content.decode()
    assert "台账" in text and "党员活动室未挂牌" not in text
    april_third.move_to("2026-05-02 10:00 +0800")
    client = login(personas.county_leader)  # the session of a month ago has expired
    text = client.get(url, {"status": "OVERDUE"}).content.decode()
    assert "党员活动室未挂牌" in text and "逾期" in text
    empty = client.get(url, {"under": tree.township_b.code}).content.decode()
    assert "没有符合条件的整改事项" in empty
    assert client.get(url, {"under": "99999"}).status_code == 400
    assert client.get(url, {"deadline_from": "x"}).status_code == 400
    assert client.get(url, {"status": "LOST", "page": "abc"}).status_code == 400
    assert client.get(url, {"under": "9" * 500}).status_code == 400


def test_bulk_open_for_the_branches_that_lost_a_star(tree, personas, login, criteria):
    from tests.branches.test_exports import rate

    rate(tree.village_a1, stars=(2, 3), period=date(2026, 2, 1))
    rate(tree.village_a1, stars=(2,), period=MARCH)
    rate(tree.village_a2, stars=(2,), period=date(2026, 2, 1))
    rate(tree.village_a2, stars=(2,), period=MARCH)
    client = login(personas.county_leader)
    url = reverse("rectification_bulk", args=[tree.county.code])
    page = client.get(url, {"period": "2026-03"})
    assert page.status_code == 200
    assert tree.village_a1.name in page.content.decode()
    assert tree.village_a2.name not in page.content.decode()
    summary = client.get(
        reverse("branches:summary", args=[tree.county.code]), {"change": "down"}
    ).content.decode()
    assert url in summary
    response = client.post(
        f"{url}?period=2026-03", {"selected": [tree.village_a1.pk], "deadline": "2026-05-31"}
    )
    assert response.status_code == 302
    created = Rectification.objects.get()
    assert (created.branch, created.source) == (tree.village_a1, "SUPERVISION")
    assert "由 2 星降为 1 星" in created.problem
    refused = client.post(f"{url}?period=2026-03", {"selected": [tree.village_b1.pk]})
    assert refused.status_code == 400


# The permission matrix of every page: 200 (or 302 after a write), 403 by role, 404 outside.

PAGES = ["list", "detail", "create", "edit", "evidence", "bulk", "start", "outside"]
EXPECTED = {
    "admin": dict(list=200, detail=200, create=200, edit=200, evidence=200, bulk=200, start=302,
                  outside=200),
    "province_leader": dict(list=200, detail=200, create=200, edit=200, evidence=200, bulk=200,
                            start=302, outside=200),
    "county_leader": dict(list=200, detail=200, create=200, edit=200, evidence=200, bulk=200,
                          start=302, outside=404),
    "staff_a": dict(list=200, detail=200, create=200, edit=200, evidence=200, bulk=404, start=302,
                    outside=404),
    "staff_b": dict(list=200, detail=404, create=200, edit=404, evidence=404, bulk=404, start=404,
                    outside=404),
    "secretary": dict(list=200, detail=200, create=403, edit=403, evidence=200, bulk=403,
                      start=302, outside=404),
    "auditor": dict(list=200, detail=200, create=403, edit=403, evidence=200, bulk=403, start=403,
                    outside=404),
    "grid_worker": dict(list=403, detail=403, create=403, edit=403, evidence=403, bulk=403,
                        start=403, outside=403),
}  # fmt: skip


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("persona", PERSONA_NAMES)
def test_permission_matrix(persona, page, item, tree, personas, login):
    client = login(getattr(personas, persona))
    elsewhere = rect.rectification_open(
        user=personas.admin, branch=tree.village_other, problem="x", deadline=date(2026, 4, 30)
    )
    evidence = item.evidence.get()
    urls = {
        "list": reverse("rectification_list"),
        "detail": reverse("rectification_detail", args=[item.pk]),
        "create": reverse("rectification_create"),
        "edit": reverse("rectification_edit", args=[item.pk]),
        "evidence": reverse("rectification_evidence", args=[item.pk, evidence.pk]),
        "bulk": reverse("rectification_bulk", args=[tree.county.code]),
        "start": reverse("rectification_detail", args=[item.pk]),
        "outside": reverse("rectification_detail", args=[elsewhere.pk]),
    }
    if page == "start":
        response = client.post(urls[page], {"step": "start", "version": item.version})
    else:
        response = client.get(urls[page])
    assert response.status_code == EXPECTED[persona][page]
    if page == "list" and response.status_code == 200:
        listed = "党员活动室未挂牌" in response.content.decode()
        assert listed == (persona != "staff_b")
    nav = f'href="{reverse("rectification_list")}"'
    if page == "list":
        home = client.get(reverse("home")).content.decode()
        assert (nav in home) == (persona != "grid_worker")


def test_odd_ids_and_prefills_are_not_errors(personas, login):
    client = login(personas.admin)
    create = reverse("rectification_create")
    # A NUL in the query is refused by the middleware (400) before the view.
    assert client.get(create, {"branch": "4\x001", "criterion": "\x00"}).status_code == 400
    assert client.get(create, {"branch": "9" * 99, "period": "x"}).status_code == 200
    assert client.get("/rectifications/99999999999/").status_code == 404
    assert client.get("/rectifications/1/evidence/99999999999/").status_code == 404
    bad_step = client.post("/rectifications/99999/", {"step": "x"})
    assert bad_step.status_code == 404
