"""Rectification lists (问题清单): a gap of a branch to fix by a deadline, with its evidence
and timeline. Verified automatically by the recompute (branches/services/rectification.py)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branches.models.criteria import Criterion
from branches.models.reports import UnitScopedQuerySet
from branches.models.units import OrgUnit


class RectificationQuerySet(UnitScopedQuerySet):
    """Items scoped by their branch's live path; grid workers have no business with them."""

    path_lookup = "branch__path"

    def role_may_read(self, user) -> bool:
        return getattr(user, "can_read_rectifications", False)

    def open(self):
        """Not yet closed: 待整改, 整改中 or 逾期."""
        return self.filter(status__in=Rectification.OPEN_STATUSES)

    def overdue_on(self, today):
        """Open items past their deadline on `today` (whether or not the job has marked them)."""
        return self.open().filter(deadline__lt=today)


class Rectification(models.Model):
    """One problem of one rated branch to fix by a deadline (问题清单的一项)."""

    class Status(models.TextChoices):
        OPEN = "OPEN", _("待整改")
        IN_PROGRESS = "IN_PROGRESS", _("整改中")
        DONE = "DONE", _("已整改")
        VERIFIED = "VERIFIED", _("已验证")
        OVERDUE = "OVERDUE", _("逾期")

    class Source(models.TextChoices):
        SCORECARD = "SCORECARD", _("记分卡")
        SUPERVISION = "SUPERVISION", _("督导通报")
        MANUAL = "MANUAL", _("手工")

    OPEN_STATUSES = (Status.OPEN, Status.IN_PROGRESS, Status.OVERDUE)

    branch = models.ForeignKey(
        OrgUnit,
        verbose_name=_("支部"),
        related_name="rectifications",
        on_delete=models.CASCADE,
    )
    criterion = models.ForeignKey(
        Criterion,
        verbose_name=_("指标"),
        related_name="rectifications",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    period = models.DateField(_("发现月份"), help_text=_("发现问题的月份（该月第一天）"))
    problem = models.TextField(_("问题"), max_length=1000)
    measure = models.TextField(_("整改措施"), max_length=2000, blank=True)
    responsible_unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("帮扶单位"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    responsible_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("包联领导"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    deadline = models.DateField(_("整改期限"))
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.OPEN)
    still_failing = models.BooleanField(
        _("已整改但仍未达标"),
        default=False,
        help_text=_("已整改，但之后的重算中该指标仍未达标"),
    )
    source = models.CharField(
        _("来源"), max_length=12, choices=Source.choices, default=Source.MANUAL
    )
    evidence_note = models.TextField(_("整改情况说明"), max_length=2000, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("整改完成确认人"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    closed_at = models.DateTimeField(_("整改完成时间"), null=True, blank=True)
    verified_at = models.DateTimeField(_("验证时间"), null=True, blank=True)
    version = models.PositiveIntegerField(_("版本号"), default=1)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    history = HistoricalRecords()
    objects = RectificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("整改事项")
        verbose_name_plural = _("问题清单")
        ordering = ["deadline", "id"]
        constraints = [
            models.CheckConstraint(
                name="rectification_period_first_day", condition=models.Q(period__day=1)
            ),
        ]
        indexes = [
            # The verification after a recompute and the overdue job: items by status.
            models.Index(fields=["status", "deadline"], name="rectification_status_idx"),
            models.Index(fields=["branch", "status"], name="rectification_branch_idx"),
        ]

    def __str__(self):
        return f"{self.branch.name} {self.problem[:30]}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    def is_overdue_on(self, today) -> bool:
        return self.status == self.Status.OVERDUE or (self.is_open and self.deadline < today)


def rectification_evidence_upload_to(instance, filename):
    item = instance.rectification
    return f"rectification/{item.period:%Y/%m}/{item.branch.code}/{filename}"


class RectificationEvidenceQuerySet(RectificationQuerySet):
    path_lookup = "rectification__branch__path"


class RectificationEvidence(models.Model):
    """One evidence file of a rectification item (content-checked like a report's evidence)."""

    rectification = models.ForeignKey(
        Rectification,
        verbose_name=_("整改事项"),
        related_name="evidence",
        on_delete=models.CASCADE,
    )
    file = models.FileField(_("文件"), upload_to=rectification_evidence_upload_to)
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
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    history = HistoricalRecords()
    objects = RectificationEvidenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("整改佐证材料")
        verbose_name_plural = _("整改佐证材料")
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return self.original_name


class RectificationEventQuerySet(RectificationQuerySet):
    path_lookup = "rectification__branch__path"


class RectificationEvent(models.Model):
    """One step of an item's timeline: who did what and when, from which status to which."""

    class Action(models.TextChoices):
        CREATED = "CREATED", _("列入问题清单")
        EDITED = "EDITED", _("修改")
        STARTED = "STARTED", _("开始整改")
        EVIDENCE_ADDED = "EVIDENCE_ADDED", _("上传佐证材料")
        CLOSED = "CLOSED", _("整改完成")
        REOPENED = "REOPENED", _("退回重新整改")
        OVERDUE = "OVERDUE", _("逾期")
        VERIFIED = "VERIFIED", _("重算验证达标")
        STILL_FAILING = "STILL_FAILING", _("重算仍未达标")

    rectification = models.ForeignKey(
        Rectification,
        verbose_name=_("整改事项"),
        related_name="events",
        on_delete=models.CASCADE,
    )
    action = models.CharField(_("操作"), max_length=16, choices=Action.choices)
    from_status = models.CharField(
        _("原状态"), max_length=12, choices=Rectification.Status.choices, blank=True
    )
    to_status = models.CharField(
        _("新状态"), max_length=12, choices=Rectification.Status.choices, blank=True
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    # The actor's name at the time ("" for the system: the recompute, the overdue job).
    actor_name = models.CharField(_("操作人姓名"), max_length=150, blank=True)
    note = models.TextField(_("说明"), blank=True)
    occurred_at = models.DateTimeField(_("时间"), default=timezone.now)

    objects = RectificationEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("整改流程记录")
        verbose_name_plural = _("整改流程记录")
        ordering = ["occurred_at", "id"]
        indexes = [
            models.Index(fields=["rectification", "occurred_at"], name="rectevent_item_time_idx"),
        ]

    def __str__(self):
        return f"{self.rectification_id} {self.get_action_display()}"
