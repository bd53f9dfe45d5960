from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords
from treebeard.mp_tree import MP_Node, MP_NodeManager, MP_NodeQuerySet


def jurisdiction_path(user) -> str | None:
    """The path prefix a user may see: '' for everything, None for nothing.

    This is the one rule of jurisdiction; every `visible_to` in the project
    filters by it (the user's unit and its descendants).
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    unit = user.unit
    if unit is None:
        return "" if user.is_superuser or user.is_administrator else None
    # The root's subtree is everything (one root, see orgunit_single_root): skip the path test.
    return "" if unit.depth == 1 else unit.path


class OrgUnitQuerySet(MP_NodeQuerySet):
    def visible_to(self, user):
        path = jurisdiction_path(user)
        if path is None:
            return self.none()
        return self.filter(path__startswith=path) if path else self.all()

    def under(self, unit, include_self=True):
        # The root (the province, the only one) holds everything: no path test to scan.
        qs = self if unit.depth == 1 else self.filter(path__startswith=unit.path)
        return qs if include_self else qs.exclude(pk=unit.pk)

    def rated(self):
        return self.filter(level=OrgUnit.Level.VILLAGE)


class OrgUnitManager(MP_NodeManager.from_queryset(OrgUnitQuerySet)):
    def get_queryset(self):
        return OrgUnitQuerySet(self.model, using=self._db).order_by("path")


class OrgUnit(MP_Node):
    """A unit of the administrative hierarchy with the party organisation attached to it."""

    class Level(models.IntegerChoices):
        PROVINCE = 1, _("省")
        CITY = 2, _("市")
        COUNTY = 3, _("县(区)")
        TOWNSHIP = 4, _("乡镇(街道)")
        VILLAGE = 5, _("村(社区)")
        COMPOUND = 6, _("小区(网格片区)")
        BUILDING = 7, _("楼栋")

    class AreaType(models.TextChoices):
        RURAL = "RURAL", _("农村")
        URBAN = "URBAN", _("城市社区")

    class PartyOrgKind(models.TextChoices):
        WORKING_COMMITTEE = "WORKING_COMMITTEE", _("党工委")
        COMMITTEE = "COMMITTEE", _("党委")
        GENERAL_BRANCH = "GENERAL_BRANCH", _("党总支")
        BRANCH = "BRANCH", _("党支部")
        GROUP = "GROUP", _("党小组")

    steplen = 4

    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.PositiveSmallIntegerField(_("层级"), choices=Level.choices)
    area_type = models.CharField(
        _("区域类型"),
        max_length=8,
        choices=AreaType.choices,
        blank=True,
        help_text=_("村(社区)及以下必填，决定按哪套星级标准评定；县乡等上级单位留空。"),
    )
    party_org_kind = models.CharField(
        _("党组织类型"), max_length=20, choices=PartyOrgKind.choices, blank=True
    )
    party_org_name = models.CharField(_("党组织名称"), max_length=120, blank=True)
    secretary_name = models.CharField(_("书记"), max_length=50, blank=True)
    member_count = models.PositiveIntegerField(_("党员数"), default=0)
    household_count = models.PositiveIntegerField(_("户数"), default=0)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["numchild"])
    objects = OrgUnitManager()

    class Meta:
        verbose_name = _("组织单位")
        verbose_name_plural = _("组织单位")
        indexes = [
            # Subtree queries: path LIKE 'prefix%' (visible_to, under()).
            models.Index(
                fields=["path"], name="orgunit_path_prefix_idx", opclasses=["varchar_pattern_ops"]
            ),
            # Counting one level in a subtree: level = 5 AND path LIKE 'prefix%'.
            models.Index(
                fields=["level", "path"],
                name="orgunit_level_path_idx",
                opclasses=["int2_ops", "varchar_pattern_ops"],
            ),
            # Search by name within a jurisdiction.
            models.Index(fields=["name"], name="orgunit_name_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                name="orgunit_level_valid",
                condition=models.Q(level__gte=1, level__lte=7),
            ),
            # Rated branches and everything below them carry an area type; units above do not.
            models.CheckConstraint(
                name="orgunit_area_type_matches_level",
                condition=(
                    models.Q(level__gte=5, area_type__in=["RURAL", "URBAN"])
                    | models.Q(level__lt=5, area_type="")
                ),
            ),
            models.CheckConstraint(name="orgunit_code_not_blank", condition=~models.Q(code="")),
            # One tree: the province is the only root, so a subtree of the root is the table.
            models.UniqueConstraint(
                fields=["depth"],
                condition=models.Q(depth=1),
                name="orgunit_single_root",
                violation_error_message=_("只能有一个顶级单位（省）；其他单位都须填写上级单位。"),
            ),
        ]

    def __str__(self):
        return f"{self.name}（{self.code}）"

    @property
    def is_rated(self) -> bool:
        return self.level == self.Level.VILLAGE

    def breadcrumbs(self):
        """Ancestors from the root, then self: one indexed query."""
        return [*OrgUnit.objects.get_ancestors(self), self]


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
        ]

    def __str__(self):
        return f"{self.code} {self.title}"


class UnitScopedQuerySet(models.QuerySet):
    """Records of a unit, scoped by the unit's live path (never by a stored copy of it,
    so that a unit moved in the tree leaves its old jurisdiction at once)."""

    def visible_to(self, user):
        path = jurisdiction_path(user)
        if path is None:
            return self.none()
        return self.filter(unit__path__startswith=path) if path else self

    def under(self, unit):
        return self if unit.depth == 1 else self.filter(unit__path__startswith=unit.path)


class MonthlyReportQuerySet(UnitScopedQuerySet):
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
    submitted_by = models.ForeignKey(
        "governance.User",
        verbose_name=_("提交人"),
        related_name="+",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        "governance.User",
        verbose_name=_("审核人"),
        related_name="+",
        on_delete=models.PROTECT,
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


def evidence_upload_to(instance, filename):
    report = instance.value.report
    return f"evidence/{report.period:%Y/%m}/{report.unit.code}/{filename}"


class Evidence(models.Model):
    value = models.ForeignKey(
        ReportValue, verbose_name=_("填报值"), related_name="evidence", on_delete=models.CASCADE
    )
    file = models.FileField(_("文件"), upload_to=evidence_upload_to)
    original_name = models.CharField(_("原文件名"), max_length=200)
    size = models.PositiveIntegerField(_("大小(字节)"))
    uploaded_by = models.ForeignKey(
        "governance.User", verbose_name=_("上传人"), related_name="+", on_delete=models.PROTECT
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("佐证材料")
        verbose_name_plural = _("佐证材料")

    def __str__(self):
        return self.original_name


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
