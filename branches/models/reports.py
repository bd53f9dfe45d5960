"""Monthly scorecards: reports, their values, evidence files and workflow events."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branches.models.criteria import CriteriaSet, Criterion
from branches.models.units import OrgUnit, jurisdiction_path


class UnitScopedQuerySet(models.QuerySet):
    """Records of a unit, scoped by the unit's live path (never by a stored copy of it,
    so that a unit moved in the tree leaves its old jurisdiction at once)."""

    # How a row reaches its unit's path.
    path_lookup = "unit__path"

    def role_may_read(self, user) -> bool:
        return True

    def visible_to(self, user):
        path = jurisdiction_path(user)
        if path is None or not self.role_may_read(user):
            return self.none()
        return self.filter(**{f"{self.path_lookup}__startswith": path}) if path else self

    def under(self, unit):
        if unit.depth == 1:
            return self
        return self.filter(**{f"{self.path_lookup}__startswith": unit.path})


class ReportRecordQuerySet(UnitScopedQuerySet):
    """Reports and what hangs off them (events, evidence): one access rule for all of them,
    the jurisdiction and `User.can_read_reports`."""

    def role_may_read(self, user) -> bool:
        return getattr(user, "can_read_reports", False)


class MonthlyReportQuerySet(ReportRecordQuerySet):
    def for_period(self, period):
        return self.filter(period=period)


class MonthlyReport(models.Model):
    """One rated branch's scorecard for one month."""

    class Status(models.TextChoices):
        DRAFT = "DRAFT", _("草稿")
        SUBMITTED = "SUBMITTED", _("已提交")
        APPROVED = "APPROVED", _("已审核")
        RETURNED = "RETURNED", _("已退回")

    unit = models.ForeignKey(
        OrgUnit, verbose_name=_("支部"), related_name="reports", on_delete=models.PROTECT
    )
    period = models.DateField(_("月份"), help_text=_("该月第一天"))
    criteria_set = models.ForeignKey(
        CriteriaSet, verbose_name=_("指标体系"), related_name="reports", on_delete=models.PROTECT
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    return_reason = models.TextField(_("退回原因"), blank=True)
    unlock_reason = models.TextField(_("解锁原因"), blank=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    # The on-time metric reads the first submission: a resubmission after a return is not late.
    first_submitted_at = models.DateTimeField(_("首次提交时间"), null=True, blank=True)
    # People may leave: their accounts can be deleted, the report keeps its events' names.
    submitted_by = models.ForeignKey(
        "governance.User",
        verbose_name=_("提交人"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        "governance.User",
        verbose_name=_("审核人"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    version = models.PositiveIntegerField(_("版本号"), default=1)
    needs_recompute = models.BooleanField(_("待重算"), default=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    history = HistoricalRecords()
    objects = MonthlyReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("月度填报")
        verbose_name_plural = _("月度填报")
        constraints = [
            models.UniqueConstraint(fields=["unit", "period"], name="report_one_per_unit_month"),
            models.CheckConstraint(
                name="report_period_first_day", condition=models.Q(period__day=1)
            ),
        ]
        indexes = [
            # Township review and the rating engine: reports of a month by status.
            models.Index(fields=["period", "status"], name="report_period_status_idx"),
            # The recompute sweep: reports marked for recompute.
            models.Index(
                fields=["needs_recompute"],
                name="report_needs_recompute_idx",
                condition=models.Q(needs_recompute=True),
            ),
        ]

    def __str__(self):
        return f"{self.unit.name} {self.period:%Y-%m}"

    @property
    def is_locked(self) -> bool:
        return self.status == self.Status.APPROVED


class ReportValue(models.Model):
    """The value one report gives for one criterion (manual criteria only)."""

    report = models.ForeignKey(
        MonthlyReport, verbose_name=_("月度填报"), related_name="values", on_delete=models.CASCADE
    )
    criterion = models.ForeignKey(
        Criterion, verbose_name=_("指标"), related_name="values", on_delete=models.PROTECT
    )
    value_bool = models.BooleanField(_("是/否"), null=True, blank=True)
    value_number = models.DecimalField(
        _("数值"), max_digits=14, decimal_places=4, null=True, blank=True
    )
    note = models.CharField(_("备注"), max_length=500, blank=True)
    # The month-on-month warning the value raised when it was saved (and the person confirmed
    # it, on the page), kept for the reviewer; blank when the value looked plausible.
    warning = models.CharField(_("环比异常提示"), max_length=300, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("填报值")
        verbose_name_plural = _("填报值")
        constraints = [
            models.UniqueConstraint(
                fields=["report", "criterion"], name="reportvalue_one_per_criterion"
            ),
            models.CheckConstraint(
                name="reportvalue_one_kind_of_value",
                condition=models.Q(value_bool__isnull=True) | models.Q(value_number__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.report} {self.criterion.code}"

    @property
    def value(self):
        return self.value_bool if self.value_bool is not None else self.value_number


class ReportEventQuerySet(ReportRecordQuerySet):
    path_lookup = "report__unit__path"


class ReportEvent(models.Model):
    """One workflow step of a report: who did what and when, from which status to which."""

    class Action(models.TextChoices):
        CREATED = "CREATED", _("建立")
        SAVED = "SAVED", _("保存填报值")
        EVIDENCE_ADDED = "EVIDENCE_ADDED", _("上传佐证材料")
        EVIDENCE_REMOVED = "EVIDENCE_REMOVED", _("删除佐证材料")
        SUBMITTED = "SUBMITTED", _("提交")
        RESUBMITTED = "RESUBMITTED", _("重新提交")
        RETURNED = "RETURNED", _("退回")
        APPROVED = "APPROVED", _("审核通过")
        UNLOCKED = "UNLOCKED", _("解锁")

    report = models.ForeignKey(
        MonthlyReport, verbose_name=_("月度填报"), related_name="events", on_delete=models.CASCADE
    )
    action = models.CharField(_("操作"), max_length=20, choices=Action.choices)
    from_status = models.CharField(
        _("原状态"), max_length=10, choices=MonthlyReport.Status.choices, blank=True
    )
    to_status = models.CharField(
        _("新状态"), max_length=10, choices=MonthlyReport.Status.choices, blank=True
    )
    actor = models.ForeignKey(
        "governance.User",
        verbose_name=_("操作人"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    # The actor's name at the time: the timeline still says who after an account is deleted.
    actor_name = models.CharField(_("操作人姓名"), max_length=150, blank=True)
    reason = models.TextField(_("原因或说明"), blank=True)
    occurred_at = models.DateTimeField(_("时间"), default=timezone.now)

    objects = ReportEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("填报流程记录")
        verbose_name_plural = _("填报流程记录")
        ordering = ["occurred_at", "id"]
        indexes = [
            # A report's timeline (report page, API, audit export per report).
            models.Index(fields=["report", "occurred_at"], name="reportevent_report_time_idx"),
            # The audit export of a jurisdiction over a time range.
            models.Index(fields=["occurred_at"], name="reportevent_time_idx"),
        ]

    def __str__(self):
        return f"{self.report} {self.get_action_display()} {self.occurred_at:%Y-%m-%d %H:%M}"


def evidence_upload_to(instance, filename):
    report = instance.value.report
    return f"evidence/{report.period:%Y/%m}/{report.unit.code}/{filename}"


class EvidenceQuerySet(ReportRecordQuerySet):
    path_lookup = "value__report__unit__path"


class Evidence(models.Model):
    value = models.ForeignKey(
        ReportValue, verbose_name=_("填报值"), related_name="evidence", on_delete=models.CASCADE
    )
    file = models.FileField(_("文件"), upload_to=evidence_upload_to)
    original_name = models.CharField(_("原文件名"), max_length=200)
    size = models.PositiveIntegerField(_("大小(字节)"))
    uploaded_by = models.ForeignKey(
        "governance.User",
        verbose_name=_("上传人"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    history = HistoricalRecords()
    objects = EvidenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("佐证材料")
        verbose_name_plural = _("佐证材料")

    def __str__(self):
        return self.original_name
