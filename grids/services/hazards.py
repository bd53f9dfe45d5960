"""The hazard ledger (安全隐患排查台账): record a hazard, add rectification evidence, close
it (销号) only with evidence. Overdue = open past its deadline (read, not stored)."""

import os
import uuid
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.services.workflow import evidence_check
from grids.models import Grid, Hazard, HazardEvidence, HazardStep, Visit
from grids.services.common import actor_name, clean_text, not_in_future, require

Status = Hazard.Status
Action = HazardStep.Action
EVIDENCE_MAX = 9


def _step(hazard, user, action, *, before="", after="", note=""):
    return HazardStep.objects.create(
        hazard=hazard,
        action=action,
        from_status=before,
        to_status=after,
        actor=user,
        actor_name=actor_name(user),
        note=note,
    )


@transaction.atomic
def hazard_record(
    *,
    user,
    grid: Grid,
    place: str,
    kind: str,
    description: str,
    deadline: date,
    responsible_name: str,
    risk: str = Hazard.Risk.LOW,
    found_on: date | None = None,
    visit: Visit | None = None,
) -> Hazard:
    require(user.can_record_hazards, _("您的角色不能登记安全隐患。"))
    if not Grid.objects.visible_to(user).filter(pk=grid.pk).exists():
        raise PermissionDenied(_("该网格不在您负责的范围内。"))
    if kind not in Hazard.Kind.values:
        raise ValidationError(_("请选择隐患类别（消防、燃气、电动车充电、危房、其他）。"))
    if risk not in Hazard.Risk.values:
        raise ValidationError(_("请选择风险等级。"))
    found_on = not_in_future(_("发现日期"), found_on or timezone.localdate())
    if deadline < found_on:
        raise ValidationError(_("整改期限不能早于发现日期。"))
    if visit is not None and visit.grid_id != grid.pk:
        raise ValidationError(_("所选走访不属于该网格。"))
    hazard = Hazard.objects.create(
        number="T" + uuid.uuid4().hex[:19],
        grid=grid,
        visit=visit,
        source=Hazard.Source.VISIT if visit else Hazard.Source.INSPECTION,
        place=clean_text(_("隐患位置"), place, required=True, limit=200),
        kind=kind,
        risk=risk,
        description=clean_text(
            _("隐患描述"), description, required=True, limit=2000, multiline=True
        ),
        found_on=found_on,
        deadline=deadline,
        responsible_name=clean_text(
            _("整改责任人"), responsible_name, required=True, limit=50, name=True
        ),
        recorded_by=user,
    )
    hazard.number = f"YH{found_on:%Y}{hazard.pk:07d}"
    hazard.save(update_fields=["number"])
    _step(hazard, user, Action.RECORDED, after=Status.OPEN)
    return hazard


def _may_work(user, hazard: Hazard) -> None:
    if not Hazard.objects.visible_to(user).filter(pk=hazard.pk).exists():
        raise PermissionDenied(_("该隐患不在您的管辖范围内。"))


@transaction.atomic
def hazard_evidence_add(*, hazard: Hazard, user, upload) -> HazardEvidence:
    require(user.can_record_hazards, _("您的角色不能上传整改佐证。"))
    _may_work(user, hazard)
    if hazard.status != Status.OPEN:
        raise ValidationError(_("隐患已销号，不能再上传佐证。"))
    if hazard.evidence.count() >= EVIDENCE_MAX:
        raise ValidationError(_("每条隐患最多 %(max)s 个佐证文件。") % {"max": EVIDENCE_MAX})
    evidence_check(upload)
    name = os.path.basename(upload.name)
    item = HazardEvidence.objects.create(
        hazard=hazard, file=upload, original_name=name[:200], size=upload.size, uploaded_by=user
    )
    _step(hazard, user, Action.EVIDENCE_ADDED, note=name)
    return item


@transaction.atomic
def hazard_close(*, hazard: Hazard, user, note: str, closed_on: date | None = None) -> Hazard:
    """销号: only with at least one evidence file and a note of what was done."""
    require(user.can_close_hazards, _("您的角色不能为隐患销号。"))
    _may_work(user, hazard)
    if hazard.status != Status.OPEN:
        raise ValidationError(_("该隐患已销号。"))
    if not hazard.evidence.exists():
        raise ValidationError(_("销号须先上传整改佐证（照片或文件），请上传后再销号。"))
    note = clean_text(_("整改情况"), note, required=True, limit=2000, multiline=True)
    closed_on = not_in_future(_("销号日期"), closed_on or timezone.localdate())
    if closed_on < hazard.found_on:
        raise ValidationError(_("销号日期不能早于发现日期。"))
    updated = Hazard.objects.filter(pk=hazard.pk, status=Status.OPEN).update(
        status=Status.CLOSED,
        closed_on=closed_on,
        closed_by=user,
        close_note=note,
        updated_at=timezone.now(),
    )
    if not updated:
        raise ValidationError(_("该隐患已被他人销号，请刷新页面。"))
    hazard.refresh_from_db()
    hazard.save(update_fields=["updated_at"])
    _step(hazard, user, Action.CLOSED, before=Status.OPEN, after=Status.CLOSED, note=note)
    return hazard
