"""Writes of the dispute ledger: registering a case, every workflow step, attachments,
mediation sessions, return visits, teams and the daily overdue job.

Who: a case is registered by township staff, secretaries and grid workers for a unit in
their jurisdiction; it is handled (assigned, mediated, transferred, escalated, closed,
visited, reopened) by township staff and secretaries whose jurisdiction holds the case's
handling unit, and mediated (start, sessions, success or failure) also by its assigned
mediator or a member of its team. Leaders and auditors read. Every step writes a CaseStep.
"""

import re
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from branches.models import OrgUnit, jurisdiction_path
from branches.services.notifications import notify_users
from branches.services.workflow import evidence_check
from branches.validators import text_problem
from disputes import workflow
from disputes.models import (
    CaseAttachment,
    CaseCounter,
    CaseStep,
    DisputeCase,
    MediationSession,
    MediationTeam,
    Party,
    ReturnVisit,
)
from disputes.workflow import TransitionRefused
from governance.models import User
from grids.models import GridEvent
from grids.services.events import event_mark_converted

Status = DisputeCase.Status
Action = CaseStep.Action
Level = DisputeCase.Level
L = OrgUnit.Level
SUMMARY_MAX = 2000
NOTE_MAX = 2000
PARTIES_MAX = 20
ATTACHMENTS_MAX = 10
# Actions an assigned mediator (or team member) may take besides the handlers.
MEDIATOR_ACTIONS = (Action.START, Action.SESSION, Action.SUCCEED, Action.FAIL)
# Who is told of a case that reaches their unit (上交) or passes its due date there.
HANDLER_ROLES = (User.Role.TOWNSHIP_STAFF, User.Role.SECRETARY)


class CaseConflict(ValidationError):
    """The case changed since the user loaded it."""


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def _name(user) -> str:
    return (user.get_full_name() or user.username) if user else ""


def _in_path(user, unit: OrgUnit) -> bool:
    path = jurisdiction_path(user)
    return path is not None and unit.path.startswith(path)


def is_mediator(user, case: DisputeCase) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if case.mediator_id == user.pk:
        return True
    return case.team_id is not None and case.team.members.filter(pk=user.pk).exists()


def may_handle(user, case: DisputeCase) -> bool:
    """Handlers: the role, and the case's handling unit inside the jurisdiction."""
    return user.can_handle_disputes and _in_path(user, case.handling_unit)


def may_act(user, case: DisputeCase, action: str) -> bool:
    if may_handle(user, case):
        return True
    return action in MEDIATOR_ACTIONS and not user.is_read_only and is_mediator(user, case)


def may_see_parties(user, case: DisputeCase) -> bool:
    """Names and phones in full inside the handling jurisdiction (and for the mediator)."""
    return _in_path(user, case.handling_unit) or is_mediator(user, case)


def mask_name(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_phone(phone: str) -> str:
    if len(phone) >= 7:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    return "*" * len(phone)


MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
# A resident ID number (居民身份证号码): region, birth date, sequence, check character.
ID_NUMBER = re.compile(
    r"(?<!\d)[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![\dXx])"
)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def has_id_number(text: str) -> bool:
    """Whether the text holds a resident ID number (its check character must fit, so that
    order and account numbers of the same length pass)."""
    for match in ID_NUMBER.finditer(text):
        number = match.group().upper()
        total = sum(int(digit) * weight for digit, weight in zip(number, ID_WEIGHTS, strict=False))
        if "10X98765432"[total % 11] == number[-1]:
            return True
    return False


def mask_text(text: str, parties) -> str:
    """Free text (summary, notes, session records) as someone outside the handling
    jurisdiction sees it: each party's name and phone masked as in the party list, and
    any mobile number too. One-character names are left alone (they would mask words)."""
    if not text:
        return text
    for party in parties:
        if len(party.name) >= 2:
            text = text.replace(party.name, mask_name(party.name))
        if len(party.phone) >= 7:
            text = text.replace(party.phone, mask_phone(party.phone))
    return MOBILE.sub(lambda match: mask_phone(match.group()), text)


def parties_shown_to(user):
    """may_see_parties for many cases (a ledger, an export): the user's teams read once.
    The cases need their handling unit loaded."""
    path = jurisdiction_path(user)
    teams = set(
        MediationTeam.members.through.objects.filter(user_id=user.pk).values_list(
            "mediationteam_id", flat=True
        )
    )

    def full(case: DisputeCase) -> bool:
        return (
            (path is not None and case.handling_unit.path.startswith(path))
            or case.mediator_id == user.pk
            or case.team_id in teams
        )

    return full


def text_for(user, case: DisputeCase):
    """The function that shows this case's free text to this user."""
    if may_see_parties(user, case):
        return lambda text: text
    parties = list(case.parties.all())
    return lambda text: mask_text(text, parties)


def available_actions(user, case: DisputeCase) -> list[str]:
    """The next steps the case allows and the user may take, in page order."""
    return [
        a
        for a in workflow.allowed_actions(case.status, case.handling_level)
        if may_act(user, case, a)
    ]


def _text(label, value: str, *, required: bool, limit: int, multiline=True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError(_("请填写“%(field)s”。") % {"field": label})
    if len(value) > limit:
        raise ValidationError(
            _("“%(field)s”最多 %(max)s 个字，现在是 %(n)s 个字，请精简后再保存。")
            % {"field": label, "max": limit, "n": len(value)}
        )
    problem = text_problem(value, multiline=multiline)
    if problem:
        raise ValidationError(_("“%(field)s”%(problem)s") % {"field": label, "problem": problem})
    if has_id_number(value):
        raise ValidationError(
            _("“%(field)s”中有身份证号码：矛盾纠纷台账不登记身份证号，请删去后再保存。")
            % {"field": label}
        )
    return value


def _phone(value: str) -> str:
    value = (value or "").strip().replace(" ", "").replace("-", "")
    if value and not (value.isdigit() and 7 <= len(value) <= 12):
        raise ValidationError(
            _("联系电话“%(phone)s”格式不对：请填写7至12位数字（手机号或座机号）。")
            % {"phone": value}
        )
    return value


def _check_date(label, value: date, *, not_before: date | None = None) -> None:
    today = timezone.localdate()
    if value > today:
        raise ValidationError(
            _("“%(field)s”不能晚于今天（%(today)s）。") % {"field": label, "today": today}
        )
    if not_before and value < not_before:
        raise ValidationError(
            _("“%(field)s”不能早于%(date)s。") % {"field": label, "date": not_before}
        )


def _ancestor_at(unit: OrgUnit, level: int) -> OrgUnit | None:
    """The unit itself or its ancestor at `level` (the compound for a building)."""
    if unit.level == level:
        return unit
    if unit.level < level:
        return None
    depth = unit.depth - (unit.level - level)
    return OrgUnit.objects.filter(level=level, path=unit.path[: unit.steplen * depth]).first()


def _unit_level_of(unit: OrgUnit) -> int:
    """The handling level where a case of this unit starts: its own (a building's compound)."""
    return min(unit.level, L.COMPOUND)


def case_url(case: DisputeCase) -> str:
    return reverse("disputes:case_detail", args=[case.number])


def _notify(recipients, case: DisputeCase, text: str) -> None:
    """In-portal notifications, in the step's transaction (they fall with it)."""
    notify_users(recipients=recipients, unit=case.unit, text=text, url=case_url(case))


def _check_event(user, event: GridEvent, unit: OrgUnit) -> None:
    """A grid event becomes a case once, while open, where it arose, by someone who sees it."""
    if not GridEvent.objects.visible_to(user).filter(pk=event.pk).exists():
        raise PermissionDenied(_("该网格事件不在您的管辖范围内。"))
    if DisputeCase.objects.filter(grid_event=event).exists():
        raise ValidationError(_("该网格事件已转为纠纷案件，不能重复转办。"))
    if not event.is_open:
        raise ValidationError(
            _("该网格事件为“%(status)s”，不能再转为纠纷案件。")
            % {"status": event.get_status_display()}
        )
    if not unit.path.startswith(event.grid.unit.path[: OrgUnit.steplen * L.VILLAGE]):
        raise ValidationError(_("纠纷发生地须在该网格事件所在的村(社区)内。"))


def _step(case, user, action, *, before="", after="", from_level=None, to_level=None, note=""):
    return CaseStep.objects.create(
        case=case,
        action=action,
        from_status=before,
        to_status=after,
        from_level=from_level,
        to_level=to_level,
        actor=user,
        actor_name=_name(user),
        note=note,
    )


def _next_number(township: OrgUnit, year: int) -> str:
    """The next number of the township's year: the counter row is locked until commit, so
    concurrent registrations wait for each other and a number is never handed out twice
    (a rolled-back registration's number is not reused either — the counter only grows)."""
    CaseCounter.objects.bulk_create(
        [CaseCounter(township=township, year=year)], ignore_conflicts=True
    )
    counter = CaseCounter.objects.select_for_update().get(township=township, year=year)
    counter.last_number = F("last_number") + 1
    counter.save(update_fields=["last_number"])
    counter.refresh_from_db(fields=["last_number"])
    return f"{year}-{township.code}-{counter.last_number:04d}"


def _check_assignee(case_unit: OrgUnit, mediator, team) -> None:
    if mediator is not None and (mediator.unit is None or not mediator.is_active):
        raise ValidationError(_("所选调解员没有有效的账号或所属单位，请另选。"))
    if team is not None and not team.is_active:
        raise ValidationError(_("所选调解组织已停用，请另选。"))


@transaction.atomic
def case_create(
    *,
    user,
    unit: OrgUnit,
    category: str,
    source: str,
    summary: str,
    received_on: date,
    risk: str = DisputeCase.Risk.LOW,
    parties: list[dict] | None = None,
    handling_level: int | None = None,
    mediator=None,
    team: MediationTeam | None = None,
    grid_event: GridEvent | None = None,
) -> DisputeCase:
    """Register a case (已受理) at the level where it arose, or at a higher one chosen.

    From a reported grid event (转为纠纷案件): the case names the event and its grid, and the
    event records the step and is marked 已转为纠纷案件, in this transaction."""
    _require(user.can_register_disputes, _("您的角色不能登记矛盾纠纷。"))
    if grid_event is not None:
        _check_event(user, grid_event, unit)
    if not _in_path(user, unit):
        raise PermissionDenied(_("该单位不在您的管辖范围内。"))
    if unit.level < L.TOWNSHIP:
        raise ValidationError(_("纠纷发生地须是乡镇(街道)或以下单位，请选择具体的村(社区)或小区。"))
    if category not in DisputeCase.Category.values:
        raise ValidationError(_("请选择纠纷类型。"))
    if source not in DisputeCase.Source.values:
        raise ValidationError(_("请选择纠纷来源。"))
    if risk not in DisputeCase.Risk.values:
        raise ValidationError(_("请选择风险等级。"))
    start_level = _unit_level_of(unit)
    level = start_level if handling_level is None else int(handling_level)
    if level not in Level.values or level > start_level:
        raise ValidationError(
            _("调处层级不能低于纠纷发生地所在层级（%(level)s）。")
            % {"level": Level(start_level).label}
        )
    _check_date(_("受理日期"), received_on, not_before=date(timezone.localdate().year - 1, 1, 1))
    parties = parties or []
    if len(parties) > PARTIES_MAX:
        raise ValidationError(_("当事人最多 %(max)s 个。") % {"max": PARTIES_MAX})
    clean_parties = []
    for given in parties:
        role = given.get("role") or Party.Role.APPLICANT
        if role not in Party.Role.values:
            raise ValidationError(_("当事人身份不对，请选择申请人、被申请人或其他当事人。"))
        clean_parties.append(
            Party(
                name=_text(
                    _("当事人姓名"),
                    given.get("name", ""),
                    required=True,
                    limit=100,
                    multiline=False,
                ),
                role=role,
                phone=_phone(given.get("phone", "")),
            )
        )
    _check_assignee(unit, mediator, team)
    township = _ancestor_at(unit, L.TOWNSHIP)
    handling_unit = _ancestor_at(unit, level)
    case = DisputeCase.objects.create(
        number=_next_number(township, received_on.year),
        unit=unit,
        branch=_ancestor_at(unit, L.VILLAGE),
        township=township,
        category=category,
        source=source,
        summary=_text(_("纠纷概要"), summary, required=True, limit=SUMMARY_MAX),
        received_on=received_on,
        risk=risk,
        handling_level=level,
        top_level=level,
        handling_unit=handling_unit,
        mediator=mediator,
        team=team,
        due_on=workflow.due_date(received_on, category, risk),
        created_by=user,
        grid=grid_event.grid if grid_event is not None else None,
        grid_event=grid_event,
    )
    for party in clean_parties:
        party.case = case
    bulk_create_with_history(clean_parties, Party, default_user=user)
    _step(case, user, Action.RECEIVE, after=Status.RECEIVED, to_level=level)
    if grid_event is not None:
        event_mark_converted(
            event=grid_event, actor=user, reference=case.number, url=case_url(case)
        )
    if mediator is not None:
        _notify([mediator], case, _("您被指派调解矛盾纠纷 %(n)s。") % {"n": case.number})
    return case


def _lock(case: DisputeCase, expected_version: int | None) -> DisputeCase:
    locked = (
        DisputeCase.objects.select_for_update(of=("self",))
        .select_related("handling_unit", "unit", "team")
        .get(pk=case.pk)
    )
    if expected_version is not None and locked.version != expected_version:
        raise CaseConflict(
            _("该案件在您打开之后已被他人办理（现在为“%(status)s”），请刷新页面后再操作。")
            % {"status": locked.get_status_display()}
        )
    return locked


def _transition(case, user, action, expected_version, *, note="", **changes) -> DisputeCase:
    """Check the role and the workflow, apply the changes, write the step."""
    locked = _lock(case, expected_version)
    _require(
        may_act(user, locked, action),
        _("您不能对该案件进行“%(action)s”：案件由%(unit)s调处。")
        % {"action": Action(action).label, "unit": locked.handling_unit.name},
    )
    try:
        after = workflow.next_status(locked.status, action, locked.handling_level)
    except TransitionRefused as refused:
        raise ValidationError(refused.message) from None
    before, from_level = locked.status, locked.handling_level
    for name, value in changes.items():
        setattr(locked, name, value)
    locked.status = after
    locked.version += 1
    locked.save()
    step = _step(
        locked,
        user,
        action,
        before=before,
        after=after,
        from_level=from_level if from_level != locked.handling_level else None,
        to_level=locked.handling_level if from_level != locked.handling_level else None,
        note=note,
    )
    locked.last_step = step
    return locked


@transaction.atomic
def case_assign(*, case, user, mediator=None, team=None, note="", expected_version=None):
    """Assign a mediator and/or a team (the status stays)."""
    if mediator is None and team is None:
        raise ValidationError(_("请选择调解员或调解组织。"))
    _check_assignee(case.unit, mediator, team)
    if team is not None and not _in_path(user, team.unit) and not user.is_superuser:
        raise PermissionDenied(_("所选调解组织不在您的管辖范围内。"))
    note = _text(_("说明"), note, required=False, limit=NOTE_MAX)
    whom = [
        *([_("调解员 %(name)s") % {"name": _name(mediator)}] if mediator else []),
        *([_("调解组织 %(name)s") % {"name": team.name}] if team else []),
    ]
    recorded = _("指派%(whom)s") % {"whom": "、".join(whom)}
    case = _transition(
        case,
        user,
        Action.ASSIGN,
        expected_version,
        note=f"{recorded}。{note}" if note else recorded,
        mediator=mediator,
        team=team,
    )
    recipients = [mediator] + (list(team.members.all()) if team else [])
    _notify(recipients, case, _("您被指派调解矛盾纠纷 %(n)s。") % {"n": case.number})
    return case


@transaction.atomic
def case_start(*, case, user, note="", expected_version=None):
    note = _text(_("说明"), note, required=False, limit=NOTE_MAX)
    return _transition(case, user, Action.START, expected_version, note=note)


@transaction.atomic
def case_succeed(*, case, user, note="", expected_version=None):
    note = _text(_("调解结果说明"), note, required=False, limit=NOTE_MAX)
    return _transition(case, user, Action.SUCCEED, expected_version, note=note, is_resolved=True)


@transaction.atomic
def case_fail(*, case, user, note, expected_version=None):
    note = _text(_("未成功原因"), note, required=True, limit=NOTE_MAX)
    return _transition(case, user, Action.FAIL, expected_version, note=note)


@transaction.atomic
def case_transfer(*, case, user, department, note="", expected_version=None):
    department = _text(_("转办部门"), department, required=True, limit=100, multiline=False)
    note = _text(_("说明"), note, required=False, limit=NOTE_MAX)
    return _transition(
        case,
        user,
        Action.TRANSFER,
        expected_version,
        note=_("转至：%(d)s") % {"d": department} + (f"；{note}" if note else ""),
        transfer_department=department,
    )


@transaction.atomic
def case_escalate(*, case, user, reason, expected_version=None):
    """上交: one level up; the handling unit becomes the ancestor at that level and the
    time limit starts again from today."""
    reason = _text(_("上交理由"), reason, required=True, limit=NOTE_MAX)
    locked = _lock(case, expected_version)
    try:
        level = workflow.escalation_level(locked.handling_level)
    except TransitionRefused as refused:
        raise ValidationError(refused.message) from None
    unit = _ancestor_at(locked.unit, level)
    case = _transition(
        case,
        user,
        Action.ESCALATE,
        expected_version,
        note=reason,
        handling_level=level,
        top_level=min(locked.top_level, level),
        handling_unit=unit,
        mediator=None,
        team=None,
        is_overdue=False,
        due_on=workflow.due_date(timezone.localdate(), locked.category, locked.risk),
    )
    recipients = unit.users.filter(role__in=HANDLER_ROLES, is_active=True)
    _notify(
        recipients,
        case,
        _("矛盾纠纷 %(n)s 已上交%(unit)s调处。") % {"n": case.number, "unit": unit.name},
    )
    return case


@transaction.atomic
def case_close(*, case, user, outcome, note="", expected_version=None):
    if outcome not in DisputeCase.Outcome.values:
        raise ValidationError(_("请选择结案方式。"))
    locked = _lock(case, expected_version)
    allowed = workflow.CLOSE_OUTCOMES.get(locked.status)
    if allowed is not None and outcome not in allowed:
        raise ValidationError(
            _("案件为“%(status)s”，结案方式只能是：%(choices)s。")
            % {
                "status": locked.get_status_display(),
                "choices": "、".join(str(DisputeCase.Outcome(o).label) for o in allowed),
            }
        )
    note = _text(_("结案说明"), note, required=False, limit=NOTE_MAX)
    return _transition(
        case,
        user,
        Action.CLOSE,
        expected_version,
        note=DisputeCase.Outcome(outcome).label + (f"；{note}" if note else ""),
        outcome=outcome,
        is_resolved=outcome in DisputeCase.RESOLVED_OUTCOMES,
        closed_at=timezone.now(),
        is_overdue=False,
    )


@transaction.atomic
def case_visit(*, case, user, satisfaction, visited_on=None, note="", expected_version=None):
    if satisfaction not in ReturnVisit.Satisfaction.values:
        raise ValidationError(_("请选择满意度：满意、基本满意或不满意。"))
    visited_on = visited_on or timezone.localdate()
    closed_on = timezone.localdate(case.closed_at) if case.closed_at else None
    _check_date(_("回访日期"), visited_on, not_before=closed_on)
    note = _text(_("回访情况"), note, required=False, limit=NOTE_MAX)
    label = ReturnVisit.Satisfaction(satisfaction).label
    case = _transition(
        case, user, Action.VISIT, expected_version, note=label + (f"；{note}" if note else "")
    )
    ReturnVisit.objects.create(
        case=case, visited_on=visited_on, satisfaction=satisfaction, note=note, visitor=user
    )
    return case


@transaction.atomic
def case_reopen(*, case, user, reason, expected_version=None):
    """Back to 已受理 at the same level with a fresh time limit; it counts as unresolved."""
    reason = _text(_("重新办理原因"), reason, required=True, limit=NOTE_MAX)
    return _transition(
        case,
        user,
        Action.REOPEN,
        expected_version,
        note=reason,
        outcome="",
        is_resolved=False,
        closed_at=None,
        due_on=workflow.due_date(timezone.localdate(), case.category, case.risk),
    )


@transaction.atomic
def session_add(
    *,
    case,
    user,
    held_on,
    place,
    participants,
    record,
    result,
    expected_version=None,
    conclude=False,
) -> MediationSession:
    """Record one mediation session (the case must be 调解中). With `conclude`, a session
    that reached an agreement also records 调解成功 and one that did not 调解未成功."""
    if result not in MediationSession.Result.values:
        raise ValidationError(_("请选择本次调解的结果。"))
    _check_date(_("调解日期"), held_on, not_before=case.received_on)
    place = _text(_("地点"), place, required=True, limit=100, multiline=False)
    participants = _text(_("参加人员"), participants, required=True, limit=1000)
    record = _text(_("调解记录"), record, required=True, limit=4000)
    label = MediationSession.Result(result).label
    case = _transition(
        case, user, Action.SESSION, expected_version, note=f"{held_on} {place}：{label}"
    )
    session = MediationSession.objects.create(
        case=case,
        held_on=held_on,
        place=place,
        participants=participants,
        record=record,
        result=result,
        mediator=user,
    )
    note = _("%(day)s调解：%(result)s") % {"day": held_on, "result": label}
    if conclude and result == MediationSession.Result.AGREED:
        case_succeed(case=case, user=user, note=note)
    elif conclude and result == MediationSession.Result.FAILED:
        case_fail(case=case, user=user, note=note)
    return session


@transaction.atomic
def attachments_add(*, case, user, files, note="") -> CaseStep:
    """Attach files (content-checked) as a timeline step of their own."""
    _require(
        may_handle(user, case) or (is_mediator(user, case) and not user.is_read_only),
        _("您不能为该案件上传附件。"),
    )
    if not files:
        raise ValidationError(_("请选择要上传的文件。"))
    if len(files) > ATTACHMENTS_MAX:
        raise ValidationError(_("一次最多上传 %(max)s 个文件。") % {"max": ATTACHMENTS_MAX})
    for upload in files:
        evidence_check(upload)
    note = _text(_("说明"), note, required=False, limit=NOTE_MAX)
    step = _step(case, user, Action.ATTACH, note=note)
    for upload in files:
        CaseAttachment.objects.create(
            case=case,
            step=step,
            file=upload,
            original_name=upload.name[:200],
            size=upload.size,
            uploaded_by=user,
        )
    return step


@transaction.atomic
def team_save(*, user, unit, name, kind, members=(), member_names="", team=None):
    """Create or edit a mediation team of a unit in the jurisdiction."""
    _require(user.can_handle_disputes, _("您的角色不能维护调解组织。"))
    if not _in_path(user, unit):
        raise PermissionDenied(_("该单位不在您的管辖范围内。"))
    if kind not in MediationTeam.Kind.values:
        raise ValidationError(_("请选择调解组织类型。"))
    name = _text(_("名称"), name, required=True, limit=100, multiline=False)
    member_names = _text(_("其他成员"), member_names, required=False, limit=2000)
    members = list(members)
    outside = [
        m for m in members if not m.is_active or m.unit is None or not _in_path(user, m.unit)
    ]
    if outside:
        raise ValidationError(
            _("成员%(names)s没有有效的账号，或不在您的管辖范围内，请另选。")
            % {"names": "、".join(_name(m) for m in outside)}
        )
    team = team or MediationTeam(unit=unit)
    team.unit, team.name, team.kind, team.member_names = unit, name, kind, member_names
    try:
        with transaction.atomic():
            team.save()
    except IntegrityError:
        raise ValidationError(
            _("%(unit)s已有名为“%(name)s”的调解组织。") % {"unit": unit.name, "name": name}
        ) from None
    team.members.set(members)
    return team


def cases_mark_overdue(today: date | None = None) -> int:
    """Mark open cases past their due date 逾期 and notify their handlers. Idempotent: the
    conditional update claims each case once (a marked case is not marked again)."""
    today = today or timezone.localdate()
    marked = 0
    with transaction.atomic():
        ids = list(
            DisputeCase.objects.overdue_on(today)
            .filter(is_overdue=False)
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        if not ids:
            return 0
        marked = DisputeCase.objects.filter(pk__in=ids, is_overdue=False).update(is_overdue=True)
        cases = list(DisputeCase.objects.filter(pk__in=ids).select_related("unit", "handling_unit"))
        # The update and the bulk insert skip the change history: it is written here.
        DisputeCase.history.bulk_history_create(
            cases, update=True, default_change_reason=str(Action.OVERDUE.label)
        )
        bulk_create_with_history(
            [
                CaseStep(
                    case=case,
                    action=Action.OVERDUE,
                    from_status=case.status,
                    to_status=case.status,
                    note=_("超过办理期限（%(due)s）") % {"due": case.due_on},
                )
                for case in cases
            ],
            CaseStep,
        )
        for case in cases:
            recipients = [
                case.mediator_id,
                *case.handling_unit.users.filter(
                    role__in=HANDLER_ROLES, is_active=True
                ).values_list("pk", flat=True),
            ]
            _notify(
                recipients,
                case,
                _("矛盾纠纷 %(n)s 已超过办理期限（%(due)s），请尽快办理。")
                % {"n": case.number, "due": case.due_on},
            )
    return marked
