"""Demo 包联 and 结对: the demo leaders' assigned branches with a few visits, and one
confirmed pair in the demo county, all written through the services."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from branches.models import LeaderAssignment, OrgUnit, Pairing
from branches.services import assignments as service

VISITS = [
    (
        40,
        "“三会一课”记录不全，党员积分台账未更新。",
        "一个月内补齐记录，支部书记牵头更新积分台账。",
    ),
    (12, "村集体经济收入偏低，产业项目尚未落地。", "对接县农业农村局，下月底前提出产业项目方案。"),
]


def demo_oversight_seed() -> dict:
    """Assignments for demo_xian and demo_shi (their weakest branches), visits, one pair."""
    User = get_user_model()
    today = timezone.localdate()
    leaders = {u.username: u for u in User.objects.filter(username__in=["demo_xian", "demo_shi"])}
    xian = leaders.get("demo_xian")
    if xian is None or xian.unit is None:
        return {"assignments": 0, "visits": 0, "pairings": 0}
    county = xian.unit
    suggestions = service.pairing_suggestions(county, year=today.year)
    weak = [row["weak"] for row in suggestions["rows"]]
    created = visits = pairs = 0
    plan = [("demo_xian", weak[:2]), ("demo_shi", weak[2:3])]
    for username, candidates in plan:
        leader = leaders.get(username)
        if leader is None:
            continue
        for candidate in candidates:
            branch = OrgUnit.objects.get(pk=candidate.unit_id)
            if LeaderAssignment.objects.filter(leader=leader, branch=branch, year=today.year):
                continue
            assignment = service.assignment_create(
                user=xian, leader=leader, branch=branch, year=today.year
            )
            created += 1
            for days, findings, decisions in VISITS:
                visited_on = max(today - timedelta(days=days), today.replace(month=1, day=1))
                service.visit_add(
                    assignment=assignment,
                    user=leader,
                    visited_on=visited_on,
                    findings=findings,
                    decisions=decisions,
                )
                visits += 1
    for row in suggestions["rows"]:
        if not row["partners"] or Pairing.objects.filter(county=county, year=today.year).exists():
            continue
        strong = OrgUnit.objects.get(pk=row["partners"][0].strong.unit_id)
        service.pairing_create_confirmed(
            user=xian,
            strong=strong,
            weak=OrgUnit.objects.get(pk=row["weak"].unit_id),
            year=today.year,
            note="强支部书记每月到弱支部指导一次组织生活。",
        )
        pairs += 1
        break
    return {"assignments": created, "visits": visits, "pairings": pairs}
