"""The evidence API under a monthly report: list, upload, download, delete."""

from datetime import date

import pytest
from django.urls import reverse
from drf_spectacular.validation import validate_schema

from branches.models import Evidence, MonthlyReport, ReportEvent
from branches.services import workflow
from tests.branches import evidence_samples as samples
from tests.branches.test_assessment_api import advance, passing_values
from tests.conftest import PERSONA_NAMES

MARCH = date(2026, 3, 1)
Status = MonthlyReport.Status


pytestmark = pytest.mark.usefixtures("april_third")


@pytest.fixture
def report(tree, criteria):
    """社区A1's March draft (the secretary's branch, in township A)."""
    return workflow.report_get_or_create(unit=tree.village_a1, period=MARCH)


def evidence_url(report):
    return reverse("report-evidence", kwargs={"pk": report.pk})


def item_url(report, evidence_id):
    return reverse("report-evidence-detail", kwargs={"pk": report.pk, "evidence_id": evidence_id})


def add(report, user, name="会议记录.pdf", code="BR-01"):
    return workflow.evidence_add(
        report=report,
        user=user,
        criterion_code=code,
        upload=samples.upload(name, samples.pdf()),
    )


def upload(client, report, *files, criterion="BR-01"):
    return client.post(evidence_url(report), {"criterion": criterion, "files": list(files)})


def test_the_list_gives_each_file_with_its_criterion_uploader_and_download_address(
    report, personas, login
):
    evidence = add(report, personas.staff_a)

    response = login(personas.auditor).get(evidence_url(report))

    assert response.status_code == 200
    assert response.json() == [
        {
            "id": evidence.pk,
            "criterion": "BR-01",
            "criterion_title": "主题党日按月开展",
            "original_name": "会议记录.pdf",
            "size": len(samples.pdf()),
            "uploaded_by": "staff_a",
            "uploaded_at": "2026-04-03T10:00:00+08:00",
            "download_url": "http://testserver" + item_url(report, evidence.pk),
        }
    ]


def test_the_list_costs_the_same_whatever_the_number_of_files(
    report, personas, login, django_assert_max_num_queries
):
    for n in range(6):
        add(report, personas.staff_a, name=f"{n}.pdf", code=("BR-01", "BR-02")[n % 2])
    client = login(personas.staff_a)

    # Session, user, the user's unit, the report, its evidence with criteria and uploaders.
    with django_assert_max_num_queries(5):
        response = client.get(evidence_url(report))

    assert len(response.json()) == 6


def test_several_files_are_uploaded_at_once(report, personas, login):
    response = upload(
        login(personas.secretary),
        report,
        samples.upload("一.pdf", samples.pdf()),
        samples.upload("二.xlsx", samples.xlsx()),
    )

    assert response.status_code == 201, response.content
    assert [row["original_name"] for row in response.json()] == ["一.pdf", "二.xlsx"]
    assert report.events.filter(action=ReportEvent.Action.EVIDENCE_ADDED).count() == 2


def test_a_renamed_file_is_refused_with_the_same_message_as_the_page(report, personas, login):
    response = upload(
        login(personas.staff_a),
        report,
        samples.upload("好.pdf", samples.pdf()),
        samples.upload("病毒.pdf", b"MZ\x90\x00\x03"),
    )

    assert response.status_code == 400
    [message] = response.json()["non_field_errors"]
    assert message.startswith("文件“病毒.pdf”的内容不是 PDF 文件，看起来是 Windows 程序")
    assert not Evidence.objects.exists()


@pytest.mark.parametrize(
    ("data", "field", "text"),
    [
        ({"criterion": "BR-01"}, "files", "请至少选择一个文件"),
        ({"files": []}, "criterion", "请填写指标编码"),
    ],
)
def test_an_upload_without_its_parts_says_which_is_missing(
    report, personas, login, data, field, text
):
    response = login(personas.staff_a).post(evidence_url(report), data)

    assert response.status_code == 400
    assert text in response.json()[field][0]


def test_an_upload_for_an_unknown_or_computed_criterion_is_refused(report, personas, login):
    client = login(personas.staff_a)

    for code in ("XX-99", "OT-01"):
        response = upload(client, report, samples.upload("a.pdf", samples.pdf()), criterion=code)
        assert response.status_code == 400
        assert f"没有编码为“{code}”的填报指标" in response.json()["non_field_errors"][0]


def test_an_upload_must_be_multipart(report, personas, login):
    response = login(personas.staff_a).post(
        evidence_url(report), {"criterion": "BR-01"}, content_type="application/json"
    )

    assert response.status_code == 415


def test_a_file_downloads_as_an_attachment_under_its_original_name(report, personas, login):
    evidence = add(report, personas.staff_a, name="三会一课记录.pdf")

    response = login(personas.county_leader).get(item_url(report, evidence.pk))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == samples.pdf()
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=utf-8''%E4%B8%89%E4%BC%9A" in disposition


def test_a_delete_removes_the_file_and_records_it(
    report, personas, login, django_capture_on_commit_callbacks
):
    evidence = add(report, personas.staff_a)
    storage, name = evidence.file.storage, evidence.file.name
    client = login(personas.staff_a)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(item_url(report, evidence.pk))

    assert response.status_code == 204
    assert not storage.exists(name)
    assert client.get(item_url(report, evidence.pk)).status_code == 404
    event = report.events.get(action=ReportEvent.Action.EVIDENCE_REMOVED)
    assert event.reason == "主题党日按月开展：会议记录.pdf"


@pytest.mark.parametrize("status", [Status.SUBMITTED, Status.APPROVED])
def test_evidence_of_a_submitted_or_approved_report_cannot_change(report, personas, login, status):
    advance(report, personas.admin, status, checker=personas.staff_a2)
    evidence = Evidence.objects.filter(value__report=report).first()
    client = login(personas.staff_a)

    deleted = client.delete(item_url(report, evidence.pk))
    added = upload(client, report, samples.upload("a.pdf", samples.pdf()))

    assert (deleted.status_code, added.status_code) == (400, 400)
    assert "如需修改，请联系审核人退回" in deleted.json()["non_field_errors"][0]
    assert Evidence.objects.filter(pk=evidence.pk).exists()


def test_a_file_of_another_report_is_not_found_under_this_one(tree, report, personas, login):
    other = workflow.report_get_or_create(unit=tree.village_a2, period=MARCH)
    theirs = add(other, personas.staff_a)
    client = login(personas.staff_a)

    assert client.get(item_url(report, theirs.pk)).status_code == 404
    assert client.delete(item_url(report, theirs.pk)).status_code == 404
    assert client.get(item_url(report, 10**20)).status_code == 404
    assert Evidence.objects.filter(pk=theirs.pk).exists()


# Permissions: persona × endpoint × method → status.

ALL_PERSONAS = [*PERSONA_NAMES, "anonymous"]
# Grid workers read no reports (one rule with the report page): 403 whatever the report.
READ = dict.fromkeys(PERSONA_NAMES, 200) | {"staff_b": 404, "grid_worker": 403}
READ_ONLY = {"province_leader": 403, "county_leader": 403, "auditor": 403, "grid_worker": 403}


def write(code):
    return {"admin": code, "staff_a": code, "secretary": code, "staff_b": 404} | READ_ONLY


MATRIX = [
    ("list", "get", READ),
    ("list", "post", write(201)),
    ("list", "put", dict.fromkeys(PERSONA_NAMES, 405)),
    ("item", "get", READ),
    ("item", "delete", write(204)),
    ("item", "post", dict.fromkeys(PERSONA_NAMES, 405)),
    # 西流湖村 (A2), the secretary's sibling: township staff and above, not the secretary.
    ("sibling-list", "get", READ | {"secretary": 404}),
    ("sibling-list", "post", write(201) | {"secretary": 404}),
    ("sibling-item", "get", READ | {"secretary": 404}),
    ("sibling-item", "delete", write(204) | {"secretary": 404}),
]


@pytest.mark.parametrize("persona", ALL_PERSONAS)
@pytest.mark.parametrize(("endpoint", "method", "expected"), MATRIX)
def test_permission_matrix(client, tree, criteria, personas, persona, endpoint, method, expected):
    unit = tree.village_a2 if endpoint.startswith("sibling") else tree.village_a1
    report = workflow.report_get_or_create(unit=unit, period=MARCH)
    evidence = add(report, personas.admin)
    url = evidence_url(report) if endpoint.endswith("list") else item_url(report, evidence.pk)
    if persona != "anonymous":
        client.force_login(getattr(personas, persona))

    if method == "post":
        response = client.post(
            url, {"criterion": "BR-02", "files": [samples.upload("a.png", samples.png())]}
        )
    else:
        response = getattr(client, method)(url)

    # Token authentication first: an anonymous caller gets 401 with WWW-Authenticate.
    default = 401 if persona == "anonymous" else 403
    assert response.status_code == expected.get(persona, default), response.content
    changed = Evidence.objects.count() != 1
    assert changed == (response.status_code in (201, 204))


def test_the_schema_documents_the_evidence_endpoints(personas, login):
    schema = login(personas.staff_a).get(reverse("api-schema"), {"format": "json"}).json()

    validate_schema(schema)
    listing = schema["paths"]["/api/v1/reports/{id}/evidence/"]
    item = schema["paths"]["/api/v1/reports/{id}/evidence/{evidence_id}/"]
    assert set(listing) >= {"get", "post"} and set(item) >= {"get", "delete"}
    body = listing["post"]["requestBody"]["content"]
    assert list(body) == ["multipart/form-data"]
    assert set(listing["post"]["responses"]) >= {"201", "400", "403", "404"}
    assert set(item["delete"]["responses"]) >= {"204", "400", "403", "404"}
    # A file is served as the type its extension names, and each one is documented.
    assert set(item["get"]["responses"]["200"]["content"]) == {
        "application/pdf",
        "image/png",
        "image/jpeg",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }


def test_a_returned_report_needing_evidence_is_completed_and_resubmitted_through_the_api_alone(
    tree, criteria, personas, login
):
    """The secretary enters and fixes; township staff review. No page, no service call."""
    from django.test import Client

    secretary, reviewer = Client(), Client()
    secretary.force_login(personas.secretary)
    reviewer.force_login(personas.staff_a)
    created = secretary.post(
        reverse("report-list"),
        {"unit": tree.village_a1.code, "period": "2026-03"},
        content_type="application/json",
    )
    assert created.status_code == 201
    report = MonthlyReport.objects.get(pk=created.json()["id"])
    detail = reverse("report-detail", kwargs={"pk": report.pk})

    def version():
        return secretary.get(detail).json()["version"]

    def submit():
        url = reverse("report-submit", kwargs={"pk": report.pk})
        return secretary.post(url, {"version": version()}, content_type="application/json")

    saved = secretary.patch(
        detail,
        {"version": version(), "values": passing_values(report)},
        content_type="application/json",
    )
    assert saved.status_code == 200
    refused = submit()
    assert refused.status_code == 400
    assert "缺少佐证材料：主题党日按月开展" in refused.json()["non_field_errors"]
    required = [
        c.code for c in workflow.manual_criteria(report.criteria_set) if c.evidence_required
    ]
    for code in required:
        files = [samples.upload(f"{code}.pdf", samples.pdf())]
        response = secretary.post(evidence_url(report), {"criterion": code, "files": files})
        assert response.status_code == 201, response.content
    assert submit().status_code == 200

    returned = reviewer.post(
        reverse("report-return", kwargs={"pk": report.pk}),
        {"version": version(), "reason": "主题党日的记录不是本月的，请换成三月的记录。"},
        content_type="application/json",
    )
    assert returned.json()["status"] == Status.RETURNED

    [wrong] = [
        row for row in secretary.get(evidence_url(report)).json() if row["criterion"] == "BR-01"
    ]
    assert secretary.delete(item_url(report, wrong["id"])).status_code == 204
    still_missing = submit()
    assert still_missing.status_code == 400
    assert still_missing.json()["non_field_errors"] == ["缺少佐证材料：主题党日按月开展"]
    files = [samples.upload("三月主题党日.jpg", samples.jpeg())]
    assert (
        secretary.post(evidence_url(report), {"criterion": "BR-01", "files": files}).status_code
        == 201
    )
    resubmitted = submit()

    assert resubmitted.status_code == 200, resubmitted.content
    assert resubmitted.json()["status"] == Status.SUBMITTED
    names = {row["original_name"] for row in secretary.get(evidence_url(report)).json()}
    assert "三月主题党日.jpg" in names and "BR-01.pdf" not in names
    actions = list(report.events.values_list("action", flat=True))
    assert ReportEvent.Action.EVIDENCE_REMOVED in actions
