"""The volunteers API: teams, volunteers, activities, attendance (with bulk confirmation),
the points ledger (read; redemption as an action) and service orders with their workflow.
Everything starts from `visible_to(user)`; writes go through the services, as the pages do.
"""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from branches.api.fields import DetailSerializer, service_errors, unit_code_filter
from branches.api.reports import VisibleUnitField
from branches.api.units import OrgUnitPagination
from branches.validators import CleanCharField
from volunteers.models import (
    Activity,
    Attendance,
    Merchant,
    PointsEntry,
    ServiceOrder,
    ServiceOrderStep,
    Team,
    Volunteer,
    mask_name,
    mask_phone,
)
from volunteers.services import activities as activity_service
from volunteers.services import orders as order_service
from volunteers.services import points as points_service
from volunteers.services.activities import BULK_MAX
from volunteers.services.points import POINTS_MAX

ID_REGEX = "[0-9]{1,18}"
NOT_FOUND = OpenApiResponse(DetailSerializer, description=_("不存在或不在您的管辖范围内"))
WRITE_ERRORS = {
    400: OpenApiResponse(description=_("请求无效或当前状态不允许该操作，见错误说明")),
    403: OpenApiResponse(DetailSerializer, description=_("您的角色不能执行该操作")),
    404: NOT_FOUND,
}


class UnderFilterSet(filters.FilterSet):
    under = unit_code_filter(_("单位编码：该单位及其全部下级的记录"), method="filter_under")

    def filter_under(self, queryset, name, value):
        return queryset.under(value)


# Teams and volunteers ----------------------------------------------------------------------


class TeamSerializer(serializers.ModelSerializer):
    unit_code = serializers.CharField(source="unit.code", help_text=_("所属单位编码"))
    unit_name = serializers.CharField(source="unit.name", help_text=_("所属单位名称"))
    leader_id = serializers.IntegerField(allow_null=True, help_text=_("队长（志愿者编号）"))
    leader_name = serializers.CharField(
        source="leader.name", allow_null=True, help_text=_("队长姓名；未指定时为 null")
    )

    class Meta:
        model = Team
        fields = [
            "id",
            "name",
            "colour",
            "domain",
            "unit_code",
            "unit_name",
            "leader_id",
            "leader_name",
            "is_active",
            "disbanded_on",
        ]


class TeamFilter(UnderFilterSet):
    class Meta:
        model = Team
        fields = ["is_active", "colour", "under"]


@extend_schema(tags=[_("志愿服务")])
@extend_schema_view(
    list=extend_schema(summary=_("志愿服务队"), description=_("管辖范围内的志愿服务队。")),
    retrieve=extend_schema(
        summary=_("一个志愿服务队"), responses={200: TeamSerializer, 404: NOT_FOUND}
    ),
)
class TeamViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TeamSerializer
    filterset_class = TeamFilter
    pagination_class = OrgUnitPagination
    queryset = Team.objects.none()
    lookup_value_regex = ID_REGEX

    def get_queryset(self):
        return (
            Team.objects.visible_to(self.request.user)
            .select_related("unit", "leader")
            .order_by("unit__path", "name", "id")
        )


class VolunteerSerializer(serializers.ModelSerializer):
    unit_code = serializers.CharField(source="unit.code", help_text=_("所属单位编码"))
    unit_name = serializers.CharField(source="unit.name", help_text=_("所属单位名称"))
    phone = serializers.CharField(source="masked_phone", help_text=_("手机号（中间四位隐藏）"))
    balance = serializers.SerializerMethodField(help_text=_("积分余额"))

    class Meta:
        model = Volunteer
        fields = [
            "id",
            "name",
            "unit_code",
            "unit_name",
            "phone",
            "is_party_member",
            "is_in_service_member",
            "skills",
            "joined_on",
            "is_active",
            "balance",
        ]

    def get_balance(self, volunteer) -> int:
        balance = getattr(volunteer, "points_balance", None)
        return balance.balance if balance is not None else 0


class VolunteerFilter(UnderFilterSet):
    name = filters.CharFilter(lookup_expr="contains", max_length=50, help_text=_("姓名包含"))

    class Meta:
        model = Volunteer
        fields = ["is_party_member", "is_in_service_member", "is_active", "under", "name"]


class PointsEntrySerializer(serializers.ModelSerializer):
    volunteer_name = serializers.CharField(source="volunteer.name", help_text=_("志愿者姓名"))
    merchant_name = serializers.CharField(
        source="merchant.name", allow_null=True, help_text=_("兑换商家；非兑换时为 null")
    )
    attendance_id = serializers.IntegerField(allow_null=True, help_text=_("服务时长编号"))

    class Meta:
        model = PointsEntry
        fields = [
            "id",
            "volunteer",
            "volunteer_name",
            "kind",
            "points",
            "reason",
            "merchant",
            "merchant_name",
            "attendance_id",
            "created_at",
        ]


@extend_schema_field(OpenApiTypes.INT)
class MerchantField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return Merchant.objects.visible_to(self.context["request"].user).filter(is_active=True)


class RedeemSerializer(serializers.Serializer):
    merchant = MerchantField(help_text=_("爱心商家编号（管辖范围内、合作中）"))
    points = serializers.IntegerField(min_value=1, max_value=POINTS_MAX, help_text=_("兑换积分"))
    reason = CleanCharField(max_length=200, required=False, default="", help_text=_("兑换内容"))


@extend_schema(tags=[_("志愿服务")])
@extend_schema_view(
    list=extend_schema(
        summary=_("志愿者"), description=_("管辖范围内的志愿者；手机号隐藏中间四位。")
    ),
    retrieve=extend_schema(
        summary=_("一名志愿者"), responses={200: VolunteerSerializer, 404: NOT_FOUND}
    ),
)
class VolunteerViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = VolunteerSerializer
    filterset_class = VolunteerFilter
    pagination_class = OrgUnitPagination
    queryset = Volunteer.objects.none()
    lookup_value_regex = ID_REGEX

    def get_queryset(self):
        return (
            Volunteer.objects.visible_to(self.request.user)
            .select_related("unit", "points_balance")
            .order_by("unit__path", "name", "id")
        )

    @extend_schema(
        summary=_("积分兑换"),
        description=_(
            "在爱心商家兑换积分（乡镇工作人员）：积分须为正整数且不超过余额，"
            "超出时返回 400 并说明当前余额和差额。"
        ),
        request=RedeemSerializer,
        responses={201: PointsEntrySerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def redeem(self, request, pk=None):
        volunteer = self.get_object()
        serializer = RedeemSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        with service_errors():
            entry = points_service.points_redeem(
                user=request.user, volunteer=volunteer, **serializer.validated_data
            )
        return Response(PointsEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


class PointsEntryFilter(UnderFilterSet):
    class Meta:
        model = PointsEntry
        fields = ["volunteer", "kind", "under"]


@extend_schema(tags=[_("志愿服务")])
@extend_schema_view(
    list=extend_schema(
        summary=_("积分明细"), description=_("积分银行的流水，只读；兑换见志愿者的 redeem。")
    ),
    retrieve=extend_schema(
        summary=_("一条积分明细"), responses={200: PointsEntrySerializer, 404: NOT_FOUND}
    ),
)
class PointsEntryViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = PointsEntrySerializer
    filterset_class = PointsEntryFilter
    pagination_class = OrgUnitPagination
    queryset = PointsEntry.objects.none()
    lookup_value_regex = ID_REGEX

    def get_queryset(self):
        return (
            PointsEntry.objects.visible_to(self.request.user)
            .select_related("volunteer", "merchant")
            .order_by("-created_at", "-id")
        )


# Activities and attendance ------------------------------------------------------------------


@extend_schema_field({"type": "string", "pattern": r"^\d{2}:\d{2}$", "example": "15:00"})
class ClockTimeField(serializers.TimeField):
    """A wall-clock time in the portal's time zone, HH:MM (JSON Schema's `time` wants an
    offset, which a local activity time has not)."""

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


class ActivitySerializer(serializers.ModelSerializer):
    start_time = ClockTimeField(help_text=_("开始时间"))
    end_time = ClockTimeField(help_text=_("结束时间"))
    team_name = serializers.CharField(source="team.name", help_text=_("队伍名称"))
    place_code = serializers.CharField(source="place.code", help_text=_("活动地点单位编码"))

    class Meta:
        model = Activity
        fields = [
            "id",
            "team",
            "team_name",
            "title",
            "kind",
            "date",
            "start_time",
            "end_time",
            "place_code",
            "people_served",
            "description",
            "created_at",
        ]


class ActivityFilter(UnderFilterSet):
    date_from = filters.DateFilter(field_name="date", lookup_expr="gte", help_text=_("不早于"))
    date_to = filters.DateFilter(field_name="date", lookup_expr="lte", help_text=_("不晚于"))

    class Meta:
        model = Activity
        fields = ["team", "kind", "under", "date_from", "date_to"]


@extend_schema(tags=[_("志愿服务")])
@extend_schema_view(
    list=extend_schema(summary=_("志愿服务活动")),
    retrieve=extend_schema(
        summary=_("一次活动"), responses={200: ActivitySerializer, 404: NOT_FOUND}
    ),
)
class ActivityViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ActivitySerializer
    filterset_class = ActivityFilter
    pagination_class = OrgUnitPagination
    queryset = Activity.objects.none()
    lookup_value_regex = ID_REGEX

    def get_queryset(self):
        return (
            Activity.objects.visible_to(self.request.user)
            .select_related("team", "place")
            .order_by("-date", "-start_time", "-id")
        )


class AttendanceSerializer(serializers.ModelSerializer):
    volunteer_name = serializers.CharField(source="volunteer.name", help_text=_("志愿者姓名"))
    activity_title = serializers.CharField(source="activity.title", help_text=_("活动名称"))
    activity_date = serializers.DateField(source="activity.date", help_text=_("活动日期"))
    hours = serializers.DecimalField(max_digits=4, decimal_places=1, coerce_to_string=False)
    confirmed_at = serializers.DateTimeField(
        allow_null=True, help_text=_("确认时间；待确认为 null")
    )

    class Meta:
        model = Attendance
        fields = [
            "id",
            "activity",
            "activity_title",
            "activity_date",
            "volunteer",
            "volunteer_name",
            "hours",
            "status",
            "confirmed_at",
            "reject_reason",
        ]


class AttendanceFilter(UnderFilterSet):
    class Meta:
        model = Attendance
        fields = ["activity", "volunteer", "status", "under"]


class ConfirmSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        min_length=1,
        max_length=BULK_MAX,
        help_text=_("要确认的服务时长编号（全部成功或全部不变）"),
    )


class ConfirmedSerializer(serializers.Serializer):
    confirmed = serializers.IntegerField(help_text=_("确认的条数"))


class RejectSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        min_length=1,
        max_length=BULK_MAX,
        help_text=_("要退回的服务时长编号（全部成功或全部不变）"),
    )
    reason = CleanCharField(max_length=200, help_text=_("未通过的原因"))


class RejectedSerializer(serializers.Serializer):
    rejected = serializers.IntegerField(help_text=_("退回的条数"))


@extend_schema(tags=[_("志愿服务")])
@extend_schema_view(
    list=extend_schema(
        summary=_("服务时长"), description=_("只有已确认（CONFIRMED）的时长计入统计和积分。")
    ),
    retrieve=extend_schema(
        summary=_("一条服务时长"), responses={200: AttendanceSerializer, 404: NOT_FOUND}
    ),
)
class AttendanceViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = AttendanceSerializer
    filterset_class = AttendanceFilter
    pagination_class = OrgUnitPagination
    queryset = Attendance.objects.none()
    lookup_value_regex = ID_REGEX

    def get_queryset(self):
        return (
            Attendance.objects.visible_to(self.request.user)
            .select_related("activity", "volunteer")
            .order_by("-activity__date", "activity_id", "id")
        )

    @extend_schema(
        summary=_("批量确认服务时长"),
        description=_("队长或乡镇工作人员确认待确认的时长，并按每小时积分标准计入积分。"),
        request=ConfirmSerializer,
        responses={200: ConfirmedSerializer, **WRITE_ERRORS},
    )
    # JSON only: a form-encoded list of up to BULK_MAX ids would pass Django's field limit.
    @action(
        detail=False,
        methods=["post"],
        filterset_class=None,
        pagination_class=None,
        parser_classes=[JSONParser],
    )
    def confirm(self, request):
        serializer = ConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            rows = activity_service.hours_confirm(
                user=request.user, attendance_ids=serializer.validated_data["ids"]
            )
        return Response({"confirmed": len(rows)})

    @extend_schema(
        summary=_("批量退回服务时长"),
        description=_("队长或乡镇工作人员退回待确认的时长（须写明原因），不计入统计和积分。"),
        request=RejectSerializer,
        responses={200: RejectedSerializer, **WRITE_ERRORS},
    )
    @action(
        detail=False,
        methods=["post"],
        filterset_class=None,
        pagination_class=None,
        parser_classes=[JSONParser],
    )
    def reject(self, request):
        serializer = RejectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            rows = activity_service.hours_reject(
                user=request.user,
                attendance_ids=serializer.validated_data["ids"],
                reason=serializer.validated_data["reason"],
            )
        return Response({"rejected": len(rows)})


# Service orders -------------------------------------------------------------------------


class OrderSerializer(serializers.ModelSerializer):
    unit_code = serializers.CharField(source="unit.code", help_text=_("服务地点单位编码"))
    team_name = serializers.CharField(source="team.name", allow_null=True, help_text=_("承接队伍"))
    team = serializers.IntegerField(source="team_id", allow_null=True, help_text=_("承接队伍编号"))
    deadline = serializers.DateField(allow_null=True, help_text=_("完成期限"))
    wanted_on = serializers.DateField(allow_null=True, help_text=_("期望服务日期"))
    dispatched_at = serializers.DateTimeField(allow_null=True)
    accepted_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    satisfaction = serializers.IntegerField(
        allow_null=True, help_text=_("满意度 1-5；未评价为 null")
    )
    is_overdue = serializers.SerializerMethodField(help_text=_("已派单或已接单且超过完成期限"))
    resident_name = serializers.SerializerMethodField(
        help_text=_("居民姓名；领导、审计等只读角色看到的是隐去部分的姓名（张*华）")
    )
    resident_phone = serializers.SerializerMethodField(help_text=_("联系电话（中间四位隐藏）"))

    class Meta:
        model = ServiceOrder
        fields = [
            "id",
            "number",
            "unit_code",
            "category",
            "description",
            "resident_name",
            "resident_phone",
            "wanted_on",
            "status",
            "team",
            "team_name",
            "deadline",
            "dispatched_at",
            "accepted_at",
            "completed_at",
            "satisfaction",
            "is_overdue",
            "created_at",
        ]

    def get_is_overdue(self, order) -> bool:
        return order.is_overdue_on(timezone.localdate())

    def get_resident_name(self, order) -> str:
        request = self.context.get("request")
        if request is not None and order_service.shows_resident(request.user):
            return order.resident_name
        return mask_name(order.resident_name)

    def get_resident_phone(self, order) -> str:
        return mask_phone(order.resident_phone)


class OrderCreateSerializer(serializers.Serializer):
    unit = VisibleUnitField(help_text=_("服务地点：村(社区)、小区或楼栋的单位编码"))
    category = serializers.ChoiceField(choices=ServiceOrder.Category.choices)
    description = CleanCharField(max_length=1000, multiline=True)
    resident_name = CleanCharField(max_length=50)
    resident_phone = CleanCharField(max_length=20, required=False, default="")
    wanted_on = serializers.DateField(required=False, allow_null=True, default=None)


@extend_schema_field(OpenApiTypes.INT)
class TeamField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return Team.objects.visible_to(self.context["request"].user).active()


class OrderDispatchSerializer(serializers.Serializer):
    team = TeamField(help_text=_("承接队伍编号（管辖范围内、在册）"))
    deadline = serializers.DateField(help_text=_("完成期限，不早于今天"))


class OrderNoteSerializer(serializers.Serializer):
    note = CleanCharField(max_length=500, required=False, default="")


class RateSerializer(serializers.Serializer):
    satisfaction = serializers.IntegerField(min_value=1, max_value=5)
    note = CleanCharField(max_length=500, required=False, default="")


class CancelSerializer(serializers.Serializer):
    reason = CleanCharField(max_length=500, help_text=_("取消原因"))


class EmptySerializer(serializers.Serializer):
    pass


class StepSerializer(serializers.ModelSerializer):
    class Meta:
        model = ServiceOrderStep
        fields = ["id", "action", "from_status", "to_status", "actor_name", "note", "occurred_at"]


class OrderFilter(UnderFilterSet):
    overdue = filters.BooleanFilter(method="filter_overdue", help_text=_("true：只列出逾期的订单"))

    class Meta:
        model = ServiceOrder
        fields = ["status", "category", "team", "under", "overdue"]

    def filter_overdue(self, queryset, name, value):
        overdue = queryset.overdue_on(timezone.localdate())
        return overdue if value else queryset.exclude(pk__in=overdue.values("pk"))


def order_action_schema(summary, request):
    return extend_schema(
        summary=summary, request=request, responses={200: OrderSerializer, **WRITE_ERRORS}
    )


@extend_schema(tags=[_("志愿服务")])
@extend_schema_view(
    list=extend_schema(summary=_("服务订单（点单派单）")),
    retrieve=extend_schema(
        summary=_("一个服务订单"), responses={200: OrderSerializer, 404: NOT_FOUND}
    ),
)
class ServiceOrderViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    pagination_class = OrgUnitPagination
    queryset = ServiceOrder.objects.none()
    lookup_value_regex = ID_REGEX

    def get_queryset(self):
        return (
            ServiceOrder.objects.visible_to(self.request.user)
            .select_related("unit", "team")
            .order_by("-created_at", "-id")
        )

    def _answer(self, order, code=status.HTTP_200_OK):
        order = self.get_queryset().get(pk=order.pk)
        return Response(self.get_serializer(order).data, status=code)

    @extend_schema(
        summary=_("登记居民点单"),
        request=OrderCreateSerializer,
        responses={201: OrderSerializer, **WRITE_ERRORS},
    )
    def create(self, request):
        serializer = OrderCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        with service_errors():
            order = order_service.order_create(user=request.user, **serializer.validated_data)
        return self._answer(order, status.HTTP_201_CREATED)

    def _run(self, function, serializer_class):
        order = self.get_object()
        serializer = serializer_class(data=self.request.data, context={"request": self.request})
        serializer.is_valid(raise_exception=True)
        with service_errors():
            function(user=self.request.user, order=order, **serializer.validated_data)
        return self._answer(order)

    @order_action_schema(_("派单（待派单 → 已派单）"), OrderDispatchSerializer)
    @action(detail=True, methods=["post"], url_path="dispatch", filterset_class=None)
    def dispatch_order(self, request, pk=None):
        return self._run(order_service.order_dispatch, OrderDispatchSerializer)

    @order_action_schema(_("接单（已派单 → 已接单）"), EmptySerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def accept(self, request, pk=None):
        return self._run(order_service.order_accept, EmptySerializer)

    @order_action_schema(_("办结（已接单 → 已完成）"), OrderNoteSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def complete(self, request, pk=None):
        return self._run(order_service.order_complete, OrderNoteSerializer)

    @order_action_schema(_("居民评价（已完成，一次）"), RateSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def rate(self, request, pk=None):
        return self._run(order_service.order_rate, RateSerializer)

    @order_action_schema(_("取消（未完成的订单）"), CancelSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def cancel(self, request, pk=None):
        return self._run(order_service.order_cancel, CancelSerializer)

    @extend_schema(
        summary=_("订单的办理记录"),
        filters=False,
        responses={200: StepSerializer(many=True), 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def steps(self, request, pk=None):
        order = self.get_object()
        steps = ServiceOrderStep.objects.visible_to(request.user).filter(order=order)
        page = self.paginate_queryset(steps)
        return self.get_paginated_response(StepSerializer(page, many=True).data)


def register(router) -> None:
    """The volunteers endpoints on the portal's API router."""
    router.register("volunteer-teams", TeamViewSet, basename="volunteer-team")
    router.register("volunteers", VolunteerViewSet, basename="volunteer")
    router.register("volunteer-activities", ActivityViewSet, basename="volunteer-activity")
    router.register("volunteer-attendance", AttendanceViewSet, basename="volunteer-attendance")
    router.register("volunteer-points", PointsEntryViewSet, basename="volunteer-points")
    router.register("service-orders", ServiceOrderViewSet, basename="service-order")
