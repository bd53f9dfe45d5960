"""Stored ratings: per-star assessments and branch ratings, derived by the recompute."""

from collections.abc import Iterable
from datetime import date

from django.db import NotSupportedError, models
from django.utils.translation import gettext_lazy as _

from branches.models.criteria import CriteriaSet, Criterion
from branches.models.reports import MonthlyReport, UnitScopedQuerySet
from branches.models.units import OrgUnit


class Rating(models.TextChoices):
    """Whether an assessment is a month's year-to-date progress or the annual rating."""

    MONTHLY = "MONTHLY", _("月度")
    ANNUAL = "ANNUAL", _("年度")


def assessment_paths_refresh() -> int:
    """Bring the stored unit_path of every assessment row in line with the tree (after a move)."""
    updated = 0
    for model in (StarAssessment, BranchRating):
        live_path = OrgUnit.objects.filter(pk=models.OuterRef("unit_id")).values("path")[:1]
        updated += model.objects.exclude(unit_path=models.F("unit__path")).update(
            unit_path=models.Subquery(live_path)
        )
    return updated


def _like_literal(text: str) -> str:
    """`text` matched literally inside a LIKE pattern (backslash is the escape character)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def gap_patterns(star_name: str, title: str) -> tuple[str, ...]:
    """LIKE patterns for the gaps `branches.rating.assess` words when a criterion fails:
    "星名：标题 …" (a breach), "星名：未填报：标题（…）" (months without a value that counts),
    "星名：无数据：标题" (a metric without data), "一票否决（…）：星名 标题 …" (a veto)."""
    name, title = _like_literal(star_name), _like_literal(title)
    return (
        f"{name}：{title} %",
        f"{name}：%：{title}（%",
        f"{name}：无数据：{title}",
        f"一票否决%：{name} {title} %",
    )


class GapsMatch(models.Func):
    """True when one of the row's gaps (a JSON array of texts) is LIKE one of the patterns."""

    conditional = True
    output_field = models.BooleanField()

    def __init__(self, patterns: Iterable[str], gaps: str = "gaps"):
        self.patterns = tuple(patterns)
        super().__init__(models.F(gaps))

    def _exists(self, compiler, connection, elements: str, value: str):
        gaps_sql, params = compiler.compile(self.source_expressions[0])
        likes = " OR ".join([f"{value} LIKE %s ESCAPE '\\'"] * len(self.patterns))
        sql = f"EXISTS (SELECT 1 FROM {elements.format(gaps_sql)} WHERE {likes})"
        return sql, (*params, *self.patterns)

    def as_sql(self, compiler, connection, **extra):
        raise NotSupportedError("GapsMatch runs on PostgreSQL and SQLite")

    def as_postgresql(self, compiler, connection, **extra):
        return self._exists(compiler, connection, "jsonb_array_elements_text({}) AS gap", "gap")

    def as_sqlite(self, compiler, connection, **extra):
        return self._exists(compiler, connection, "json_each({}) AS gap", "gap.value")


def failing_q(criteria: Iterable[Criterion]) -> models.Q:
    """StarAssessment rows in which one of `criteria` (with their sets) fails."""
    q = models.Q(pk__in=[])
    for criterion in criteria:
        name = criterion.criteria_set.star_names[criterion.star - 1]
        q |= models.Q(
            GapsMatch(gap_patterns(name, criterion.title)),
            criteria_set_id=criterion.criteria_set_id,
            star=criterion.star,
        )
    return q


class StarAssessment(models.Model):
    """Whether one branch holds one star in one period, with the gaps and inputs that explain it."""

    unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("支部"),
        related_name="star_assessments",
        on_delete=models.CASCADE,
        db_index=False,  # the unique (unit, period, kind, star) index serves unit lookups
        # Derived rows, re-derivable by a recompute: Django cascades a unit's deletion, and
        # a database constraint would add a check per row to a province-wide recompute.
        db_constraint=False,
    )
    unit_path = models.CharField(_("单位路径"), max_length=255)
    period = models.DateField(_("期间"), help_text=_("月度为该月第一天；年度为1月1日"))
    kind = models.CharField(_("类型"), max_length=8, choices=Rating.choices)
    star = models.PositiveSmallIntegerField(_("星"), choices=CriteriaSet.Stars.choices)
    star_name = models.CharField(_("星名"), max_length=20)
    is_met = models.BooleanField(_("达标"))
    gaps = models.JSONField(_("差距"), default=list)
    failed_codes = models.JSONField(
        _("未达标指标"), default=list, help_text=_("本星未达标的指标编码，按指标顺序")
    )
    inputs = models.JSONField(_("计算依据"), default=dict)
    criteria_set = models.ForeignKey(
        CriteriaSet,
        verbose_name=_("指标体系"),
        related_name="+",
        on_delete=models.PROTECT,
        # Derived rows: Django's PROTECT guards the set; a database constraint and index
        # would add a check per row to every province-wide recompute.
        db_index=False,
        db_constraint=False,
    )
    digest = models.CharField(
        _("内容指纹"), max_length=16, default="", help_text=_("内容不变时重算不改写")
    )
    computed_at = models.DateTimeField(_("计算时间"))

    objects = UnitScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("星级评定")
        verbose_name_plural = _("星级评定")
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "period", "kind", "star"], name="starassessment_unique"
            ),
        ]
        indexes = [
            # Subtree aggregates by star: period, kind, path LIKE 'prefix%'.
            models.Index(
                fields=["period", "kind", "unit_path"],
                name="starassessment_subtree_idx",
                opclasses=["date_ops", "text_pattern_ops", "varchar_pattern_ops"],
            ),
        ]

    def __str__(self):
        return f"{self.unit_id} {self.period:%Y-%m} {self.star_name}"


class BranchRatingQuerySet(UnitScopedQuerySet):
    # ?change= of the branch list: the level against the same branch's previous period.
    CHANGES = {
        "up": models.Q(previous_level__lt=models.F("level")),
        "down": models.Q(previous_level__gt=models.F("level")),
        "same": models.Q(previous_level=models.F("level")),
        "new": models.Q(previous_level__isnull=True),
    }
    # ?report= of the branch list: the state of the branch's report for the month rated.
    REPORT_STATES = ("APPROVED", "SUBMITTED", "UNSUBMITTED")

    def with_previous_level(self, previous: date):
        """Each rating with the level of the same branch and kind in `previous` (or None)."""
        prior = BranchRating.objects.filter(
            unit_id=models.OuterRef("unit_id"), period=previous, kind=models.OuterRef("kind")
        ).values("level")[:1]
        return self.annotate(previous_level=models.Subquery(prior))

    def changed(self, change: str, *, previous: date):
        """The ratings that went up, down, stayed or are new since `previous` (CHANGES)."""
        return self.with_previous_level(previous).filter(self.CHANGES[change])

    def failing(self, criteria: Iterable[Criterion]):
        """The ratings whose star assessment of the same period fails one of `criteria`."""
        failed = StarAssessment.objects.filter(
            unit_id=models.OuterRef("unit_id"),
            period=models.OuterRef("period"),
            kind=models.OuterRef("kind"),
            is_met=False,
        ).filter(failing_q(criteria))
        return self.filter(models.Exists(failed))

    def with_report(self, state: str):
        """The ratings whose branch's report for the rated month is approved, submitted and
        awaiting review, or not submitted (none, a draft or returned)."""
        Status = MonthlyReport.Status
        reports = MonthlyReport.objects.filter(
            unit_id=models.OuterRef("unit_id"), period=models.OuterRef("period")
        )
        if state == "UNSUBMITTED":
            done = reports.filter(status__in=[Status.SUBMITTED, Status.APPROVED])
            return self.exclude(models.Exists(done))
        return self.filter(models.Exists(reports.filter(status=Status(state))))


class BranchRating(models.Model):
    """One branch's level in one period, denormalised so that a subtree aggregate is one query."""

    class Veto(models.TextChoices):
        NONE = "NONE", _("无")
        STAR = "STAR", _("否决单星")
        ALL = "ALL", _("否决全部")

    unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("支部"),
        related_name="ratings",
        on_delete=models.CASCADE,
        db_index=False,  # the unique (unit, period, kind) index serves unit lookups
        # Derived rows, re-derivable by a recompute: Django cascades a unit's deletion, and
        # a database constraint would add a check per row to a province-wide recompute.
        db_constraint=False,
    )
    unit_path = models.CharField(_("单位路径"), max_length=255)
    area_type = models.CharField(_("区域类型"), max_length=8, choices=OrgUnit.AreaType.choices)
    period = models.DateField(_("期间"))
    kind = models.CharField(_("类型"), max_length=8, choices=Rating.choices)
    level = models.PositiveSmallIntegerField(_("星级"))
    has_star_1 = models.BooleanField(_("第一星"))
    has_star_2 = models.BooleanField(_("第二星"))
    has_star_3 = models.BooleanField(_("第三星"))
    has_star_4 = models.BooleanField(_("第四星"))
    has_star_5 = models.BooleanField(_("第五星"))
    veto = models.CharField(_("一票否决"), max_length=8, choices=Veto.choices, default="NONE")
    gap_count = models.PositiveSmallIntegerField(_("差距数"), default=0)
    gaps_text = models.TextField(
        _("未获星差距"), blank=True, default="", help_text=_("未获得各星的差距，以“；”分隔")
    )
    criteria_set = models.ForeignKey(
        CriteriaSet,
        verbose_name=_("指标体系"),
        related_name="+",
        on_delete=models.PROTECT,
        # Derived rows: Django's PROTECT guards the set; a database constraint and index
        # would add a check per row to every province-wide recompute.
        db_index=False,
        db_constraint=False,
    )
    digest = models.CharField(
        _("内容指纹"), max_length=16, default="", help_text=_("内容不变时重算不改写")
    )
    computed_at = models.DateTimeField(_("计算时间"))

    objects = BranchRatingQuerySet.as_manager()

    class Meta:
        verbose_name = _("支部星级")
        verbose_name_plural = _("支部星级")
        constraints = [
            models.UniqueConstraint(fields=["unit", "period", "kind"], name="branchrating_unique"),
            models.CheckConstraint(
                name="branchrating_level_0_to_5", condition=models.Q(level__lte=5)
            ),
        ]
        indexes = [
            # Dashboards: ratings of a period under a subtree (path LIKE 'prefix%').
            models.Index(
                fields=["period", "kind", "unit_path"],
                name="branchrating_subtree_idx",
                opclasses=["date_ops", "text_pattern_ops", "varchar_pattern_ops"],
            ),
        ]

    def __str__(self):
        return f"{self.unit_id} {self.period:%Y-%m} {self.level}★"
