"""Per-unit totals of the stored ratings, so that a summary reads one row per unit."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from branches.models.assessments import Rating
from branches.models.units import OrgUnit


class RatingRollup(models.Model):
    """The ratings of one period and kind below one unit above the branches (a township up
    to the province), for one area type: how many branches, at each level, holding each star,
    vetoed, and how many of their month's reports are in and were in on time. Derived by
    `branches.services.rollups` whenever the ratings are written."""

    unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("单位"),
        related_name="+",
        on_delete=models.CASCADE,
        # Derived rows, rebuilt by the recompute: no per-row check on a province refresh.
        db_index=False,
        db_constraint=False,
    )
    unit_path = models.CharField(_("单位路径"), max_length=255)
    depth = models.PositiveSmallIntegerField(_("层级"))
    period = models.DateField(_("期间"))
    kind = models.CharField(_("类型"), max_length=8, choices=Rating.choices)
    area_type = models.CharField(_("区域类型"), max_length=8, choices=OrgUnit.AreaType.choices)
    total = models.PositiveIntegerField(_("支部数"))
    level_0 = models.PositiveIntegerField(_("0星"))
    level_1 = models.PositiveIntegerField(_("1星"))
    level_2 = models.PositiveIntegerField(_("2星"))
    level_3 = models.PositiveIntegerField(_("3星"))
    level_4 = models.PositiveIntegerField(_("4星"))
    level_5 = models.PositiveIntegerField(_("5星"))
    star_1 = models.PositiveIntegerField(_("第一星"))
    star_2 = models.PositiveIntegerField(_("第二星"))
    star_3 = models.PositiveIntegerField(_("第三星"))
    star_4 = models.PositiveIntegerField(_("第四星"))
    star_5 = models.PositiveIntegerField(_("第五星"))
    vetoed = models.PositiveIntegerField(_("一票否决"))
    # The month's reports of those branches (monthly rollups; 0 in annual ones).
    reports_submitted = models.PositiveIntegerField(_("已提交待审核"), default=0)
    reports_approved = models.PositiveIntegerField(_("已审核"), default=0)
    reports_on_time = models.PositiveIntegerField(
        _("按时报送"), default=0, help_text=_("首次提交不晚于报送截止日的月报数")
    )
    computed_at = models.DateTimeField(_("数据截至"), help_text=_("所汇总星级中最晚的计算时间"))

    class Meta:
        verbose_name = _("星级汇总")
        verbose_name_plural = _("星级汇总")
        constraints = [
            models.UniqueConstraint(
                fields=["period", "kind", "unit_path", "area_type"], name="ratingrollup_unique"
            ),
        ]
        indexes = [
            models.Index(
                fields=["period", "kind", "depth", "unit_path"],
                name="ratingrollup_children_idx",
                opclasses=["date_ops", "text_pattern_ops", "int2_ops", "varchar_pattern_ops"],
            ),
        ]

    def __str__(self):
        return f"{self.unit_path} {self.period:%Y-%m} {self.kind} {self.area_type}"
