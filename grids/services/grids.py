"""Grids, their buildings, workers and assignments, households, building heads.

Who: township staff and administrators keep them (`User.can_manage_grids`), in jurisdiction.
"""

import re
from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.models import OrgUnit
from grids.models import (
    CARE_LABELS,
    BuildingHead,
    Grid,
    GridAssignment,
    GridBuilding,
    GridWorker,
    Household,
)
from grids.models.households import MEMBERS_MAX
from grids.services.common import clean_phone, clean_text, not_in_future, require

L = OrgUnit.Level
# The first path segments of the grids pages (/grids/new/, /grids/events/…): a grid with one
# of them as its code would be hidden behind that page.
RESERVED_CODES = frozenset({"new", "mine", "households", "visits", "events", "hazards", "export"})


def village_of(unit: OrgUnit) -> OrgUnit:
    """The rated village/community a unit at or below it belongs to."""
    if unit.level == L.VILLAGE:
        return unit
    return OrgUnit.objects.get(path=unit.path[: OrgUnit.steplen * L.VILLAGE])


def _in_scope(user, unit: OrgUnit) -> None:
    if not OrgUnit.objects.visible_to(user).filter(pk=unit.pk).exists():
        raise PermissionDenied(_("该单位不在您的管辖范围内。"))


# A grid's code is part of its page's address.
CODE_PATTERN = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]*")


def _clean_code(code: str) -> str:
    code = clean_text(_("网格编码"), code, required=True, limit=40, name=True)
    if not CODE_PATTERN.fullmatch(code):
        raise ValidationError(
            _("网格编码只能由字母、数字、连字符(-)和下划线(_)组成，并以字母或数字开头，例如 G-01。")
        )
    if code.lower() in RESERVED_CODES:
        raise ValidationError(
            _("“%(code)s”是网格页面使用的地址，不能用作网格编码，请换一个。") % {"code": code}
        )
    return code


def _check_buildings(grid: Grid, buildings: list[OrgUnit]) -> None:
    for building in buildings:
        if building.level != L.BUILDING:
            raise ValidationError(
                _("“%(name)s”不是楼栋：网格只能覆盖楼栋。") % {"name": building.name}
            )
        if not building.path.startswith(grid.unit.path):
            raise ValidationError(
                _("楼栋“%(name)s”不在%(unit)s内，不能划入该网格。")
                % {"name": building.name, "unit": grid.unit.name}
            )
    taken = (
        GridBuilding.objects.filter(building__in=buildings)
        .exclude(grid=grid)
        .select_related("grid", "building")
        .first()
    )
    if taken is not None:
        raise ValidationError(
            _("楼栋“%(building)s”已划入网格“%(grid)s”：同一村(社区)的网格不能重叠。")
            % {"building": taken.building.name, "grid": taken.grid.name}
        )


@transaction.atomic
def grid_create(
    *,
    user,
    unit: OrgUnit,
    code: str,
    name: str,
    party_group: str = "",
    buildings: list[OrgUnit] = (),
) -> Grid:
    require(user.can_manage_grids, _("您的角色不能建立网格。"))
    _in_scope(user, unit)
    if unit.level not in (L.VILLAGE, L.COMPOUND):
        raise ValidationError(_("网格只能建在村(社区)或其下的小区(网格片区)。"))
    code = _clean_code(code)
    if Grid.objects.filter(code=code).exists():
        raise ValidationError(_("网格编码“%(code)s”已被使用，请换一个。") % {"code": code})
    grid = Grid.objects.create(
        unit=unit,
        code=code,
        name=clean_text(_("网格名称"), name, required=True, limit=100, name=True),
        party_group=clean_text(_("网格党小组"), party_group, required=False, limit=100, name=True),
    )
    grid_buildings_set(user=user, grid=grid, buildings=list(buildings))
    return grid


@transaction.atomic
def grid_update(
    *,
    user,
    grid: Grid,
    code: str,
    name: str,
    party_group: str = "",
    buildings: list[OrgUnit] = (),
) -> Grid:
    """Code, name, party group and buildings; the unit stays (its households are its own).
    Everything is checked before the grid is touched, so a refused edit leaves it as it was."""
    require(user.can_manage_grids, _("您的角色不能调整网格。"))
    _in_scope(user, grid.unit)
    code = _clean_code(code)
    if Grid.objects.filter(code=code).exclude(pk=grid.pk).exists():
        raise ValidationError(_("网格编码“%(code)s”已被使用，请换一个。") % {"code": code})
    name = clean_text(_("网格名称"), name, required=True, limit=100, name=True)
    party_group = clean_text(_("网格党小组"), party_group, required=False, limit=100, name=True)
    buildings = list(buildings)
    _check_buildings(grid, buildings)
    grid.code, grid.name, grid.party_group = code, name, party_group
    grid.save(update_fields=["code", "name", "party_group", "updated_at"])
    return grid_buildings_set(user=user, grid=grid, buildings=buildings)


@transaction.atomic
def grid_buildings_set(*, user, grid: Grid, buildings: list[OrgUnit]) -> Grid:
    """The buildings the grid covers, replacing the previous set."""
    require(user.can_manage_grids, _("您的角色不能调整网格。"))
    _in_scope(user, grid.unit)
    _check_buildings(grid, buildings)
    GridBuilding.objects.filter(grid=grid).exclude(building__in=buildings).delete()
    have = set(GridBuilding.objects.filter(grid=grid).values_list("building_id", flat=True))
    for building in buildings:
        if building.pk not in have:
            GridBuilding.objects.create(grid=grid, building=building)
    return grid


@transaction.atomic
def worker_create(
    *,
    user,
    unit: OrgUnit,
    name: str,
    kind: str = GridWorker.Kind.PART_TIME,
    is_party_member: bool = False,
    phone: str = "",
    account=None,
    grid: Grid | None = None,
) -> GridWorker:
    """A grid worker of a village (and, given `grid`, assigned to it from today)."""
    require(user.can_manage_grids, _("您的角色不能登记网格员。"))
    _in_scope(user, unit)
    if kind not in GridWorker.Kind.values:
        raise ValidationError(_("请选择网格员类型（专职、兼职或志愿者）。"))
    if account is not None:
        if account.role != account.Role.GRID_WORKER:
            raise ValidationError(_("关联的账号必须是“网格员”角色。"))
        if GridWorker.objects.filter(user=account).exists():
            raise ValidationError(_("该账号已关联另一位网格员。"))
        village = village_of(unit)
        if account.unit_id is None or not account.unit.path.startswith(village.path):
            raise ValidationError(
                _("关联的账号须属于%(unit)s（或其下的小区、楼栋）。") % {"unit": village.name}
            )
    worker = GridWorker.objects.create(
        unit=unit,
        user=account,
        name=clean_text(_("姓名"), name, required=True, limit=50, name=True),
        kind=kind,
        is_party_member=is_party_member,
        phone=clean_phone(phone),
    )
    if grid is not None:
        worker_assign(user=user, worker=worker, grid=grid)
    return worker


@transaction.atomic
def worker_assign(*, user, worker: GridWorker, grid: Grid, started_on: date | None = None):
    require(user.can_manage_grids, _("您的角色不能分配网格员。"))
    _in_scope(user, grid.unit)
    if not grid.unit.path.startswith(village_of(worker.unit).path):
        raise ValidationError(_("只能把网格员分配到其所属村(社区)的网格。"))
    if GridAssignment.objects.current().filter(worker=worker, grid=grid).exists():
        raise ValidationError(_("该网格员已分配到这个网格。"))
    return GridAssignment.objects.create(
        worker=worker, grid=grid, started_on=started_on or timezone.localdate()
    )


@transaction.atomic
def worker_unassign(*, user, assignment: GridAssignment, ended_on: date | None = None):
    require(user.can_manage_grids, _("您的角色不能调整网格员分配。"))
    _in_scope(user, assignment.grid.unit)
    if assignment.ended_on is not None:
        raise ValidationError(_("该分配已于 %(day)s 结束。") % {"day": assignment.ended_on})
    ended_on = ended_on or timezone.localdate()
    if ended_on < assignment.started_on:
        raise ValidationError(
            _("结束日期不能早于分配开始日期（%(day)s）。") % {"day": assignment.started_on}
        )
    assignment.ended_on = ended_on
    assignment.save(update_fields=["ended_on"])
    return assignment


def clean_care_tags(tags) -> list[str]:
    tags = list(dict.fromkeys(tags or []))
    unknown = [t for t in tags if t not in CARE_LABELS]
    if unknown:
        raise ValidationError(
            _("关爱标签“%(tag)s”不认识：可选 %(choices)s。")
            % {"tag": unknown[0], "choices": "、".join(str(v) for v in CARE_LABELS.values())}
        )
    return tags


def clean_members(value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MEMBERS_MAX:
        raise ValidationError(_("家庭人数应为 1 到 %(max)s 之间的整数。") % {"max": MEMBERS_MAX})
    return value


def _household_check(household: Household) -> Household:
    """The checks a household passes whether created or edited; cleans its fields in place."""
    grid = household.grid
    building, worker = household.building, household.worker
    if (
        building is not None
        and not GridBuilding.objects.filter(grid=grid, building=building).exists()
    ):
        raise ValidationError(_("楼栋“%(name)s”不在该网格内。") % {"name": building.name})
    if worker is not None and not grid.unit.path.startswith(village_of(worker.unit).path):
        raise ValidationError(
            _("网格员“%(name)s”不属于该网格所在的村(社区)。") % {"name": worker.name}
        )
    h = household
    h.address_building = clean_text(_("楼栋/组"), h.address_building, required=True, limit=50)
    h.address_unit = clean_text(_("单元"), h.address_unit, required=False, limit=20)
    h.address_room = clean_text(_("门牌/房号"), h.address_room, required=True, limit=20)
    h.head_name = clean_text(_("户主姓名"), h.head_name, required=True, limit=50, name=True)
    h.phone = clean_phone(h.phone)
    h.member_count = clean_members(h.member_count)
    h.care_tags = clean_care_tags(h.care_tags)
    same_address = Household.objects.filter(
        grid=grid,
        address_building=h.address_building,
        address_unit=h.address_unit,
        address_room=h.address_room,
    )
    if h.pk is not None:
        same_address = same_address.exclude(pk=h.pk)
    if same_address.exists():
        raise ValidationError(_("该网格中已有地址为“%(a)s”的住户。") % {"a": h.address})
    return h


@transaction.atomic
def household_create(
    *,
    user,
    grid: Grid,
    address_building: str,
    address_room: str,
    head_name: str,
    address_unit: str = "",
    phone: str = "",
    member_count: int = 1,
    care_tags=(),
    is_party_member_household: bool = False,
    building: OrgUnit | None = None,
    worker: GridWorker | None = None,
) -> Household:
    require(user.can_manage_grids, _("您的角色不能登记住户。"))
    _in_scope(user, grid.unit)
    household = Household(
        grid=grid,
        building=building,
        address_building=address_building,
        address_unit=address_unit,
        address_room=address_room,
        head_name=head_name,
        phone=phone,
        member_count=member_count,
        care_tags=care_tags,
        is_party_member_household=is_party_member_household,
        worker=worker,
    )
    _household_check(household).save()
    return household


@transaction.atomic
def household_update(
    *,
    user,
    household: Household,
    address_building: str,
    address_room: str,
    head_name: str,
    address_unit: str = "",
    phone: str = "",
    member_count: int = 1,
    care_tags=(),
    is_party_member_household: bool = False,
    building: OrgUnit | None = None,
    worker: GridWorker | None = None,
) -> Household:
    """A household's address, head, members and tags; it stays in its grid."""
    require(user.can_manage_grids, _("您的角色不能修改住户信息。"))
    _in_scope(user, household.grid.unit)
    household.building = building
    household.address_building = address_building
    household.address_unit = address_unit
    household.address_room = address_room
    household.head_name = head_name
    household.phone = phone
    household.member_count = member_count
    household.care_tags = list(care_tags)
    household.is_party_member_household = is_party_member_household
    household.worker = worker
    _household_check(household).save()
    return household


@transaction.atomic
def building_head_appoint(
    *,
    user,
    building: OrgUnit,
    name: str,
    selected_on: date,
    term_end: date | None = None,
    title: str = BuildingHead.Title.BUILDING,
    phone: str = "",
    household: Household | None = None,
) -> BuildingHead:
    require(user.can_manage_grids, _("您的角色不能选任楼栋长。"))
    _in_scope(user, building)
    if building.level != L.BUILDING:
        raise ValidationError(_("楼栋长只能选任在楼栋上。"))
    not_in_future(_("选任日期"), selected_on)
    if term_end is not None and term_end < selected_on:
        raise ValidationError(_("任期截止日期不能早于选任日期。"))
    if household is not None and household.building_id != building.pk:
        raise ValidationError(
            _("所选住户不在楼栋“%(name)s”：楼栋长须是本楼栋的住户。") % {"name": building.name}
        )
    # The new head succeeds the one in office: that term ends the day before.
    serving = BuildingHead.objects.select_for_update().filter(
        models.Q(term_end__isnull=True) | models.Q(term_end__gte=selected_on),
        building=building,
        title=title,
    )
    for head in serving:
        if head.selected_on >= selected_on:
            raise ValidationError(
                _("%(name)s自%(day)s起任本楼栋的%(title)s：新的选任日期须晚于该日期。")
                % {"name": head.name, "day": head.selected_on, "title": head.get_title_display()}
            )
        head.term_end = selected_on - timedelta(days=1)
        head.save(update_fields=["term_end"])
    return BuildingHead.objects.create(
        building=building,
        title=title,
        name=clean_text(_("姓名"), name, required=True, limit=50, name=True),
        phone=clean_phone(phone),
        household=household,
        selected_on=selected_on,
        term_end=term_end,
    )
