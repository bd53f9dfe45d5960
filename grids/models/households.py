"""Households of a grid and the visits (走访 / 敲门行动) to them. No ID numbers are stored."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branches.models import OrgUnit
from grids.models.grids import Grid, GridWorker
from grids.models.scope import GridScopedQuerySet

MEMBERS_MAX = 30


class CareTag(models.TextChoices):
    ELDERLY_ALONE = "ELDERLY_ALONE", _("孤寡老人")
    HARDSHIP = "HARDSHIP", _("困难家庭")
    LEFT_BEHIND_CHILD = "LEFT_BEHIND_CHILD", _("留守儿童")
    DISABLED = "DISABLED", _("残疾人")
    SERIOUS_ILLNESS = "SERIOUS_ILLNESS", _("大病患者")
    VETERAN = "VETERAN", _("退役军人")


CARE_LABELS = dict(CareTag.choices)


class HouseholdQuerySet(GridScopedQuerySet):
    def active(self):
        return self.filter(is_active=True)

    def with_care(self):
        return self.exclude(care_tags=[])

    def not_visited_since(self, day):
        return self.filter(
            models.Q(last_visited_on__isnull=True) | models.Q(last_visited_on__lt=day)
        )


class Household(models.Model):
    """A household of a grid: address, head, members, care tags, 党员中心户."""

    grid = models.ForeignKey(
        Grid, verbose_name=_("网格"), related_name="households", on_delete=models.PROTECT
    )
    building = models.ForeignKey(
        OrgUnit,
        verbose_name=_("楼栋"),
        related_name="households",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        help_text=_("城市社区的楼栋；农村住户留空，按组/门牌填写地址。"),
    )
    address_building = models.CharField(_("楼栋/组"), max_length=50)
    address_unit = models.CharField(_("单元"), max_length=20, blank=True)
    address_room = models.CharField(_("门牌/房号"), max_length=20)
    head_name = models.CharField(_("户主姓名"), max_length=50)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    member_count = models.PositiveSmallIntegerField(_("家庭人数"), default=1)
    care_tags = models.JSONField(_("关爱标签"), default=list, blank=True)
    is_party_member_household = models.BooleanField(_("党员中心户"), default=False)
    worker = models.ForeignKey(
        GridWorker,
        verbose_name=_("联系网格员"),
        related_name="households",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    # The newest visit's day, kept by visit_record: the picker's order and the 30-day list.
    last_visited_on = models.DateField(_("最近走访日期"), null=True, blank=True)
    is_active = models.BooleanField(_("在册"), default=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    history = HistoricalRecords()
    objects = HouseholdQuerySet.as_manager()

    class Meta:
        verbose_name = _("住户")
        verbose_name_plural = _("住户")
        ordering = ["grid", "address_building", "address_unit", "address_room", "id"]
        constraints = [
            # Its index also serves the picker and the grid page (households in address order).
            models.UniqueConstraint(
                fields=["grid", "address_building", "address_unit", "address_room"],
                name="household_one_per_address",
                violation_error_message=_("该网格中已有同一地址的住户。"),
            ),
            models.CheckConstraint(
                name="household_members_plausible",
                condition=models.Q(member_count__gte=1, member_count__lte=MEMBERS_MAX),
            ),
        ]
        indexes = [
            # Households not visited for 30+ days.
            models.Index(fields=["grid", "last_visited_on"], name="household_grid_visited_idx"),
        ]

    def __str__(self):
        return f"{self.address} {self.head_name}"

    @property
    def address(self) -> str:
        parts = [self.address_building, self.address_unit, self.address_room]
        return "-".join(p for p in parts if p)

    @property
    def care_labels(self) -> list[str]:
        return [str(CARE_LABELS.get(tag, tag)) for tag in self.care_tags]


class VisitQuerySet(GridScopedQuerySet):
    pass


class Visit(models.Model):
    """One visit of a household by a grid worker."""

    class Purpose(models.TextChoices):
        POLICY = "POLICY", _("政策宣传")
        SAFETY = "SAFETY", _("安全检查")
        CARE = "CARE", _("关爱走访")
        DISPUTE = "DISPUTE", _("矛盾排查")
        INFO = "INFO", _("信息采集")
        OTHER = "OTHER", _("其他")

    household = models.ForeignKey(
        Household, verbose_name=_("住户"), related_name="visits", on_delete=models.CASCADE
    )
    # The household's grid on the day (households may move to another grid later).
    grid = models.ForeignKey(
        Grid, verbose_name=_("网格"), related_name="visits", on_delete=models.PROTECT
    )
    worker = models.ForeignKey(
        GridWorker,
        verbose_name=_("走访网格员"),
        related_name="visits",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("记录人"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    visited_on = models.DateField(_("走访日期"))
    purpose = models.CharField(_("走访事由"), max_length=10, choices=Purpose.choices)
    notes = models.TextField(_("走访情况"), max_length=1000, blank=True)
    needs_follow_up = models.BooleanField(_("需要跟进"), default=False)
    created_at = models.DateTimeField(_("记录时间"), default=timezone.now)

    history = HistoricalRecords()
    objects = VisitQuerySet.as_manager()

    class Meta:
        verbose_name = _("走访记录")
        verbose_name_plural = _("走访记录")
        ordering = ["-visited_on", "-id"]
        indexes = [
            # The coverage metrics: visits of a window, by household.
            models.Index(fields=["visited_on", "household"], name="visit_day_household_idx"),
            # A grid's visit log, newest first.
            models.Index(fields=["grid", "-visited_on"], name="visit_grid_day_idx"),
            models.Index(fields=["household", "-visited_on"], name="visit_household_day_idx"),
        ]

    def __str__(self):
        return f"{self.visited_on} {self.household}"
