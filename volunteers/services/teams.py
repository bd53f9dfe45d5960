"""Teams and volunteers: registration, membership, disbanding.

Who: township staff and secretaries (`User.can_manage_volunteers`) for units in their
jurisdiction. Every record keeps its history (django-simple-history).
"""

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.models import OrgUnit
from volunteers.models import Membership, PointsBalance, Team, Volunteer
from volunteers.services.text import clean_name, clean_phone, clean_text


def require(allowed: bool, message: str = "") -> None:
    if not allowed:
        raise PermissionDenied(message or _("您的角色不能进行此操作。"))


def check_unit(user, unit: OrgUnit) -> None:
    """The unit is a branch (村/社区) or below, inside the user's jurisdiction."""
    if unit.level < OrgUnit.Level.VILLAGE:
        raise ValidationError(_("请选择一个村(社区)或其下的小区、楼栋。"))
    if not OrgUnit.objects.visible_to(user).filter(pk=unit.pk).exists():
        raise PermissionDenied(_("该单位不在您的管辖范围内。"))


@transaction.atomic
def team_create(
    *, user, unit: OrgUnit, name: str, colour: str, domain: str, leader: Volunteer | None = None
) -> Team:
    require(user.can_manage_volunteers)
    check_unit(user, unit)
    name = clean_name(_("队伍名称"), name, limit=100)
    if colour not in Team.Colour.values:
        raise ValidationError(_("请选择队伍颜色。"))
    if Team.objects.filter(unit=unit, name=name).exists():
        raise ValidationError(
            _("%(unit)s已有名为“%(name)s”的队伍。") % {"unit": unit.name, "name": name}
        )
    team = Team.objects.create(
        unit=unit,
        name=name,
        colour=colour,
        domain=clean_text(_("服务领域"), domain, required=True, limit=100),
        leader=leader,
    )
    if leader is not None:
        membership_add(user=user, team=team, volunteer=leader)
    return team


@transaction.atomic
def team_disband(*, user, team: Team, on: date | None = None) -> Team:
    require(user.can_manage_volunteers)
    check_unit(user, team.unit)
    if not team.is_active:
        raise ValidationError(_("该队伍已解散。"))
    team.is_active = False
    team.disbanded_on = on or timezone.localdate()
    team.save()
    return team


@transaction.atomic
def volunteer_create(
    *,
    user,
    unit: OrgUnit,
    name: str,
    phone: str = "",
    is_party_member: bool = False,
    is_in_service_member: bool = False,
    skills: str = "",
    account=None,
    joined_on: date | None = None,
) -> Volunteer:
    require(user.can_manage_volunteers)
    check_unit(user, unit)
    if is_in_service_member and not is_party_member:
        raise ValidationError(_("“在职党员报到”只适用于党员，请同时勾选“党员”。"))
    volunteer = Volunteer.objects.create(
        unit=unit,
        name=clean_name(_("姓名"), name, limit=50),
        phone=clean_phone(phone),
        is_party_member=is_party_member,
        is_in_service_member=is_in_service_member,
        skills=clean_text(_("特长"), skills, required=False, limit=200),
        user=account,
        joined_on=joined_on or timezone.localdate(),
    )
    PointsBalance.objects.create(volunteer=volunteer)
    return volunteer


@transaction.atomic
def membership_add(*, user, team: Team, volunteer: Volunteer) -> Membership:
    require(user.can_manage_volunteers)
    check_unit(user, team.unit)
    if not Volunteer.objects.visible_to(user).filter(pk=volunteer.pk).exists():
        raise PermissionDenied(_("该志愿者不在您的管辖范围内。"))
    membership, _created = Membership.objects.get_or_create(
        team=team, volunteer=volunteer, defaults={"joined_on": timezone.localdate()}
    )
    return membership
