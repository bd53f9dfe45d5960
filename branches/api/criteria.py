"""Criteria sets API (read): the year's star criteria catalogue."""

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, viewsets

from branches.api.fields import (
    NumberField,
)
from branches.api.units import OrgUnitPagination
from branches.models import (
    CriteriaSet,
    Criterion,
    OrgUnit,
)
from branches.services import workflow


class CriterionSerializer(serializers.ModelSerializer):
    star_name = serializers.SerializerMethodField(help_text=_("所属星的名称"))
    threshold = NumberField(help_text=_("阈值；是/否指标为 null"))
    max_value = NumberField(
        help_text=_("每月上限：超过即拒绝保存（400）；不限时为 null"), allow_null=True
    )
    jump_factor = NumberField(
        help_text=_("环比提示倍数：与上月相比增减超过该倍数时保存并提示；不提示时为 null"),
        allow_null=True,
    )
    source_display = serializers.CharField(source="get_source_display", help_text=_("来源名称"))
    kind_display = serializers.CharField(source="get_kind_display", help_text=_("值类型名称"))
    comparator_display = serializers.CharField(
        source="get_comparator_display", help_text=_("比较方式，如“≥”")
    )
    aggregation_display = serializers.CharField(
        source="get_aggregation_display", help_text=_("年度汇总方式名称")
    )
    veto_scope_display = serializers.CharField(
        source="get_veto_scope_display", help_text=_("一票否决范围名称")
    )

    class Meta:
        model = Criterion
        fields = [
            "code",
            "star",
            "star_name",
            "title",
            "help_text",
            "source",
            "source_display",
            "metric_key",
            "kind",
            "kind_display",
            "unit",
            "comparator",
            "comparator_display",
            "threshold",
            "aggregation",
            "aggregation_display",
            "min_months",
            "veto_scope",
            "veto_scope_display",
            "evidence_required",
            "max_value",
            "jump_factor",
            "order",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "code": {"help_text": _("指标编码，填报时以此标识指标，如 BR-03")},
            "star": {"help_text": _("所属星：1–5，第一颗为支部过硬星")},
            "source": {"help_text": _("MANUAL 人工填报；METRIC 系统根据业务数据计算，不能填报")},
            "metric_key": {"help_text": _("系统指标键；人工填报指标为空")},
            "min_months": {"help_text": _("“至少N个月达标”时的月数，否则为 null")},
        }

    def get_star_name(self, criterion) -> str:
        return criterion.criteria_set.star_names[criterion.star - 1]


class CriteriaSetSerializer(serializers.ModelSerializer):
    area_type_display = serializers.CharField(
        source="get_area_type_display", help_text=_("区域类型名称")
    )
    is_locked = serializers.BooleanField(
        help_text=_("已被评定结果使用而锁定；修改须另建新版本，旧评定可复现")
    )

    class Meta:
        model = CriteriaSet
        fields = [
            "id",
            "year",
            "area_type",
            "area_type_display",
            "version",
            "name",
            "star_names",
            "capstone",
            "is_active",
            "is_default_catalogue",
            "is_locked",
            "locked_at",
            "note",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "star_names": {"help_text": _("五颗星的名称，按第1至第5颗排列")},
            "capstone": {"help_text": _("为 true 时，支部过硬星只授予已获得其他四颗星的支部")},
            "is_active": {"help_text": _("该年度、该区域类型当前启用的版本")},
            "is_default_catalogue": {
                "help_text": _("系统自带的示例默认值，以当地正式文件为准，可由管理员修改")
            },
        }


class CriteriaSetDetailSerializer(CriteriaSetSerializer):
    criteria = CriterionSerializer(many=True, help_text=_("指标，按星、排序号排列"))

    class Meta(CriteriaSetSerializer.Meta):
        fields = [*CriteriaSetSerializer.Meta.fields, "criteria"]
        read_only_fields = fields


class CriteriaSetFilter(filters.FilterSet):
    # The same years as a period (workflow.PERIOD_YEARS): a year outside them is a typo.
    year = filters.NumberFilter(
        help_text=_("年度，如 2026"),
        min_value=workflow.PERIOD_YEARS[0],
        max_value=workflow.PERIOD_YEARS[-1],
    )
    area_type = filters.ChoiceFilter(
        choices=OrgUnit.AreaType.choices, help_text=_("区域类型：RURAL 农村，URBAN 城市社区")
    )
    is_active = filters.BooleanFilter(help_text=_("true 只列出当前启用的版本"))

    class Meta:
        model = CriteriaSet
        fields = ["year", "area_type", "is_active"]


@extend_schema_view(
    list=extend_schema(
        summary=_("评星指标体系列表"),
        description=_("列出各年度、各区域类型的指标体系及其版本（不含指标明细）。"),
    ),
    retrieve=extend_schema(
        summary=_("评星指标体系详情"),
        description=_("按编号取一个指标体系，含全部指标及其达标规则。"),
    ),
)
@extend_schema(tags=[_("评星指标体系")])
class CriteriaSetViewSet(viewsets.ReadOnlyModelViewSet):
    filterset_class = CriteriaSetFilter
    pagination_class = OrgUnitPagination
    queryset = CriteriaSet.objects.none()

    def get_queryset(self):
        criteria_sets = CriteriaSet.objects.all()
        if self.action == "retrieve":
            criteria_sets = criteria_sets.prefetch_related("criteria")
        return criteria_sets

    def get_serializer_class(self):
        return CriteriaSetDetailSerializer if self.action == "retrieve" else CriteriaSetSerializer


# Monthly reports -------------------------------------------------------------------------
