"""Edits of one org unit; the unit page and the API call these."""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.models import OrgUnit, jurisdiction_path

# What staff may change on a unit; code, level and place in the tree come from imports.
UNIT_EDITABLE_FIELDS = [
    "name",
    "party_org_kind",
    "party_org_name",
    "secretary_name",
    "member_count",
    "household_count",
]


class UnitChangedError(ValidationError):
    """The unit was saved by someone else after the editor loaded it."""


def _display_name(user) -> str:
    """The name people know a colleague by (the timeline's rule), not their login."""
    return user.get_full_name() or user.username


@transaction.atomic
def unit_update(*, unit: OrgUnit, user, data: dict, expected_updated_at: datetime) -> OrgUnit:
    """Save the editable facts of `unit`, refusing if it changed since `expected_updated_at`.

    The row is locked while it is compared and written, so of two editors who loaded the
    same version only the first one saves; the second gets UnitChangedError.
    """
    scope = jurisdiction_path(user)
    if scope is None or not unit.path.startswith(scope) or not user.can_edit_units:
        raise PermissionDenied
    current = OrgUnit.objects.select_for_update().get(pk=unit.pk)
    if current.updated_at != expected_updated_at:
        last = current.history.select_related("history_user").first()
        raise UnitChangedError(
            _(
                "保存失败：“%(name)s”在您打开编辑页面之后已被%(who)s于 %(when)s 修改。"
                "为避免覆盖他人的修改，本次内容没有保存。下面显示的是最新内容，"
                "请核对后重新填写并保存。"
            )
            % {
                "name": current.name,
                "who": (last and last.history_user and _display_name(last.history_user))
                or _("其他用户"),
                "when": timezone.localtime(current.updated_at).strftime("%Y-%m-%d %H:%M:%S"),
            },
            code="conflict",
        )
    changed = [name for name in UNIT_EDITABLE_FIELDS if getattr(current, name) != data[name]]
    if not changed:
        # Saving an unchanged form would only add an empty entry to the history.
        return current
    for name in changed:
        setattr(current, name, data[name])
    current.full_clean()
    # Recorded as the change's author also outside web requests (commands, tasks).
    current._history_user = user
    current.save(update_fields=[*changed, "updated_at"])
    return current
