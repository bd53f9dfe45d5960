"""Demo dispute cases for the rated branches: twelve months of a realistic ledger, seeded
before the demo's months are rated (so 平安法治星 sees them) and cleared by the demo reset.

Most cases are mediated and closed in the village within days, a few go up to the township
after a failed village mediation, and a few branches have a bad year: a case closed without
agreement, or one escalated to the county. Every case carries what the services would have
written — its number, people, the steps of its timeline with from → to, sessions and return
visits — in bulk inserts (a county's demo is a few thousand cases).
"""

import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from branches.models import OrgUnit
from disputes import workflow
from disputes.models import (
    CaseAttachment,
    CaseCounter,
    CaseStep,
    DisputeCase,
    MediationSession,
    MediationTeam,
    Party,
    ReturnVisit,
)

A = CaseStep.Action
S = DisputeCase.Status
Level = DisputeCase.Level
L = OrgUnit.Level

CATEGORIES = [
    ("NEIGHBOUR", 35),
    ("FAMILY", 25),
    ("PROPERTY", 12),
    ("LABOUR", 8),
    ("LAND", 12),
    ("OTHER", 8),
]
SOURCES = [("GRID", 45), ("VISIT", 25), ("HOTLINE", 15), ("JOINT_MEETING", 8), ("ASSIGNED", 7)]
SUMMARIES = {
    "NEIGHBOUR": [
        "楼上漏水导致楼下墙面受损，双方就赔偿发生争执",
        "宅基地边界滴水檐引发邻里矛盾",
        "相邻住户因堆放杂物占用通道发生口角",
    ],
    "FAMILY": [
        "兄弟间因赡养老人费用分担产生矛盾",
        "夫妻因家庭琐事长期不和，一方要求调解",
        "婆媳关系紧张，老人要求分开居住",
    ],
    "PROPERTY": ["业主与物业公司就物业费和维修服务发生纠纷", "小区停车位分配引发业主与物业矛盾"],
    "LABOUR": ["农民工反映装修工程款拖欠，涉及8人工资", "务工人员工伤赔偿未谈妥"],
    "LAND": ["土地承包经营权流转租金支付发生争议", "责任田边界不清引发两户争执"],
    "OTHER": ["养殖异味影响周边住户生活", "婚丧事宜占道引发村民不满"],
}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林高罗"
GIVEN = [
    "建国",
    "秀英",
    "桂兰",
    "志强",
    "海燕",
    "永刚",
    "丽萍",
    "文军",
    "春燕",
    "德明",
    "玉梅",
    "国强",
    "红霞",
    "小龙",
    "淑珍",
]
PLACES = ["村委会调解室", "党群服务中心", "当事人家中", "网格工作站"]
# Shares of branches with a bad year: a case closed without agreement / escalated to the county.
UNRESOLVED_SHARE = 0.06
COUNTY_SHARE = 0.03
# Share of cases that go up to the township after a failed village mediation.
TOWNSHIP_SHARE = 0.08


def _at(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def _weighted(rng, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


def _person(rng) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def demo_disputes_reset(**kwargs) -> None:
    """Plain DELETEs, children first (and the history tables: the demo starts over)."""
    models = [
        CaseAttachment,
        MediationSession,
        ReturnVisit,
        CaseStep,
        Party,
        DisputeCase,
        CaseCounter,
        MediationTeam,
    ]
    with connection.cursor() as cursor:
        tables = [MediationTeam.members.through._meta.db_table]
        for model in models:
            tables.append(model._meta.db_table)
            history = getattr(model, "history", None)
            if history is not None:
                tables.append(history.model._meta.db_table)
        historical_members = MediationTeam.history.model._meta.get_field(
            "historicalmediationteam_members"
        ).related_model
        tables.insert(0, historical_members._meta.db_table)
        for table in tables:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")


class _Builder:
    """Collects one case's rows; `flush` writes every collected case in bulk."""

    def __init__(self, rng, today):
        self.rng, self.today = rng, today
        self.cases, self.steps, self.parties, self.sessions, self.visits = [], [], [], [], []
        self.counters: dict[tuple[int, int], int] = defaultdict(int)

    def case(self, *, branch, unit, township, county, actors, team, received_on, story):
        rng, today = self.rng, self.today
        category = _weighted(rng, CATEGORIES)
        risk = rng.choices(["LOW", "MEDIUM", "HIGH"], [85, 12, 3])[0]
        key = (township.pk, received_on.year)
        self.counters[key] += 1
        start_level = min(unit.level, L.COMPOUND)
        handling = {
            Level.COMPOUND: branch,
            Level.VILLAGE: branch,
            Level.TOWNSHIP: township,
            Level.COUNTY: county,
        }
        case = DisputeCase(
            number=f"{received_on.year}-{township.code}-{self.counters[key]:04d}",
            unit=unit,
            branch=branch,
            township=township,
            category=category,
            source=_weighted(rng, SOURCES),
            summary=rng.choice(SUMMARIES[category]),
            received_on=received_on,
            risk=risk,
            handling_level=start_level,
            top_level=start_level,
            handling_unit=unit if start_level == L.COMPOUND else branch,
            team=team,
            mediator=actors["village"],
            status=S.RECEIVED,
            due_on=workflow.due_date(received_on, category, risk),
            created_by=actors["village"],
            created_at=_at(received_on, 9),
        )
        steps = []
        state = {"day": received_on, "hour": 9}

        def step(action, after=None, *, days=0, actor="village", note="", to_level=None):
            day = state["day"] + timedelta(days=days)
            if state.get("stopped") or day >= today:
                # The story has reached today: the case stays where it is now.
                state["stopped"] = True
                return False
            state["day"] = day
            state["hour"] = min(state["hour"] + 1, 18) if days == 0 else 9 + rng.randrange(4)
            user = actors[actor]
            before = case.status
            from_level = case.handling_level if to_level else None
            if after:
                case.status = after
            if action == A.SUCCEED:
                case.is_resolved = True
            if to_level:
                case.handling_level = to_level
                case.top_level = min(case.top_level, to_level)
                case.handling_unit = handling[to_level]
                case.due_on = workflow.due_date(day, case.category, case.risk)
            steps.append(
                CaseStep(
                    action=action,
                    from_status="" if action == A.RECEIVE else before,
                    to_status=case.status,
                    from_level=from_level,
                    to_level=to_level or (case.handling_level if action == A.RECEIVE else None),
                    actor=user,
                    actor_name=user.get_full_name() or user.username,
                    note=note,
                    occurred_at=_at(day, state["hour"]),
                )
            )
            return True

        def session(result, actor="village"):
            if state.get("stopped"):
                return
            self.sessions.append(
                (
                    case,
                    MediationSession(
                        held_on=state["day"],
                        place=rng.choice(PLACES),
                        participants=f"{_person(rng)}、{_person(rng)}、调解员",
                        record="听取双方陈述，释法明理，"
                        + (
                            "双方达成一致意见。"
                            if result == "AGREED"
                            else "双方分歧较大，未能达成一致。"
                        ),
                        result=result,
                        mediator=actors[actor],
                        created_at=_at(state["day"], 17),
                    ),
                )
            )
            label = MediationSession.Result(result).label
            step(A.SESSION, note=f"{state['day']} 调解：{label}", actor=actor)

        def close(outcome, actor, days):
            if step(
                A.CLOSE,
                S.CLOSED,
                days=days,
                actor=actor,
                note=str(DisputeCase.Outcome(outcome).label),
            ):
                case.outcome = outcome
                case.is_resolved = outcome in DisputeCase.RESOLVED_OUTCOMES
                case.closed_at = steps[-1].occurred_at
                if rng.random() < 0.7:
                    satisfaction = rng.choices(["SATISFIED", "BASIC", "UNSATISFIED"], [80, 17, 3])[
                        0
                    ]
                    label = str(dict(ReturnVisit.Satisfaction.choices)[satisfaction])
                    if step(A.VISIT, S.VISITED, days=rng.randrange(5, 15), actor=actor, note=label):
                        self.visits.append(
                            (
                                case,
                                ReturnVisit(
                                    visited_on=state["day"],
                                    satisfaction=satisfaction,
                                    visitor=actors[actor],
                                    note="当事人表示协议已履行"
                                    if case.is_resolved
                                    else "已告知后续途径",
                                    created_at=steps[-1].occurred_at,
                                ),
                            )
                        )

        def mediate_up(to_level, actor):
            """Fail where it is, go up one level, and succeed there."""
            step(A.START, S.MEDIATING, days=1)
            session("FAILED")
            step(A.FAIL, S.FAILED, note="双方分歧较大，村级调解未成功")
            step(
                A.ESCALATE,
                S.RECEIVED,
                days=1,
                to_level=Level.TOWNSHIP,
                note="村级调解未成功，上交乡镇(街道)",
            )
            case.mediator = None
            case.team = None
            if to_level == Level.COUNTY:
                step(A.START, S.MEDIATING, days=1, actor="township")
                session("FAILED", actor="township")
                step(A.FAIL, S.FAILED, actor="township", note="涉及面广，乡镇调解未成功")
                step(
                    A.ESCALATE,
                    S.RECEIVED,
                    days=1,
                    actor="township",
                    to_level=Level.COUNTY,
                    note="重大复杂纠纷，上交县级",
                )
            up = "township"
            if step(A.START, S.MEDIATING, days=1, actor=up):
                session("AGREED", actor=up)
                step(A.SUCCEED, S.SUCCEEDED, actor=up, note="达成调解协议")
                close(rng.choice(["WRITTEN", "JUDICIAL"]), up, 1)

        step(A.RECEIVE, S.RECEIVED)
        if team is not None:
            step(A.ASSIGN, note=f"指派{team.name}")
        if story == "village":
            if step(A.START, S.MEDIATING, days=rng.randrange(0, 2)):
                session("AGREED")
                step(A.SUCCEED, S.SUCCEEDED, note="双方达成一致")
                close(rng.choice(["WRITTEN", "ORAL", "ORAL"]), "village", rng.randrange(0, 3))
        elif story == "township":
            mediate_up(Level.TOWNSHIP, "township")
        elif story == "county":
            mediate_up(Level.COUNTY, "township")
        elif story == "unresolved":
            step(A.START, S.MEDIATING, days=1)
            session("FAILED")
            step(A.FAIL, S.FAILED, days=1, note="一方拒绝调解")
            close("LITIGATION", "village", 2)
        elif story == "overdue":
            step(A.START, S.MEDIATING, days=2)
            session("CONTINUE")
        case.is_overdue = case.is_open and case.due_on < today
        if case.is_overdue:
            steps.append(
                CaseStep(
                    action=A.OVERDUE,
                    from_status=case.status,
                    to_status=case.status,
                    note=f"超过办理期限（{case.due_on}）",
                    occurred_at=_at(case.due_on + timedelta(1), 0),
                )
            )
        case.version = len(steps)
        case.updated_at = steps[-1].occurred_at
        self.cases.append(case)
        self.steps.append((case, steps))
        self.parties.append(
            (
                case,
                [
                    Party(
                        name=_person(rng), role="APPLICANT", phone=f"13{rng.randrange(10**9):09d}"
                    ),
                    Party(
                        name=_person(rng),
                        role="RESPONDENT",
                        phone=f"15{rng.randrange(10**9):09d}" if rng.random() < 0.8 else "",
                    ),
                ],
            )
        )

    def flush(self) -> int:
        DisputeCase.objects.bulk_create(self.cases, batch_size=2000)
        CaseStep.objects.bulk_create(
            [s for case, steps in self.steps for s in steps if not setattr(s, "case", case)],
            batch_size=5000,
        )
        Party.objects.bulk_create(
            [p for case, ps in self.parties for p in ps if not setattr(p, "case", case)],
            batch_size=5000,
        )
        for rows, model in ((self.sessions, MediationSession), (self.visits, ReturnVisit)):
            for case, row in rows:
                row.case = case
            model.objects.bulk_create([row for _case, row in rows], batch_size=5000)
        CaseCounter.objects.bulk_create(
            CaseCounter(township_id=t, year=y, last_number=n) for (t, y), n in self.counters.items()
        )
        return len(self.cases)


@transaction.atomic
def demo_disputes_seed(
    *, months: list[date], today: date, seed: int, scale: str, per_month=None, **kwargs
) -> int:
    """Teams and cases of every rated branch from the first demo month to today."""
    # Seeding again replaces the demo's cases (the same seed gives the same records).
    demo_disputes_reset()
    if not months:
        return 0
    rng = random.Random(seed * 7919 + 11)
    User = get_user_model()
    branches = list(OrgUnit.objects.rated().only("id", "path", "depth", "code", "name", "level"))
    by_path = {u.path: u for u in OrgUnit.objects.filter(level__in=[L.COUNTY, L.TOWNSHIP])}
    compounds = defaultdict(list)
    for unit in OrgUnit.objects.filter(level=L.COMPOUND).only("id", "path", "level", "depth"):
        compounds[unit.path[: -OrgUnit.steplen]].append(unit)
    people = {}
    for user in User.objects.filter(
        is_active=True, unit__isnull=False, role__in=["SECRETARY", "TOWNSHIP_STAFF", "GRID_WORKER"]
    ).order_by("username"):
        people.setdefault((user.unit_id, user.role), user)
    fallback = (
        User.objects.filter(role="TOWNSHIP_STAFF", is_active=True).order_by("username").first()
    )
    if fallback is None:
        return 0
    teams = MediationTeam.objects.bulk_create(
        [
            MediationTeam(
                unit=b,
                name=f"{b.name}人民调解委员会",
                kind="COMMITTEE",
                member_names=f"{_person(rng)}\n{_person(rng)}\n{_person(rng)}",
            )
            for b in branches
        ]
    )
    team_of = {team.unit_id: team for team in teams}
    for user in User.objects.filter(username__in=["demo_shuji", "demo_wangge"]):
        village = next(
            (b for b in branches if user.unit and user.unit.path.startswith(b.path)), None
        )
        if village is not None:
            team_of[village.pk].members.add(user)
    first = months[0]
    # A few branches (at least one each) have a bad month this year.
    bad = rng.sample([b.pk for b in branches], len(branches))
    n_unresolved = max(1, round(len(branches) * UNRESOLVED_SHARE))
    n_county = max(1, round(len(branches) * COUNTY_SHARE))
    unresolved = set(bad[:n_unresolved])
    county_bad = set(bad[n_unresolved : n_unresolved + n_county])
    this_year = [i for i, m in enumerate(months) if m.year == months[-1].year]
    # Cases per branch and month (the benchmark asks for more).
    per_month = per_month or (2.0 if scale == "town" else 1.2)
    builder = _Builder(rng, today)
    last_day = today - timedelta(days=1)
    for branch in branches:
        township = by_path.get(branch.path[: -OrgUnit.steplen])
        if township is None:
            continue
        county = by_path.get(township.path[: -OrgUnit.steplen])
        if county is None:
            continue
        secretary = people.get((branch.pk, "SECRETARY"))
        staff = people.get((township.pk, "TOWNSHIP_STAFF"), fallback)
        actors = {"village": secretary or staff, "township": staff}
        bad_month = rng.choice(this_year) if branch.pk in unresolved | county_bad else None
        month = first
        index = 0
        while month <= last_day:
            end = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
            days = (min(end, today) - month).days
            slots = max(4, int(per_month * 2))
            count = sum(rng.random() < per_month / slots for _ in range(slots)) if days > 0 else 0
            for n in range(count):
                received = month + timedelta(days=rng.randrange(days))
                story = "village"
                if index == bad_month and n == 0:
                    story = "unresolved" if branch.pk in unresolved else "county"
                elif rng.random() < TOWNSHIP_SHARE:
                    story = "township"
                elif branch.pk in unresolved and index == len(months) - 1 and rng.random() < 0.5:
                    story = "overdue"
                options = compounds.get(branch.path) or []
                unit = rng.choice(options) if options and rng.random() < 0.3 else branch
                builder.case(
                    branch=branch,
                    unit=unit,
                    township=township,
                    county=county,
                    actors=actors,
                    team=team_of.get(branch.pk),
                    received_on=received,
                    story=story,
                )
            month, index = end, index + 1
    return builder.flush()
