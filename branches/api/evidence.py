"""A monthly report's evidence files: list, upload, download, delete.

The endpoints hang under the report (`/reports/{id}/evidence/`), found through the report
viewset's jurisdiction-scoped queryset; writes go through `branches.services.workflow`, the
same functions the data-entry page calls.
"""

import mimetypes

from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from branches.api.fields import (
    ConflictSerializer,
    DetailSerializer,
    service_errors,
)
from branches.models import Evidence
from branches.services import workflow
from branches.views.reports import evidence_download

# Evidence ids are positive database integers; a longer number cannot match and would
# overflow the column type in the query (OverflowError on SQLite).
MAX_ID = 2**31 - 1


class EvidenceSerializer(serializers.ModelSerializer):
    criterion = serializers.CharField(source="value.criterion.code", help_text=_("指标编码"))
    criterion_title = serializers.CharField(source="value.criterion.title", help_text=_("指标名称"))
    uploaded_by = serializers.CharField(
        source="uploaded_by.username",
        allow_null=True,
        help_text=_("上传人用户名；账号已删除时为 null"),
    )
    download_url = serializers.SerializerMethodField(help_text=_("下载该文件的地址"))

    class Meta:
        model = Evidence
        fields = [
            "id",
            "criterion",
            "criterion_title",
            "original_name",
            "size",
            "uploaded_by",
            "uploaded_at",
            "download_url",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "original_name": {"help_text": _("上传时的文件名")},
            "size": {"help_text": _("文件大小（字节）")},
        }

    def get_download_url(self, evidence) -> str:
        path = reverse(
            "report-evidence-detail",
            kwargs={"pk": evidence.value.report_id, "evidence_id": evidence.pk},
        )
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class EvidenceUploadSerializer(serializers.Serializer):
    criterion = serializers.CharField(
        max_length=50,
        error_messages={"required": _("请填写指标编码（字段 criterion），如 BR-01。")},
        help_text=_("必填：指标编码，如 BR-01；须是该报表指标体系中的填报指标"),
    )
    files = serializers.ListField(
        child=serializers.FileField(
            allow_empty_file=True,  # the service names the empty file and says what to do
            error_messages={"invalid": _("请以 multipart/form-data 上传文件。")},
        ),
        allow_empty=False,
        max_length=workflow.EVIDENCE_MAX_FILES,
        error_messages={
            "required": _("请至少选择一个文件（字段名 files，可重复以上传多个）。"),
            "empty": _("请至少选择一个文件（字段名 files，可重复以上传多个）。"),
            "max_length": _("一次最多上传 {max_length} 个文件，请分批上传。"),
        },
        help_text=_(
            "必填：一个或多个文件（字段 files 可重复）。接受 pdf、jpg、png、doc、docx、xls、xlsx，"
            "内容须与扩展名相符，单个文件不超过上限"
        ),
    )


EVIDENCE_ID = OpenApiParameter(
    "evidence_id", OpenApiTypes.INT, OpenApiParameter.PATH, description=_("佐证材料编号")
)
NOT_FOUND = OpenApiResponse(
    DetailSerializer, description=_("报表或文件不存在，或不在您的管辖范围内")
)
FORBIDDEN = OpenApiResponse(DetailSerializer, description=_("您的角色不能执行该操作"))
# No body here: the schema class documents the real 400 body (field errors or non_field_errors).
REFUSED = OpenApiResponse(
    description=_("文件不合格（类型、内容、大小、数量）或报表已提交、已审核，见错误说明"),
)
# A download is served as the type of its extension (FileResponse guesses it from the name).
DOWNLOAD_TYPES = sorted(
    {mimetypes.guess_type(f"x{extension}")[0] for extension in workflow.EVIDENCE_EXTENSIONS}
)
CONFLICT = OpenApiResponse(ConflictSerializer, description=_("报表正被他人修改，请稍后重试"))


class ReportEvidenceMixin:
    """The evidence endpoints of `MonthlyReportViewSet` (kept here, beside their serializers)."""

    def report_evidence(self, report):
        return (
            Evidence.objects.visible_to(self.request.user)
            .filter(value__report=report)
            .select_related("value__criterion", "uploaded_by")
            .order_by("value__criterion__star", "value__criterion__order", "uploaded_at", "pk")
        )

    @extend_schema(
        methods=["GET"],
        summary=_("佐证材料列表"),
        description=_("列出该报表的全部佐证材料，按指标排列；不分页（每项指标的文件数有上限）。"),
        responses={200: EvidenceSerializer(many=True), 404: NOT_FOUND},
    )
    @extend_schema(
        methods=["POST"],
        summary=_("上传佐证材料"),
        description=_(
            "以 multipart/form-data 为草稿或已退回报表的一项指标上传一个或多个文件："
            "criterion 为指标编码，files 可重复。"
            "文件的内容须与扩展名相符（改了扩展名的文件会被拒绝）；"
            "任何一个文件不合格时逐个说明原因，且一个也不保存。报表已提交或已审核时返回 400。"
        ),
        request={"multipart/form-data": EvidenceUploadSerializer},
        responses={
            201: EvidenceSerializer(many=True),
            400: REFUSED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
    )
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="evidence",
        url_name="evidence",
        parser_classes=[MultiPartParser],
        pagination_class=None,
        filterset_class=None,
    )
    def evidence(self, request, pk=None):
        report = self.get_object()
        context = self.get_serializer_context()
        if request.method == "GET":
            rows = self.report_evidence(report)
            return Response(EvidenceSerializer(rows, many=True, context=context).data)
        serializer = EvidenceUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            added = workflow.evidence_add_files(
                report=report,
                user=request.user,
                criterion_code=serializer.validated_data["criterion"],
                uploads=serializer.validated_data["files"],
            )
        rows = self.report_evidence(report).filter(pk__in=[item.pk for item in added])
        return Response(
            EvidenceSerializer(rows, many=True, context=context).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        methods=["GET"],
        summary=_("下载佐证材料"),
        description=_("返回文件本身（Content-Disposition: attachment，文件名为上传时的原名）。"),
        parameters=[EVIDENCE_ID],
        responses={
            **{
                (200, content_type): OpenApiResponse(OpenApiTypes.BINARY, description=_("文件内容"))
                for content_type in DOWNLOAD_TYPES
            },
            404: NOT_FOUND,
        },
    )
    @extend_schema(
        methods=["DELETE"],
        summary=_("删除佐证材料"),
        description=_(
            "从草稿或已退回报表中删除一个佐证材料，删除记入变更记录和流程记录；"
            "报表已提交或已审核时返回 400。"
        ),
        parameters=[EVIDENCE_ID],
        request=None,
        responses={
            204: OpenApiResponse(description=_("已删除")),
            400: REFUSED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
    )
    @action(
        detail=True,
        methods=["get", "delete"],
        url_path=r"evidence/(?P<evidence_id>[0-9]+)",
        url_name="evidence-detail",
        pagination_class=None,
        filterset_class=None,
    )
    def evidence_item(self, request, pk=None, evidence_id=None):
        # The page's download view is reached by unit code and month; both lead through
        # `Evidence.objects.visible_to`, the one jurisdiction rule for evidence.
        report = self.get_object()
        item = None
        if int(evidence_id) <= MAX_ID:
            item = self.report_evidence(report).filter(pk=int(evidence_id)).first()
        if item is None:
            raise Http404("no such evidence in this report")
        if request.method == "GET":
            return evidence_download(item)
        with service_errors():
            workflow.evidence_delete(report=report, user=request.user, evidence=item)
        return Response(status=status.HTTP_204_NO_CONTENT)
