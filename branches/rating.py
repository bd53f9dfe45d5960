"""The five-star rating engine: pure functions over plain data, no database.

The caller maps a criteria set onto a `CriteriaSpec` once, then calls `assess` per branch
with that branch's monthly values and precomputed metric values, and stores the result.

Rules (CRITERIA.md): month m is assessed on the year to date (months 1..m); the annual
rating (month=None) is assessed on months 1..12, so it follows the same rules as month 12 —
which reports count (approved only, or also submitted) is the caller's choice.
- EVERY_MONTH: every month passes. AT_LEAST_N: failing or missing months <= 12 - N.
- SUM: year-to-date sum; a >= threshold is pro-rated to threshold x m / 12 and a missing
  month adds 0; under any other comparator a missing month fails as 未填报.
- AVERAGE over the months reported; LATEST: the last month reported up to m.
- METRIC: the caller's value for the window. A count metric (integer or number, >=) is
  pro-rated like SUM ("2 a month" is stored as 24 a year); percentages are not.
- A month without a value that counts is named by its report's state (`states`): 未填报 (no
  report), 草稿未提交, 已退回待重报, 待审核. Where the rule counts such a month against the
  criterion (every aggregation but AVERAGE and LATEST, and those when nothing is reported),
  the gaps name those months beside any breach.
- Vetoes fire on a reported breach only (`_veto_fires`): a missing month fails its criterion
  but is not an incident, so it wipes no star. The gap names the scope and the star:
  "一票否决（全部星）：平安法治星 重大安全生产事故或群体性事件 1件 > 0件（3月）".
- Capstone: the first star is held only when the other four are held.
"""

import enum
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import partial

MONTHS = 12
STARS = 5

Value = bool | int | Decimal
JSONValue = bool | int | str | None


class ValueKind(enum.StrEnum):
    BOOLEAN = "BOOLEAN"
    NUMBER = "NUMBER"
    INTEGER = "INTEGER"
    PERCENTAGE = "PERCENTAGE"


class Comparator(enum.StrEnum):
    GTE = "GTE"
    LTE = "LTE"
    EQ = "EQ"
    IS_YES = "IS_YES"


class Aggregation(enum.StrEnum):
    EVERY_MONTH = "EVERY_MONTH"
    AT_LEAST_N = "AT_LEAST_N"
    SUM = "SUM"
    AVERAGE = "AVERAGE"
    LATEST = "LATEST"
    METRIC = "METRIC"


class VetoScope(enum.StrEnum):
    NONE = "NONE"
    STAR = "STAR"
    ALL = "ALL"


class Source(enum.StrEnum):
    MANUAL = "MANUAL"
    METRIC = "METRIC"


class ReportState(enum.StrEnum):
    """The state of a month's report that does not count (the model's status values)."""

    DRAFT = "DRAFT"
    RETURNED = "RETURNED"
    SUBMITTED = "SUBMITTED"  # not counted where only approved reports count: the annual rating


# How a gap names a month without a value that counts, by its report's state.
NO_REPORT = "未填报"
_WHY_MISSING = {
    ReportState.DRAFT: "草稿未提交",
    ReportState.RETURNED: "已退回待重报",
    ReportState.SUBMITTED: "待审核",
}
_VETO_LABELS = {VetoScope.STAR: "本星", VetoScope.ALL: "全部星"}


# The relation printed in a gap when the rule fails.
_BROKEN = {Comparator.GTE: "<", Comparator.LTE: ">", Comparator.EQ: "≠"}


@dataclass(frozen=True, slots=True, kw_only=True)
class CriterionSpec:
    code: str
    star: int
    title: str
    kind: ValueKind
    comparator: Comparator
    aggregation: Aggregation
    unit: str = ""
    threshold: Decimal | bool | None = None
    min_months: int | None = None
    veto_scope: VetoScope = VetoScope.NONE
    source: Source = Source.MANUAL
    metric_key: str = ""
    order: int = 0
    # Derived once, read when wording gaps (enum lookups are slow on Python 3.11).
    is_boolean: bool = field(init=False, repr=False, compare=False)
    broken: str = field(init=False, repr=False, compare=False)  # the failing relation, "<"

    def __post_init__(self):
        # Model rows may hand in plain strings; the enums also reject unknown values.
        for name, enum_type in _ENUM_FIELDS:
            object.__setattr__(self, name, enum_type(getattr(self, name)))
        object.__setattr__(self, "is_boolean", self.kind == ValueKind.BOOLEAN)
        object.__setattr__(self, "broken", _BROKEN.get(self.comparator, ""))
        problem = _problem(self)
        if problem:
            raise ValueError(f"criterion {self.code}: {problem}")


_ENUM_FIELDS = (
    ("kind", ValueKind),
    ("comparator", Comparator),
    ("aggregation", Aggregation),
    ("veto_scope", VetoScope),
    ("source", Source),
)


def _problem(c: CriterionSpec) -> str:
    """What makes a criterion unusable by the engine ('' when nothing does)."""
    if not 1 <= c.star <= STARS:
        return f"star must be 1..{STARS}, not {c.star}"
    if c.is_boolean:
        if c.comparator not in (Comparator.IS_YES, Comparator.EQ) or c.threshold is False:
            return "a yes/no criterion passes on yes: IS_YES, threshold None or True"
        if c.aggregation in (Aggregation.SUM, Aggregation.AVERAGE):
            return f"a yes/no criterion cannot use {c.aggregation}"
    elif c.comparator == Comparator.IS_YES or c.threshold is None:
        return "a numeric criterion needs GTE, LTE or EQ and a threshold"
    if c.aggregation == Aggregation.AT_LEAST_N and not 1 <= (c.min_months or 0) <= MONTHS:
        return f"AT_LEAST_N needs min_months 1..{MONTHS}"
    if (c.source == Source.METRIC) != (c.aggregation == Aggregation.METRIC):
        return "source METRIC goes with aggregation METRIC (and only with it)"
    if c.source == Source.METRIC and not c.metric_key:
        return "a metric criterion needs a metric_key"
    return ""


@dataclass(slots=True)
class StarResult:
    star: int
    name: str
    met: bool
    gaps: list[str]
    inputs: dict[str, JSONValue]
    # The codes of this star's criteria that failed (a star failed by the capstone or by
    # another star's veto lists none of its own).
    failed: list[str]


@dataclass(slots=True)
class Assessment:
    month: int | None
    level: int
    stars_held: list[int]
    vetoed: VetoScope
    veto_gaps: list[str]
    stars: list[StarResult]

    @property
    def gaps(self) -> list[str]:
        return [gap for star in self.stars for gap in star.gaps]


# What a checker returns: (actual value for the inputs, gap texts without the star name —
# empty when the criterion passes, the breach first —, whether the reported values alone
# break the rule, whatever the missing months would hold: see `_veto_fires`).
# Plain tuples: this runs 21 times per branch for 51,000 branches.
_Result = tuple[JSONValue, tuple[str, ...], bool]
_Checker = Callable[
    [int, Mapping[str, Mapping[int, Value]], Mapping[str, Value | None], Mapping[int, str]],
    _Result,
]
_PASS: tuple[str, ...] = ()


@dataclass(frozen=True)
class CriteriaSpec:
    star_names: tuple[str, ...]
    criteria: tuple[CriterionSpec, ...]
    capstone: bool = True
    # Per star, in display order: (code, veto scope or None, checker), compiled once per set.
    _compiled: tuple[tuple[tuple[str, VetoScope | None, _Checker], ...], ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self):
        if len(self.star_names) != STARS:
            raise ValueError(f"a star set has {STARS} star names, not {len(self.star_names)}")
        codes = [c.code for c in self.criteria]
        if len(set(codes)) != len(codes):
            raise ValueError("criterion codes must be unique within a set")
        ordered = sorted(self.criteria, key=lambda c: (c.order, c.code))
        compiled = tuple(
            tuple((c.code, _veto(c), _compile(c)) for c in ordered if c.star == star)
            for star in range(1, STARS + 1)
        )
        object.__setattr__(self, "_compiled", compiled)


def assess(
    spec: CriteriaSpec,
    *,
    month: int | None,
    values: Mapping[str, Mapping[int, Value]],
    metrics: Mapping[str, Value | None],
    states: Mapping[int, str] | None = None,
) -> Assessment:
    """Rate one branch for month 1..12 (year to date) or for the year (month=None).

    values[code][m] is the value counted for month m (a month without one is absent);
    metrics[code] is the metric value for the window, or None when there is none;
    states[m] is the `ReportState` of month m's report when that report does not count
    (a month without a report is absent, and so is one whose report counts).
    """
    if month is not None and not 1 <= month <= MONTHS:
        raise ValueError(f"month must be 1..{MONTHS} or None, not {month}")
    last = MONTHS if month is None else month
    states = states or _NO_STATES
    stars, veto_gaps, wipe_gaps, vetoed = [], [], [], _NO_VETO
    for number, (name, rules) in enumerate(zip(spec.star_names, spec._compiled, strict=True), 1):
        gaps, inputs, failed = [], {}, []
        for code, veto_scope, check in rules:
            actual, texts, reported_breach = check(last, values, metrics, states)
            inputs[code] = actual
            if not texts:
                continue
            failed.append(code)
            if veto_scope is not None and _veto_fires(veto_scope, reported_breach):
                gap = f"一票否决（{_VETO_LABELS[veto_scope]}）：{name} {texts[0]}"
                veto_gaps.append(gap)
                gaps.append(gap)
                texts = texts[1:]  # the months missing besides the breach, as plain gaps
                if veto_scope is _WIPE:
                    wipe_gaps.append(gap)
                    vetoed = _WIPE
                elif vetoed is _NO_VETO:
                    vetoed = veto_scope
            for text in texts:
                gaps.append(f"{name}：{text}")
        stars.append(StarResult(number, name, not gaps, gaps, inputs, failed))
    if wipe_gaps:
        _apply_veto_to_all(stars, wipe_gaps)
    elif spec.capstone:
        _apply_capstone(stars)
    held = [star.star for star in stars if star.met]
    return Assessment(month, len(held), held, vetoed, veto_gaps, stars)


# Enum attribute lookups are slow on Python 3.11 (a descriptor call each): bind them once.
_NO_VETO, _WIPE = VetoScope.NONE, VetoScope.ALL
_NO_STATES: Mapping[int, str] = {}


def _veto(c: CriterionSpec) -> VetoScope | None:
    return None if c.veto_scope == VetoScope.NONE else c.veto_scope


def _veto_fires(veto_scope: VetoScope | None, reported_breach: bool) -> bool:
    """A veto fires on a reported breach only: an unreported month is not an incident.

    A failing veto criterion whose failure could still be undone by the months without a
    counted value (not reported, draft, returned, awaiting review) fails its star with
    the usual gaps, and fires nothing. What each aggregation calls a reported breach:
    - EVERY_MONTH: a reported month fails. AT_LEAST_N: more reported months fail than the
      year allows.
    - SUM ≤ (or =): the reported total is already over the threshold (values are never
      negative, so the missing months could only add to it); = also when it is off with
      every month reported. SUM ≥: the total falls short with every month reported.
    - AVERAGE: the average of the months reported fails (missing months are not in it).
      LATEST: the latest value reported fails. METRIC: the metric's value fails.
    - Nothing reported at all, or a metric without data: never.
    """
    return reported_breach and veto_scope is not None


def _apply_veto_to_all(stars: list[StarResult], wipe_gaps: list[str]) -> None:
    for star in stars:
        star.met = False
        star.gaps[:0] = [gap for gap in wipe_gaps if gap not in star.gaps]


def _apply_capstone(stars: list[StarResult]) -> None:
    capstone, others = stars[0], stars[1:]
    if not all(star.met for star in others):
        capstone.met = False
        capstone.gaps.append(f"{capstone.name}：需先获得其他四颗星")


# Checkers: one per aggregation, built once per criterion with its rule bound in. The hot
# paths stay in C (map, all, sum, partial) and fall back to loops only to word a gap.

_EMPTY: Mapping[int, Value] = {}
_ZERO = Decimal(0)
_CENT = Decimal("0.01")
_WINDOWS = tuple(range(1, last + 1) for last in range(MONTHS + 1))
_NOT_NONE = partial(operator.is_not, None)
# threshold OP value, so that partial(OP, threshold)(value) reads "value passes".
_FLIPPED = {Comparator.GTE: operator.le, Comparator.LTE: operator.ge, Comparator.EQ: operator.eq}


def _compile(c: CriterionSpec) -> _Checker:
    if c.is_boolean:
        passes = partial(operator.is_, True)
    else:
        passes = partial(_FLIPPED[c.comparator], c.threshold)
    build = {
        Aggregation.EVERY_MONTH: _every_month,
        Aggregation.AT_LEAST_N: _at_least_n,
        Aggregation.SUM: _sum,
        Aggregation.AVERAGE: _average,
        Aggregation.LATEST: _latest,
        Aggregation.METRIC: _metric,
    }[c.aggregation]
    return build(c, passes)


def _present(months: Mapping[int, Value], last: int) -> list[Value]:
    """The values reported for months 1..last (C-level: `None in` would call Decimal.__eq__)."""
    return list(filter(_NOT_NONE, map(months.get, _WINDOWS[last])))


def _missing(months: Mapping[int, Value], last: int) -> list[int]:
    return [m for m in _WINDOWS[last] if months.get(m) is None]


def _split(months: Mapping[int, Value], last: int, passes) -> tuple[list[int], list[int]]:
    """Months missing and months failing among 1..last."""
    failed = [m for m in _WINDOWS[last] if (v := months.get(m)) is not None and not passes(v)]
    return _missing(months, last), failed


def _every_month(c: CriterionSpec, passes) -> _Checker:
    code = c.code

    def check(last, values, _metrics, states):
        months = values.get(code, _EMPTY)
        present = _present(months, last)
        if len(present) == last and all(map(passes, present)):
            return last, _PASS, False
        missing, failed = _split(months, last, passes)
        gaps = (_months_failed(c, failed, months),) if failed else ()
        gaps += _unreported(c, missing, states)
        return last - len(missing) - len(failed), gaps, bool(failed)

    return check


def _at_least_n(c: CriterionSpec, passes) -> _Checker:
    code, allowed = c.code, MONTHS - c.min_months
    rule = f"全年至多允许{allowed}个月" if allowed else "需每月达标"

    def check(last, values, _metrics, states):
        months = values.get(code, _EMPTY)
        passed = sum(map(passes, _present(months, last)))
        if last - passed <= allowed:
            return passed, _PASS, False
        missing, failed = _split(months, last, passes)
        parts = [f"{_month_list(failed)}未达标"] if failed else []
        parts += [f"{_month_list(ms)}{why}" for why, ms in _by_reason(missing, states).items()]
        return passed, (f"{c.title} {'，'.join(parts)}，{rule}",), len(failed) > allowed

    return check


def _sum(c: CriterionSpec, passes) -> _Checker:
    code = c.code
    # >= is pro-rated: total >= threshold * last / 12, compared as total * 12 >= this.
    targets = (
        tuple(c.threshold * last for last in range(MONTHS + 1))
        if c.comparator == Comparator.GTE
        else None
    )

    def check(last, values, _metrics, states):
        months = values.get(code, _EMPTY)
        present = _present(months, last)
        total = sum(present, _ZERO)
        if targets:
            if total * MONTHS >= targets[last]:
                return _json(total), _PASS, False
            # A missing month adds 0 here, so it is one cause of the shortfall: named, and
            # while a month is missing the shortfall is not yet a reported breach.
            missing = _missing(months, last) if len(present) < last else []
            gaps = (_prorated_gap(c, total, last), *_unreported(c, missing, states))
            return _json(total), gaps, not missing
        failed = not passes(total)
        if len(present) == last:
            if failed:
                return _json(total), (_summed_gap(c, total, months, last),), True
            return _json(total), _PASS, False
        # Under ≤ (or =) a missing month fails as unreported (an unreported incident count is
        # not a zero), beside any breach of the months reported.
        gaps = (_summed_gap(c, total, months, last),) if failed else ()
        gaps += _unreported(c, _missing(months, last), states)
        return _json(total), gaps, failed and total > c.threshold

    return check


def _average(c: CriterionSpec, _passes) -> _Checker:
    code, compare, threshold = c.code, _FLIPPED[c.comparator], c.threshold

    def check(last, values, _metrics, states):
        months = values.get(code, _EMPTY)
        reported = _present(months, last)
        if not reported:
            return None, _unreported(c, list(_WINDOWS[last]), states), False
        total = sum(reported, _ZERO)
        average = total / len(reported)
        shown = _number(average)
        if compare(threshold * len(reported), total):
            return shown, _PASS, False
        return shown, (_compared_gap(c, average, prefix="平均"),), True

    return check


def _latest(c: CriterionSpec, passes) -> _Checker:
    code, boolean = c.code, c.is_boolean

    def check(last, values, _metrics, states):
        months = values.get(code, _EMPTY)
        for m in range(last, 0, -1):
            value = months.get(m)
            if value is not None:
                break
        else:
            return None, _unreported(c, list(_WINDOWS[last]), states), False
        actual = value if boolean else _json(value)
        if passes(value):
            return actual, _PASS, False
        gap = f"{c.title} {m}月未达标" if boolean else _compared_gap(c, value)
        return actual, (gap,), True

    return check


def _metric(c: CriterionSpec, passes) -> _Checker:
    code, boolean = c.code, c.is_boolean
    prorated = c.comparator == Comparator.GTE and c.kind in (ValueKind.INTEGER, ValueKind.NUMBER)

    def check(last, _values, metrics, _states):
        value = metrics.get(code)
        if value is None:
            return None, (f"无数据：{c.title}",), False
        actual = value if boolean else _json(value)
        if prorated:
            if value * MONTHS >= c.threshold * last:
                return actual, _PASS, False
            return actual, (_prorated_gap(c, value, last),), True
        if passes(value):
            return actual, _PASS, False
        gap = f"{c.title} 未达标" if boolean else _compared_gap(c, value)
        return actual, (gap,), True

    return check


# Gap texts.


def _compared_gap(c: CriterionSpec, actual: Value, *, prefix: str = "") -> str:
    shown, limit = _shown(actual, c.threshold, c.broken)
    return f"{c.title} {prefix}{shown}{c.unit} {c.broken} {limit}{c.unit}"


def _summed_gap(c: CriterionSpec, total: Value, months: Mapping[int, Value], last: int) -> str:
    """A sum over its threshold, with the months behind it: "1件 > 0件（3月）"."""
    counted = [m for m in _WINDOWS[last] if months.get(m)]  # reported and not zero
    gap = _compared_gap(c, total)
    return f"{gap}（{_month_list(counted)}）" if counted else gap


def _prorated_gap(c: CriterionSpec, actual: Value, last: int) -> str:
    shown, target = _shown(actual, Decimal(c.threshold) * last / MONTHS, "<")
    gap = f"{c.title} {shown}{c.unit} < {target}{c.unit}"
    if last < MONTHS:
        gap += f"（截至{last}月，全年{_number(c.threshold)}{c.unit}）"
    return gap


def _shown(actual: Value, limit: Value, broken: str) -> tuple[str, str]:
    """Both figures rounded for display, never rounded into a figure that looks like a pass."""
    shown, limit_shown = _number(actual), _number(limit)
    if shown == limit_shown and broken == "<":
        shown, limit_shown = _number(actual, ROUND_FLOOR), _number(limit, ROUND_CEILING)
    elif shown == limit_shown and broken == ">":
        shown, limit_shown = _number(actual, ROUND_CEILING), _number(limit, ROUND_FLOOR)
    return shown, limit_shown


def _months_failed(c: CriterionSpec, failed: list[int], months: Mapping[int, Value]) -> str:
    if c.is_boolean:
        return f"{c.title} {_month_list(failed)}未达标"
    shown = "、".join(f"{m}月{_number(months[m])}{c.unit}" for m in failed)
    return f"{c.title} {shown} {c.broken} {_number(c.threshold)}{c.unit}"


def _unreported(c: CriterionSpec, missing: list[int], states: Mapping[int, str]) -> tuple[str, ...]:
    """One gap per reason the months lack a counted value: "草稿未提交：<title>（3月）"."""
    if not states:  # the common case, kept cheap: every missing month has no report
        return (f"{NO_REPORT}：{c.title}（{_month_list(missing)}）",) if missing else ()
    return tuple(
        f"{why}：{c.title}（{_month_list(ms)}）" for why, ms in _by_reason(missing, states).items()
    )


def _by_reason(missing: list[int], states: Mapping[int, str]) -> dict[str, list[int]]:
    """Months without a counted value, grouped by their report's state, first month first."""
    if not states:
        return {NO_REPORT: missing} if missing else {}
    reasons: dict[str, list[int]] = {}
    for m in missing:
        reasons.setdefault(_WHY_MISSING.get(states.get(m), NO_REPORT), []).append(m)
    return reasons


def _month_list(months: list[int]) -> str:
    """[1, 2, 3, 5] -> '1-3月、5月'."""
    runs: list[list[int]] = []
    for m in months:
        if runs and runs[-1][-1] == m - 1:
            runs[-1].append(m)
        else:
            runs.append([m])
    return "、".join(f"{run[0]}-{run[-1]}月" if len(run) > 2 else _each(run) for run in runs)


def _each(run: list[int]) -> str:
    return "、".join(f"{m}月" for m in run)


def _number(value: Value, rounding: str = ROUND_HALF_UP) -> str:
    """12.50 -> '12.5', 13.333 -> '13.33': at most two decimals, no trailing zeros."""
    if isinstance(value, int):
        return str(value)
    return _json(value.quantize(_CENT, rounding))


def _json(value: Decimal | int) -> str:
    """Decimal('12.50') -> '12.5': exact, as JSON-safe text (str() is the fast path)."""
    text = str(value)
    if "E" in text:
        text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
