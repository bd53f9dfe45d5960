"""Demo data: a deterministic Henan hierarchy at town, county or province scale, and demo users.

`demo_seed()` is the entry point (the `seed_demo` command calls it). Its steps:
1. `hierarchy_plan()` builds the whole tree in memory from one `random.Random(seed)`, with the
   treebeard paths computed here: adding nodes one by one through treebeard costs a few
   queries per node, far too slow for 51,000 branches.
2. `_hierarchy_write()` bulk-inserts it depth by depth (the level trigger needs every parent
   in the table before its children).
3. `demo_users_create()` adds one login per role; all of them use DEMO_PASSWORD.
Later steps (scorecard values, ...) go after the users.

Codes follow the shape of the official statistical codes: 41 → 4101 → 410102 → 410102001 →
410102001001 (→ compound +001 → building +001). Within a county, 街道 are numbered from 001,
镇 from 100 and 乡 from 200; within a township, 社区 from 001 and 村 from 200.
"""

import random
from collections import Counter
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history

from branches.demo.users import DEMO_PASSWORD, DEMO_USERNAMES, demo_users_create
from branches.models import (
    AssignmentVisit,
    BranchRating,
    Evidence,
    LeaderAssignment,
    MonthlyReport,
    OrgUnit,
    Pairing,
    RatingRollup,
    RecomputeChunk,
    RecomputeRun,
    Rectification,
    RectificationEvent,
    RectificationEvidence,
    ReportEvent,
    ReportValue,
    StarAssessment,
)
from branches.signals import demo_records_reset
from governance.database import statistics_refresh

L = OrgUnit.Level
A = OrgUnit.AreaType
K = OrgUnit.PartyOrgKind

DEFAULT_SEED = 2026
BATCH_SIZE = 5000


class Scale(models.TextChoices):
    TOWN = "town", gettext_lazy("一个街道和一个镇")
    COUNTY = "county", gettext_lazy("一个县(区)")
    PROVINCE = "province", gettext_lazy("全省")


class HierarchyNotEmptyError(Exception):
    """The demo is only written into an empty hierarchy (or after a reset)."""

    def __init__(self, count: int):
        self.count = count
        super().__init__(
            _("组织层级中已有 %(count)d 个单位，演示数据只能写入空的层级。") % {"count": count}
        )


# (code, name, counties, of which districts 区) — 18 cities, 157 counties as in Henan.
CITIES = [
    ("4101", "郑州市", 12, 6),
    ("4102", "开封市", 9, 5),
    ("4103", "洛阳市", 14, 7),
    ("4104", "平顶山市", 10, 4),
    ("4105", "安阳市", 9, 4),
    ("4106", "鹤壁市", 5, 3),
    ("4107", "新乡市", 12, 4),
    ("4108", "焦作市", 10, 4),
    ("4109", "濮阳市", 6, 1),
    ("4110", "许昌市", 6, 2),
    ("4111", "漯河市", 5, 3),
    ("4112", "三门峡市", 6, 2),
    ("4113", "南阳市", 13, 2),
    ("4114", "商丘市", 9, 2),
    ("4115", "信阳市", 10, 2),
    ("4116", "周口市", 10, 2),
    ("4117", "驻马店市", 10, 1),
    ("4190", "济源市", 1, 0),
]
# Zhengzhou's real counties, numbered in this order from 02 (the codes are the demo's own).
ZHENGZHOU_COUNTIES = [
    "中原区",
    "二七区",
    "管城回族区",
    "金水区",
    "上街区",
    "惠济区",
    "中牟县",
    "巩义市",
    "荥阳市",
    "新密市",
    "新郑市",
    "登封市",
]
TOWN_COUNTY = "中原区"
COUNTY_COUNTY = "中牟县"

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许沈曾彭吕苏卢蒋"
    "蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟"
    "龙万段雷钱汤尹常武乔贺龚文牛岳付宁申耿"
)
# fmt: off
GIVEN_NAMES = [
    "建国", "国强", "卫东", "红梅", "秀英", "桂兰", "志刚", "海燕", "丽", "静", "伟", "磊", "军",
    "勇", "霞", "敏", "芳", "娜", "强", "洋", "超", "明", "刚", "平", "辉", "鹏", "杰", "斌",
    "涛", "波", "玲", "燕", "凤英", "玉兰", "春生", "建军", "建华", "国庆", "爱民", "新民", "振华",
    "志强", "晓东", "晓燕", "文军", "学军", "红霞", "俊杰", "浩然", "欣怡", "丽娟", "秀兰", "永刚",
    "保国", "金凤", "德胜", "书勤", "丽萍", "海军", "桂芳", "素梅", "跃进", "向阳", "卫国", "玉梅",
    "小红", "东升", "明亮", "春燕",
]
PLACE_FIRST = (
    "金银石白黄青龙凤马牛柳杨桥河新古东西南北大小高长安永宁平兴丰庆福隆和顺泰清明双三五七八城梁崔"
)
PLACE_SECOND = "庄店集寨营岗桥湾河山坡楼口屯沟堂园林泉塘岭阳源台铺关陵里"
COUNTY_FIRST = (
    "安宁永新长平临清汝嵩伊卢灵洛淇滑浚封原延范台睢柘虞夏鹿郸沈项扶太西商淮固息光潢确泌遂正上方"
    "唐桐内淅社"
)
COUNTY_SECOND = "阳陵丘城川安宁平水原邑乡昌河山州武封津义南北康泉源野蔡柏"
DISTRICT_WORDS = [
    "城东", "城西", "城南", "城北", "东城", "西城", "南城", "北城", "新华", "建设", "解放", "人民",
    "和平", "胜利", "红旗", "文峰", "龙湖", "凤凰", "湖滨", "河西", "山阳", "卫东", "鼓楼", "长安",
    "龙亭", "老城", "新城", "东湖",
]
VILLAGE_SUFFIXES = "庄楼湾营寨集店岗屯洼沟桥庙堂坡园铺河台岭口窑场院"
VILLAGE_DIRECTIONS = "东西南北前后大小上下"
VILLAGE_WORDS = [
    "柳林", "杏花", "枣园", "桃园", "清泉", "石桥", "龙泉", "凤凰", "黄土", "白沙", "红星", "河湾",
    "槐树", "杨树", "梨园", "松林", "双井", "三里", "五里", "七里", "八里", "十里", "高台", "孤山",
    "古城", "马鞍", "青龙", "金鸡", "卧龙",
]
COMMUNITY_WORDS = [
    "新华", "建设路", "人民路", "文化路", "解放路", "和平", "幸福", "光明", "友谊", "胜利",
    "朝阳", "东风", "红旗", "团结", "民主", "桐柏", "嵩山", "伏牛", "黄河", "淮河",
    "百花", "锦绣", "翠竹", "绿城", "兴华", "育才", "学院路", "工人", "铁路", "纺织",
    "电厂", "园林", "滨河", "南关", "北关", "东关", "西关", "健康路", "农业路", "花园路",
    "经三路", "纬五路", "丰产路", "未来路", "商城", "文庙", "鼓楼", "书院",
]
COMPOUND_FIRST = [
    "锦绣", "阳光", "幸福", "金色", "翠竹", "绿城", "名门", "盛世", "富田", "康桥", "美景", "永安",
    "和谐", "书香", "颐和", "丽景", "东方", "滨河", "紫荆", "桂园",
]
COMPOUND_SECOND = [
    "花园", "小区", "家园", "苑", "华庭", "新城", "公馆", "名苑", "雅居", "佳园",
]
# fmt: on

JIEDAO, ZHEN, XIANG = "街道", "镇", "乡"
TOWNSHIP_CODE_START = {JIEDAO: 1, ZHEN: 100, XIANG: 200}


@dataclass(slots=True)
class UnitPlan:
    """One unit to be written: the OrgUnit fields, treebeard's included."""

    path: str
    depth: int
    numchild: int
    code: str
    name: str
    level: int
    area_type: str
    party_org_kind: str
    party_org_name: str
    secretary_name: str
    member_count: int
    household_count: int


@dataclass
class Plan:
    """The tree in pre-order (every parent before its children) and where the demo users work."""

    units: list[UnitPlan]
    province: UnitPlan
    city: UnitPlan
    county: UnitPlan
    townships: list[UnitPlan]
    village: UnitPlan
    grid_unit: UnitPlan


@dataclass
class SeedResult:
    scale: str
    seed: int
    unit_counts: dict[int, int]
    rated_counts: dict[str, int]
    users: list
    password: str = DEMO_PASSWORD


class _Planner:
    """Grows the tree in pre-order from one random.Random(seed), computing treebeard paths."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.units: list[UnitPlan] = []

    def add(
        self,
        parent: UnitPlan | None,
        *,
        code: str,
        name: str,
        level: int,
        kind: str,
        org_name: str,
        area_type: str = "",
        members: int = 0,
        households: int = 0,
    ) -> UnitPlan:
        if parent is None:
            depth, path = 1, OrgUnit._get_path(None, 1, 1)
        else:
            parent.numchild += 1
            depth = parent.depth + 1
            path = OrgUnit._get_path(parent.path, depth, parent.numchild)
        unit = UnitPlan(
            path=path,
            depth=depth,
            numchild=0,
            code=code,
            name=name,
            level=level,
            area_type=area_type,
            party_org_kind=kind,
            party_org_name=org_name,
            secretary_name=self.person(),
            member_count=members,
            household_count=households,
        )
        self.units.append(unit)
        return unit

    def person(self) -> str:
        return self.rng.choice(SURNAMES) + self.rng.choice(GIVEN_NAMES)

    def place(self, first: str, second: str) -> str:
        """A two-character place name such as 金岗 (never 河河)."""
        while (a := self.rng.choice(first)) == (b := self.rng.choice(second)):
            pass
        return a + b

    def unique(self, make, taken: set[str]) -> str:
        while (name := make()) in taken:
            pass
        taken.add(name)
        return name

    def province(self) -> UnitPlan:
        return self.add(None, code="41", name="河南省", level=L.PROVINCE, **_committee("河南省"))

    def city(self, province: UnitPlan, code: str, name: str) -> UnitPlan:
        return self.add(province, code=code, name=name, level=L.CITY, **_committee(name))

    def county(self, city: UnitPlan, index: int, name: str) -> UnitPlan:
        code = f"{city.code}{index + 2:02d}"
        return self.add(city, code=code, name=name, level=L.COUNTY, **_committee(name))

    def county_names(self, counties: int, districts: int) -> list[str]:
        r, taken = self.rng, set()
        names = [
            self.unique(lambda: r.choice(DISTRICT_WORDS) + "区", taken) for _n in range(districts)
        ]
        for _n in range(counties - districts):
            suffix = "市" if r.random() < 0.2 else "县"
            names.append(
                self.unique(lambda s=suffix: self.place(COUNTY_FIRST, COUNTY_SECOND) + s, taken)
            )
        return names

    def townships(
        self, county: UnitPlan, *, jiedao: int, zhen: int, xiang: int, compounds: bool
    ) -> list[UnitPlan]:
        made, taken = [], set()
        for kind, count in ((JIEDAO, jiedao), (ZHEN, zhen), (XIANG, xiang)):
            for i in range(count):
                communities, villages = self.township_size(kind)
                made.append(
                    self.township(
                        county,
                        kind,
                        i,
                        taken,
                        communities=communities,
                        villages=villages,
                        compounds=compounds,
                    )
                )
        return made

    def township_size(self, kind: str) -> tuple[int, int]:
        """(communities, villages): 街道 are mostly urban, 镇 and 乡 rural."""
        r = self.rng
        if kind == JIEDAO:
            return r.randint(4, 10), r.randint(0, 6)
        if kind == ZHEN:
            return int(r.random() < 0.3), r.randint(18, 34)
        return 0, r.randint(14, 30)

    def township(
        self,
        county: UnitPlan,
        kind: str,
        index: int,
        taken: set[str],
        *,
        communities: int,
        villages: int,
        compounds: bool,
    ) -> UnitPlan:
        name = self.unique(lambda: self.place(PLACE_FIRST, PLACE_SECOND) + kind, taken)
        if kind == JIEDAO:
            party = {"kind": K.WORKING_COMMITTEE, "org_name": f"中共{name}工作委员会"}
        else:
            party = _committee(name)
        code = f"{county.code}{TOWNSHIP_CODE_START[kind] + index:03d}"
        township = self.add(county, code=code, name=name, level=L.TOWNSHIP, **party)
        names: set[str] = set()
        for i in range(communities):
            self.community(township, f"{code}{1 + i:03d}", names, compounds=compounds)
        for i in range(villages):
            self.village(township, f"{code}{200 + i:03d}", names)
        return township

    def village(self, township: UnitPlan, code: str, taken: set[str]) -> UnitPlan:
        r = self.rng

        def make():
            pick = r.random()
            if pick < 0.6:
                return r.choice(SURNAMES) + r.choice(VILLAGE_SUFFIXES) + "村"
            if pick < 0.8:
                return (
                    r.choice(VILLAGE_DIRECTIONS)
                    + r.choice(SURNAMES)
                    + r.choice(VILLAGE_SUFFIXES)
                    + "村"
                )
            return r.choice(VILLAGE_WORDS) + "村"

        name = self.unique(make, taken)
        return self.branch(
            township,
            code,
            name,
            A.RURAL,
            members=r.randint(15, 90),
            households=r.randint(180, 1200),
        )

    def community(
        self, township: UnitPlan, code: str, taken: set[str], *, compounds: bool
    ) -> UnitPlan:
        r = self.rng
        name = self.unique(lambda: r.choice(COMMUNITY_WORDS) + "社区", taken)
        if not compounds:
            return self.branch(
                township,
                code,
                name,
                A.URBAN,
                members=r.randint(40, 260),
                households=r.randint(1200, 5000),
            )
        # A community whose compounds have their own branches is a general branch (党总支);
        # its own counts are what lies outside the compounds, the roll-up adds the rest.
        community = self.add(
            township,
            code=code,
            name=name,
            level=L.VILLAGE,
            area_type=A.URBAN,
            kind=K.GENERAL_BRANCH,
            org_name=f"中共{name}总支部委员会",
            members=r.randint(10, 40),
            households=r.randint(100, 800),
        )
        compound_names: set[str] = set()
        for i in range(r.randint(2, 4)):
            compound_name = self.unique(
                lambda: r.choice(COMPOUND_FIRST) + r.choice(COMPOUND_SECOND), compound_names
            )
            compound = self.add(
                community,
                code=f"{code}{1 + i:03d}",
                name=compound_name,
                level=L.COMPOUND,
                area_type=A.URBAN,
                kind=K.BRANCH,
                org_name=f"{compound_name}党支部",
                members=r.randint(2, 8),
            )
            for b in range(1, r.randint(2, 6) + 1):
                self.add(
                    compound,
                    code=f"{compound.code}{b:03d}",
                    name=f"{b}号楼",
                    level=L.BUILDING,
                    area_type=A.URBAN,
                    kind=K.GROUP,
                    org_name=f"{compound_name}{b}号楼党小组",
                    members=r.randint(3, 12),
                    households=r.randint(24, 120),
                )
        return community

    def branch(
        self, township: UnitPlan, code: str, name: str, area_type: str, *, members, households
    ) -> UnitPlan:
        # Party rules allow a general branch (党总支) once a branch has 50 or more members.
        kind, org = (
            (K.GENERAL_BRANCH, "总支部委员会") if members >= 50 else (K.BRANCH, "支部委员会")
        )
        return self.add(
            township,
            code=code,
            name=name,
            level=L.VILLAGE,
            area_type=area_type,
            kind=kind,
            org_name=f"中共{name}{org}",
            members=members,
            households=households,
        )

    def whole_province(self, province: UnitPlan) -> None:
        r = self.rng
        for code, name, counties, districts in CITIES:
            city = self.city(province, code, name)
            names = ZHENGZHOU_COUNTIES if code == "4101" else self.county_names(counties, districts)
            for index, county_name in enumerate(names):
                county = self.county(city, index, county_name)
                if county_name.endswith("区"):
                    size = r.randint(6, 14)
                    jiedao = r.randint((size + 1) // 2, size)
                else:
                    size = r.randint(13, 24)
                    jiedao = r.randint(1, 4)
                xiang = sum(r.random() < 0.3 for _ in range(size - jiedao))
                self.townships(
                    county,
                    jiedao=jiedao,
                    zhen=size - jiedao - xiang,
                    xiang=xiang,
                    compounds=False,
                )


def _committee(name: str) -> dict:
    return {"kind": K.COMMITTEE, "org_name": f"中共{name}委员会"}


def hierarchy_plan(*, scale: str, seed: int = DEFAULT_SEED) -> Plan:
    """The demo tree for a scale, in memory (no database): same seed, same tree."""
    planner = _Planner(seed)
    province = planner.province()
    if scale == Scale.PROVINCE:
        planner.whole_province(province)
    else:
        city = planner.city(province, *CITIES[0][:2])
        if scale == Scale.TOWN:
            county = planner.county(city, ZHENGZHOU_COUNTIES.index(TOWN_COUNTY), TOWN_COUNTY)
            rated = planner.rng.randint(18, 22)
            communities = planner.rng.randint(8, 12)
            taken: set[str] = set()
            planner.township(
                county,
                JIEDAO,
                0,
                taken,
                communities=communities,
                villages=rated - communities,
                compounds=True,
            )
            # A small second township, so that township B's staff and the scoping between
            # two townships can be tried; planned after the first, which it leaves unchanged.
            villages = planner.rng.randint(4, 6)
            planner.township(
                county, ZHEN, 0, taken, communities=0, villages=villages, compounds=False
            )
        elif scale == Scale.COUNTY:
            county = planner.county(city, ZHENGZHOU_COUNTIES.index(COUNTY_COUNTY), COUNTY_COUNTY)
            planner.townships(county, jiedao=5, zhen=7, xiang=3, compounds=True)
        else:
            raise ValueError(f"unknown scale {scale!r}")
    units = planner.units
    _roll_up_counts(units)
    return _with_anchors(units, scale)


def _roll_up_counts(units: list[UnitPlan]) -> None:
    """Each unit's member and household counts include those of its descendants."""
    by_path = {unit.path: unit for unit in units}
    # Reversed pre-order: every unit is complete before it is added to its parent.
    for unit in reversed(units):
        if unit.depth > 1:
            parent = by_path[unit.path[: -OrgUnit.steplen]]
            parent.member_count += unit.member_count
            parent.household_count += unit.household_count


def _with_anchors(units: list[UnitPlan], scale: str) -> Plan:
    """The demo users work in Zhengzhou's first county of the plan and its first townships."""
    county = next(u for u in units if u.level == L.COUNTY)
    city = next(u for u in units if u.path == county.path[: -OrgUnit.steplen])
    townships = [u for u in units if u.level == L.TOWNSHIP and u.path.startswith(county.path)]
    township_a = townships[0]
    in_a = [u for u in units if u.path.startswith(township_a.path)]
    compound = next((u for u in in_a if u.level == L.COMPOUND), None)
    if compound is not None:
        village = next(u for u in in_a if u.path == compound.path[: -OrgUnit.steplen])
    else:
        village = next(u for u in in_a if u.level == L.VILLAGE)
    return Plan(
        units=units,
        province=units[0],
        city=city,
        county=county,
        townships=townships[:2],
        village=village,
        grid_unit=compound or village,
    )


@transaction.atomic
def demo_seed(*, scale: str, seed: int = DEFAULT_SEED, reset: bool = False) -> SeedResult:
    """Write the demo hierarchy and the demo users; refuse a non-empty hierarchy unless reset."""
    if reset:
        demo_reset()
    elif count := OrgUnit.objects.count():
        raise HierarchyNotEmptyError(count)
    plan = hierarchy_plan(scale=scale, seed=seed)
    # At province scale 53,000 '+' history rows would double the write time for no reader:
    # the rows are synthetic, and simple_history stores the whole row at the first real change,
    # so nothing a later audit needs is lost. The smaller scales keep history for the demo.
    _hierarchy_write(plan.units, record_history=scale != Scale.PROVINCE)
    saved = {u.code: u for u in OrgUnit.objects.filter(code__in=_anchor_codes(plan))}
    users = demo_users_create(
        province=saved[plan.province.code],
        city=saved[plan.city.code],
        county=saved[plan.county.code],
        townships=[saved[t.code] for t in plan.townships],
        village=saved[plan.village.code],
        grid_unit=saved[plan.grid_unit.code],
    )
    statistics_refresh(OrgUnit, OrgUnit.history.model)
    rated = [u for u in plan.units if u.level == L.VILLAGE]
    return SeedResult(
        scale=scale,
        seed=seed,
        unit_counts=dict(sorted(Counter(u.level for u in plan.units).items())),
        rated_counts=dict(Counter(u.area_type for u in rated)),
        users=users,
    )


def _anchor_codes(plan: Plan) -> list[str]:
    units = [plan.province, plan.city, plan.county, *plan.townships, plan.village, plan.grid_unit]
    return [u.code for u in units]


def _hierarchy_write(units: list[UnitPlan], *, record_history: bool) -> None:
    by_depth: dict[int, list[OrgUnit]] = {}
    for unit in units:
        by_depth.setdefault(unit.depth, []).append(
            OrgUnit(**{name: getattr(unit, name) for name in UnitPlan.__slots__})
        )
    for depth in sorted(by_depth):
        if record_history:
            bulk_create_with_history(
                by_depth[depth],
                OrgUnit,
                batch_size=BATCH_SIZE,
                default_change_reason=_("演示数据"),
            )
        else:
            OrgUnit.objects.bulk_create(by_depth[depth], batch_size=BATCH_SIZE)


@transaction.atomic
def demo_reset() -> None:
    """Delete the whole hierarchy, its scorecards and ratings, their history, and every
    account that works inside it."""
    # The records apps go first, each emptying its own tables in its own order.
    demo_records_reset.send(sender=OrgUnit)
    # Plain DELETEs: the ORM would load every row and write a deletion history row for each
    # (minutes at province scale); the demo's history starts over with the demo.
    scorecards = [
        RectificationEvent,
        RectificationEvidence,
        Rectification,
        RecomputeChunk,
        RecomputeRun,
        Evidence,
        ReportValue,
        ReportEvent,
        MonthlyReport,
        StarAssessment,
        BranchRating,
        RatingRollup,
    ]
    # What the layers above hang off the timeline (governance's notifications) goes first;
    # named through the relation, since branches does not import them.
    above = [
        rel.related_model
        for rel in ReportEvent._meta.related_objects
        if rel.related_model not in scorecards
    ]
    # 包联 and 结对 name units and accounts (PROTECT): they go before either.
    oversight = [AssignmentVisit, LeaderAssignment, Pairing]
    # And what they keep per unit (governance's supervision reports), users aside.
    above += [
        rel.related_model
        for rel in OrgUnit._meta.related_objects
        if rel.related_model._meta.app_label != "branches"
        and rel.related_model is not get_user_model()
        and not rel.related_model.__name__.startswith("Historical")
        and rel.related_model not in above
    ]
    with connection.cursor() as cursor:
        for model in [*oversight, *above, *scorecards]:
            for table in _tables(model):
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")
    User = get_user_model()
    User.objects.filter(Q(unit__isnull=False) | Q(username__in=DEMO_USERNAMES)).delete()
    # What outlives a unit (the export log keeps the unit's code) lets go of it first: the
    # plain DELETE below does not do the ORM's SET_NULL.
    for rel in OrgUnit._meta.related_objects:
        if rel.on_delete is models.SET_NULL and rel.related_model is not OrgUnit:
            name = rel.field.name
            rel.related_model._base_manager.filter(**{f"{name}__isnull": False}).update(
                **{name: None}
            )
    with connection.cursor() as cursor:
        for table in _tables(OrgUnit)[::-1]:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")


def _tables(model) -> list[str]:
    """The model's table and, after it, its history table if it keeps one."""
    history = getattr(model, "history", None)
    return [model._meta.db_table] + ([history.model._meta.db_table] if history else [])
