"""The criteria catalogue: a set per year and area type, and its criteria."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branches.models.units import OrgUnit


class CriteriaSet(models.Model):
    """The star criteria of one year for one area type, versioned.

    A set that a stored rating used is locked: edits go to a new version so that
    old ratings stay reproducible.
    """

    class Stars(models.IntegerChoices):
        FIRST = 1, "1"
        SECOND = 2, "2"
        THIRD = 3, "3"
        FOURTH = 4, "4"
        FIFTH = 5, "5"

    year = models.PositiveSmallIntegerField(_("年度"))
    area_type = models.CharField(_("区域类型"), max_length=8, choices=OrgUnit.AreaType.choices)
    version = models.PositiveSmallIntegerField(_("版本"), default=1)
    name = models.CharField(_("名称"), max_length=100)
    star_names = models.JSONField(
        _("五颗星名称"), help_text=_("按顺序五个名称，第一颗为支部过硬星")
    )
    capstone = models.BooleanField(
        _("支部过硬星须先获得其他四星"),
        default=True,
        help_text=_("开启时，支部过硬星只授予已获得其他四颗星的支部。"),
    )
    is_active = models.BooleanField(_("当前启用"), default=True)
    is_default_catalogue = models.BooleanField(
        _("示例默认值"),
        default=False,
        help_text=_("系统自带的示例默认值，以当地正式文件为准，请按实际修改。"),
    )
    locked_at = models.DateTimeField(_("锁定时间"), null=True, blank=True)
    note = models.TextField(_("说明"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("评星指标体系")
        verbose_name_plural = _("评星指标体系")
        ordering = ["-year", "area_type", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["year", "area_type", "version"], name="criteriaset_unique_version"
            ),
            # The set in force for a year and area type.
            models.UniqueConstraint(
                fields=["year", "area_type"],
                condition=models.Q(is_active=True),
                name="criteriaset_one_active_per_year",
            ),
        ]

    def __str__(self):
        return f"{self.year}年 {self.get_area_type_display()} 第{self.version}版"

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None


class Criterion(models.Model):
    class Source(models.TextChoices):
        MANUAL = "MANUAL", _("人工填报")
        METRIC = "METRIC", _("系统指标")

    class Kind(models.TextChoices):
        BOOLEAN = "BOOLEAN", _("是/否")
        NUMBER = "NUMBER", _("数值")
        INTEGER = "INTEGER", _("整数")
        PERCENTAGE = "PERCENTAGE", _("百分比")

    class Comparator(models.TextChoices):
        GTE = "GTE", "≥"
        LTE = "LTE", "≤"
        EQ = "EQ", "="
        IS_YES = "IS_YES", _("为“是”")

    class Aggregation(models.TextChoices):
        EVERY_MONTH = "EVERY_MONTH", _("每月达标")
        AT_LEAST_N = "AT_LEAST_N", _("至少N个月达标")
        SUM = "SUM", _("累计")
        AVERAGE = "AVERAGE", _("平均")
        LATEST = "LATEST", _("最近一次")
        METRIC = "METRIC", _("系统指标")

    class VetoScope(models.TextChoices):
        NONE = "NONE", _("无")
        STAR = "STAR", _("否决本星")
        ALL = "ALL", _("否决全部星")

    criteria_set = models.ForeignKey(
        CriteriaSet, verbose_name=_("指标体系"), related_name="criteria", on_delete=models.CASCADE
    )
    code = models.CharField(_("编码"), max_length=16)
    star = models.PositiveSmallIntegerField(_("所属星"), choices=CriteriaSet.Stars.choices)
    title = models.CharField(_("指标"), max_length=100)
    help_text = models.TextField(_("填报说明"), blank=True)
    source = models.CharField(_("来源"), max_length=8, choices=Source.choices, default="MANUAL")
    metric_key = models.CharField(_("指标键"), max_length=64, blank=True)
    kind = models.CharField(_("值类型"), max_length=12, choices=Kind.choices)
    unit = models.CharField(_("单位"), max_length=16, blank=True)
    comparator = models.CharField(_("比较"), max_length=8, choices=Comparator.choices)
    threshold = models.DecimalField(
        _("阈值"), max_digits=14, decimal_places=4, null=True, blank=True
    )
    aggregation = models.CharField(_("年度汇总方式"), max_length=12, choices=Aggregation.choices)
    min_months = models.PositiveSmallIntegerField(_("至少达标月数"), null=True, blank=True)
    veto_scope = models.CharField(
        _("一票否决"), max_length=8, choices=VetoScope.choices, default="NONE"
    )
    evidence_required = models.BooleanField(_("需上传佐证"), default=False)
    # Plausibility of a month's entry (workflow.parse_value and criteria.soft_warning).
    max_value = models.DecimalField(
        _("每月上限"),
        max_digits=14,
        decimal_places=4,
        null=True,
        blank=True,
        help_text=_("一个月可能填报的最大值，超过即拒绝保存并提示上限；留空不限。"),
    )
    jump_factor = models.DecimalField(
        _("环比提示倍数"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_(
            "本月与上月相比增加或减少超过该倍数时提示核对，填报人确认后才保存，"
            "审核人可见提示；上月或本月为0时不比较；留空不提示。"
        ),
    )
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("评星指标")
        verbose_name_plural = _("评星指标")
        ordering = ["criteria_set", "star", "order", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["criteria_set", "code"],
                name="criterion_unique_code",
                violation_error_message=_("同一指标体系中指标编码不能重复。"),
            ),
            models.CheckConstraint(
                name="criterion_metric_key_iff_metric",
                violation_error_message=_(
                    "来源为“系统指标”时须填写指标键且汇总方式为“系统指标”；人工填报的指标不填指标键。"
                ),
                condition=(
                    models.Q(source="METRIC", aggregation="METRIC") & ~models.Q(metric_key="")
                )
                | (models.Q(source="MANUAL", metric_key="") & ~models.Q(aggregation="METRIC")),
            ),
            models.CheckConstraint(
                name="criterion_min_months_iff_at_least_n",
                violation_error_message=_(
                    "汇总方式为“至少N个月达标”时须填写1到12的至少达标月数，其他方式不填。"
                ),
                condition=models.Q(aggregation="AT_LEAST_N", min_months__gte=1, min_months__lte=12)
                | (~models.Q(aggregation="AT_LEAST_N") & models.Q(min_months__isnull=True)),
            ),
            models.CheckConstraint(
                name="criterion_threshold_unless_yes_no",
                violation_error_message=_("除“为是”外的比较方式都须填写阈值。"),
                condition=models.Q(comparator="IS_YES") | models.Q(threshold__isnull=False),
            ),
            models.CheckConstraint(
                name="criterion_plausibility_numbers_only",
                violation_error_message=_(
                    "每月上限和环比提示倍数只用于人工填报的数值指标，是/否指标和系统指标请留空。"
                ),
                condition=(models.Q(max_value__isnull=True) & models.Q(jump_factor__isnull=True))
                | (models.Q(source="MANUAL") & ~models.Q(kind="BOOLEAN")),
            ),
            models.CheckConstraint(
                name="criterion_max_value_positive",
                violation_error_message=_("每月上限应大于0；不限上限请留空。"),
                condition=models.Q(max_value__isnull=True) | models.Q(max_value__gt=0),
            ),
            models.CheckConstraint(
                name="criterion_jump_factor_above_one",
                violation_error_message=_(
                    "环比提示倍数应大于1，例如 5 表示本月是上月的5倍以上或不到五分之一时提示；"
                    "不提示请留空。"
                ),
                condition=models.Q(jump_factor__isnull=True) | models.Q(jump_factor__gt=1),
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.title}"
