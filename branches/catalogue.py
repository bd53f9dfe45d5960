"""The default criteria catalogue: 示例默认值，以当地正式文件为准.

The province publishes star names and themes but no thresholds, so these rows are editable
defaults, one set per area type (CRITERIA.md). Codes are stable identifiers; titles,
thresholds and help texts may be changed per year. Rows are shaped like the Criterion
model's fields (star is the position 1..5 in the set). The metric criteria live apart in
`METRIC_CRITERIA`: each records app adds its own rows when it lands.
"""

from dataclasses import dataclass, fields
from decimal import Decimal

from branches.rating import (
    Aggregation,
    Comparator,
    CriteriaSpec,
    CriterionSpec,
    Source,
    ValueKind,
    VetoScope,
)

RURAL_STARS = ("支部过硬星", "产业兴旺星", "生态宜居星", "平安法治星", "文明幸福星")
URBAN_STARS = ("支部过硬星", "共建共享星", "平安法治星", "幸福和谐星", "宜业兴业星")

K, C, A, V = ValueKind, Comparator, Aggregation, VetoScope

# Plausibility defaults by code: (the most a month can hold, the month-on-month factor that
# asks for a second look). The bound refuses typos (9999 场, 元 typed as 万元); the factor
# only warns. Incident counts get no factor: last month is usually 0, and 0 is not compared.
# Percentages are bounded at 100 by their kind already.
PLAUSIBILITY: dict[str, tuple[str | None, str | None]] = {
    "BR-03": ("50", "3"),
    "BR-05": ("100", "5"),
    "VT-01": ("20", None),
    "IN-01": ("5000", "10"),
    "IN-03": ("1000", "10"),
    "EC-01": ("100", None),
    "EC-05": ("20", None),
    "SA-03": ("50", None),
    "SA-04": ("50", None),
    "SA-05": ("60", "5"),
    "VT-02": ("20", None),
    "SH-02": ("5000", "3"),
    "SH-03": ("200", "3"),
    "SH-04": ("31", "5"),
    "HA-04": ("60", "5"),
    "JO-01": ("1000", "10"),
    "JO-02": ("31", "5"),
    "JO-03": ("300", "10"),
}


# The rows read as a table, one criterion per call; the formatter would explode them.
# fmt: off
def _yes(code, title, aggregation, *, min_months=None, evidence=False, help_text):
    return _row(code, title, K.BOOLEAN, "", C.IS_YES, None, aggregation,
                min_months=min_months, evidence=evidence, help_text=help_text)


def _row(code, title, kind, unit, comparator, threshold, aggregation,
         *, min_months=None, veto=V.NONE, evidence=False, help_text):
    """One catalogue row; the order follows the code (SA-03 -> 30), vetoes (VT-) come last."""
    prefix, number = code.split("-")
    max_value, jump_factor = PLAUSIBILITY.get(code, (None, None))
    return {
        "code": code,
        "title": title,
        "kind": kind,
        "unit": unit,
        "comparator": comparator,
        "threshold": None if threshold is None else Decimal(threshold),
        "aggregation": aggregation,
        "min_months": min_months,
        "veto_scope": veto,
        "source": Source.MANUAL,
        "metric_key": "",
        "order": 90 if prefix == "VT" else int(number) * 10,
        "help_text": help_text,
        "evidence_required": evidence,
        "max_value": None if max_value is None else Decimal(max_value),
        "jump_factor": None if jump_factor is None else Decimal(jump_factor),
    }


def _branch_rows(village: str) -> list[dict]:
    """支部过硬星, shared by both sets; `village` is 村 or 社区 (BR-03 and VT-01 wording)."""
    cadres = "村级后备干部人数" if village == "村" else f"{village}后备干部人数"
    return [
        _yes("BR-01", "主题党日按月开展", A.EVERY_MONTH, evidence=True,
             help_text="本月是否按规定开展主题党日活动。请上传活动记录或照片。"),
        _yes("BR-02", '"三会一课"按规定召开', A.AT_LEAST_N, min_months=11, evidence=True,
             help_text="本月支部党员大会、支委会、党小组会和党课是否按规定召开。"
                       "全年至少11个月达标。请上传会议记录。"),
        _row("BR-03", cadres, K.INTEGER, "人", C.GTE, "2", A.LATEST,
             help_text="截至本月底在册的后备干部人数，不少于2人。"),
        _yes("BR-04", "党群服务中心规范化达标", A.LATEST, evidence=True,
             help_text="党群服务中心的场所、标识、制度和服务功能是否达到规范化建设要求。"
                       "请上传验收或检查材料。"),
        _row("BR-05", "党员集中培训学时", K.NUMBER, "学时", C.GTE, "32", A.SUM,
             help_text="本月组织党员集中培训的学时数。全年累计不少于32学时，按月进度考核。"),
        _row("VT-01", f'{village}"两委"干部违纪违法被立案查处', K.INTEGER, "件", C.LTE, "0",
             A.SUM, veto=V.ALL,
             help_text=f'本月{village}"两委"干部因违纪违法被立案查处的件数，没有请填0。'
                       "发生即一票否决，当年不得评星。"),
    ]


def _safety_rows() -> list[dict]:
    """平安法治星, shared by both sets (the metric rows SA-01, SA-02, SA-06 come later)."""
    return [
        _row("SA-03", '刑事案件及重大治安案件("零案件")', K.INTEGER, "件", C.LTE, "0", A.SUM,
             help_text="本月辖区内发生的刑事案件及重大治安案件件数，没有请填0。"),
        _row("SA-04", '造成人员伤亡的安全事故("零事故")', K.INTEGER, "件", C.LTE, "0", A.SUM,
             veto=V.STAR,
             help_text="本月辖区内造成人员伤亡的安全事故件数，没有请填0。发生即否决本星。"),
        _row("SA-05", "安全隐患排查次数", K.INTEGER, "次", C.GTE, "1", A.EVERY_MONTH,
             help_text="本月组织安全隐患排查的次数，每月至少1次。"),
        _row("VT-02", "重大安全生产事故或群体性事件", K.INTEGER, "件", C.LTE, "0", A.SUM,
             veto=V.ALL,
             help_text="本月发生的重大安全生产事故或群体性事件件数，没有请填0。"
                       "发生即一票否决，当年不得评星。"),
    ]


def _rural_rows() -> list[tuple[int, list[dict]]]:
    industry = [
        _row("IN-01", "村集体经济收入", K.NUMBER, "万元", C.GTE, "10", A.SUM, evidence=True,
             help_text="本月村集体经营性收入（万元）。全年累计不少于10万元，按月进度考核。"
                       "请上传收入凭证。"),
        _yes("IN-02", '有主导产业("一村一品")或党组织领办合作社', A.LATEST, evidence=True,
             help_text="本村是否已形成主导产业，或由党组织领办合作社并正常运营。"
                       "请上传证明材料。"),
        _row("IN-03", "带动群众就业人数", K.INTEGER, "人", C.GTE, "20", A.SUM,
             help_text="本月通过集体产业、合作社新带动就业的群众人数。全年累计不少于20人。"),
    ]
    ecology = [
        _row("EC-01", "人居环境整治检查得分", K.NUMBER, "分", C.GTE, "80", A.AVERAGE,
             evidence=True,
             help_text="本月乡镇人居环境整治检查得分（0–100分）。全年平均不低于80分。"
                       "请上传检查记录。"),
        _row("EC-02", "卫生厕所普及率", K.PERCENTAGE, "%", C.GTE, "90", A.LATEST,
             help_text="截至本月底卫生厕所普及率（0–100），不低于90%。"),
        _yes("EC-03", "生活垃圾得到有效治理", A.AT_LEAST_N, min_months=10,
             help_text="本月生活垃圾是否做到日常收集、转运和处理。全年至少10个月达标。"),
        _yes("EC-04", "生活污水得到管控", A.LATEST,
             help_text="生活污水是否得到有效管控，无乱排乱放。"),
        _row("EC-05", "重大环境污染事件", K.INTEGER, "件", C.LTE, "0", A.SUM, veto=V.STAR,
             help_text="本月发生的重大环境污染事件件数，没有请填0。发生即否决本星。"),
    ]
    civility = [
        _yes("CI-01", "新时代文明实践站开展活动", A.AT_LEAST_N, min_months=10, evidence=True,
             help_text="本月新时代文明实践站是否开展活动。全年至少10个月开展。"
                       "请上传活动照片。"),
        _yes("CI-02", '"一约五会"健全并运行', A.LATEST,
             help_text="村规民约和红白理事会、村民议事会等“一约五会”是否健全并正常运行。"),
        _row("CI-04", "群众满意度", K.PERCENTAGE, "%", C.GTE, "90", A.LATEST,
             help_text="最近一次群众满意度测评结果（0–100），不低于90%。"),
    ]
    return [(1, _branch_rows("村")), (2, industry), (3, ecology), (4, _safety_rows()),
            (5, civility)]


def _urban_rows() -> list[tuple[int, list[dict]]]:
    sharing = [
        _row("SH-01", "红色物业覆盖小区比例", K.PERCENTAGE, "%", C.GTE, "80", A.LATEST,
             help_text="截至本月底实现红色物业覆盖的小区占辖区小区的比例（0–100）。"),
        _row("SH-02", "在职党员到社区报到人数", K.INTEGER, "人", C.GTE, "20", A.LATEST,
             help_text="截至本月底到社区报到的在职党员累计人数。"),
        _row("SH-03", "共驻共建单位数", K.INTEGER, "个", C.GTE, "5", A.LATEST,
             help_text="截至本月底签订共建协议的驻区单位数。"),
        _row("SH-04", "居民议事会召开次数", K.INTEGER, "次", C.GTE, "12", A.SUM, evidence=True,
             help_text="本月召开居民议事会的次数。全年累计不少于12次。请上传会议记录。"),
    ]
    harmony = [
        _yes("HA-02", "为老服务(助餐、探访)开展", A.AT_LEAST_N, min_months=10,
             help_text="本月是否开展助餐、探访等为老服务。全年至少10个月开展。"),
        _row("HA-03", "居民满意度", K.PERCENTAGE, "%", C.GTE, "90", A.LATEST,
             help_text="最近一次居民满意度测评结果（0–100），不低于90%。"),
        _row("HA-04", "文体活动场次", K.INTEGER, "场", C.GTE, "12", A.SUM,
             help_text="本月组织的文体活动场次。全年累计不少于12场。"),
    ]
    jobs = [
        _row("JO-01", "就业帮扶人数", K.INTEGER, "人", C.GTE, "20", A.SUM,
             help_text="本月帮扶实现就业的居民人数。全年累计不少于20人。"),
        _row("JO-02", "技能培训场次", K.INTEGER, "场", C.GTE, "4", A.SUM,
             help_text="本月组织的职业技能培训场次。全年累计不少于4场。"),
        _row("JO-03", "服务辖区企业、商户次数", K.INTEGER, "次", C.GTE, "12", A.SUM,
             help_text="本月走访、服务辖区企业和商户的次数。全年累计不少于12次。"),
    ]
    return [(1, _branch_rows("社区")), (2, sharing), (3, _safety_rows()), (4, harmony),
            (5, jobs)]


def _metric_row(code, star, title, key, kind, unit, comparator, threshold, help_text):
    row = _row(code, title, kind, unit, comparator, threshold, A.METRIC, help_text=help_text)
    return row | {"star": star, "source": Source.METRIC, "metric_key": key}


def _metric_rows(safety_star: int, volunteer_code: str, volunteer_star: int) -> tuple[dict, ...]:
    return (
        _metric_row("SA-01", safety_star, "矛盾纠纷化解率", "disputes.resolution_rate",
                    K.PERCENTAGE, "%", C.GTE, "95",
                    "由矛盾纠纷台账自动计算：已化解件数 ÷ 已结案或已到期的件数。"),
        _metric_row("SA-02", safety_star, '矛盾纠纷上交县级及以上件数("矛盾不上交")',
                    "disputes.escalated_above_township", K.INTEGER, "件", C.LTE, "0",
                    "由矛盾纠纷台账自动计算：上交县级及以上的件数。"),
        _metric_row("SA-06", safety_star, "网格走访覆盖率", "grids.visit_coverage",
                    K.PERCENTAGE, "%", C.GTE, "90",
                    "由网格走访记录自动计算：已走访户数 ÷ 辖区户数。"),
        # Stored as 24 a year; the engine pro-rates count metrics to 2 x m year to date.
        _metric_row(volunteer_code, volunteer_star, "志愿服务活动次数",
                    "volunteers.activity_count", K.INTEGER, "次", C.GTE, "24",
                    "由志愿服务记录自动计算。每月不少于2次（按月进度考核，全年24次）。"),
    )


# fmt: on

# Added by the records apps (disputes, grids, volunteers) to both sets, keyed by area type.
METRIC_CRITERIA: dict[str, tuple[dict, ...]] = {
    "RURAL": _metric_rows(safety_star=4, volunteer_code="CI-03", volunteer_star=5),
    "URBAN": _metric_rows(safety_star=3, volunteer_code="HA-01", volunteer_star=4),
}

_SPEC_FIELDS = tuple(f.name for f in fields(CriterionSpec) if f.init)


@dataclass(frozen=True)
class Catalogue:
    area_type: str
    star_names: tuple[str, ...]
    criteria: tuple[dict, ...]

    def to_spec(self, *, capstone: bool = True) -> CriteriaSpec:
        specs = tuple(criterion_spec(row) for row in self.criteria)
        return CriteriaSpec(self.star_names, specs, capstone)


def default_catalogue(area_type: str) -> Catalogue:
    """The default set for "RURAL" or "URBAN" (fresh rows on every call, safe to change)."""
    sets = {"RURAL": (RURAL_STARS, _rural_rows), "URBAN": (URBAN_STARS, _urban_rows)}
    if area_type not in sets:
        raise ValueError(f"area_type must be RURAL or URBAN, not {area_type!r}")
    star_names, build = sets[area_type]
    rows = tuple(row | {"star": star} for star, group in build() for row in group)
    return Catalogue(area_type, star_names, rows + registered_metric_rows(area_type))


def registered_metric_rows(area_type: str) -> tuple[dict, ...]:
    """The METRIC_CRITERIA rows whose metric a records app has registered (it has landed)."""
    from branches.metrics import registry  # the registry reads the models; this module not

    return tuple(dict(row) for row in METRIC_CRITERIA[area_type] if row["metric_key"] in registry)


def criterion_spec(row: dict) -> CriterionSpec:
    """The engine's view of a catalogue row (help text and evidence are for the forms)."""
    return CriterionSpec(**{name: row[name] for name in _SPEC_FIELDS})
