"""Reported events (事件上报): 信息收集、诉求上传、任务下派、结果反馈, every step a row."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branches.models import OrgUnit
from grids.models.grids import Grid
from grids.models.households import Household
from grids.models.scope import GridScopedQuerySet


class GridEventQuerySet(GridScopedQuerySet):
    def open(self):
        return self.filter(status__in=GridEvent.OPEN_STATUSES)

    def overdue_on(self, today):
        """Open events past their deadline on `today`."""
        return self.open().filter(deadline__lt=today)


class GridEvent(models.Model):
    """One event a grid worker (or anyone in the grid) reported, and its handling."""

    class Status(models.TextChoices):
        REPORTED = "REPORTED", _("已上报")
        ACCEPTED = "ACCEPTED", _("已受理")
        DISPATCHED = "DISPATCHED", _("已派单")
        HANDLED = "HANDLED", _("已处置")
        FEEDBACK = "FEEDBACK", _("已反馈")
        CLOSED = "CLOSED", _("已办结")
        RETURNED = "RETURNED", _("已退回")
        CONVERTED = "CONVERTED", _("已转为纠纷案件")

    class Category(models.TextChoices):
        DISPUTE = "DISPUTE", _("矛盾纠纷")
        SAFETY = "SAFETY", _("安全隐患")
        ENVIRONMENT = "ENVIRONMENT", _("环境卫生")
        FACILITY = "FACILITY", _("设施损坏")
        LIVELIHOOD = "LIVELIHOOD", _("民生诉求")
        OTHER = "OTHER", _("其他")

    OPEN_STATUSES = (Status.REPORTED, Status.ACCEPTED, Status.DISPATCHED, Status.HANDLED)
    FINAL_STATUSES = (Status.CLOSED, Status.RETURNED, Status.CONVERTED)

    number = models.CharField(_("事件编号"), max_length=20, unique=True)
    grid = models.ForeignKey(
        Grid, verbose_name=_("网格"), related_name="events", on_delete=models.PROTECT
    )
    household = models.ForeignKey(
        Household,
        verbose_name=_("涉及住户"),
        related_name="events",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    category = models.CharField(_("类别"), max_length=12, choices=Category.choices)
    description = models.TextField(_("事件描述"), max_length=2000)
    location = models.CharField(_("地点"), max_length=200, blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.REPORTED
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上报人"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    reporter_name = models.CharField(_("上报人姓名"), max_length=150, blank=True)
    reported_at = models.DateTimeField(_("上报时间"), default=timezone.now)
    assignee_unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("承办单位"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    assignee_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("承办人"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    deadline = models.DateField(_("办理期限"), null=True, blank=True)
    handled_at = models.DateTimeField(_("处置时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    result = models.TextField(_("处置结果"), max_length=2000, blank=True)
    # Set when another app (the disputes app) took the event over: its case and page.
    converted_reference = models.CharField(_("转办案件编号"), max_length=40, blank=True)
    converted_url = models.CharField(_("转办案件链接"), max_length=300, blank=True)
    version = models.PositiveIntegerField(_("版本号"), default=1)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    history = HistoricalRecords()
    objects = GridEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("上报事件")
        verbose_name_plural = _("上报事件")
        ordering = ["-reported_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="gridevent_dispatch_has_deadline",
                condition=~models.Q(status="DISPATCHED") | models.Q(deadline__isnull=False),
            ),
        ]
        indexes = [
            # The township's queue: events by status, newest first.
            models.Index(fields=["status", "-reported_at"], name="gridevent_status_idx"),
            # The metrics: events of a window, by grid.
            models.Index(fields=["reported_at", "grid"], name="gridevent_time_grid_idx"),
            models.Index(fields=["grid", "-reported_at"], name="gridevent_grid_idx"),
        ]

    def __str__(self):
        return f"{self.number} {self.get_category_display()}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    def is_overdue_on(self, today) -> bool:
        return self.is_open and self.deadline is not None and self.deadline < today


class GridEventStepQuerySet(GridScopedQuerySet):
    path_lookup = "event__grid__unit__path"
    grid_lookup = "event__grid_id"


class GridEventStep(models.Model):
    """One step of an event: who, when, from which status to which, and a note."""

    class Action(models.TextChoices):
        REPORTED = "REPORTED", _("上报")
        ACCEPTED = "ACCEPTED", _("受理")
        DISPATCHED = "DISPATCHED", _("派单")
        HANDLED = "HANDLED", _("处置")
        FEEDBACK = "FEEDBACK", _("反馈")
        CLOSED = "CLOSED", _("办结")
        RETURNED = "RETURNED", _("退回")
        CONVERTED = "CONVERTED", _("转为纠纷案件")
        PHOTO_ADDED = "PHOTO_ADDED", _("添加照片")

    event = models.ForeignKey(
        GridEvent, verbose_name=_("事件"), related_name="steps", on_delete=models.CASCADE
    )
    action = models.CharField(_("操作"), max_length=12, choices=Action.choices)
    from_status = models.CharField(
        _("原状态"), max_length=10, choices=GridEvent.Status.choices, blank=True
    )
    to_status = models.CharField(
        _("新状态"), max_length=10, choices=GridEvent.Status.choices, blank=True
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
    note = models.TextField(_("说明"), blank=True)
    occurred_at = models.DateTimeField(_("时间"), default=timezone.now)

    objects = GridEventStepQuerySet.as_manager()

    class Meta:
        verbose_name = _("事件流程记录")
        verbose_name_plural = _("事件流程记录")
        ordering = ["occurred_at", "id"]
        indexes = [
            models.Index(fields=["event", "occurred_at"], name="gridevent_step_time_idx"),
        ]

    def __str__(self):
        return f"{self.event_id} {self.get_action_display()}"


def event_photo_upload_to(instance, filename):
    event = instance.event
    return f"grids/events/{event.reported_at:%Y/%m}/{event.number}/{filename}"


class GridEventPhoto(models.Model):
    event = models.ForeignKey(
        GridEvent, verbose_name=_("事件"), related_name="photos", on_delete=models.CASCADE
    )
    file = models.FileField(_("文件"), upload_to=event_photo_upload_to)
    original_name = models.CharField(_("原文件名"), max_length=200)
    size = models.PositiveIntegerField(_("大小(字节)"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上传人"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    uploaded_at = models.DateTimeField(_("上传时间"), default=timezone.now)

    history = HistoricalRecords()
    objects = GridEventStepQuerySet.as_manager()

    class Meta:
        verbose_name = _("事件照片")
        verbose_name_plural = _("事件照片")
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return self.original_name
