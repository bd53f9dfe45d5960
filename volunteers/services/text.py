"""The field checks the volunteers services share (the shared text rule, bounds)."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from branches.validators import NAME_FORBIDDEN_STARTS, text_problem


def clean_text(label, value: str, *, required: bool, limit: int, multiline=False) -> str:
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
    return value


def clean_label(label, value: str, *, required: bool, limit: int) -> str:
    """A one-line label that lands in ledgers and exports (an item, a title): the text rule,
    and no leading = + - @ a spreadsheet would run as a formula."""
    value = clean_text(label, value, required=required, limit=limit)
    if value.startswith(NAME_FORBIDDEN_STARTS):
        raise ValidationError(
            _("“%(field)s”不能以 = + - @ 开头：表格软件会把这样的内容当作公式，请删除开头的符号。")
            % {"field": label}
        )
    return value


def clean_name(label, value: str, *, limit: int) -> str:
    value = clean_text(label, value, required=True, limit=limit)
    if value.startswith(NAME_FORBIDDEN_STARTS):
        raise ValidationError(
            _("“%(field)s”不能以 = + - @ 开头，请填写真实名称。") % {"field": label}
        )
    return value


def collect(errors: dict, field: str, check, *args, **kwargs):
    """Run one field's check; its messages go to `errors[field]`, so the form shows them
    beside that field and every field's problem is reported at once."""
    try:
        return check(*args, **kwargs)
    except ValidationError as error:
        errors.setdefault(field, []).extend(error.messages)
        return None


def clean_phone(value: str) -> str:
    value = (value or "").strip()
    if value and not (value.isdigit() and 7 <= len(value) <= 15):
        raise ValidationError(_("手机号只能是 7 到 15 位数字，例如 13812345678。"))
    return value
