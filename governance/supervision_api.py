"""The supervision reports API: list and read (scoped like the pages), publish, regenerate,
generate on demand, and the PDF and XLSX downloads."""

from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse, HttpResponse
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.settings import api_settings

from branches.api.fields import DetailSerializer, PeriodField, PeriodFilter
from branches.api.units import OrgUnitPagination
from branches.models import OrgUnit
from branches.spreadsheets.cells import XLSX_CONTENT_TYPE
from governance.models import SupervisionReport
from governance.services import supervision
from governance.services.supervision_files import report_filename, report_pdf, report_xlsx
from governance.supervision_views import report_for_user, reports_for_user

NOT_FOUND = OpenApiResponse(DetailSerializer, description=_("通报不存在，或不在您的管辖范围内"))
FORBIDDEN = OpenApiResponse(
    DetailSerializer, description=_("您的角色不能执行此操作（只有领导可以）")
)
CONFLICT = OpenApiResponse(DetailSerializer, description=_("通报已发布、已有新版本或已重新生成"))


class SupervisionConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


@contextmanager
def supervision_errors():
    try:
        yield
    except supervision.ConflictError as error:
        raise SupervisionConflict(str(error)) from None
    except DjangoValidationError as error:
        raise serializers.ValidationError(
            {api_settings.NON_FIELD_ERRORS_KEY: error.messages}
        ) from None


def require_leader(user):
    if not user.can_publish_supervision:
        raise exceptions.PermissionDenied(_("只有领导可以发布或生成督导通报。"))


class SupervisionReportSerializer(serializers.ModelSerializer):
    unit_code = serializers.CharField(source="unit.code", help_text=_("单位编码"))
    unit_name = serializers.CharField(source="unit.name", help_text=_("单位名称"))
    period = PeriodField(help_text=_("月份 YYYY-MM"))
    published_by = serializers.CharField(
        source="published_by.get_full_name",
        default=None,
        allow_null=True,
        help_text=_("发布人（草稿为 null）"),
    )

    class Meta:
        model = SupervisionReport
        fields = [
            "id",
            "unit_code",
            "unit_name",
            "period",
            "version",
            "is_latest",
            "status",
            "generated_at",
            "published_at",
            "published_by",
            "reason",
            "snapshot",
        ]


class PublishSerializer(serializers.Serializer):
    generated_at = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text=_("读取时的 generated_at；草稿之后被重新生成则返回 409"),
    )


class RegenerateSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=supervision.REASON_MAX,
        help_text=_("已发布的通报重新生成新版本时必填"),
    )


class GenerateSerializer(serializers.Serializer):
    unit = serializers.CharField(max_length=32, help_text=_("单位编码（省、市、县区或乡镇街道）"))
    period = serializers.RegexField(r"^\d{4}-\d{2}$", help_text=_("月份 YYYY-MM"))


class SupervisionReportFilter(filters.FilterSet):
    period = PeriodFilter(field_name="period")
    level = filters.TypedChoiceFilter(
        field_name="unit__level",
        choices=[(int(v), str(int(v))) for v in supervision.REPORT_LEVELS],
        coerce=int,
        help_text=_("单位层级：1 省、2 市、3 县区、4 乡镇街道"),
    )
    status = filters.ChoiceFilter(choices=SupervisionReport.Status.choices)
    all_versions = filters.BooleanFilter(
        method="filter_all_versions", help_text=_("true 列出全部版本；默认只列最新版本")
    )

    class Meta:
        model = SupervisionReport
        fields = []

    def filter_all_versions(self, queryset, name, value):
        return queryset

    @property
    def qs(self):
        qs = super().qs
        if self.is_bound and self.form.is_valid() and self.form.cleaned_data.get("all_versions"):
            return qs
        return qs.filter(is_latest=True)


@extend_schema_view(
    list=extend_schema(
        summary=_("督导通报列表"),
        description=_("管辖范围内各单位的督导通报，默认只列最新版本，按月份倒序分页。"),
    ),
    retrieve=extend_schema(
        summary=_("一份督导通报"),
        description=_("通报及其数据快照；不在管辖范围内返回 404。"),
        responses={200: SupervisionReportSerializer, 404: NOT_FOUND},
    ),
)
@extend_schema(tags=[_("督导通报")])
class SupervisionReportViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    filterset_class = SupervisionReportFilter
    pagination_class = OrgUnitPagination
    serializer_class = SupervisionReportSerializer
    queryset = SupervisionReport.objects.none()

    def get_queryset(self):
        return reports_for_user(self.request.user).order_by("-period", "unit__path", "-version")

    def get_object(self):
        pk = str(self.kwargs["pk"])
        if not pk.isdigit() or len(pk) > 12:
            raise exceptions.NotFound
        return report_for_user(self.request.user, int(pk))

    @extend_schema(
        summary=_("发布通报"),
        request=PublishSerializer,
        responses={200: SupervisionReportSerializer, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def publish(self, request, pk=None):
        report = self.get_object()
        require_leader(request.user)
        serializer = PublishSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with supervision_errors():
            report = supervision.report_publish(
                request.user, report, generated_at=serializer.validated_data.get("generated_at", "")
            )
        return Response(self.get_serializer(report).data)

    @extend_schema(
        summary=_("重新生成通报"),
        description=_("草稿用最新数据替换；已发布的生成新版本，需要填写原因。"),
        request=RegenerateSerializer,
        responses={200: SupervisionReportSerializer, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def regenerate(self, request, pk=None):
        report = self.get_object()
        require_leader(request.user)
        serializer = RegenerateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with supervision_errors():
            report = supervision.report_regenerate(
                request.user, report, reason=serializer.validated_data.get("reason", "")
            )
        return Response(self.get_serializer(report).data)

    @extend_schema(
        summary=_("生成一个单位的通报"),
        request=GenerateSerializer,
        responses={200: SupervisionReportSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def generate(self, request):
        require_leader(request.user)
        serializer = GenerateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        unit = (
            OrgUnit.objects.visible_to(request.user)
            .filter(code=serializer.validated_data["unit"])
            .first()
        )
        if unit is None:
            raise exceptions.NotFound(_("没有找到该单位，或它不在您的管辖范围内。"))
        with supervision_errors():
            period = supervision.parse_period(serializer.validated_data["period"])
            report = supervision.report_generate_for_unit(request.user, unit, period)
        return Response(self.get_serializer(report).data)

    @extend_schema(
        summary=_("通报 PDF"),
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description=_("PDF")),
            404: NOT_FOUND,
        },
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def pdf(self, request, pk=None):
        report = self.get_object()
        response = HttpResponse(report_pdf(report), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="supervision-{report.pk}.pdf"'
        return response

    @extend_schema(
        summary=_("通报 Excel"),
        responses={
            (200, XLSX_CONTENT_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description=_("XLSX")),
            404: NOT_FOUND,
        },
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def xlsx(self, request, pk=None):
        report = self.get_object()
        return FileResponse(
            report_xlsx(report),
            as_attachment=True,
            filename=f"{report_filename(report)}.xlsx",
            content_type=XLSX_CONTENT_TYPE,
        )
