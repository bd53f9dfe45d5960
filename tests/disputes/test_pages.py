"""The dispute pages: the permission matrix, the workflow through the forms, masking,
filters, exports and query counts."""

from datetime import date

import pytest
from django.urls import reverse

from disputes import services
from disputes.models import DisputeCase
from tests.branches.evidence_samples import pdf, upload
from tests.disputes.factories import make_case

pytestmark = pytest.mark.usefixtures("april_third")
S = DisputeCase.Status


@pytest.fixture
def case(personas, tree):
    return make_case(personas.secretary, tree.village_a1)


def url(name, *args):
    return reverse(f"disputes:{name}", args=args)


# (persona, status of the ledger, the case page, POST 开始调解 on the case, GET new-case form)
MATRIX = [
    ("admin", 200, 200, 302, 200),
    ("province_leader", 200, 200, 403, 403),
    ("county_leader", 200, 200, 403, 403),
    ("staff_a", 200, 200, 302, 200),
    ("staff_b", 200, 404, 404, 200),
    ("secretary", 200, 200, 302, 200),
    ("auditor", 200, 200, 403, 403),
    ("grid_worker", 200, 404, 404, 200),  # the case arose above their compound
]


@pytest.mark.parametrize(("persona", "ledger", "detail", "act", "new"), MATRIX)
def test_permission_matrix(login, personas, case, persona, ledger, detail, act, new):
    client = login(getattr(personas, persona))
    assert client.get(url("case_list")).status_code == ledger
    assert client.get(url("my_cases")).status_code == ledger
    assert client.get(url("case_detail", case.number)).status_code == detail
    assert client.get(url("case_create")).status_code == new
    assert client.get(url("screening")).status_code == 200
    assert client.get(url("team_list")).status_code == 200
    response = client.post(
        url("case_detail", case.number), {"step": "START", "version": case.version}
    )
    assert response.status_code == act


def test_anonymous_users_are_sent_to_log_in(client, case):
    assert client.get(url("case_list")).status_code == 302
    assert client.get(url("case_detail", case.number)).status_code == 302


def test_a_case_is_registered_through_the_form(login, personas, tree):
    client = login(personas.secretary)
    response = client.post(
        url("case_create"),
        {
            "unit": tree.village_a1.code,
            "category": "FAMILY",
            "source": "VISIT",
            "risk": "MEDIUM",
            "received_on": "2026-04-02",
            "handling_level": "",
            "summary": "夫妻因赡养老人发生矛盾",
            "party0_name": "王芳",
            "party0_role": "APPLICANT",
            "party0_phone": "13900001111",
            "party1_name": "",
            "party1_role": "RESPONDENT",
            "party1_phone": "",
            "party2_name": "",
            "party2_role": "OTHER",
            "party2_phone": "",
        },
    )
    case = DisputeCase.objects.get()
    assert response.status_code == 302 and response.url == url("case_detail", case.number)
    assert case.parties.get().name == "王芳" and case.due_on == date(2026, 4, 12)


def test_the_form_says_what_is_wrong(login, personas, tree):
    client = login(personas.secretary)
    response = client.post(url("case_create"), {"unit": tree.village_b1.code})
    assert response.status_code == 200
    assert "不在您的管辖范围内" in response.content.decode()
    assert not DisputeCase.objects.exists()


def test_the_workflow_through_the_case_page(login, personas, case):
    client = login(personas.secretary)
    page = url("case_detail", case.number)
    assert client.post(page, {"step": "START", "version": 1}).status_code == 302
    response = client.post(page, {"step": "FAIL", "version": 2, "note": "双方不让步"})
    assert response.status_code == 302
    response = client.post(page, {"step": "ESCALATE", "version": 3, "reason": "村级调解未成功"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == S.RECEIVED and case.handling_level == DisputeCase.Level.TOWNSHIP
    # The secretary now reads it with the parties masked and no actions.
    body = client.get(page).content.decode()
    assert "138****5678" in body and "13812345678" not in body
    assert "您对该案件没有可以进行的操作" in body
    staff = login(personas.staff_a)
    body = staff.get(page).content.decode()
    assert "13812345678" in body and "开始调解" in body


@pytest.mark.parametrize(
    ("result", "conclude", "status"),
    [("FAILED", "on", S.FAILED), ("AGREED", "on", S.SUCCEEDED), ("FAILED", "", S.MEDIATING)],
)
def test_a_session_can_record_the_mediation_result(login, personas, case, result, conclude, status):
    client = login(personas.secretary)
    page = url("case_detail", case.number)
    client.post(page, {"step": "START", "version": 1})
    session = {
        "step": "SESSION",
        "version": 2,
        "held_on": "2026-04-02",
        "place": "村委会调解室",
        "participants": "双方当事人",
        "record": "双方各陈述意见",
        "result": result,
        "conclude": conclude,
    }
    assert client.post(page, session).status_code == 302
    case.refresh_from_db()
    assert case.status == status and case.sessions.count() == 1
    actions = list(case.steps.values_list("action", flat=True))
    assert actions.count("SESSION") == 1
    assert ("FAIL" in actions) == (status == S.FAILED)
    assert ("SUCCEED" in actions) == (status == S.SUCCEEDED)


def test_a_stale_form_is_refused_with_advice(login, personas, case):
    client = login(personas.secretary)
    page = url("case_detail", case.number)
    client.post(page, {"step": "START", "version": 1})
    response = client.post(page, {"step": "TRANSFER", "version": 1, "department": "司法所"})
    assert response.status_code == 400
    assert "不能“转办”" in response.content.decode() or "请刷新页面" in response.content.decode()


def test_an_illegal_action_posted_by_hand_is_refused(login, personas, case):
    client = login(personas.secretary)
    response = client.post(
        url("case_detail", case.number), {"step": "CLOSE", "version": 1, "outcome": "WRITTEN"}
    )
    assert response.status_code == 400
    assert "不能“结案”" in response.content.decode()
    assert client.post(url("case_detail", case.number), {"step": "NOPE"}).status_code == 404


def test_attachments_upload_and_download(login, personas, case):
    client = login(personas.secretary)
    page = url("case_detail", case.number)
    response = client.post(page, {"step": "attach", "files": [upload("协议.pdf", pdf())]})
    assert response.status_code == 302
    attachment = case.attachments.get()
    response = client.get(url("case_attachment", case.number, attachment.pk))
    assert response.status_code == 200
    bad = client.post(page, {"step": "attach", "files": [upload("x.pdf", b"not a pdf")]})
    assert bad.status_code == 400
    outsider = login(personas.staff_b)
    assert outsider.get(url("case_attachment", case.number, attachment.pk)).status_code == 404


def test_filters_and_overdue(login, personas, tree):
    staff = personas.staff_a
    make_case(staff, tree.village_a2, received_on=date(2026, 3, 1), category="LAND")
    make_case(staff, tree.village_a2, received_on=date(2026, 4, 2))
    client = login(staff)
    body = client.get(url("case_list"), {"overdue": "on"}).content.decode()
    assert body.count(">2026-410102001-") == 1 and "逾期" in body
    body = client.get(url("case_list"), {"category": "LAND"}).content.decode()
    assert "2026-410102001-0001" in body and "2026-410102001-0002" not in body
    bad = client.get(url("case_list"), {"received_from": "2026-05-01", "received_to": "2026-04-01"})
    assert bad.status_code == 400


def test_my_cases_lists_the_mediators_cases(login, personas, tree):
    staff = personas.staff_a
    mine = make_case(staff, tree.village_a2)
    services.case_assign(case=mine, user=staff, mediator=personas.grid_worker)
    make_case(staff, tree.village_a2)
    body = login(personas.grid_worker).get(url("my_cases")).content.decode()
    assert mine.number in body and body.count(">2026-410102001-") == 1
    # The mediator reads the case though it arose outside their compound.
    assert login(personas.grid_worker).get(url("case_detail", mine.number)).status_code == 200


def test_the_ledger_takes_a_fixed_number_of_queries(
    login, personas, tree, django_assert_max_num_queries
):
    for _ in range(3):
        make_case(personas.staff_a, tree.village_a2)
    client = login(personas.staff_a)
    with django_assert_max_num_queries(12):
        client.get(url("case_list"))
    for _ in range(10):
        make_case(personas.staff_a, tree.village_a2)
    with django_assert_max_num_queries(12):
        assert client.get(url("case_list")).status_code == 200


def test_exports(login, personas, case):
    client = login(personas.staff_a)
    response = client.get(url("ledger_export", "csv"))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert case.number in text
    assert client.get(url("ledger_export", "xlsx")).status_code == 200
    assert client.get(url("ledger_export", "pdf")).status_code == 404
    for fmt in ("csv", "xlsx"):
        assert client.get(url("screening_export", fmt), {"month": "2026-04"}).status_code == 200
    # Outside the jurisdiction nothing is exported.
    other = login(personas.staff_b).get(url("ledger_export", "csv"))
    assert case.number not in b"".join(other.streaming_content).decode("utf-8-sig")


def test_the_ledger_export_has_the_closing_date_and_the_visit(login, personas, case):
    staff = personas.staff_a
    case = services.case_start(case=case, user=staff)
    case = services.case_succeed(case=case, user=staff)
    case = services.case_close(case=case, user=staff, outcome="ORAL")
    services.case_visit(case=case, user=staff, satisfaction="BASIC", visited_on=date(2026, 4, 3))
    response = login(staff).get(url("ledger_export", "csv"))
    header, row = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()[:2]
    columns = dict(zip(header.split(","), row.split(","), strict=True))
    assert columns["结案日期"] == "2026-04-03" and columns["回访满意度"] == "基本满意"
    assert columns["来源网格事件"] == "" and columns["结案方式"] == "达成口头协议"


def test_formula_injection_is_inert_in_the_csv(login, personas, tree):
    make_case(personas.staff_a, tree.village_a2, summary='=HYPERLINK("http://x")')
    response = login(personas.staff_a).get(url("ledger_export", "csv"))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert ",=HYPERLINK" not in text and "'=HYPERLINK" in text


def test_the_screening_table_counts_by_category_and_outcome(login, personas, tree):
    staff = personas.staff_a
    a = make_case(staff, tree.village_a2, received_on=date(2026, 4, 1))
    a = services.case_start(case=a, user=staff)
    services.case_succeed(case=a, user=staff)
    make_case(staff, tree.village_a2, received_on=date(2026, 4, 2), category="LAND")
    from disputes.screening import screening_table

    table = screening_table(tree.township_a, date(2026, 4, 1))
    rows = dict(table.rows)
    assert rows["邻里纠纷"][:2] == [1, 1] and rows["土地纠纷"][:2] == [1, 0]
    assert table.total[0] == 2 and table.total[6] == 1
    body = login(staff).get(url("screening"), {"month": "2026-04"}).content.decode()
    assert "林山寨街道" in body


def test_the_screening_table_defaults_to_the_last_closed_month(login, personas):
    # 3 April: March is the last month whose cases are all in.
    response = login(personas.staff_a).get(url("screening"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "2026年3月" in body and 'value="2026-03"' in body


def test_the_screening_pdf(login, personas, case):
    response = login(personas.staff_a).get(
        url("screening_export", "pdf"), {"township": "410102001", "month": "2026-04"}
    )
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    from io import BytesIO

    from pypdf import PdfReader

    text = PdfReader(BytesIO(response.content)).pages[0].extract_text()
    assert "矛盾纠纷排查化解情况表" in text


def test_teams_are_added_by_handlers_only(login, personas, tree):
    staff = login(personas.staff_a)
    response = staff.post(
        url("team_list"),
        {
            "unit": tree.village_a2.code,
            "name": "西流湖调委会",
            "kind": "COMMITTEE",
            "member_names": "王大爷",
        },
    )
    assert response.status_code == 302
    assert "西流湖调委会" in staff.get(url("team_list")).content.decode()
    assert login(personas.auditor).post(url("team_list"), {"name": "x"}).status_code == 403


def test_the_exports_are_logged_and_named_in_the_log(login, personas, case):
    from branches.models import ExportLog

    client = login(personas.staff_a)
    b"".join(client.get(url("ledger_export", "csv"), {"category": "NEIGHBOUR"}).streaming_content)
    client.get(url("screening_export", "pdf"), {"township": "410102001", "month": "2026-04"})
    ledger, screening = ExportLog.objects.order_by("started_at", "id")
    assert (ledger.export, ledger.format, ledger.rows, ledger.is_complete) == (
        "DISPUTE_LEDGER",
        "csv",
        1,
        True,
    )
    assert ledger.params == {"category": "邻里纠纷"}
    assert (screening.export, screening.format, screening.is_complete) == (
        "DISPUTE_SCREENING",
        "pdf",
        True,
    )
    page = login(personas.auditor).get(reverse("export_log")).content.decode()
    assert ">矛盾纠纷台账</td>" in page and ">矛盾纠纷排查化解情况表</td>" in page
    filtered = login(personas.auditor).get(reverse("export_log"), {"export": "DISPUTE_LEDGER"})
    assert filtered.context["page"].paginator.count == 1


def test_formula_injection_is_inert_in_the_xlsx(login, personas, tree):
    import io

    import openpyxl

    make_case(personas.staff_a, tree.village_a2, summary='=HYPERLINK("http://x")')
    response = login(personas.staff_a).get(url("ledger_export", "xlsx"))
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    header, row = [[cell for cell in r] for r in sheet.iter_rows(max_row=2)]
    summary = row[[c.value for c in header].index("纠纷概要")]
    assert summary.data_type == "s" and summary.value == '\'=HYPERLINK("http://x")'


@pytest.mark.parametrize(("persona", "ledger", "detail", "act", "new"), MATRIX)
def test_the_exports_follow_the_ledgers_access_rule(
    login, personas, case, persona, ledger, detail, act, new
):
    client = login(getattr(personas, persona))
    response = client.get(url("ledger_export", "csv"))
    assert response.status_code == 200
    exported = case.number in b"".join(response.streaming_content).decode("utf-8-sig")
    assert exported == (detail == 200)
    screening = client.get(url("screening_export", "csv"), {"township": "410102002"})
    assert screening.status_code == (200 if persona in ("admin", "province_leader",
                                                         "county_leader", "staff_b",
                                                         "auditor") else 404)  # fmt: skip


def test_the_team_list_and_the_screening_table_take_a_fixed_number_of_queries(
    login, personas, tree, django_assert_max_num_queries
):
    staff = personas.staff_a
    client = login(staff)
    for n in range(2):
        services.team_save(user=staff, unit=tree.village_a2, name=f"调委会{n}", kind="COMMITTEE")
        make_case(staff, tree.village_a2)
    with django_assert_max_num_queries(12):
        assert client.get(url("team_list")).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(url("screening"), {"month": "2026-04"}).status_code == 200
    for n in range(2, 12):
        services.team_save(user=staff, unit=tree.village_a2, name=f"调委会{n}", kind="TEAM")
        make_case(staff, tree.village_a2, category="LAND")
    with django_assert_max_num_queries(12):
        assert client.get(url("team_list")).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(url("screening"), {"month": "2026-04"}).status_code == 200


def test_a_team_is_added_with_members_who_have_accounts(login, personas, tree):
    from disputes.models import MediationTeam

    staff = login(personas.staff_a)
    team = {"unit": tree.village_a2.code, "name": "妇调队", "kind": "WOMEN", "member_names": ""}
    response = staff.post(url("team_list"), {**team, "members": [personas.grid_worker.pk]})
    assert response.status_code == 302
    assert list(MediationTeam.objects.get().members.all()) == [personas.grid_worker]
    # Someone outside the jurisdiction is not offered, and refused when posted anyway.
    response = staff.post(
        url("team_list"), {**team, "name": "调解队", "members": [personas.staff_b.pk]}
    )
    assert response.status_code == 400 and MediationTeam.objects.count() == 1
