from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branches.models import OrgUnit, jurisdiction_path
from branches.periods import month_label


class User(AbstractUser):
    """A portal user: one role, one jurisdiction unit (its subtree is what they see)."""

    class Role(models.TextChoices):
        ADMIN = "ADMIN", _("系统管理员")
        LEADER = "LEADER", _("党委/组织部领导")
        TOWNSHIP_STAFF = "TOWNSHIP_STAFF", _("乡镇(街道)工作人员")
        SECRETARY = "SECRETARY", _("支部书记")
        AUDITOR = "AUDITOR", _("审计人员")
        GRID_WORKER = "GRID_WORKER", _("网格员")

    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("管辖单位"),
        related_name="users",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("用户只能看到该单位及其下级；系统管理员可留空表示全省。"),
    )
    phone = models.CharField(_("手机号"), max_length=20, blank=True)

    history = HistoricalRecords(excluded_fields=["last_login", "password"])
    objects = UserManager()

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        constraints = [
            # Everyone but an administrator works inside a jurisdiction.
            models.CheckConstraint(
                name="user_unit_required_unless_admin",
                condition=models.Q(role="ADMIN") | models.Q(unit__isnull=False),
            ),
        ]

    def __str__(self):
        full_name = self.get_full_name()
        return f"{full_name}（{self.username}）" if full_name else self.username

    @property
    def choice_label(self) -> str:
        """How a person is offered in a select: 姓名（用户名）· 单位 (load the unit with them)."""
        return f"{self} · {self.unit.name}" if self.unit_id else str(self)

    def get_full_name(self) -> str:
        """Chinese order: family name first, no space (王丽, not 丽 王)."""
        return f"{self.last_name}{self.first_name}".strip()

    @property
    def is_administrator(self) -> bool:
        return self.role == self.Role.ADMIN

    @property
    def is_read_only(self) -> bool:
        """Auditors and leaders read; they never change records."""
        return self.role in (self.Role.AUDITOR, self.Role.LEADER)

    @property
    def can_edit_units(self) -> bool:
        """Unit facts (secretary, member counts) are kept by administrators and township staff."""
        return self.is_superuser or self.role in (self.Role.ADMIN, self.Role.TOWNSHIP_STAFF)

    @property
    def can_import_units(self) -> bool:
        return self.is_superuser or self.role == self.Role.ADMIN

    @property
    def can_read_reports(self) -> bool:
        """The one rule for monthly reports and their values, evidence and timeline: the
        report page, the review page, the values exports, the month sheet and the reports
        API all ask it. Grid workers have no business with scorecards."""
        return self.is_superuser or self.role != self.Role.GRID_WORKER

    @property
    def can_enter_reports(self) -> bool:
        """Township staff enter their branches' months; a secretary enters their own branch's."""
        return self.is_superuser or self.role in (
            self.Role.ADMIN,
            self.Role.TOWNSHIP_STAFF,
            self.Role.SECRETARY,
        )

    @property
    def can_review_reports(self) -> bool:
        """Approving and returning is the township's job; a secretary never approves."""
        return self.is_superuser or self.role in (self.Role.ADMIN, self.Role.TOWNSHIP_STAFF)

    @property
    def has_export_centre_link(self) -> bool:
        """The export centre is linked in the navigation for the roles that export ledgers
        (anyone may open it and use the exports their role allows)."""
        return self.is_superuser or self.role in (
            self.Role.ADMIN,
            self.Role.LEADER,
            self.Role.TOWNSHIP_STAFF,
            self.Role.AUDITOR,
        )

    @property
    def can_read_export_log(self) -> bool:
        """Who exported what is for auditors and administrators."""
        return self.is_superuser or self.role in (self.Role.ADMIN, self.Role.AUDITOR)

    @property
    def can_read_rectifications(self) -> bool:
        """Rectification items (问题清单) are read by everyone who reads scorecards."""
        return self.can_read_reports

    @property
    def can_manage_rectifications(self) -> bool:
        """Township staff and leaders open, edit and advance items in their jurisdiction
        (a leader's one write: 督导 is the leaders' job); auditors only read."""
        return self.is_superuser or self.role in (
            self.Role.ADMIN,
            self.Role.LEADER,
            self.Role.TOWNSHIP_STAFF,
        )

    @property
    def can_work_rectifications(self) -> bool:
        """Who carries out an item: start it, add evidence, close it. Besides the managers,
        a secretary for their own branch's items."""
        return self.can_manage_rectifications or self.role == self.Role.SECRETARY

    @property
    def can_publish_supervision(self) -> bool:
        """Leaders publish and generate the supervision reports of their jurisdiction."""
        return self.is_superuser or self.role in (self.Role.ADMIN, self.Role.LEADER)

    # Grids (网格): one rule per resource, read by the pages, the exports and the API.
    @property
    def can_read_grids(self) -> bool:
        """Grids and their households, visits, events and hazards are read in jurisdiction by
        every role; a grid worker only in the grids they are assigned to."""
        return self.is_active

    @property
    def grids_assigned_only(self) -> bool:
        return not self.is_superuser and self.role == self.Role.GRID_WORKER

    @property
    def can_manage_grids(self) -> bool:
        """Grids, workers and households (and the household import) are kept by the township."""
        return self.is_superuser or self.role in (self.Role.ADMIN, self.Role.TOWNSHIP_STAFF)

    @property
    def can_record_visits(self) -> bool:
        return self.can_manage_grids or self.role == self.Role.GRID_WORKER

    @property
    def can_report_grid_events(self) -> bool:
        return self.can_record_visits or self.role == self.Role.SECRETARY

    @property
    def can_handle_grid_events(self) -> bool:
        """Accept, dispatch, return and close events: the township's job."""
        return self.can_manage_grids

    @property
    def can_record_hazards(self) -> bool:
        return self.can_report_grid_events

    @property
    def can_close_hazards(self) -> bool:
        """销号 with evidence: township staff (and a secretary for their own village)."""
        return self.can_manage_grids or self.role == self.Role.SECRETARY

    @property
    def sees_full_personal_data(self) -> bool:
        """Names and phones of households in lists, list APIs and exports: in full for the roles
        that handle households; leaders and auditors read them masked (in full on one
        household's own page only)."""
        return not self.is_read_only

    @property
    def can_read_volunteers(self) -> bool:
        """Volunteer teams, activities, hours, points and service orders: every role reads
        them in its jurisdiction (grid workers take residents' orders)."""
        return True

    @property
    def can_manage_volunteers(self) -> bool:
        """Register teams and volunteers, record activities and attendance: township staff
        and a secretary for their own branch (the jurisdiction limits it)."""
        return self.is_superuser or self.role in (
            self.Role.ADMIN,
            self.Role.TOWNSHIP_STAFF,
            self.Role.SECRETARY,
        )

    @property
    def can_confirm_hours(self) -> bool:
        """Township staff confirm any pending hours; a team leader those of their team."""
        return self.is_superuser or self.role in (self.Role.ADMIN, self.Role.TOWNSHIP_STAFF)

    @property
    def can_manage_points(self) -> bool:
        """Redemptions at merchants and adjustments (with a reason): township staff."""
        return self.is_superuser or self.role in (self.Role.ADMIN, self.Role.TOWNSHIP_STAFF)

    @property
    def can_take_orders(self) -> bool:
        """Record a resident's service order: the managers and grid workers."""
        return self.can_manage_volunteers or self.role == self.Role.GRID_WORKER

    @property
    def can_dispatch_orders(self) -> bool:
        """Dispatch, complete, rate and cancel orders: the party organisation (派单)."""
        return self.can_manage_volunteers

    @property
    def can_read_disputes(self) -> bool:
        """The dispute ledger is read in the jurisdiction by every role (grid workers find
        disputes); a mediator also reads the cases assigned to them."""
        return True

    @property
    def can_register_disputes(self) -> bool:
        """Registering a case: township staff, secretaries (村调委会) and grid workers."""
        return self.is_superuser or self.role in (
            self.Role.ADMIN,
            self.Role.TOWNSHIP_STAFF,
            self.Role.SECRETARY,
            self.Role.GRID_WORKER,
        )

    @property
    def can_handle_disputes(self) -> bool:
        """Handling cases whose handling unit is in the jurisdiction (assign, mediate,
        transfer, escalate, close, visit, reopen); leaders and auditors only read."""
        return self.is_superuser or self.role in (
            self.Role.ADMIN,
            self.Role.TOWNSHIP_STAFF,
            self.Role.SECRETARY,
        )

    @property
    def can_unlock_reports(self) -> bool:
        """Unlocking an approved month takes a level above the township (county or higher)."""
        if self.is_superuser or self.role == self.Role.ADMIN:
            return True
        return (
            self.role == self.Role.LEADER
            and self.unit is not None
            and self.unit.level < OrgUnit.Level.TOWNSHIP
        )


class NotificationQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The user's own notifications about what they may still read: a notification names
        a branch (a report's step) or a unit (any other app's record), so it leaves with it
        when the user's jurisdiction or role changes."""
        path = jurisdiction_path(user)
        if path is None:
            return self.none()
        mine = self.filter(recipient=user)
        if not user.can_read_reports:
            mine = mine.filter(event__isnull=True)
        if not path:
            return mine
        return mine.filter(
            models.Q(event__report__unit__path__startswith=path)
            | models.Q(event__isnull=True, unit__path__startswith=path)
        )

    def unread(self):
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """An in-portal message to one user: about one workflow step of a report (its event), or,
    from any other app (branches.services.notifications.notify_users), a text and a link about
    a record of a unit."""

    recipient = models.ForeignKey(
        User, verbose_name=_("接收人"), related_name="notifications", on_delete=models.CASCADE
    )
    event = models.ForeignKey(
        "branches.ReportEvent",
        verbose_name=_("填报流程记录"),
        related_name="notifications",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
    )
    unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("所属单位"),
        related_name="notifications",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        help_text=_("非报表通知所涉记录的单位：用户的管辖范围不再包含它时，通知随之隐去。"),
    )
    text = models.CharField(_("内容"), max_length=500, blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    # The event's time: the list reads newest first and the purge counts 90 days from it.
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("站内通知")
        verbose_name_plural = _("站内通知")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "recipient"], name="notification_one_per_event_recipient"
            ),
            # A report step's notification reads its event; any other names a unit and says
            # what happened.
            models.CheckConstraint(
                name="notification_event_or_unit_text",
                condition=models.Q(event__isnull=False)
                | (models.Q(unit__isnull=False) & ~models.Q(text="")),
            ),
        ]
        indexes = [
            # The list page and the API: a user's notifications, newest first.
            models.Index(fields=["recipient", "-created_at"], name="notification_recipient_idx"),
            # The count in the top bar, on every page: a user's unread notifications.
            models.Index(
                fields=["recipient"],
                name="notification_unread_idx",
                condition=models.Q(read_at__isnull=True),
            ),
            # The nightly purge of notifications older than the retention period.
            models.Index(fields=["created_at"], name="notification_time_idx"),
        ]

    def __str__(self):
        return f"{self.recipient} · {self.event or self.text[:40]}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    @property
    def message(self) -> str:
        """What happened, in a sentence: the branch, the month, who, and the reason."""
        event = self.event
        if event is None:
            return self.text
        report = event.report
        values = {
            "unit": report.unit.name,
            "period": month_label(report.period),
            "actor": event.actor_name or _("系统"),
            "reason": event.reason,
        }
        Action = event.Action
        if event.action == Action.RETURNED:
            text = _(
                "%(unit)s %(period)s的月度报表被%(actor)s退回，请按原因修改后重新提交：%(reason)s"
            )
        elif event.action == Action.UNLOCKED:
            text = _(
                "%(unit)s %(period)s的月度报表已由%(actor)s解锁，修改后需重新提交审核：%(reason)s"
            )
        elif event.action == Action.RESUBMITTED:
            text = _("%(unit)s %(period)s的月度报表已由%(actor)s按退回原因修改后重新提交，请审核。")
        else:
            text = _("%(unit)s %(period)s的月度报表已由%(actor)s审核通过。")
        return text % values


class SupervisionReportQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Reports of units in the user's jurisdiction, for the roles that read reports."""
        path = jurisdiction_path(user)
        if path is None or not user.can_read_reports:
            return self.none()
        return self.filter(unit__path__startswith=path) if path else self

    def latest(self):
        return self.filter(is_latest=True)


class PublishedSnapshotError(Exception):
    """A published report's snapshot was about to change."""


class SupervisionReport(models.Model):
    """A unit's monthly supervision report (督导通报): the figures it shows, frozen once
    published. Regenerating a draft replaces it; a published one gets a new version."""

    class Status(models.TextChoices):
        DRAFT = "DRAFT", _("草稿")
        PUBLISHED = "PUBLISHED", _("已发布")

    unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("单位"),
        related_name="supervision_reports",
        on_delete=models.CASCADE,
    )
    period = models.DateField(_("月份"), help_text=_("该月第一天"))
    version = models.PositiveIntegerField(_("版本"), default=1)
    is_latest = models.BooleanField(_("最新版本"), default=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.DRAFT
    )
    snapshot = models.JSONField(_("通报数据"), default=dict)
    generated_at = models.DateTimeField(_("生成时间"), default=timezone.now)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    published_by = models.ForeignKey(
        User,
        verbose_name=_("发布人"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    reason = models.TextField(_("重新生成原因"), max_length=500, blank=True)

    objects = SupervisionReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("督导通报")
        verbose_name_plural = _("督导通报")
        ordering = ["-period", "unit__path", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "period", "version"], name="supervision_unit_period_version"
            ),
            models.UniqueConstraint(
                fields=["unit", "period"],
                condition=models.Q(is_latest=True),
                name="supervision_one_latest",
            ),
        ]
        indexes = [models.Index(fields=["period", "is_latest"], name="supervision_period_idx")]

    def __str__(self):
        return f"{self.unit} {month_label(self.period)} 第{self.version}版"

    def save(self, *args, **kwargs):
        """Refuse to change the snapshot of a report already published."""
        if self.pk:
            stored = (
                SupervisionReport.objects.filter(pk=self.pk).values("status", "snapshot").first()
            )
            if (
                stored
                and stored["status"] == self.Status.PUBLISHED
                and stored["snapshot"] != self.snapshot
            ):
                raise PublishedSnapshotError(_("已发布的通报内容不能修改，请重新生成新版本。"))
        super().save(*args, **kwargs)

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED
