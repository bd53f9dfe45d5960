"""Durable recompute requests: a period recompute is a row before it is a task message.

A worker killed mid-task, a broker restart or a task that ran out of retries loses the
message, never the row: the sweep sends again every chunk that is unfinished and has not
been sent for a while. A run is split into chunks (one per city: what two workers can share);
the chunk that finishes last records the run's completion.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from branches.models.assessments import Rating
from branches.models.units import OrgUnit


class RecomputeRun(models.Model):
    """One requested recompute of a period: every rated branch, or those under a unit."""

    class Origin(models.TextChoices):
        CLOSED_MONTH = "CLOSED_MONTH", _("月初重算上月")
        OPEN_MONTH = "OPEN_MONTH", _("本月进行中评定")
        ON_DEMAND = "ON_DEMAND", _("按需重算")

    period = models.DateField(_("期间"))
    kind = models.CharField(_("评定类型"), max_length=8, choices=Rating.choices)
    under = models.ForeignKey(
        OrgUnit,
        verbose_name=_("范围"),
        help_text=_("为空表示全部支部"),
        related_name="+",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
    )
    origin = models.CharField(_("来源"), max_length=16, choices=Origin.choices)
    requested_at = models.DateTimeField(_("请求时间"), default=timezone.now)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    result = models.JSONField(_("结果"), default=dict, blank=True)

    class Meta:
        verbose_name = _("重算任务")
        verbose_name_plural = _("重算任务")
        constraints = [
            # One unfinished run per scope: asking again while one is pending adds nothing.
            models.UniqueConstraint(
                fields=["period", "kind"],
                condition=models.Q(finished_at__isnull=True, under__isnull=True),
                name="recompute_run_one_open_whole",
            ),
            models.UniqueConstraint(
                fields=["period", "kind", "under"],
                condition=models.Q(finished_at__isnull=True),
                name="recompute_run_one_open_under",
            ),
        ]
        indexes = [
            models.Index(
                fields=["requested_at"],
                name="recompute_run_unfinished_idx",
                condition=models.Q(finished_at__isnull=True),
            ),
        ]

    def __str__(self):
        scope = self.under.name if self.under_id else _("全部支部")
        return f"{self.period:%Y-%m} {self.get_kind_display()} {scope}"


class RecomputeChunk(models.Model):
    """The part of a run one task does: the rated branches under one unit (a city)."""

    run = models.ForeignKey(RecomputeRun, related_name="chunks", on_delete=models.CASCADE)
    unit = models.ForeignKey(OrgUnit, related_name="+", on_delete=models.CASCADE)
    branches = models.PositiveIntegerField(_("支部数"), default=0)
    sent_at = models.DateTimeField(_("最近发送时间"), null=True, blank=True)
    sends = models.PositiveIntegerField(_("发送次数"), default=0)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    result = models.JSONField(_("结果"), default=dict, blank=True)

    class Meta:
        verbose_name = _("重算分块")
        verbose_name_plural = _("重算分块")
        constraints = [
            models.UniqueConstraint(fields=["run", "unit"], name="recompute_chunk_one_per_unit"),
        ]
        indexes = [
            models.Index(
                fields=["sent_at"],
                name="recompute_chunk_unfinished_idx",
                condition=models.Q(finished_at__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.run} / {self.unit.name}"
