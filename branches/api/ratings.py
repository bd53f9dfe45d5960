"""Ratings API (read): the stored star assessments of branches in the caller's jurisdiction."""

from collections import defaultdict

from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, viewsets
from rest_framework.response import Response

from branches.api.fields import (
    PeriodField,
    PeriodFilter,
    unit_code_filter,
)
from branches.api.units import OrgUnitPagination
from branches.models import (
    BranchRating,
    CriteriaSet,
    OrgUnit,
    Rating,
    StarAssessment,
)
from branches.services.runs import open_month


class RatingSerializer(serializers.ModelSerializer):
    unit_code = serializers.CharField(source="unit.code", help_text=_("支部单位编码"))
    unit_name = serializers.CharField(source="unit.name", help_text=_("支部名称"))
    period = PeriodField(help_text=_("月份 YYYY-MM；年度评定为该年 1 月"))
    stars = serializers.SerializerMethodField(help_text=_("已获得的星（1–5）"))
    stars_held = serializers.SerializerMethodField(help_text=_("已获得的星的名称"))
    veto_display = serializers.CharField(source="get_veto_display", help_text=_("一票否决名称"))
    gaps = serializers.SerializerMethodField(
        help_text=_(
            "差距说明（为何未获得各星），按星排列；列表中仅在 include=gaps 时给出，否则为 null"
        )
    )

    in_progress = serializers.SerializerMethodField(
        help_text=_("进行中：尚未结束的本月的月度进度，随填报更新，每晚为全部支部重算")
    )

    class Meta:
        model = BranchRating
        fields = [
            "id",
            "unit_code",
            "unit_name",
            "area_type",
            "period",
            "kind",
            "level",
            "stars",
            "stars_held",
            "veto",
            "veto_display",
            "gap_count",
            "gaps",
            "in_progress",
            "criteria_set",
            "computed_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "kind": {"help_text": _("MONTHLY 月度（当年累计进度），ANNUAL 年度评定")},
            "level": {"help_text": _("星级：获得的星数 0–5")},
            "veto": {"help_text": _("NONE 无，STAR 否决单星，ALL 否决全部星")},
            "gap_count": {"help_text": _("差距条数")},
            "criteria_set": {"help_text": _("评定所用指标体系的编号")},
            "computed_at": {"help_text": _("计算时间")},
        }

    def get_in_progress(self, rating) -> bool:
        return rating.kind == Rating.MONTHLY and rating.period == open_month()

    def get_stars(self, rating) -> list[int]:
        return [star for star in range(1, 6) if getattr(rating, f"has_star_{star}")]

    def get_stars_held(self, rating) -> list[str]:
        names = rating.criteria_set.star_names
        return [names[star - 1] for star in self.get_stars(rating)]

    @extend_schema_field({"type": "array", "items": {"type": "string"}, "nullable": True})
    def get_gaps(self, rating):
        return getattr(rating, "gap_texts", None)


def attach_gaps(ratings: list[BranchRating]) -> None:
    """Give each rating its gaps from the star assessments: one query for all of them."""
    keys = {(r.unit_id, r.period, r.kind) for r in ratings}
    rows = (
        StarAssessment.objects.filter(
            unit_id__in={key[0] for key in keys},
            period__in={key[1] for key in keys},
            kind__in={key[2] for key in keys},
        )
        .order_by("star")
        .values_list("unit_id", "period", "kind", "gaps")
    )
    gaps = defaultdict(dict)
    for unit_id, period, kind, star_gaps in rows:
        # A veto on all stars repeats its gap under every star: keep one.
        gaps[unit_id, period, kind].update(dict.fromkeys(star_gaps))
    for rating in ratings:
        rating.gap_texts = list(gaps[rating.unit_id, rating.period, rating.kind])


def star_filter(description, **kwargs):
    return extend_schema_field(
        {"type": "integer", "enum": CriteriaSet.Stars.values, "description": description}
    )(filters.TypedChoiceFilter(choices=CriteriaSet.Stars.choices, coerce=int, **kwargs))


class RatingFilter(filters.FilterSet):
    period = PeriodFilter(field_name="period")
    kind = filters.ChoiceFilter(
        choices=Rating.choices, help_text=_("MONTHLY 月度（默认），ANNUAL 年度")
    )
    level = filters.TypedChoiceFilter(
        choices=[(n, str(n)) for n in range(6)], coerce=int, help_text=_("星级 0–5")
    )
    star = star_filter(_("只列出已获得第 n 颗星（1–5）的支部"), method="filter_star")
    missing_star = star_filter(
        _("只列出未获得第 n 颗星（1–5）的支部"), method="filter_missing_star"
    )
    under = unit_code_filter(_("单位编码：只列出该单位下的支部"), method="filter_under")
    area_type = filters.ChoiceFilter(
        choices=OrgUnit.AreaType.choices, help_text=_("区域类型：RURAL 农村，URBAN 城市社区")
    )

    class Meta:
        model = BranchRating
        fields = ["period", "kind", "level", "star", "missing_star", "under", "area_type"]

    def __init__(self, data=None, *args, **kwargs):
        # Monthly progress unless asked for the annual rating.
        if data is not None and not data.get("kind"):
            data = data.copy()
            data["kind"] = Rating.MONTHLY
        super().__init__(data, *args, **kwargs)

    def filter_star(self, queryset, name, value):
        return queryset.filter(**{f"has_star_{value}": True})

    def filter_missing_star(self, queryset, name, value):
        return queryset.filter(**{f"has_star_{value}": False})

    def filter_under(self, queryset, name, value):
        return queryset.under(value)


INCLUDE_GAPS = OpenApiParameter(
    "include",
    OpenApiTypes.STR,
    enum=["gaps"],
    description=_("include=gaps：同时给出每个支部的差距说明"),
)


@extend_schema_view(
    list=extend_schema(
        summary=_("星级评定列表"),
        description=_(
            "列出您管辖范围内各村(社区)的星级评定，默认为月度（当年累计进度）。"
            "可按月份、类型、星级、是否获得某颗星、上级单位、区域类型筛选。"
        ),
        parameters=[INCLUDE_GAPS],
    ),
    retrieve=extend_schema(
        summary=_("星级评定详情"),
        description=_("按编号取一条星级评定，含差距说明。不在您管辖范围内的一律返回 404。"),
    ),
)
@extend_schema(tags=[_("星级评定")])
class RatingViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = RatingSerializer
    filterset_class = RatingFilter
    pagination_class = OrgUnitPagination
    queryset = BranchRating.objects.none()

    def get_queryset(self):
        return (
            BranchRating.objects.visible_to(self.request.user)
            .select_related("unit", "criteria_set")
            .order_by("-period", "unit_path", "kind")
        )

    def filter_queryset(self, queryset):
        # Filters (and the default kind) pick list rows; a rating by id is found whatever its kind.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def paginate_queryset(self, queryset):
        include = self.request.query_params.get("include", "")
        if include not in ("", "gaps"):
            raise serializers.ValidationError(
                {"include": [_t("include 只能为 gaps（同时给出差距说明）。")]}
            )
        page = super().paginate_queryset(queryset)
        if include == "gaps":
            attach_gaps(page)
        return page

    def retrieve(self, request, *args, **kwargs):
        rating = self.get_object()
        attach_gaps([rating])
        return Response(self.get_serializer(rating).data)
