from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branches.models import OrgUnit


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
    def can_unlock_reports(self) -> bool:
        """Unlocking an approved month takes a level above the township (county or higher)."""
        if self.is_superuser or self.role == self.Role.ADMIN:
            return True
        return (
            self.role == self.Role.LEADER
            and self.unit is not None
            and self.unit.level < OrgUnit.Level.TOWNSHIP
        )
