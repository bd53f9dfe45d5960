"""The case workflow and deadlines as plain data and functions (no database).

已受理 --开始调解--> 调解中 --调解成功/调解未成功--> 调解成功 / 调解未成功
已受理 / 调解未成功 --转办 (department)--> 已转办
已受理 / 调解中 / 调解未成功 --上交 (reason)--> 已受理 one level up (the parent unit there)
调解成功 / 调解未成功 / 已转办 --结案 (outcome)--> 已结案 --回访 (satisfaction)--> 已回访
已结案 / 已回访 --重新办理 (reason)--> 已受理
"""

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from disputes.models import CaseStep, DisputeCase

Status = DisputeCase.Status
Action = CaseStep.Action
Category = DisputeCase.Category
Risk = DisputeCase.Risk
Level = DisputeCase.Level
Outcome = DisputeCase.Outcome


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str | None  # None: the status stays (assign, session)


# The workflow, one row per action.
TRANSITIONS: dict[str, Transition] = {
    Action.ASSIGN: Transition(frozenset({Status.RECEIVED, Status.MEDIATING, Status.FAILED}), None),
    Action.START: Transition(frozenset({Status.RECEIVED}), Status.MEDIATING),
    Action.SESSION: Transition(frozenset({Status.MEDIATING}), None),
    Action.SUCCEED: Transition(frozenset({Status.MEDIATING}), Status.SUCCEEDED),
    Action.FAIL: Transition(frozenset({Status.MEDIATING}), Status.FAILED),
    Action.TRANSFER: Transition(frozenset({Status.RECEIVED, Status.FAILED}), Status.TRANSFERRED),
    Action.ESCALATE: Transition(
        frozenset({Status.RECEIVED, Status.MEDIATING, Status.FAILED}), Status.RECEIVED
    ),
    Action.CLOSE: Transition(
        frozenset({Status.SUCCEEDED, Status.FAILED, Status.TRANSFERRED}), Status.CLOSED
    ),
    Action.VISIT: Transition(frozenset({Status.CLOSED}), Status.VISITED),
    Action.REOPEN: Transition(frozenset({Status.CLOSED, Status.VISITED}), Status.RECEIVED),
}

# The order actions are offered in on the case page.
ACTION_ORDER = [
    Action.ASSIGN, Action.START, Action.SESSION, Action.SUCCEED, Action.FAIL, Action.TRANSFER,
    Action.ESCALATE, Action.CLOSE, Action.VISIT, Action.REOPEN,
]  # fmt: skip

# A case mediated successfully closes with an outcome that resolves it; one that failed or
# was transferred may close either way (a department may settle it, or it goes to court).
CLOSE_OUTCOMES: dict[str, tuple[str, ...]] = {
    Status.SUCCEEDED: (Outcome.WRITTEN, Outcome.ORAL, Outcome.JUDICIAL),
    Status.FAILED: (Outcome.LITIGATION, Outcome.ARBITRATION, Outcome.WITHDRAWN),
    Status.TRANSFERRED: (Outcome.DEPARTMENT, Outcome.LITIGATION, Outcome.ARBITRATION,
                         Outcome.WITHDRAWN),
}  # fmt: skip

# 上交: one level up.
NEXT_LEVEL = {
    Level.COMPOUND: Level.VILLAGE,
    Level.VILLAGE: Level.TOWNSHIP,
    Level.TOWNSHIP: Level.COUNTY,
}


class TransitionRefused(Exception):
    """An action the case's status does not allow; the message says what is allowed."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def allowed_actions(status: str, level: int | None = None) -> list[str]:
    """The actions the status allows, in page order (上交 not at county level)."""
    actions = [a for a in ACTION_ORDER if status in TRANSITIONS[a].sources]
    if level is not None and level not in NEXT_LEVEL:
        actions = [a for a in actions if a != Action.ESCALATE]
    return actions


def next_status(status: str, action: str, level: int | None = None) -> str:
    """The status after `action`, or TransitionRefused with a message in Chinese."""
    transition = TRANSITIONS[action]
    if action == Action.ESCALATE and level is not None and level not in NEXT_LEVEL:
        raise TransitionRefused(_("案件已在县级调处，不能再上交。"))
    if status not in transition.sources:
        allowed = "、".join(str(Action(a).label) for a in allowed_actions(status, level))
        message = _("案件当前为“%(status)s”，不能“%(action)s”。") % {
            "status": Status(status).label,
            "action": Action(action).label,
        }
        message += (
            _("现在可以：%(allowed)s。") % {"allowed": allowed}
            if allowed
            else _("该状态下没有可以进行的操作。")
        )
        raise TransitionRefused(message)
    return transition.target or status


def escalation_level(level: int) -> int:
    if level not in NEXT_LEVEL:
        raise TransitionRefused(_("案件已在县级调处，不能再上交。"))
    return NEXT_LEVEL[level]


# Time limits (calendar days from receipt) per category and risk level: the higher the
# risk, the shorter; wage arrears (农民工工资) are handled fastest. The DISPUTE_TIME_LIMITS
# setting changes single entries.
TIME_LIMIT_DAYS: dict[str, dict[str, int]] = {
    Category.NEIGHBOUR: {Risk.LOW: 15, Risk.MEDIUM: 10, Risk.HIGH: 5},
    Category.FAMILY: {Risk.LOW: 15, Risk.MEDIUM: 10, Risk.HIGH: 5},
    Category.PROPERTY: {Risk.LOW: 20, Risk.MEDIUM: 15, Risk.HIGH: 7},
    Category.LABOUR: {Risk.LOW: 10, Risk.MEDIUM: 7, Risk.HIGH: 3},
    Category.LAND: {Risk.LOW: 30, Risk.MEDIUM: 20, Risk.HIGH: 10},
    Category.OTHER: {Risk.LOW: 15, Risk.MEDIUM: 10, Risk.HIGH: 5},
}


@cache
def _time_limits(overrides: frozenset) -> dict[str, dict[str, int]]:
    """The default time limits with the DISPUTE_TIME_LIMITS setting's overrides applied."""
    limits = {category: dict(by_risk) for category, by_risk in TIME_LIMIT_DAYS.items()}
    for (category, risk), days in overrides:
        if category not in limits or risk not in limits[category]:
            raise ImproperlyConfigured(
                f"DISPUTE_TIME_LIMITS: no category {category!r} with risk level {risk!r}; "
                f"categories {', '.join(Category.values)}, risk levels {', '.join(Risk.values)}"
            )
        limits[category][risk] = days
    return limits


def time_limits() -> dict[str, dict[str, int]]:
    """The time limits in force, in days: ImproperlyConfigured for an unknown name."""
    return _time_limits(frozenset(settings.DISPUTE_TIME_LIMITS.items()))


def time_limit_days(category: str, risk: str) -> int:
    """The time limit of a category and risk level, in days (the setting, else the default)."""
    return time_limits()[category][risk]


def due_date(received_on: date, category: str, risk: str) -> date:
    """The due date: the time limit counted in calendar days from the day of receipt."""
    return received_on + timedelta(days=time_limit_days(category, risk))


def days_overdue(due_on: date, today: date, *, is_open: bool = True) -> int:
    """Whole days past `due_on` on `today` (the Asia/Shanghai date); 0 when closed."""
    if not is_open or today <= due_on:
        return 0
    return (today - due_on).days
