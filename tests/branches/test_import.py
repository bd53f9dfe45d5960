"""The hierarchy import: reading spreadsheets safely, all-or-nothing validation, bulk writes."""

import io
import re
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from branches.models import OrgUnit
from branches.services.unit_import import units_import
from branches.spreadsheets import reading
from branches.spreadsheets.reading import SpreadsheetError, read_table

L = OrgUnit.Level
HEADER = "编码,名称,层级,上级编码,区域类型,党组织类型,党组织名称,书记,党员数,户数"
# Children may come before their parents: 410102003 is created by row 3.
GOOD_ROWS = [
    "410102003001,秦岭路社区,村(社区),410102003,城市社区,党委,秦岭路社区党委,王芳,88,2100",
    "410102003,秦岭路街道,乡镇(街道),410102,,党工委,秦岭路街道党工委,赵强,0,0",
    "410102003001001,桐柏小区,小区,410102003001,,党支部,桐柏小区党支部,,12,300",
    "410102001003,西岗村,村,410102001,农村,党总支,西岗村党总支,刘伟,45,520",
]


def csv_upload(lines, *, name="units.csv", encoding="utf-8"):
    return SimpleUploadedFile(name, ("\n".join(lines) + "\n").encode(encoding))


def xlsx_bytes(rows) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def import_lines(lines, *, user=None):
    header, rows = read_table(csv_upload(lines), filename="units.csv")
    return units_import(header=header, rows=rows, user=user)


def errors_of(result):
    return [(e.row, e.column, e.reason) for e in result.errors]


def codes():
    return set(OrgUnit.objects.values_list("code", flat=True))


# Importing good files


def test_a_csv_creates_units_with_parents_in_the_database_or_anywhere_in_the_file(tree):
    result = import_lines([HEADER, *GOOD_ROWS])

    assert (result.created, result.updated, result.unchanged, result.errors) == (4, 0, 0, [])
    street = OrgUnit.objects.get(code="410102003")
    community = OrgUnit.objects.get(code="410102003001")
    compound = OrgUnit.objects.get(code="410102003001001")
    village = OrgUnit.objects.get(code="410102001003")
    assert [u.code for u in OrgUnit.objects.get_ancestors(compound)] == [
        "41",
        "4101",
        "410102",
        "410102003",
        "410102003001",
    ]
    assert list(OrgUnit.objects.get_children(tree.township_a)) == [
        tree.village_a1,
        tree.village_a2,
        village,
    ]
    assert (community.area_type, community.member_count, community.secretary_name) == (
        "URBAN",
        88,
        "王芳",
    )
    assert compound.area_type == "URBAN", "a compound inherits its community's area type"
    assert street.area_type == "" and street.party_org_kind == "WORKING_COMMITTEE"
    assert village.level == L.VILLAGE and village.party_org_kind == "GENERAL_BRANCH"
    assert OrgUnit.objects.get(code="410102").numchild == 3
    assert (street.numchild, community.numchild, compound.numchild) == (1, 1, 0)
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])


def test_new_children_follow_the_last_existing_child_like_add_child_would(tree):
    import_lines([HEADER, "410102001003,西岗村,村,410102001,农村,,,,,"])
    by_treebeard = OrgUnit.objects.add_child(
        OrgUnit.objects.get(code="410102001"),
        {"code": "410102001004", "name": "后加村", "level": L.VILLAGE, "area_type": "RURAL"},
    )

    paths = [u.path for u in OrgUnit.objects.get_children(tree.township_a)]
    assert paths == sorted(set(paths)) and len(paths) == 4
    assert by_treebeard.path == paths[-1]
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])


def test_an_xlsx_file_imports_like_a_csv_with_numbers_and_english_headers(tree):
    header = [
        "code",
        "name",
        "level",
        "parent_code",
        "area_type",
        "party_org_kind",
        "member_count",
    ]
    data = xlsx_bytes(
        [
            header,
            [410102003, "秦岭路街道", "TOWNSHIP", 410102, None, "党工委", 0],
            [410102003001, "秦岭路社区", "VILLAGE", 410102003, "URBAN", "COMMITTEE", 88.0],
        ]
    )
    header, rows = read_table(SimpleUploadedFile("units.xlsx", data), filename="units.xlsx")
    result = units_import(header=header, rows=rows)

    assert (result.created, result.errors) == (2, [])
    community = OrgUnit.objects.get(code="410102003001")
    assert (community.name, community.area_type, community.party_org_kind) == (
        "秦岭路社区",
        "URBAN",
        "COMMITTEE",
    )
    assert community.member_count == 88


def test_a_gb18030_csv_from_chinese_excel_is_read(tree):
    upload = csv_upload([HEADER, GOOD_ROWS[1]], encoding="gb18030")
    header, rows = read_table(upload, filename="units.csv")

    assert header[:3] == ["编码", "名称", "层级"]
    assert list(rows) == [(2, GOOD_ROWS[1].split(","))]


def test_a_utf8_csv_with_byte_order_mark_is_read_and_blank_rows_keep_numbering():
    upload = SimpleUploadedFile("units.csv", "\ufeff编码,名称\n\n,\nA1,甲\n".encode())
    header, rows = read_table(upload, filename="units.csv")
    assert (header, list(rows)) == (["编码", "名称"], [(4, ["A1", "甲"])])


def test_reimporting_the_same_file_changes_nothing(tree):
    import_lines([HEADER, *GOOD_ROWS])
    history_before = OrgUnit.history.count()
    updated_at = dict(OrgUnit.objects.values_list("code", "updated_at"))

    result = import_lines([HEADER, *GOOD_ROWS])

    assert (result.created, result.updated, result.unchanged, result.errors) == (0, 0, 4, [])
    assert OrgUnit.history.count() == history_before
    assert dict(OrgUnit.objects.values_list("code", "updated_at")) == updated_at


def test_a_renamed_unit_is_updated_and_the_change_recorded(tree, personas):
    result = import_lines(
        [HEADER, "410102001001,建设路第一社区,村(社区),410102001,城市社区,党委,,李明,120,3000"],
        user=personas.admin,
    )

    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    unit = OrgUnit.objects.get(code="410102001001")
    assert (unit.name, unit.secretary_name, unit.member_count) == ("建设路第一社区", "李明", 120)
    record = unit.history.first()
    assert record.history_type == "~"
    assert record.name == "建设路第一社区"
    assert record.history_user == personas.admin
    assert record.history_change_reason == "导入层级表"


def test_columns_missing_from_the_file_are_left_alone(tree):
    OrgUnit.objects.filter(code="410102001002").update(secretary_name="周红", member_count=40)

    result = import_lines(["编码,名称,层级,上级编码", "410102001002,西流湖村委,村,410102001"])

    assert result.updated == 1
    unit = OrgUnit.objects.get(code="410102001002")
    assert (unit.name, unit.secretary_name, unit.member_count, unit.area_type) == (
        "西流湖村委",
        "周红",
        40,
        "RURAL",
    )


def test_bulk_created_units_are_recorded_in_the_history(tree, personas):
    import_lines([HEADER, *GOOD_ROWS], user=personas.admin)

    records = OrgUnit.history.filter(code__in=[row.split(",")[0] for row in GOOD_ROWS])
    assert records.count() == 4
    assert {r.history_type for r in records} == {"+"}
    assert {r.history_user for r in records} == {personas.admin}
    created = records.get(code="410102003001")
    assert created.id == OrgUnit.objects.get(code="410102003001").pk
    assert (created.name, created.area_type) == ("秦岭路社区", "URBAN")


# Refusing bad files: every error names its row and column, and nothing is imported


@pytest.fixture
def unchanged_tree(tree):
    """The tree, and after the test: no unit was added or changed."""
    before = list(OrgUnit.objects.values_list("code", "name", "path", "numchild"))
    history = OrgUnit.history.count()
    yield tree
    assert list(OrgUnit.objects.values_list("code", "name", "path", "numchild")) == before
    assert OrgUnit.history.count() == history


def test_an_unknown_parent_is_refused(unchanged_tree):
    result = import_lines([HEADER, GOOD_ROWS[1], "410199001,无名街道,街道,410199,,,,,,"])

    assert not result.ok
    [(row, column, reason)] = errors_of(result)
    assert (row, column) == (3, "上级编码")
    assert "“410199”不存在" in reason


def test_a_duplicate_code_is_refused(unchanged_tree):
    result = import_lines([HEADER, GOOD_ROWS[1], GOOD_ROWS[1].replace("秦岭路街道", "别名")])

    [(row, column, reason)] = errors_of(result)
    assert (row, column) == (3, "编码")
    assert "与第2行重复" in reason


def test_a_bad_level_is_refused(unchanged_tree):
    result = import_lines([HEADER, "410102003,秦岭路街道,大队,410102,,,,,,"])

    [(row, column, reason)] = errors_of(result)
    assert (row, column) == (2, "层级")
    assert "无法识别的层级“大队”" in reason and "乡镇(街道)" in reason


def test_a_bad_level_does_not_hide_an_unknown_parent(unchanged_tree):
    result = import_lines([HEADER, "410102003,秦岭路街道,大队,4199,,,,,,"])
    assert [e[:2] for e in errors_of(result)] == [(2, "层级"), (2, "上级编码")]


def test_a_level_not_below_the_parents_is_refused(unchanged_tree):
    result = import_lines(
        [HEADER, "410102003,秦岭路街道,乡镇,410102,,,,,,", "410102003001,错层,县,410102003,,,,,,"]
    )

    [(row, column, reason)] = errors_of(result)
    assert (row, column) == (3, "层级")
    assert "必须低于上级单位“410102003”的层级“乡镇(街道)”" in reason


def test_wrong_column_names_are_refused(unchanged_tree):
    result = import_lines(["编号,名称,层级,上级编码,备注", "410102003,秦岭路街道,乡镇,410102,x"])

    assert [e[:2] for e in errors_of(result)] == [(1, "编号"), (1, "备注"), (1, "编码")]
    unknown, _, missing = (e[2] for e in errors_of(result))
    assert unknown.startswith("无法识别的列名。可用的列名：编码、名称、层级、上级编码、")
    assert missing == "缺少必需的列，请在第1行加上“编码”列（也可写作 code）。"


def test_one_bad_row_among_good_ones_imports_nothing_and_every_error_is_listed(unchanged_tree):
    result = import_lines(
        [
            HEADER,
            *GOOD_ROWS,
            "410102001004,坏村,村,410102001,,党支部,,,三十,-1",
            '410102001005,=HYPERLINK("x"),村,410102001,农村,,,,,',
        ]
    )

    assert errors_of(result) == [
        (6, "区域类型", "村(社区)及以下单位必须填写区域类型：农村 或 城市社区。"),
        (6, "党员数", "“三十”不是有效的人数/户数，请填写不小于0的整数，例如 35。"),
        (6, "户数", "“-1”不是有效的人数/户数，请填写不小于0的整数，例如 35。"),
        (7, "名称", "不能以“=”“+”“-”“@”开头：表格软件会把这样的内容当作公式。请删除开头的符号。"),
    ]


def test_area_types_must_be_blank_above_villages_and_consistent_below(unchanged_tree):
    result = import_lines(
        [
            HEADER,
            "410102003,秦岭路街道,乡镇,410102,农村,,,,,",
            "410102001001002,新小区,小区,410102001001,农村,,,,,",
        ]
    )

    assert [e[:2] for e in errors_of(result)] == [(2, "区域类型"), (3, "区域类型")]
    assert "留空" in errors_of(result)[0][2]
    assert "应与上级单位一致（城市社区）" in errors_of(result)[1][2]


def test_a_unit_below_a_township_without_a_village_between_needs_an_area_type(unchanged_tree):
    result = import_lines([HEADER, "410102001009,直属小区,小区,410102001,,,,,,"])

    assert errors_of(result) == [
        (2, "区域类型", "村(社区)及以下单位必须填写区域类型：农村 或 城市社区。")
    ]


def test_a_second_top_level_unit_is_refused(unchanged_tree):
    result = import_lines([HEADER, "42,湖北省,省,,,,,,,"])

    assert errors_of(result) == [
        (2, "上级编码", "只能有一个顶级单位，系统中已有“河南省（41）”，请填写上级编码。")
    ]


def test_an_empty_tree_gets_its_root_and_the_levels_below_from_one_file(db):
    result = import_lines(
        [HEADER, "4101,郑州市,市,41,,,,,,", "41,河南省,省,,,党委,中共河南省委,,,"]
    )

    assert (result.created, result.errors) == (2, [])
    assert OrgUnit.objects.get(code="41").path == "0001"
    assert OrgUnit.objects.get(code="4101").path == "00010001"
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])


def test_two_top_level_units_in_one_file_are_refused(db):
    result = import_lines([HEADER, "41,河南省,省,,,,,,,", "42,湖北省,省,,,,,,,"])

    assert errors_of(result) == [
        (3, "上级编码", "只能有一个顶级单位，第2行已是顶级单位，请填写上级编码。")
    ]
    assert not OrgUnit.objects.exists()


def test_moving_or_changing_the_level_of_an_existing_unit_is_refused(unchanged_tree):
    result = import_lines(
        [
            HEADER,
            "410102001002,西流湖村,村,410102002,农村,,,,,",
            "410102002001,须水村,小区,410102002,农村,,,,,",
        ]
    )

    assert [e[:2] for e in errors_of(result)] == [(2, "上级编码"), (3, "层级")]
    assert "不支持通过导入移动单位，请在管理后台移动" in errors_of(result)[0][2]
    assert "不支持通过导入修改层级" in errors_of(result)[1][2]


def test_a_non_administrator_cannot_import_under_a_parent_outside_their_jurisdiction(
    unchanged_tree, personas
):
    result = import_lines(
        [
            HEADER,
            "410102002009,外村,村,410102002,农村,,,,,",
            "410102001009,本乡新村,村,410102001,农村,,,,,",
            "410102002001,改名,村,410102002,农村,,,,,",
        ],
        user=personas.staff_a,
    )

    assert [e[:2] for e in errors_of(result)] == [(2, "上级编码"), (4, "编码")]
    assert "不在您的管辖范围内" in errors_of(result)[0][2]


def test_a_header_without_rows_is_refused(unchanged_tree):
    result = import_lines([HEADER])
    assert errors_of(result) == [
        (None, "", "文件只有表头，没有数据行。请从第2行起每行填写一个单位。")
    ]


def test_data_in_a_column_without_a_name_is_refused(unchanged_tree):
    result = import_lines(["编码,名称,层级,上级编码", "410102003,秦岭路街道,乡镇,410102,多余"])
    assert errors_of(result) == [
        (2, "第5列", "该列没有列名，请在第1行补上列名或删除该列中的内容。")
    ]


def test_an_xlsx_formula_is_refused(unchanged_tree):
    data = xlsx_bytes(
        [
            ["编码", "名称", "层级", "上级编码", "党员数"],
            ["410102003", "秦岭路街道", "乡镇", "410102", "=SUM(1,2)"],
        ]
    )
    header, rows = read_table(SimpleUploadedFile("u.xlsx", data), filename="u.xlsx")
    result = units_import(header=header, rows=rows)

    assert [e[:2] for e in errors_of(result)] == [(2, "党员数")]
    assert "公式" in errors_of(result)[0][2]


# Refusing files that are not safe spreadsheets


def refusal(data: bytes, filename: str) -> str:
    with pytest.raises(SpreadsheetError) as excinfo:
        _header, rows = read_table(SimpleUploadedFile(filename, data), filename=filename)
        list(rows)
    return str(excinfo.value)


def test_an_empty_file_is_refused():
    assert "文件是空的" in refusal(b"", "units.csv")


def test_an_unknown_extension_is_refused():
    assert "请上传 Excel 文件（.xlsx）或 CSV 文件（.csv）" in refusal(b"a,b\n", "units.txt")
    assert "另存为" in refusal(b"\xd0\xcf\x11\xe0", "units.xls")


def test_a_file_renamed_to_xlsx_is_refused():
    assert "不是有效的 Excel（.xlsx）文件" in refusal(b"%PDF-1.4 not a workbook", "units.xlsx")


def test_a_zip_that_is_not_a_workbook_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert "不是有效的 Excel（.xlsx）文件" in refusal(buffer.getvalue(), "units.xlsx")


def test_an_oversized_file_is_refused(settings):
    settings.UPLOAD_MAX_BYTES = 1024
    assert "超过" in refusal(b"x" * 1025, "units.csv")


def test_an_oversized_file_without_a_declared_size_is_refused(settings):
    settings.UPLOAD_MAX_BYTES = 1024
    with pytest.raises(SpreadsheetError, match="超过"):
        read_table(io.BytesIO(b"x" * 1025), filename="units.csv")


def test_a_zip_bomb_is_refused_before_openpyxl_opens_it(monkeypatch):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (50 * 1024 * 1024))
    data = buffer.getvalue()
    assert len(data) < 100 * 1024
    opened = []
    monkeypatch.setattr(reading.openpyxl, "load_workbook", lambda *a, **k: opened.append(a))

    assert "疑似恶意文件" in refusal(data, "units.xlsx")
    assert opened == []


def test_a_workbook_unpacking_beyond_the_limit_is_refused(settings):
    settings.SPREADSHEET_MAX_UNPACKED_BYTES = 10_000
    data = xlsx_bytes([["编码"], *[[f"code-{n}"] for n in range(500)]])
    assert "疑似恶意文件" in refusal(data, "units.xlsx")


def test_xml_entities_in_a_workbook_are_refused_by_defusedxml():
    data = xlsx_bytes([["编码"], ["A1"]])
    hostile = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(hostile, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = b'<!DOCTYPE worksheet [<!ENTITY e "boom">]>' + content
            target.writestr(item, content)

    assert "不是有效的 Excel（.xlsx）文件" in refusal(hostile.getvalue(), "units.xlsx")


def test_too_many_rows_are_refused(settings):
    settings.IMPORT_MAX_ROWS = 2
    assert "超过 2 行数据的上限" in refusal(b"a\n1\n2\n3\n", "units.csv")
    data = xlsx_bytes([["a"], [1], [2], [3]])
    assert "超过 2 行数据的上限" in refusal(data, "units.xlsx")


def test_hostile_xlsx_dimensions_are_ignored():
    """A sheet claiming A1:XFD1048576 would otherwise pad every row to 16,384 cells."""
    data = xlsx_bytes([["编码", "名称"], ["A1", "甲"]])
    hacked = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(hacked, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(
                    rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', content
                )
                assert b"XFD1048576" in content
            target.writestr(item, content)

    assert [len(row) for row in reading._xlsx_rows(hacked.getvalue())] == [2, 2]


# The command


def write_csv(tmp_path, lines):
    path = tmp_path / "units.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_command_prints_the_counts(tree, tmp_path):
    out = io.StringIO()
    call_command("import_units", str(write_csv(tmp_path, [HEADER, *GOOD_ROWS])), stdout=out)

    assert "新建 4 个，更新 0 个，没有变化 0 个" in out.getvalue()
    assert "410102003001001" in codes()


def test_the_command_prints_every_error_and_exits_non_zero(tree, tmp_path):
    path = write_csv(tmp_path, [HEADER, GOOD_ROWS[1], "410199001,无名街道,街道,410199,,,,,,"])
    err = io.StringIO()

    with pytest.raises(CommandError) as excinfo:
        call_command("import_units", str(path), stderr=err)

    # manage.py exits with the CommandError's return code after printing its message.
    assert excinfo.value.returncode == 1
    assert str(excinfo.value) == "发现 1 处错误，没有导入任何单位。"
    assert err.getvalue().splitlines() == [
        "第3行 [上级编码]：上级编码“410199”不存在：系统中没有该单位，本文件中也没有。"
        "请先导入上级单位或更正编码。"
    ]
    assert "410102003" not in codes()


def test_the_command_refuses_an_unreadable_file(tmp_path):
    with pytest.raises(CommandError, match="无法打开文件"):
        call_command("import_units", str(tmp_path / "missing.csv"))


# The page


def test_an_administrator_uploads_a_file_and_sees_the_counts(personas, login):
    client = login(personas.admin)
    response = client.post(
        reverse("branches:unit_import"), {"file": csv_upload([HEADER, *GOOD_ROWS])}, follow=True
    )

    assert response.status_code == 200
    assert "导入完成：新建 4 个单位，更新 0 个，0 个没有变化。" in response.content.decode()
    assert OrgUnit.history.get(code="410102003").history_user == personas.admin


def test_an_administrator_sees_the_error_table_and_nothing_is_imported(personas, login):
    client = login(personas.admin)
    before = codes()
    response = client.post(
        reverse("branches:unit_import"),
        {"file": csv_upload([HEADER, GOOD_ROWS[1], "410199001,无名街道,街道,410199,,,,,,"])},
    )

    assert response.status_code == 200
    assert [e[:2] for e in errors_of(response.context["result"])] == [(3, "上级编码")]
    assert "上级编码“410199”不存在" in response.content.decode()
    assert codes() == before


def test_an_administrator_sees_why_a_file_cannot_be_read(personas, login):
    client = login(personas.admin)
    response = client.post(
        reverse("branches:unit_import"),
        {"file": SimpleUploadedFile("units.xlsx", b"not a zip")},
    )

    assert response.status_code == 200
    assert "不是有效的 Excel（.xlsx）文件" in response.context["form"].errors["file"][0]


def test_the_template_csv_downloads_and_imports(personas, login):
    client = login(personas.admin)
    response = client.get(reverse("branches:unit_import_template"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    content = response.content
    assert content.startswith("\ufeff".encode())
    header, rows = read_table(SimpleUploadedFile("t.csv", content), filename="t.csv")
    rows = list(rows)
    assert header[:4] == ["编码", "名称", "层级", "上级编码"] and len(rows) == 2
    assert units_import(header=header, rows=rows).created == 2


@pytest.mark.parametrize("persona", ["staff_a", "auditor", "province_leader", "secretary"])
@pytest.mark.parametrize("url", ["branches:unit_import", "branches:unit_import_template"])
def test_only_administrators_may_open_the_import(personas, login, persona, url):
    client = login(getattr(personas, persona))
    assert client.get(reverse(url)).status_code == 403
    assert client.post(reverse(url), {"file": csv_upload([HEADER, *GOOD_ROWS])}).status_code == 403
    assert "410102003" not in codes()


def test_an_administrator_opens_the_import_page(personas, login):
    response = login(personas.admin).get(reverse("branches:unit_import"))
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in response.content.decode()


@pytest.mark.parametrize("url", ["branches:unit_import", "branches:unit_import_template"])
def test_an_anonymous_visitor_is_sent_to_the_login_page(client, url):
    response = client.get(reverse(url))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# Bounds: the work a file can cause is capped by columns, cells and collected errors.


def test_unknown_and_missing_columns_are_refused_before_any_row_is_read(unchanged_tree):
    def rows():
        raise AssertionError("a row was read")
        yield

    result = units_import(header=["编码", "名称", "层级", "外号"], rows=rows())

    assert [e[:2] for e in errors_of(result)] == [(1, "外号"), (1, "上级编码")]


def test_collecting_errors_stops_at_the_cap_and_says_more_are_not_listed(unchanged_tree):
    wide_row = "410102003,秦岭路街道,乡镇,410102" + ",多余" * 30
    result = import_lines(["编码,名称,层级,上级编码", *[wide_row] * 20])

    assert len(result.errors) == reading.MAX_ERRORS
    assert result.more_errors
    assert result.errors[0].row == 2
    assert not OrgUnit.objects.filter(code="410102003").exists()


def test_the_import_page_says_more_errors_were_not_listed(personas, login, tree):
    lines = ["编码,名称,层级,上级编码", *["X,甲,乡镇,410102" + ",多余" * 30] * 10]
    upload = SimpleUploadedFile("u.csv", "\n".join(lines).encode())
    response = login(personas.admin).post(reverse("branches:unit_import"), {"file": upload})
    page = response.content.decode()

    assert f"发现超过 {reading.MAX_ERRORS} 处错误" in page
    assert "更多错误未列出" in page


def test_the_command_says_more_errors_were_not_listed(tree, tmp_path):
    wide_row = "X,甲,乡镇,410102" + ",多余" * 30
    path = write_csv(tmp_path, ["编码,名称,层级,上级编码", *[wide_row] * 10])
    err = io.StringIO()
    with pytest.raises(CommandError, match=f"发现超过 {reading.MAX_ERRORS} 处错误"):
        call_command("import_units", str(path), stderr=err)
    assert "更多错误未列出" in err.getvalue()


def test_a_file_past_the_cell_cap_is_refused_as_its_rows_are_read(settings, unchanged_tree):
    settings.IMPORT_MAX_CELLS = 30
    lines = [HEADER, *GOOD_ROWS]
    header, rows = read_table(csv_upload(lines), filename="units.csv")
    result = units_import(header=header, rows=rows)
    data = xlsx_bytes([line.split(",") for line in lines])

    assert [e[:2] for e in errors_of(result)] == [(None, "")]
    assert "超过 30 个单元格的上限（读到第4行时）" in errors_of(result)[0][2]
    assert "超过 30 个单元格的上限" in refusal(data, "units.xlsx")
    assert not OrgUnit.objects.filter(code="410102003").exists()


def test_blank_cells_count_towards_the_cell_cap(settings):
    settings.IMPORT_MAX_CELLS = 100
    assert "个单元格的上限" in refusal(b"a\n" + b"1" + b"," * 200 + b"\n", "units.csv")


def test_a_header_or_row_wider_than_the_column_cap_is_refused():
    wide = ",".join(["x"] * (reading.MAX_COLUMNS + 1)).encode()
    assert f"第1行超过 {reading.MAX_COLUMNS} 列" in refusal(wide + b"\n", "units.csv")
    assert f"第2行超过 {reading.MAX_COLUMNS} 列" in refusal(b"a\n" + wide + b"\n", "units.csv")


def _large_sheet(*, dimension: bool) -> bytes:
    """A one-row workbook whose sheet XML, padded past 1 MB, keeps or drops <dimension>."""
    data = xlsx_bytes([["编码", "名称"], ["A1", "甲"]])
    changed = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(changed, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                if not dimension:
                    content = re.sub(rb"<dimension [^>]*/>", b"", content)
                content = content.replace(b"</sheetData>", b" " * 1_100_000 + b"</sheetData>")
                # Stored, not deflated: the padding would otherwise look like a zip bomb.
                item.compress_type = zipfile.ZIP_STORED
            target.writestr(item, content)
    return changed.getvalue()


def test_a_large_sheet_without_a_dimension_is_refused_before_openpyxl_scans_it():
    assert "缺少尺寸信息" in refusal(_large_sheet(dimension=False), "units.xlsx")
    header, rows = read_table(
        SimpleUploadedFile("u.xlsx", _large_sheet(dimension=True)), filename="u.xlsx"
    )
    assert (header, list(rows)) == (["编码", "名称"], [(2, ["A1", "甲"])])
