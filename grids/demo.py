"""Demo grids: for every demo village/community its grids (a compound's buildings, or 组 in a
rural village), a worker per grid (demo_wangge in the grids of their unit), households, a
visit record over the demo months, events in every status with their steps, building heads
and a few hazards (closed ones with evidence). Bulk inserts with every field the services
set; most branches keep visit coverage >= 90 %, about one in eight does not."""

import random
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from branches.demo.users import township_staff
from branches.models import OrgUnit
from grids.models import (
    BuildingHead,
    CareTag,
    Grid,
    GridAssignment,
    GridBuilding,
    GridEvent,
    GridEventPhoto,
    GridEventStep,
    GridWorker,
    Hazard,
    HazardEvidence,
    HazardStep,
    Household,
    Visit,
)

L = OrgUnit.Level
S = GridEvent.Status
A = GridEventStep.Action
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "建国秀英桂兰志强丽娟海燕明华玉兰文杰春梅红霞伟军小红永刚淑珍凤英国华德明家豪子涵"
WORKER_NAMES = ["马玉梅", "高建军", "孙丽华", "胡志刚", "朱晓燕", "何海涛", "郭淑芬", "罗永强"]
DESCRIPTIONS = {
    S.CLOSED: "楼道堆放杂物，影响通行",
    "DISPUTE": "邻里因漏水问题发生矛盾，需要调解",
    "FACILITY": "路灯损坏，夜间出行不便",
    "ENVIRONMENT": "垃圾清运不及时",
    "LIVELIHOOD": "独居老人反映用水困难",
    "SAFETY": "电动车在楼道内充电",
    "OTHER": "群众反映噪音扰民",
}
CARE_TAGS = [t.value for t in CareTag]
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00\x00"
    b":~\x9bU\x00\x00\x00\nIDATx\x9cc`\x00\x00\x00\x02\x00\x01H\xaf\xa4q\x00\x00\x00\x00IEND"
    b"\xaeB`\x82"
)
EVIDENCE_NAME = "grids/demo/整改照片.png"


def _name(rng) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN[::2]) + rng.choice(GIVEN[1::2])


def _phone(rng) -> str:
    return "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9))


def _at(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour % 24, 0)))


def _month_days(period: date, today: date):
    nxt = (period.replace(day=28) + timedelta(days=4)).replace(day=1)
    last = min(nxt - timedelta(days=1), today)
    return period, last


def demo_grids_reset(sender=None, **kwargs):
    """Delete every grids row (the demo reset: the demo owns the whole database)."""
    for model in [
        GridEventStep,
        GridEventPhoto,
        GridEvent,
        HazardStep,
        HazardEvidence,
        Hazard,
        Visit,
        BuildingHead,
        Household,
        GridAssignment,
        GridWorker,
        GridBuilding,
        Grid,
    ]:
        model.objects.all().delete()
        history = getattr(model, "history", None)
        if history is not None:
            history.model.objects.all().delete()


@transaction.atomic
def demo_grids_seed(sender=None, *, months, today, seed, scale="town", **kwargs):
    rng = random.Random(seed * 7919 + 10)
    # Seeding again replaces the demo's grids (the same seed gives the same records).
    demo_grids_reset()
    if not months:
        return
    villages = list(OrgUnit.objects.rated().order_by("path"))
    if not villages:
        return
    compounds = {}
    buildings = {}
    for unit in OrgUnit.objects.filter(level__in=[L.COMPOUND, L.BUILDING]).order_by("path"):
        if unit.level == L.COMPOUND:
            compounds.setdefault(unit.path[: 4 * L.VILLAGE], []).append(unit)
        else:
            buildings.setdefault(unit.path[: 4 * L.COMPOUND], []).append(unit)
    townships = list(OrgUnit.objects.filter(level=L.TOWNSHIP).order_by("path"))
    staff = township_staff(townships)
    township_by_path = {t.path: t for t in townships}
    User = get_user_model()
    wangge = User.objects.filter(username="demo_wangge", is_active=True).first()

    # Grids: a compound each (covering its buildings), or two or three 组 of a rural village.
    grids, grid_buildings, plan = [], [], []
    for village in villages:
        units = compounds.get(village.path) or []
        if units:
            for compound in units:
                grids.append(
                    Grid(
                        unit=compound,
                        code=f"{compound.code}-W1",
                        name=f"{compound.name}网格",
                        party_group=f"{compound.name}网格党小组",
                    )
                )
                plan.append((village, grids[-1], buildings.get(compound.path, [])))
        else:
            for n in range(1, rng.randint(2, 3) + 1):
                grids.append(
                    Grid(unit=village, code=f"{village.code}-W{n}", name=f"{village.name}第{n}网格")
                )
                plan.append((village, grids[-1], []))
    Grid.objects.bulk_create(grids, batch_size=2000)
    for _village, grid, covered in plan:
        grid_buildings += [GridBuilding(grid=grid, building=b) for b in covered]
    GridBuilding.objects.bulk_create(grid_buildings, batch_size=2000)

    # Workers: one per grid; demo_wangge serves the grids under their unit.
    workers, assignments = [], []
    start = months[0]
    mine = None
    for i, (village, grid, _c) in enumerate(plan):
        use_login = (
            wangge is not None and wangge.unit and grid.unit.path.startswith(wangge.unit.path)
        )
        if use_login and mine is None:
            mine = GridWorker(
                unit=village,
                user=wangge,
                name=wangge.get_full_name() or "刘芳",
                kind=GridWorker.Kind.FULL_TIME,
                is_party_member=True,
                phone=_phone(rng),
            )
            workers.append(mine)
        worker = (
            mine
            if use_login
            else GridWorker(
                unit=village,
                name=WORKER_NAMES[i % len(WORKER_NAMES)],
                kind=rng.choice(list(GridWorker.Kind.values)),
                is_party_member=rng.random() < 0.6,
                phone=_phone(rng),
            )
        )
        if not use_login:
            workers.append(worker)
        grid.worker = worker
    GridWorker.objects.bulk_create(workers, batch_size=2000)
    for _v, grid, _c in plan:
        assignments.append(GridAssignment(worker=grid.worker, grid=grid, started_on=start))
    GridAssignment.objects.bulk_create(assignments, batch_size=2000)

    # Households; a branch in eight is weak: a quarter of its households are seldom visited.
    per_grid = (10, 16) if scale == "county" else (12, 20)
    # A branch in eight stays short all year (a third of its households barely visited); one
    # in ten starts short and catches up as the year's visits add up.
    kind = {v.pk: rng.choices(["weak", "late", ""], [0.12, 0.10, 0.78])[0] for v in villages}
    rates = {"weak": (0.35, 0.03), "late": (0.30, 0.15), "": (0.0, 0.0)}
    households = []
    for village, grid, covered in plan:
        for n in range(rng.randint(*per_grid)):
            building = covered[n % len(covered)] if covered else None
            slot = n // len(covered) if covered else n
            h = Household(
                grid=grid,
                building=building,
                address_building=building.name if building else f"{1 + n // 8}组",
                address_unit=str(1 + slot % 2) if building else "",
                address_room=f"{1 + slot // 2}01" if building else str(n + 1),
                head_name=_name(rng),
                phone=_phone(rng),
                member_count=rng.randint(1, 6),
                care_tags=[rng.choice(CARE_TAGS)] if rng.random() < 0.12 else [],
                is_party_member_household=rng.random() < 0.06,
                worker=grid.worker,
                created_at=_at(start, 9),
            )
            share, low = rates[kind[village.pk]]
            h.rate = low if rng.random() < share else 0.93
            households.append(h)
    Household.objects.bulk_create(households, batch_size=2000)

    # Visits: per household and month, at its rate; the open month up to today too.
    periods = [*months]
    this_month = today.replace(day=1)
    if this_month not in periods and this_month > periods[-1]:
        periods.append(this_month)
    purposes = list(Visit.Purpose.values)
    visits = []
    for h in households:
        last = None
        for period in periods:
            first, end = _month_days(period, today)
            if rng.random() >= h.rate or end < first:
                continue
            day = first + timedelta(days=rng.randint(0, (end - first).days))
            visits.append(
                Visit(
                    household=h,
                    grid_id=h.grid_id,
                    worker=h.worker,
                    recorded_by=h.worker.user,
                    visited_on=day,
                    purpose=rng.choice(purposes),
                    notes="",
                    needs_follow_up=rng.random() < 0.05,
                    created_at=_at(day, 18),
                )
            )
            last = day
        h.last_visited_on = last
    Visit.objects.bulk_create(visits, batch_size=5000)
    Household.objects.bulk_update(households, ["last_visited_on"], batch_size=2000)

    _events(rng, plan, households, periods, today, staff, township_by_path)
    _hazards(rng, plan, today, staff, township_by_path)
    heads = [
        BuildingHead(
            building=b,
            title=BuildingHead.Title.BUILDING,
            name=_name(rng),
            phone=_phone(rng),
            selected_on=start,
            term_end=start + timedelta(days=3 * 365),
        )
        for _v, _g, covered in plan
        for b in covered
    ]
    BuildingHead.objects.bulk_create(heads, batch_size=2000)


def _people(grid, staff, township_by_path):
    township = township_by_path.get(grid.unit.path[: 4 * L.TOWNSHIP])
    pair = staff.get(township.pk) if township else None
    return township, (pair.maker if pair else None), (pair.checker if pair else None)


def _name_of(user, default="") -> str:
    return (user.get_full_name() or user.username) if user else default


def _events(rng, plan, households, periods, today, staff, township_by_path):
    by_grid = {}
    for h in households:
        by_grid.setdefault(h.grid_id, []).append(h)
    events, steps = [], []
    seq = 0
    categories = list(GridEvent.Category.values)
    for _village, grid, _c in plan:
        township, maker, checker = _people(grid, staff, township_by_path)
        reporter = grid.worker.user
        reporter_name = grid.worker.name
        for period in periods:
            if rng.random() < 0.35:
                continue
            first, end = _month_days(period, today)
            reported = first + timedelta(days=rng.randint(0, max(0, (end - first).days)))
            age = (today - reported).days
            if age > 45:
                status = S.RETURNED if rng.random() < 0.06 else S.CLOSED
            else:
                status = rng.choice(
                    [
                        S.REPORTED,
                        S.ACCEPTED,
                        S.DISPATCHED,
                        S.HANDLED,
                        S.FEEDBACK,
                        S.CLOSED,
                        S.RETURNED,
                    ]
                )
            seq += 1
            category = rng.choice(categories)
            event = GridEvent(
                number=f"SJ{reported:%Y}D{seq:06d}",
                grid=grid,
                household=rng.choice(by_grid[grid.pk]) if by_grid.get(grid.pk) else None,
                category=category,
                description=DESCRIPTIONS.get(category, "群众反映问题"),
                location=grid.name,
                status=status,
                reporter=reporter,
                reporter_name=reporter_name,
                reported_at=_at(reported, 9),
            )
            chain = _chain(
                rng, event, reported=reported, age=age, people=(township, maker, checker)
            )
            events.append(event)
            for index, (action, before, after, user, name, note, offset) in enumerate(chain):
                # A step an hour after the one before on the same day: the timeline's order.
                occurred = _at(reported + timedelta(days=offset), 9 + index)
                if action == A.HANDLED:
                    event.handled_at = occurred
                elif action in (A.CLOSED, A.RETURNED):
                    event.closed_at = occurred
                steps.append(
                    (
                        event,
                        GridEventStep(
                            action=action,
                            from_status=before,
                            to_status=after,
                            actor=user,
                            actor_name=name,
                            note=note,
                            occurred_at=occurred,
                        ),
                    )
                )
    GridEvent.objects.bulk_create(events, batch_size=2000)
    for event, step in steps:
        step.event = event
    GridEventStep.objects.bulk_create([s for _e, s in steps], batch_size=5000)


def _chain(rng, event, *, reported, age, people):
    """The steps of an event up to its status, with every field the services set."""
    township, maker, checker = people
    status = event.status
    chain = [(A.REPORTED, "", S.REPORTED, event.reporter, event.reporter_name, "", 0)]
    day = 0

    def add(action, before, after, user, note, gap, name=None):
        nonlocal day
        day = min(day + gap, max(age, 0))
        name = name or _name_of(user, "乡镇工作人员")
        chain.append((action, before, after, user, name, note, day))

    def moment(hour):
        return _at(reported + timedelta(days=day), hour)

    if status == S.RETURNED:
        add(A.RETURNED, S.REPORTED, S.RETURNED, maker, "不属于网格事件，已告知群众通过12345反映", 1)
        event.closed_at = moment(15)
        return chain
    if status == S.REPORTED:
        return chain
    add(A.ACCEPTED, S.REPORTED, S.ACCEPTED, maker, "", 0)
    if status == S.ACCEPTED:
        return chain
    event.deadline = reported + timedelta(days=rng.choice([5, 7, 10]))
    event.assignee_unit, event.assignee_user = township, checker
    note = f"派至{_name_of(checker, '乡镇')}，期限 {event.deadline}"
    add(A.DISPATCHED, S.ACCEPTED, S.DISPATCHED, maker, note, 1)
    if status == S.DISPATCHED:
        return chain
    late = rng.random() < 0.1
    add(
        A.HANDLED,
        S.DISPATCHED,
        S.HANDLED,
        checker,
        "已现场处置",
        (event.deadline - reported).days + 2 if late else rng.randint(1, 4),
    )
    event.result, event.handled_at = "已现场处置", moment(16)
    if status == S.HANDLED:
        return chain
    add(
        A.FEEDBACK,
        S.HANDLED,
        S.FEEDBACK,
        event.reporter,
        "已向群众反馈，群众满意",
        1,
        name=event.reporter_name,
    )
    if status == S.CLOSED:
        add(A.CLOSED, S.FEEDBACK, S.CLOSED, maker, "", 1)
        event.closed_at = moment(17)
    return chain


def _hazards(rng, plan, today, staff, township_by_path):
    if not default_storage.exists(EVIDENCE_NAME):
        default_storage.save(EVIDENCE_NAME, ContentFile(PNG))
    hazards, steps, evidence = [], [], []
    kinds = list(Hazard.Kind.values)
    for n, (_village, grid, _c) in enumerate(plan[::3]):
        _t, maker, _checker = _people(grid, staff, township_by_path)
        found = today - timedelta(days=rng.randint(3, 200))
        deadline = found + timedelta(days=15)
        closed = rng.random() < 0.6 and deadline < today
        hazard = Hazard(
            number=f"YH{found:%Y}D{n + 1:06d}",
            grid=grid,
            source=Hazard.Source.INSPECTION,
            place=f"{grid.name}公共区域",
            kind=rng.choice(kinds),
            risk=rng.choice(list(Hazard.Risk.values)),
            description="排查发现安全隐患，已告知责任人限期整改",
            found_on=found,
            deadline=deadline,
            responsible_name=_name(rng),
            recorded_by=grid.worker.user,
            created_at=_at(found, 10),
        )
        steps.append(
            (
                hazard,
                HazardStep(
                    action=HazardStep.Action.RECORDED,
                    to_status=Hazard.Status.OPEN,
                    actor=grid.worker.user,
                    actor_name=grid.worker.name,
                    occurred_at=_at(found, 10),
                ),
            )
        )
        if closed:
            day = found + timedelta(days=rng.randint(2, 20))
            hazard.status, hazard.closed_on, hazard.closed_by = Hazard.Status.CLOSED, day, maker
            hazard.close_note = "已整改到位，现场复核通过"
            evidence.append(
                (
                    hazard,
                    HazardEvidence(
                        file=EVIDENCE_NAME,
                        original_name="整改照片.png",
                        size=len(PNG),
                        uploaded_by=grid.worker.user,
                        uploaded_at=_at(day, 9),
                    ),
                )
            )
            steps.append(
                (
                    hazard,
                    HazardStep(
                        action=HazardStep.Action.EVIDENCE_ADDED,
                        actor=grid.worker.user,
                        actor_name=grid.worker.name,
                        note="整改照片.png",
                        occurred_at=_at(day, 9),
                    ),
                )
            )
            steps.append(
                (
                    hazard,
                    HazardStep(
                        action=HazardStep.Action.CLOSED,
                        from_status=Hazard.Status.OPEN,
                        to_status=Hazard.Status.CLOSED,
                        actor=maker,
                        actor_name=_name_of(maker, "乡镇工作人员"),
                        note=hazard.close_note,
                        occurred_at=_at(day, 15),
                    ),
                )
            )
        hazards.append(hazard)
    Hazard.objects.bulk_create(hazards, batch_size=2000)
    for hazard, item in [*steps, *evidence]:
        item.hazard = hazard
    HazardStep.objects.bulk_create([s for _h, s in steps], batch_size=5000)
    HazardEvidence.objects.bulk_create([e for _h, e in evidence], batch_size=5000)
