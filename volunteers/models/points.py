"""The points bank (积分银行): an append-only ledger per volunteer, partner merchants, and
one balance row per volunteer that the database keeps at or above zero."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branches.models import OrgUnit
from volunteers.models.activities import Attendance
from volunteers.models.teams import Volunteer, VolunteerRecordQuerySet


class Merchant(models.Model):
    """A partner merchant (爱心商家) where points are redeemed."""

    unit = models.ForeignKey(
        OrgUnit, verbose_name=_("所属单位"), related_name="merchants", on_delete=models.PROTECT
    )
    name = models.CharField(_("商家名称"), max_length=100)
    offer = models.CharField(_("兑换内容"), max_length=200)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    is_active = models.BooleanField(_("合作中"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    history = HistoricalRecords()
    objects = VolunteerRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("爱心商家")
        verbose_name_plural = _("爱心商家")
        ordering = ["unit__path", "name"]

    def __str__(self):
        return self.name


class PointsEntryQuerySet(VolunteerRecordQuerySet):
    path_lookup = "volunteer__unit__path"


class PointsEntry(models.Model):
    """One line of the ledger. Never updated or deleted: a correction is an adjustment."""

    class Kind(models.TextChoices):
        EARNED = "EARNED", _("服务获得")
        REDEEMED = "REDEEMED", _("兑换")
        ADJUSTED = "ADJUSTED", _("调整")

    volunteer = models.ForeignKey(
        Volunteer, verbose_name=_("志愿者"), related_name="points_entries", on_delete=models.PROTECT
    )
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    points = models.IntegerField(_("积分"), help_text=_("获得为正，兑换为负"))
    reason = models.CharField(_("事由"), max_length=200, blank=True)
    merchant = models.ForeignKey(
        Merchant,
        verbose_name=_("兑换商家"),
        related_name="redemptions",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    attendance = models.ForeignKey(
        Attendance,
        verbose_name=_("服务时长"),
        related_name="points_entries",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    history = HistoricalRecords()
    objects = PointsEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("积分明细")
        verbose_name_plural = _("积分明细")
        ordering = ["-created_at", "-id"]
        constraints = [
            # Confirmed hours earn points once.
            models.UniqueConstraint(
                fields=["attendance"],
                condition=models.Q(kind="EARNED"),
                name="points_earned_once_per_attendance",
            ),
            models.CheckConstraint(
                name="points_entry_sign_matches_kind",
                condition=models.Q(kind="EARNED", points__gt=0, attendance__isnull=False)
                | models.Q(kind="REDEEMED", points__lt=0, merchant__isnull=False)
                | (models.Q(kind="ADJUSTED") & ~models.Q(points=0) & ~models.Q(reason="")),
            ),
        ]
        indexes = [
            # A volunteer's ledger, newest first (profile, API) and the balance sum.
            models.Index(fields=["volunteer", "-created_at"], name="points_volunteer_time_idx"),
        ]

    def __str__(self):
        return f"{self.volunteer} {self.get_kind_display()} {self.points:+d}"

    def save(self, *args, **kwargs):
        # The balance row is the ledger's running sum: an edited line would silently break it.
        if not self._state.adding:
            raise ValueError("A points entry is never changed: append an adjustment instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("A points entry is never deleted: append an adjustment instead.")


class PointsBalance(models.Model):
    """The running sum of a volunteer's ledger, updated in the ledger insert's transaction;
    its check constraint is what makes a negative balance impossible, even for two
    redemptions at once (the second UPDATE waits for the first's row lock, then fails)."""

    volunteer = models.OneToOneField(
        Volunteer,
        verbose_name=_("志愿者"),
        related_name="points_balance",
        on_delete=models.CASCADE,
        primary_key=True,
    )
    balance = models.IntegerField(_("积分余额"), default=0)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("积分余额")
        verbose_name_plural = _("积分余额")
        constraints = [
            models.CheckConstraint(
                name="points_balance_not_negative", condition=models.Q(balance__gte=0)
            ),
        ]

    def __str__(self):
        return f"{self.volunteer} {self.balance}"
