"""The rating engine and the default catalogue: pure functions, no database."""

import dataclasses
import json
from decimal import Decimal as D

import pytest

from branches.catalogue import (
    METRIC_CRITERIA,
    RURAL_STARS,
    URBAN_STARS,
    criterion_spec,
    default_catalogue,
    registered_metric_rows,
)
from branches.metrics import MetricRegistry
from branches.rating import (
    Aggregation,
    Comparator,
    CriteriaSpec,
    CriterionSpec,
    ReportState,
    Source,
    ValueKind,
    VetoScope,
    assess,
)

K, C, A = ValueKind, Comparator, Aggregation


@pytest.fixture(autouse=True)
def _manual_catalogue(monkeypatch):
    """These tests read the manual rows of the default sets: no records app's metric rows
    join them, whichever apps are installed (the metric rows' own tests add them)."""
    monkeypatch.setattr("branches.metrics.registry", MetricRegistry())


def criterion(**fields) -> CriterionSpec:
    """A criterion on star 2 (产业兴旺星 in the rural names); fields override the defaults."""
    defaults = dict(
        code="X-01", star=2, title="测试项", kind=K.INTEGER, unit="件", comparator=C.GTE,
        threshold=D(10), aggregation=A.LATEST,
    )  # fmt: skip
    return CriterionSpec(**(defaults | fields))


def yes_no(**fields) -> CriterionSpec:
    return criterion(kind=K.BOOLEAN, unit="", comparator=C.IS_YES, threshold=None, **fields)


def rate(c: CriterionSpec, months: dict, *, month: int | None = None, metric=None, states=None):
    """Assess a set holding only `c`; returns the StarResult of its star."""
    return assess_one(c, months, month=month, metric=metric, states=states).stars[c.star - 1]


def assess_one(c: CriterionSpec, months: dict, *, month=None, metric=None, states=None):
    """Assess a set holding only `c`, without the capstone (every other star is held)."""
    spec = CriteriaSpec(RURAL_STARS, (c,), capstone=False)
    return assess(
        spec, month=month, values={c.code: months}, metrics={c.code: metric}, states=states
    )


def every_month(value, months=range(1, 13)) -> dict:
    return dict.fromkeys(months, value)


def rural_spec(*, capstone: bool = True) -> CriteriaSpec:
    return default_catalogue("RURAL").to_spec(capstone=capstone)


def passing_values(spec: CriteriaSpec) -> dict:
    """Twelve months that meet every criterion of the set."""
    values = {}
    for c in spec.criteria:
        if c.is_boolean:
            value = True
        elif c.comparator == C.LTE:
            value = D(0)
        else:
            value = c.threshold
        values[c.code] = every_month(value)
    return values


# Comparators


def test_gte_passes_at_the_threshold_and_fails_below_it():
    c = criterion(title="村级后备干部人数", unit="人", threshold=D(2))
    assert rate(c, {1: D(2)}).met
    assert rate(c, {1: D(1)}).gaps == ["产业兴旺星：村级后备干部人数 1人 < 2人"]


def test_lte_passes_at_the_threshold_and_fails_above_it():
    c = criterion(title="刑事案件", comparator=C.LTE, threshold=D(0))
    assert rate(c, {1: D(0)}).met
    assert rate(c, {1: D(2)}).gaps == ["产业兴旺星：刑事案件 2件 > 0件"]


def test_eq_passes_only_on_the_exact_value():
    c = criterion(title="网格数", unit="个", comparator=C.EQ, threshold=D(3))
    assert rate(c, {1: D("3.0")}).met
    assert rate(c, {1: D(4)}).gaps == ["产业兴旺星：网格数 4个 ≠ 3个"]


def test_is_yes_passes_only_on_yes():
    c = yes_no(title="生活污水得到管控")
    assert rate(c, {4: True}).met
    assert rate(c, {4: False}).gaps == ["产业兴旺星：生活污水得到管控 4月未达标"]


# EVERY_MONTH


def test_every_month_mid_year_only_needs_the_months_so_far():
    c = yes_no(title="主题党日按月开展", aggregation=A.EVERY_MONTH)
    star = rate(c, every_month(True, range(1, 7)), month=6)
    assert star.met
    assert star.inputs == {"X-01": 6}


def test_every_month_annual_needs_all_twelve_months():
    c = yes_no(title="主题党日按月开展", aggregation=A.EVERY_MONTH)
    star = rate(c, every_month(True, range(1, 7)))
    assert star.gaps == ["产业兴旺星：未填报：主题党日按月开展（7-12月）"]
    assert star.inputs == {"X-01": 6}


def test_every_month_names_failing_and_unreported_months():
    c = yes_no(title="主题党日按月开展", aggregation=A.EVERY_MONTH)
    star = rate(c, {1: True, 2: False, 3: True, 4: False, 5: True}, month=6)
    assert star.gaps == [
        "产业兴旺星：主题党日按月开展 2月、4月未达标",
        "产业兴旺星：未填报：主题党日按月开展（6月）",
    ]


def test_every_month_with_numbers_shows_each_failing_value():
    c = criterion(title="安全隐患排查次数", unit="次", threshold=D(1), aggregation=A.EVERY_MONTH)
    star = rate(c, {1: D(1), 2: D(0), 3: D(2), 4: D(0)}, month=4)
    assert star.gaps == ["产业兴旺星：安全隐患排查次数 2月0次、4月0次 < 1次"]


# AT_LEAST_N


def at_least(n: int) -> CriterionSpec:
    return yes_no(title="生活垃圾得到有效治理", aggregation=A.AT_LEAST_N, min_months=n)


def test_at_least_n_mid_year_allows_up_to_twelve_minus_n_bad_months():
    star = rate(at_least(10), {1: False, 2: False}, month=2)
    assert star.met
    assert star.inputs == {"X-01": 0}


def test_at_least_n_mid_year_counts_missing_months_as_bad():
    star = rate(at_least(10), {1: False, 2: False, 4: True, 5: True, 6: True}, month=6)
    assert star.gaps == [
        "产业兴旺星：生活垃圾得到有效治理 1月、2月未达标，3月未填报，全年至多允许2个月"
    ]


def test_at_least_n_annual_needs_n_passing_months():
    ten = every_month(True) | {1: False, 2: False}
    assert rate(at_least(10), ten).met
    nine = ten | {3: False}
    assert rate(at_least(10), nine).gaps == [
        "产业兴旺星：生活垃圾得到有效治理 1-3月未达标，全年至多允许2个月"
    ]


def test_at_least_twelve_says_every_month_is_needed():
    star = rate(at_least(12), {1: True, 2: True, 3: False}, month=3)
    assert star.gaps == ["产业兴旺星：生活垃圾得到有效治理 3月未达标，需每月达标"]


# SUM


def income() -> CriterionSpec:
    return criterion(
        title="村集体经济收入", kind=K.NUMBER, unit="万元", threshold=D(12), aggregation=A.SUM
    )


def incidents() -> CriterionSpec:
    return criterion(title="重大环境污染事件", comparator=C.LTE, threshold=D(0), aggregation=A.SUM)


def test_sum_at_least_is_pro_rated_to_the_month():
    assert rate(income(), {1: D(6)}, month=6).met
    star = rate(income(), {1: D("5.9")} | every_month(D(0), range(2, 7)), month=6)
    assert star.gaps == ["产业兴旺星：村集体经济收入 5.9万元 < 6万元（截至6月，全年12万元）"]
    assert star.inputs == {"X-01": "5.9"}


def test_sum_at_least_annual_compares_the_full_threshold():
    star = rate(income(), every_month(D(1), range(1, 12)) | {12: D(0)})
    assert star.gaps == ["产业兴旺星：村集体经济收入 11万元 < 12万元"]
    assert star.inputs == {"X-01": "11"}


def test_sum_at_least_short_of_its_target_names_the_missing_months_that_added_nothing():
    star = rate(income(), every_month(D(1), range(1, 12)))
    assert star.gaps == [
        "产业兴旺星：村集体经济收入 11万元 < 12万元",
        "产业兴旺星：未填报：村集体经济收入（12月）",
    ]


def test_sum_at_least_counts_a_missing_month_as_zero():
    assert rate(income(), {1: D(3)}, month=3).met


def test_sum_at_most_fails_a_missing_month_as_unreported():
    assert rate(incidents(), {1: D(0), 2: D(0), 3: D(0)}, month=3).met
    star = rate(incidents(), {1: D(0), 3: D(0)}, month=3)
    assert star.gaps == ["产业兴旺星：未填报：重大环境污染事件（2月）"]
    assert star.inputs == {"X-01": "0"}


def test_sum_at_most_names_the_months_behind_a_breach():
    star = rate(incidents(), {1: D(0), 2: D(2), 3: D(0), 4: D(1)}, month=4)
    assert star.gaps == ["产业兴旺星：重大环境污染事件 3件 > 0件（2月、4月）"]


def test_sum_at_most_names_both_a_breach_and_the_months_missing():
    star = rate(incidents(), {1: D(1)}, month=3)
    assert star.gaps == [
        "产业兴旺星：重大环境污染事件 1件 > 0件（1月）",
        "产业兴旺星：未填报：重大环境污染事件（2月、3月）",
    ]


def test_a_pro_rated_target_is_never_rounded_into_a_pass():
    c = criterion(
        title="党员集中培训学时", kind=K.NUMBER, unit="学时", threshold=D(32), aggregation=A.SUM
    )
    rest = every_month(D(0), range(2, 6))
    assert rate(c, {1: D(13)} | rest, month=5).gaps == [
        "产业兴旺星：党员集中培训学时 13学时 < 13.33学时（截至5月，全年32学时）"
    ]
    assert rate(c, {1: D("13.33")} | rest, month=5).gaps == [
        "产业兴旺星：党员集中培训学时 13.33学时 < 13.34学时（截至5月，全年32学时）"
    ]


# AVERAGE


def score() -> CriterionSpec:
    return criterion(
        title="人居环境整治检查得分", kind=K.NUMBER, unit="分", threshold=D(80),
        aggregation=A.AVERAGE,
    )  # fmt: skip


def test_average_is_over_the_months_reported_so_far():
    star = rate(score(), {1: D(70), 2: D(90), 9: D(60)}, month=6)
    assert star.met
    assert star.inputs == {"X-01": "80"}


def test_average_annual_takes_every_month_reported():
    star = rate(score(), {1: D(70), 2: D(90), 9: D(60)})
    assert star.gaps == ["产业兴旺星：人居环境整治检查得分 平均73.33分 < 80分"]
    assert star.inputs == {"X-01": "73.33"}


def test_average_with_nothing_reported_is_unreported():
    star = rate(score(), {8: D(90)}, month=6)
    assert star.gaps == ["产业兴旺星：未填报：人居环境整治检查得分（1-6月）"]
    assert star.inputs == {"X-01": None}


# LATEST


def test_latest_takes_the_last_value_reported_up_to_the_month():
    c = criterion(title="村级后备干部人数", unit="人", threshold=D(2))
    months = {2: D(1), 5: D(3), 8: D(1)}
    assert rate(c, months, month=6).inputs == {"X-01": "3"}
    star = rate(c, months)
    assert star.gaps == ["产业兴旺星：村级后备干部人数 1人 < 2人"]
    assert star.inputs == {"X-01": "1"}


def test_latest_yes_no_names_the_month_it_failed():
    c = yes_no(title="党群服务中心规范化达标")
    assert rate(c, {3: True, 5: False}, month=4).inputs == {"X-01": True}
    star = rate(c, {3: True, 5: False}, month=6)
    assert star.gaps == ["产业兴旺星：党群服务中心规范化达标 5月未达标"]
    assert star.inputs == {"X-01": False}


def test_latest_with_nothing_reported_yet_is_unreported():
    c = criterion(title="村级后备干部人数", unit="人", threshold=D(2))
    assert rate(c, {7: D(3)}, month=6).gaps == ["产业兴旺星：未填报：村级后备干部人数（1-6月）"]


# METRIC


def rural_with_metrics() -> CriteriaSpec:
    catalogue = default_catalogue("RURAL")
    metric_specs = tuple(criterion_spec(row) for row in METRIC_CRITERIA["RURAL"])
    return CriteriaSpec(catalogue.star_names, catalogue.to_spec().criteria + metric_specs)


def test_a_percentage_metric_reads_as_the_catalogue_example():
    spec = rural_with_metrics()
    metrics = {"SA-01": D(91), "SA-02": D(0), "SA-06": D(95), "CI-03": D(24)}
    result = assess(spec, month=None, values=passing_values(spec), metrics=metrics)
    assert result.stars[3].gaps == ["平安法治星：矛盾纠纷化解率 91% < 95%"]
    assert result.stars[3].inputs["SA-01"] == "91"


def test_a_count_metric_is_pro_rated_but_a_percentage_is_not():
    spec = rural_with_metrics()
    metrics = {"SA-01": D(95), "SA-02": D(0), "SA-06": D(90), "CI-03": D(11)}
    result = assess(spec, month=6, values=passing_values(spec), metrics=metrics)
    assert result.stars[4].gaps == ["文明幸福星：志愿服务活动次数 11次 < 12次（截至6月，全年24次）"]
    assert result.stars[3].met
    on_track = assess(spec, month=6, values=passing_values(spec), metrics=metrics | {"CI-03": 12})
    assert on_track.stars[4].met
    annual = assess(spec, month=None, values=passing_values(spec), metrics=metrics | {"CI-03": 23})
    assert annual.stars[4].gaps == ["文明幸福星：志愿服务活动次数 23次 < 24次"]


def test_a_metric_without_data_is_a_gap_and_an_at_most_metric_fails_above():
    spec = rural_with_metrics()
    metrics = {"SA-01": None, "SA-02": D(1), "SA-06": D(90), "CI-03": D(24)}
    result = assess(spec, month=None, values=passing_values(spec), metrics=metrics)
    assert result.stars[3].gaps == [
        "平安法治星：无数据：矛盾纠纷化解率",
        '平安法治星：矛盾纠纷上交县级及以上件数("矛盾不上交") 1件 > 0件',
    ]
    assert result.stars[3].inputs["SA-01"] is None


# Vetoes


def test_a_star_veto_removes_only_its_own_star():
    spec = rural_spec()
    values = passing_values(spec)
    values["SA-04"][3] = D(1)
    result = assess(spec, month=None, values=values, metrics={})
    veto = '一票否决（本星）：平安法治星 造成人员伤亡的安全事故("零事故") 1件 > 0件（3月）'
    assert result.vetoed == VetoScope.STAR
    assert result.veto_gaps == [veto]
    assert result.stars[3].gaps == [veto]
    assert result.stars_held == [2, 3, 5]
    assert result.level == 3


def test_an_all_veto_removes_every_star_and_says_why_on_each():
    spec = rural_spec()
    values = passing_values(spec)
    values["VT-02"][7] = D(1)
    result = assess(spec, month=None, values=values, metrics={})
    veto = "一票否决（全部星）：平安法治星 重大安全生产事故或群体性事件 1件 > 0件（7月）"
    assert result.vetoed == VetoScope.ALL
    assert result.level == 0
    assert result.stars_held == []
    assert [star.gaps for star in result.stars] == [[veto]] * 5


def test_an_all_veto_wins_over_a_star_veto_and_both_are_listed():
    spec = rural_spec()
    values = passing_values(spec)
    values["EC-05"][2] = D(1)
    values["VT-01"][9] = D(1)
    result = assess(spec, month=None, values=values, metrics={})
    assert result.vetoed == VetoScope.ALL
    assert result.veto_gaps == [
        '一票否决（全部星）：支部过硬星 村"两委"干部违纪违法被立案查处 1件 > 0件（9月）',
        "一票否决（本星）：生态宜居星 重大环境污染事件 1件 > 0件（2月）",
    ]


def test_an_unreported_month_of_a_veto_item_is_a_gap_not_a_veto():
    spec = rural_spec()
    values = passing_values(spec)
    del values["VT-01"][5]
    result = assess(spec, month=None, values=values, metrics={})
    assert result.vetoed == VetoScope.NONE
    assert result.veto_gaps == []
    assert result.stars[0].gaps == ['支部过硬星：未填报：村"两委"干部违纪违法被立案查处（5月）']
    assert result.level == 4


# Why a month is missing


@pytest.mark.parametrize(
    ("state", "wording"),
    [
        (None, "未填报"),
        (ReportState.DRAFT, "草稿未提交"),
        (ReportState.RETURNED, "已退回待重报"),
        (ReportState.SUBMITTED, "待审核"),
        ("DRAFT", "草稿未提交"),
    ],
)
def test_a_month_that_does_not_count_is_named_by_its_reports_state(state, wording):
    c = yes_no(title="主题党日按月开展", aggregation=A.EVERY_MONTH)
    states = {3: state} if state else {}
    star = rate(c, {1: True, 2: True}, month=3, states=states)
    assert star.gaps == [f"产业兴旺星：{wording}：主题党日按月开展（3月）"]


def test_months_missing_for_different_reasons_get_one_gap_each_first_month_first():
    c = yes_no(title="主题党日按月开展", aggregation=A.EVERY_MONTH)
    states = {2: ReportState.RETURNED, 3: ReportState.DRAFT, 5: ReportState.RETURNED}
    star = rate(c, {4: True}, month=6, states=states)
    assert star.gaps == [
        "产业兴旺星：未填报：主题党日按月开展（1月、6月）",
        "产业兴旺星：已退回待重报：主题党日按月开展（2月、5月）",
        "产业兴旺星：草稿未提交：主题党日按月开展（3月）",
    ]


def test_a_counted_report_without_the_value_is_unreported():
    c = yes_no(title="主题党日按月开展", aggregation=A.EVERY_MONTH)
    star = rate(c, {1: True}, month=2, states={1: ReportState.DRAFT})
    assert star.gaps == ["产业兴旺星：未填报：主题党日按月开展（2月）"]


def test_at_least_n_names_each_missing_month_by_its_reports_state():
    states = {3: ReportState.SUBMITTED, 4: ReportState.DRAFT}
    star = rate(at_least(10), {1: False, 2: True}, month=4, states=states)
    assert star.gaps == [
        "产业兴旺星：生活垃圾得到有效治理 1月未达标，3月待审核，4月草稿未提交，全年至多允许2个月"
    ]


def test_sum_at_least_names_a_draft_month_that_added_nothing_to_a_shortfall():
    star = rate(income(), {1: D(1), 2: D(1)}, month=3, states={3: ReportState.DRAFT})
    assert star.gaps == [
        "产业兴旺星：村集体经济收入 2万元 < 3万元（截至3月，全年12万元）",
        "产业兴旺星：草稿未提交：村集体经济收入（3月）",
    ]


def test_average_and_latest_with_nothing_counted_name_every_month_by_its_state():
    states = {1: ReportState.RETURNED, 2: ReportState.SUBMITTED}
    assert rate(score(), {}, month=2, states=states).gaps == [
        "产业兴旺星：已退回待重报：人居环境整治检查得分（1月）",
        "产业兴旺星：待审核：人居环境整治检查得分（2月）",
    ]
    latest = criterion(title="村级后备干部人数", unit="人", threshold=D(2))
    assert rate(latest, {}, month=2, states=states).gaps == [
        "产业兴旺星：已退回待重报：村级后备干部人数（1月）",
        "产业兴旺星：待审核：村级后备干部人数（2月）",
    ]


def test_average_and_latest_do_not_count_a_missing_month_against_a_value_reported():
    states = {2: ReportState.DRAFT}
    assert rate(score(), {1: D(70)}, month=2, states=states).gaps == [
        "产业兴旺星：人居环境整治检查得分 平均70分 < 80分"
    ]
    latest = criterion(title="村级后备干部人数", unit="人", threshold=D(2))
    assert rate(latest, {1: D(1)}, month=2, states=states).gaps == [
        "产业兴旺星：村级后备干部人数 1人 < 2人"
    ]


# Vetoes: a reported breach fires, a missing month does not, under every aggregation


def veto(**fields) -> CriterionSpec:
    return criterion(veto_scope=VetoScope.ALL, **fields)


# (criterion, month, values with a reported breach, its veto gap,
#  values with months missing instead (months 1..3: DRAFT), their gaps on the star)
VETO_CASES = {
    "EVERY_MONTH": (
        veto(title="主题党日按月开展", kind=K.BOOLEAN, unit="", comparator=C.IS_YES,
             threshold=None, aggregation=A.EVERY_MONTH),
        3, {1: True, 2: False, 3: True}, "主题党日按月开展 2月未达标",
        {1: True, 3: True}, ["草稿未提交：主题党日按月开展（2月）"],
    ),
    "AT_LEAST_N": (
        veto(title="生活垃圾得到有效治理", kind=K.BOOLEAN, unit="", comparator=C.IS_YES,
             threshold=None, aggregation=A.AT_LEAST_N, min_months=10),
        3, {1: False, 2: False, 3: False}, "生活垃圾得到有效治理 1-3月未达标，全年至多允许2个月",
        {1: False}, ["生活垃圾得到有效治理 1月未达标，2月、3月草稿未提交，全年至多允许2个月"],
    ),
    "SUM at most": (
        veto(title="重大安全事故", comparator=C.LTE, threshold=D(0), aggregation=A.SUM),
        3, {1: D(0), 2: D(0), 3: D(1)}, "重大安全事故 1件 > 0件（3月）",
        {1: D(0), 3: D(0)}, ["草稿未提交：重大安全事故（2月）"],
    ),
    "SUM equal": (
        veto(title="网格员人数", unit="人", comparator=C.EQ, threshold=D(3), aggregation=A.SUM),
        3, {1: D(1), 2: D(1), 3: D(0)}, "网格员人数 2人 ≠ 3人（1月、2月）",
        {1: D(1), 2: D(1)}, ["网格员人数 2人 ≠ 3人（1月、2月）", "草稿未提交：网格员人数（3月）"],
    ),
    "SUM at least": (
        veto(title="村集体经济收入", kind=K.NUMBER, unit="万元", threshold=D(12),
             aggregation=A.SUM),
        3, {1: D(1), 2: D(1), 3: D(0)}, "村集体经济收入 2万元 < 3万元（截至3月，全年12万元）",
        {1: D(1), 2: D(1)}, ["村集体经济收入 2万元 < 3万元（截至3月，全年12万元）",
                            "草稿未提交：村集体经济收入（3月）"],
    ),
    "AVERAGE": (
        veto(title="人居环境整治检查得分", kind=K.NUMBER, unit="分", threshold=D(80),
             aggregation=A.AVERAGE),
        3, {1: D(70)}, "人居环境整治检查得分 平均70分 < 80分",
        {}, ["草稿未提交：人居环境整治检查得分（1-3月）"],
    ),
    "LATEST": (
        veto(title="村级后备干部人数", unit="人", threshold=D(2)),
        3, {1: D(3), 2: D(1)}, "村级后备干部人数 1人 < 2人",
        {}, ["草稿未提交：村级后备干部人数（1-3月）"],
    ),
}  # fmt: skip
DRAFTS = dict.fromkeys(range(1, 4), ReportState.DRAFT)


@pytest.mark.parametrize("case", VETO_CASES.values(), ids=VETO_CASES)
def test_a_reported_breach_of_a_veto_criterion_fires_its_veto(case):
    c, month, breach, gap, _missing, _gaps = case
    result = assess_one(c, breach, month=month, states=DRAFTS)
    assert result.vetoed == VetoScope.ALL
    assert result.veto_gaps == [f"一票否决（全部星）：产业兴旺星 {gap}"]
    assert result.level == 0


@pytest.mark.parametrize("case", VETO_CASES.values(), ids=VETO_CASES)
def test_a_missing_month_fails_a_veto_criterion_but_fires_no_veto(case):
    c, month, _breach, _gap, missing, gaps = case
    result = assess_one(c, missing, month=month, states=DRAFTS)
    assert result.vetoed == VetoScope.NONE
    assert result.veto_gaps == []
    assert result.stars[1].gaps == [f"产业兴旺星：{gap}" for gap in gaps]
    assert result.stars_held == [1, 3, 4, 5]


def test_a_metric_veto_fires_on_its_value_and_not_without_data():
    c = veto(
        title="矛盾纠纷上交件数", comparator=C.LTE, threshold=D(0), aggregation=A.METRIC,
        source=Source.METRIC, metric_key="disputes.escalated_above_township",
    )  # fmt: skip
    fired = assess_one(c, {}, month=3, metric=D(1))
    assert fired.veto_gaps == ["一票否决（全部星）：产业兴旺星 矛盾纠纷上交件数 1件 > 0件"]
    quiet = assess_one(c, {}, month=3, metric=None)
    assert quiet.vetoed == VetoScope.NONE
    assert quiet.stars[1].gaps == ["产业兴旺星：无数据：矛盾纠纷上交件数"]


def test_a_breach_beside_a_missing_month_fires_the_veto_and_names_both():
    c = veto(title="重大安全事故", comparator=C.LTE, threshold=D(0), aggregation=A.SUM)
    result = assess_one(c, {1: D(1)}, month=3, states={2: ReportState.RETURNED})
    breach = "一票否决（全部星）：产业兴旺星 重大安全事故 1件 > 0件（1月）"
    assert result.veto_gaps == [breach]
    assert result.stars[1].gaps == [
        breach,
        "产业兴旺星：已退回待重报：重大安全事故（2月）",
        "产业兴旺星：未填报：重大安全事故（3月）",
    ]
    # The other stars lose to the veto, not to the months missing.
    assert result.stars[0].gaps == [breach]


def test_a_veto_gap_names_the_scope_the_star_the_breach_and_its_months():
    spec = rural_spec()
    values = passing_values(spec)
    values["VT-02"] |= {3: D(1), 5: D(2)}
    values["EC-05"][8] = D(1)
    result = assess(spec, month=None, values=values, metrics={})
    assert result.veto_gaps == [
        "一票否决（本星）：生态宜居星 重大环境污染事件 1件 > 0件（8月）",
        "一票否决（全部星）：平安法治星 重大安全生产事故或群体性事件 3件 > 0件（3月、5月）",
    ]


def test_a_month_awaiting_review_in_the_annual_rating_is_no_incident():
    spec = rural_spec()
    values = passing_values(spec)
    del values["VT-02"][12]
    result = assess(spec, month=None, values=values, metrics={}, states={12: "SUBMITTED"})
    assert result.vetoed == VetoScope.NONE
    assert result.stars[3].gaps == ["平安法治星：待审核：重大安全生产事故或群体性事件（12月）"]
    assert result.level == 3


# Capstone


def one_per_star(*, capstone: bool) -> CriteriaSpec:
    criteria = tuple(yes_no(code=f"S{n}", star=n, title=f"第{n}项") for n in range(1, 6))
    return CriteriaSpec(RURAL_STARS, criteria, capstone)


def all_yes_but(code: str | None = None) -> dict:
    return {f"S{n}": {1: f"S{n}" != code} for n in range(1, 6)}


def test_capstone_on_withholds_the_first_star_until_the_other_four_are_held():
    result = assess(one_per_star(capstone=True), month=1, values=all_yes_but("S3"), metrics={})
    assert result.stars[0].met is False
    assert result.stars[0].gaps == ["支部过硬星：需先获得其他四颗星"]
    assert result.stars_held == [2, 4, 5]
    assert result.level == 3


def test_capstone_off_counts_the_first_star_like_any_other():
    result = assess(one_per_star(capstone=False), month=1, values=all_yes_but("S3"), metrics={})
    assert result.stars_held == [1, 2, 4, 5]
    assert result.level == 4


def test_capstone_on_with_everything_held_gives_five_stars():
    result = assess(one_per_star(capstone=True), month=1, values=all_yes_but(), metrics={})
    assert result.level == 5


def test_capstone_star_missing_its_own_criterion_leaves_four_stars():
    result = assess(one_per_star(capstone=True), month=1, values=all_yes_but("S1"), metrics={})
    assert result.stars[0].gaps == ["支部过硬星：第1项 1月未达标"]
    assert result.stars_held == [2, 3, 4, 5]
    assert result.level == 4


# Default star sets


@pytest.mark.parametrize("area_type", ["RURAL", "URBAN"])
@pytest.mark.parametrize("month", [None, 6])
def test_a_branch_meeting_every_default_criterion_gets_five_stars(area_type, month):
    spec = default_catalogue(area_type).to_spec()
    result = assess(spec, month=month, values=passing_values(spec), metrics={})
    assert result.level == 5
    assert result.stars_held == [1, 2, 3, 4, 5]
    assert result.gaps == []
    assert result.vetoed == VetoScope.NONE


KNOCKOUTS = [
    ("RURAL", "BR-03", {12: D(1)}, "支部过硬星：村级后备干部人数 1人 < 2人", 4),
    ("RURAL", "IN-01", every_month(D("0.5")), "产业兴旺星：村集体经济收入 6万元 < 10万元", 3),
    ("RURAL", "EC-02", {12: D(85)}, "生态宜居星：卫生厕所普及率 85% < 90%", 3),
    ("RURAL", "SA-05", {2: D(0)}, "平安法治星：安全隐患排查次数 2月0次 < 1次", 3),
    ("RURAL", "CI-01", {2: False, 5: False, 9: False},
     "文明幸福星：新时代文明实践站开展活动 2月、5月、9月未达标，全年至多允许2个月", 3),
    ("URBAN", "BR-01", {4: False}, "支部过硬星：主题党日按月开展 4月未达标", 4),
    ("URBAN", "SH-04", every_month(D(1)) | {3: D(0), 4: D(0)},
     "共建共享星：居民议事会召开次数 10次 < 12次", 3),
    ("URBAN", "SA-03", {7: D(1)}, '平安法治星：刑事案件及重大治安案件("零案件") 1件 > 0件（7月）',
     3),
    ("URBAN", "HA-03", {12: D(88)}, "幸福和谐星：居民满意度 88% < 90%", 3),
    ("URBAN", "JO-02", every_month(D(0)) | {1: D(3)}, "宜业兴业星：技能培训场次 3场 < 4场", 3),
]  # fmt: skip


@pytest.mark.parametrize(("area_type", "code", "months", "gap", "level"), KNOCKOUTS)
def test_knocking_out_one_criterion_costs_its_star(area_type, code, months, gap, level):
    spec = default_catalogue(area_type).to_spec()
    values = passing_values(spec)
    values[code] |= months
    result = assess(spec, month=None, values=values, metrics={})
    star = next(c.star for c in spec.criteria if c.code == code)
    assert result.stars[star - 1].met is False
    assert gap in result.stars[star - 1].gaps
    assert result.level == level
    assert result.vetoed == VetoScope.NONE


def test_inputs_record_the_aggregated_value_of_every_criterion_as_json():
    spec = rural_spec()
    values = passing_values(spec)
    values["BR-02"] |= {3: False}
    del values["BR-04"][12]
    result = assess(spec, month=None, values=values, metrics={})
    assert result.stars[0].inputs == {
        "BR-01": 12,
        "BR-02": 11,
        "BR-03": "2",
        "BR-04": True,
        "BR-05": "384",
        "VT-01": "0",
    }
    assert result.stars[1].inputs == {"IN-01": "120", "IN-02": True, "IN-03": "240"}
    assert json.loads(json.dumps([star.inputs for star in result.stars]))


# Specs and catalogue


def test_a_criterion_accepts_the_plain_strings_a_model_row_holds():
    c = criterion(kind="NUMBER", comparator="LTE", aggregation="SUM", veto_scope="STAR")
    assert c.kind is K.NUMBER
    assert c.veto_scope is VetoScope.STAR


@pytest.mark.parametrize(
    "fields",
    [
        {"threshold": None},
        {"aggregation": A.AT_LEAST_N},
        {"aggregation": A.METRIC},
        {"star": 6},
        {"kind": K.BOOLEAN, "comparator": C.GTE},
    ],
)
def test_an_unusable_criterion_is_refused(fields):
    with pytest.raises(ValueError, match="criterion X-01"):
        criterion(**fields)


def test_a_month_outside_the_year_is_refused():
    with pytest.raises(ValueError, match=r"month must be 1\.\.12"):
        assess(rural_spec(), month=13, values={}, metrics={})


def test_the_rural_catalogue_holds_every_row_of_its_table():
    catalogue = default_catalogue("RURAL")
    assert catalogue.star_names == RURAL_STARS
    assert [row["code"] for row in catalogue.criteria] == [
        "BR-01", "BR-02", "BR-03", "BR-04", "BR-05", "VT-01",
        "IN-01", "IN-02", "IN-03",
        "EC-01", "EC-02", "EC-03", "EC-04", "EC-05",
        "SA-03", "SA-04", "SA-05", "VT-02",
        "CI-01", "CI-02", "CI-04",
    ]  # fmt: skip
    evidence = [row["code"] for row in catalogue.criteria if row["evidence_required"]]
    assert evidence == ["BR-01", "BR-02", "BR-04", "IN-01", "IN-02", "EC-01", "CI-01"]
    assert all(row["help_text"] and row["source"] == Source.MANUAL for row in catalogue.criteria)


def test_the_urban_catalogue_shares_the_branch_and_safety_rows_with_community_wording():
    catalogue = default_catalogue("URBAN")
    assert catalogue.star_names == URBAN_STARS
    rows = {row["code"]: row for row in catalogue.criteria}
    assert list(rows) == [
        "BR-01", "BR-02", "BR-03", "BR-04", "BR-05", "VT-01",
        "SH-01", "SH-02", "SH-03", "SH-04",
        "SA-03", "SA-04", "SA-05", "VT-02",
        "HA-02", "HA-03", "HA-04",
        "JO-01", "JO-02", "JO-03",
    ]  # fmt: skip
    assert rows["VT-01"]["title"] == '社区"两委"干部违纪违法被立案查处'
    assert rows["SA-04"]["star"] == 3
    assert rows["SH-04"]["evidence_required"] is True


def test_metric_criteria_join_the_default_sets_once_their_metric_is_registered(monkeypatch):
    assert [row["code"] for row in METRIC_CRITERIA["RURAL"]] == ["SA-01", "SA-02", "SA-06", "CI-03"]
    assert [row["code"] for row in METRIC_CRITERIA["URBAN"]] == ["SA-01", "SA-02", "SA-06", "HA-01"]
    assert METRIC_CRITERIA["URBAN"][3]["star"] == 4
    fresh = MetricRegistry()
    monkeypatch.setattr("branches.metrics.registry", fresh)
    # This test is about the joining itself (the other branches tests rate on manual rows).
    monkeypatch.setattr("branches.catalogue.registered_metric_rows", registered_metric_rows)
    for area_type in ("RURAL", "URBAN"):
        rows = default_catalogue(area_type).criteria
        assert not [row for row in rows if row["source"] == Source.METRIC]
    fresh.register("grids.visit_coverage", title="网格走访覆盖率", unit="%")(lambda w, ids: {})
    for area_type in ("RURAL", "URBAN"):
        metric = [r for r in default_catalogue(area_type).criteria if r["source"] == Source.METRIC]
        assert [(row["code"], row["metric_key"]) for row in metric] == [
            ("SA-06", "grids.visit_coverage")
        ]
    assert metric[0]["star"] == 3  # 平安法治星 is the urban set's third star


def test_default_catalogue_hands_out_fresh_rows():
    default_catalogue("RURAL").criteria[0]["title"] = "改过的标题"
    assert default_catalogue("RURAL").criteria[0]["title"] == "主题党日按月开展"


def test_default_catalogue_refuses_an_unknown_area_type():
    with pytest.raises(ValueError, match="RURAL or URBAN"):
        default_catalogue("SUBURBAN")


def test_a_changed_threshold_is_picked_up_by_a_new_spec():
    catalogue = default_catalogue("RURAL")
    specs = [
        dataclasses.replace(c, threshold=D(95)) if c.code == "CI-04" else c
        for c in catalogue.to_spec().criteria
    ]
    spec = CriteriaSpec(catalogue.star_names, tuple(specs))
    values = passing_values(rural_spec()) | {"CI-04": every_month(D(90))}
    result = assess(spec, month=None, values=values, metrics={})
    assert result.stars[4].gaps == ["文明幸福星：群众满意度 90% < 95%"]
