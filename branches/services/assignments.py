"""包联 (leader assignments and their visits) and 结对 (pairings): the rules, the writes, and
the suggestions. Pages, the API and the demo call these functions."""

from dataclasses import dataclass
from datetime import date

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.models import (
    AssignmentVisit,
    BranchRating,
    LeaderAssignment,
    OrgUnit,
    Pairing,
    Rating,
    Rectification,
    jurisdiction_path,
)
from branches.services.dashboards import last_closed_month, previous_period

STARS = range(1, 6)
STRONG_LEVELS = (4, 5)
WEAK_MAX_LEVEL = 3
SUGGESTIONS_PER_BRANCH = 3
TEXT_LIMIT = 2000
# The first years a record may name; a typo like 20266 is refused with a message.
YEAR_MIN, YEAR_MAX = 2000, 2100
County = OrgUnit.Level.COUNTY


# Who may do what.


def _is_admin(user) -> bool:
    return user.is_superuser or user.role == user.Role.ADMIN


def _in_scope(user, unit: OrgUnit) -> bool:
    scope = jurisdiction_path(user)
    return scope is not None and unit.path.startswith(scope)


def can_manage(user) -> bool:
    """Assigning leaders and confirming pairs is for leaders of a county or above, and admins."""
    if _is_admin(user):
        return True
    return user.role == user.Role.LEADER and user.unit is not None and user.unit.level <= County


def can_record_visit(user, assignment: LeaderAssignment) -> bool:
    return assignment.leader_id == user.pk


def get_assignment_for_user(user, pk) -> LeaderAssignment:
    """The assignment if the user may read it; 404 otherwise (bad ids too)."""
    if not str(pk).isdigit():
        raise Http404("no such assignment")
    assignment = (
        LeaderAssignment.objects.visible_to(user)
        .select_related("leader__unit", "branch", "created_by")
        .filter(pk=int(pk))
        .first()
    )
    if assignment is None:
        raise Http404("no such assignment in your jurisdiction")
    return assignment


def get_pairing_for_user(user, pk) -> Pairing:
    if not str(pk).isdigit():
        raise Http404("no such pairing")
    pairing = (
        Pairing.objects.visible_to(user)
        .select_related("county", "strong", "weak", "confirmed_by")
        .filter(pk=int(pk))
        .first()
    )
    if pairing is None:
        raise Http404("no such pairing in your jurisdiction")
    return pairing


def get_county_for_user(user, code: str) -> OrgUnit:
    """A county (县/区) in the user's jurisdiction; 404 for any other code."""
    county = OrgUnit.objects.visible_to(user).filter(code=code, level=County).first()
    if county is None:
        raise Http404("no such county in your jurisdiction")
    return county


def counties_for(user):
    """The counties a user may pick: those in their jurisdiction."""
    return OrgUnit.objects.visible_to(user).filter(level=County).order_by("path")


def _display_name(user) -> str:
    return user.get_full_name() or user.username


def _check_year(year: int) -> None:
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise ValidationError(
            _("年度“%(year)s”无效：请填写 %(min)s–%(max)s 之间的四位年份。")
            % {"year": year, "min": YEAR_MIN, "max": YEAR_MAX}
        )


# 包联.


def assignment_problems(*, leader, branch: OrgUnit, year: int) -> list[str]:
    """Why `leader` cannot be assigned `branch` for `year` (sentences saying what to fix)."""
    problems = []
    User = get_user_model()
    if leader.role != User.Role.LEADER or not leader.is_active:
        problems.append(
            _("“%(name)s”的角色是%(role)s，只能安排党委/组织部领导包联支部，请选择领导账号。")
            % {"name": _display_name(leader), "role": leader.get_role_display()}
        )
    if not branch.is_rated:
        problems.append(
            _("“%(unit)s”不是村(社区)党组织，包联对象须是参加评星的支部。") % {"unit": branch.name}
        )
    if leader.unit is not None and not branch.path.startswith(leader.unit.path):
        problems.append(
            _("“%(unit)s”不在%(name)s的管辖范围（%(scope)s）内，请选择该领导辖区内的支部。")
            % {"unit": branch.name, "name": _display_name(leader), "scope": leader.unit.name}
        )
    if LeaderAssignment.objects.filter(leader=leader, branch=branch, year=year).exists():
        problems.append(
            _("%(name)s %(year)s 年度已包联“%(unit)s”，不能重复安排。")
            % {"name": _display_name(leader), "year": year, "unit": branch.name}
        )
    return problems


@transaction.atomic
def assignment_create(
    *, user, leader, branch: OrgUnit, year: int, note: str = ""
) -> LeaderAssignment:
    """Assign `leader` to `branch` for `year`; the assigner must manage that branch."""
    if not _in_scope(user, branch):
        raise Http404("branch outside the jurisdiction")
    if not can_manage(user):
        raise PermissionDenied(_("只有县级及以上领导和系统管理员可以安排包联。"))
    _check_year(year)
    problems = assignment_problems(leader=leader, branch=branch, year=year)
    if problems:
        raise ValidationError(problems)
    try:
        with transaction.atomic():
            assignment = LeaderAssignment(
                leader=leader, branch=branch, year=year, note=note, created_by=user
            )
            assignment._history_user = user
            assignment.save()
    except IntegrityError:
        # Someone else saved the same assignment between the check and the insert.
        raise ValidationError(
            _("%(name)s %(year)s 年度已包联“%(unit)s”，不能重复安排。")
            % {"name": _display_name(leader), "year": year, "unit": branch.name}
        ) from None
    return assignment


def visit_problems(*, assignment: LeaderAssignment, visited_on: date) -> list[str]:
    today = timezone.localdate()
    problems = []
    if visited_on > today:
        problems.append(
            _("走访日期 %(date)s 在今天之后，请填写已经走访的日期。") % {"date": visited_on}
        )
    if visited_on.year != assignment.year:
        problems.append(
            _("走访日期须在包联年度 %(year)s 年内，请检查日期。") % {"year": assignment.year}
        )
    return problems


@transaction.atomic
def visit_add(
    *, assignment: LeaderAssignment, user, visited_on: date, findings: str, decisions: str
) -> AssignmentVisit:
    """Record a visit of the assigned leader to the branch."""
    if not can_record_visit(user, assignment):
        raise PermissionDenied(_("只有包联该支部的领导本人可以记录走访。"))
    problems = visit_problems(assignment=assignment, visited_on=visited_on)
    if not findings.strip():
        problems.append(_("请填写走访中发现的问题或了解到的情况。"))
    if not decisions.strip():
        problems.append(_("请填写议定事项（没有时写“无”）。"))
    if problems:
        raise ValidationError(problems)
    return AssignmentVisit.objects.create(
        assignment=assignment,
        visited_on=visited_on,
        findings=findings.strip(),
        decisions=decisions.strip(),
        recorded_by=user,
    )


def _level_changes(unit_ids: list[int]) -> tuple[date, dict[int, int], dict[int, int]]:
    """(last closed month, {unit id: level}, {unit id: level the month before}): two queries."""
    period = last_closed_month()
    monthly = BranchRating.objects.filter(kind=Rating.MONTHLY, unit_id__in=unit_ids)
    now = dict(monthly.filter(period=period).values_list("unit_id", "level"))
    before = dict(
        monthly.filter(period=previous_period(period, Rating.MONTHLY)).values_list(
            "unit_id", "level"
        )
    )
    return period, now, before


def open_rectification_counts(unit_ids: list[int]) -> dict[int, int]:
    """Open rectification items (待整改, 整改中, 逾期) per branch: one grouped query."""
    rows = (
        Rectification.objects.open()
        .filter(branch_id__in=unit_ids)
        .values("branch_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["branch_id"]: row["n"] for row in rows}


def leader_branches(user, *, year: int | None = None) -> dict | None:
    """我包联的支部: the leader's branches of the year with level, change and open items."""
    if user.role != user.Role.LEADER:
        return None
    year = year or timezone.localdate().year
    assignments = list(
        LeaderAssignment.objects.visible_to(user)
        .filter(leader=user, year=year)
        .select_related("branch")
        .order_by("branch__path")
    )
    ids = [a.branch_id for a in assignments]
    period, now, before = _level_changes(ids) if ids else (last_closed_month(), {}, {})
    counts = open_rectification_counts(ids) if ids else {}
    rows = []
    for assignment in assignments:
        level, previous = now.get(assignment.branch_id), before.get(assignment.branch_id)
        rows.append(
            {
                "assignment": assignment,
                "branch": assignment.branch,
                "level": level,
                "change": None if level is None or previous is None else level - previous,
                "open_items": counts.get(assignment.branch_id, 0),
            }
        )
    return {"year": year, "period": period, "rows": rows}


def branch_oversight(user, unit: OrgUnit, *, year: int | None = None) -> dict:
    """The branch page's 包联领导 and 结对 partner of the year, and its rectification items
    (three small queries)."""
    year = year or timezone.localdate().year
    assignments = list(
        LeaderAssignment.objects.visible_to(user)
        .filter(branch=unit, year=year)
        .select_related("leader__unit")
    )
    pairings = list(
        Pairing.objects.visible_to(user)
        .filter(year=year, status=Pairing.Status.CONFIRMED)
        .filter(Q(strong=unit) | Q(weak=unit))
        .select_related("strong", "weak")
    )
    partners = [
        (p, p.strong if p.weak_id == unit.pk else p.weak, p.weak_id == unit.pk) for p in pairings
    ]
    rectification = None
    if user.can_read_rectifications:
        rectification = (
            Rectification.objects.visible_to(user)
            .filter(branch=unit)
            .aggregate(
                total=Count("pk"),
                open=Count("pk", filter=Q(status__in=Rectification.OPEN_STATUSES)),
                overdue=Count("pk", filter=Q(status=Rectification.Status.OVERDUE)),
            )
        )
    return {
        "year": year,
        "assignments": assignments,
        "partners": partners,
        "can_manage": can_manage(user),
        "rectification": rectification,
    }


# 结对: suggestions.


@dataclass(frozen=True)
class Candidate:
    """A branch as the suggestions see it: its path, level and the stars it holds."""

    unit_id: int
    code: str
    name: str
    path: str
    level: int
    stars: frozenset[int]


@dataclass(frozen=True)
class Suggestion:
    strong: Candidate
    complementary: int
    distance: int


def hierarchy_distance(a: str, b: str, steplen: int = OrgUnit.steplen) -> int:
    """Steps from `a` up to the nearest unit above both: 1 for two branches of one township,
    2 across townships of one county."""
    common = 0
    for end in range(steplen, min(len(a), len(b)) + 1, steplen):
        if a[:end] != b[:end]:
            break
        common = end
    return (len(a) - common) // steplen


def rank_partners(
    weak: Candidate, strong: list[Candidate], *, limit: int = SUGGESTIONS_PER_BRANCH
) -> list[Suggestion]:
    """The best strong partners for `weak`: most complementary stars first (stars the weak
    branch lacks that the strong one holds), then the nearest in the hierarchy, then the
    higher level, then the code (a stable order)."""
    scored = [
        Suggestion(s, len(s.stars - weak.stars), hierarchy_distance(weak.path, s.path))
        for s in strong
        if s.unit_id != weak.unit_id
    ]
    scored.sort(key=lambda x: (-x.complementary, x.distance, -x.strong.level, x.strong.code))
    return [s for s in scored if s.complementary > 0][:limit]


def county_candidates(county: OrgUnit, period: date) -> list[Candidate]:
    """The county's rated branches with their monthly rating of `period`: one query."""
    rows = (
        BranchRating.objects.filter(
            kind=Rating.MONTHLY, period=period, unit__path__startswith=county.path
        )
        .values_list(
            "unit_id",
            "unit__code",
            "unit__name",
            "unit__path",
            "level",
            *(f"has_star_{n}" for n in STARS),
        )
        .order_by("unit__path")
    )
    return [
        Candidate(
            unit_id=row[0],
            code=row[1],
            name=row[2],
            path=row[3],
            level=row[4],
            stars=frozenset(n for n, held in zip(STARS, row[5:], strict=True) if held),
        )
        for row in rows
    ]


def pairing_suggestions(county: OrgUnit, *, year: int) -> dict:
    """For each weak branch of the county without a confirmed partner this year, its top
    strong partners. A fixed number of queries: the county's ratings are loaded once."""
    period = last_closed_month()
    candidates = county_candidates(county, period)
    strong = [c for c in candidates if c.level in STRONG_LEVELS]
    paired = set(
        Pairing.objects.filter(
            county=county, year=year, status=Pairing.Status.CONFIRMED
        ).values_list("weak_id", flat=True)
    )
    rows = []
    for weak in candidates:
        if weak.level > WEAK_MAX_LEVEL or weak.unit_id in paired:
            continue
        rows.append({"weak": weak, "partners": rank_partners(weak, strong)})
    return {
        "period": period,
        "rows": rows,
        "strong_count": len(strong),
        "weak_count": sum(1 for c in candidates if c.level <= WEAK_MAX_LEVEL),
        "paired_count": len(paired),
    }


# 结对: writes.


def _county_of(unit: OrgUnit) -> str:
    return unit.path[: County * OrgUnit.steplen]


def _rating_of(unit: OrgUnit, period: date) -> BranchRating | None:
    return BranchRating.objects.filter(unit=unit, period=period, kind=Rating.MONTHLY).first()


@transaction.atomic
def pairing_propose(*, user, strong: OrgUnit, weak: OrgUnit, year: int, note: str = "") -> Pairing:
    """A suggested pair (建议), checked against the last closed month's ratings."""
    if not (_in_scope(user, strong) and _in_scope(user, weak)):
        raise Http404("branch outside the jurisdiction")
    if not can_manage(user):
        raise PermissionDenied(_("只有县级及以上领导和系统管理员可以确定结对。"))
    _check_year(year)
    problems = []
    if strong.pk == weak.pk:
        problems.append(_("强支部和弱支部不能是同一个支部，请重新选择。"))
    if not (strong.is_rated and weak.is_rated):
        problems.append(_("结对双方都须是参加评星的村(社区)党组织。"))
    elif _county_of(strong) != _county_of(weak):
        problems.append(_("结对双方须在同一个县(区)内，请选择本县(区)的支部。"))
    period = last_closed_month()
    ratings = {u.pk: _rating_of(u, period) for u in (strong, weak)}
    strong_rating, weak_rating = ratings[strong.pk], ratings[weak.pk]
    for unit, rating in ((strong, strong_rating), (weak, weak_rating)):
        if rating is None:
            problems.append(
                _("“%(unit)s”还没有 %(period)s 的星级评定，暂不能结对。")
                % {"unit": unit.name, "period": f"{period:%Y-%m}"}
            )
    if strong_rating is not None and strong_rating.level not in STRONG_LEVELS:
        problems.append(
            _("“%(unit)s”现为%(level)s星，强支部须为四星或五星支部。")
            % {"unit": strong.name, "level": strong_rating.level}
        )
    if weak_rating is not None and weak_rating.level > WEAK_MAX_LEVEL:
        problems.append(
            _("“%(unit)s”现为%(level)s星，弱支部须为三星及以下支部。")
            % {"unit": weak.name, "level": weak_rating.level}
        )
    if problems:
        raise ValidationError(problems)
    held = lambda r: {n for n in STARS if getattr(r, f"has_star_{n}")}  # noqa: E731
    existing = Pairing.objects.filter(
        strong=strong,
        weak=weak,
        year=year,
        status__in=[Pairing.Status.SUGGESTED, Pairing.Status.CONFIRMED],
    ).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            pairing = Pairing(
                county=OrgUnit.objects.get(path=_county_of(weak)),
                strong=strong,
                weak=weak,
                year=year,
                strong_level=strong_rating.level,
                weak_level=weak_rating.level,
                complementary_stars=len(held(strong_rating) - held(weak_rating)),
                note=note,
                created_by=user,
            )
            pairing._history_user = user
            pairing.save()
            return pairing
    except IntegrityError:
        raise ValidationError(_("这两个支部本年度已有未结束的结对，请刷新页面查看。")) from None


def _claim(pairing: Pairing, user) -> Pairing:
    """The pair locked for a status change, after the access checks."""
    if not can_manage(user) or not _in_scope(user, pairing.county):
        raise PermissionDenied(_("只有该县(区)及以上的领导和系统管理员可以确认或结束结对。"))
    return Pairing.objects.select_for_update().select_related("strong", "weak").get(pk=pairing.pk)


@transaction.atomic
def pairing_confirm(*, pairing: Pairing, user) -> Pairing:
    """建议 → 已确认; a weak branch has at most one confirmed partner a year."""
    current = _claim(pairing, user)
    if current.status != Pairing.Status.SUGGESTED:
        raise ValidationError(
            _("该结对现为“%(status)s”，只有“建议”状态的结对可以确认。")
            % {"status": current.get_status_display()}
        )
    taken = (
        Pairing.objects.filter(
            weak=current.weak, year=current.year, status=Pairing.Status.CONFIRMED
        )
        .select_related("strong")
        .first()
    )
    if taken is not None:
        raise ValidationError(
            _(
                "“%(weak)s”%(year)s 年度已与“%(strong)s”确认结对；"
                "一个支部每年只能有一个结对，请先结束原结对。"
            )
            % {"weak": current.weak.name, "year": current.year, "strong": taken.strong.name}
        )
    current.status = Pairing.Status.CONFIRMED
    current.confirmed_by, current.confirmed_at = user, timezone.now()
    current._history_user = user
    try:
        with transaction.atomic():
            current.save(update_fields=["status", "confirmed_by", "confirmed_at"])
    except IntegrityError:
        raise ValidationError(
            _("“%(weak)s”刚刚已由他人确认了结对，请刷新页面查看。") % {"weak": current.weak.name}
        ) from None
    return current


@transaction.atomic
def pairing_create_confirmed(
    *, user, strong: OrgUnit, weak: OrgUnit, year: int, note: str = ""
) -> Pairing:
    """The suggestions page's one click: propose the pair and confirm it."""
    pairing = pairing_propose(user=user, strong=strong, weak=weak, year=year, note=note)
    return pairing_confirm(pairing=pairing, user=user)


@transaction.atomic
def pairing_end(*, pairing: Pairing, user) -> Pairing:
    """建议 or 已确认 → 已结束."""
    current = _claim(pairing, user)
    if current.status == Pairing.Status.ENDED:
        raise ValidationError(_("该结对已经结束。"))
    current.status = Pairing.Status.ENDED
    current.ended_by, current.ended_at = user, timezone.now()
    current._history_user = user
    current.save(update_fields=["status", "ended_by", "ended_at"])
    return current
