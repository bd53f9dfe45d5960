"""The rating pages leaders and township staff read: a branch's scorecard, a unit's summary.

They show the stored assessments (`branches.services.dashboards`); the charts draw from the JSON
endpoints beside each page. Any user whose jurisdiction holds the unit may read them.
"""

from datetime import date

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branches.forms.reports import criterion_rule
from branches.metrics import Window
from branches.models import BranchRating, Criterion, OrgUnit, Rating
from branches.periods import month_label
from branches.services import dashboards, runs
from branches.services.workflow import PERIOD_YEARS, parse_period
from branches.views.rectification import scorecard_rectify
from branches.views.reports import metric_shown
from branches.views.units import breadcrumbs_for, get_unit_for_user

BRANCHES_PAGE_SIZE = 50
# ?sort= -> the ordering of the branch list; the path breaks ties so pages are stable.
SORTS = {
    "-level": ("-level", "unit_path"),
    "level": ("level", "unit_path"),
    "name": ("unit__name", "unit_path"),
    "-name": ("-unit__name", "unit_path"),
}
DEFAULT_SORT = "-level"


def _kind(request) -> str:
    kind = request.GET.get("kind") or Rating.MONTHLY
    if kind not in Rating.values:
        raise Http404("no such kind of rating")
    return kind


def _requested_period(request, kind: str) -> date | None:
    """?period=YYYY-MM as the stored period (the year's 1 January for the annual rating).

    The annual rating also takes ?period=YYYY, as its year picker sends. ValidationError
    (with the reason) for a malformed month or one outside `PERIOD_YEARS`.
    """
    text = request.GET.get("period")
    if not text:
        return None
    if kind == Rating.ANNUAL and text.isdigit() and len(text) == 4:
        text = f"{text}-01"
    month = parse_period(text)
    return date(month.year, 1, 1) if kind == Rating.ANNUAL else month


def _requested_year(request) -> int:
    """?year= of the history chart (default this year); ValidationError outside PERIOD_YEARS."""
    text = request.GET.get("year") or str(timezone.localdate().year)
    if not (text.isdigit() and int(text) in PERIOD_YEARS):
        raise ValidationError(
            _("年度应为 %(first)s 至 %(last)s 之间的四位数字，例如 2026，收到的是“%(text)s”。")
            % {"text": text, "first": PERIOD_YEARS[0], "last": PERIOD_YEARS[-1]}
        )
    return int(text)


def _bad_request(error: ValidationError) -> JsonResponse:
    """A JSON endpoint's answer to a bad query: 400 with what is wrong, as the API answers."""
    return JsonResponse({"detail": " ".join(error.messages)}, status=400)


def _shift(period: date, months: int) -> date:
    index = period.year * 12 + period.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _period_nav(period: date, kind: str) -> dict:
    """The period's label and the ?period= values of the one before and after (not the future)."""
    annual = kind == Rating.ANNUAL
    step = 12 if annual else 1
    earlier, later = _shift(period, -step), _shift(period, step)
    label = _("%(year)s年度") % {"year": period.year} if annual else month_label(period)
    return {
        "label": label,
        # The open month is rated for every branch nightly and on change, and labelled 进行中.
        **runs.period_status(period, kind),
        "value": f"{period:%Y-%m}",
        "year": period.year,
        "previous": f"{earlier:%Y-%m}" if earlier.year in PERIOD_YEARS else None,
        "next": f"{later:%Y-%m}"
        if later <= timezone.localdate().replace(day=1) and later.year in PERIOD_YEARS
        else None,
    }


def get_branch_for_reader(user, code: str) -> OrgUnit:
    """A rated branch in the user's jurisdiction; 404 otherwise."""
    unit = get_unit_for_user(user, code)
    if not unit.is_rated:
        raise Http404("only village and community branches are rated")
    return unit


def get_summary_unit_for_user(user, code: str) -> OrgUnit:
    """A unit above the rated branches in the user's jurisdiction; 404 otherwise."""
    unit = get_unit_for_user(user, code)
    if unit.level >= OrgUnit.Level.VILLAGE:
        raise Http404("a summary is a township's, county's, city's or province's")
    return unit


def _add_metric_values(card: dict, unit: OrgUnit, period: date, kind: str) -> None:
    """Each star's computed criteria with their value now (from the records apps: visits,
    disputes, volunteers …) and their rule, so a met star shows its figures too. The rating
    stores levels and gaps, not these values: they are computed for the rating's window."""
    window = Window(period.year, 1, 12 if kind == Rating.ANNUAL else period.month)
    criteria = (
        card["criteria_set"]
        .criteria.filter(source=Criterion.Source.METRIC)
        .order_by("star", "order", "code")
    )
    by_star: dict[int, list] = {}
    for criterion in criteria:
        by_star.setdefault(criterion.star, []).append(
            (criterion.title, metric_shown(criterion, unit, window), criterion_rule(criterion))
        )
    for star in card["stars"]:
        star["metrics"] = by_star.get(star["number"], [])


@login_required
def scorecard(request, code):
    user = request.user
    unit = get_branch_for_reader(user, code)
    kind = _kind(request)
    breadcrumbs = breadcrumbs_for(user, unit)
    # The township's summary, when the user's jurisdiction reaches it.
    parent = breadcrumbs[-2] if len(breadcrumbs) > 1 else None
    context = {
        "unit": unit,
        "breadcrumbs": breadcrumbs,
        "tail": _("星级评定"),
        "kind": kind,
        "is_annual": kind == Rating.ANNUAL,
        "current_month": f"{timezone.localdate():%Y-%m}",
        "parent_summary": parent[0] if parent and parent[1] else None,
    }
    try:
        period = _requested_period(request, kind)
    except ValidationError as error:
        context["problems"] = error.messages
        return render(request, "branches/scorecard.html", context, status=404)
    period = period or dashboards.latest_period(
        BranchRating.objects.visible_to(user).filter(unit=unit), kind=kind
    )
    card = dashboards.scorecard(user, unit, period=period, kind=kind) if period else None
    if card is not None:
        _add_metric_values(card, unit, period, kind)
    context |= {
        "nav": _period_nav(period, kind) if period else None,
        "card": card,
        "history_year": period.year if period else None,
        # Failed criteria to open a rectification item from, and the open items.
        "rectify": scorecard_rectify(user, unit, card, period=period, kind=kind),
    }
    return render(request, "branches/scorecard.html", context)


@login_required
def scorecard_history(request, code):
    """The branch's levels and stars held month by month through a year (?year=, default now)."""
    unit = get_branch_for_reader(request.user, code)
    try:
        year = _requested_year(request)
    except ValidationError as error:
        return _bad_request(error)
    return JsonResponse(dashboards.history(request.user, unit, year=year))


def _summary_period(request, unit: OrgUnit, kind: str) -> date | None:
    """The period a summary shows; ValidationError for a bad ?period=."""
    return _requested_period(request, kind) or dashboards.latest_period(
        BranchRating.objects.visible_to(request.user).under(unit), kind=kind
    )


# The list's filters beyond area type and missing star, as the leader home links to them.
CHANGE_LABELS = {
    "up": gettext_lazy("升星"),
    "down": gettext_lazy("降星"),
    "same": gettext_lazy("星级未变"),
    "new": gettext_lazy("新参评"),
}
REPORT_LABELS = {
    "APPROVED": gettext_lazy("月报已审核"),
    "SUBMITTED": gettext_lazy("月报待审核"),
    "UNSUBMITTED": gettext_lazy("月报未提交"),
}
# Each filter's query parameter, in the order the page names them.
FILTER_NAMES = ("area", "missing", "level", "change", "report", "criterion", "sort")
CODE_MAX_LENGTH = 20


def _branch_filters(request) -> dict:
    """The list's ?area=, ?missing=, ?level=, ?change=, ?report=, ?criterion= and ?sort=,
    with anything unknown left out (a criterion code is checked against the year later)."""
    get = request.GET.get
    area, missing, level = get("area", ""), get("missing", ""), get("level", "")
    change, report, sort = get("change", ""), get("report", ""), get("sort", "")
    criterion = get("criterion", "").strip()
    return {
        "area": area if area in OrgUnit.AreaType.values else "",
        "missing": int(missing) if missing in {str(k) for k in dashboards.STARS} else None,
        "level": int(level) if level in {str(n) for n in dashboards.LEVELS} else None,
        "change": change if change in CHANGE_LABELS else "",
        "report": report if report in REPORT_LABELS else "",
        "criterion": criterion
        if criterion.isascii() and 0 < len(criterion) <= CODE_MAX_LENGTH
        else "",
        "sort": sort if sort in SORTS else DEFAULT_SORT,
    }


def _filtered(ratings, filters: dict, *, period: date, kind: str) -> tuple:
    """The ratings the filters leave, and the filters beyond the two selects as (name,
    value, label) for the chips above the list; a filter that does not apply is dropped."""
    chips = []
    if filters["area"]:
        ratings = ratings.filter(area_type=filters["area"])
    if filters["missing"]:
        ratings = ratings.filter(**{f"has_star_{filters['missing']}": False})
    if filters["level"] is not None:
        ratings = ratings.filter(level=filters["level"])
        chips.append(("level", filters["level"], _("%(n)s星") % {"n": filters["level"]}))
    if filters["change"]:
        previous = dashboards.previous_period(period, kind)
        ratings = ratings.changed(filters["change"], previous=previous)
        label = _("较上年") if kind == Rating.ANNUAL else _("较上月")
        chips.append(("change", filters["change"], f"{label}{CHANGE_LABELS[filters['change']]}"))
    if filters["report"] and kind == Rating.MONTHLY:
        ratings = ratings.with_report(filters["report"])
        chips.append(("report", filters["report"], str(REPORT_LABELS[filters["report"]])))
    else:
        filters["report"] = ""
    code = filters["criterion"]
    criteria = dashboards.criteria_of_code(code, period.year) if code else []
    if criteria:
        ratings = ratings.failing(criteria)
        title = criteria[0].title
        chips.append(("criterion", code, _("未达标：%(title)s") % {"title": title}))
    else:
        filters["criterion"] = ""
    return ratings, chips


def _missing_choices(names: dict[str, list[str]]) -> list[tuple[int, str]]:
    """ "缺第N颗星" options naming the star in each area type's set."""
    choices = []
    for k in dashboards.STARS:
        named = dict.fromkeys(star_names[k - 1] for star_names in names.values())
        label = _("缺第%(n)s颗星") % {"n": k}
        choices.append((k, f"{label}（{'/'.join(named)}）" if named else label))
    return choices


@login_required
def summary(request, code):
    user = request.user
    unit = get_summary_unit_for_user(user, code)
    kind = _kind(request)
    context = {
        "unit": unit,
        "breadcrumbs": breadcrumbs_for(user, unit),
        "tail": _("星级汇总"),
        "kind": kind,
        "is_annual": kind == Rating.ANNUAL,
        "area_types": OrgUnit.AreaType.choices,
        "sorts": SORTS,
    }
    try:
        period = _summary_period(request, unit, kind)
    except ValidationError as error:
        context["problems"] = error.messages
        return render(request, "branches/summary.html", context, status=404)
    context["nav"] = _period_nav(period, kind) if period else None
    if period is None:
        return render(request, "branches/summary.html", context)
    ratings = dashboards.ratings_under(user, unit, period=period, kind=kind)
    names = dashboards.star_names(period.year)
    filters = _branch_filters(request)
    listed, chips = _filtered(ratings, filters, period=period, kind=kind)
    listed = listed.select_related("unit").order_by(*SORTS[filters["sort"]])
    page = Paginator(listed, BRANCHES_PAGE_SIZE).get_page(request.GET.get("page"))
    context |= {
        "figures": dashboards.summary_figures(user, unit, period=period, kind=kind, names=names),
        "filters": filters,
        # The period picker keeps the list's filters.
        "keep": [(name, filters[name]) for name in FILTER_NAMES if filters[name] not in (None, "")],
        "chips": chips,
        "missing_choices": _missing_choices(names),
        "page": page,
        "rows": dashboards.branch_rows(page.object_list, names),
        "show_parent": unit.level < OrgUnit.Level.TOWNSHIP,
        "children": dashboards.child_distribution(user, unit, period=period, kind=kind)
        if unit.level < OrgUnit.Level.TOWNSHIP
        else [],
        "trend": dashboards.trend(unit, period=period) if kind == Rating.MONTHLY else None,
        "levels": list(dashboards.LEVELS),
    }
    return render(request, "branches/summary.html", context)


@login_required
def summary_data(request, code):
    """The summary's figures for its charts: branches by level and by star, per area type."""
    unit = get_summary_unit_for_user(request.user, code)
    kind = _kind(request)
    try:
        period = _summary_period(request, unit, kind)
    except ValidationError as error:
        return _bad_request(error)
    if period is None:
        return JsonResponse({"period": None, "kind": kind, "figures": None})
    names = dashboards.star_names(period.year)
    figures = dashboards.summary_figures(request.user, unit, period=period, kind=kind, names=names)
    return JsonResponse(
        {
            "period": f"{period:%Y-%m}",
            "kind": kind,
            "level_labels": [_("%(n)s星") % {"n": n} for n in dashboards.LEVELS],
            "figures": figures,
        }
    )
