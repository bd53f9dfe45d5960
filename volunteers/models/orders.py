"""Service orders (业主点单、党组织派单): a resident's request dispatched to a team."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branches.models import OrgUnit
from volunteers.models.teams import Team, VolunteerRecordQuerySet


class ServiceOrderQuerySet(VolunteerRecordQuerySet):
    def open(self):
        return self.filter(status__in=ServiceOrder.OPEN_STATUSES)

    def overdue_on(self, today):
        """Dispatched or accepted, past the deadline on `today`."""
        return self.filter(
            status__in=(ServiceOrder.Status.DISPATCHED, ServiceOrder.Status.ACCEPTED),
            deadline__lt=today,
        )


class ServiceOrder(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "REQUESTED", _("待派单")
        DISPATCHED = "DISPATCHED", _("已派单")
        ACCEPTED = "ACCEPTED", _("已接单")
        DONE = "DONE", _("已完成")
        CANCELLED = "CANCELLED", _("已取消")

    class Category(models.TextChoices):
        ELDERLY = "ELDERLY", _("助老助残")
        REPAIR = "REPAIR", _("便民维修")
        HEALTH = "HEALTH", _("健康义诊")
        LEGAL = "LEGAL", _("法律咨询")
        ENVIRONMENT = "ENVIRONMENT", _("环境卫生")
        EDUCATION = "EDUCATION", _("教育辅导")
        OTHER = "OTHER", _("其他")

    OPEN_STATUSES = (Status.REQUESTED, Status.DISPATCHED, Status.ACCEPTED)

    number = models.CharField(_("单号"), max_length=20, unique=True)
    unit = models.ForeignKey(
        OrgUnit, verbose_name=_("服务地点"), related_name="service_orders", on_delete=models.PROTECT
    )
    category = models.CharField(_("服务类别"), max_length=12, choices=Category.choices)
    description = models.TextField(_("需求描述"), max_length=1000)
    resident_name = models.CharField(_("居民姓名"), max_length=50)
    resident_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    wanted_on = models.DateField(_("期望服务日期"), null=True, blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.REQUESTED
    )
    team = models.ForeignKey(
        Team,
        verbose_name=_("承接队伍"),
        related_name="orders",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    deadline = models.DateField(_("完成期限"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("派单时间"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("接单时间"), null=True, blank=True)
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    satisfaction = models.PositiveSmallIntegerField(_("满意度(1-5)"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)

    history = HistoricalRecords()
    objects = ServiceOrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("服务订单")
        verbose_name_plural = _("服务订单")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="order_dispatched_has_team",
                condition=models.Q(status__in=["REQUESTED", "CANCELLED"])
                | models.Q(team__isnull=False, deadline__isnull=False, dispatched_at__isnull=False),
            ),
            models.CheckConstraint(
                name="order_done_has_time",
                condition=~models.Q(status="DONE") | models.Q(completed_at__isnull=False),
            ),
            models.CheckConstraint(
                name="order_satisfaction_1_to_5",
                condition=models.Q(satisfaction__isnull=True)
                | models.Q(satisfaction__gte=1, satisfaction__lte=5, status="DONE"),
            ),
        ]
        indexes = [
            # The queue: orders by status; the on-time metric: orders by deadline.
            models.Index(fields=["status", "deadline"], name="order_status_deadline_idx"),
            models.Index(fields=["deadline"], name="order_deadline_idx"),
        ]

    def __str__(self):
        return f"{self.number} {self.get_category_display()}"

    def is_overdue_on(self, today) -> bool:
        return (
            self.status in (self.Status.DISPATCHED, self.Status.ACCEPTED)
            and self.deadline is not None
            and self.deadline < today
        )

    @property
    def is_done_on_time(self) -> bool:
        return (
            self.status == self.Status.DONE
            and self.deadline is not None
            and timezone.localdate(self.completed_at) <= self.deadline
        )


class ServiceOrderStepQuerySet(VolunteerRecordQuerySet):
    path_lookup = "order__unit__path"


class ServiceOrderStep(models.Model):
    """Every workflow step of an order: who, when, from which status to which, why."""

    class Action(models.TextChoices):
        CREATED = "CREATED", _("登记")
        DISPATCHED = "DISPATCHED", _("派单")
        ACCEPTED = "ACCEPTED", _("接单")
        DONE = "DONE", _("完成")
        RATED = "RATED", _("评价")
        CANCELLED = "CANCELLED", _("取消")

    order = models.ForeignKey(
        ServiceOrder, verbose_name=_("服务订单"), related_name="steps", on_delete=models.CASCADE
    )
    action = models.CharField(_("操作"), max_length=12, choices=Action.choices)
    from_status = models.CharField(
        _("原状态"), max_length=10, choices=ServiceOrder.Status.choices, blank=True
    )
    to_status = models.CharField(
        _("新状态"), max_length=10, choices=ServiceOrder.Status.choices, blank=True
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    actor_name = models.CharField(_("操作人姓名"), max_length=150, blank=True)
    note = models.CharField(_("说明"), max_length=500, blank=True)
    occurred_at = models.DateTimeField(_("时间"), default=timezone.now)

    objects = ServiceOrderStepQuerySet.as_manager()

    class Meta:
        verbose_name = _("服务订单流程记录")
        verbose_name_plural = _("服务订单流程记录")
        ordering = ["occurred_at", "id"]
        indexes = [
            models.Index(fields=["order", "occurred_at"], name="orderstep_order_time_idx"),
        ]

    def __str__(self):
        return f"{self.order} {self.get_action_display()}"
