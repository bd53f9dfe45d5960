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
from volunteers.services.text import clean_name, clean_phone, clean_text, collect


def require(allowed: bool, message: str = "") -> None:
    if not allowed:
        raise PermissionDenied(message or _("您的角色不能进行此操作。"))


def check_unit(user, unit: OrgUnit) -> None:
    """The unit is a branch (村/社区) or below, inside the user's jurisdiction."""
    if unit.level < OrgUnit.Level.VILLAGE:
        raise ValidationError(_("请选择一个村(社区)或其下的小区、楼栋。"))
    if not OrgUnit.objects.visible_to(user).filter(pk=unit.pk).exists():
        raise PermissionDenied(_("该单位不在您的管辖范围内。"))


def branch_path(unit: OrgUnit) -> str:
    """The path of the 村(社区) a unit belongs to (the unit itself at village level)."""
    return unit.path[: OrgUnit.Level.VILLAGE * OrgUnit.steplen]


def _team_fields(
    errors: dict, *, user, team: Team | None, unit, name, colour, domain, leader
) -> dict:
    name = collect(errors, "name", clean_name, _("队伍名称"), name, limit=100)
    if colour not in Team.Colour.values:
        errors.setdefault("colour", []).append(_("请选择队伍颜色。"))
    domain = collect(errors, "domain", clean_text, _("服务领域"), domain, required=True, limit=100)
    same_name = Team.objects.filter(unit=unit, name=name).exclude(pk=team.pk if team else None)
    if name and same_name.exists():
        errors.setdefault("name", []).append(
            _("%(unit)s已有名为“%(name)s”的队伍，请换一个名称。")
            % {"unit": unit.name, "name": name}
        )
    if leader is not None and not (
        leader.is_active
        and leader.unit.path.startswith(branch_path(unit))
        and Volunteer.objects.visible_to(user).filter(pk=leader.pk).exists()
    ):
        errors.setdefault("leader", []).append(
            _("队长须是本村(社区)在册的志愿者，请从列表中选择；新队长可先在“登记志愿者”中登记。")
        )
    return {"name": name, "colour": colour, "domain": domain, "leader": leader}


@transaction.atomic
def team_create(
    *, user, unit: OrgUnit, name: str, colour: str, domain: str, leader: Volunteer | None = None
) -> Team:
    require(user.can_manage_volunteers)
    check_unit(user, unit)
    errors: dict = {}
    fields = _team_fields(
        errors,
        user=user,
        team=None,
        unit=unit,
        name=name,
        colour=colour,
        domain=domain,
        leader=leader,
    )
    if errors:
        raise ValidationError(errors)
    team = Team.objects.create(unit=unit, **fields)
    if leader is not None:
        _membership_ensure(team, leader)
    return team


@transaction.atomic
def team_update(
    *,
    user,
    team: Team,
    name: str,
    colour: str,
    domain: str,
    leader: Volunteer | None,
    is_active: bool,
) -> Team:
    """Edit a team; clearing `is_active` disbands it today, setting it again re-forms it.
    The unit stays: the team's activities count for that branch."""
    require(user.can_manage_volunteers)
    check_unit(user, team.unit)
    errors: dict = {}
    fields = _team_fields(
        errors,
        user=user,
        team=team,
        unit=team.unit,
        name=name,
        colour=colour,
        domain=domain,
        leader=leader,
    )
    if errors:
        raise ValidationError(errors)
    for field, value in fields.items():
        setattr(team, field, value)
    if team.is_active and not is_active:
        team.disbanded_on = timezone.localdate()
    elif is_active:
        team.disbanded_on = None
    team.is_active = is_active
    team.save()
    if leader is not None:
        _membership_ensure(team, leader)
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


def _volunteer_fields(
    errors: dict, *, name, phone, is_party_member, is_in_service_member, skills
) -> dict:
    if is_in_service_member and not is_party_member:
        errors.setdefault("is_in_service_member", []).append(
            _("“在职党员报到”只适用于党员，请同时勾选“党员”。")
        )
    return {
        "name": collect(errors, "name", clean_name, _("姓名"), name, limit=50),
        "phone": collect(errors, "phone", clean_phone, phone),
        "is_party_member": is_party_member,
        "is_in_service_member": is_in_service_member,
        "skills": collect(
            errors, "skills", clean_text, _("特长"), skills, required=False, limit=200
        ),
    }


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
    errors: dict = {}
    fields = _volunteer_fields(
        errors,
        name=name,
        phone=phone,
        is_party_member=is_party_member,
        is_in_service_member=is_in_service_member,
        skills=skills,
    )
    if errors:
        raise ValidationError(errors)
    volunteer = Volunteer.objects.create(
        unit=unit, user=account, joined_on=joined_on or timezone.localdate(), **fields
    )
    PointsBalance.objects.create(volunteer=volunteer)
    return volunteer


@transaction.atomic
def volunteer_update(
    *,
    user,
    volunteer: Volunteer,
    unit: OrgUnit,
    name: str,
    phone: str,
    is_party_member: bool,
    is_in_service_member: bool,
    skills: str,
    joined_on: date,
    is_active: bool,
) -> Volunteer:
    require(user.can_manage_volunteers)
    check_unit(user, volunteer.unit)
    check_unit(user, unit)
    errors: dict = {}
    fields = _volunteer_fields(
        errors,
        name=name,
        phone=phone,
        is_party_member=is_party_member,
        is_in_service_member=is_in_service_member,
        skills=skills,
    )
    if errors:
        raise ValidationError(errors)
    for field, value in fields.items():
        setattr(volunteer, field, value)
    volunteer.unit = unit
    volunteer.joined_on = joined_on
    volunteer.is_active = is_active
    volunteer.save()
    return volunteer


@transaction.atomic
def membership_add(*, user, team: Team, volunteer: Volunteer) -> Membership:
    require(user.can_manage_volunteers)
    check_unit(user, team.unit)
    if not Volunteer.objects.visible_to(user).filter(pk=volunteer.pk).exists():
        raise PermissionDenied(_("该志愿者不在您的管辖范围内。"))
    if not team.is_active:
        raise ValidationError({"volunteer": _("该队伍已解散，不能再添加队员。")})
    if not volunteer.is_active:
        raise ValidationError(
            {"volunteer": _("%(name)s已不在册，不能加入队伍。") % {"name": volunteer.name}}
        )
    return _membership_ensure(team, volunteer)


def _membership_ensure(team: Team, volunteer: Volunteer) -> Membership:
    membership, _created = Membership.objects.get_or_create(
        team=team, volunteer=volunteer, defaults={"joined_on": timezone.localdate()}
    )
    return membership


@transaction.atomic
def membership_end(*, user, team: Team, volunteer: Volunteer) -> None:
    """The volunteer leaves the team. The row goes; its history (who removed it, when) stays
    in the membership's history table, and the hours served stay with the activities."""
    require(user.can_manage_volunteers)
    check_unit(user, team.unit)
    membership = Membership.objects.filter(team=team, volunteer=volunteer).first()
    if membership is None:
        raise ValidationError(_("%(name)s不是本队队员。") % {"name": volunteer.name})
    if team.leader_id == volunteer.pk:
        raise ValidationError(
            _("%(name)s是本队队长：请先在“编辑队伍”中更换队长，再让其离队。")
            % {"name": volunteer.name}
        )
    membership.delete()
