"""The rectification API (问题清单): items scoped by jurisdiction, the workflow as actions,
evidence files, the timeline. Writes go through `branches.services.rectification`, as the
pages do."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils import timezone
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
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from branches.api.fields import (
    ConflictSerializer,
    DetailSerializer,
    PeriodField,
    PeriodFilter,
    service_errors,
    unit_code_filter,
)
from branches.api.reports import VisibleUnitField
from branches.api.units import OrgUnitPagination
from branches.models import (
    Criterion,
    Rectification,
    RectificationEvent,
    RectificationEvidence,
)
from branches.services import rectification as service
from branches.services import workflow
from branches.validators import CleanCharField

Status = Rectification.Status
STATUS_HELP = _(
    "OPEN 待整改，IN_PROGRESS 整改中，DONE 已整改，VERIFIED 已验证（重算确认达标），OVERDUE 逾期"
)
MAX_ID = 2**31 - 1


class RectificationSerializer(serializers.ModelSerializer):
    branch_code = serializers.CharField(source="branch.code", help_text=_("支部单位编码"))
    branch_name = serializers.CharField(source="branch.name", help_text=_("支部名称"))
    criterion_code = serializers.CharField(
        source="criterion.code", allow_null=True, help_text=_("指标编码；没有关联指标时为 null")
    )
    criterion_title = serializers.CharField(
        source="criterion.title", allow_null=True, help_text=_("指标名称")
    )
    period = PeriodField()
    status_display = serializers.CharField(source="get_status_display", help_text=_("状态名称"))
    is_overdue = serializers.SerializerMethodField(
        help_text=_("是否逾期：未完成且已过整改期限（每日任务标记之前也按期限计算）")
    )
    responsible_unit_code = serializers.CharField(
        source="responsible_unit.code", allow_null=True, help_text=_("帮扶单位编码")
    )
    responsible_user = serializers.CharField(
        source="responsible_user.username", allow_null=True, help_text=_("包联领导用户名")
    )
    source_display = serializers.CharField(source="get_source_display", help_text=_("来源名称"))

    class Meta:
        model = Rectification
        fields = [
            "id",
            "branch_code",
            "branch_name",
            "criterion_code",
            "criterion_title",
            "period",
            "problem",
            "measure",
            "responsible_unit_code",
            "responsible_user",
            "deadline",
            "status",
            "status_display",
            "is_overdue",
            "still_failing",
            "source",
            "source_display",
            "evidence_note",
            "created_at",
            "closed_at",
            "verified_at",
            "version",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "status": {"help_text": STATUS_HELP},
            "still_failing": {"help_text": _("已整改但之后的重算中该指标仍未达标")},
            "version": {"help_text": _("版本号：写操作须带上读取时的版本号，防止覆盖他人修改")},
            "source": {"help_text": _("SCORECARD 记分卡，SUPERVISION 督导通报，MANUAL 手工")},
        }

    def get_is_overdue(self, item) -> bool:
        return item.is_overdue_on(timezone.localdate())


class RectificationEventSerializer(serializers.ModelSerializer):
    action_display = serializers.CharField(source="get_action_display", help_text=_("操作名称"))

    class Meta:
        model = RectificationEvent
        fields = [
            "id",
            "occurred_at",
            "action",
            "action_display",
            "from_status",
            "to_status",
            "actor_name",
            "note",
        ]
        read_only_fields = fields
        extra_kwargs = {"actor_name": {"help_text": _("操作人姓名；系统操作（重算、逾期）为空")}}


class RectificationEvidenceSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField(help_text=_("下载该文件的地址"))

    class Meta:
        model = RectificationEvidence
        fields = ["id", "original_name", "size", "uploaded_at", "download_url"]
        read_only_fields = fields

    def get_download_url(self, evidence) -> str:
        path = reverse(
            "rectification-evidence-detail",
            kwargs={"pk": evidence.rectification_id, "evidence_id": evidence.pk},
        )
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


@extend_schema_field(OpenApiTypes.STR)
class CriterionCodeField(serializers.CharField):
    """A criterion code of the branch's criteria set for the month (resolved in validate)."""


class RectificationCreateSerializer(serializers.Serializer):
    branch = VisibleUnitField(help_text=_("必填：村(社区)单位编码"))
    criterion = CriterionCodeField(
        required=False,
        allow_blank=True,
        max_length=16,
        help_text=_("指标编码（可选），如 EC-02；填写后重算达标时自动验证"),
    )
    period = CleanCharField(
        required=False,
        max_length=7,
        help_text=_("发现问题的月份 YYYY-MM（可选，默认本月）"),
    )
    problem = CleanCharField(
        multiline=True, max_length=service.PROBLEM_MAX, help_text=_("必填：问题")
    )
    measure = CleanCharField(
        multiline=True,
        max_length=service.MEASURE_MAX,
        required=False,
        allow_blank=True,
        help_text=_("整改措施"),
    )
    deadline = serializers.DateField(help_text=_("必填：整改期限 YYYY-MM-DD，不能早于今天"))
    responsible_unit = VisibleUnitField(
        required=False, allow_null=True, help_text=_("帮扶单位编码（可选）")
    )

    def validate_period(self, value):
        if not value:
            return None
        try:
            return workflow.parse_period(value.strip())
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None

    def validate(self, attrs):
        code = attrs.pop("criterion", "") or ""
        attrs["criterion"] = None
        if code:
            branch = attrs["branch"]
            year = (attrs.get("period") or timezone.localdate()).year
            attrs["criterion"] = Criterion.objects.filter(
                code=code,
                criteria_set__year=year,
                criteria_set__area_type=branch.area_type,
                criteria_set__is_active=True,
            ).first()
            if attrs["criterion"] is None:
                raise serializers.ValidationError(
                    {
                        "criterion": _t("%(year)s年的指标体系中没有编码为“%(code)s”的指标。")
                        % {"year": year, "code": code}
                    }
                )
        return attrs


class RectificationVersionSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text=_("必填：读取时的版本号；已被他人修改时返回 409")
    )


class RectificationEditSerializer(RectificationVersionSerializer):
    problem = CleanCharField(
        multiline=True, max_length=service.PROBLEM_MAX, required=False, help_text=_("问题")
    )
    measure = CleanCharField(
        multiline=True,
        max_length=service.MEASURE_MAX,
        required=False,
        allow_blank=True,
        help_text=_("整改措施"),
    )
    deadline = serializers.DateField(required=False, help_text=_("整改期限，不能早于今天"))
    responsible_unit = VisibleUnitField(
        required=False, allow_null=True, help_text=_("帮扶单位编码；null 清除")
    )


class RectificationCloseSerializer(RectificationVersionSerializer):
    note = CleanCharField(
        multiline=True,
        max_length=service.NOTE_MAX,
        required=False,
        allow_blank=True,
        help_text=_("整改情况说明；没有已上传的佐证材料时必填"),
    )


class RectificationReasonSerializer(RectificationVersionSerializer):
    reason = CleanCharField(
        multiline=True,
        max_length=service.NOTE_MAX,
        allow_blank=True,
        help_text=_("必填：退回原因"),
    )


class RectificationEvidenceUploadSerializer(serializers.Serializer):
    files = serializers.ListField(
        child=serializers.FileField(
            allow_empty_file=True,
            error_messages={"invalid": _("请以 multipart/form-data 上传文件。")},
        ),
        allow_empty=False,
        max_length=service.EVIDENCE_MAX_FILES,
        error_messages={
            "required": _("请至少选择一个文件（字段名 files，可重复以上传多个）。"),
            "empty": _("请至少选择一个文件（字段名 files，可重复以上传多个）。"),
        },
        help_text=_("必填：一个或多个文件（pdf、jpg、png、doc、docx、xls、xlsx）"),
    )


class RectificationPermission(permissions.IsAuthenticated):
    """Refuses up front what a role can never do; the service decides the rest."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if view.action is None:
            return True
        user = request.user
        if not user.can_read_rectifications:
            raise exceptions.PermissionDenied(
                _t("您的角色（%(role)s）不能查看问题清单。") % {"role": user.get_role_display()}
            )
        if request.method in permissions.SAFE_METHODS:
            return True
        if view.action in ("create", "partial_update", "reopen"):
            allowed = user.can_manage_rectifications
        else:
            allowed = user.can_work_rectifications
        if not allowed:
            raise exceptions.PermissionDenied(
                _t("您的角色（%(role)s）只能查看问题清单，不能修改。")
                % {"role": user.get_role_display()}
            )
        return True


class RectificationFilter(filters.FilterSet):
    status = filters.ChoiceFilter(
        choices=Status.choices, method="filter_status", help_text=STATUS_HELP
    )
    still_failing = filters.BooleanFilter(help_text=_("true：只列出已整改但仍未达标的事项"))
    overdue = filters.BooleanFilter(
        method="filter_overdue", help_text=_("true：只列出逾期的事项（按整改期限计算）")
    )
    branch = unit_code_filter(_("支部单位编码"), field_name="branch")
    under = unit_code_filter(_("单位编码：该单位及其全部下级支部的事项"), method="filter_under")
    criterion = filters.CharFilter(
        field_name="criterion__code", max_length=16, help_text=_("指标编码")
    )
    period = PeriodFilter(field_name="period")
    deadline_from = filters.DateFilter(
        field_name="deadline", lookup_expr="gte", help_text=_("整改期限不早于该日")
    )
    deadline_to = filters.DateFilter(
        field_name="deadline", lookup_expr="lte", help_text=_("整改期限不晚于该日")
    )

    class Meta:
        model = Rectification
        fields = ["status", "still_failing", "branch", "under", "criterion", "period"]

    def filter_status(self, queryset, name, value):
        today = timezone.localdate()
        if value == Status.OVERDUE:
            return queryset.overdue_on(today)
        if value in (Status.OPEN, Status.IN_PROGRESS):
            return queryset.filter(status=value, deadline__gte=today)
        return queryset.filter(status=value)

    def filter_overdue(self, queryset, name, value):
        overdue = queryset.overdue_on(timezone.localdate())
        return overdue if value else queryset.exclude(pk__in=overdue.values("pk"))

    def filter_under(self, queryset, name, value):
        return queryset.under(value)


NOT_FOUND = OpenApiResponse(DetailSerializer, description=_("事项不存在或不在您的管辖范围内"))
WRITE_ERRORS = {
    400: OpenApiResponse(description=_("请求无效或当前状态不允许该操作，见错误说明")),
    403: OpenApiResponse(DetailSerializer, description=_("您的角色不能执行该操作")),
    404: NOT_FOUND,
    409: OpenApiResponse(ConflictSerializer, description=_("事项已被他人修改（版本号过期）")),
}
EVIDENCE_ID = OpenApiParameter(
    "evidence_id", OpenApiTypes.INT, OpenApiParameter.PATH, description=_("佐证材料编号")
)


def transition_schema(summary, description, request=RectificationVersionSerializer):
    return extend_schema(
        summary=summary,
        description=description,
        request=request,
        responses={200: RectificationSerializer, **WRITE_ERRORS},
    )


@extend_schema_view(
    list=extend_schema(
        summary=_("问题清单"),
        description=_(
            "列出您管辖范围内各村(社区)的整改事项，按整改期限分页返回；"
            "可按状态（含逾期）、已整改但仍未达标、支部、上级单位、指标、月份和期限筛选。"
        ),
    ),
    retrieve=extend_schema(
        summary=_("整改事项详情"),
        description=_("按编号取一个整改事项；不在您管辖范围内的一律返回 404。"),
        responses={200: RectificationSerializer, 404: NOT_FOUND},
    ),
)
@extend_schema(tags=[_("问题清单")])
class RectificationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = RectificationSerializer
    filterset_class = RectificationFilter
    pagination_class = OrgUnitPagination
    permission_classes = [RectificationPermission]
    queryset = Rectification.objects.none()
    lookup_value_regex = "[0-9]{1,10}"

    def get_queryset(self):
        return (
            Rectification.objects.visible_to(self.request.user)
            .select_related("branch", "criterion", "responsible_unit", "responsible_user")
            .order_by("deadline", "id")
        )

    def get_object(self):
        if int(self.kwargs["pk"]) > MAX_ID:
            raise Http404("no such item")
        return super().get_object()

    def item_data(self, item, code=status.HTTP_200_OK):
        item = self.get_queryset().get(pk=item.pk)
        return Response(RectificationSerializer(item).data, status=code)

    @extend_schema(
        summary=_("建立整改事项"),
        description=_(
            "为管辖范围内的一个村(社区)建立整改事项（乡镇工作人员、领导）。"
            "problem、deadline 必填，期限不能早于今天；填写指标编码后，重算中该指标达标即自动验证。"
        ),
        request=RectificationCreateSerializer,
        responses={201: RectificationSerializer, 400: WRITE_ERRORS[400], 403: WRITE_ERRORS[403]},
    )
    def create(self, request, *args, **kwargs):
        serializer = RectificationCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        source = (
            Rectification.Source.SCORECARD if data["criterion"] else Rectification.Source.MANUAL
        )
        with service_errors():
            item = service.rectification_open(user=request.user, source=source, **data)
        return self.item_data(item, status.HTTP_201_CREATED)

    @extend_schema(
        summary=_("修改整改事项"),
        description=_(
            "修改未完成事项的问题、措施、期限或帮扶单位；version 必填。"
            "逾期事项改到今天或以后的期限后恢复为待整改或整改中。"
        ),
        request=RectificationEditSerializer,
        responses={200: RectificationSerializer, **WRITE_ERRORS},
    )
    def partial_update(self, request, *args, **kwargs):
        item = self.get_object()
        serializer = RectificationEditSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = data.pop("version")
        with service_errors():
            service.rectification_edit(
                item=item, user=request.user, expected_version=version, **data
            )
        return self.item_data(item)

    def transition(self, function, serializer_class, **extra):
        item = self.get_object()
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        with service_errors():
            function(
                item=item,
                user=self.request.user,
                expected_version=data.pop("version"),
                **data,
                **extra,
            )
        return self.item_data(item)

    @transition_schema(_("开始整改"), _("待整改 → 整改中。"))
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        self.check_work(self.get_object())
        return self.transition(service.rectification_start, RectificationVersionSerializer)

    @transition_schema(
        _("整改完成"),
        _(
            "标记整改完成（待整改、整改中或逾期 → 已整改）。须有佐证：先上传佐证材料，"
            "或填写整改情况说明 note。之后的重算中该指标达标即自动变为已验证。"
        ),
        request=RectificationCloseSerializer,
    )
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        self.check_work(self.get_object())
        return self.transition(service.rectification_close, RectificationCloseSerializer)

    @transition_schema(
        _("退回重新整改"),
        _("已整改 → 整改中（乡镇工作人员、领导），须写明原因 reason。"),
        request=RectificationReasonSerializer,
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        return self.transition(service.rectification_reopen, RectificationReasonSerializer)

    def check_work(self, item):
        if not service.may_work(self.request.user, item):
            raise exceptions.PermissionDenied(_t("只有该支部的书记或乡镇工作人员、领导能办理。"))

    @extend_schema(
        summary=_("整改事项的办理记录"),
        description=_("一个整改事项的全部流程记录，按时间先后分页返回。"),
        filters=False,
        responses={200: RectificationEventSerializer(many=True), 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def events(self, request, pk=None):
        item = self.get_object()
        events = RectificationEvent.objects.visible_to(request.user).filter(rectification=item)
        page = self.paginate_queryset(events.order_by("occurred_at", "id"))
        return self.get_paginated_response(RectificationEventSerializer(page, many=True).data)

    def item_evidence(self, item):
        return RectificationEvidence.objects.visible_to(self.request.user).filter(
            rectification=item
        )

    @extend_schema(
        methods=["GET"],
        summary=_("整改佐证材料列表"),
        description=_("列出该事项的佐证材料。"),
        responses={200: RectificationEvidenceSerializer(many=True), 404: NOT_FOUND},
    )
    @extend_schema(
        methods=["POST"],
        summary=_("上传整改佐证材料"),
        description=_(
            "以 multipart/form-data 上传一个或多个文件（字段 files 可重复）；内容须与扩展名相符，"
            "任何一个不合格时逐个说明原因，且一个也不保存。事项已整改或已验证时返回 400。"
        ),
        request={"multipart/form-data": RectificationEvidenceUploadSerializer},
        responses={201: RectificationEvidenceSerializer(many=True), **WRITE_ERRORS},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="evidence",
        url_name="evidence",
        parser_classes=[MultiPartParser, FormParser, JSONParser],
        pagination_class=None,
        filterset_class=None,
    )
    def evidence(self, request, pk=None):
        item = self.get_object()
        context = self.get_serializer_context()
        if request.method == "GET":
            rows = self.item_evidence(item)
            return Response(RectificationEvidenceSerializer(rows, many=True, context=context).data)
        self.check_work(item)
        serializer = RectificationEvidenceUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            added = service.rectification_evidence_add(
                item=item, user=request.user, uploads=serializer.validated_data["files"]
            )
        return Response(
            RectificationEvidenceSerializer(added, many=True, context=context).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary=_("下载整改佐证材料"),
        parameters=[EVIDENCE_ID],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description=_("文件内容")
            ),
            404: NOT_FOUND,
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"evidence/(?P<evidence_id>[0-9]{1,10})",
        url_name="evidence-detail",
        pagination_class=None,
        filterset_class=None,
    )
    def evidence_item(self, request, pk=None, evidence_id=None):
        item = self.get_object()
        found = None
        if int(evidence_id) <= MAX_ID:
            found = self.item_evidence(item).filter(pk=int(evidence_id)).first()
        if found is None:
            raise Http404("no such evidence")
        return evidence_file(found)


def evidence_file(evidence: RectificationEvidence) -> FileResponse:
    try:
        handle = evidence.file.open("rb")
    except FileNotFoundError:
        raise Http404("the evidence file is missing from storage") from None
    return FileResponse(
        handle,
        as_attachment=True,
        filename=evidence.original_name,
        content_type="application/octet-stream",
    )
