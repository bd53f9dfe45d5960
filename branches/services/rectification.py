"""Rectification items (问题清单): opening, the workflow, automatic verification, overdue.

OPEN 待整改 --start--> IN_PROGRESS 整改中 --close (evidence)--> DONE 已整改
OPEN/IN_PROGRESS/OVERDUE --close (evidence)--> DONE; DONE --reopen (reason)--> IN_PROGRESS
DONE --recompute: the criterion passes in a month >= the closing month--> VERIFIED 已验证
DONE --recompute: it still fails--> DONE with still_failing (已整改但仍未达标)
OPEN/IN_PROGRESS past the deadline --daily job--> OVERDUE 逾期 (idempotent)
An item without a criterion stays 已整改: verification needs a criterion to check.

Who: township staff, leaders and administrators open, edit and advance items of branches in
their jurisdiction; a secretary starts, documents and closes their own branch's items;
auditors (and everyone else who reads scorecards) read. Every step writes a RectificationEvent.
"""

import os
from dataclasses import dataclass
from datetime import date

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, models, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branches.models import (
    Criterion,
    LeaderAssignment,
    OrgUnit,
    Rating,
    Rectification,
    RectificationEvent,
    RectificationEvidence,
    StarAssessment,
)
from branches.services.notifications import notice, notices_send
from branches.services.workflow import ConflictError, evidence_check
from branches.validators import text_problem

Status = Rectification.Status
Action = RectificationEvent.Action
PROBLEM_MAX = 1000
MEASURE_MAX = 2000
NOTE_MAX = 2000
EVIDENCE_MAX_FILES = 20
BULK_MAX = 5000


class RectificationConflict(ConflictError):
    """The item changed since the user loaded it (the reports' conflict, worded for items)."""

    def describe(self, user, advice: str) -> str:
        by = self.changed_by
        if user is not None and by is not None and by.pk == user.pk:
            who = _("您本人（在另一个窗口或设备上）")
        else:
            who = (by.get_full_name() or by.username) if by is not None else _("其他用户")
        at = timezone.localtime(self.report.updated_at).strftime("%Y-%m-%d %H:%M")
        return _("该整改事项在您打开之后已被%(who)s修改（%(at)s）。") % {"who": who, "at": at} + (
            advice
        )


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def may_manage(user, item: Rectification | None = None) -> bool:
    return user.can_manage_rectifications


def may_work(user, item: Rectification) -> bool:
    """Start, add evidence, close: the managers, or the secretary of the item's branch."""
    if user.can_manage_rectifications:
        return True
    return user.can_work_rectifications and user.unit_id == item.branch_id


def _event(item, user, action, *, before="", after="", note="") -> RectificationEvent:
    return RectificationEvent.objects.create(
        rectification=item,
        action=action,
        from_status=before,
        to_status=after,
        actor=user,
        actor_name=(user.get_full_name() or user.username) if user else "",
        note=note,
    )


# Who hears of which step: those who carry the item out (the branch's secretaries and the
# responsible person), those who oversee it (who opened it, the township's staff and the
# branch's 包联 leaders of the year), or both.
WORKERS, OVERSEERS = "workers", "overseers"
ANNOUNCED = {
    Action.CREATED: (
        {WORKERS, OVERSEERS},
        gettext_lazy("%(branch)s有新的整改事项（期限 %(deadline)s）：%(problem)s"),
    ),
    Action.CLOSED: (
        {OVERSEERS},
        gettext_lazy("%(branch)s的整改事项已整改完成，请查看佐证：%(problem)s"),
    ),
    Action.REOPENED: ({WORKERS}, gettext_lazy("%(branch)s的整改事项被退回重新整改：%(problem)s")),
    Action.OVERDUE: (
        {WORKERS, OVERSEERS},
        gettext_lazy("%(branch)s的整改事项已超过期限 %(deadline)s：%(problem)s"),
    ),
    Action.STILL_FAILING: (
        {WORKERS, OVERSEERS},
        gettext_lazy("%(branch)s的整改事项已整改，但重算后该指标仍未达标：%(problem)s"),
    ),
    Action.VERIFIED: ({WORKERS}, gettext_lazy("%(branch)s的整改事项经重算验证已达标：%(problem)s")),
}
ANNOUNCE_CHUNK = 2000


def _announce(ids: list[int], action: str, actor=None) -> None:
    """Notify the people concerned by `action` on the items `ids`, in the step's transaction:
    one query for the items and one for the recipients per chunk, one insert."""
    groups, text = ANNOUNCED[action]
    User = get_user_model()
    for start in range(0, len(ids), ANNOUNCE_CHUNK):
        items = list(
            Rectification.objects.filter(pk__in=ids[start : start + ANNOUNCE_CHUNK])
            .select_related("branch")
            .only(
                "problem", "deadline", "responsible_user_id", "created_by_id",
                "branch__name", "branch__path",
            )
        )  # fmt: skip
        townships = {item.branch.path[: 4 * OrgUnit.steplen] for item in items}
        people = User.objects.filter(is_active=True).filter(
            Q(role=User.Role.SECRETARY, unit_id__in={item.branch_id for item in items})
            | Q(role=User.Role.TOWNSHIP_STAFF, unit__path__in=townships)
        )
        leaders = {}
        assigned = LeaderAssignment.objects.filter(
            branch_id__in={item.branch_id for item in items},
            year=timezone.localdate().year,
            leader__is_active=True,
        )
        for branch_id, leader_id in assigned.values_list("branch_id", "leader_id"):
            leaders.setdefault(branch_id, []).append(leader_id)
        secretaries, staff = {}, {}
        for pk, role, unit_id, path in people.values_list("pk", "role", "unit_id", "unit__path"):
            if role == User.Role.SECRETARY:
                secretaries.setdefault(unit_id, []).append(pk)
            else:
                staff.setdefault(path, []).append(pk)
        notices = []
        for item in items:
            recipients = set()
            if WORKERS in groups:
                recipients.update(secretaries.get(item.branch_id, []))
                recipients.add(item.responsible_user_id)
            if OVERSEERS in groups:
                recipients.update(staff.get(item.branch.path[: 4 * OrgUnit.steplen], []))
                recipients.update(leaders.get(item.branch_id, []))
                recipients.add(item.created_by_id)
            recipients.discard(getattr(actor, "pk", None))
            values = {
                "branch": item.branch.name,
                "problem": item.problem[:60],
                "deadline": f"{item.deadline:%Y-%m-%d}",
            }
            url = reverse("rectification_detail", args=[item.pk])
            notices.append(
                notice(recipients=recipients, unit=item.branch, text=text % values, url=url)
            )
        notices_send(notices)


def _claim(item: Rectification, expected_version: int | None, **changes) -> None:
    """Apply changes only if nobody saved the item since `expected_version` was read and its
    status is still the one the caller checked (the reports' optimistic concurrency)."""
    version = item.version if expected_version is None else expected_version
    updated = Rectification.objects.filter(pk=item.pk, version=version, status=item.status).update(
        version=F("version") + 1, updated_at=timezone.now(), **changes
    )
    item.refresh_from_db()
    if not updated:
        raise RectificationConflict(item)
    item.save(update_fields=["updated_at"])  # the history row of the change


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
    return value


def _check_deadline(deadline: date) -> None:
    if deadline < timezone.localdate():
        raise ValidationError(
            _("整改期限不能早于今天（%(today)s），请选择今天或以后的日期。")
            % {"today": timezone.localdate().isoformat()}
        )


def _check_branch(user, branch: OrgUnit) -> None:
    if not branch.is_rated:
        raise ValidationError(_("问题清单只针对村(社区)党组织，请选择一个村(社区)。"))
    if not OrgUnit.objects.visible_to(user).filter(pk=branch.pk).exists():
        raise PermissionDenied(_("该支部不在您的管辖范围内。"))


def gap_text(branch: OrgUnit, criterion: Criterion, period: date) -> str:
    """The scorecard's gap texts of `criterion` for the branch's month, as one problem text."""
    star = StarAssessment.objects.filter(
        unit=branch, period=period, kind=Rating.MONTHLY, star=criterion.star
    ).first()
    texts = [g for g in (star.gaps if star else []) if criterion.title in g]
    return "；".join(texts)[:PROBLEM_MAX] or _("%(title)s 未达标") % {"title": criterion.title}


@transaction.atomic
def rectification_open(
    *,
    user,
    branch: OrgUnit,
    problem: str,
    deadline: date,
    period: date | None = None,
    criterion: Criterion | None = None,
    measure: str = "",
    responsible_unit: OrgUnit | None = None,
    responsible_user=None,
    source: str = Rectification.Source.MANUAL,
) -> Rectification:
    """Open one item (by hand or from a scorecard gap)."""
    _require(user.can_manage_rectifications, _("您的角色不能建立整改事项。"))
    _check_branch(user, branch)
    _check_deadline(deadline)
    period = (period or timezone.localdate()).replace(day=1)
    if period > timezone.localdate().replace(day=1):
        raise ValidationError(_("发现月份不能晚于本月，请选择本月或以前的月份。"))
    item = Rectification.objects.create(
        branch=branch,
        criterion=criterion,
        period=period,
        problem=_text(_("问题"), problem, required=True, limit=PROBLEM_MAX),
        measure=_text(_("整改措施"), measure, required=False, limit=MEASURE_MAX),
        responsible_unit=responsible_unit,
        responsible_user=responsible_user,
        deadline=deadline,
        source=source,
        created_by=user,
    )
    _event(item, user, Action.CREATED, after=Status.OPEN)
    _announce([item.pk], Action.CREATED, user)
    return item


@dataclass
class BulkItem:
    branch: OrgUnit
    problem: str
    period: date
    criterion: Criterion | None = None


@transaction.atomic
def rectifications_open_bulk(
    user, items: list[BulkItem], deadline: date, source: str = Rectification.Source.SUPERVISION
) -> list[Rectification]:
    """Open many items at once (e.g. every branch that lost a star): all or none, a fixed
    number of queries whatever the count. A branch that already has an open item for the
    same criterion and month is skipped (running twice opens nothing new)."""
    _require(user.can_manage_rectifications, _("您的角色不能建立整改事项。"))
    _check_deadline(deadline)
    if len(items) > BULK_MAX:
        raise ValidationError(_("一次最多建立 %(max)s 项，请分批建立。") % {"max": BULK_MAX})
    ids = {item.branch.pk for item in items}
    in_scope = OrgUnit.objects.visible_to(user).rated().filter(pk__in=ids)
    visible = set(in_scope.values_list("pk", flat=True))
    if ids - visible:
        raise PermissionDenied(_("所选支部中有不在您管辖范围内的，或不是村(社区)的。"))
    existing = set(
        Rectification.objects.open()
        .filter(branch_id__in=ids)
        .values_list("branch_id", "criterion_id", "period")
    )
    new = []
    for given in items:
        key = (given.branch.pk, given.criterion.pk if given.criterion else None, given.period)
        if key in existing:
            continue
        existing.add(key)
        new.append(
            Rectification(
                branch=given.branch,
                criterion=given.criterion,
                period=given.period.replace(day=1),
                problem=_text(_("问题"), given.problem, required=True, limit=PROBLEM_MAX),
                deadline=deadline,
                source=source,
                created_by=user,
            )
        )
    created = Rectification.objects.bulk_create(new)
    name = user.get_full_name() or user.username
    RectificationEvent.objects.bulk_create(
        RectificationEvent(
            rectification=item, action=Action.CREATED, to_status=Status.OPEN, actor=user,
            actor_name=name,
        )
        for item in created
    )  # fmt: skip
    _announce([item.pk for item in created], Action.CREATED, user)
    return created


@transaction.atomic
def rectification_edit(*, item: Rectification, user, expected_version: int | None, **fields):
    """Change an open item's problem, measure, responsible unit/person or deadline. Moving an
    overdue item's deadline to today or later takes it back to work (整改中 or 待整改)."""
    _require(user.can_manage_rectifications, _("您的角色不能修改整改事项。"))
    if not item.is_open:
        raise ValidationError(
            _("该整改事项为“%(status)s”，不能再修改。") % {"status": item.get_status_display()}
        )
    changes = {}
    if "problem" in fields:
        changes["problem"] = _text(_("问题"), fields["problem"], required=True, limit=PROBLEM_MAX)
    if "measure" in fields:
        changes["measure"] = _text(
            _("整改措施"), fields["measure"], required=False, limit=MEASURE_MAX
        )
    for name in ("responsible_unit", "responsible_user"):
        if name in fields:
            changes[name] = fields[name]
    before = item.status
    if "deadline" in fields and fields["deadline"] != item.deadline:
        _check_deadline(fields["deadline"])
        changes["deadline"] = fields["deadline"]
        if item.status == Status.OVERDUE:
            started = item.events.filter(action=Action.STARTED).exists()
            changes["status"] = Status.IN_PROGRESS if started else Status.OPEN
    _claim(item, expected_version, **changes)
    _event(
        item,
        user,
        Action.EDITED,
        before=before if item.status != before else "",
        after=item.status if item.status != before else "",
        note="、".join(str(Rectification._meta.get_field(n).verbose_name) for n in changes),
    )
    return item


@transaction.atomic
def rectification_start(*, item: Rectification, user, expected_version: int | None):
    """待整改 → 整改中."""
    _require(may_work(user, item), _("您的角色不能办理该整改事项。"))
    if item.status != Status.OPEN:
        raise ValidationError(
            _("只有“待整改”的事项才能开始整改，该事项为“%(status)s”。")
            % {"status": item.get_status_display()}
        )
    _claim(item, expected_version, status=Status.IN_PROGRESS)
    _event(item, user, Action.STARTED, before=Status.OPEN, after=Status.IN_PROGRESS)
    return item


@transaction.atomic
def rectification_evidence_add(*, item: Rectification, user, uploads: list):
    """Attach evidence files (content-checked like a report's) to an item not yet closed."""
    _require(may_work(user, item), _("您的角色不能为该整改事项上传佐证材料。"))
    if not item.is_open:
        raise ValidationError(
            _("该整改事项为“%(status)s”，不能再上传佐证材料。")
            % {"status": item.get_status_display()}
        )
    if not uploads:
        raise ValidationError(_("请选择要上传的佐证材料文件。"))
    errors = []
    for upload in uploads:
        try:
            evidence_check(upload)
        except ValidationError as error:
            errors.extend(error.messages)
    if errors:
        raise ValidationError(errors)
    already = item.evidence.count()
    if already + len(uploads) > EVIDENCE_MAX_FILES:
        raise ValidationError(
            _("每个整改事项最多 %(max)s 个佐证材料，已有 %(n)s 个，本次选了 %(new)s 个。")
            % {"max": EVIDENCE_MAX_FILES, "n": already, "new": len(uploads)}
        )
    _claim(item, None)
    added = []
    for upload in uploads:
        name = os.path.basename(upload.name)[:200]
        added.append(
            RectificationEvidence.objects.create(
                rectification=item, file=upload, original_name=name, size=upload.size,
                uploaded_by=user,
            )
        )  # fmt: skip
        _event(item, user, Action.EVIDENCE_ADDED, note=name)
    return added


@transaction.atomic
def rectification_close(
    *, item: Rectification, user, expected_version: int | None, note: str = "", uploads=()
):
    """整改完成: needs evidence, a file (already attached or given now) or a note."""
    _require(may_work(user, item), _("您的角色不能办理该整改事项。"))
    if not item.is_open:
        raise ValidationError(
            _("该整改事项为“%(status)s”，不能再标记整改完成。")
            % {"status": item.get_status_display()}
        )
    note = _text(_("整改情况说明"), note, required=False, limit=NOTE_MAX)
    if uploads:
        rectification_evidence_add(item=item, user=user, uploads=list(uploads))
        expected_version = None if expected_version is None else expected_version + 1
    if not note and not item.evidence.exists():
        raise ValidationError(
            _("标记整改完成须提供佐证：请上传至少一个佐证材料，或填写整改情况说明。")
        )
    before = item.status
    _claim(
        item,
        expected_version,
        status=Status.DONE,
        evidence_note=note or item.evidence_note,
        closed_by=user,
        closed_at=timezone.now(),
        still_failing=False,
    )
    _event(item, user, Action.CLOSED, before=before, after=Status.DONE, note=note)
    _announce([item.pk], Action.CLOSED, user)
    return item


@transaction.atomic
def rectification_reopen(*, item: Rectification, user, expected_version: int | None, reason: str):
    """已整改 → 整改中, with a reason (the evidence did not convince, the gap is back)."""
    _require(user.can_manage_rectifications, _("您的角色不能退回整改事项。"))
    if item.status != Status.DONE:
        raise ValidationError(
            _("只有“已整改”的事项才能退回重新整改，该事项为“%(status)s”。")
            % {"status": item.get_status_display()}
        )
    reason = _text(_("退回原因"), reason, required=True, limit=NOTE_MAX)
    _claim(item, expected_version, status=Status.IN_PROGRESS, closed_at=None, closed_by=None)
    _event(item, user, Action.REOPENED, before=Status.DONE, after=Status.IN_PROGRESS, note=reason)
    _announce([item.pk], Action.REOPENED, user)
    return item


# Set-based system steps: the recompute's verification and the daily overdue job.


class JsonListHas(models.Func):
    """True when the JSON list column holds the text of the other expression."""

    conditional = True
    output_field = models.BooleanField()

    def as_postgresql(self, compiler, connection, **extra):
        lhs, lparams = compiler.compile(self.source_expressions[0])
        rhs, rparams = compiler.compile(self.source_expressions[1])
        return f"({lhs} @> jsonb_build_array({rhs}::text))", (*lparams, *rparams)

    def as_sqlite(self, compiler, connection, **extra):
        lhs, lparams = compiler.compile(self.source_expressions[0])
        rhs, rparams = compiler.compile(self.source_expressions[1])
        sql = f"EXISTS (SELECT 1 FROM json_each({lhs}) AS code WHERE code.value = {rhs})"
        return sql, (*lparams, *rparams)


def _system_events(ids: list[int], action: str, before: str, after: str, note: str) -> None:
    RectificationEvent.objects.bulk_create(
        RectificationEvent(
            rectification_id=pk, action=action, from_status=before, to_status=after, note=note
        )
        for pk in ids
    )


def rectifications_verify(*, period: date, kind: str, unit_ids=None, under=None) -> dict:
    """After a recompute wrote the monthly ratings of `period`: closed items whose criterion
    (same star and code) passes in that month's assessment are verified; those where it
    still fails are flagged. Only assessments of a month at or after the closing month count.
    One UPDATE per outcome (and one insert of their timeline rows)."""
    if kind != Rating.MONTHLY:
        return {"verified": 0, "still_failing": 0}
    now = timezone.now()
    # Closed before the end of `period` (its month counts, not an earlier one).
    end = _month_end(period)
    items = Rectification.objects.filter(
        status=Status.DONE, criterion__isnull=False, closed_at__lt=end
    )
    if unit_ids is not None:
        items = items.filter(branch_id__in=unit_ids)
    elif under is not None and under.depth > 1:
        items = items.filter(branch__path__startswith=under.path)
    star = StarAssessment.objects.filter(
        unit_id=OuterRef("branch_id"),
        period=period,
        kind=Rating.MONTHLY,
        star=OuterRef("criterion__star"),
    )
    failing = star.filter(JsonListHas(F("failed_codes"), OuterRef("criterion__code")))
    passing = star.exclude(JsonListHas(F("failed_codes"), OuterRef("criterion__code")))
    label = _("%(year)s年%(month)s月的星级评定") % {"year": period.year, "month": period.month}
    verified = list(items.filter(Exists(passing)).values_list("pk", flat=True))
    if verified:
        Rectification.objects.filter(pk__in=verified).update(
            status=Status.VERIFIED, verified_at=now, still_failing=False,
            version=F("version") + 1, updated_at=now,
        )  # fmt: skip
        _system_events(verified, Action.VERIFIED, Status.DONE, Status.VERIFIED,
                       _("%(label)s中该指标已达标。") % {"label": label})  # fmt: skip
        _announce(verified, Action.VERIFIED)
    flagged = list(items.filter(Exists(failing), still_failing=False).values_list("pk", flat=True))
    if flagged:
        Rectification.objects.filter(pk__in=flagged).update(
            still_failing=True, version=F("version") + 1, updated_at=now
        )
        _system_events(flagged, Action.STILL_FAILING, "", "",
                       _("%(label)s中该指标仍未达标。") % {"label": label})  # fmt: skip
        _announce(flagged, Action.STILL_FAILING)
    return {"verified": len(verified), "still_failing": len(flagged)}


def _month_end(period: date):
    nxt = date(period.year + (period.month == 12), period.month % 12 + 1, 1)
    return timezone.make_aware(timezone.datetime(nxt.year, nxt.month, nxt.day))


@transaction.atomic
def rectifications_mark_overdue(today: date | None = None) -> int:
    """Mark the open items past their deadline (in the portal's time zone) 逾期; idempotent."""
    today = today or timezone.localdate()
    due = Rectification.objects.filter(
        status__in=[Status.OPEN, Status.IN_PROGRESS], deadline__lt=today
    )
    skip = connection.vendor == "postgresql"
    rows = list(due.select_for_update(skip_locked=skip).values_list("pk", "status"))
    if not rows:
        return 0
    now = timezone.now()
    Rectification.objects.filter(pk__in=[pk for pk, _s in rows]).update(
        status=Status.OVERDUE, version=F("version") + 1, updated_at=now
    )
    RectificationEvent.objects.bulk_create(
        RectificationEvent(
            rectification_id=pk, action=Action.OVERDUE, from_status=status,
            to_status=Status.OVERDUE, note=_("已超过整改期限。"),
        )
        for pk, status in rows
    )  # fmt: skip
    _announce([pk for pk, _s in rows], Action.OVERDUE)
    return len(rows)


def rectification_counts(items, *, depth: int) -> dict[str, dict[str, int]]:
    """{ancestor path at `depth`: {status: n, "STILL_FAILING": n}} in one grouped query
    (for the supervision report: items under each child unit)."""
    from django.db.models import Count
    from django.db.models.functions import Substr

    rows = (
        items.annotate(prefix=Substr("branch__path", 1, depth * OrgUnit.steplen))
        .values("prefix", "status", "still_failing")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        bucket = counts.setdefault(row["prefix"], {})
        bucket[row["status"]] = bucket.get(row["status"], 0) + row["n"]
        if row["still_failing"]:
            bucket["STILL_FAILING"] = bucket.get("STILL_FAILING", 0) + row["n"]
    return counts
