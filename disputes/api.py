"""The disputes API: cases scoped like the ledger, one endpoint per workflow action (the same
services, so the same validation as the pages), the timeline, sessions and teams."""

from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.settings import api_settings

from branches.api.fields import DetailSerializer
from branches.api.reports import VisibleUnitField
from branches.api.units import OrgUnitPagination
from branches.validators import CleanCharField
from disputes import services
from disputes.models import (
    CaseStep,
    DisputeCase,
    MediationSession,
    MediationTeam,
    Party,
    ReturnVisit,
)
from governance.models import User
from grids.models import GridEvent

A = CaseStep.Action
NOT_FOUND = OpenApiResponse(DetailSerializer, description=_("不存在，或不在您的管辖范围内"))
WRITE_ERRORS = {
    400: OpenApiResponse(description=_("校验未通过或该状态下不能进行此操作（说明原因）")),
    403: OpenApiResponse(DetailSerializer, description=_("您的角色或调处范围不允许此操作")),
    404: NOT_FOUND,
    409: OpenApiResponse(DetailSerializer, description=_("案件已被他人办理，请重新读取")),
}


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


@contextmanager
def service_errors():
    try:
        yield
    except services.CaseConflict as error:
        raise Conflict(error.messages[0]) from None
    except DjangoValidationError as error:
        raise serializers.ValidationError(
            {api_settings.NON_FIELD_ERRORS_KEY: error.messages}
        ) from None


class DisputePartySerializer(serializers.Serializer):
    name = serializers.CharField(help_text=_("姓名；不在调处范围内时部分隐藏"))
    role = serializers.ChoiceField(choices=Party.Role.choices)
    phone = serializers.CharField(help_text=_("联系电话；不在调处范围内时部分隐藏，可为空"))


def masking_context(user) -> dict:
    """Serializer context for case texts: who sees the parties in full (one query)."""
    return {"parties_full": services.parties_shown_to(user)}


class DisputeCaseSerializer(serializers.ModelSerializer):
    unit_code = serializers.CharField(source="unit.code", help_text=_("发生地单位编码"))
    unit_name = serializers.CharField(source="unit.name")
    handling_unit_code = serializers.CharField(source="handling_unit.code")
    handling_unit_name = serializers.CharField(source="handling_unit.name")
    status_display = serializers.CharField(source="get_status_display")
    mediator = serializers.CharField(source="mediator.username", allow_null=True)
    team = serializers.IntegerField(source="team_id", allow_null=True)
    days_overdue = serializers.SerializerMethodField(help_text=_("逾期天数（未逾期为 0）"))
    grid_code = serializers.CharField(
        source="grid.code", allow_null=True, help_text=_("发生的网格编码；未知为 null")
    )
    grid_event = serializers.CharField(
        source="grid_event.number",
        allow_null=True,
        help_text=_("由哪个网格事件转来（事件编号）；不是转来的为 null"),
    )

    def to_representation(self, case):
        data = super().to_representation(case)
        if not self.context["parties_full"](case):
            data["summary"] = services.mask_text(data["summary"], case.parties.all())
        return data

    class Meta:
        model = DisputeCase
        fields = [
            "number",
            "unit_code",
            "unit_name",
            "grid_code",
            "grid_event",
            "category",
            "source",
            "summary",
            "received_on",
            "risk",
            "handling_level",
            "top_level",
            "handling_unit_code",
            "handling_unit_name",
            "mediator",
            "team",
            "status",
            "status_display",
            "outcome",
            "is_resolved",
            "transfer_department",
            "due_on",
            "is_overdue",
            "days_overdue",
            "closed_at",
            "version",
        ]

    def get_days_overdue(self, case) -> int:
        return case.days_overdue(timezone.localdate())


class DisputeCaseDetailSerializer(DisputeCaseSerializer):
    parties = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField(help_text=_("您现在可以进行的操作"))

    class Meta(DisputeCaseSerializer.Meta):
        fields = [*DisputeCaseSerializer.Meta.fields, "parties", "allowed_actions"]

    @extend_schema_field(DisputePartySerializer(many=True))
    def get_parties(self, case):
        user = self.context["request"].user
        full = services.may_see_parties(user, case)
        return [
            {
                "name": p.name if full else services.mask_name(p.name),
                "role": p.role,
                "phone": p.phone if full else services.mask_phone(p.phone),
            }
            for p in case.parties.all()
        ]

    def get_allowed_actions(self, case) -> list[str]:
        return [str(a) for a in services.available_actions(self.context["request"].user, case)]


class DisputePartyInputSerializer(serializers.Serializer):
    name = CleanCharField(max_length=100)
    role = serializers.ChoiceField(choices=Party.Role.choices, default=Party.Role.APPLICANT)
    phone = CleanCharField(max_length=20, required=False, allow_blank=True, default="")


class DisputeCaseCreateSerializer(serializers.Serializer):
    unit = VisibleUnitField(help_text=_("发生地单位编码（乡镇及以下）"))
    category = serializers.ChoiceField(choices=DisputeCase.Category.choices)
    source = serializers.ChoiceField(choices=DisputeCase.Source.choices)
    summary = CleanCharField(max_length=2000)
    received_on = serializers.DateField()
    risk = serializers.ChoiceField(choices=DisputeCase.Risk.choices, default="LOW")
    handling_level = serializers.ChoiceField(
        choices=DisputeCase.Level.choices, required=False, allow_null=True, default=None
    )
    parties = DisputePartyInputSerializer(many=True, required=False, max_length=20)
    grid_event = serializers.SlugRelatedField(
        slug_field="number",
        queryset=GridEvent.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text=_("转为纠纷案件：来源网格事件的编号（须在您的管辖范围内、尚未办结）"),
    )


class DisputeVersionSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, help_text=_("读取时的案件版本号")
    )


class DisputeNoteSerializer(DisputeVersionSerializer):
    note = CleanCharField(max_length=2000, required=False, allow_blank=True, default="")


class DisputeFailSerializer(DisputeVersionSerializer):
    note = CleanCharField(max_length=2000, help_text=_("未成功原因"))


class DisputeAssignSerializer(DisputeNoteSerializer):
    mediator = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        default=None,
        help_text=_("调解员用户名"),
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=MediationTeam.objects.all(), required=False, allow_null=True, default=None
    )

    def validate_team(self, team):
        user = self.context["request"].user
        if team is not None and not MediationTeam.objects.visible_to(user).filter(pk=team.pk):
            raise serializers.ValidationError(_("找不到该调解组织，或它不在您的管辖范围内。"))
        return team


class DisputeSessionInputSerializer(DisputeVersionSerializer):
    held_on = serializers.DateField()
    place = CleanCharField(max_length=100)
    participants = CleanCharField(max_length=1000)
    record = CleanCharField(max_length=4000)
    result = serializers.ChoiceField(choices=MediationSession.Result.choices)


class DisputeTransferSerializer(DisputeNoteSerializer):
    department = CleanCharField(max_length=100)


class DisputeReasonSerializer(DisputeVersionSerializer):
    reason = CleanCharField(max_length=2000)


class DisputeCloseSerializer(DisputeNoteSerializer):
    outcome = serializers.ChoiceField(choices=DisputeCase.Outcome.choices)


class DisputeVisitSerializer(DisputeNoteSerializer):
    satisfaction = serializers.ChoiceField(choices=ReturnVisit.Satisfaction.choices)
    visited_on = serializers.DateField(required=False, allow_null=True, default=None)


class DisputeStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = CaseStep
        fields = [
            "id",
            "action",
            "from_status",
            "to_status",
            "from_level",
            "to_level",
            "actor_name",
            "note",
            "occurred_at",
        ]


class DisputeSessionSerializer(serializers.ModelSerializer):
    case = serializers.CharField(source="case.number")

    def to_representation(self, session):
        data = super().to_representation(session)
        if not self.context["parties_full"](session.case):
            parties = session.case.parties.all()
            for key in ("participants", "record"):
                data[key] = services.mask_text(data[key], parties)
        return data

    class Meta:
        model = MediationSession
        fields = ["id", "case", "held_on", "place", "participants", "record", "result"]


class DisputeTeamSerializer(serializers.ModelSerializer):
    unit = VisibleUnitField(help_text=_("所属单位编码"))
    members = serializers.SlugRelatedField(
        slug_field="username",
        many=True,
        queryset=User.objects.filter(is_active=True),
        required=False,
        help_text=_("有账号的成员（用户名）：须在您的管辖范围内"),
    )

    class Meta:
        model = MediationTeam
        fields = ["id", "unit", "name", "kind", "members", "member_names", "is_active"]
        read_only_fields = ["is_active"]


class CaseFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=DisputeCase.Status.choices)
    category = filters.ChoiceFilter(choices=DisputeCase.Category.choices)
    handling_level = filters.TypedChoiceFilter(choices=DisputeCase.Level.choices, coerce=int)
    overdue = filters.BooleanFilter(method="filter_overdue", help_text=_("只看逾期"))
    received_from = filters.DateFilter(field_name="received_on", lookup_expr="gte")
    received_to = filters.DateFilter(field_name="received_on", lookup_expr="lte")

    class Meta:
        model = DisputeCase
        fields = []

    def filter_overdue(self, queryset, name, value):
        today = timezone.localdate()
        return (
            queryset.overdue_on(today)
            if value
            else queryset.exclude(pk__in=queryset.overdue_on(today).values("pk"))
        )


class CasePermission(permissions.IsAuthenticated):
    def has_permission(self, request, view):
        return super().has_permission(request, view) and request.user.can_read_disputes


def action_schema(summary, request):
    return extend_schema(
        summary=summary,
        request=request,
        responses={200: DisputeCaseDetailSerializer, **WRITE_ERRORS},
    )


@extend_schema_view(
    list=extend_schema(summary=_("矛盾纠纷台账"), description=_("管辖范围内的案件，分页。")),
    retrieve=extend_schema(
        summary=_("案件详情"), responses={200: DisputeCaseDetailSerializer, 404: NOT_FOUND}
    ),
)
@extend_schema(tags=[_("矛盾纠纷")])
class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = DisputeCaseSerializer
    permission_classes = [CasePermission]
    pagination_class = OrgUnitPagination
    filterset_class = CaseFilter
    queryset = DisputeCase.objects.none()
    lookup_field = "number"
    lookup_value_regex = "[0-9-]{1,40}"

    def get_queryset(self):
        return (
            DisputeCase.objects.visible_to(self.request.user)
            .select_related("unit", "handling_unit", "mediator", "grid", "grid_event")
            .prefetch_related("parties")
            .order_by("-received_on", "-id")
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), **masking_context(self.request.user)}

    def get_serializer_class(self):
        return DisputeCaseDetailSerializer if self.action != "list" else DisputeCaseSerializer

    def detail_data(self, case, code=status.HTTP_200_OK):
        case = self.get_queryset().get(pk=case.pk)
        return Response(
            DisputeCaseDetailSerializer(case, context=self.get_serializer_context()).data,
            status=code,
        )

    @extend_schema(
        summary=_("登记矛盾纠纷"),
        request=DisputeCaseCreateSerializer,
        responses={
            201: DisputeCaseDetailSerializer,
            400: WRITE_ERRORS[400],
            403: WRITE_ERRORS[403],
        },
    )
    def create(self, request):
        serializer = DisputeCaseCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        with service_errors():
            case = services.case_create(user=request.user, **data)
        return self.detail_data(case, status.HTTP_201_CREATED)

    def run(self, function, serializer_class, action_name):
        case = self.get_object()
        if not services.may_act(self.request.user, case, action_name):
            raise exceptions.PermissionDenied(_("您不能对该案件进行此操作。"))
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        with service_errors():
            function(
                case=case, user=self.request.user, expected_version=data.pop("version"), **data
            )
        return self.detail_data(case)

    @action_schema(_("指派调解员或调解组织"), DisputeAssignSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, number=None):
        return self.run(services.case_assign, DisputeAssignSerializer, A.ASSIGN)

    @action_schema(_("开始调解（已受理 → 调解中）"), DisputeNoteSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request, number=None):
        return self.run(services.case_start, DisputeNoteSerializer, A.START)

    @action_schema(_("记录一次调解（调解中）"), DisputeSessionInputSerializer)
    @action(detail=True, methods=["post"])
    def session(self, request, number=None):
        return self.run(services.session_add, DisputeSessionInputSerializer, A.SESSION)

    @action_schema(_("调解成功"), DisputeNoteSerializer)
    @action(detail=True, methods=["post"])
    def succeed(self, request, number=None):
        return self.run(services.case_succeed, DisputeNoteSerializer, A.SUCCEED)

    @action_schema(_("调解未成功（须写明原因）"), DisputeFailSerializer)
    @action(detail=True, methods=["post"])
    def fail(self, request, number=None):
        return self.run(services.case_fail, DisputeFailSerializer, A.FAIL)

    @action_schema(_("转办（写明部门）"), DisputeTransferSerializer)
    @action(detail=True, methods=["post"])
    def transfer(self, request, number=None):
        return self.run(services.case_transfer, DisputeTransferSerializer, A.TRANSFER)

    @action_schema(_("上交上一级（写明理由）"), DisputeReasonSerializer)
    @action(detail=True, methods=["post"])
    def escalate(self, request, number=None):
        return self.run(services.case_escalate, DisputeReasonSerializer, A.ESCALATE)

    @action_schema(_("结案（结案方式）"), DisputeCloseSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, number=None):
        return self.run(services.case_close, DisputeCloseSerializer, A.CLOSE)

    @action_schema(_("回访（满意度）"), DisputeVisitSerializer)
    @action(detail=True, methods=["post"])
    def visit(self, request, number=None):
        return self.run(services.case_visit, DisputeVisitSerializer, A.VISIT)

    @action_schema(_("重新办理（写明原因）"), DisputeReasonSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, number=None):
        return self.run(services.case_reopen, DisputeReasonSerializer, A.REOPEN)

    @extend_schema(
        summary=_("案件办理过程"),
        filters=False,
        responses={200: DisputeStepSerializer(many=True), 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def steps(self, request, number=None):
        case = self.get_object()
        page = self.paginate_queryset(case.steps.order_by("occurred_at", "id"))
        shown = services.text_for(request.user, case)
        data = DisputeStepSerializer(page, many=True).data
        for step in data:
            step["note"] = shown(step["note"])
        return self.get_paginated_response(data)


@extend_schema(tags=[_("矛盾纠纷")])
@extend_schema_view(
    list=extend_schema(summary=_("调解记录")), retrieve=extend_schema(summary=_("一次调解记录"))
)
class SessionViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DisputeSessionSerializer
    permission_classes = [CasePermission]
    pagination_class = OrgUnitPagination
    queryset = MediationSession.objects.none()
    lookup_value_regex = "[0-9]{1,10}"

    def get_queryset(self):
        return (
            MediationSession.objects.visible_to(self.request.user)
            .select_related("case__handling_unit")
            .prefetch_related("case__parties")
            .order_by("-held_on", "-id")
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), **masking_context(self.request.user)}

    def get_object(self):
        if int(self.kwargs["pk"]) > 2**31 - 1:
            raise Http404
        return super().get_object()


@extend_schema(tags=[_("矛盾纠纷")])
@extend_schema_view(
    list=extend_schema(summary=_("调解组织")),
    create=extend_schema(
        summary=_("添加调解组织"),
        responses={201: DisputeTeamSerializer, 400: WRITE_ERRORS[400], 403: WRITE_ERRORS[403]},
    ),
    retrieve=extend_schema(summary=_("调解组织详情")),
)
class TeamViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = DisputeTeamSerializer
    permission_classes = [CasePermission]
    pagination_class = OrgUnitPagination
    queryset = MediationTeam.objects.none()
    lookup_value_regex = "[0-9]{1,10}"

    def get_queryset(self):
        return (
            MediationTeam.objects.visible_to(self.request.user)
            .select_related("unit")
            .prefetch_related("members")
            .order_by("unit__path", "name")
        )

    def get_object(self):
        if int(self.kwargs["pk"]) > 2**31 - 1:
            raise Http404
        return super().get_object()

    def perform_create(self, serializer):
        data = serializer.validated_data
        if not self.request.user.can_handle_disputes:
            raise exceptions.PermissionDenied(_("您的角色不能维护调解组织。"))
        with service_errors():
            serializer.instance = services.team_save(
                user=self.request.user,
                unit=data["unit"],
                name=data["name"],
                kind=data["kind"],
                members=data.get("members", []),
                member_names=data.get("member_names", ""),
            )
