"""Evidence files: the content check, delete and replace, several files at once on the page."""

import os
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from branches.filetypes import content_problem
from branches.models import Evidence, MonthlyReport, ReportEvent
from branches.services import workflow
from governance.models import User
from tests.branches import evidence_samples as samples
from tests.branches.test_report_pages import edit_url, form_data

MARCH = date(2026, 3, 1)
Status = MonthlyReport.Status
Action = ReportEvent.Action


pytestmark = pytest.mark.usefixtures("april_third")


@pytest.fixture
def report(tree, criteria):
    """社区A1's March draft (the secretary's branch, in township A)."""
    return workflow.report_get_or_create(unit=tree.village_a1, period=MARCH)


def add(report, user, *uploads, code="BR-01"):
    return workflow.evidence_add_files(
        report=report, user=user, criterion_code=code, uploads=list(uploads)
    )


def pdf(name="会议记录.pdf"):
    return samples.upload(name, samples.pdf())


def to_status(report, user, status, checker=None):
    """Fill A1's March with passing values and evidence, then submit (and have `checker`
    approve: the submitter may not)."""
    from tests.branches.test_assessment_api import advance

    return advance(report, user, status, checker=checker)


# The content check ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(samples.VALID))
def test_a_real_small_file_of_each_accepted_type_is_accepted(name):
    upload = samples.upload(name, samples.VALID[name]())

    assert content_problem(upload, os.path.splitext(name)[1]) is None
    workflow.evidence_check(upload)
    assert upload.tell() == 0  # the check leaves the file ready to be stored


HOSTILE = [
    ("病毒.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 50, "Windows 程序"),
    ("页面.png", b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", ".html"),
    ("页面.jpg", b"<html><body>hi</body></html>", ".html"),
    ("压缩包.docx", samples.zip_of(**{"说明.txt": "不是文档"}), "普通的 zip 压缩包"),
    ("表格改名.docx", samples.xlsx(), "Excel 工作簿（.xlsx）"),
    ("文档改名.xlsx", samples.docx(), "Word 文档（.docx）"),
    ("图片改名.pdf", samples.png(), "PNG 图片"),
    ("文字.pdf", "这只是文字".encode(), "文件可能已损坏或不完整"),
    ("截断.png", b"\x89PNG\r\n", "文件可能已损坏或不完整"),
    ("截断头.png", b"\x89PNG\r\n\x1a\n\x00\x00", "文件可能已损坏或不完整"),
    ("截断.pdf", b"%PD", "文件可能已损坏或不完整"),
    ("截断.jpg", b"\xff\xd8", "文件可能已损坏或不完整"),
    ("截断.doc", samples.ole2()[:100], "文件可能已损坏或不完整"),
    ("截断.docx", samples.docx()[:40], "文件可能已损坏或不完整"),
    ("内容类型缺失.docx", samples.zip_of(**{"word/document.xml": "<w/>"}), "普通的 zip"),
    (
        "主部件缺失.docx",
        samples.zip_of(**{"[Content_Types].xml": samples.CONTENT_TYPES}),
        "普通的 zip",
    ),
    ("坏内容类型.docx", samples.zip_of(**{"[Content_Types].xml": "<Types"}), "普通的 zip"),
]


@pytest.mark.parametrize(("name", "content", "seen"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_file_whose_content_is_not_its_claimed_type_is_refused_with_what_to_do(
    name, content, seen
):
    with pytest.raises(ValidationError) as error:
        workflow.evidence_check(samples.upload(name, content))

    message = error.value.messages[0]
    assert message.startswith(f"文件“{name}”的内容不是 ")
    assert seen in message
    assert "请上传真正的" in message and "另存为" in message


def test_an_empty_file_is_refused_by_name():
    with pytest.raises(ValidationError) as error:
        workflow.evidence_check(samples.upload("空白.pdf", b""))

    assert error.value.messages == ["文件“空白.pdf”是空的，请选择有内容的文件。"]


def test_a_package_with_a_huge_content_types_part_is_refused_without_unpacking_it():
    bomb = samples.zip_of(**{"[Content_Types].xml": " " * (300 * 1024), "word/document.xml": ""})

    with pytest.raises(ValidationError):
        workflow.evidence_check(samples.upload("大.docx", bomb))


def test_a_zip_with_too_many_members_is_refused_before_its_directory_is_listed(monkeypatch):
    monkeypatch.setattr("branches.filetypes.MAX_ZIP_MEMBERS", 2)
    listed = []
    monkeypatch.setattr("zipfile.ZipFile.namelist", lambda self: listed.append(self) or [])

    with pytest.raises(ValidationError) as error:
        workflow.evidence_check(samples.upload("多.docx", samples.docx()))  # three members

    assert "看起来是 含 2 个以上文件的压缩包" in error.value.messages[0]
    assert not listed


def test_an_extension_outside_the_list_is_refused_before_the_content_is_read():
    with pytest.raises(ValidationError) as error:
        workflow.evidence_check(samples.upload("页面.html", b"<html>"))

    assert "类型不受支持" in error.value.messages[0]
    assert "pdf、png、xls、xlsx" in error.value.messages[0].replace("jpeg、jpg、", "")


def test_the_service_refuses_a_renamed_file_that_skipped_the_form(report, personas):
    with pytest.raises(ValidationError):
        add(report, personas.staff_a, samples.upload("病毒.pdf", b"MZ\x90\x00"))

    assert not Evidence.objects.exists()
    assert not report.events.filter(action=Action.EVIDENCE_ADDED).exists()


@pytest.mark.parametrize("name", ["发票\u202efdp.exe.pdf", "会议\x07记录.pdf", "a\x00.pdf"])
def test_a_file_name_with_a_control_or_bidi_character_is_refused(report, personas, name):
    with pytest.raises(ValidationError) as error:
        add(report, personas.staff_a, samples.upload(name, samples.pdf()))

    assert error.value.messages[0].startswith("文件名含有")
    assert not Evidence.objects.exists()


# Adding, deleting, replacing -------------------------------------------------------------------


def test_adding_several_files_records_one_event_each(report, personas):
    added = add(report, personas.staff_a, pdf("一.pdf"), samples.upload("二.png", samples.png()))

    assert [e.original_name for e in added] == ["一.pdf", "二.png"]
    events = report.events.filter(action=Action.EVIDENCE_ADDED)
    assert [e.reason for e in events] == ["主题党日按月开展：一.pdf", "主题党日按月开展：二.png"]
    assert {e.actor for e in events} == {personas.staff_a}


def test_one_bad_file_among_several_saves_none_and_names_each_bad_one(report, personas):
    with pytest.raises(ValidationError) as error:
        add(
            report,
            personas.staff_a,
            pdf("好.pdf"),
            samples.upload("坏.pdf", b"MZ"),
            samples.upload("空.png", b""),
        )

    assert len(error.value.messages) == 2
    assert "“坏.pdf”" in error.value.messages[0] and "“空.png”" in error.value.messages[1]
    assert not Evidence.objects.exists()


def test_a_criterion_holds_a_bounded_number_of_files(report, personas, monkeypatch):
    monkeypatch.setattr(workflow, "EVIDENCE_MAX_FILES", 2)
    add(report, personas.staff_a, pdf("一.pdf"))

    with pytest.raises(ValidationError) as error:
        add(report, personas.staff_a, pdf("二.pdf"), pdf("三.pdf"))

    assert "最多 2 个佐证材料，已有 1 个，本次选了 2 个" in error.value.messages[0]
    assert Evidence.objects.count() == 1


def test_deleting_removes_the_row_records_it_and_removes_the_file_after_commit(
    report, personas, django_capture_on_commit_callbacks
):
    [evidence] = add(report, personas.staff_a, pdf())
    storage, name, pk = evidence.file.storage, evidence.file.name, evidence.pk
    version = MonthlyReport.objects.get(pk=report.pk).version

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        workflow.evidence_delete(report=report, user=personas.staff_a, evidence=evidence)
    assert storage.exists(name)  # nothing leaves storage before the delete commits
    for callback in callbacks:
        callback()

    assert not storage.exists(name)
    assert not Evidence.objects.exists()
    assert report.version == version + 1
    event = report.events.get(action=Action.EVIDENCE_REMOVED)
    assert (event.actor, event.reason) == (personas.staff_a, "主题党日按月开展：会议记录.pdf")
    deleted = Evidence.history.get(id=pk, history_type="-")
    assert deleted.history_user == personas.staff_a


def test_a_delete_rolled_back_keeps_the_file(report, personas, django_capture_on_commit_callbacks):
    [evidence] = add(report, personas.staff_a, pdf())
    storage, name = evidence.file.storage, evidence.file.name

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        workflow.evidence_replace(
            report=report,
            user=personas.staff_a,
            evidence=evidence,
            upload=samples.upload("坏.pdf", b"MZ"),
        )

    assert storage.exists(name)
    assert Evidence.objects.filter(pk=evidence.pk).exists()


def test_replacing_puts_the_new_file_under_the_same_criterion(report, personas):
    [old] = add(report, personas.staff_a, pdf("旧.pdf"), code="BR-02")

    new = workflow.evidence_replace(
        report=report, user=personas.staff_a, evidence=old, upload=pdf("新.pdf")
    )

    assert new.value.criterion.code == "BR-02"
    assert list(Evidence.objects.values_list("original_name", flat=True)) == ["新.pdf"]
    actions = list(report.events.values_list("action", flat=True))
    assert actions[-3:] == [Action.EVIDENCE_ADDED, Action.EVIDENCE_REMOVED, Action.EVIDENCE_ADDED]


@pytest.mark.parametrize("status", [Status.SUBMITTED, Status.APPROVED])
def test_evidence_of_a_submitted_or_approved_report_cannot_be_added_or_deleted(
    report, personas, status
):
    to_status(report, personas.staff_a, status, checker=personas.staff_a2)
    evidence = Evidence.objects.filter(value__report=report).first()

    with pytest.raises(ValidationError) as error:
        workflow.evidence_delete(report=report, user=personas.staff_a, evidence=evidence)
    assert "不能再删除佐证材料；如需修改，请联系审核人退回" in error.value.messages[0]
    with pytest.raises(ValidationError) as error:
        add(report, personas.staff_a, pdf())
    assert "不能再上传佐证材料" in error.value.messages[0]
    assert Evidence.objects.filter(pk=evidence.pk).exists()


@pytest.mark.parametrize("persona", ["auditor", "county_leader", "grid_worker"])
def test_roles_that_do_not_enter_reports_cannot_touch_evidence(report, personas, persona):
    [evidence] = add(report, personas.staff_a, pdf())
    user = getattr(personas, persona)

    with pytest.raises(PermissionDenied):
        add(report, user, pdf())
    with pytest.raises(PermissionDenied):
        workflow.evidence_delete(report=report, user=user, evidence=evidence)


# The data-entry page --------------------------------------------------------------------------


def test_several_files_can_be_picked_at_once_on_the_page(tree, report, personas, login):
    client = login(personas.staff_a)
    page = client.get(edit_url(tree.village_a1)).content.decode()
    assert 'name="evidence-BR-01"' in page and "multiple" in page

    data = form_data(report) | {
        "evidence-BR-01": [pdf("一.pdf"), samples.upload("二.jpg", samples.jpeg())],
        "evidence-BR-02": [samples.upload("三.docx", samples.docx())],
    }
    response = client.post(edit_url(tree.village_a1), data, follow=True)

    assert response.status_code == 200
    assert sorted(Evidence.objects.values_list("original_name", flat=True)) == [
        "一.pdf",
        "三.docx",
        "二.jpg",
    ]
    assert "佐证材料：删除 0 个，替换 0 个，新上传 3 个。" in response.content.decode()


def test_a_renamed_file_on_the_page_is_refused_beside_its_field(tree, report, personas, login):
    data = form_data(report) | {
        "evidence-BR-01": [pdf("好.pdf"), samples.upload("x.png", b"<html>")]
    }

    response = login(personas.staff_a).post(edit_url(tree.village_a1), data)

    assert response.status_code == 200
    assert "文件“x.png”的内容不是 PNG 图片" in response.content.decode()
    assert not Evidence.objects.exists()
    assert not report.values.exists()


def test_a_file_is_deleted_or_replaced_from_the_page(tree, report, personas, login):
    _keep, drop, swap = add(report, personas.staff_a, pdf("留.pdf"), pdf("删.pdf"), pdf("换.pdf"))
    report.refresh_from_db()
    client = login(personas.staff_a)
    page = client.get(edit_url(tree.village_a1)).content.decode()
    assert f'name="remove-evidence-{drop.pk}"' in page
    assert f'name="replace-evidence-{swap.pk}"' in page

    data = form_data(report) | {
        f"remove-evidence-{drop.pk}": "on",
        f"replace-evidence-{swap.pk}": samples.upload("新照片.png", samples.png()),
    }
    response = client.post(edit_url(tree.village_a1), data, follow=True)

    assert "佐证材料：删除 1 个，替换 1 个，新上传 0 个。" in response.content.decode()
    assert sorted(Evidence.objects.values_list("original_name", flat=True)) == [
        "新照片.png",
        "留.pdf",
    ]
    assert report.events.filter(action=Action.EVIDENCE_REMOVED).count() == 2


def test_the_page_refuses_to_delete_evidence_of_a_submitted_report(tree, report, personas, login):
    to_status(report, personas.staff_a, Status.SUBMITTED)
    evidence = Evidence.objects.filter(value__report=report).first()
    client = login(personas.staff_a)

    page = client.get(edit_url(tree.village_a1)).content.decode()
    assert "remove-evidence-" not in page
    data = form_data(report) | {f"remove-evidence-{evidence.pk}": "on"}
    response = client.post(edit_url(tree.village_a1), data, follow=True)

    assert "不能修改" in response.content.decode()
    assert Evidence.objects.filter(pk=evidence.pk).exists()


def test_evidence_of_another_report_cannot_be_deleted_through_this_page(
    tree, report, personas, login
):
    other = workflow.report_get_or_create(unit=tree.village_a2, period=MARCH)
    [theirs] = add(other, personas.staff_a, pdf())

    data = form_data(report) | {f"remove-evidence-{theirs.pk}": "on"}
    login(personas.staff_a).post(edit_url(tree.village_a1), data)

    assert Evidence.objects.filter(pk=theirs.pk).exists()


def test_township_b_staff_get_404_for_the_page_and_its_files(tree, report, personas, login):
    [evidence] = add(report, personas.staff_a, pdf())
    client = login(personas.staff_b)

    data = form_data(report) | {f"remove-evidence-{evidence.pk}": "on"}
    assert client.post(edit_url(tree.village_a1), data).status_code == 404
    url = reverse("branches:report_evidence", args=[tree.village_a1.code, "2026-03", evidence.pk])
    assert client.get(url).status_code == 404
    assert Evidence.objects.filter(pk=evidence.pk).exists()


def test_a_file_whose_uploader_was_deleted_still_shows(tree, report, personas, login):
    leaver = User.objects.create_user(
        username="leaver", role=User.Role.TOWNSHIP_STAFF, unit=tree.township_a
    )
    add(report, leaver, pdf("离职前上传.pdf"))
    leaver.delete()

    response = login(personas.auditor).get(edit_url(tree.village_a1))

    assert response.status_code == 200
    text = response.content.decode()
    assert "离职前上传.pdf" in text and "（账号已删除）" in text
    assert Evidence.objects.get().uploaded_by is None
