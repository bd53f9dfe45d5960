from grids.models import Household
from grids.services.household_import import households_import

HEADER = [
    "网格编码",
    "楼栋/组",
    "单元",
    "门牌/房号",
    "户主姓名",
    "联系电话",
    "家庭人数",
    "关爱标签",
    "党员中心户",
    "楼栋编码",
]


def _rows(*rows):
    return [(n + 2, list(r)) for n, r in enumerate(rows)]


def test_a_good_file_creates_every_household(grids, personas, tree):
    result = households_import(
        user=personas.staff_a,
        header=HEADER,
        rows=_rows(
            [
                "G-A1-01",
                "1号楼",
                "2",
                "201",
                "陈红",
                "13800001111",
                "3",
                "孤寡老人、残疾人",
                "是",
                tree.building_a1.code,
            ],
            ["G-A2-01", "一组", "", "12", "周强", "", "4", "", "否", ""],
        ),
    )
    assert result.ok and result.created == 2
    chen = Household.objects.get(head_name="陈红")
    assert chen.care_tags == ["ELDERLY_ALONE", "DISABLED"] and chen.is_party_member_household
    assert chen.building == tree.building_a1
    assert chen.history.count() == 1


def test_one_bad_row_writes_nothing_and_names_row_and_column(grids, personas):
    before = Household.objects.count()
    result = households_import(
        user=personas.staff_a,
        header=HEADER,
        rows=_rows(
            ["G-A2-01", "一组", "", "12", "周强", "", "4", "", "否", ""],
            ["G-B1-01", "一组", "", "13", "吴六", "", "4", "", "否", ""],  # township B
            ["G-A2-01", "一组", "", "14", "=HYPERLINK()", "12ab", "99", "外星人", "也许", ""],
            ["G-A2-01", "一组", "", "12", "重复", "", "2", "", "", ""],
        ),
    )
    assert not result.ok and Household.objects.count() == before
    found = {(e.row, e.column) for e in result.errors}
    assert (3, "网格编码") in found
    assert {
        (4, "户主姓名"),
        (4, "联系电话"),
        (4, "家庭人数"),
        (4, "关爱标签"),
        (4, "党员中心户"),
    } <= found
    assert (5, "门牌/房号") in found
    assert "第3行 [网格编码]" in str(next(e for e in result.errors if e.row == 3))


def test_a_bad_header_is_refused_before_any_row(grids, personas):
    result = households_import(
        user=personas.staff_a, header=["网格编码", "身份证号"], rows=iter(())
    )
    columns = {e.column for e in result.errors}
    assert "身份证号" in columns and "户主姓名" in columns


def test_an_existing_address_is_refused(grids, personas):
    result = households_import(
        user=personas.staff_a,
        header=HEADER,
        rows=_rows(["G-A2-01", "一组", "", "8", "王大山", "", "3", "", "", ""]),
    )
    assert [e.column for e in result.errors] == ["门牌/房号"]


def test_errors_are_capped(grids, personas):
    rows = _rows(*[["NOPE", "一组", "", str(n), "甲", "", "1", "", "", ""] for n in range(500)])
    result = households_import(user=personas.staff_a, header=HEADER, rows=rows)
    assert result.more_errors and len(result.errors) == 200
