"""Visits (走访 / 敲门行动): a grid worker records a visit to a household of their grids."""

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from grids.models import GridWorker, Household, Visit
from grids.services.common import clean_text, not_in_future, require

NOTES_MAX = 1000
# A visit is recorded soon after it happens; older ones are typed in from paper by the township.
BACKDATE_DAYS_MAX = 90


@transaction.atomic
def visit_record(
    *,
    user,
    household: Household,
    visited_on: date,
    purpose: str,
    notes: str = "",
    needs_follow_up: bool = False,
) -> Visit:
    """Record one visit; the household's last visit day follows."""
    require(user.can_record_visits, _("您的角色不能登记走访。"))
    if not Household.objects.visible_to(user).filter(pk=household.pk).exists():
        raise PermissionDenied(_("该住户不在您负责的网格内。"))
    if purpose not in Visit.Purpose.values:
        raise ValidationError(_("请选择走访事由。"))
    not_in_future(_("走访日期"), visited_on)
    from django.utils import timezone

    if (timezone.localdate() - visited_on).days > BACKDATE_DAYS_MAX:
        raise ValidationError(
            _("走访日期不能早于 %(days)s 天前，请核对日期。") % {"days": BACKDATE_DAYS_MAX}
        )
    worker = GridWorker.objects.filter(user=user).first()
    visit = Visit.objects.create(
        household=household,
        grid_id=household.grid_id,
        worker=worker,
        recorded_by=user,
        visited_on=visited_on,
        purpose=purpose,
        notes=clean_text(_("走访情况"), notes, required=False, limit=NOTES_MAX, multiline=True),
        needs_follow_up=needs_follow_up,
    )
    Household.objects.filter(pk=household.pk).filter(
        Q(last_visited_on__isnull=True) | Q(last_visited_on__lt=visited_on)
    ).update(last_visited_on=visited_on)
    return visit
