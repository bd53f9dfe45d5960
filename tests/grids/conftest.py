"""Grids fixtures: a grid in each of three villages, the persona grid worker in grid A1."""

from dataclasses import dataclass

import pytest

from grids.models import Grid, GridWorker, Household
from grids.services import grids as grid_service


@dataclass
class Grids:
    a1: Grid
    a2: Grid
    b1: Grid
    worker: GridWorker
    h_a1: Household
    h_a1_care: Household
    h_a2: Household
    h_b1: Household


@pytest.fixture
def grids(tree, personas) -> Grids:
    admin = personas.admin
    a1 = grid_service.grid_create(
        user=admin,
        unit=tree.compound_a1,
        code="G-A1-01",
        name="锦绣一网格",
        party_group="锦绣一网格党小组",
        buildings=[tree.building_a1],
    )
    a2 = grid_service.grid_create(user=admin, unit=tree.village_a2, code="G-A2-01", name="西流一组")
    b1 = grid_service.grid_create(user=admin, unit=tree.village_b1, code="G-B1-01", name="须水一组")
    worker = grid_service.worker_create(
        user=admin,
        unit=tree.village_a1,
        name="刘芳",
        kind=GridWorker.Kind.FULL_TIME,
        is_party_member=True,
        phone="13812345678",
        account=personas.grid_worker,
    )
    grid_service.worker_assign(user=admin, worker=worker, grid=a1)

    def household(grid, room, name, **kw):
        return grid_service.household_create(
            user=admin,
            grid=grid,
            address_building=kw.pop("building_label", "1号楼"),
            address_unit=kw.pop("unit", "1"),
            address_room=room,
            head_name=name,
            phone=kw.pop("phone", "13912345678"),
            **kw,
        )

    return Grids(
        a1=a1,
        a2=a2,
        b1=b1,
        worker=worker,
        h_a1=household(a1, "101", "张建华", building=tree.building_a1, worker=worker),
        h_a1_care=household(a1, "102", "李秀英", care_tags=["ELDERLY_ALONE"], member_count=1),
        h_a2=household(a2, "8", "王大山", building_label="一组", unit=""),
        h_b1=household(b1, "9", "赵小明", building_label="二组", unit=""),
    )
