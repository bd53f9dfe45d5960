from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth import authenticate, user_logged_in
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.decorators import (
    action,
    api_view,
    authentication_classes,
    permission_classes,
)
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.views import exception_handler as drf_exception_handler

from branches.api.assignments import AssignmentViewSet, PairingViewSet
from branches.api.criteria import CriteriaSetViewSet
from branches.api.fields import DetailSerializer, PeriodField
from branches.api.ratings import RatingViewSet
from branches.api.rectification import RectificationViewSet
from branches.api.reports import MonthlyReportViewSet
from branches.api.units import OrgUnitPagination, OrgUnitViewSet
from disputes import api as dispute_api
from governance.models import Notification, User
from governance.services.notifications import (
    notification_mark_read,
    notifications_mark_all_read,
)
from governance.supervision_api import SupervisionReportViewSet
from governance.views import get_notification_for_user
from grids import api as grids_api
from volunteers import api as volunteers_api

NOT_FOUND = _("未找到：该对象不存在，或不在您的管辖范围内。")


def exception_handler(exc, context):
    """DRF's answers, but a missing object says so in Chinese and never names the model
    (Django's Http404 text is "No OrgUnit matches the given query.")."""
    response = drf_exception_handler(exc, context)
    if response is not None and response.status_code == status.HTTP_404_NOT_FOUND:
        response.data = {"detail": str(NOT_FOUND)}
    return response


class LockedOut(exceptions.APIException):
    """django-axes refused the attempt: too many failures for this username and address."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"

    def __init__(self, request):
        cool_off = get_cool_off(request)
        if cool_off is None:
            detail = _("登录失败次数过多，账号已被锁定。请联系系统管理员解锁。")
        else:
            # DRF turns `wait` into a Retry-After header.
            self.wait = cool_off.total_seconds()
            detail = _(
                "登录失败次数过多，账号已暂时锁定。"
                "请 %(minutes)d 分钟后再试，或联系系统管理员解锁。"
            ) % {"minutes": max(1, round(self.wait / 60))}
        super().__init__(detail)


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(label=_("用户名"), help_text=_("门户登录用户名"))
    password = serializers.CharField(
        label=_("密码"),
        help_text=_("门户登录密码"),
        style={"input_type": "password"},
        trim_whitespace=False,
        write_only=True,
    )

    def validate(self, attrs):
        request = self.context["request"]
        # The axes backend runs first: it refuses a locked username/address pair, and
        # the failure signal it listens to counts API attempts like web logins.
        user = authenticate(request=request, username=attrs["username"], password=attrs["password"])
        if user is None:
            if getattr(request, "axes_locked_out", False):
                raise LockedOut(request)
            raise serializers.ValidationError(
                _("用户名或密码不正确，请检查后重试；连续输错 %(limit)d 次账号将被暂时锁定。")
                % {"limit": settings.AXES_FAILURE_LIMIT},
                code="authorization",
            )
        attrs["user"] = user
        return attrs


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(
        help_text=_("访问令牌：请求时放在请求头 Authorization: Token <令牌> 中")
    )


@extend_schema(
    tags=[_("认证")],
    summary=_("获取访问令牌"),
    description=_(
        "用门户用户名和密码换取访问令牌；同一用户多次获取得到同一个令牌。"
        "连续输错密码达到上限后，该用户名在该地址上被暂时锁定，期间即使密码正确也会被拒绝。"
    ),
    request=TokenRequestSerializer,
    responses={
        200: TokenSerializer,
        400: OpenApiResponse(description=_("用户名或密码不正确，或缺少必填项")),
        429: OpenApiResponse(DetailSerializer, description=_("登录失败次数过多，已被暂时锁定")),
    },
    auth=[],
)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
def token_obtain(request):
    serializer = TokenRequestSerializer(data=request.data, context={"request": request})
    serializer.is_valid(raise_exception=True)
    user = serializer.validated_data["user"]
    token, _created = Token.objects.get_or_create(user=user)
    # A token is a login: axes clears the failure count and last_login is stamped,
    # as for the web login form.
    user_logged_in.send(sender=user.__class__, request=request, user=user)
    return Response({"token": token.key})


class MeSerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(source="get_full_name", help_text=_("姓名"))
    role_display = serializers.CharField(source="get_role_display", help_text=_("角色名称"))
    unit_code = serializers.CharField(
        source="unit.code", allow_null=True, help_text=_("管辖单位编码；系统管理员为 null（全省）")
    )
    unit_name = serializers.CharField(
        source="unit.name", allow_null=True, help_text=_("管辖单位名称")
    )
    is_read_only = serializers.BooleanField(help_text=_("只读角色（领导、审计）不能修改任何记录"))
    can_edit_units = serializers.BooleanField(help_text=_("能否维护单位信息（书记、党员数等）"))

    class Meta:
        model = User
        fields = [
            "username",
            "full_name",
            "role",
            "role_display",
            "unit_code",
            "unit_name",
            "is_read_only",
            "can_edit_units",
        ]
        read_only_fields = fields
        extra_kwargs = {"username": {"help_text": _("用户名")}}


@extend_schema(
    tags=[_("认证")],
    summary=_("当前用户"),
    description=_("返回调用者的用户名、角色和管辖单位，便于对接方确认令牌对应的账号和数据范围。"),
    responses=MeSerializer,
)
@api_view(["GET"])
def me(request):
    return Response(MeSerializer(request.user).data)


class NotificationSerializer(serializers.ModelSerializer):
    is_read = serializers.BooleanField(help_text=_("是否已读"))
    message = serializers.CharField(
        help_text=_("通知内容：报表通知写明哪个支部哪个月的报表、谁、做了什么、原因")
    )
    action = serializers.CharField(
        source="event.action",
        allow_null=True,
        help_text=_("报表通知：RETURNED 退回，APPROVED 审核通过，UNLOCKED 解锁；其他通知为 null"),
    )
    action_display = serializers.CharField(
        source="event.get_action_display", allow_null=True, help_text=_("操作名称")
    )
    reason = serializers.CharField(
        source="event.reason", allow_null=True, help_text=_("退回或解锁的原因")
    )
    report = serializers.IntegerField(
        source="event.report_id", allow_null=True, help_text=_("报表编号；其他通知为 null")
    )
    unit_code = serializers.SerializerMethodField(help_text=_("单位编码"))
    unit_name = serializers.SerializerMethodField(help_text=_("单位名称"))
    period = PeriodField(source="event.report.period", allow_null=True)
    url = serializers.CharField(help_text=_("其他通知所指的页面（门户内路径）；报表通知为空"))

    class Meta:
        model = Notification
        fields = [
            "id",
            "created_at",
            "read_at",
            "is_read",
            "message",
            "action",
            "action_display",
            "reason",
            "report",
            "unit_code",
            "unit_name",
            "period",
            "url",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "created_at": {"help_text": _("时间（报表操作发生的时间）")},
            "read_at": {"help_text": _("标为已读的时间；未读为 null")},
        }

    def _unit(self, notification):
        return notification.event.report.unit if notification.event else notification.unit

    def get_unit_code(self, notification) -> str:
        return self._unit(notification).code

    def get_unit_name(self, notification) -> str:
        return self._unit(notification).name


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text=_("本次标为已读的通知条数"))


class NotificationFilter(filters.FilterSet):
    unread = filters.ChoiceFilter(
        choices=[("true", _("只列出未读通知")), ("false", _("只列出已读通知"))],
        method="filter_unread",
        help_text=_("true 只列出未读通知，false 只列出已读通知；省略时全部列出"),
    )

    class Meta:
        model = Notification
        fields = []

    def filter_unread(self, queryset, name, value):
        return queryset.filter(read_at__isnull=value == "true")


NOTIFICATION_NOT_FOUND = OpenApiResponse(
    DetailSerializer, description=_("通知不存在，或不是发给您的")
)


@extend_schema_view(
    list=extend_schema(
        summary=_("我的通知"),
        description=_(
            "列出发给调用者本人的站内通知（报表被退回、审核通过、解锁），按时间倒序分页返回；"
            "通知保留 90 天。"
        ),
    ),
    retrieve=extend_schema(
        summary=_("一条通知"),
        description=_("发给调用者本人的一条通知；别人的通知返回 404。"),
        responses={200: NotificationSerializer, 404: NOTIFICATION_NOT_FOUND},
    ),
)
@extend_schema(tags=[_("通知")])
class NotificationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    filterset_class = NotificationFilter
    pagination_class = OrgUnitPagination
    serializer_class = NotificationSerializer
    queryset = Notification.objects.none()

    def get_queryset(self):
        return Notification.objects.visible_to(self.request.user).select_related(
            "event__report__unit", "unit"
        )

    def get_object(self):
        pk = self.kwargs["pk"]
        if not str(pk).isdigit():
            raise exceptions.NotFound
        return get_notification_for_user(self.request.user, int(pk))

    @extend_schema(
        summary=_("标为已读"),
        description=_("把发给调用者本人的一条通知标为已读；已读的再标一次不变。"),
        request=None,
        responses={200: NotificationSerializer, 404: NOTIFICATION_NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = notification_mark_read(notification=self.get_object())
        return Response(self.get_serializer(notification).data)

    @extend_schema(
        summary=_("全部标为已读"),
        description=_("把调用者本人的全部未读通知标为已读，返回标记的条数。"),
        request=None,
        responses={200: MarkedSerializer},
        filters=False,
    )
    @action(detail=False, methods=["post"], url_path="read-all", filter_backends=[])
    def read_all(self, request):
        return Response({"marked": notifications_mark_all_read(user=request.user)})


router = DefaultRouter()
router.register("units", OrgUnitViewSet, basename="unit")
router.register("criteria-sets", CriteriaSetViewSet, basename="criteria-set")
router.register("reports", MonthlyReportViewSet, basename="report")
router.register("ratings", RatingViewSet, basename="rating")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("rectifications", RectificationViewSet, basename="rectification")
router.register("assignments", AssignmentViewSet, basename="assignment")
router.register("pairings", PairingViewSet, basename="pairing")
router.register("supervision-reports", SupervisionReportViewSet, basename="supervision-report")
# The grids app's endpoints (grids, households, visits, grid-events, hazards).
grids_api.register(router)
volunteers_api.register(router)
# The dispute ledger (disputes app).
router.register("disputes/cases", dispute_api.CaseViewSet, basename="dispute-case")
router.register("disputes/sessions", dispute_api.SessionViewSet, basename="dispute-session")
router.register("disputes/teams", dispute_api.TeamViewSet, basename="dispute-team")

api_urlpatterns = [
    path("auth/token/", token_obtain, name="api-token"),
    path("me/", me, name="api-me"),
    path("", include(router.urls)),
]
