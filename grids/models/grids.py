"""Grids (网格), the buildings they cover, grid workers and their assignments, building heads."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branches.models import OrgUnit, UnitScopedQuerySet
from grids.models.scope import GridScopedQuerySet


class GridQuerySet(GridScopedQuerySet):
    path_lookup = "unit__path"
    grid_lookup = "pk"

    def active(self):
        return self.filter(is_active=True)


class Grid(models.Model):
    """A grid of a village/community (or of a compound below it): its households are its own."""

    unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("所属村(社区)/小区"),
        related_name="grids",
        on_delete=models.PROTECT,
        help_text=_("网格所属的村(社区)，或其下的小区(网格片区)。"),
    )
    code = models.CharField(_("网格编码"), max_length=40, unique=True)
    name = models.CharField(_("网格名称"), max_length=100)
    party_group = models.CharField(
        _("网格党小组"), max_length=100, blank=True, help_text=_("没有网格党小组的留空。")
    )
    buildings = models.ManyToManyField(
        OrgUnit,
        verbose_name=_("覆盖楼栋"),
        through="GridBuilding",
        related_name="covering_grids",
        blank=True,
    )
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    history = HistoricalRecords()
    objects = GridQuerySet.as_manager()

    class Meta:
        verbose_name = _("网格")
        verbose_name_plural = _("网格")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(name="grid_code_not_blank", condition=~models.Q(code="")),
        ]

    def __str__(self):
        return f"{self.name}（{self.code}）"


class GridBuilding(models.Model):
    """A building a grid covers. A building is in one village, so one grid per building keeps
    a village's grids from overlapping (the unique constraint; the service checks the place)."""

    grid = models.ForeignKey(
        Grid, verbose_name=_("网格"), related_name="grid_buildings", on_delete=models.CASCADE
    )
    building = models.ForeignKey(
        OrgUnit, verbose_name=_("楼栋"), related_name="grid_cover", on_delete=models.CASCADE
    )

    history = HistoricalRecords()
    objects = GridScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("网格覆盖楼栋")
        verbose_name_plural = _("网格覆盖楼栋")
        constraints = [
            models.UniqueConstraint(
                fields=["building"],
                name="gridbuilding_one_grid_per_building",
                violation_error_message=_("该楼栋已划入另一个网格：同一村(社区)的网格不能重叠。"),
            ),
        ]

    def __str__(self):
        return f"{self.grid.name} · {self.building.name}"


class GridWorkerQuerySet(UnitScopedQuerySet):
    def role_may_read(self, user) -> bool:
        return getattr(user, "can_read_grids", False)

    def visible_to(self, user):
        qs = super().visible_to(user)
        if getattr(user, "grids_assigned_only", False):
            # A grid worker sees the workers of their own grids (their colleagues) and themself.
            current = GridAssignment.objects.current()
            mine = current.filter(worker__user=user).values("grid_id")
            colleagues = current.filter(grid_id__in=mine).values("worker_id")
            qs = qs.filter(models.Q(user=user) | models.Q(pk__in=colleagues))
        return qs

    def active(self):
        return self.filter(is_active=True)


class GridWorker(models.Model):
    """A grid worker: a portal user with the grid-worker role, or a record without a login."""

    class Kind(models.TextChoices):
        FULL_TIME = "FULL_TIME", _("专职")
        PART_TIME = "PART_TIME", _("兼职")
        VOLUNTEER = "VOLUNTEER", _("志愿者")

    unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("所属村(社区)"),
        related_name="grid_workers",
        on_delete=models.PROTECT,
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登录账号"),
        related_name="grid_worker",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        help_text=_("有门户账号（网格员角色）的填写；没有账号的留空。"),
    )
    name = models.CharField(_("姓名"), max_length=50)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices, default=Kind.PART_TIME)
    is_party_member = models.BooleanField(_("党员"), default=False)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    is_active = models.BooleanField(_("在岗"), default=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    history = HistoricalRecords()
    objects = GridWorkerQuerySet.as_manager()

    class Meta:
        verbose_name = _("网格员")
        verbose_name_plural = _("网格员")
        ordering = ["unit", "name", "id"]

    def __str__(self):
        return self.name


class GridAssignmentQuerySet(GridScopedQuerySet):
    def current(self):
        return self.filter(ended_on__isnull=True)


class GridAssignment(models.Model):
    """A worker assigned to a grid (a worker may serve several grids)."""

    worker = models.ForeignKey(
        GridWorker, verbose_name=_("网格员"), related_name="assignments", on_delete=models.CASCADE
    )
    grid = models.ForeignKey(
        Grid, verbose_name=_("网格"), related_name="assignments", on_delete=models.CASCADE
    )
    started_on = models.DateField(_("开始日期"), default=timezone.localdate)
    ended_on = models.DateField(_("结束日期"), null=True, blank=True)

    history = HistoricalRecords()
    objects = GridAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("网格员分配")
        verbose_name_plural = _("网格员分配")
        constraints = [
            models.UniqueConstraint(
                fields=["worker", "grid"],
                condition=models.Q(ended_on__isnull=True),
                name="gridassignment_one_current",
                violation_error_message=_("该网格员已分配到这个网格。"),
            ),
            models.CheckConstraint(
                name="gridassignment_dates_ordered",
                condition=models.Q(ended_on__isnull=True)
                | models.Q(ended_on__gte=models.F("started_on")),
            ),
        ]
        indexes = [
            # Every grid worker's page: the grids a user is currently assigned to.
            models.Index(
                fields=["worker", "grid"],
                name="gridassignment_current_idx",
                condition=models.Q(ended_on__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.worker} → {self.grid}"


class BuildingHeadQuerySet(UnitScopedQuerySet):
    path_lookup = "building__path"

    def role_may_read(self, user) -> bool:
        return getattr(user, "can_read_grids", False)

    def current(self, today=None):
        today = today or timezone.localdate()
        return self.filter(
            models.Q(term_end__isnull=True) | models.Q(term_end__gte=today), selected_on__lte=today
        )


class BuildingHead(models.Model):
    """A building's 楼道长/楼栋长: a resident selected on a date, for a term."""

    class Title(models.TextChoices):
        BUILDING = "BUILDING", _("楼栋长")
        STAIRWAY = "STAIRWAY", _("楼道长")

    building = models.ForeignKey(
        OrgUnit, verbose_name=_("楼栋"), related_name="building_heads", on_delete=models.CASCADE
    )
    title = models.CharField(
        _("职务"), max_length=10, choices=Title.choices, default=Title.BUILDING
    )
    name = models.CharField(_("姓名"), max_length=50)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    household = models.ForeignKey(
        "grids.Household",
        verbose_name=_("所在住户"),
        related_name="building_heads",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    selected_on = models.DateField(_("选任日期"))
    term_end = models.DateField(_("任期截止"), null=True, blank=True)

    history = HistoricalRecords()
    objects = BuildingHeadQuerySet.as_manager()

    class Meta:
        verbose_name = _("楼栋长/楼道长")
        verbose_name_plural = _("楼栋长/楼道长")
        ordering = ["building", "-selected_on"]
        constraints = [
            models.CheckConstraint(
                name="buildinghead_term_ordered",
                condition=models.Q(term_end__isnull=True)
                | models.Q(term_end__gte=models.F("selected_on")),
            ),
        ]

    def __str__(self):
        return f"{self.building.name} {self.get_title_display()} {self.name}"
