"""Checks every grids service shares: the role, the text rule, phones and dates."""

import re
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.validators import name_problem, text_problem

PHONE_RE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8}|\d{7,8})$")


def require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def actor_name(user) -> str:
    return (user.get_full_name() or user.username) if user else ""


def clean_text(label, value, *, required: bool, limit: int, multiline=False, name=False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError(_("请填写“%(field)s”。") % {"field": label})
    if len(value) > limit:
        raise ValidationError(
            _("“%(field)s”最多 %(max)s 个字，现在是 %(n)s 个字，请精简后再保存。")
            % {"field": label, "max": limit, "n": len(value)}
        )
    problem = text_problem(value, multiline=multiline) or (name_problem(value) if name else None)
    if problem:
        raise ValidationError(_("“%(field)s”%(problem)s") % {"field": label, "problem": problem})
    return value


def clean_phone(value) -> str:
    value = (value or "").strip().replace(" ", "")
    if value and not PHONE_RE.match(value):
        raise ValidationError(
            _("手机号/电话“%(phone)s”格式不对：请填写11位手机号，或带区号的固定电话。")
            % {"phone": value}
        )
    return value


def not_in_future(label, day: date) -> date:
    today = timezone.localdate()
    if day > today:
        raise ValidationError(
            _("“%(field)s”不能晚于今天（%(today)s）。") % {"field": label, "today": today}
        )
    return day
