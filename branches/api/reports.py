"""The five-star assessment API: criteria sets (read), monthly reports (read, write, workflow
actions) and ratings (read). Writes go through `branches.services.workflow`, as the pages do."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Prefetch
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from branches.api.evidence import ReportEvidenceMixin
from branches.api.fields import (
    PERIOD_SCHEMA,
    ConflictSerializer,
    DetailSerializer,
    EnteredValueField,
    PeriodField,
    PeriodFilter,
    RawValueField,
    service_errors,
    unit_code_filter,
)
from branches.api.units import OrgUnitPagination
from branches.models import (
    Criterion,
    MonthlyReport,
    OrgUnit,
    ReportEvent,
    ReportValue,
)
from branches.services import workflow
from branches.validators import CleanCharField


class ReportValueSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="criterion.code", help_text=_("指标编码"))
    title = serializers.CharField(source="criterion.title", help_text=_("指标名称"))
    value = EnteredValueField()
    evidence_count = serializers.IntegerField(help_text=_("已上传的佐证材料数"))

    class Meta:
        model = ReportValue
        fields = ["code", "title", "value", "note", "evidence_count", "warning"]
        read_only_fields = fields
        extra_kwargs = {
            "note": {"help_text": _("备注")},
            "warning": {
                "help_text": _(
                    "环比异常提示：保存该值时与上月相比变化超过指标的环比提示倍数，"
                    "已随值保存，供审核人核对；没有提示时为空字符串"
                )
            },
        }


class PlausibilityWarningSerializer(serializers.Serializer):
    code = serializers.CharField(help_text=_("指标编码"))
    title = serializers.CharField(help_text=_("指标名称"))
    message = serializers.CharField(help_text=_("提示内容，如“本月 40 场，是上月 5 场的 8 倍”"))


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
    warnings = serializers.SerializerMethodField(
        help_text=_(
            "本报表中带环比异常提示的指标值（软校验）：值已保存，提示供填报人复核、审核人核对；"
            "没有时为空列表"
        )
    )

    class Meta(ReportSerializer.Meta):
        fields = [*ReportSerializer.Meta.fields, "values", "warnings"]
        read_only_fields = fields

    @extend_schema_field(PlausibilityWarningSerializer(many=True))
    def get_warnings(self, report) -> list[dict]:
        return [
            {"code": v.criterion.code, "title": v.criterion.title, "message": v.warning}
            for v in report.values.all()
            if v.warning
        ]


class ReportEventSerializer(serializers.ModelSerializer):
    action_display = serializers.CharField(source="get_action_display", help_text=_("操作名称"))
    actor = serializers.CharField(
        source="actor.username",
        allow_null=True,
        help_text=_("操作人用户名；账号已删除或系统操作时为 null"),
    )

    class Meta:
        model = ReportEvent
        fields = [
            "id",
            "occurred_at",
            "action",
            "action_display",
            "from_status",
            "to_status",
            "actor",
            "actor_name",
            "reason",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "occurred_at": {"help_text": _("发生时间")},
            "action": {
                "help_text": _(
                    "CREATED 建立，SAVED 保存填报值，EVIDENCE_ADDED/EVIDENCE_REMOVED 佐证材料，"
                    "SUBMITTED 提交，RESUBMITTED 退回后重新提交，RETURNED 退回，"
                    "APPROVED 审核通过，UNLOCKED 解锁"
                )
            },
            "from_status": {"help_text": _("操作前的状态；不改变状态的操作为空")},
            "to_status": {"help_text": _("操作后的状态；不改变状态的操作为空")},
            "actor_name": {"help_text": _("操作时的操作人姓名（账号删除后仍保留）")},
            "reason": {"help_text": _("退回、解锁的原因，或保存了哪些指标")},
        }


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


@extend_schema_field({**PERIOD_SCHEMA, "description": _("月份，格式 YYYY-MM，如 2026-03")})
class PeriodInputField(CleanCharField):
    """A month as typed; `ReportCreateSerializer.validate_period` parses it."""


class ReportCreateSerializer(serializers.Serializer):
    unit = VisibleUnitField(help_text=_("村(社区)单位编码"))
    period = PeriodInputField(label=_("月份"))

    def validate_period(self, value):
        try:
            return workflow.parse_period(value.strip())
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None


class ValueInputSerializer(serializers.Serializer):
    value = RawValueField(allow_null=True)
    note = CleanCharField(
        multiline=True,
        label=_("备注"),
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
    reason = CleanCharField(
        multiline=True,
        label=_("原因"),
        allow_blank=True,
        max_length=2000,
        help_text=_("必填：原因，将告知填报人并记入变更记录"),
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
        if view.action is None:
            return True
        user = request.user
        # The reports' one access rule, as on the report page and the values exports.
        if not user.can_read_reports:
            raise exceptions.PermissionDenied(
                _t("您的角色（%(role)s）不能查看月度填报数据。") % {"role": user.get_role_display()}
            )
        if request.method in permissions.SAFE_METHODS:
            return True
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
        if view.action in ("evidence", "evidence_item") and not user.can_enter_reports:
            raise exceptions.PermissionDenied(_t("您的角色不能上传或删除佐证材料。"))
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
    # The body (the request's fields, non_field_errors) is documented by PortalAutoSchema.
    400: OpenApiResponse(description=_("请求无效或当前状态不允许该操作，见错误说明")),
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
    ReportEvidenceMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
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
            report = workflow.report_get_or_create(unit=unit, period=period, user=request.user)
        return Response(
            self.report_data(report),
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary=_("保存填报值"),
        description=_(
            "按指标编码保存草稿或已退回报表的填报值，未列出的指标不变。"
            "version 和 values 均为必填。任何一个值不合格时逐项说明原因，且什么都不保存；"
            "版本号过期（他人已修改）返回 409。\n\n"
            "合理性校验：超过指标“每月上限”（max_value，见指标体系接口）的值是硬错误，"
            "返回 400，错误在 values.<指标编码> 下并写明上限，什么都不保存；"
            "与上月相比变化超过“环比提示倍数”（jump_factor）的值是软提示，照常保存并返回 200，"
            "提示在响应的 warnings 列表和对应值的 warning 字段中，审核人在审核页面同样可见。"
            "如数值确有误，请改正后再次保存；不需要另行确认。"
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

    @extend_schema(
        summary=_("月度填报的办理记录"),
        description=_(
            "一份月度填报的全部流程记录（建立、保存、提交、退回、审核、解锁等），"
            "按时间先后分页返回：谁、何时、状态从何到何、原因。"
            "能查看该报表的用户才能查看其办理记录，不在您管辖范围内的一律返回 404。"
        ),
        filters=False,
        responses={
            200: ReportEventSerializer(many=True),
            404: OpenApiResponse(DetailSerializer, description=_("报表不存在或不在您的管辖范围内")),
        },
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def events(self, request, pk=None):
        report = self.get_object()
        events = (
            ReportEvent.objects.visible_to(request.user)
            .filter(report=report)
            .select_related("actor")
            .order_by("occurred_at", "id")
        )
        page = self.paginate_queryset(events)
        return self.get_paginated_response(ReportEventSerializer(page, many=True).data)

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
