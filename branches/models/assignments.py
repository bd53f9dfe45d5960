"""包联 and 结对: a leader assigned to a branch for a year (with visits), and strong–weak pairs."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branches.models.reports import UnitScopedQuerySet
from branches.models.units import OrgUnit, jurisdiction_path


class OversightQuerySet(UnitScopedQuerySet):
    """Assignments, visits and pairs: read by every role in the jurisdiction but grid workers
    (the reports' rule), scoped by the branch's live path."""

    path_lookup = "branch__path"

    def role_may_read(self, user) -> bool:
        return getattr(user, "can_read_reports", False)


class VisitQuerySet(OversightQuerySet):
    path_lookup = "assignment__branch__path"


class PairingQuerySet(OversightQuerySet):
    path_lookup = "weak__path"

    def visible_to(self, user):
        # Both branches must be in sight: a pair is one fact about two branches.
        scoped = super().visible_to(user)
        prefix = jurisdiction_path(user)
        return scoped.filter(strong__path__startswith=prefix) if prefix else scoped


class LeaderAssignment(models.Model):
    """包联: a leader is assigned one rated branch for one year."""

    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("包联领导"),
        related_name="assignments",
        on_delete=models.PROTECT,
    )
    branch = models.ForeignKey(
        OrgUnit, verbose_name=_("支部"), related_name="assignments", on_delete=models.PROTECT
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    note = models.TextField(_("备注"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("安排人"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("安排时间"), default=timezone.now)

    history = HistoricalRecords()
    objects = OversightQuerySet.as_manager()

    class Meta:
        verbose_name = _("包联安排")
        verbose_name_plural = _("包联安排")
        ordering = ["-year", "branch__path", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["leader", "branch", "year"],
                name="assignment_unique_leader_branch_year",
                violation_error_message=_("该领导本年度已包联这个支部，不能重复安排。"),
            ),
        ]
        indexes = [
            # The leader's home: their branches of a year.
            models.Index(fields=["leader", "year"], name="assignment_leader_year_idx"),
            # The branch page: who is assigned to it in a year.
            models.Index(fields=["branch", "year"], name="assignment_branch_year_idx"),
        ]

    def __str__(self):
        return f"{self.year} {self.leader} → {self.branch}"


class AssignmentVisit(models.Model):
    """One visit of the assigned leader to the branch: what was found, what was decided."""

    assignment = models.ForeignKey(
        LeaderAssignment,
        verbose_name=_("包联安排"),
        related_name="visits",
        on_delete=models.CASCADE,
    )
    visited_on = models.DateField(_("走访日期"))
    findings = models.TextField(_("发现的问题"))
    decisions = models.TextField(_("议定事项"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("记录人"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    recorded_at = models.DateTimeField(_("记录时间"), default=timezone.now)

    objects = VisitQuerySet.as_manager()

    class Meta:
        verbose_name = _("包联走访")
        verbose_name_plural = _("包联走访")
        ordering = ["-visited_on", "-id"]
        indexes = [
            # The assignment page: its visits, newest first.
            models.Index(fields=["assignment", "-visited_on"], name="visit_assignment_idx"),
        ]

    def __str__(self):
        return f"{self.assignment} {self.visited_on:%Y-%m-%d}"


class Pairing(models.Model):
    """结对: a strong branch (4–5★) helps a weak one (≤3★) of the same county for a year."""

    class Status(models.TextChoices):
        SUGGESTED = "SUGGESTED", _("建议")
        CONFIRMED = "CONFIRMED", _("已确认")
        ENDED = "ENDED", _("已结束")

    county = models.ForeignKey(
        OrgUnit, verbose_name=_("县(区)"), related_name="+", on_delete=models.PROTECT
    )
    strong = models.ForeignKey(
        OrgUnit,
        verbose_name=_("强支部"),
        related_name="pairings_as_strong",
        on_delete=models.PROTECT,
    )
    weak = models.ForeignKey(
        OrgUnit, verbose_name=_("弱支部"), related_name="pairings_as_weak", on_delete=models.PROTECT
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.SUGGESTED
    )
    # The ratings the pair was judged on (the last closed month when it was proposed).
    strong_level = models.PositiveSmallIntegerField(_("强支部星级"))
    weak_level = models.PositiveSmallIntegerField(_("弱支部星级"))
    complementary_stars = models.PositiveSmallIntegerField(_("互补星数"), default=0)
    note = models.TextField(_("备注"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("提出人"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("提出时间"), default=timezone.now)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("确认人"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("结束人"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    history = HistoricalRecords()
    objects = PairingQuerySet.as_manager()

    class Meta:
        verbose_name = _("结对")
        verbose_name_plural = _("结对")
        ordering = ["-year", "weak__path", "id"]
        constraints = [
            # A weak branch has at most one confirmed partner a year.
            models.UniqueConstraint(
                fields=["weak", "year"],
                condition=models.Q(status="CONFIRMED"),
                name="pairing_one_confirmed_per_weak_year",
                violation_error_message=_("该支部本年度已有已确认的结对，请先结束原结对。"),
            ),
            # One open proposal per pair and year.
            models.UniqueConstraint(
                fields=["strong", "weak", "year"],
                condition=models.Q(status__in=["SUGGESTED", "CONFIRMED"]),
                name="pairing_one_open_per_pair_year",
                violation_error_message=_("这两个支部本年度已有未结束的结对。"),
            ),
            models.CheckConstraint(
                name="pairing_strong_is_not_weak", condition=~models.Q(strong=models.F("weak"))
            ),
            models.CheckConstraint(
                name="pairing_levels",
                condition=models.Q(strong_level__gte=4, strong_level__lte=5, weak_level__lte=3),
            ),
        ]
        indexes = [
            # The pairs list of a county and year.
            models.Index(fields=["county", "year", "status"], name="pairing_county_year_idx"),
        ]

    def __str__(self):
        return f"{self.year} {self.strong} ⇄ {self.weak}（{self.get_status_display()}）"
