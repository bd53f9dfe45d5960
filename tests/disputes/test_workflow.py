"""The transition table and the deadline rules, without a database."""

from datetime import date

import pytest

from disputes import workflow
from disputes.models import CaseStep, DisputeCase

S = DisputeCase.Status
A = CaseStep.Action
Level = DisputeCase.Level


@pytest.mark.parametrize(
    ("status", "action", "after"),
    [
        (S.RECEIVED, A.START, S.MEDIATING),
        (S.MEDIATING, A.SUCCEED, S.SUCCEEDED),
        (S.MEDIATING, A.FAIL, S.FAILED),
        (S.FAILED, A.TRANSFER, S.TRANSFERRED),
        (S.FAILED, A.ESCALATE, S.RECEIVED),
        (S.SUCCEEDED, A.CLOSE, S.CLOSED),
        (S.FAILED, A.CLOSE, S.CLOSED),
        (S.TRANSFERRED, A.CLOSE, S.CLOSED),
        (S.CLOSED, A.VISIT, S.VISITED),
        (S.VISITED, A.REOPEN, S.RECEIVED),
        (S.MEDIATING, A.SESSION, S.MEDIATING),
        (S.RECEIVED, A.ASSIGN, S.RECEIVED),
    ],
)
def test_allowed_transitions(status, action, after):
    assert workflow.next_status(status, action, Level.VILLAGE) == after


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (S.RECEIVED, A.CLOSE),
        (S.RECEIVED, A.SUCCEED),
        (S.SUCCEEDED, A.ESCALATE),
        (S.CLOSED, A.START),
        (S.VISITED, A.VISIT),
        (S.MEDIATING, A.REOPEN),
        (S.TRANSFERRED, A.ESCALATE),
    ],
)
def test_illegal_transitions_are_refused_with_what_is_allowed(status, action):
    with pytest.raises(workflow.TransitionRefused) as refused:
        workflow.next_status(status, action, Level.VILLAGE)
    message = refused.value.message
    assert f"案件当前为“{S(status).label}”" in message
    assert f"不能“{A(action).label}”" in message


def test_the_message_lists_the_next_allowed_actions():
    with pytest.raises(workflow.TransitionRefused) as refused:
        workflow.next_status(S.RECEIVED, A.CLOSE, Level.VILLAGE)
    assert "现在可以：指派调解、开始调解、转办、上交。" in refused.value.message


def test_a_county_case_cannot_be_escalated():
    assert A.ESCALATE not in workflow.allowed_actions(S.FAILED, Level.COUNTY)
    with pytest.raises(workflow.TransitionRefused, match="县级"):
        workflow.next_status(S.FAILED, A.ESCALATE, Level.COUNTY)


def test_escalation_goes_one_level_up():
    assert workflow.escalation_level(Level.COMPOUND) == Level.VILLAGE
    assert workflow.escalation_level(Level.VILLAGE) == Level.TOWNSHIP
    assert workflow.escalation_level(Level.TOWNSHIP) == Level.COUNTY


def test_every_category_and_risk_has_a_time_limit():
    for category in DisputeCase.Category.values:
        for risk in DisputeCase.Risk.values:
            assert workflow.TIME_LIMIT_DAYS[category][risk] > 0


def test_due_date_crosses_month_and_year_ends():
    assert workflow.due_date(date(2026, 1, 31), "NEIGHBOUR", "LOW") == date(2026, 2, 15)
    assert workflow.due_date(date(2026, 2, 20), "NEIGHBOUR", "LOW") == date(2026, 3, 7)
    assert workflow.due_date(date(2024, 2, 20), "NEIGHBOUR", "LOW") == date(2024, 3, 6)
    assert workflow.due_date(date(2026, 12, 25), "LABOUR", "HIGH") == date(2026, 12, 28)
    assert workflow.due_date(date(2026, 12, 25), "LAND", "LOW") == date(2027, 1, 24)


def test_days_overdue():
    due = date(2026, 2, 28)
    assert workflow.days_overdue(due, date(2026, 2, 28)) == 0
    assert workflow.days_overdue(due, date(2026, 3, 1)) == 1
    assert workflow.days_overdue(due, date(2026, 3, 31)) == 31
    assert workflow.days_overdue(due, date(2026, 3, 31), is_open=False) == 0


def test_the_setting_changes_single_time_limits(settings):
    settings.DISPUTE_TIME_LIMITS = {("LABOUR", "HIGH"): 2}
    assert workflow.due_date(date(2026, 4, 30), "LABOUR", "HIGH") == date(2026, 5, 2)
    assert workflow.due_date(date(2026, 4, 30), "LABOUR", "LOW") == date(2026, 5, 10)
    settings.DISPUTE_TIME_LIMITS = {}
    assert workflow.due_date(date(2026, 4, 30), "LABOUR", "HIGH") == date(2026, 5, 3)


def test_a_misspelt_time_limit_setting_is_refused(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.DISPUTE_TIME_LIMITS = {("LABOR", "HIGH"): 2}
    with pytest.raises(ImproperlyConfigured, match="LABOR"):
        workflow.time_limits()
