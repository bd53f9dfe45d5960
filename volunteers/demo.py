"""Demo volunteers records, seeded before the demo's months are rated (so CI-03/HA-01 see
them): per branch two or three teams, a dozen volunteers, months of activities with
attendance (confirmed by township staff, the last month's partly pending), the points those
hours earned and some redemptions, merchants, and service orders in every status.

Most branches hold two to four activities a month; about one in seven holds fewer, so the
volunteer criterion fails there. Bulk inserts setting every field the services would.
"""

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from branches.demo.users import township_staff
from branches.models import OrgUnit
from volunteers.models import (
    Activity,
    ActivityPhoto,
    Attendance,
    Membership,
    Merchant,
    PointsBalance,
    PointsEntry,
    ServiceOrder,
    ServiceOrderStep,
    Team,
    Volunteer,
    YearHours,
)
from volunteers.services.activities import points_for, year_hours_refresh

L = OrgUnit.Level
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = [
    "秀英",
    "桂兰",
    "建国",
    "志强",
    "海燕",
    "丽娟",
    "文军",
    "春燕",
    "国庆",
    "玉梅",
    "明",
    "静",
    "伟",
    "芳",
    "磊",
    "敏",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "超",
    "霞",
]
TEAMS = [
    (Team.Colour.RED, "红色宣讲志愿服务队", "政策宣讲、党史学习", Activity.Kind.POLICY),
    (Team.Colour.ORANGE, "橙色应急救援志愿服务队", "应急救援、安全巡查", Activity.Kind.RESCUE),
    (Team.Colour.YELLOW, "黄色环境卫生志愿服务队", "环境整治、垃圾分类", Activity.Kind.ENVIRONMENT),
    (Team.Colour.GREEN, "绿色文明实践志愿服务队", "文化娱乐、移风易俗", Activity.Kind.CULTURE),
    (Team.Colour.BLUE, "蓝色法律援助志愿服务队", "法律咨询、矛盾调解", Activity.Kind.LEGAL_AID),
    (Team.Colour.PURPLE, "紫色关爱帮扶志愿服务队", "关爱老人、留守儿童", Activity.Kind.CARE),
    (Team.Colour.CYAN, "青色健康义诊志愿服务队", "义诊、健康讲座", Activity.Kind.CLINIC),
]
TITLES = {
    Activity.Kind.POLICY: ["政策宣讲进小区", "党史故事分享会", "惠民政策解读"],
    Activity.Kind.RESCUE: ["消防安全演练", "防汛巡查", "应急知识培训"],
    Activity.Kind.ENVIRONMENT: ["清洁家园行动", "垃圾分类宣传", "背街小巷整治"],
    Activity.Kind.CULTURE: ["广场舞展演", "文明家庭评选", "书法进社区"],
    Activity.Kind.LEGAL_AID: ["法律咨询日", "反诈宣传", "邻里纠纷调解"],
    Activity.Kind.CARE: ["走访慰问独居老人", "留守儿童课业辅导", "助残送温暖"],
    Activity.Kind.CLINIC: ["健康义诊", "测血压送健康", "中医养生讲座"],
}
MERCHANTS = [
    ("爱心超市", "日用品兑换"),
    ("便民理发店", "免费理发"),
    ("惠民药店", "常用药品"),
    ("粮油店", "米面粮油"),
]
SKILLS = ["", "", "理发", "维修家电", "医护", "法律", "书法", "厨艺", "驾驶", "心理疏导"]
SPARSE_SHARE = 0.15


def _aware(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour))


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"


def _branches(scale: str) -> list[OrgUnit]:
    rated = OrgUnit.objects.rated()
    if scale == "province":
        # The province has 51,000 branches: volunteers records for the demo county only.
        county = get_user_model().objects.filter(username="demo_xian").first()
        if county is None or county.unit is None:
            return []
        rated = rated.under(county.unit)
    return list(rated.only("id", "path", "depth", "name"))


def demo_records_seed(sender, *, months, today, seed, scale, **kwargs) -> None:
    if not months:
        return
    with transaction.atomic():
        # Seeding again (the demo's values reseeded without a reset) starts over: same seed,
        # same records.
        demo_records_reset(sender=None)
        _seed(months=months, today=today, seed=seed, scale=scale)


def _seed(*, months: list[date], today: date, seed: int, scale: str) -> None:
    rng = random.Random(f"volunteers-{seed}")
    branches = _branches(scale)
    if not branches:
        return
    township_ids = {b.path[: (L.TOWNSHIP) * OrgUnit.steplen] for b in branches}
    townships = {t.path: t for t in OrgUnit.objects.filter(path__in=township_ids)}
    staff = township_staff(list(townships.values()))
    User = get_user_model()
    logins = {
        u.username: u
        for u in User.objects.filter(username__in=["demo_shuji", "demo_wangge"]).select_related(
            "unit"
        )
    }
    secretary, grid_worker = logins.get("demo_shuji"), logins.get("demo_wangge")
    first_day = months[0]

    def volunteer(unit, **fields) -> Volunteer:
        party = rng.random() < 0.45
        defaults = {
            "name": _name(rng),
            "phone": _phone(rng),
            "is_party_member": party,
            "is_in_service_member": party and rng.random() < 0.45,
            "skills": rng.choice(SKILLS),
            "joined_on": first_day - timedelta(days=rng.randint(10, 400)),
        }
        return Volunteer(unit=unit, **{**defaults, **fields})

    volunteers, teams, memberships, merchants = [], [], [], []
    plans = []  # (branch, staff user, team objects, member lists, sparse)
    for branch in branches:
        staffer = staff[townships[branch.path[: L.TOWNSHIP * OrgUnit.steplen]].pk].checker
        people = [volunteer(branch) for _n in range(rng.randint(9, 14))]
        branch_teams = []
        for colour, name, domain, kind in rng.sample(TEAMS, rng.choice((2, 2, 3))):
            team = Team(unit=branch, name=name, colour=colour, domain=domain)
            team.demo_kind = kind
            team.demo_leader = None
            branch_teams.append(team)
        # The demo secretary leads their branch's first team; the demo grid worker a team of
        # their own grid (inside their jurisdiction), so both see their team's work.
        if secretary is not None and secretary.unit_id == branch.pk:
            leader = volunteer(
                branch,
                name=secretary.get_full_name() or "书记",
                user=secretary,
                is_party_member=True,
                is_in_service_member=False,
            )
            people.append(leader)
            branch_teams[0].demo_leader = leader
        if grid_worker is not None and grid_worker.unit.path.startswith(branch.path):
            leader = volunteer(
                grid_worker.unit, name=grid_worker.get_full_name() or "网格员", user=grid_worker
            )
            people.append(leader)
            team = Team(
                unit=grid_worker.unit,
                name=f"{grid_worker.unit.name}邻里互助队",
                colour=Team.Colour.CYAN,
                domain="邻里互助、便民服务",
            )
            team.demo_kind = Activity.Kind.CARE
            team.demo_leader = leader
            branch_teams.append(team)
        volunteers.extend(people)
        teams.extend(branch_teams)
        merchants.append(
            Merchant(
                unit=branch,
                name=f"{branch.name}{rng.choice(MERCHANTS)[0]}",
                offer=rng.choice(MERCHANTS)[1],
                address=f"{branch.name}主街",
            )
        )
        plans.append((branch, staffer, branch_teams, people, rng.random() < SPARSE_SHARE))

    Volunteer.objects.bulk_create(volunteers, batch_size=2000)
    Team.objects.bulk_create(teams, batch_size=2000)
    Merchant.objects.bulk_create(merchants, batch_size=2000)
    PointsBalance.objects.bulk_create(
        (PointsBalance(volunteer=v) for v in volunteers), batch_size=5000
    )

    team_members = {}
    for _branch, _staffer, branch_teams, people, _sparse in plans:
        for team in branch_teams:
            members = rng.sample(people, min(len(people), rng.randint(5, 8)))
            if team.demo_leader is not None:
                members = [team.demo_leader, *(m for m in members if m is not team.demo_leader)]
            team.leader = members[0]
            team_members[team.pk] = members
            memberships.extend(
                Membership(team=team, volunteer=v, joined_on=v.joined_on) for v in members
            )
    Team.objects.bulk_update(teams, ["leader"], batch_size=2000)
    Membership.objects.bulk_create(memberships, batch_size=5000)

    activities, rows = [], []
    last_month = months[-1]
    for _branch, staffer, branch_teams, _people, sparse in plans:
        for month in months:
            count = rng.choice((0, 1, 1, 2)) if sparse else rng.choice((2, 2, 3, 3, 4))
            for _n in range(count):
                team = rng.choice(branch_teams)
                day = month + timedelta(days=rng.randint(0, 27))
                start = rng.choice((8, 9, 14, 15))
                activity = Activity(
                    team=team,
                    title=rng.choice(TITLES[team.demo_kind]),
                    kind=team.demo_kind,
                    date=day,
                    start_time=time(start),
                    end_time=time(start + rng.choice((1, 2, 2, 3))),
                    place=team.unit,
                    people_served=rng.randint(8, 80),
                    created_by=staffer,
                )
                activity.created_at = _aware(day, 18)
                members = team_members[team.pk]
                present = rng.sample(members, min(len(members), rng.randint(2, 5)))
                activities.append(activity)
                rows.append((activity, present, month == last_month, staffer))
    Activity.objects.bulk_create(activities, batch_size=5000)
    # auto_now_add overrode the recording time: set it back to the activity's evening.
    _backdate_activities(activities)

    attendance = []
    for activity, present, is_last, staffer in rows:
        span = activity.end_time.hour - activity.start_time.hour
        for volunteer in present:
            pending = is_last and rng.random() < 0.4
            rejected = not pending and rng.random() < 0.02
            status = (
                Attendance.Status.PENDING
                if pending
                else Attendance.Status.REJECTED
                if rejected
                else Attendance.Status.CONFIRMED
            )
            row = Attendance(
                activity=activity,
                volunteer=volunteer,
                hours=Decimal(span) - (Decimal("0.5") if rng.random() < 0.2 else 0),
                status=status,
            )
            if not pending:
                row.confirmed_by = staffer
                row.confirmed_at = _aware(activity.date + timedelta(days=2), 9)
                row.reject_reason = "签到记录与实际不符" if rejected else ""
            attendance.append(row)
    Attendance.objects.bulk_create(attendance, batch_size=5000)
    year_hours_refresh()

    entries, balances = [], {}
    for row in attendance:
        if row.status != Attendance.Status.CONFIRMED:
            continue
        earned = points_for(row.hours)
        if earned <= 0:
            continue
        entries.append(
            PointsEntry(
                volunteer=row.volunteer,
                kind=PointsEntry.Kind.EARNED,
                points=earned,
                reason=f"参加“{row.activity.title}”{row.hours}小时",
                attendance=row,
                created_by=row.confirmed_by,
                created_at=row.confirmed_at,
            )
        )
        balances[row.volunteer.pk] = balances.get(row.volunteer.pk, 0) + earned
    merchant_of = {m.unit_id: m for m in merchants}
    end = _aware(min(today, last_month + timedelta(days=40)), 11)
    for branch, staffer, _teams, people, _sparse in plans:
        for volunteer in people:
            balance = balances.get(volunteer.pk, 0)
            if balance >= 60 and rng.random() < 0.5:
                spent = rng.randrange(20, balance // 2, 10) if balance >= 60 else 0
                merchant = merchant_of[branch.pk]
                entries.append(
                    PointsEntry(
                        volunteer=volunteer,
                        kind=PointsEntry.Kind.REDEEMED,
                        points=-spent,
                        reason=merchant.offer,
                        merchant=merchant,
                        created_by=staffer,
                        created_at=end - timedelta(days=rng.randint(1, 30)),
                    )
                )
                balances[volunteer.pk] = balance - spent
    PointsEntry.objects.bulk_create(entries, batch_size=5000)
    _balances_from_ledger()

    _seed_orders(rng, plans, team_members, today=today)


def _backdate_activities(activities: list[Activity]) -> None:
    by_day: dict[date, list[int]] = {}
    for activity in activities:
        by_day.setdefault(activity.date, []).append(activity.pk)
    for day, ids in by_day.items():
        Activity.objects.filter(pk__in=ids).update(created_at=_aware(day, 18))


def _balances_from_ledger() -> None:
    """The balance rows as the ledger's sums (what the services would have kept)."""
    balance = PointsBalance._meta.db_table
    ledger = PointsEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {balance} SET balance = COALESCE((SELECT SUM(points) FROM {ledger} "
            f"WHERE {ledger}.volunteer_id = {balance}.volunteer_id), 0)"
        )


ORDER_TEXT = {
    ServiceOrder.Category.ELDERLY: "独居老人需要陪同就医",
    ServiceOrder.Category.REPAIR: "楼道灯损坏，需要维修",
    ServiceOrder.Category.HEALTH: "行动不便，希望上门测血压",
    ServiceOrder.Category.LEGAL: "咨询赡养纠纷的法律问题",
    ServiceOrder.Category.ENVIRONMENT: "门前堆放杂物需清理",
    ServiceOrder.Category.EDUCATION: "孩子暑期作业需要辅导",
}
# (final status, is late) per order of a branch, in the order they were taken.
ORDER_STORIES = [
    ("DONE", False),
    ("DONE", False),
    ("DONE", True),
    ("ACCEPTED", False),
    ("DISPATCHED", True),
    ("REQUESTED", False),
    ("CANCELLED", False),
]


def _seed_orders(rng, plans, team_members, *, today: date) -> None:
    S = ServiceOrder.Status
    A = ServiceOrderStep.Action
    orders, steps = [], []
    sequence = ServiceOrder.objects.count()
    for branch, staffer, branch_teams, _people, _sparse in plans:
        for status, late in rng.sample(ORDER_STORIES, rng.randint(3, len(ORDER_STORIES))):
            sequence += 1
            category = rng.choice(list(ORDER_TEXT))
            created = today - timedelta(days=rng.randint(3, 40))
            team = rng.choice(branch_teams)
            order = ServiceOrder(
                number=f"FW{created:%Y%m}-{sequence:06d}",
                unit=branch,
                category=category,
                description=ORDER_TEXT[category],
                resident_name=_name(rng),
                resident_phone=_phone(rng),
                wanted_on=created + timedelta(days=3),
                status=status,
                created_by=staffer,
                created_at=_aware(created, 9),
            )
            story = [(A.CREATED, "", S.REQUESTED, order.created_at, "")]
            if status != S.REQUESTED and not (status == S.CANCELLED and rng.random() < 0.5):
                order.team = team
                order.dispatched_at = _aware(created, 15)
                order.deadline = created + timedelta(days=2 if late else 7)
                if status == S.DISPATCHED and not late:
                    order.deadline = max(order.deadline, today + timedelta(days=3))
                story.append(
                    (A.DISPATCHED, S.REQUESTED, S.DISPATCHED, order.dispatched_at, team.name)
                )
            if status in (S.ACCEPTED, S.DONE):
                order.accepted_at = _aware(created + timedelta(days=1), 10)
                story.append((A.ACCEPTED, S.DISPATCHED, S.ACCEPTED, order.accepted_at, ""))
                if status == S.ACCEPTED:
                    order.deadline = max(order.deadline, today + timedelta(days=2))
            if status == S.DONE:
                done = order.deadline + timedelta(days=2) if late else created + timedelta(days=2)
                order.completed_at = _aware(min(done, today), 16)
                story.append((A.DONE, S.ACCEPTED, S.DONE, order.completed_at, "已上门办理"))
                if rng.random() < 0.7:
                    order.satisfaction = rng.choice((3, 4, 5, 5, 5))
                    story.append(
                        (
                            A.RATED,
                            S.DONE,
                            S.DONE,
                            order.completed_at + timedelta(hours=2),
                            "居民表示满意",
                        )
                    )
            if status == S.CANCELLED:
                before = story[-1][2]
                story.append(
                    (
                        A.CANCELLED,
                        before,
                        S.CANCELLED,
                        _aware(created + timedelta(days=1)),
                        "居民已自行解决",
                    )
                )
            orders.append(order)
            steps.append(story)
    ServiceOrder.objects.bulk_create(orders, batch_size=5000)
    ServiceOrderStep.objects.bulk_create(
        (
            ServiceOrderStep(
                order=order,
                action=action,
                from_status=before,
                to_status=after,
                actor=order.created_by,
                actor_name=name_of(order),
                note=note,
                occurred_at=at,
            )
            for order, story in zip(orders, steps, strict=True)
            for action, before, after, at, note in story
        ),
        batch_size=5000,
    )


def name_of(order: ServiceOrder) -> str:
    user = order.created_by
    return (user.get_full_name() or user.username) if user else ""


def demo_records_reset(sender, **kwargs) -> None:
    """Empty the volunteers tables (and their history) with plain DELETEs, children first."""
    models = [
        YearHours,
        ServiceOrderStep,
        ServiceOrder,
        PointsEntry,
        PointsBalance,
        ActivityPhoto,
        Attendance,
        Activity,
        Membership,
        Merchant,
        Team,
        Volunteer,
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Team._meta.db_table} SET leader_id = NULL")
        for model in models:
            tables = [model._meta.db_table]
            history = getattr(model, "history", None)
            if history is not None:
                tables.append(history.model._meta.db_table)
            for table in tables:
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")
