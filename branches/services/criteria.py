"""Criteria catalogue services: load the shipped defaults, copy a set to a new version or year."""

from enum import StrEnum

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from branches import catalogue
from branches.models import CriteriaSet, Criterion, OrgUnit

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
