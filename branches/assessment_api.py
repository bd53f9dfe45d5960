"""The five-star assessment API: criteria sets (read), monthly reports (read, write, workflow
actions) and ratings (read). Writes go through `branches.workflow`, as the pages do."""

from collections import defaultdict
from contextlib import contextmanager

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Prefetch
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.settings import api_settings

from branches import workflow
from branches.api import OrgUnitPagination, UnitCodeFilter
from branches.models import (
    BranchRating,
    CriteriaSet,
    Criterion,
    MonthlyReport,
    OrgUnit,
    Rating,
    ReportValue,
    StarAssessment,
)

PERIOD_SCHEMA = {
    "type": "string",
    "pattern": r"^\d{4}-\d{2}$",
    "example": "2026-03",
}


def plain_number(value):
    """A stored Decimal as a JSON number: 3 rather than "3.0000"."""
    return int(value) if value == value.to_integral_value() else float(value)


@extend_schema_field({**PERIOD_SCHEMA, "description": _("月份，格式 YYYY-MM")})
class PeriodField(serializers.ReadOnlyField):
    def to_representation(self, value):
        return value.strftime("%Y-%m")


@extend_schema_field({"type": "number", "nullable": True})
class NumberField(serializers.ReadOnlyField):
    def to_representation(self, value):
        return plain_number(value)


@extend_schema_field(
    {
        "oneOf": [{"type": "boolean"}, {"type": "number"}],
        "nullable": True,
        "description": _("是/否指标为 true/false，数值指标为数字，未填为 null"),
    }
)
class EnteredValueField(serializers.ReadOnlyField):
    def to_representation(self, value):
        return value if isinstance(value, bool) else plain_number(value)


@extend_schema_field(
    {
        "oneOf": [{"type": "boolean"}, {"type": "number"}, {"type": "string"}],
        "nullable": True,
        "description": _(
            "填报值：是/否指标填 true/false 或“是”“否”；数值指标填数字或数字字符串"
            "（可带千分位逗号，百分比可带 %）；null 或空字符串表示清空"
        ),
    }
)
class RawValueField(serializers.JSONField):
    """Whatever the caller typed; `workflow.parse_value` judges it against the criterion."""


class PeriodFormField(forms.Field):
    def to_python(self, value):
        if value in self.empty_values:
            return None
        return workflow.parse_period(str(value).strip())


@extend_schema_field({**PERIOD_SCHEMA, "description": _("月份，格式 YYYY-MM，如 2026-03")})
class PeriodFilter(filters.Filter):
    field_class = PeriodFormField


def unit_code_filter(description, **kwargs):
    return extend_schema_field({"type": "string", "description": description})(
        UnitCodeFilter(**kwargs)
    )


class ServiceErrorSerializer(serializers.Serializer):
    non_field_errors = serializers.ListField(
        child=serializers.CharField(), help_text=_("错误说明，每条说明一个问题及改正方法")
    )


class ConflictSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text=_("冲突说明：谁在何时修改了报表"))
    version = serializers.IntegerField(help_text=_("报表当前版本号；请重新读取报表后再提交修改"))


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text=_("原因说明"))


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"

    def __init__(self, error: workflow.ConflictError):
        super().__init__(str(error))
        # The current version is a number to reload with, not an error text: set it after
        # APIException has turned the detail into error strings.
        self.detail = {"detail": self.detail, "version": error.report.version}


@contextmanager
def service_errors():
    """Service refusals as API answers: validation 400, conflict 409 (permission 403 is DRF's)."""
    try:
        yield
    except workflow.ConflictError as error:
        raise Conflict(error) from None
    except DjangoValidationError as error:
        raise serializers.ValidationError(
            {api_settings.NON_FIELD_ERRORS_KEY: error.messages}
        ) from None


# Criteria sets ---------------------------------------------------------------------------


class CriterionSerializer(serializers.ModelSerializer):
    star_name = serializers.SerializerMethodField(help_text=_("所属星的名称"))
    threshold = NumberField(help_text=_("阈值；是/否指标为 null"))
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


class ReportValueSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="criterion.code", help_text=_("指标编码"))
    title = serializers.CharField(source="criterion.title", help_text=_("指标名称"))
    value = EnteredValueField()
    evidence_count = serializers.IntegerField(help_text=_("已上传的佐证材料数"))

    class Meta:
        model = ReportValue
        fields = ["code", "title", "value", "note", "evidence_count"]
        read_only_fields = fields
        extra_kwargs = {"note": {"help_text": _("备注")}}


class ReportSerializer(serializers.ModelSerializer):
    unit_code = serializers.CharField(source="unit.code", help_text=_("支部单位编码"))
    unit_name = serializers.CharField(source="unit.name", help_text=_("支部名称"))
    period = PeriodField()
    status_display = serializers.CharField(source="get_status_display", help_text=_("状态名称"))
    submitted_by = serializers.CharField(
        source="submitted_by.username", allow_null=True, help_text=_("提交人用户名")
    )
    reviewed_by = serializers.CharField(
        source="reviewed_by.username", allow_null=True, help_text=_("审核（或退回）人用户名")
    )

    class Meta:
        model = MonthlyReport
        fields = [
            "id",
            "unit_code",
            "unit_name",
            "period",
            "criteria_set",
            "status",
            "status_display",
            "version",
            "return_reason",
            "unlock_reason",
            "submitted_at",
            "submitted_by",
            "reviewed_at",
            "reviewed_by",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "criteria_set": {"help_text": _("所用评星指标体系的编号")},
            "status": {
                "help_text": _(
                    "DRAFT 草稿，SUBMITTED 已提交，APPROVED 已审核（锁定），RETURNED 已退回"
                )
            },
            "version": {
                "help_text": _(
                    "版本号：修改、提交、审核等写操作须带上读取时的版本号，防止覆盖他人修改"
                )
            },
        }


class ReportDetailSerializer(ReportSerializer):
    values = ReportValueSerializer(many=True, help_text=_("已填报的指标值，按星、排序号排列"))

    class Meta(ReportSerializer.Meta):
        fields = [*ReportSerializer.Meta.fields, "values"]
        read_only_fields = fields


@extend_schema_field(OpenApiTypes.STR)
class VisibleUnitField(serializers.SlugRelatedField):
    """A unit by code, looked up within the caller's jurisdiction only."""

    default_error_messages = {
        "does_not_exist": _("找不到编码为“{value}”的单位，或它不在您的管辖范围内，请检查编码。"),
        "invalid": _("单位编码应为字符串。"),
    }

    def __init__(self, **kwargs):
        super().__init__(slug_field="code", **kwargs)

    def get_queryset(self):
        return OrgUnit.objects.visible_to(self.context["request"].user)


class ReportCreateSerializer(serializers.Serializer):
    unit = VisibleUnitField(help_text=_("村(社区)单位编码"))
    period = serializers.CharField(help_text=_("月份，格式 YYYY-MM，如 2026-03"))

    def validate_period(self, value):
        try:
            return workflow.parse_period(value.strip())
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None


class ValueInputSerializer(serializers.Serializer):
    value = RawValueField(allow_null=True)
    note = serializers.CharField(
        max_length=500,
        allow_blank=True,
        required=False,
        help_text=_("备注；省略时保留原备注"),
    )


class VersionSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1, help_text=_("必填：读取报表时的版本号；报表已被他人修改时返回 409")
    )


class ReportValuesSerializer(VersionSerializer):
    values = serializers.DictField(
        child=ValueInputSerializer(),
        allow_empty=False,
        help_text=_('必填：按指标编码给出的填报值，如 {"BR-03": {"value": 3}}；未列出的指标不变'),
    )


class ReasonSerializer(VersionSerializer):
    # Blank passes here so that the service explains what the reason is for.
    reason = serializers.CharField(
        allow_blank=True, max_length=2000, help_text=_("必填：原因，将告知填报人并记入变更记录")
    )


def parse_values(report: MonthlyReport, given: dict) -> dict[str, workflow.ValueInput]:
    """The caller's values as service input; every bad one is reported under its code."""
    criteria = {c.code: c for c in Criterion.objects.filter(criteria_set_id=report.criteria_set_id)}
    notes = dict(report.values.values_list("criterion__code", "note"))
    parsed, errors = {}, {}
    for code, entry in given.items():
        criterion = criteria.get(code)
        if criterion is None:
            errors[code] = [
                _t("指标体系中没有编码为“%(code)s”的指标，请检查编码。") % {"code": code}
            ]
            continue
        if criterion.source != Criterion.Source.MANUAL:
            errors[code] = [
                _t("“%(title)s”由系统根据业务数据计算，不能填报。") % {"title": criterion.title}
            ]
            continue
        try:
            value = workflow.parse_value(criterion, entry["value"])
        except DjangoValidationError as error:
            errors[code] = error.messages
            continue
        parsed[code] = workflow.ValueInput(value, entry.get("note", notes.get(code, "")))
    if errors:
        raise serializers.ValidationError({"values": errors})
    return parsed


class ReportPermission(permissions.IsAuthenticated):
    """Refuses up front the writes a role can never make; the services decide the rest."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        # A method the endpoint lacks (action None) is answered 405 for everyone.
        if request.method in permissions.SAFE_METHODS or view.action is None:
            return True
        user = request.user
        # Unlocking is the one write of a leader (county level and above): the service decides.
        if view.action == "unlock":
            return True
        if user.is_read_only:
            raise exceptions.PermissionDenied(
                _t("您的角色（%(role)s）只能查看，不能修改月度数据。")
                % {"role": user.get_role_display()}
            )
        if view.action in ("create", "partial_update") and not user.can_enter_reports:
            raise exceptions.PermissionDenied(_t("您的角色不能填报月度数据。"))
        return True


class ReportFilter(filters.FilterSet):
    period = PeriodFilter(field_name="period")
    status = filters.ChoiceFilter(
        choices=MonthlyReport.Status.choices,
        help_text=_("状态：DRAFT 草稿，SUBMITTED 已提交，APPROVED 已审核，RETURNED 已退回"),
    )
    unit = unit_code_filter(_("支部单位编码：只列出该支部的报表"), field_name="unit")
    under = unit_code_filter(_("单位编码：列出该单位及其全部下级支部的报表"), method="filter_under")

    class Meta:
        model = MonthlyReport
        fields = ["period", "status", "unit", "under"]

    def filter_under(self, queryset, name, value):
        return queryset.filter(unit__path__startswith=value.path)


def with_values(reports):
    values = (
        ReportValue.objects.select_related("criterion")
        .annotate(evidence_count=Count("evidence"))
        .order_by("criterion__star", "criterion__order", "criterion__code")
    )
    return reports.prefetch_related(Prefetch("values", queryset=values))


WRITE_ERRORS = {
    400: OpenApiResponse(
        ServiceErrorSerializer, description=_("请求无效或当前状态不允许该操作，见错误说明")
    ),
    403: OpenApiResponse(DetailSerializer, description=_("您的角色不能执行该操作")),
    404: OpenApiResponse(DetailSerializer, description=_("报表不存在或不在您的管辖范围内")),
    409: OpenApiResponse(ConflictSerializer, description=_("报表已被他人修改（版本号过期）")),
}


def transition_schema(summary, description, request=VersionSerializer):
    return extend_schema(
        summary=summary,
        description=description,
        request=request,
        responses={200: ReportDetailSerializer, **WRITE_ERRORS},
    )


@extend_schema_view(
    list=extend_schema(
        summary=_("月度填报列表"),
        description=_(
            "列出您管辖范围内各村(社区)的月度填报，按月份倒序、组织树顺序分页返回，不含指标值。"
            "可按月份、状态、支部或上级单位筛选。"
        ),
    ),
    retrieve=extend_schema(
        summary=_("月度填报详情"),
        description=_("按编号取一份月度填报，含已填报的指标值。不在您管辖范围内的一律返回 404。"),
    ),
)
@extend_schema(tags=[_("月度填报")])
class MonthlyReportViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    filterset_class = ReportFilter
    pagination_class = OrgUnitPagination
    permission_classes = [ReportPermission]
    queryset = MonthlyReport.objects.none()

    def get_queryset(self):
        reports = (
            MonthlyReport.objects.visible_to(self.request.user)
            .select_related("unit", "submitted_by", "reviewed_by")
            .order_by("-period", "unit__path")
        )
        return with_values(reports) if self.action == "retrieve" else reports

    def get_serializer_class(self):
        return ReportSerializer if self.action == "list" else ReportDetailSerializer

    def report_data(self, report):
        """The report as it now is, with its values: read again after a write."""
        report = with_values(self.get_queryset()).get(pk=report.pk)
        return ReportDetailSerializer(report, context=self.get_serializer_context()).data

    @extend_schema(
        summary=_("取得或新建月度填报"),
        description=_(
            "取得某村(社区)某月的填报；尚无则按当年启用的指标体系新建一份空白草稿。"
            "新建返回 201，已存在返回 200。不能填报未来月份。"
        ),
        request=ReportCreateSerializer,
        responses={
            200: ReportDetailSerializer,
            201: ReportDetailSerializer,
            400: WRITE_ERRORS[400],
            403: WRITE_ERRORS[403],
        },
    )
    def create(self, request, *args, **kwargs):
        serializer = ReportCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        unit, period = serializer.validated_data["unit"], serializer.validated_data["period"]
        existed = MonthlyReport.objects.filter(unit=unit, period=period).exists()
        with service_errors():
            report = workflow.report_get_or_create(unit=unit, period=period)
        return Response(
            self.report_data(report),
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary=_("保存填报值"),
        description=_(
            "按指标编码保存草稿或已退回报表的填报值，未列出的指标不变。"
            "version 和 values 均为必填。任何一个值不合格时逐项说明原因，且什么都不保存；"
            "版本号过期（他人已修改）返回 409。"
        ),
        request=ReportValuesSerializer,
        responses={200: ReportDetailSerializer, **WRITE_ERRORS},
    )
    def partial_update(self, request, *args, **kwargs):
        report = self.get_object()
        serializer = ReportValuesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = parse_values(report, serializer.validated_data["values"])
        with service_errors():
            workflow.report_save_values(
                report=report,
                user=request.user,
                values=values,
                expected_version=serializer.validated_data["version"],
            )
        return Response(self.report_data(report))

    def transition(self, service, serializer_class):
        report = self.get_object()
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        with service_errors():
            service(
                report=report,
                user=self.request.user,
                expected_version=data.pop("version"),
                **data,
            )
        return Response(self.report_data(report))

    @transition_schema(
        _("提交月度填报"),
        _("提交草稿或已退回的报表待乡镇(街道)审核；有未填指标或缺少佐证材料时逐条说明。"),
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self.transition(workflow.report_submit, VersionSerializer)

    @transition_schema(
        _("审核通过"),
        _("乡镇(街道)工作人员审核通过已提交的报表，通过后报表锁定。"),
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self.transition(workflow.report_approve, VersionSerializer)

    @transition_schema(
        _("退回修改"),
        _("乡镇(街道)工作人员退回已提交的报表，须写明原因。"),
        request=ReasonSerializer,
    )
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request, pk=None):
        return self.transition(workflow.report_return, ReasonSerializer)

    @transition_schema(
        _("解锁已审核报表"),
        _("县级及以上解锁已审核的报表以便更正，须写明原因；解锁后报表为已退回状态。"),
        request=ReasonSerializer,
    )
    @action(detail=True, methods=["post"])
    def unlock(self, request, pk=None):
        return self.transition(workflow.report_unlock, ReasonSerializer)


# Ratings ---------------------------------------------------------------------------------


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
