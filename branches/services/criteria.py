"""Criteria catalogue services: load the shipped defaults, copy a set to a new version or year,
and the plausibility checks of a month's value (upper bound, month-on-month jump)."""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from branches import catalogue
from branches.models import CriteriaSet, Criterion, OrgUnit, ReportValue

DEFAULT_NOTE = "示例默认值，以当地正式文件为准。系统按此默认清单评星，管理员可按本地文件修改。"


@transaction.atomic
def criteria_defaults_load(*, year: int) -> list[CriteriaSet]:
    """Create the default sets of `year` for both area types; existing sets are left alone."""
    created = []
    for area_type in OrgUnit.AreaType.values:
        if CriteriaSet.objects.filter(year=year, area_type=area_type).exists():
            continue
        defaults = catalogue.default_catalogue(area_type)
        criteria_set = CriteriaSet.objects.create(
            year=year,
            area_type=area_type,
            version=1,
            name=f"{year}年{OrgUnit.AreaType(area_type).label}“五星”支部创建指标（示例默认值）",
            star_names=list(defaults.star_names),
            capstone=True,
            is_default_catalogue=True,
            note=DEFAULT_NOTE,
        )
        Criterion.objects.bulk_create(
            Criterion(
                criteria_set=criteria_set,
                **{k: str(v) if isinstance(v, StrEnum) else v for k, v in row.items()},
            )
            for row in defaults.criteria
        )
        created.append(criteria_set)
    return created


@transaction.atomic
def criteria_set_copy(*, source: CriteriaSet, year: int | None = None) -> CriteriaSet:
    """Copy a set with its criteria: to a new version of the same year, or to another year.

    A new version of the same year becomes the active one; the source stays as it
    was so that ratings computed with it can be re-derived.
    """
    year = source.year if year is None else year
    if (
        year != source.year
        and CriteriaSet.objects.filter(year=year, area_type=source.area_type).exists()
    ):
        raise ValidationError(
            _("%(year)s年%(area)s已有指标体系，如需修改请在该年度的体系上新建版本。")
            % {"year": year, "area": source.get_area_type_display()}
        )
    last = (
        CriteriaSet.objects.select_for_update()
        .filter(year=year, area_type=source.area_type)
        .order_by("-version")
        .first()
    )
    CriteriaSet.objects.filter(year=year, area_type=source.area_type, is_active=True).update(
        is_active=False
    )
    copy = CriteriaSet.objects.create(
        year=year,
        area_type=source.area_type,
        version=last.version + 1 if last else 1,
        name=source.name.replace(str(source.year), str(year)),
        star_names=source.star_names,
        capstone=source.capstone,
        is_active=True,
        is_default_catalogue=source.is_default_catalogue,
        note=source.note,
    )
    Criterion.objects.bulk_create(
        Criterion(
            criteria_set=copy,
            **{
                field.name: getattr(criterion, field.name)
                for field in Criterion._meta.concrete_fields
                if field.name not in ("id", "criteria_set")
            },
        )
        for criterion in source.criteria.all()
    )
    return copy


# Plausibility of a month's value: the one place the form, the month sheet and the API (all
# through workflow.parse_value and workflow.report_save_values) learn what is implausible.


def _figure(number: Decimal, criterion: Criterion) -> str:
    """Decimal('40.0000') with unit 场 -> '40 场' (a percentage as '90%')."""
    text = format(number.normalize(), "f")
    if not criterion.unit:
        return text
    return f"{text}{'' if criterion.unit == '%' else ' '}{criterion.unit}"


def _times(ratio: Decimal) -> str:
    return format(ratio.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP).normalize(), "f")


def bound_problem(criterion: Criterion, number: Decimal) -> str | None:
    """Why `number` cannot be a month's value of `criterion` (its upper bound), or None."""
    if criterion.max_value is None or number <= criterion.max_value:
        return None
    return _(
        "“%(title)s”每月最多 %(bound)s，收到的是 %(raw)s。请核对是否多输了数字或单位填错；"
        "确实超过上限的，请联系管理员调整该指标的每月上限。"
    ) % {
        "title": criterion.title,
        "bound": _figure(criterion.max_value, criterion),
        "raw": format(number.normalize(), "f"),
    }


def soft_warning(criterion: Criterion, value, previous) -> str | None:
    """The warning a month's value is saved with once the person confirms it, or None: a
    percentage that looks written as a fraction (0.95 for 95%), or a jump against last
    month's value by more than the criterion's factor.

    A jump needs both months positive: a ratio to or from 0 says nothing, and an absurd
    first value is the upper bound's job.
    """
    if isinstance(value, bool) or value is None:
        return None
    if criterion.kind == Criterion.Kind.PERCENTAGE and 0 < value < 1:
        return _(
            "百分比按 0 到 100 填写（95 表示 95%%），收到的是 %(raw)s：是否填成了小数？"
            "如果确实是 %(raw)s%%，请核对后保存。"
        ) % {"raw": format(value.normalize(), "f")}
    factor = criterion.jump_factor
    if factor is None or isinstance(previous, bool):
        return None
    if previous is None or value <= 0 or previous <= 0:
        return None
    figures = {
        "now": _figure(value, criterion),
        "before": _figure(previous, criterion),
        "factor": _times(factor),
    }
    if value > previous * factor:
        return _(
            "本月 %(now)s，是上月 %(before)s的 %(ratio)s 倍（变化超过 %(factor)s 倍），请核对。"
        ) % {**figures, "ratio": _times(value / previous)}
    if value * factor < previous:
        drop = ((1 - value / previous) * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
        return _(
            "本月 %(now)s，比上月 %(before)s少了 %(drop)s%%（变化超过 %(factor)s 倍），请核对。"
        ) % {**figures, "drop": drop}
    return None


def month_before(period: date) -> date:
    return (
        date(period.year - 1, 12, 1)
        if period.month == 1
        else period.replace(month=period.month - 1)
    )


def previous_month_values(*, unit_ids, period: date) -> dict[tuple[int, str], Decimal]:
    """Last month's numbers by (unit id, criterion code), in one query (codes are stable
    across years, so January compares with December of the year's other set)."""
    rows = ReportValue.objects.filter(
        report__unit_id__in=list(unit_ids),
        report__period=month_before(period),
        value_number__isnull=False,
    ).values_list("report__unit_id", "criterion__code", "value_number")
    return {(unit_id, code): number for unit_id, code, number in rows}
