"""Reads behind the rating pages: a branch's scorecard and a unit's summary.

Everything is read from the stored assessments (`BranchRating`, `StarAssessment`); nothing is
recomputed here. Each function runs a fixed number of queries whatever the number of
branches, and returns plain dicts that a template or a JSON response shows as they are.
"""

from collections import defaultdict
from datetime import date, timedelta

from django.db.models import Count, F, Max, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.models import (
    BranchRating,
    CriteriaSet,
    Criterion,
    MonthlyReport,
    OrgUnit,
    Rating,
    RatingRollup,
    StarAssessment,
)
from branches.models.assessments import BranchRatingQuerySet, failing_q
from branches.services.rollups import due_end

STARS = range(1, 6)
LEVELS = range(0, 6)
# rating.assess words a vetoing breach "一票否决（全部星）：…" and, for an all-stars veto,
# repeats it under every star; the scorecard states it once in a banner instead. Rows
# computed before the scope was named read "一票否决：…".
VETO_PREFIX = "一票否决"
AREA_LABELS = dict(OrgUnit.AreaType.choices)


def stars_text(level: int) -> str:
    """A level as five stars, filled ones first: 3 -> ★★★☆☆."""
    return "★" * level + "☆" * (len(STARS) - level)


def generic_star_names() -> list[str]:
    return [_("第%(n)s颗星") % {"n": n} for n in STARS]


def last_closed_month() -> date:
    """The month before today's: the latest one whose reports are all due."""
    first_of_month = timezone.localdate().replace(day=1)
    return (first_of_month - timedelta(days=1)).replace(day=1)


def previous_period(period: date, kind: str) -> date:
    """The period before: the month before, or the year before for the annual rating."""
    if kind == Rating.ANNUAL:
        return period.replace(year=period.year - 1)
    return (period - timedelta(days=1)).replace(day=1)


def latest_closed_period(ratings: QuerySet, *, kind: str) -> date | None:
    """The latest period of `kind` rated up to the last closed month (None if there is none)."""
    ratings = ratings.filter(kind=kind, period__lte=last_closed_month()).order_by("-period")
    return ratings.values_list("period", flat=True).first()


def latest_period(ratings: QuerySet, *, kind: str) -> date | None:
    """The period a rating page opens on: the latest of `kind` up to the last closed month.

    The current month is rated as soon as one branch submits, so opening on it would show
    a few branches as if they were the whole area; it is the default only while nothing
    older has been rated. Each read is a backward scan of the subtree index.
    """
    ratings = ratings.filter(kind=kind).order_by("-period").values_list("period", flat=True)
    closed = ratings.filter(period__lte=last_closed_month()).first()
    return closed or ratings.first()


def star_names(year: int) -> dict[str, list[str]]:
    """The star names of each area type in a year, from its set in force (else its latest)."""
    names = {}
    rows = CriteriaSet.objects.filter(year=year).order_by("area_type", "-is_active", "-version")
    for area_type, names_of_set in rows.values_list("area_type", "star_names"):
        names.setdefault(area_type, list(names_of_set))
    return names


# A branch's scorecard.


def scorecard(user, unit: OrgUnit, *, period: date, kind: str) -> dict | None:
    """The stored rating of one branch for a period, star by star; None when there is none."""
    rating = (
        BranchRating.objects.visible_to(user)
        .filter(unit=unit, period=period, kind=kind)
        .select_related("criteria_set")
        .first()
    )
    if rating is None:
        return None
    assessments = (
        StarAssessment.objects.visible_to(user)
        .filter(unit=unit, period=period, kind=kind)
        .order_by("star")
    )
    veto_gaps, stars = [], []
    for star in assessments:
        vetoes = [gap for gap in star.gaps if gap.startswith(VETO_PREFIX)]
        veto_gaps.extend(gap for gap in vetoes if gap not in veto_gaps)
        prefix = f"{star.star_name}："
        stars.append(
            {
                "number": star.star,
                "name": star.star_name,
                "is_met": star.is_met,
                "is_vetoed": bool(vetoes),
                # The star's own name leads each gap; under its heading it says nothing.
                "gaps": [
                    gap.removeprefix(prefix) for gap in star.gaps if not gap.startswith(VETO_PREFIX)
                ],
            }
        )
    return {
        "level": rating.level,
        "stars_text": stars_text(rating.level),
        "veto": rating.veto,
        "veto_label": rating.get_veto_display(),
        "veto_gaps": veto_gaps,
        "gap_count": rating.gap_count,
        "criteria_set": rating.criteria_set,
        "computed_at": rating.computed_at,
        "stars": stars,
    }


def history(user, unit: OrgUnit, *, year: int) -> dict:
    """A branch's monthly levels and stars held through a year, with its annual level."""
    rows = (
        BranchRating.objects.visible_to(user)
        .filter(unit=unit, period__year=year)
        .order_by("kind", "period")
        .values("period", "kind", "level", "criteria_set__star_names", *_star_fields())
    )
    levels = [None] * 12
    held = [[None] * 12 for _star in STARS]
    names, annual = None, None
    for row in rows:
        if row["kind"] == Rating.ANNUAL:
            annual = row["level"]
            names = row["criteria_set__star_names"]
            continue
        month = row["period"].month - 1
        levels[month] = row["level"]
        for star in STARS:
            held[star - 1][month] = row[f"has_star_{star}"]
        names = names or row["criteria_set__star_names"]
    names = names or generic_star_names()
    return {
        "year": year,
        "months": [_("%(month)s月") % {"month": m} for m in range(1, 13)],
        "levels": levels,
        "stars": [{"name": name, "held": held[i]} for i, name in enumerate(names)],
        "annual": annual,
    }


def _star_fields() -> list[str]:
    return [f"has_star_{star}" for star in STARS]


# A unit's summary.


def ratings_under(user, unit: OrgUnit, *, period: date, kind: str) -> QuerySet:
    """The ratings of a period under a unit that the user may see (the subtree index)."""
    return BranchRating.objects.visible_to(user).under(unit).filter(period=period, kind=kind)


def _counts() -> dict:
    """Conditional counts: branches in total, at each level, holding each star."""
    return {
        "total": Count("id"),
        **{f"level_{n}": Count("id", filter=Q(level=n)) for n in LEVELS},
        **{f"star_{k}": Count("id", filter=Q(**{f"has_star_{k}": True})) for k in STARS},
        "vetoed": Count("id", filter=~Q(veto=BranchRating.Veto.NONE)),
    }


def distribution(ratings: QuerySet, names: dict[str, list[str]]) -> dict:
    """Branches by level and by star, per area type (their star sets differ), aggregated
    from the ratings: one query. `summary_figures` reads the same from the rollups."""
    rows = (
        ratings.order_by()
        .values("area_type")
        .annotate(**_counts(), computed_at=Max("computed_at"))
        .order_by("area_type")
    )
    return _distribution(rows, names)


def rollup_rows(unit: OrgUnit, *, period: date, kind: str) -> list[dict] | None:
    """The unit's rollup rows of the period (one per area type), or None when the period's
    rollups are not built (a period rated before them, until its next recompute)."""
    rollups = RatingRollup.objects.filter(period=period, kind=kind)
    rows = list(rollups.filter(unit_path=unit.path).order_by("area_type").values())
    if rows:
        return rows
    return [] if rollups.filter(depth=1).exists() else None


def summary_figures(user, unit: OrgUnit, *, period: date, kind: str, names) -> dict:
    """`distribution` of every rating under the unit, from its rollup rows when built.

    The unit is in the user's jurisdiction, and so is everything below it: the rollup
    counts exactly the ratings the user may see."""
    rows = rollup_rows(unit, period=period, kind=kind)
    if rows is None:
        return distribution(ratings_under(user, unit, period=period, kind=kind), names)
    return _distribution(rows, names)


def _distribution(rows, names: dict[str, list[str]]) -> dict:
    areas = []
    for row in rows:
        area_type, total = row["area_type"], row["total"]
        area_names = names.get(area_type) or generic_star_names()
        areas.append(
            {
                "area_type": area_type,
                "label": str(AREA_LABELS.get(area_type, area_type)),
                "total": total,
                "levels": [row[f"level_{n}"] for n in LEVELS],
                "vetoed": row["vetoed"],
                "stars": [
                    {
                        "number": k,
                        "name": area_names[k - 1],
                        "held": row[f"star_{k}"],
                        "missing": total - row[f"star_{k}"],
                        "share": _share(row[f"star_{k}"], total),
                    }
                    for k in STARS
                ],
                "computed_at": row["computed_at"],
            }
        )
    levels = [sum(area["levels"][n] for area in areas) for n in LEVELS]
    total = sum(levels)
    return {
        "total": total,
        "levels": levels,
        "level_shares": [_share(n, total) for n in levels],
        "vetoed": sum(area["vetoed"] for area in areas),
        "areas": areas,
        # 数据截至: the latest computation among the ratings counted.
        "computed_at": max((area["computed_at"] for area in areas), default=None),
    }


def _share(part: int, whole: int) -> float:
    """A percentage with one decimal (0 of nothing is 0)."""
    return round(100 * part / whole, 1) if whole else 0.0


def child_distribution(user, unit: OrgUnit, *, period: date, kind: str) -> list[dict]:
    """Each child unit with the level distribution of the branches below it, its average
    level and share at 3★ or more, ranked by average level (1 = highest).

    Read from the children's rollup rows; when there are none, one grouped query:
    every rating is counted under the first (depth + 1) * steplen characters of its path,
    which is the path of the child it lies under.
    """
    width = (unit.depth + 1) * OrgUnit.steplen
    rows = list(
        RatingRollup.objects.filter(
            period=period, kind=kind, depth=unit.depth + 1, unit_path__startswith=unit.path
        )
        .order_by()
        .values(prefix=F("unit_path"))
        .annotate(
            total=Sum("total"),
            vetoed=Sum("vetoed"),
            **{f"level_{n}": Sum(f"level_{n}") for n in LEVELS},
        )
    )
    if not rows:
        # Not built for this period (or nothing rated below): the direct aggregate decides.
        rows = (
            ratings_under(user, unit, period=period, kind=kind)
            .order_by()
            .annotate(prefix=Substr("unit_path", 1, width))
            .values("prefix")
            .annotate(**_counts())
        )
    counts = {row["prefix"]: row for row in rows}
    children = (
        OrgUnit.objects.visible_to(user)
        .filter(path__startswith=unit.path, depth=unit.depth + 1)
        .order_by("path")
    )
    result = []
    for child in children:
        row = counts.get(child.path, {})
        total = row.get("total", 0)
        levels = [row.get(f"level_{n}", 0) for n in LEVELS]
        result.append(
            {
                "unit": child,
                "total": total,
                "levels": levels,
                "vetoed": row.get("vetoed", 0),
                "five_star_share": _share(levels[5], total),
                "three_star_share": _share(sum(levels[3:]), total),
                "average": round(sum(n * c for n, c in enumerate(levels)) / total, 2)
                if total
                else None,
                "is_summary": child.level < OrgUnit.Level.VILLAGE,
                "is_rated": child.is_rated,
            }
        )
    ranked = sorted((c for c in result if c["total"]), key=lambda c: -c["average"])
    for place, child in enumerate(ranked, 1):
        child["rank"] = place
    return result


def trend(unit: OrgUnit, *, period: date, months: int = 12) -> list[dict]:
    """The unit's monthly level distribution over the `months` up to `period`, oldest
    first, from its rollup rows (a month without them shows as not rated): one query."""
    first = period
    for _month in range(months - 1):
        first = previous_period(first, Rating.MONTHLY)
    rows = (
        RatingRollup.objects.filter(
            unit_path=unit.path, kind=Rating.MONTHLY, period__range=(first, period)
        )
        .order_by()
        .values("period")
        .annotate(total=Sum("total"), **{f"level_{n}": Sum(f"level_{n}") for n in LEVELS})
    )
    by_period = {row["period"]: row for row in rows}
    result, month = [], first
    for _month in range(months):
        row = by_period.get(month)
        total = row["total"] if row else 0
        result.append(
            {
                "period": month,
                "total": total,
                "levels": [row[f"level_{n}"] for n in LEVELS] if row else None,
                "shares": [_share(row[f"level_{n}"], total) for n in LEVELS] if row else None,
                "three_star_share": _share(sum(row[f"level_{n}"] for n in (3, 4, 5)), total)
                if row
                else None,
            }
        )
        month = _next_month(month)
    return result


def _next_month(period: date) -> date:
    return date(period.year + period.month // 12, period.month % 12 + 1, 1)


def branch_rows(ratings, names: dict[str, list[str]]) -> list[dict]:
    """A page of ratings (with their units) as table rows, with each branch's parent: one query."""
    ratings = list(ratings)
    parent_paths = {rating.unit_path[: -OrgUnit.steplen] for rating in ratings}
    parents = dict(OrgUnit.objects.filter(path__in=parent_paths).values_list("path", "name"))
    rows = []
    for rating in ratings:
        area_names = names.get(rating.area_type) or generic_star_names()
        rows.append(
            {
                "code": rating.unit.code,
                "name": rating.unit.name,
                "parent": parents.get(rating.unit_path[: -OrgUnit.steplen], ""),
                "area_type": rating.area_type,
                "area_label": AREA_LABELS.get(rating.area_type, rating.area_type),
                "level": rating.level,
                "stars_text": stars_text(rating.level),
                "stars": [
                    {
                        "number": k,
                        "name": area_names[k - 1],
                        "held": getattr(rating, f"has_star_{k}"),
                    }
                    for k in STARS
                ],
                "veto": rating.veto,
                "veto_label": rating.get_veto_display(),
                "gap_count": rating.gap_count,
            }
        )
    return rows


# Figures of a jurisdiction: how levels moved, how complete the month is, what fails most.


def level_changes(ratings: QuerySet, *, previous: date) -> dict:
    """How many of the ratings went up, down or stayed against the same branch's rating of
    `previous`, and how many have none there (new): one query."""
    changes = BranchRatingQuerySet.CHANGES
    return (
        ratings.with_previous_level(previous)
        .order_by()
        .aggregate(**{change: Count("id", filter=q) for change, q in changes.items()})
    )


def criteria_of_code(code: str, year: int) -> list[Criterion]:
    """The year's criteria with that code, one per criteria set (with its set)."""
    return list(
        Criterion.objects.filter(code=code, criteria_set__year=year).select_related("criteria_set")
    )


def most_missed(star_rows: QuerySet, *, year: int, limit: int = 3) -> list[dict]:
    """The criteria failing in most branches among the star assessments `star_rows` (one
    period and kind), most first: two queries. Codes are shared by the rural and the urban
    set (支部过硬星 is the same in both), so a code counts the branches of either set."""
    criteria = defaultdict(list)
    rows = Criterion.objects.filter(criteria_set__year=year).select_related("criteria_set")
    for criterion in rows.order_by("code", "criteria_set__area_type", "-criteria_set__version"):
        criteria[criterion.code].append(criterion)
    if not criteria:
        return []
    codes = list(criteria)
    counts = star_rows.filter(is_met=False).aggregate(
        **{f"c{i}": Count("id", filter=failing_q(criteria[code])) for i, code in enumerate(codes)}
    )
    ranked = sorted(
        ((counts[f"c{i}"], code) for i, code in enumerate(codes) if counts[f"c{i}"]),
        key=lambda pair: (-pair[0], pair[1]),
    )
    result = []
    for failing, code in ranked[:limit]:
        first = criteria[code][0]
        result.append(
            {
                "code": code,
                "title": first.title,
                "star_name": first.criteria_set.star_names[first.star - 1],
                "failing": failing,
            }
        )
    return result


def report_completeness(user, unit: OrgUnit, *, period: date) -> dict:
    """The month's reports under the unit against its rated branches, and how many came in
    on time: from the unit's rollup rows (one query), else counted directly (two)."""
    rows = RatingRollup.objects.filter(period=period, kind=Rating.MONTHLY, unit_path=unit.path)
    totals = rows.aggregate(
        expected=Sum("total"),
        approved=Sum("reports_approved"),
        submitted=Sum("reports_submitted"),
        on_time=Sum("reports_on_time"),
    )
    if totals["expected"] is None:
        return report_completeness_direct(user, unit, period=period)
    return _completeness(**totals)


def report_completeness_direct(user, unit: OrgUnit, *, period: date) -> dict:
    """What the rollups hold, counted from the branches and their reports."""
    expected = OrgUnit.objects.visible_to(user).under(unit).rated().count()
    reports = MonthlyReport.objects.visible_to(user).under(unit).filter(period=period)
    counts = (
        reports.order_by()
        .annotate(first_at=Coalesce("first_submitted_at", "submitted_at"))
        .aggregate(
            approved=Count("id", filter=Q(status=MonthlyReport.Status.APPROVED)),
            submitted=Count("id", filter=Q(status=MonthlyReport.Status.SUBMITTED)),
            on_time=Count("id", filter=Q(first_at__lt=due_end(period))),
        )
    )
    return _completeness(expected=expected, **counts)


def _completeness(*, expected: int, approved: int, submitted: int, on_time: int) -> dict:
    unsubmitted = max(expected - approved - submitted, 0)
    return {
        "expected": expected,
        "approved": approved,
        "submitted": submitted,
        "unsubmitted": unsubmitted,
        "done": approved + submitted,
        "done_share": _share(approved + submitted, expected),
        "approved_share": _share(approved, expected),
        "on_time": on_time,
        "on_time_share": _share(on_time, expected),
    }


def jurisdiction_overview(user, unit: OrgUnit) -> dict | None:
    """A leader's home figures for the last closed month rated under the unit, against the
    month before: the level distribution and its change, branches up/down/unchanged, the
    month's report completeness, the three most-missed criteria. None when nothing closed
    has been rated yet. A bounded number of queries whatever the size of the jurisdiction."""
    kind = Rating.MONTHLY
    period = latest_closed_period(BranchRating.objects.visible_to(user).under(unit), kind=kind)
    if period is None:
        return None
    previous = previous_period(period, kind)
    names = star_names(period.year)
    ratings = ratings_under(user, unit, period=period, kind=kind)
    current = summary_figures(user, unit, period=period, kind=kind, names=names)
    before = summary_figures(user, unit, period=previous, kind=kind, names=names)
    star_rows = StarAssessment.objects.visible_to(user).under(unit).filter(period=period, kind=kind)
    return {
        "period": period,
        "previous": previous,
        "figures": current,
        "previous_total": before["total"],
        "levels": [
            {
                "level": n,
                "count": current["levels"][n],
                "share": current["level_shares"][n],
                "delta": current["levels"][n] - before["levels"][n],
            }
            for n in LEVELS
        ],
        "changes": level_changes(ratings, previous=previous) if before["total"] else None,
        "completeness": report_completeness(user, unit, period=period),
        "most_missed": [
            {**row, "share": _share(row["failing"], current["total"])}
            for row in most_missed(star_rows, year=period.year)
        ],
    }
