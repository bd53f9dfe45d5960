"""包联 and 结对 API: assignments with their visits, pairs with the suggestions and the
confirm/end actions. Writes go through `branches.services.assignments`, as the pages do."""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count
from django.http import Http404
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
from rest_framework.response import Response

from branches.api.fields import DetailSerializer, unit_code_filter
from branches.api.reports import VisibleUnitField
from branches.api.units import OrgUnitPagination
from branches.models import AssignmentVisit, LeaderAssignment, Pairing, jurisdiction_path
from branches.services import assignments as service
from branches.validators import CleanCharField


class ReaderPermission(permissions.IsAuthenticated):
    """Every role but grid workers reads; the services decide who writes."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if view.action is not None and not request.user.can_read_reports:
            raise exceptions.PermissionDenied(
                _t("您的角色（%(role)s）不能查看包联和结对。")
                % {"role": request.user.get_role_display()}
            )
        return True


def service_call(function, **kwargs):
    """A service's refusals as API answers: 400 with the messages, 403, 404."""
    try:
        return function(**kwargs)
    except DjangoValidationError as error:
        raise serializers.ValidationError({"non_field_errors": error.messages}) from None
    except DjangoPermissionDenied as error:
        raise exceptions.PermissionDenied(str(error) or None) from None
    except Http404:
        raise exceptions.NotFound from None


YEAR_FIELD = {"min_value": service.YEAR_MIN, "max_value": service.YEAR_MAX}


@extend_schema_field(OpenApiTypes.STR)
class LeaderField(serializers.SlugRelatedField):
    default_error_messages = {
        "does_not_exist": _("找不到用户名为“{value}”的用户，或该用户不在您的管辖范围内。"),
        "invalid": _("用户名应为字符串。"),
    }

    def __init__(self, **kwargs):
        super().__init__(slug_field="username", **kwargs)

    def get_queryset(self):
        scope = jurisdiction_path(self.context["request"].user) or ""
        users = get_user_model().objects.select_related("unit")
        return users.filter(unit__path__startswith=scope) if scope else users


class AssignmentSerializer(serializers.ModelSerializer):
    leader = serializers.CharField(source="leader.username", help_text=_("包联领导用户名"))
    leader_name = serializers.CharField(source="leader.get_full_name", help_text=_("包联领导姓名"))
    branch_code = serializers.CharField(source="branch.code", help_text=_("支部单位编码"))
    branch_name = serializers.CharField(source="branch.name", help_text=_("支部名称"))
    created_by = serializers.CharField(
        source="created_by.username", allow_null=True, help_text=_("安排人用户名")
    )
    visit_count = serializers.IntegerField(help_text=_("走访次数"))

    class Meta:
        model = LeaderAssignment
        fields = [
            "id",
            "year",
            "leader",
            "leader_name",
            "branch_code",
            "branch_name",
            "note",
            "created_by",
            "created_at",
            "visit_count",
        ]
        read_only_fields = fields
        extra_kwargs = {"year": {"help_text": _("年度")}}


class AssignmentCreateSerializer(serializers.Serializer):
    leader = LeaderField(help_text=_("包联领导（党委/组织部领导）的用户名"))
    branch = VisibleUnitField(help_text=_("村(社区)单位编码"))
    year = serializers.IntegerField(help_text=_("年度，如 2026"), **YEAR_FIELD)
    note = CleanCharField(
        multiline=True, max_length=service.TEXT_LIMIT, allow_blank=True, required=False
    )


class VisitSerializer(serializers.ModelSerializer):
    recorded_by = serializers.CharField(
        source="recorded_by.username", allow_null=True, help_text=_("记录人用户名")
    )

    class Meta:
        model = AssignmentVisit
        fields = ["id", "visited_on", "findings", "decisions", "recorded_by", "recorded_at"]
        read_only_fields = fields


class VisitCreateSerializer(serializers.Serializer):
    visited_on = serializers.DateField(
        help_text=_("走访日期 YYYY-MM-DD，不能晚于今天，须在包联年度内")
    )
    findings = CleanCharField(
        multiline=True, max_length=service.TEXT_LIMIT, help_text=_("发现的问题")
    )
    decisions = CleanCharField(
        multiline=True, max_length=service.TEXT_LIMIT, help_text=_("议定事项")
    )


class AssignmentFilter(filters.FilterSet):
    year = filters.NumberFilter(
        help_text=_("年度"), min_value=service.YEAR_MIN, max_value=service.YEAR_MAX
    )
    leader = filters.CharFilter(
        field_name="leader__username", help_text=_("包联领导用户名"), max_length=150
    )
    under = unit_code_filter(_("单位编码：该单位及其下级支部的包联"), method="filter_under")

    class Meta:
        model = LeaderAssignment
        fields = ["year", "leader", "under"]

    def filter_under(self, queryset, name, value):
        return queryset.filter(branch__path__startswith=value.path)


NOT_FOUND = OpenApiResponse(DetailSerializer, description=_("不存在或不在您的管辖范围内"))
FORBIDDEN = OpenApiResponse(DetailSerializer, description=_("您的角色不能执行该操作"))
INVALID = OpenApiResponse(description=_("请求无效，见错误说明"))


@extend_schema_view(
    list=extend_schema(
        summary=_("包联安排列表"),
        description=_("您管辖范围内支部的包联安排，可按年度、领导、单位筛选。"),
    ),
    retrieve=extend_schema(
        summary=_("一项包联安排"), responses={200: AssignmentSerializer, 404: NOT_FOUND}
    ),
    create=extend_schema(
        summary=_("安排包联"),
        description=_(
            "县级及以上领导或系统管理员为领导安排包联支部：领导须为党委/组织部领导，"
            "支部须在该领导的管辖范围内，同一领导同一年度不能重复包联同一支部。"
        ),
        request=AssignmentCreateSerializer,
        responses={201: AssignmentSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
)
@extend_schema(tags=[_("包联与结对")])
class AssignmentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = AssignmentSerializer
    filterset_class = AssignmentFilter
    pagination_class = OrgUnitPagination
    permission_classes = [ReaderPermission]
    queryset = LeaderAssignment.objects.none()

    def get_queryset(self):
        return (
            LeaderAssignment.objects.visible_to(self.request.user)
            .select_related("leader", "branch", "created_by")
            .annotate(visit_count=Count("visits"))
            .order_by("-year", "branch__path", "id")
        )

    def get_object(self):
        pk = self.kwargs["pk"]
        if not str(pk).isdigit():
            raise exceptions.NotFound
        assignment = self.get_queryset().filter(pk=int(pk)).first()
        if assignment is None:
            raise exceptions.NotFound
        return assignment

    def create(self, request, *args, **kwargs):
        if not service.can_manage(request.user):
            raise exceptions.PermissionDenied(_t("只有县级及以上领导和系统管理员可以安排包联。"))
        data = AssignmentCreateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        assignment = service_call(
            service.assignment_create, user=request.user, **data.validated_data
        )
        return Response(
            self.get_serializer(self.get_queryset().get(pk=assignment.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        methods=["GET"],
        summary=_("包联走访记录"),
        description=_("一项包联安排的走访记录，按走访日期倒序分页返回。"),
        filters=False,
        responses={200: VisitSerializer(many=True), 404: NOT_FOUND},
    )
    @extend_schema(
        methods=["POST"],
        summary=_("记录走访"),
        description=_("包联领导本人记录一次走访：日期不能晚于今天且须在包联年度内。"),
        request=VisitCreateSerializer,
        responses={201: VisitSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
        filters=False,
    )
    @action(detail=True, methods=["get", "post"], filterset_class=None)
    def visits(self, request, pk=None):
        assignment = self.get_object()
        if request.method == "POST":
            if not service.can_record_visit(request.user, assignment):
                raise exceptions.PermissionDenied(_t("只有包联该支部的领导本人可以记录走访。"))
            data = VisitCreateSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            visit = service_call(
                service.visit_add, assignment=assignment, user=request.user, **data.validated_data
            )
            return Response(VisitSerializer(visit).data, status=status.HTTP_201_CREATED)
        visits = assignment.visits.select_related("recorded_by")
        page = self.paginate_queryset(visits)
        return self.get_paginated_response(VisitSerializer(page, many=True).data)


# 结对.


class PairingSerializer(serializers.ModelSerializer):
    county_code = serializers.CharField(source="county.code", help_text=_("县(区)单位编码"))
    strong_code = serializers.CharField(source="strong.code", help_text=_("强支部单位编码"))
    strong_name = serializers.CharField(source="strong.name", help_text=_("强支部名称"))
    weak_code = serializers.CharField(source="weak.code", help_text=_("弱支部单位编码"))
    weak_name = serializers.CharField(source="weak.name", help_text=_("弱支部名称"))
    status_display = serializers.CharField(source="get_status_display", help_text=_("状态名称"))
    confirmed_by = serializers.CharField(
        source="confirmed_by.username", allow_null=True, help_text=_("确认人用户名")
    )

    class Meta:
        model = Pairing
        fields = [
            "id",
            "year",
            "county_code",
            "strong_code",
            "strong_name",
            "strong_level",
            "weak_code",
            "weak_name",
            "weak_level",
            "complementary_stars",
            "status",
            "status_display",
            "note",
            "created_at",
            "confirmed_by",
            "confirmed_at",
            "ended_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "status": {"help_text": _("SUGGESTED 建议，CONFIRMED 已确认，ENDED 已结束")},
            "complementary_stars": {"help_text": _("弱支部缺、强支部有的星数")},
        }


class PairingCreateSerializer(serializers.Serializer):
    strong = VisibleUnitField(help_text=_("强支部（四星、五星）单位编码"))
    weak = VisibleUnitField(help_text=_("弱支部（三星及以下）单位编码，须与强支部同县(区)"))
    year = serializers.IntegerField(help_text=_("年度，如 2026"), **YEAR_FIELD)
    note = CleanCharField(
        multiline=True, max_length=service.TEXT_LIMIT, allow_blank=True, required=False
    )


class PartnerSerializer(serializers.Serializer):
    code = serializers.CharField(source="strong.code", help_text=_("强支部单位编码"))
    name = serializers.CharField(source="strong.name", help_text=_("强支部名称"))
    level = serializers.IntegerField(source="strong.level", help_text=_("强支部星级"))
    complementary = serializers.IntegerField(help_text=_("互补星数"))
    distance = serializers.IntegerField(help_text=_("组织距离：1 同一乡镇(街道)，2 跨乡镇(街道)"))


class SuggestionSerializer(serializers.Serializer):
    code = serializers.CharField(source="weak.code", help_text=_("弱支部单位编码"))
    name = serializers.CharField(source="weak.name", help_text=_("弱支部名称"))
    level = serializers.IntegerField(source="weak.level", help_text=_("弱支部星级"))
    partners = PartnerSerializer(many=True, help_text=_("建议的强支部，最多 3 个，最优在前"))


class PairingFilter(filters.FilterSet):
    year = filters.NumberFilter(
        help_text=_("年度"), min_value=service.YEAR_MIN, max_value=service.YEAR_MAX
    )
    status = filters.ChoiceFilter(
        choices=Pairing.Status.choices,
        help_text=_("SUGGESTED 建议，CONFIRMED 已确认，ENDED 已结束"),
    )
    county = unit_code_filter(_("县(区)单位编码"), field_name="county")

    class Meta:
        model = Pairing
        fields = ["year", "status", "county"]


@extend_schema_view(
    list=extend_schema(
        summary=_("结对列表"), description=_("您管辖范围内的结对，可按年度、状态、县(区)筛选。")
    ),
    retrieve=extend_schema(
        summary=_("一个结对"), responses={200: PairingSerializer, 404: NOT_FOUND}
    ),
    create=extend_schema(
        summary=_("提出结对"),
        description=_(
            "县级及以上领导或系统管理员提出一个结对（状态为建议）：强支部须为四星或五星，"
            "弱支部须为三星及以下（按上一个已结束月份的星级），两者同在一个县(区)。"
        ),
        request=PairingCreateSerializer,
        responses={201: PairingSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
)
@extend_schema(tags=[_("包联与结对")])
class PairingViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = PairingSerializer
    filterset_class = PairingFilter
    pagination_class = OrgUnitPagination
    permission_classes = [ReaderPermission]
    queryset = Pairing.objects.none()

    def get_queryset(self):
        return Pairing.objects.visible_to(self.request.user).select_related(
            "county", "strong", "weak", "confirmed_by"
        )

    def get_object(self):
        return service_call(
            service.get_pairing_for_user, user=self.request.user, pk=self.kwargs["pk"]
        )

    def create(self, request, *args, **kwargs):
        if not service.can_manage(request.user):
            raise exceptions.PermissionDenied(_t("只有县级及以上领导和系统管理员可以确定结对。"))
        data = PairingCreateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        pairing = service_call(service.pairing_propose, user=request.user, **data.validated_data)
        return Response(self.get_serializer(pairing).data, status=status.HTTP_201_CREATED)

    def _transition(self, function):
        pairing = service_call(function, pairing=self.get_object(), user=self.request.user)
        return Response(
            self.get_serializer(service.get_pairing_for_user(self.request.user, pairing.pk)).data
        )

    @extend_schema(
        summary=_("确认结对"),
        description=_(
            "把建议的结对确认为已确认；一个支部每年只能有一个已确认的结对（作为弱支部）。"
        ),
        request=None,
        responses={200: PairingSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        return self._transition(service.pairing_confirm)

    @extend_schema(
        summary=_("结束结对"),
        description=_("结束一个建议或已确认的结对。"),
        request=None,
        responses={200: PairingSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        return self._transition(service.pairing_end)

    @extend_schema(
        summary=_("结对建议"),
        description=_(
            "一个县(区)内每个尚未确认结对的三星及以下支部，按互补星数（弱支部缺、强支部有的星）"
            "再按组织距离（同一乡镇(街道)优先）排序的最多 3 个四星、五星支部。"
        ),
        parameters=[
            OpenApiParameter("county", str, required=True, description=_("县(区)单位编码")),
            OpenApiParameter("year", int, description=_("年度，默认今年")),
        ],
        filters=False,
        responses={200: SuggestionSerializer(many=True), 404: NOT_FOUND},
    )
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def suggestions(self, request):
        code = str(request.query_params.get("county", ""))[:32]
        county = service_call(service.get_county_for_user, user=request.user, code=code)
        year_text = str(request.query_params.get("year", ""))
        if year_text and not (
            year_text.isdigit() and service.YEAR_MIN <= int(year_text) <= service.YEAR_MAX
        ):
            raise serializers.ValidationError(
                {"year": [_t("年度须为 2000–2100 之间的四位数字，如 2026。")]}
            )
        year = int(year_text) if year_text else timezone.localdate().year
        rows = service.pairing_suggestions(county, year=year)["rows"]
        return Response(SuggestionSerializer(rows, many=True).data)
