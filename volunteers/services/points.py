"""The points bank: every change is a ledger row plus the balance row's update, in one
transaction. The ledger is the truth; the balance row is its sum kept where the database
can refuse a negative value (`points_balance_not_negative`).
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.models import OrgUnit
from volunteers.models import Merchant, PointsBalance, PointsEntry, Volunteer
from volunteers.services.teams import check_unit, require
from volunteers.services.text import clean_label, clean_text, collect

Kind = PointsEntry.Kind
POINTS_MAX = 100_000


class InsufficientPoints(ValidationError):
    pass


def _short_message(balance: int, points: int) -> str:
    return _(
        "积分不足：当前余额 %(balance)s 分，本次需要 %(points)s 分，还差 %(short)s 分。"
        "请减少兑换数量，或待服务时长确认后再兑换。"
    ) % {"balance": balance, "points": points, "short": points - balance}


def ledger_append(
    *,
    volunteer: Volunteer,
    kind: str,
    points: int,
    reason: str = "",
    merchant=None,
    attendance=None,
    user=None,
) -> PointsEntry:
    """The one writer of the ledger (call inside a transaction)."""
    entry = PointsEntry.objects.create(
        volunteer=volunteer,
        kind=kind,
        points=points,
        reason=reason,
        merchant=merchant,
        attendance=attendance,
        created_by=user,
    )
    PointsBalance.objects.get_or_create(volunteer=volunteer)
    try:
        with transaction.atomic():
            PointsBalance.objects.filter(volunteer=volunteer).update(
                balance=F("balance") + points, updated_at=timezone.now()
            )
    except IntegrityError:
        # The check constraint refused a negative balance (another redemption won the race).
        balance = PointsBalance.objects.get(volunteer=volunteer).balance
        raise InsufficientPoints(_short_message(balance, -points)) from None
    return entry


def balance_of(volunteer: Volunteer) -> int:
    row = PointsBalance.objects.filter(volunteer=volunteer).first()
    return row.balance if row else 0


def ledger_sum(volunteer: Volunteer) -> int:
    return PointsEntry.objects.filter(volunteer=volunteer).aggregate(s=Sum("points"))["s"] or 0


def _points_check(points) -> int:
    if isinstance(points, bool) or not isinstance(points, int):
        raise ValidationError(_("积分须是整数。"))
    if not 0 < points <= POINTS_MAX:
        raise ValidationError(
            _("积分须是 1 到 %(max)s 之间的整数，现在是 %(value)s。")
            % {"max": POINTS_MAX, "value": points}
        )
    return points


def _volunteer_in_scope(user, volunteer: Volunteer) -> None:
    if not Volunteer.objects.visible_to(user).filter(pk=volunteer.pk).exists():
        raise PermissionDenied(_("该志愿者不在您的管辖范围内。"))


@transaction.atomic
def points_redeem(
    *, user, volunteer: Volunteer, merchant: Merchant, points: int, reason: str = ""
) -> PointsEntry:
    """Redeem points at a merchant: positive, at most the balance."""
    require(user.can_manage_points, _("只有乡镇(街道)工作人员可以办理积分兑换。"))
    _volunteer_in_scope(user, volunteer)
    if not Merchant.objects.visible_to(user).filter(pk=merchant.pk, is_active=True).exists():
        raise ValidationError(_("请选择您管辖范围内正在合作的爱心商家。"))
    points = _points_check(points)
    reason = clean_label(_("兑换内容"), reason, required=False, limit=200)
    # Lock the balance row: a second redemption waits here and then sees the new balance.
    balance, _created = PointsBalance.objects.get_or_create(volunteer=volunteer)
    balance = PointsBalance.objects.select_for_update().get(pk=balance.pk)
    if points > balance.balance:
        raise InsufficientPoints(_short_message(balance.balance, points))
    return ledger_append(
        volunteer=volunteer,
        kind=Kind.REDEEMED,
        points=-points,
        reason=reason or merchant.offer,
        merchant=merchant,
        user=user,
    )


@transaction.atomic
def points_adjust(*, user, volunteer: Volunteer, points: int, reason: str) -> PointsEntry:
    """Staff correct a balance up or down; the reason is required and kept in the ledger."""
    require(user.can_manage_points, _("只有乡镇(街道)工作人员可以调整积分。"))
    _volunteer_in_scope(user, volunteer)
    reason = clean_text(_("调整原因"), reason, required=True, limit=200)
    if isinstance(points, bool) or not isinstance(points, int) or points == 0:
        raise ValidationError(_("调整的积分须是非零整数（扣减填负数）。"))
    _points_check(abs(points))
    balance, _created = PointsBalance.objects.get_or_create(volunteer=volunteer)
    balance = PointsBalance.objects.select_for_update().get(pk=balance.pk)
    if balance.balance + points < 0:
        raise InsufficientPoints(_short_message(balance.balance, -points))
    return ledger_append(
        volunteer=volunteer, kind=Kind.ADJUSTED, points=points, reason=reason, user=user
    )


def _merchant_fields(errors: dict, *, merchant, unit, name, offer, address) -> dict:
    # The name and the offer land in the points ledger and its export: no formula starts.
    name = collect(errors, "name", clean_label, _("商家名称"), name, required=True, limit=100)
    same_name = Merchant.objects.filter(unit=unit, name=name)
    if merchant is not None:
        same_name = same_name.exclude(pk=merchant.pk)
    if name and same_name.exists():
        errors.setdefault("name", []).append(
            _("%(unit)s已有名为“%(name)s”的爱心商家，请换一个名称，或编辑原有的商家。")
            % {"unit": unit.name, "name": name}
        )
    return {
        "name": name,
        "offer": collect(errors, "offer", clean_label, _("兑换内容"), offer, required=True,
                         limit=200),
        "address": collect(errors, "address", clean_text, _("地址"), address, required=False,
                           limit=200),
    }  # fmt: skip


@transaction.atomic
def merchant_create(*, user, unit: OrgUnit, name: str, offer: str, address: str = "") -> Merchant:
    require(user.can_manage_points, _("只有乡镇(街道)工作人员可以登记爱心商家。"))
    check_unit(user, unit)
    errors: dict = {}
    fields = _merchant_fields(
        errors, merchant=None, unit=unit, name=name, offer=offer, address=address
    )
    if errors:
        raise ValidationError(errors)
    return Merchant.objects.create(unit=unit, **fields)


@transaction.atomic
def merchant_update(
    *,
    user,
    merchant: Merchant,
    unit: OrgUnit,
    name: str,
    offer: str,
    address: str,
    is_active: bool,
) -> Merchant:
    """Edit a merchant; clearing `is_active` ends the partnership (its redemptions stay)."""
    require(user.can_manage_points, _("只有乡镇(街道)工作人员可以修改爱心商家。"))
    check_unit(user, merchant.unit)
    check_unit(user, unit)
    errors: dict = {}
    fields = _merchant_fields(
        errors, merchant=merchant, unit=unit, name=name, offer=offer, address=address
    )
    if errors:
        raise ValidationError(errors)
    for field, value in fields.items():
        setattr(merchant, field, value)
    merchant.unit = unit
    merchant.is_active = is_active
    merchant.save()
    return merchant
