"""Volunteer teams (七彩志愿服务队), their volunteers and memberships."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branches.models import OrgUnit, UnitScopedQuerySet


class VolunteerRecordQuerySet(UnitScopedQuerySet):
    """The one access rule of every volunteers record: the jurisdiction (by the live path of
    the unit the record belongs to) and `User.can_read_volunteers`."""

    def role_may_read(self, user) -> bool:
        return getattr(user, "can_read_volunteers", False)


class TeamQuerySet(VolunteerRecordQuerySet):
    def active(self):
        return self.filter(is_active=True)


class Team(models.Model):
    class Colour(models.TextChoices):
        RED = "RED", _("红")
        ORANGE = "ORANGE", _("橙")
        YELLOW = "YELLOW", _("黄")
        GREEN = "GREEN", _("绿")
        BLUE = "BLUE", _("蓝")
        PURPLE = "PURPLE", _("紫")
        CYAN = "CYAN", _("青")

    unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("所属单位"),
        related_name="volunteer_teams",
        on_delete=models.PROTECT,
    )
    name = models.CharField(_("队伍名称"), max_length=100)
    colour = models.CharField(_("颜色"), max_length=8, choices=Colour.choices)
    domain = models.CharField(_("服务领域"), max_length=100)
    leader = models.ForeignKey(
        "volunteers.Volunteer",
        verbose_name=_("队长"),
        related_name="led_teams",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    members = models.ManyToManyField(
        "volunteers.Volunteer",
        verbose_name=_("队员"),
        through="volunteers.Membership",
        related_name="teams",
    )
    is_active = models.BooleanField(_("在册"), default=True)
    disbanded_on = models.DateField(_("解散日期"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    history = HistoricalRecords()
    objects = TeamQuerySet.as_manager()

    class Meta:
        verbose_name = _("志愿服务队")
        verbose_name_plural = _("志愿服务队")
        ordering = ["unit__path", "name"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "name"], name="team_name_unique_in_unit"),
            models.CheckConstraint(
                name="team_disbanded_has_date",
                condition=models.Q(is_active=True, disbanded_on__isnull=True)
                | models.Q(is_active=False, disbanded_on__isnull=False),
            ),
        ]

    def __str__(self):
        return self.name


class Volunteer(models.Model):
    unit = models.ForeignKey(
        OrgUnit, verbose_name=_("所属单位"), related_name="volunteers", on_delete=models.PROTECT
    )
    name = models.CharField(_("姓名"), max_length=50)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    is_party_member = models.BooleanField(_("党员"), default=False)
    # 在职党员到社区报到: a party member employed elsewhere who serves where they live.
    is_in_service_member = models.BooleanField(_("在职党员报到"), default=False)
    skills = models.CharField(_("特长"), max_length=200, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("门户账号"),
        related_name="volunteer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    joined_on = models.DateField(_("注册日期"))
    is_active = models.BooleanField(_("在册"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    history = HistoricalRecords()
    objects = VolunteerRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("志愿者")
        verbose_name_plural = _("志愿者")
        ordering = ["unit__path", "name", "id"]
        constraints = [
            models.CheckConstraint(
                name="volunteer_in_service_is_party_member",
                condition=models.Q(is_in_service_member=False) | models.Q(is_party_member=True),
            ),
        ]
        indexes = [
            # The in-service share metric: a branch's in-service party members.
            models.Index(
                fields=["unit"],
                name="volunteer_in_service_idx",
                condition=models.Q(is_in_service_member=True),
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)


def mask_phone(phone: str) -> str:
    """138****5678: lists show a phone this way; the full number only on the profile.
    At least four digits stay hidden, so a 7-digit landline is 1****67, not all of it."""
    phone = (phone or "").strip()
    if len(phone) <= 4:
        return "*" * len(phone)
    shown = len(phone) - 4
    head = min(3, shown // 2)
    tail = min(4, shown - head)
    return f"{phone[:head]}{'*' * (len(phone) - head - tail)}{phone[-tail:]}"


def mask_name(name: str) -> str:
    """张三 → 张*, 张三华 → 张*华, 欧阳小明 → 欧**明 (a resident's name for read-only roles)."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


class MembershipQuerySet(VolunteerRecordQuerySet):
    path_lookup = "team__unit__path"


class Membership(models.Model):
    team = models.ForeignKey(
        Team, verbose_name=_("队伍"), related_name="memberships", on_delete=models.CASCADE
    )
    volunteer = models.ForeignKey(
        Volunteer, verbose_name=_("志愿者"), related_name="memberships", on_delete=models.CASCADE
    )
    joined_on = models.DateField(_("入队日期"))

    history = HistoricalRecords()
    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("队员")
        verbose_name_plural = _("队员")
        constraints = [
            models.UniqueConstraint(fields=["team", "volunteer"], name="membership_once"),
        ]

    def __str__(self):
        return f"{self.team} · {self.volunteer}"
