"""Household import from a table (.xlsx/.csv): all or nothing, errors by row and column.

The file is read by branches/spreadsheets/reading.py (bounded bytes, rows, cells, columns,
zip bombs); errors are capped like the hierarchy import's. Each row passes the same checks
as `household_create`; nothing is written unless every row passes.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from branches.services.unit_import import RowError
from branches.spreadsheets.reading import ErrorList, SpreadsheetError, TooManyErrors
from grids.models import CARE_LABELS, Grid, GridBuilding, Household
from grids.services.common import clean_phone, clean_text, require
from grids.services.grids import clean_members

# (column title, field, required)
COLUMNS = [
    ("网格编码", "grid", True),
    ("楼栋/组", "address_building", True),
    ("单元", "address_unit", False),
    ("门牌/房号", "address_room", True),
    ("户主姓名", "head_name", True),
    ("联系电话", "phone", False),
    ("家庭人数", "member_count", True),
    ("关爱标签", "care_tags", False),
    ("党员中心户", "is_party_member_household", False),
    ("楼栋编码", "building", False),
]
TITLES = {title: (name, required) for title, name, required in COLUMNS}
TAG_BY_LABEL = {str(label): tag for tag, label in CARE_LABELS.items()}
YES = {"是", "Y", "y", "yes", "1", "√"}
NO = {"", "否", "N", "n", "no", "0"}


@dataclass
class HouseholdImportResult:
    created: int = 0
    errors: list[RowError] = field(default_factory=list)
    more_errors: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def households_import(*, user, header: list[str], rows: Iterable[tuple[int, list[str]]]):
    require(user.can_manage_grids, _("您的角色不能导入住户。"))
    errors = ErrorList()
    try:
        return _import(user, header, rows, errors)
    except TooManyErrors:
        return HouseholdImportResult(errors=list(errors), more_errors=True)
    except SpreadsheetError as error:
        return HouseholdImportResult(errors=[RowError(None, "", str(error))])


def _import(user, header, rows, errors: ErrorList) -> HouseholdImportResult:
    index = {}
    for position, title in enumerate(header):
        title = (title or "").strip()
        if title not in TITLES:
            errors.append(RowError(None, title, _("不认识的列，请使用模板中的列名。")))
        elif title in index:
            errors.append(RowError(None, title, _("该列出现了两次。")))
        else:
            index[title] = position
    for title, (_name, required) in TITLES.items():
        if required and title not in index:
            errors.append(RowError(None, title, _("缺少必填列。")))
    if errors:
        return HouseholdImportResult(errors=list(errors))
    grids = {g.code: g for g in Grid.objects.visible_to(user).select_related("unit")}
    covered = {
        (gb.grid_id, gb.building.code): gb.building
        for gb in GridBuilding.objects.filter(grid__in=grids.values()).select_related("building")
    }
    households, seen = [], set()
    for number, cells in rows:
        values = {t: (cells[i] if i < len(cells) else "").strip() for t, i in index.items()}
        household = _row(number, values, grids, covered, errors)
        if household is None:
            continue
        key = (
            household.grid_id,
            household.address_building,
            household.address_unit,
            household.address_room,
        )
        if key in seen:
            errors.append(RowError(number, "门牌/房号", _("与前面的行地址重复。")))
            continue
        seen.add(key)
        households.append(household)
    if not households and not errors:
        errors.append(RowError(None, "", _("文件中没有住户数据。")))
    existing = _existing(households)
    for number, household in existing:
        errors.append(
            RowError(
                number,
                "门牌/房号",
                _("该网格中已有地址为“%(a)s”的住户。") % {"a": household.address},
            )
        )
    if errors:
        return HouseholdImportResult(errors=sorted(errors, key=lambda e: e.row or 0))
    with transaction.atomic():
        bulk_create_with_history(households, Household, batch_size=1000)
    return HouseholdImportResult(created=len(households))


def _existing(households: list[Household]):
    by_grid = {}
    for h in households:
        by_grid.setdefault(h.grid_id, []).append(h)
    found = []
    for grid_id, items in by_grid.items():
        taken = set(
            Household.objects.filter(grid_id=grid_id).values_list(
                "address_building", "address_unit", "address_room"
            )
        )
        for h in items:
            if (h.address_building, h.address_unit, h.address_room) in taken:
                found.append((h._row_number, h))
    return found


def _row(number, values, grids, covered, errors) -> Household | None:
    problems = []

    def check(title, fn):
        try:
            return fn(values.get(title, ""))
        except ValidationError as error:
            problems.append(RowError(number, title, " ".join(error.messages)))
            return None

    grid = grids.get(values["网格编码"])
    if grid is None:
        problems.append(RowError(number, "网格编码", _("找不到该网格，或它不在您的管辖范围内。")))

    def text(label, limit, required, name=False):
        return lambda v: clean_text(label, v, required=required, limit=limit, name=name)

    fields = {
        "address_building": check("楼栋/组", text(_("楼栋/组"), 50, True)),
        "address_unit": check("单元", text(_("单元"), 20, False)) or "",
        "address_room": check("门牌/房号", text(_("门牌/房号"), 20, True)),
        "head_name": check("户主姓名", text(_("户主姓名"), 50, True, name=True)),
        "phone": check("联系电话", clean_phone) or "",
        "member_count": check("家庭人数", _members),
        "care_tags": check("关爱标签", _tags) or [],
        "is_party_member_household": check("党员中心户", _yes_no),
    }
    building = None
    code = values.get("楼栋编码", "")
    if code and grid is not None:
        building = covered.get((grid.pk, code))
        if building is None:
            problems.append(RowError(number, "楼栋编码", _("该楼栋不在这个网格内。")))
    for problem in problems:
        errors.append(problem)
    if problems:
        return None
    household = Household(grid=grid, building=building, **fields)
    household._row_number = number
    return household


def _members(text: str) -> int:
    if not text.isdigit() or not text.isascii():
        raise ValidationError(_("家庭人数应为整数。"))
    return clean_members(int(text))


def _tags(text: str) -> list[str]:
    tags = []
    for part in text.replace("，", "、").replace(",", "、").split("、"):
        part = part.strip()
        if not part:
            continue
        if part not in TAG_BY_LABEL:
            raise ValidationError(
                _("关爱标签“%(tag)s”不认识：可选 %(choices)s，多个用顿号分隔。")
                % {"tag": part, "choices": "、".join(TAG_BY_LABEL)}
            )
        tags.append(TAG_BY_LABEL[part])
    return list(dict.fromkeys(tags))


def _yes_no(text: str) -> bool:
    if text in YES:
        return True
    if text in NO:
        return False
    raise ValidationError(_("请填写“是”或“否”。"))
