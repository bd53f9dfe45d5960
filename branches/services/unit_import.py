"""Writes to the org hierarchy; views, the API, admin actions and commands call these."""

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import groupby

from django.db import connection, transaction
from django.db.models import F, Max
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from branches.models import OrgUnit, jurisdiction_path
from branches.spreadsheets.reading import (
    ErrorList,
    SpreadsheetError,
    TooManyErrors,
)
from branches.validators import name_problem, text_problem
from governance.database import statistics_refresh

L = OrgUnit.Level
STEPLEN = OrgUnit.steplen
# Rows per INSERT/UPDATE statement; the backend lowers it further where it must (SQLite).
BATCH_SIZE = 1000
# Codes and paths per `IN (...)` lookup, well below every backend's parameter limit.
LOOKUP_CHUNK = 900
IMPORT_CHANGE_REASON = "导入层级表"
CODE_RE = re.compile(r"^[0-9A-Za-z_-]+$")
MAX_COUNT = 2**31 - 1


@dataclass(frozen=True)
class RowError:
    """One problem in an uploaded table: the row as the user sees it (None: the whole file)."""

    row: int | None
    column: str
    reason: str

    def __str__(self):
        if self.row is None:
            return f"[{self.column}]：{self.reason}" if self.column else self.reason
        if not self.column:
            return _("第%(row)s行：%(reason)s") % {"row": self.row, "reason": self.reason}
        return _("第%(row)s行 [%(column)s]：%(reason)s") % {
            "row": self.row,
            "column": self.column,
            "reason": self.reason,
        }


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    # The import stopped at the error cap: more errors than those listed may exist.
    more_errors: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class _Column:
    field: str
    label: str
    aliases: tuple[str, ...] = ()
    required: bool = False


UNIT_COLUMNS = (
    _Column("code", "编码", ("单位编码",), required=True),
    _Column("name", "名称", ("单位名称",), required=True),
    _Column("level", "层级", (), required=True),
    _Column("parent_code", "上级编码", ("上级单位编码",), required=True),
    _Column("area_type", "区域类型", ()),
    _Column("party_org_kind", "党组织类型", ()),
    _Column("party_org_name", "党组织名称", ()),
    _Column("secretary_name", "书记", ("书记姓名",)),
    _Column("member_count", "党员数", ("党员人数",)),
    _Column("household_count", "户数", ()),
)
TEXT_LIMITS = {"name": 100, "party_org_name": 120, "secretary_name": 50}
# The columns the unit page's form calls names: they follow the same name rule there.
NAME_FIELDS = ("name", "party_org_name", "secretary_name")


def _key(text: str) -> str:
    """Header cells and choice words compare without case, spaces or full-width brackets."""
    return text.strip().casefold().replace(" ", "").replace("（", "(").replace("）", ")")


COLUMN_BY_KEY = {
    _key(name): column
    for column in UNIT_COLUMNS
    for name in (column.field, column.label, *column.aliases)
}
LEVEL_BY_KEY = {
    **{_key(level.name): level for level in L},
    **{_key(str(level.label)): level for level in L},
    "县": L.COUNTY,
    "区": L.COUNTY,
    "县区": L.COUNTY,
    "乡镇": L.TOWNSHIP,
    "乡": L.TOWNSHIP,
    "镇": L.TOWNSHIP,
    "街道": L.TOWNSHIP,
    "村": L.VILLAGE,
    "社区": L.VILLAGE,
    "小区": L.COMPOUND,
    "网格片区": L.COMPOUND,
}
AREA_TYPE_BY_KEY = {
    **{_key(area.name): area for area in OrgUnit.AreaType},
    **{_key(str(area.label)): area for area in OrgUnit.AreaType},
    "城市": OrgUnit.AreaType.URBAN,
}
PARTY_ORG_KIND_BY_KEY = {
    **{_key(kind.name): kind for kind in OrgUnit.PartyOrgKind},
    **{_key(str(kind.label)): kind for kind in OrgUnit.PartyOrgKind},
}


@dataclass
class _Row:
    number: int
    values: dict
    labels: dict
    code: str = ""
    parent_code: str | None = ""
    level: int | None = None
    area_type: str | None = None
    existing: OrgUnit | None = None

    def column(self, name: str) -> str:
        return self.labels.get(name) or next(c.label for c in UNIT_COLUMNS if c.field == name)


@transaction.atomic
def units_import(
    *, header: list[str], rows: Iterable[tuple[int, list[str]]], user=None
) -> ImportResult:
    """Create and update org units from a table; all or nothing.

    1. Map the header to columns and refuse a bad header before any row is read.
    2. Parse and check every row on its own, as the rows are read.
    3. Check the rows against each other and the database: duplicate codes, parents
       (in the database or anywhere in the file), levels, area types, jurisdiction.
    4. If anything is wrong, return the errors (at most MAX_ERRORS: the check stops
       there) and write nothing. Otherwise update the changed units and insert the new
       ones level by level (parents first), with paths computed here, both recorded in
       the change history.
    """
    scope = "" if user is None else jurisdiction_path(user)
    if scope is None:
        return ImportResult(
            errors=[RowError(None, "", _("您的账号没有管辖范围，不能导入组织单位。"))]
        )
    errors = ErrorList()
    try:
        return _import(header, rows, user, scope, errors)
    except TooManyErrors:
        return ImportResult(errors=_in_reading_order(errors, header), more_errors=True)
    except SpreadsheetError as error:
        # A limit of the file (rows, cells) passed while its rows were read.
        return ImportResult(errors=[RowError(None, "", str(error))])


def _in_reading_order(errors: list[RowError], header: list[str]) -> list[RowError]:
    """By row, then by the column's place in the file."""
    place = {name: index for index, name in enumerate(header)}
    return sorted(errors, key=lambda e: (e.row or 0, place.get(e.column, len(header))))


def _import(header, rows, user, scope: str, errors: ErrorList) -> ImportResult:
    columns = _map_header(header, errors)
    if errors:
        return ImportResult(errors=list(errors))
    labels = {name: header[i] for i, name in enumerate(columns) if name}
    parsed = [_parse_row(number, cells, columns, labels, errors) for number, cells in rows]
    if not parsed:
        return ImportResult(
            errors=[
                RowError(None, "", _("文件只有表头，没有数据行。请从第2行起每行填写一个单位。"))
            ]
        )
    by_code = _first_by_code(parsed, errors)
    existing = _units_by_code({*by_code, *(r.parent_code for r in by_code.values())})
    parent_codes = _codes_by_path(
        OrgUnit._get_parent_path_from_path(existing[code].path)
        for code in by_code
        if code in existing
    )
    for row in sorted(by_code.values(), key=lambda r: (r.level or 0, r.number)):
        row.existing = existing.get(row.code)
        _check_place(row, by_code, existing, parent_codes, scope, errors)
    if not scope:
        _check_single_root(by_code.values(), errors)
    if errors:
        return ImportResult(errors=_in_reading_order(errors, header))

    rows_in_order = sorted(by_code.values(), key=lambda r: r.number)
    updated, unchanged = _update_units([r for r in rows_in_order if r.existing], user)
    created = _create_units([r for r in rows_in_order if not r.existing], existing, user)
    statistics_refresh(OrgUnit, OrgUnit.history.model, rows=created + updated)
    return ImportResult(created=created, updated=updated, unchanged=unchanged)


def _map_header(header: list[str], errors: list[RowError]) -> list[str | None]:
    """The field each column holds (None for a column without a name)."""
    columns: list[str | None] = []
    seen: dict[str, str] = {}
    for name in header:
        if not name:
            columns.append(None)
            continue
        column = COLUMN_BY_KEY.get(_key(name))
        if column is None:
            errors.append(
                RowError(
                    1,
                    name,
                    _("无法识别的列名。可用的列名：%(names)s。")
                    % {"names": "、".join(c.label for c in UNIT_COLUMNS)},
                )
            )
        elif column.field in seen:
            errors.append(
                RowError(
                    1,
                    name,
                    _("与“%(other)s”列重复，请删除其中一列。") % {"other": seen[column.field]},
                )
            )
        else:
            seen[column.field] = name
        columns.append(column.field if column else None)
    for column in UNIT_COLUMNS:
        if column.required and column.field not in seen:
            errors.append(
                RowError(
                    1,
                    column.label,
                    _("缺少必需的列，请在第1行加上“%(label)s”列（也可写作 %(field)s）。")
                    % {"label": column.label, "field": column.field},
                )
            )
    return columns


def _parse_row(number, cells, columns, labels, errors) -> _Row:
    row = _Row(number=number, values={}, labels=labels)
    for index, text in enumerate(cells):
        name = columns[index] if index < len(columns) else None
        if name is None:
            if text:
                errors.append(
                    RowError(
                        number,
                        _("第%(n)s列") % {"n": index + 1},
                        _("该列没有列名，请在第1行补上列名或删除该列中的内容。"),
                    )
                )
            continue
        # Text and names first: a name starting with "=" gets the name rule's message,
        # the same as on the unit page.
        problem = text_problem(text)
        if problem is None and name in NAME_FIELDS:
            problem = name_problem(text)
        if problem is not None:
            errors.append(RowError(number, row.column(name), problem))
            if name == "parent_code":
                row.parent_code = None
            continue
        if text.startswith("="):
            errors.append(
                RowError(
                    number,
                    row.column(name),
                    _("单元格是公式，请复制该列后“选择性粘贴为数值”再导入。"),
                )
            )
            if name == "parent_code":
                row.parent_code = None
            continue
        try:
            row.values[name] = _parse_value(name, text)
        except ValueError as exc:
            errors.append(RowError(number, row.column(name), str(exc)))
    row.code = row.values.get("code", "")
    if row.parent_code is not None:
        # None: the cell was refused, so the row's place in the tree is not checked.
        row.parent_code = row.values.get("parent_code", "")
    row.level = row.values.get("level")
    if row.code and row.parent_code == row.code:
        errors.append(
            RowError(number, row.column("parent_code"), _("上级编码不能是本单位自己的编码。"))
        )
    return row


def _parse_value(name: str, text: str):
    if name == "code":
        if not text:
            raise ValueError(_("编码不能为空。"))
        if len(text) > 32 or not CODE_RE.match(text):
            raise ValueError(
                _("编码“%(code)s”无效：最长32个字符，只能包含字母、数字、下划线和连字符。")
                % {"code": text}
            )
        return text
    if name == "parent_code":
        return text
    if name == "level":
        if text and _key(text) in LEVEL_BY_KEY:
            return LEVEL_BY_KEY[_key(text)]
        raise ValueError(
            _("无法识别的层级“%(value)s”，请填写：%(choices)s。")
            % {"value": text, "choices": "、".join(str(level.label) for level in L)}
        )
    if name == "area_type":
        if text and _key(text) not in AREA_TYPE_BY_KEY:
            raise ValueError(
                _("无法识别的区域类型“%(value)s”，请填写“农村”或“城市社区”。") % {"value": text}
            )
        return AREA_TYPE_BY_KEY[_key(text)].value if text else ""
    if name == "party_org_kind":
        if text and _key(text) not in PARTY_ORG_KIND_BY_KEY:
            raise ValueError(
                _("无法识别的党组织类型“%(value)s”，请填写：%(choices)s，或留空。")
                % {
                    "value": text,
                    "choices": "、".join(str(k.label) for k in OrgUnit.PartyOrgKind),
                }
            )
        return PARTY_ORG_KIND_BY_KEY[_key(text)].value if text else ""
    if name in ("member_count", "household_count"):
        if not text:
            return 0
        if not text.isdigit() or not text.isascii() or int(text) > MAX_COUNT:
            raise ValueError(
                _("“%(value)s”不是有效的人数/户数，请填写不小于0的整数，例如 35。")
                % {"value": text}
            )
        return int(text)
    if name == "name" and not text:
        raise ValueError(_("名称不能为空。"))
    if len(text) > TEXT_LIMITS[name]:
        raise ValueError(
            _("内容过长（%(length)s个字），最多%(max)s个字。")
            % {"length": len(text), "max": TEXT_LIMITS[name]}
        )
    return text


def _first_by_code(rows: list[_Row], errors: list[RowError]) -> dict[str, _Row]:
    """Each code's first row; later rows with the same code are errors."""
    by_code: dict[str, _Row] = {}
    for row in rows:
        if not row.code:
            continue
        first = by_code.setdefault(row.code, row)
        if first is not row:
            errors.append(
                RowError(
                    row.number,
                    row.column("code"),
                    _("编码“%(code)s”与第%(first)s行重复，每个单位只能出现一次。")
                    % {"code": row.code, "first": first.number},
                )
            )
    return by_code


def _chunks(items):
    items = list(items)
    for start in range(0, len(items), LOOKUP_CHUNK):
        yield items[start : start + LOOKUP_CHUNK]


def _units_by_code(codes) -> dict[str, OrgUnit]:
    units = {}
    for chunk in _chunks(code for code in codes if code):
        units.update((u.code, u) for u in OrgUnit.objects.filter(code__in=chunk).order_by())
    return units


def _codes_by_path(paths) -> dict[str, str]:
    codes = {}
    for chunk in _chunks(set(paths)):
        codes.update(OrgUnit.objects.filter(path__in=chunk).order_by().values_list("path", "code"))
    return codes


def _check_place(row, by_code, existing, parent_codes, scope, errors) -> None:
    """Check a row against its parent, the database and the user's jurisdiction.

    Rows are checked parents first (by level), so a parent's area type is settled when
    its children ask for it.
    """
    if row.parent_code is None:
        return
    parent_row = by_code.get(row.parent_code)
    parent_unit = existing.get(row.parent_code)
    if row.parent_code and parent_row is None and parent_unit is None:
        errors.append(
            RowError(
                row.number,
                row.column("parent_code"),
                _(
                    "上级编码“%(code)s”不存在：系统中没有该单位，本文件中也没有。"
                    "请先导入上级单位或更正编码。"
                )
                % {"code": row.parent_code},
            )
        )
        return
    if row.level is None:
        return
    unit = row.existing
    if unit is not None:
        current_parent = (
            parent_codes.get(OrgUnit._get_parent_path_from_path(unit.path), "")
            if unit.depth > 1
            else ""
        )
        if not unit.path.startswith(scope):
            errors.append(
                RowError(
                    row.number,
                    row.column("code"),
                    _("单位“%(code)s”不在您的管辖范围内，不能修改。") % {"code": row.code},
                )
            )
        elif current_parent != row.parent_code:
            errors.append(
                RowError(
                    row.number,
                    row.column("parent_code"),
                    _(
                        "该单位现在的上级编码是“%(current)s”。"
                        "不支持通过导入移动单位，请在管理后台移动。"
                    )
                    % {"current": current_parent or _("（无）")},
                )
            )
        elif row.level != unit.level:
            errors.append(
                RowError(
                    row.number,
                    row.column("level"),
                    _("该单位现在的层级是“%(current)s”。不支持通过导入修改层级，请在管理后台修改。")
                    % {"current": L(unit.level).label},
                )
            )
    elif not row.parent_code:
        if scope:
            errors.append(
                RowError(
                    row.number,
                    row.column("parent_code"),
                    _("只有系统管理员可以新建顶级单位，请填写上级编码。"),
                )
            )
    else:
        if parent_unit is not None and not parent_unit.path.startswith(scope):
            errors.append(
                RowError(
                    row.number,
                    row.column("parent_code"),
                    _("上级单位“%(code)s”不在您的管辖范围内，不能在其下新建单位。")
                    % {"code": row.parent_code},
                )
            )
        parent_level = parent_unit.level if parent_unit is not None else parent_row.level
        if parent_level is not None and row.level <= parent_level:
            errors.append(
                RowError(
                    row.number,
                    row.column("level"),
                    _("层级“%(level)s”必须低于上级单位“%(parent)s”的层级“%(parent_level)s”。")
                    % {
                        "level": L(row.level).label,
                        "parent": row.parent_code,
                        "parent_level": L(parent_level).label,
                    },
                )
            )
    parent_area_type = (
        parent_row.area_type
        if parent_row is not None
        else (parent_unit.area_type if parent_unit is not None else None)
    )
    row.area_type = _settle_area_type(row, parent_area_type, errors)


def _check_single_root(rows, errors) -> None:
    """The tree has one root (the province): a new unit without a parent needs an empty tree."""
    new_roots = sorted(
        (r for r in rows if not r.existing and r.parent_code == "" and r.level is not None),
        key=lambda r: r.number,
    )
    if not new_roots:
        return
    root = OrgUnit.objects.filter(depth=1).first()
    if root is not None:
        reason = _("只能有一个顶级单位，系统中已有“%(root)s”，请填写上级编码。") % {"root": root}
    else:
        reason = _("只能有一个顶级单位，第%(row)s行已是顶级单位，请填写上级编码。") % {
            "row": new_roots[0].number
        }
    for row in new_roots if root is not None else new_roots[1:]:
        errors.append(RowError(row.number, row.column("parent_code"), reason))


def _settle_area_type(row: _Row, parent_area_type: str | None, errors) -> str | None:
    """The unit's area type: given at the village level, blank above, inherited below."""
    given = row.values.get("area_type")
    unit = row.existing

    def error(reason):
        errors.append(RowError(row.number, row.column("area_type"), reason))

    if row.level < L.VILLAGE:
        if given:
            error(_("县、乡镇等上级单位不分农村和城市社区，请将区域类型留空。"))
        return ""
    if row.level > L.VILLAGE and parent_area_type:
        if given and given != parent_area_type:
            error(
                _("应与上级单位一致（%(area)s），可留空自动沿用上级。")
                % {"area": OrgUnit.AreaType(parent_area_type).label}
            )
        return parent_area_type
    if given:
        if unit is not None and unit.numchild and given != unit.area_type:
            error(_("该单位已有下级单位，不能通过导入修改区域类型，请在管理后台修改。"))
        return given
    if unit is not None and given is None:
        return unit.area_type
    if row.level > L.VILLAGE and row.parent_code and parent_area_type is None:
        # The parent's area type is unknown because the parent has errors of its own.
        return None
    error(_("村(社区)及以下单位必须填写区域类型：农村 或 城市社区。"))
    return None


def _desired(row: _Row) -> dict:
    """The unit's fields as the file has them; columns missing from the file are left alone."""
    values = {
        name: value
        for name, value in row.values.items()
        if name not in ("code", "parent_code", "area_type")
    }
    values["area_type"] = row.area_type
    return values


def _update_units(rows: list[_Row], user) -> tuple[int, int]:
    changed_units, changed_fields = [], set()
    for row in rows:
        unit = row.existing
        changes = {k: v for k, v in _desired(row).items() if getattr(unit, k) != v}
        if changes:
            for name, value in changes.items():
                setattr(unit, name, value)
            changed_units.append(unit)
            changed_fields.update(changes)
    if changed_units:
        now = timezone.now()
        for unit in changed_units:
            unit.updated_at = now
        _write_fields(changed_units, sorted(changed_fields | {"updated_at"}))
        # With no fields simple_history writes only the history rows, for the units
        # as they are now.
        bulk_update_with_history(
            changed_units,
            OrgUnit,
            fields=[],
            batch_size=BATCH_SIZE,
            default_user=user,
            default_change_reason=IMPORT_CHANGE_REASON,
        )
    return len(changed_units), len(rows) - len(changed_units)


def _create_units(rows: list[_Row], existing: dict[str, OrgUnit], user) -> int:
    """Insert new units, parents before children, with materialized paths computed here.

    Each parent's new children get the steps after its current last child, as
    treebeard's add_child would; parents already in the database get their numchild
    raised. One bulk insert per level, so the level trigger finds every parent.
    """
    if not rows:
        return 0
    new_children = Counter(row.parent_code for row in rows)
    last_step = _last_child_steps([existing[c] for c in new_children if c in existing])
    if "" in new_children:
        last_root = OrgUnit.objects.filter(depth=1).aggregate(last=Max("path"))["last"]
        last_step[""] = OrgUnit._str2int(last_root) if last_root else 0
    built: dict[str, OrgUnit] = {}
    rows = sorted(rows, key=lambda r: (r.level, r.number))
    for row in rows:
        parent = built.get(row.parent_code) or existing.get(row.parent_code)
        step = last_step.get(row.parent_code, 0) + 1
        last_step[row.parent_code] = step
        depth = parent.depth + 1 if parent else 1
        built[row.code] = OrgUnit(
            code=row.code,
            path=OrgUnit._get_path(parent.path if parent else None, depth, step),
            depth=depth,
            numchild=new_children[row.code],
            **_desired(row),
        )
    for _level, group in groupby(rows, key=lambda r: r.level):
        bulk_create_with_history(
            [built[row.code] for row in group],
            OrgUnit,
            batch_size=BATCH_SIZE,
            default_user=user,
            default_change_reason=IMPORT_CHANGE_REASON,
        )
    parents = [existing[code] for code in new_children if code in existing]
    for parent in parents:
        parent.numchild += new_children[parent.code]
    # numchild is bookkeeping of the tree, not history (the model excludes it there).
    _write_fields(parents, ["numchild"])
    return len(rows)


def _write_fields(units: list[OrgUnit], names: list[str]) -> None:
    """Write these columns of each unit: one parameterized UPDATE, run for every unit.

    Not QuerySet.bulk_update: it builds a CASE WHEN expression per unit and column, about
    half a millisecond each, which made renaming 50,000 units take over a minute.
    """
    fields = [OrgUnit._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        quote(OrgUnit._meta.db_table),
        ", ".join(f"{quote(f.column)} = %s" for f in fields),
        quote(OrgUnit._meta.pk.column),
    )
    params = [
        [f.get_db_prep_save(getattr(unit, f.attname), connection) for f in fields] + [unit.pk]
        for unit in units
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _last_child_steps(parents: list[OrgUnit]) -> dict[str, int]:
    """For each parent's code, the step of its last child's path (0 without children)."""
    steps = {parent.code: 0 for parent in parents}
    code_by_path = {parent.path: parent.code for parent in parents if parent.numchild}
    for chunk in _chunks(code_by_path):
        last_paths = (
            OrgUnit.objects.order_by()
            .filter(depth__gt=1)
            .annotate(parent_path=Substr("path", 1, F("depth") * STEPLEN - STEPLEN))
            .filter(parent_path__in=chunk)
            .values("parent_path")
            .annotate(last=Max("path"))
            .values_list("parent_path", "last")
        )
        for parent_path, last in last_paths:
            steps[code_by_path[parent_path]] = OrgUnit._str2int(last[-STEPLEN:])
    return steps
