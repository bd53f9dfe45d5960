"""The org hierarchy (materialized path) and the one jurisdiction rule behind every `visible_to`."""

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
