"""Outside the handling jurisdiction the parties' names and phones are masked in every
text of the case, not only in the party list: the summary, the timeline notes, the
session participants and records, the return-visit notes; on the page, in the API and in
the ledger export alike."""

from datetime import date

import pytest
from django.urls import reverse

from disputes import services
from tests.disputes.factories import make_case

pytestmark = pytest.mark.usefixtures("april_third")
NAME, PHONE = "张三丰", "13812345678"
SECRETS = (NAME, PHONE, "李四", "13900002222")


@pytest.fixture
def escalated(personas, tree):
    """A village case that failed there and went up to the township: the village
    secretary still reads it, now outside its handling jurisdiction."""
    case = make_case(
        personas.secretary,
        tree.village_a1,
        summary=f"{NAME}与李四因漏水争执，{NAME}电话 {PHONE}，另一方 13900002222",
        parties=[
            {"name": NAME, "role": "APPLICANT", "phone": PHONE},
            {"name": "李四", "role": "RESPONDENT", "phone": ""},
        ],
    )
    user = personas.secretary
    case = services.case_start(case=case, user=user, note=f"约{NAME}面谈")
    services.session_add(
        case=case,
        user=user,
        held_on=date(2026, 4, 2),
        place="村委会",
        participants=f"{NAME}、李四、调解员",
        record=f"{NAME}要求赔偿，李四不同意",
        result="FAILED",
    )
    case.refresh_from_db()
    case = services.case_fail(case=case, user=user, note="李四拒绝调解")
    return services.case_escalate(case=case, user=user, reason=f"{NAME}要求镇里处理")


def assert_masked(text):
    for secret in SECRETS:
        assert secret not in text, secret
    assert "张**" in text and "李*" in text


def test_the_case_page_masks_every_text(login, personas, escalated):
    page = reverse("disputes:case_detail", args=[escalated.number])
    body = login(personas.secretary).get(page).content.decode()
    assert_masked(body)
    assert "139****2222" in body  # a mobile number that is no party's is masked too
    full = login(personas.staff_a).get(page).content.decode()
    assert f"{NAME}要求赔偿" in full and PHONE in full and "约张三丰面谈" in full


def test_the_api_masks_every_text(client, personas, escalated):
    client.force_login(personas.secretary)
    base = f"/api/v1/disputes/cases/{escalated.number}/"
    assert_masked(client.get(base).content.decode())
    listed = client.get("/api/v1/disputes/cases/").json()["results"]
    assert listed[0]["summary"].startswith("张**与李*")
    assert_masked(client.get(f"{base}steps/").content.decode())
    sessions = client.get("/api/v1/disputes/sessions/").json()["results"]
    assert sessions[0]["record"] == "张**要求赔偿，李*不同意"
    client.force_login(personas.staff_a)
    assert NAME in client.get(f"{base}steps/").content.decode()
    assert client.get("/api/v1/disputes/sessions/").json()["results"][0]["participants"] == (
        f"{NAME}、李四、调解员"
    )


def test_the_ledger_export_masks_the_summary(login, personas, escalated):
    url = reverse("disputes:ledger_export", args=["csv"])
    body = b"".join(login(personas.secretary).get(url).streaming_content).decode("utf-8-sig")
    assert escalated.number in body
    assert_masked(body)
    full = b"".join(login(personas.staff_a).get(url).streaming_content).decode("utf-8-sig")
    assert f"{NAME}与李四" in full


def test_mask_text_leaves_one_character_names_and_other_digits():
    class Party:
        def __init__(self, name, phone=""):
            self.name, self.phone = name, phone

    text = "王与张五在2026040112号楼，电话 0371-6612345"
    masked = services.mask_text(text, [Party("王"), Party("张五", "0371-6612345")])
    assert masked == "王与张*在2026040112号楼，电话 037*****2345"


def test_attachment_names_are_masked_too(login, personas, escalated, tmp_path, settings):
    from tests.branches.evidence_samples import pdf, upload

    settings.MEDIA_ROOT = tmp_path
    services.attachments_add(
        case=escalated, user=personas.staff_a, files=[upload(f"{NAME}调解申请.pdf", pdf())]
    )
    attachment = escalated.attachments.get()
    page = reverse("disputes:case_detail", args=[escalated.number])
    download = reverse("disputes:case_attachment", args=[escalated.number, attachment.pk])
    secretary = login(personas.secretary)
    body = secretary.get(page).content.decode()
    assert "张**调解申请.pdf" in body and NAME not in body
    disposition = secretary.get(download)["Content-Disposition"]
    assert "%E5%BC%A0%2A%2A" in disposition  # 张**, percent-encoded
    staff = login(personas.staff_a)
    assert f"{NAME}调解申请.pdf" in staff.get(page).content.decode()
