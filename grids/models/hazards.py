"""The hazard ledger (安全隐患排查台账): entries closed (销号) only with evidence."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from grids.models.grids import Grid
from grids.models.households import Visit
from grids.models.scope import GridScopedQuerySet


class HazardQuerySet(GridScopedQuerySet):
    def open(self):
        return self.filter(status=Hazard.Status.OPEN)

    def overdue_on(self, today):
        return self.open().filter(deadline__lt=today)


class Hazard(models.Model):
    class Kind(models.TextChoices):
        FIRE = "FIRE", _("消防")
        GAS = "GAS", _("燃气")
        EBIKE = "EBIKE", _("电动车充电")
        DANGEROUS_HOUSE = "DANGEROUS_HOUSE", _("危房")
        OTHER = "OTHER", _("其他")

    class Risk(models.TextChoices):
        LOW = "LOW", _("一般")
        MEDIUM = "MEDIUM", _("较大")
        HIGH = "HIGH", _("重大")

    class Source(models.TextChoices):
        VISIT = "VISIT", _("走访发现")
        INSPECTION = "INSPECTION", _("排查检查")

    class Status(models.TextChoices):
        OPEN = "OPEN", _("整改中")
        CLOSED = "CLOSED", _("已销号")

    number = models.CharField(_("台账编号"), max_length=20, unique=True)
    grid = models.ForeignKey(
        Grid, verbose_name=_("网格"), related_name="hazards", on_delete=models.PROTECT
    )
    visit = models.ForeignKey(
        Visit,
        verbose_name=_("发现于走访"),
        related_name="hazards",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    source = models.CharField(_("来源"), max_length=10, choices=Source.choices)
    place = models.CharField(_("隐患位置"), max_length=200)
    kind = models.CharField(_("隐患类别"), max_length=16, choices=Kind.choices)
    risk = models.CharField(_("风险等级"), max_length=8, choices=Risk.choices, default=Risk.LOW)
    description = models.TextField(_("隐患描述"), max_length=2000)
    found_on = models.DateField(_("发现日期"))
    deadline = models.DateField(_("整改期限"))
    responsible_name = models.CharField(_("整改责任人"), max_length=50)
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.OPEN)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    closed_on = models.DateField(_("销号日期"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("销号人"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    close_note = models.TextField(_("整改情况"), max_length=2000, blank=True)
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    history = HistoricalRecords()
    objects = HazardQuerySet.as_manager()

    class Meta:
        verbose_name = _("安全隐患")
        verbose_name_plural = _("安全隐患台账")
        ordering = ["-found_on", "-id"]
        constraints = [
            models.CheckConstraint(
                name="hazard_deadline_after_found",
                condition=models.Q(deadline__gte=models.F("found_on")),
            ),
            models.CheckConstraint(
                name="hazard_closed_has_day",
                condition=~models.Q(status="CLOSED") | models.Q(closed_on__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["grid", "status", "deadline"], name="hazard_grid_status_idx"),
        ]

    def __str__(self):
        return f"{self.number} {self.place}"

    def is_overdue_on(self, today) -> bool:
        return self.status == self.Status.OPEN and self.deadline < today

    @property
    def closed_on_time(self) -> bool | None:
        if self.closed_on is None:
            return None
        return self.closed_on <= self.deadline


class HazardRecordQuerySet(GridScopedQuerySet):
    path_lookup = "hazard__grid__unit__path"
    grid_lookup = "hazard__grid_id"


class HazardStep(models.Model):
    class Action(models.TextChoices):
        RECORDED = "RECORDED", _("登记")
        EVIDENCE_ADDED = "EVIDENCE_ADDED", _("上传整改佐证")
        CLOSED = "CLOSED", _("销号")

    hazard = models.ForeignKey(
        Hazard, verbose_name=_("隐患"), related_name="steps", on_delete=models.CASCADE
    )
    action = models.CharField(_("操作"), max_length=16, choices=Action.choices)
    from_status = models.CharField(
        _("原状态"), max_length=8, choices=Hazard.Status.choices, blank=True
    )
    to_status = models.CharField(
        _("新状态"), max_length=8, choices=Hazard.Status.choices, blank=True
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

    objects = HazardRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("隐患流程记录")
        verbose_name_plural = _("隐患流程记录")
        ordering = ["occurred_at", "id"]

    def __str__(self):
        return f"{self.hazard_id} {self.get_action_display()}"


def hazard_evidence_upload_to(instance, filename):
    hazard = instance.hazard
    return f"grids/hazards/{hazard.found_on:%Y/%m}/{hazard.number}/{filename}"


class HazardEvidence(models.Model):
    hazard = models.ForeignKey(
        Hazard, verbose_name=_("隐患"), related_name="evidence", on_delete=models.CASCADE
    )
    file = models.FileField(_("文件"), upload_to=hazard_evidence_upload_to)
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
    objects = HazardRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("隐患整改佐证")
        verbose_name_plural = _("隐患整改佐证")
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return self.original_name
