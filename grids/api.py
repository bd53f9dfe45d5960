"""The grids API: grids, households (masked like the pages), visits, events with their
workflow actions and steps, hazards. Querysets start from `visible_to`; writes go through
the services, as the pages do."""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from branches.api.fields import DetailSerializer, service_errors
from branches.api.units import OrgUnitPagination
from branches.models import OrgUnit
from branches.validators import CleanCharField
from grids.masking import shown_name, shown_phone
from grids.models import Grid, GridEvent, GridEventStep, Hazard, Household, Visit
from grids.services import events as event_service
from grids.services import hazards as hazard_service
from grids.services.visits import visit_record

NOT_FOUND = OpenApiResponse(DetailSerializer, description=_("不存在，或不在您的范围内"))
WRITE_ERRORS = {
    400: OpenApiResponse(description=_("请求无效或当前状态不允许该操作，见错误说明")),
    403: OpenApiResponse(DetailSerializer, description=_("您的角色不能执行该操作")),
    404: NOT_FOUND,
}


class GridSerializer(serializers.ModelSerializer):
    unit_code = serializers.CharField(source="unit.code", help_text=_("所属村(社区)/小区编码"))
    unit_name = serializers.CharField(source="unit.name")

    class Meta:
        model = Grid
        fields = ["code", "name", "unit_code", "unit_name", "party_group", "is_active"]


class HouseholdSerializer(serializers.ModelSerializer):
    grid_code = serializers.CharField(source="grid.code")
    head_name = serializers.SerializerMethodField(help_text=_("户主姓名（列表中按规则脱敏）"))
    phone = serializers.SerializerMethodField(help_text=_("联系电话（列表中按规则脱敏）"))

    class Meta:
        model = Household
        fields = [
            "id",
            "grid_code",
            "address_building",
            "address_unit",
            "address_room",
            "head_name",
            "phone",
            "member_count",
            "care_tags",
            "is_party_member_household",
            "last_visited_on",
        ]

    def _full(self) -> bool:
        return self.context.get("detail", False)

    def get_head_name(self, household) -> str:
        return shown_name(self.context["request"].user, household.head_name, detail=self._full())

    def get_phone(self, household) -> str:
        return shown_phone(self.context["request"].user, household.phone, detail=self._full())


class GridVisitSerializer(serializers.ModelSerializer):
    grid_code = serializers.CharField(source="grid.code", read_only=True)
    worker_name = serializers.CharField(source="worker.name", allow_null=True, read_only=True)

    class Meta:
        model = Visit
        fields = [
            "id",
            "household",
            "grid_code",
            "worker_name",
            "visited_on",
            "purpose",
            "notes",
            "needs_follow_up",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]


class GridVisitCreateSerializer(serializers.Serializer):
    household = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    visited_on = serializers.DateField()
    purpose = serializers.ChoiceField(choices=Visit.Purpose.choices)
    notes = CleanCharField(required=False, allow_blank=True, max_length=1000, multiline=True)
    needs_follow_up = serializers.BooleanField(required=False, default=False)


class GridEventStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = GridEventStep
        fields = ["action", "from_status", "to_status", "actor_name", "note", "occurred_at"]


class GridEventSerializer(serializers.ModelSerializer):
    grid_code = serializers.CharField(source="grid.code")
    assignee_unit_code = serializers.CharField(
        source="assignee_unit.code", allow_null=True, help_text=_("承办单位编码")
    )
    assignee_username = serializers.CharField(
        source="assignee_user.username", allow_null=True, help_text=_("承办人用户名")
    )
    is_overdue = serializers.SerializerMethodField()

    class Meta:
        model = GridEvent
        fields = [
            "number",
            "grid_code",
            "category",
            "description",
            "location",
            "status",
            "reporter_name",
            "reported_at",
            "assignee_unit_code",
            "assignee_username",
            "deadline",
            "handled_at",
            "closed_at",
            "result",
            "converted_reference",
            "converted_url",
            "is_overdue",
        ]

    def get_is_overdue(self, event) -> bool:
        from django.utils import timezone

        return event.is_overdue_on(timezone.localdate())


class GridEventCreateSerializer(serializers.Serializer):
    grid = CleanCharField(max_length=40, help_text=_("网格编码"))
    category = serializers.ChoiceField(choices=GridEvent.Category.choices)
    description = CleanCharField(max_length=2000, multiline=True)
    location = CleanCharField(required=False, allow_blank=True, max_length=200)


class NoteSerializer(serializers.Serializer):
    note = CleanCharField(required=False, allow_blank=True, max_length=1000, multiline=True)


class DispatchSerializer(serializers.Serializer):
    deadline = serializers.DateField()
    assignee_unit = CleanCharField(required=False, allow_blank=True, max_length=32)
    assignee_user = CleanCharField(required=False, allow_blank=True, max_length=150)
    note = CleanCharField(required=False, allow_blank=True, max_length=1000, multiline=True)


class HazardSerializer(serializers.ModelSerializer):
    grid_code = serializers.CharField(source="grid.code")
    is_overdue = serializers.SerializerMethodField()

    class Meta:
        model = Hazard
        fields = [
            "number",
            "grid_code",
            "source",
            "place",
            "kind",
            "risk",
            "description",
            "found_on",
            "deadline",
            "responsible_name",
            "status",
            "closed_on",
            "close_note",
            "is_overdue",
        ]

    def get_is_overdue(self, hazard) -> bool:
        from django.utils import timezone

        return hazard.is_overdue_on(timezone.localdate())


class HazardCreateSerializer(serializers.Serializer):
    grid = CleanCharField(max_length=40, help_text=_("网格编码"))
    place = CleanCharField(max_length=200)
    kind = serializers.ChoiceField(choices=Hazard.Kind.choices)
    risk = serializers.ChoiceField(choices=Hazard.Risk.choices, required=False)
    description = CleanCharField(max_length=2000, multiline=True)
    found_on = serializers.DateField(required=False)
    deadline = serializers.DateField()
    responsible_name = CleanCharField(max_length=50)


class GridFilter(filters.FilterSet):
    under = filters.CharFilter(method="filter_under", help_text=_("上级单位编码"))

    class Meta:
        model = Grid
        fields = ["is_active"]

    def filter_under(self, queryset, name, value):
        unit = OrgUnit.objects.visible_to(self.request.user).filter(code=value[:32]).first()
        return queryset.filter(unit__path__startswith=unit.path) if unit else queryset.none()


class HouseholdFilter(filters.FilterSet):
    grid = filters.CharFilter(field_name="grid__code", help_text=_("网格编码"))
    not_visited_since = filters.DateFilter(method="filter_stale", help_text=_("该日期后未走访"))

    class Meta:
        model = Household
        fields = ["is_party_member_household"]

    def filter_stale(self, queryset, name, value):
        return queryset.not_visited_since(value)


class VisitFilter(filters.FilterSet):
    grid = filters.CharFilter(field_name="grid__code", help_text=_("网格编码"))
    visited_from = filters.DateFilter(field_name="visited_on", lookup_expr="gte")
    visited_to = filters.DateFilter(field_name="visited_on", lookup_expr="lte")

    class Meta:
        model = Visit
        fields = ["purpose", "household"]


class GridEventFilter(filters.FilterSet):
    grid = filters.CharFilter(field_name="grid__code", help_text=_("网格编码"))
    overdue = filters.BooleanFilter(method="filter_overdue", help_text=_("只看逾期"))

    class Meta:
        model = GridEvent
        fields = ["status", "category"]

    def filter_overdue(self, queryset, name, value):
        from django.utils import timezone

        overdue = queryset.overdue_on(timezone.localdate())
        return overdue if value else queryset.exclude(pk__in=overdue.values("pk"))


class HazardFilter(filters.FilterSet):
    grid = filters.CharFilter(field_name="grid__code", help_text=_("网格编码"))

    class Meta:
        model = Hazard
        fields = ["status", "kind", "risk"]


def _grid(user, code: str) -> Grid:
    grid = Grid.objects.visible_to(user).filter(code=code).first()
    if grid is None:
        raise serializers.ValidationError({"grid": [_t("找不到该网格，或它不在您负责的范围内。")]})
    return grid


@extend_schema(tags=[_("网格")])
@extend_schema_view(
    list=extend_schema(
        summary=_("网格列表"), description=_("您范围内的网格（网格员：分配给您的）。")
    ),
    retrieve=extend_schema(summary=_("网格详情"), responses={200: GridSerializer, 404: NOT_FOUND}),
)
class GridViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = GridSerializer
    filterset_class = GridFilter
    pagination_class = OrgUnitPagination
    permission_classes = [permissions.IsAuthenticated]
    queryset = Grid.objects.none()
    lookup_field = "code"
    lookup_value_regex = "[^/]{1,40}"

    def get_queryset(self):
        return Grid.objects.visible_to(self.request.user).select_related("unit").order_by("code")


@extend_schema(tags=[_("网格")])
@extend_schema_view(
    list=extend_schema(
        summary=_("住户列表"),
        description=_("户主姓名和电话：领导、审计人员在列表中看到脱敏的（张*华、138****5678）。"),
    ),
    retrieve=extend_schema(
        summary=_("住户详情"),
        description=_("单个住户：范围内的用户看到完整姓名和电话。"),
        responses={200: HouseholdSerializer, 404: NOT_FOUND},
    ),
)
class HouseholdViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = HouseholdSerializer
    filterset_class = HouseholdFilter
    pagination_class = OrgUnitPagination
    permission_classes = [permissions.IsAuthenticated]
    queryset = Household.objects.none()
    lookup_value_regex = "[0-9]{1,10}"

    def get_queryset(self):
        return (
            Household.objects.visible_to(self.request.user)
            .active()
            .select_related("grid")
            .order_by("grid__code", "address_building", "address_unit", "address_room", "pk")
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "detail": self.action == "retrieve"}


@extend_schema(tags=[_("网格")])
@extend_schema_view(
    list=extend_schema(summary=_("走访记录")),
    retrieve=extend_schema(
        summary=_("走访详情"), responses={200: GridVisitSerializer, 404: NOT_FOUND}
    ),
)
class VisitViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = GridVisitSerializer
    filterset_class = VisitFilter
    pagination_class = OrgUnitPagination
    permission_classes = [permissions.IsAuthenticated]
    queryset = Visit.objects.none()
    lookup_value_regex = "[0-9]{1,10}"

    def get_queryset(self):
        return (
            Visit.objects.visible_to(self.request.user)
            .select_related("grid", "worker")
            .order_by("-visited_on", "-id")
        )

    @extend_schema(
        summary=_("登记走访"),
        request=GridVisitCreateSerializer,
        responses={201: GridVisitSerializer, **WRITE_ERRORS},
    )
    def create(self, request, *args, **kwargs):
        serializer = GridVisitCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        household = (
            Household.objects.visible_to(request.user).filter(pk=data.pop("household")).first()
        )
        if household is None:
            raise serializers.ValidationError(
                {"household": [_t("找不到该住户，或它不在您负责的网格内。")]}
            )
        with service_errors():
            visit = visit_record(user=request.user, household=household, **data)
        return Response(GridVisitSerializer(visit).data, status=status.HTTP_201_CREATED)


def _transition(summary, request=NoteSerializer):
    return extend_schema(
        summary=summary, request=request, responses={200: GridEventSerializer, **WRITE_ERRORS}
    )


@extend_schema(tags=[_("网格")])
@extend_schema_view(
    list=extend_schema(
        summary=_("上报事件"), description=_("事件队列，可按状态、类别、网格、逾期筛选。")
    ),
    retrieve=extend_schema(
        summary=_("事件详情"), responses={200: GridEventSerializer, 404: NOT_FOUND}
    ),
)
class GridEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = GridEventSerializer
    filterset_class = GridEventFilter
    pagination_class = OrgUnitPagination
    permission_classes = [permissions.IsAuthenticated]
    queryset = GridEvent.objects.none()
    lookup_field = "number"
    lookup_value_regex = "[0-9A-Za-z]{1,20}"

    def get_queryset(self):
        return (
            GridEvent.objects.visible_to(self.request.user)
            .select_related("grid", "assignee_unit", "assignee_user")
            .order_by("-reported_at", "-id")
        )

    def _data(self, event, code=status.HTTP_200_OK):
        return Response(GridEventSerializer(self.get_queryset().get(pk=event.pk)).data, status=code)

    @extend_schema(
        summary=_("上报事件"),
        request=GridEventCreateSerializer,
        responses={201: GridEventSerializer, **WRITE_ERRORS},
    )
    def create(self, request, *args, **kwargs):
        serializer = GridEventCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        grid = _grid(request.user, data.pop("grid"))
        with service_errors():
            event = event_service.event_report(user=request.user, grid=grid, **data)
        return self._data(event, status.HTTP_201_CREATED)

    def _note(self):
        serializer = NoteSerializer(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data.get("note", "")

    @_transition(_("受理"))
    @action(detail=True, methods=["post"], filterset_class=None, pagination_class=None)
    def accept(self, request, number=None):
        event = self.get_object()
        with service_errors():
            event_service.event_accept(event=event, user=request.user, note=self._note())
        return self._data(event)

    @_transition(_("派单"), DispatchSerializer)
    @action(
        detail=True,
        methods=["post"],
        filterset_class=None,
        pagination_class=None,
        url_path="dispatch",
    )
    def dispatch_to(self, request, number=None):
        event = self.get_object()
        serializer = DispatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        unit = user = None
        if code := data.get("assignee_unit"):
            unit = OrgUnit.objects.visible_to(request.user).filter(code=code).first()
            if unit is None:
                raise serializers.ValidationError({"assignee_unit": [_t("找不到该单位。")]})
        if name := data.get("assignee_user"):
            user = get_user_model().objects.filter(username=name).first()
            if user is None:
                raise serializers.ValidationError({"assignee_user": [_t("找不到该用户。")]})
        with service_errors():
            event_service.event_dispatch(
                event=event,
                user=request.user,
                deadline=data["deadline"],
                assignee_unit=unit,
                assignee_user=user,
                note=data.get("note", ""),
            )
        return self._data(event)

    @_transition(_("登记处置结果（note 必填）"))
    @action(detail=True, methods=["post"], filterset_class=None, pagination_class=None)
    def handle(self, request, number=None):
        event = self.get_object()
        with service_errors():
            event_service.event_handle(event=event, user=request.user, result=self._note())
        return self._data(event)

    @_transition(_("反馈（note 必填）"))
    @action(detail=True, methods=["post"], filterset_class=None, pagination_class=None)
    def feedback(self, request, number=None):
        event = self.get_object()
        with service_errors():
            event_service.event_feedback(event=event, user=request.user, note=self._note())
        return self._data(event)

    @_transition(_("办结"))
    @action(detail=True, methods=["post"], filterset_class=None, pagination_class=None)
    def close(self, request, number=None):
        event = self.get_object()
        with service_errors():
            event_service.event_close(event=event, user=request.user, note=self._note())
        return self._data(event)

    @_transition(_("退回（note 为退回原因，必填）"))
    @action(
        detail=True,
        methods=["post"],
        filterset_class=None,
        pagination_class=None,
        url_path="return",
    )
    def return_event(self, request, number=None):
        event = self.get_object()
        with service_errors():
            event_service.event_return(event=event, user=request.user, reason=self._note())
        return self._data(event)

    @extend_schema(
        summary=_("事件办理记录"),
        responses={200: GridEventStepSerializer(many=True), 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def steps(self, request, number=None):
        event = self.get_object()
        return Response(GridEventStepSerializer(event.steps.all(), many=True).data)


@extend_schema(tags=[_("网格")])
@extend_schema_view(
    list=extend_schema(summary=_("安全隐患台账")),
    retrieve=extend_schema(
        summary=_("隐患详情"), responses={200: HazardSerializer, 404: NOT_FOUND}
    ),
)
class HazardViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = HazardSerializer
    filterset_class = HazardFilter
    pagination_class = OrgUnitPagination
    permission_classes = [permissions.IsAuthenticated]
    queryset = Hazard.objects.none()
    lookup_field = "number"
    lookup_value_regex = "[0-9A-Za-z]{1,20}"

    def get_queryset(self):
        return (
            Hazard.objects.visible_to(self.request.user)
            .select_related("grid")
            .order_by("-found_on", "-id")
        )

    @extend_schema(
        summary=_("登记隐患"),
        request=HazardCreateSerializer,
        responses={201: HazardSerializer, **WRITE_ERRORS},
    )
    def create(self, request, *args, **kwargs):
        serializer = HazardCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        grid = _grid(request.user, data.pop("grid"))
        with service_errors():
            hazard = hazard_service.hazard_record(user=request.user, grid=grid, **data)
        return Response(HazardSerializer(hazard).data, status=status.HTTP_201_CREATED)


def register(router) -> None:
    """The grids endpoints on the portal's router (governance/api.py)."""
    router.register("grids", GridViewSet, basename="grid")
    router.register("households", HouseholdViewSet, basename="household")
    router.register("visits", VisitViewSet, basename="visit")
    router.register("grid-events", GridEventViewSet, basename="grid-event")
    router.register("hazards", HazardViewSet, basename="hazard")
