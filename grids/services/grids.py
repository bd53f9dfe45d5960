"""Grids, their buildings, workers and assignments, households, building heads.

Who: township staff and administrators keep them (`User.can_manage_grids`), in jurisdiction.
"""

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
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
from grids.services.common import clean_phone, clean_text, require

L = OrgUnit.Level


def village_of(unit: OrgUnit) -> OrgUnit:
    """The rated village/community a unit at or below it belongs to."""
    if unit.level == L.VILLAGE:
        return unit
    return OrgUnit.objects.get(path=unit.path[: OrgUnit.steplen * L.VILLAGE])


def _in_scope(user, unit: OrgUnit) -> None:
    if not OrgUnit.objects.visible_to(user).filter(pk=unit.pk).exists():
        raise PermissionDenied(_("该单位不在您的管辖范围内。"))


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
    code = clean_text(_("网格编码"), code, required=True, limit=40, name=True)
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
def grid_buildings_set(*, user, grid: Grid, buildings: list[OrgUnit]) -> Grid:
    """The buildings the grid covers, replacing the previous set."""
    require(user.can_manage_grids, _("您的角色不能调整网格。"))
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
) -> GridWorker:
    require(user.can_manage_grids, _("您的角色不能登记网格员。"))
    _in_scope(user, unit)
    if kind not in GridWorker.Kind.values:
        raise ValidationError(_("请选择网格员类型（专职、兼职或志愿者）。"))
    if account is not None:
        if account.role != account.Role.GRID_WORKER:
            raise ValidationError(_("关联的账号必须是“网格员”角色。"))
        if GridWorker.objects.filter(user=account).exists():
            raise ValidationError(_("该账号已关联另一位网格员。"))
    return GridWorker.objects.create(
        unit=unit,
        user=account,
        name=clean_text(_("姓名"), name, required=True, limit=50, name=True),
        kind=kind,
        is_party_member=is_party_member,
        phone=clean_phone(phone),
    )


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
    assignment.ended_on = ended_on or timezone.localdate()
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
    if (
        building is not None
        and not GridBuilding.objects.filter(grid=grid, building=building).exists()
    ):
        raise ValidationError(_("楼栋“%(name)s”不在该网格内。") % {"name": building.name})
    household = Household(
        grid=grid,
        building=building,
        address_building=clean_text(_("楼栋/组"), address_building, required=True, limit=50),
        address_unit=clean_text(_("单元"), address_unit, required=False, limit=20),
        address_room=clean_text(_("门牌/房号"), address_room, required=True, limit=20),
        head_name=clean_text(_("户主姓名"), head_name, required=True, limit=50, name=True),
        phone=clean_phone(phone),
        member_count=clean_members(member_count),
        care_tags=clean_care_tags(care_tags),
        is_party_member_household=is_party_member_household,
        worker=worker,
    )
    if Household.objects.filter(
        grid=grid,
        address_building=household.address_building,
        address_unit=household.address_unit,
        address_room=household.address_room,
    ).exists():
        raise ValidationError(_("该网格中已有地址为“%(a)s”的住户。") % {"a": household.address})
    household.save()
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
    if term_end is not None and term_end < selected_on:
        raise ValidationError(_("任期截止日期不能早于选任日期。"))
    return BuildingHead.objects.create(
        building=building,
        title=title,
        name=clean_text(_("姓名"), name, required=True, limit=50, name=True),
        phone=clean_phone(phone),
        household=household,
        selected_on=selected_on,
        term_end=term_end,
    )
