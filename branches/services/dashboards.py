"""Reads behind the rating pages: a branch's scorecard and a unit's summary.

Everything is read from the stored assessments (`BranchRating`, `StarAssessment`); nothing is
recomputed here. Each function runs a fixed number of queries whatever the number of
branches, and returns plain dicts that a template or a JSON response shows as they are.
"""

from datetime import date, timedelta

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.models import BranchRating, CriteriaSet, OrgUnit, Rating, StarAssessment

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
    """Branches by level and by star, per area type (their star sets differ): one query."""
    rows = ratings.order_by().values("area_type").annotate(**_counts()).order_by("area_type")
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
    }


def _share(part: int, whole: int) -> float:
    """A percentage with one decimal (0 of nothing is 0)."""
    return round(100 * part / whole, 1) if whole else 0.0


def child_distribution(user, ratings: QuerySet, unit: OrgUnit) -> list[dict]:
    """Each child unit with the level distribution of the branches below it.

    One grouped query: every rating is counted under the first (depth + 1) * steplen
    characters of its path, which is the path of the child it lies under.
    """
    width = (unit.depth + 1) * OrgUnit.steplen
    rows = (
        ratings.order_by()
        .annotate(prefix=Substr("unit_path", 1, width))
        .values("prefix")
        .annotate(**_counts())
        .order_by("prefix")
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
                "is_summary": child.level < OrgUnit.Level.VILLAGE,
                "is_rated": child.is_rated,
            }
        )
    return result


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
