"""One text rule and one unit-name rule, applied alike by forms, the API and both imports."""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from branches.forms.reports import ReportForm, ReviewForm, UnlockForm
from branches.models import MonthlyReport, OrgUnit
from branches.services import workflow
from branches.services.unit_import import units_import
from branches.spreadsheets import month_import, month_sheet
from branches.spreadsheets.reading import read_table, read_workbook
from branches.validators import name_problem, text_problem
from tests.branches.test_assessment_api import MARCH, advance, report_url
from tests.branches.test_pages import edit_data

Status = MonthlyReport.Status
HOSTILE = [
    ("\x00", "U+0000"),
    ("\x07", "U+0007"),
    ("\x1b[31m", "U+001B"),
    ("\x7f", "U+007F"),
    ("\u202e", "U+202E"),
    ("\u2066", "U+2066"),
]


pytestmark = pytest.mark.usefixtures("april_third")


@pytest.mark.parametrize(("char", "code"), HOSTILE)
def test_control_and_bidi_characters_are_refused_on_one_line_and_on_several(char, code):
    assert code in text_problem(f"甲{char}乙")
    assert code in text_problem(f"甲{char}乙", multiline=True)


@pytest.mark.parametrize("text", ["甲\t乙", "甲\n乙", "甲\r\n乙"])
def test_tab_and_newline_are_text_only_where_a_value_may_run_over_lines(text):
    assert "只能填写一行" in text_problem(text)
    assert text_problem(text, multiline=True) is None


def test_a_lone_carriage_return_is_refused_even_on_several_lines():
    assert "U+000D" in text_problem("甲\r乙", multiline=True)


def test_ordinary_chinese_text_with_punctuation_passes():
    assert text_problem("秦岭路社区党委（第一支部）—— 2026年3月，完成率 95%") is None


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_a_name_may_not_start_like_a_formula(start):
    assert "不能以" in name_problem(f"{start}1+1")
    assert name_problem(f"甲{start}乙") is None


# The unit edit page and the hierarchy import: same rule, same answer.


def import_one(tree, **cells):
    row = {"编码": "410102001009", "名称": "新村", "层级": "村", "上级编码": "410102001"}
    row.update({"区域类型": "农村", **cells})
    upload = SimpleUploadedFile(
        "u.csv", (",".join(row) + "\n" + ",".join(row.values()) + "\n").encode()
    )
    header, rows = read_table(upload, filename="u.csv")
    return units_import(header=header, rows=rows)


@pytest.mark.parametrize(
    ("field", "label", "value", "message"),
    [
        ("name", "名称", "西岗\x00村", "U+0000"),
        ("name", "名称", "西岗\x07村", "U+0007"),
        ("secretary_name", "书记", "\u202e王芳", "U+202E"),
        ("party_org_name", "党组织名称", "西岗村\x1b党支部", "U+001B"),
        ("name", "名称", "=HYPERLINK(1)", "不能以"),
        ("name", "名称", "@西岗村", "不能以"),
        ("secretary_name", "书记", "-王芳", "不能以"),
    ],
)
def test_the_edit_page_and_the_import_refuse_the_same_names(
    field, label, value, message, tree, personas, login
):
    before = getattr(tree.village_a1, field)
    url = reverse("branches:unit_edit", args=[tree.village_a1.code])
    response = login(personas.staff_a).post(url, edit_data(tree.village_a1, **{field: value}))
    result = import_one(tree, **{label: value})

    assert response.status_code == 200
    assert message in response.context["form"].errors[field][0]
    assert [(e.row, e.column) for e in result.errors] == [(2, label)]
    assert message in result.errors[0].reason
    assert not OrgUnit.objects.filter(code="410102001009").exists()
    tree.village_a1.refresh_from_db()
    assert getattr(tree.village_a1, field) == before


def test_the_edit_page_names_the_field_in_its_message(tree, personas, login):
    url = reverse("branches:unit_edit", args=[tree.village_a1.code])
    response = login(personas.staff_a).post(url, edit_data(tree.village_a1, name="甲\x07乙"))
    assert response.context["form"].errors["name"] == [
        "“名称”含有不可见的控制字符 U+0007（第2个字），请删除后重新填写。"
    ]


def test_a_nul_in_a_parent_code_is_one_error_and_no_query_sees_it(tree):
    result = import_one(tree, 上级编码="410102\x00001")
    assert [(e.row, e.column) for e in result.errors] == [(2, "上级编码")]
    assert "U+0000" in result.errors[0].reason


def test_the_import_page_answers_a_nul_with_its_error_table(tree, personas, login):
    upload = SimpleUploadedFile(
        "u.csv", "编码,名称,层级,上级编码\n410102009,秦\x00岭,乡镇,410102\n".encode()
    )
    response = login(personas.admin).post(reverse("branches:unit_import"), {"file": upload})
    assert response.status_code == 200
    assert "U+0000" in response.content.decode()


# Report notes and reasons: forms and API.


@pytest.fixture
def report_a1(tree, criteria):
    return workflow.report_get_or_create(unit=tree.village_a1, period=MARCH)


@pytest.mark.parametrize(("char", "code"), HOSTILE)
def test_a_note_on_the_report_page_is_refused_with_a_control_character(char, code, report_a1):
    criteria = workflow.manual_criteria(report_a1.criteria_set)
    note = f"note-{criteria[0].code}"
    form = ReportForm(
        {"version": report_a1.version, note: f"说明{char}"},
        criteria=criteria,
        stored={},
        version=report_a1.version,
    )
    assert not form.is_valid()
    assert code in form.errors[note][0] and "备注" in form.errors[note][0]


def test_a_reason_may_run_over_lines_but_not_hide_control_characters():
    unlock = UnlockForm({"version": 1, "reason": "第一行\r\n第二行"})
    review = ReviewForm({"action": "return", "selected": ["1:1"], "reason": "佐证\x1b不清晰"})
    assert unlock.is_valid()
    assert not review.is_valid()
    assert "“退回原因”含有不可见的控制字符 U+001B" in review.errors["reason"][0]


def test_the_api_refuses_a_note_with_a_bidi_override_and_names_the_field(
    report_a1, personas, login
):
    response = login(personas.staff_a).patch(
        report_url(report_a1),
        {"version": report_a1.version, "values": {"BR-03": {"value": 3, "note": "abc\u202e"}}},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "“备注”含有改变文字显示方向的控制字符 U+202E" in str(response.json())
    assert not report_a1.values.exists()


def test_the_api_refuses_a_return_reason_with_a_control_character_but_takes_newlines(
    report_a1, personas, login
):
    advance(report_a1, personas.staff_a, Status.SUBMITTED)
    client = login(personas.staff_a)

    def post(reason):
        return client.post(
            report_url(report_a1, "return"),
            {"version": report_a1.version, "reason": reason},
            content_type="application/json",
        )

    refused = post("佐证\x07不清晰")
    taken = post("佐证不清晰\n请重新上传")
    assert refused.status_code == 400
    assert "“原因”含有不可见的控制字符 U+0007" in refused.json()["reason"][0]
    assert taken.status_code == 200
    assert taken.json()["return_reason"] == "佐证不清晰\n请重新上传"


# The month sheet.


def test_a_month_sheet_cell_with_a_control_character_is_refused_by_row_and_column(
    tree, personas, criteria
):
    file = month_sheet.report_sheet_file(user=personas.staff_a, unit=tree.township_a, period=MARCH)
    workbook = openpyxl.load_workbook(file)
    rural = workbook["农村"]
    # XML cannot carry most C0 controls, so an .xlsx brings DEL, newlines and bidi controls.
    rural.cell(row=2, column=1).value = "410102001002\x7f"
    rural.cell(row=2, column=month_sheet.FIXED_COLUMNS + 1).value = "是\u202e"
    buffer = io.BytesIO()
    workbook.save(buffer)
    tables = read_workbook(SimpleUploadedFile("m.xlsx", buffer.getvalue()), filename="m.xlsx")
    result = month_import.report_sheet_import(
        user=personas.staff_a, unit=tree.township_a, period=MARCH, tables=tables
    )
    header = [c.value for c in rural[1]]
    assert [(e.sheet, e.row) for e in result.errors] == [("农村", 2), ("农村", 2)]
    assert result.errors[0].column == header[0] and "U+007F" in result.errors[0].reason
    assert "U+202E" in result.errors[1].reason
    assert not MonthlyReport.objects.filter(values__isnull=False).exists()
