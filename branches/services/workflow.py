"""Monthly scorecards: value parsing, saving with conflict detection, and the approval workflow.

DRAFT/RETURNED --submit--> SUBMITTED --approve--> APPROVED (locked)
                           SUBMITTED --return---> RETURNED (with a reason)
APPROVED --unlock (a level above the township, with a reason)--> RETURNED
Every transition marks the branch-month for recompute and enqueues it after commit, and every
step (created, values saved, each transition) writes a ReportEvent row in its transaction.
Maker–checker (settings.REVIEW_SEPARATION): the one who submitted a report may not approve it.
"""

import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branches.filetypes import content_problem
from branches.models import (
    CriteriaSet,
    Criterion,
    Evidence,
    MonthlyReport,
    OrgUnit,
    ReportEvent,
    ReportValue,
)
from branches.services.criteria import bound_problem, previous_month_values, soft_warning
from branches.validators import text_problem

logger = logging.getLogger(__name__)

Status = MonthlyReport.Status
Kind = Criterion.Kind
Action = ReportEvent.Action

REVIEW_SEPARATION_MESSAGE = gettext_lazy(
    "您提交了这份报表，按“审核与填报分离”规定不能由您本人审核，请由本乡镇另一名工作人员审核。"
)

YES_WORDS = {"是", "yes", "y", "true", "1", "有", "√", "✓", "达标"}
NO_WORDS = {"否", "no", "n", "false", "0", "无", "×", "✗", "未达标"}
MAX_NUMBER = Decimal("9999999999")
# What a typed number may look like once thousands commas are gone: no exponents (1e3),
# no NaN or Infinity, which Decimal would read.
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)%?")
# Commas that group thousands (1,250.5); any other comma is a decimal mark typed the
# European way (95,5), which must not silently become 955.
THOUSANDS = re.compile(r"\d{1,3}(,\d{3})+(\.\d*)?%?")

EVIDENCE_EXTENSIONS = {".pdf", ".jpg", ".jpeg", ".png", ".doc", ".docx", ".xls", ".xlsx"}
# Per criterion of a report: a bound on what one value can hold, and on one upload's work.
EVIDENCE_MAX_FILES = 20


class ConflictError(Exception):
    """The report changed since the user loaded it."""

    def __init__(self, report):
        self.report = report
        last = report.history.select_related("history_user").first()
        self.changed_by = last.history_user if last else None
        super().__init__(self.describe(None, _("您的操作未执行，请重新读取后再试。")))

    def describe(self, user, advice: str) -> str:
        """What happened, told to `user` (who may have changed it in another window), with
        what to do next."""
        by = self.changed_by
        if user is not None and by is not None and by.pk == user.pk:
            who = _("您本人（在另一个窗口或设备上）")
        else:
            # The name people know each other by, not a login (the timeline's rule).
            who = (by.get_full_name() or by.username) if by is not None else _("其他用户")
        at = timezone.localtime(self.report.updated_at).strftime("%Y-%m-%d %H:%M")
        return (
            _("该月报表在您打开之后已被%(who)s修改（%(at)s）。") % {"who": who, "at": at} + advice
        )


# The years a period may fall in: outside them it is a typo, and the month before or after
# year 1 (or 9999) cannot even be built as a date.
PERIOD_YEARS = range(2000, 2101)


def parse_period(text: str) -> date:
    """'2026-03' -> date(2026, 3, 1); ValidationError on anything else."""
    try:
        year, month = (int(part) for part in text.split("-"))
    except (ValueError, TypeError, AttributeError):
        raise ValidationError(
            _("月份格式应为 YYYY-MM，例如 2026-03，收到的是“%(text)s”。") % {"text": text}
        ) from None
    if not 1 <= month <= 12:
        raise ValidationError(
            _("月份超出范围：月应在 1 至 12 之间，收到的是“%(text)s”。") % {"text": text}
        )
    if year not in PERIOD_YEARS:
        raise ValidationError(
            _("月份的年份应在 %(first)s 至 %(last)s 年之间，收到的是“%(text)s”。")
            % {"text": text, "first": PERIOD_YEARS[0], "last": PERIOD_YEARS[-1]}
        )
    return date(year, month, 1)


def parse_value(criterion: Criterion, raw) -> bool | Decimal | None:
    """A user's input for a criterion as the engine's value; None for blank.

    The error message names the criterion and says what is expected.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if criterion.kind == Kind.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word in YES_WORDS:
            return True
        if word in NO_WORDS:
            return False
        raise ValidationError(
            _("“%(title)s”应填“是”或“否”，收到的是“%(raw)s”。")
            % {"title": criterion.title, "raw": raw}
        )
    if isinstance(raw, bool):
        raise ValidationError(_("“%(title)s”应填数字。") % {"title": criterion.title})
    text = str(raw).strip()
    if ("," in text or "，" in text) and not THOUSANDS.fullmatch(text):
        raise ValidationError(
            _("“%(title)s”的小数点请用英文句点“.”，不要用逗号，例如 95.5；收到的是“%(raw)s”。")
            % {"title": criterion.title, "raw": raw}
        )
    typed = isinstance(raw, str)
    try:
        if typed and not PLAIN_NUMBER.fullmatch(text.replace(",", "")):
            raise InvalidOperation
        number = Decimal(text.replace(",", "").rstrip("%"))
    except InvalidOperation:
        raise ValidationError(
            _("“%(title)s”应填数字，收到的是“%(raw)s”。") % {"title": criterion.title, "raw": raw}
        ) from None
    if criterion.kind == Kind.PERCENTAGE and number.is_finite() and number > 100:
        raise ValidationError(
            _("“%(title)s”是百分比，应在 0 到 100 之间，收到的是“%(raw)s”。")
            % {"title": criterion.title, "raw": raw}
        )
    if not number.is_finite() or abs(number) > MAX_NUMBER:
        raise ValidationError(
            _("“%(title)s”的数值太大：最多 %(max)s，收到的是“%(raw)s”。")
            % {"title": criterion.title, "max": f"{MAX_NUMBER:,}", "raw": raw}
        )
    if number < 0:
        raise ValidationError(_("“%(title)s”不能为负数。") % {"title": criterion.title})
    if criterion.kind == Kind.INTEGER and number != number.to_integral_value():
        raise ValidationError(
            _("“%(title)s”应填整数（单位：%(unit)s），收到的是“%(raw)s”。")
            % {"title": criterion.title, "unit": criterion.unit or "-", "raw": raw}
        )
    if number.as_tuple().exponent < -4:
        raise ValidationError(_("“%(title)s”最多保留4位小数。") % {"title": criterion.title})
    if problem := bound_problem(criterion, number):
        raise ValidationError(problem)
    return number


@dataclass(frozen=True)
class ValueInput:
    value: bool | Decimal | None
    note: str = ""


class UnconfirmedWarnings(ValidationError):
    """Values that raise a month-on-month warning the person has not yet confirmed."""

    def __init__(self, warnings: dict[str, str], criteria: dict[str, Criterion]):
        self.warnings = warnings
        super().__init__(
            [f"{criteria[code].title}：{message}" for code, message in warnings.items()]
        )


def active_criteria_set(*, year: int, area_type: str) -> CriteriaSet:
    try:
        return CriteriaSet.objects.get(year=year, area_type=area_type, is_active=True)
    except CriteriaSet.DoesNotExist:
        raise ValidationError(
            _("%(year)s年%(area)s尚未配置评星指标体系，请联系系统管理员。")
            % {"year": year, "area": OrgUnit.AreaType(area_type).label}
        ) from None


def manual_criteria(criteria_set: CriteriaSet) -> list[Criterion]:
    return [c for c in criteria_set.criteria.all() if c.source == Criterion.Source.MANUAL]


def _check_reportable(unit: OrgUnit, period: date) -> None:
    if not unit.is_rated:
        raise ValidationError(_("只有村(社区)党组织按月填报评星数据。"))
    if period > timezone.localdate().replace(day=1):
        raise ValidationError(_("不能填报未来月份的数据。"))


@transaction.atomic
def report_get_or_create(*, unit: OrgUnit, period: date, user=None) -> MonthlyReport:
    """The branch-month's report, created as an empty draft on first save."""
    _check_reportable(unit, period)
    report = MonthlyReport.objects.filter(unit=unit, period=period).first()
    if report is None:
        criteria_set = active_criteria_set(year=period.year, area_type=unit.area_type)
        report, created = MonthlyReport.objects.get_or_create(
            unit=unit, period=period, defaults={"criteria_set": criteria_set}
        )
        if created:
            report_event_record(
                report=report, user=user, action=Action.CREATED, to_status=Status.DRAFT
            )
    return report


def report_or_blank(*, unit: OrgUnit, period: date) -> MonthlyReport:
    """The branch-month's report, or an unsaved empty draft: readers must not create rows."""
    _check_reportable(unit, period)
    report = MonthlyReport.objects.filter(unit=unit, period=period).first()
    if report is None:
        criteria_set = active_criteria_set(year=period.year, area_type=unit.area_type)
        report = MonthlyReport(unit=unit, period=period, criteria_set=criteria_set)
    return report


# What runs on each recorded step, inside its transaction: governance registers the in-portal
# notifications here in its AppConfig.ready(), as the records apps register metrics, because
# branches never imports the layers above it (DESIGN.md §3). A listener that fails rolls the
# step back with it, so a step and what it announces commit together or not at all.
EventListener = Callable[..., object]
_event_listeners: list[EventListener] = []


def report_event_listen(listener: EventListener) -> EventListener:
    """Register `listener(events=[ReportEvent, ...])`; registering it twice is harmless."""
    if listener not in _event_listeners:
        _event_listeners.append(listener)
    return listener


def report_events_announce(*, events: list[ReportEvent]) -> None:
    """Hand recorded events to the listeners (the demo calls it for its bulk-made timeline)."""
    if events:
        for listener in _event_listeners:
            listener(events=events)


def report_event_record(
    *,
    report: MonthlyReport,
    user,
    action: str,
    from_status: str = "",
    to_status: str = "",
    reason: str = "",
) -> ReportEvent:
    """One row of the report's timeline; called inside the transaction of the step it records."""
    name = (user.get_full_name() or user.username) if user is not None else ""
    event = ReportEvent.objects.create(
        report=report,
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor=user,
        actor_name=name,
        reason=reason,
    )
    report_events_announce(events=[event])
    return event


def _require(allowed: bool, message: str):
    if not allowed:
        raise PermissionDenied(message)


def _claim(report: MonthlyReport, expected_version: int | None, **changes) -> None:
    """Apply changes only if nobody saved the report since `expected_version` was read
    and its status is still the one the caller checked."""
    version = report.version if expected_version is None else expected_version
    updated = MonthlyReport.objects.filter(
        pk=report.pk, version=version, status=report.status
    ).update(version=F("version") + 1, updated_at=timezone.now(), **changes)
    if not updated:
        report.refresh_from_db()
        raise ConflictError(report)
    report.refresh_from_db()
    # The conditional UPDATE bypasses save(); record the change in the history explicitly.
    report.save(update_fields=["updated_at"])


@transaction.atomic
def report_save_values(
    *,
    report: MonthlyReport,
    user,
    values: dict[str, ValueInput],
    expected_version: int | None,
    confirmed_warnings: dict[str, Decimal] | None = None,
) -> MonthlyReport:
    """Save a draft's values by criterion code. Only the codes given are touched.

    A changed value that jumps against last month's (`criteria.soft_warning`) is saved with
    its warning for the reviewer. With `confirmed_warnings` (the data-entry page: the values
    the person confirmed, by code) any other warning refuses the save (UnconfirmedWarnings);
    without it (month sheet, API) the warnings are saved and reported.
    """
    _require(user.can_enter_reports, _("您的角色不能填报月度数据。"))
    if report.status not in (Status.DRAFT, Status.RETURNED):
        raise ValidationError(
            _("该月报表状态为“%(status)s”，不能修改。") % {"status": report.get_status_display()}
        )
    _claim(report, expected_version)
    criteria = {c.code: c for c in manual_criteria(report.criteria_set)}
    unknown = sorted(set(values) - set(criteria))
    if unknown:
        raise ValidationError(_("未知指标编码：%(codes)s") % {"codes": "、".join(unknown)})
    existing = {v.criterion.code: v for v in report.values.select_related("criterion")}
    changed = []
    # Callers parse user input already; checking again here keeps every entry path honest.
    errors = []
    for code, given in values.items():
        try:
            parse_value(criteria[code], given.value)
        except ValidationError as error:
            errors.extend(error.messages)
    if errors:
        raise ValidationError(errors)
    previous = previous_month_values(unit_ids=[report.unit_id], period=report.period)
    rows, warnings = [], {}
    for code, given in values.items():
        criterion = criteria[code]
        row = existing.get(code) or ReportValue(report=report, criterion=criterion)
        new_bool = given.value if isinstance(given.value, bool) else None
        new_number = None if isinstance(given.value, bool) else given.value
        value_changed = row.pk is None or (row.value_bool, row.value_number) != (
            new_bool,
            new_number,
        )
        if not value_changed and row.note == given.note:
            continue
        if value_changed:
            warning = soft_warning(criterion, given.value, previous.get((report.unit_id, code)))
            row.warning = warning or ""
            if warning:
                warnings[code] = warning
        row.value_bool, row.value_number, row.note = new_bool, new_number, given.note
        rows.append(row)
    if confirmed_warnings is not None:
        unconfirmed = {
            code: message
            for code, message in warnings.items()
            if code not in confirmed_warnings or confirmed_warnings[code] != values[code].value
        }
        if unconfirmed:
            raise UnconfirmedWarnings(unconfirmed, criteria)
    for row in rows:
        row.save()
        changed.append(row.criterion.code)
    if changed:
        reason = _("修改 %(n)s 项：%(codes)s") % {"n": len(changed), "codes": "、".join(changed)}
        if warnings:
            heading = (
                _("填报人已确认环比提示")
                if confirmed_warnings is not None
                else _("环比提示，请审核时核对")
            )
            lines = "；".join(
                f"{criteria[code].title}：{message}" for code, message in warnings.items()
            )
            reason = f"{reason}。{heading}：{lines}"
        report_event_record(report=report, user=user, action=Action.SAVED, reason=reason)
    return report


def missing_for_submit(report: MonthlyReport) -> list[str]:
    """What stops the report from being submitted, in plain Chinese."""
    values = {v.criterion_id: v for v in report.values.all()}
    evidence_counts = {
        value_id: n
        for value_id, n in Evidence.objects.filter(value__report=report)
        .values_list("value_id")
        .annotate(n=Count("id"))
    }
    problems = []
    for criterion in manual_criteria(report.criteria_set):
        value = values.get(criterion.id)
        if value is None or value.value is None:
            problems.append(_("未填报：%(title)s") % {"title": criterion.title})
        elif (
            criterion.evidence_required
            and _is_positive(value.value)
            and not evidence_counts.get(value.id)
        ):
            problems.append(_("缺少佐证材料：%(title)s") % {"title": criterion.title})
    return problems


def _is_positive(value) -> bool:
    return value is True or (not isinstance(value, bool) and value > 0)


@transaction.atomic
def report_submit(*, report: MonthlyReport, user, expected_version: int | None) -> MonthlyReport:
    _require(user.can_enter_reports, _("您的角色不能提交月度数据。"))
    if report.status not in (Status.DRAFT, Status.RETURNED):
        raise ValidationError(
            _("只有草稿或已退回的报表可以提交，当前状态为“%(status)s”。")
            % {"status": report.get_status_display()}
        )
    problems = missing_for_submit(report)
    if problems:
        raise ValidationError(problems)
    before, now = report.status, timezone.now()
    _claim(
        report,
        expected_version,
        status=Status.SUBMITTED,
        submitted_at=now,
        # The first submission stays: a resubmission after a return is not late.
        first_submitted_at=report.first_submitted_at or now,
        submitted_by=user,
        return_reason="",
        needs_recompute=True,
    )
    report_event_record(
        report=report,
        user=user,
        action=Action.RESUBMITTED if before == Status.RETURNED else Action.SUBMITTED,
        from_status=before,
        to_status=Status.SUBMITTED,
    )
    _recompute_after_commit(report)
    return report


def submitted_by_self(report: MonthlyReport, user) -> bool:
    """Whether `user` made the report's latest submission (its last submit event's actor,
    or submitted_by for reports from before the timeline)."""
    last = (
        report.events.filter(action__in=[Action.SUBMITTED, Action.RESUBMITTED])
        .order_by("-occurred_at", "-id")
        .values_list("actor_id", flat=True)[:1]
    )
    submitter_id = next(iter(last), None) or report.submitted_by_id
    return submitter_id is not None and submitter_id == user.pk


def may_approve(report: MonthlyReport, user) -> bool:
    """The maker–checker rule alone (role and status are checked by report_approve)."""
    return not (settings.REVIEW_SEPARATION and submitted_by_self(report, user))


@transaction.atomic
def report_approve(*, report: MonthlyReport, user, expected_version: int | None) -> MonthlyReport:
    _require(user.can_review_reports, _("只有乡镇(街道)工作人员可以审核月度数据。"))
    if report.status != Status.SUBMITTED:
        raise ValidationError(
            _("只有已提交的报表可以审核通过，当前状态为“%(status)s”。")
            % {"status": report.get_status_display()}
        )
    _require(may_approve(report, user), str(REVIEW_SEPARATION_MESSAGE))
    _claim(
        report,
        expected_version,
        status=Status.APPROVED,
        reviewed_at=timezone.now(),
        reviewed_by=user,
        needs_recompute=True,
    )
    report_event_record(
        report=report,
        user=user,
        action=Action.APPROVED,
        from_status=Status.SUBMITTED,
        to_status=Status.APPROVED,
    )
    _recompute_after_commit(report)
    return report


@transaction.atomic
def report_return(
    *, report: MonthlyReport, user, reason: str, expected_version: int | None
) -> MonthlyReport:
    _require(user.can_review_reports, _("只有乡镇(街道)工作人员可以退回月度数据。"))
    if report.status != Status.SUBMITTED:
        raise ValidationError(
            _("只有已提交的报表可以退回，当前状态为“%(status)s”。")
            % {"status": report.get_status_display()}
        )
    if not reason.strip():
        raise ValidationError(_("请填写退回原因，告诉填报人需要修改什么。"))
    _claim(
        report,
        expected_version,
        status=Status.RETURNED,
        return_reason=reason.strip(),
        reviewed_at=timezone.now(),
        reviewed_by=user,
        needs_recompute=True,
    )
    report_event_record(
        report=report,
        user=user,
        action=Action.RETURNED,
        from_status=Status.SUBMITTED,
        to_status=Status.RETURNED,
        reason=reason.strip(),
    )
    _recompute_after_commit(report)
    return report


@transaction.atomic
def report_unlock(
    *, report: MonthlyReport, user, reason: str, expected_version: int | None
) -> MonthlyReport:
    _require(user.can_unlock_reports, _("只有县级及以上可以解锁已审核的报表。"))
    if report.status != Status.APPROVED:
        raise ValidationError(_("只有已审核的报表需要解锁。"))
    if not reason.strip():
        raise ValidationError(_("请填写解锁原因，解锁将记入变更记录。"))
    _claim(
        report,
        expected_version,
        status=Status.RETURNED,
        unlock_reason=reason.strip(),
        return_reason=_("已由上级解锁：%(reason)s") % {"reason": reason.strip()},
        needs_recompute=True,
    )
    report_event_record(
        report=report,
        user=user,
        action=Action.UNLOCKED,
        from_status=Status.APPROVED,
        to_status=Status.RETURNED,
        reason=reason.strip(),
    )
    _recompute_after_commit(report)
    return report


def evidence_check(upload) -> None:
    """An evidence file's type (by name and by content) and size; forms call it to show the
    error beside the field, the services call it again."""
    name = os.path.basename(upload.name or "")
    # The one text rule: a bidi override makes "x\u202efdp.exe" read as "xexe.pdf".
    problem = text_problem(name)
    if problem:
        raise ValidationError(_("文件名%(problem)s") % {"problem": problem})
    extension = os.path.splitext(name)[1].lower()
    if extension not in EVIDENCE_EXTENSIONS:
        raise ValidationError(
            _("文件“%(name)s”的类型不受支持：佐证材料只接受 %(types)s 文件。")
            % {
                "name": name,
                "types": "、".join(sorted(e.lstrip(".") for e in EVIDENCE_EXTENSIONS)),
            }
        )
    if upload.size > settings.EVIDENCE_MAX_BYTES:
        raise ValidationError(
            _(
                "文件过大（“%(name)s”%(size).1f MB），单个佐证材料不能超过 %(max).0f MB，"
                "请压缩后再上传。"
            )
            % {
                "name": name,
                "size": upload.size / 2**20,
                "max": settings.EVIDENCE_MAX_BYTES / 2**20,
            }
        )
    problem = content_problem(upload, extension)
    if problem:
        raise ValidationError(problem)


def _require_evidence_editable(report: MonthlyReport, verb: str) -> None:
    if report.status not in (Status.DRAFT, Status.RETURNED):
        raise ValidationError(
            _("报表状态为“%(status)s”，不能再%(verb)s佐证材料；如需修改，请联系审核人退回。")
            % {"status": report.get_status_display(), "verb": verb}
        )


def _evidence_reason(criterion: Criterion, name: str) -> str:
    return _("%(title)s：%(name)s") % {"title": criterion.title, "name": name}


@transaction.atomic
def evidence_add(*, report: MonthlyReport, user, criterion_code: str, upload) -> Evidence:
    """Attach one evidence file to a draft's value (created empty if not yet entered)."""
    return evidence_add_files(
        report=report, user=user, criterion_code=criterion_code, uploads=[upload]
    )[0]


@transaction.atomic
def evidence_add_files(
    *, report: MonthlyReport, user, criterion_code: str, uploads: list
) -> list[Evidence]:
    """Attach evidence files to a draft's value: all of them, or none if one is refused."""
    _require(user.can_enter_reports, _("您的角色不能上传佐证材料。"))
    _require_evidence_editable(report, _("上传"))
    if not uploads:
        raise ValidationError(_("请选择要上传的佐证材料文件。"))
    criterion = next(
        (c for c in manual_criteria(report.criteria_set) if c.code == criterion_code), None
    )
    if criterion is None:
        raise ValidationError(
            _("指标体系中没有编码为“%(code)s”的填报指标，请检查指标编码。")
            % {"code": criterion_code}
        )
    errors = []
    for upload in uploads:
        try:
            evidence_check(upload)
        except ValidationError as error:
            errors.extend(error.messages)
    if errors:
        raise ValidationError(errors)
    already = Evidence.objects.filter(value__report=report, value__criterion=criterion).count()
    if already + len(uploads) > EVIDENCE_MAX_FILES:
        raise ValidationError(
            _(
                "“%(title)s”最多 %(max)s 个佐证材料，已有 %(n)s 个，本次选了 %(new)s 个。"
                "请删除不需要的文件，或把多页材料合并成一个 PDF 后再上传。"
            )
            % {
                "title": criterion.title,
                "max": EVIDENCE_MAX_FILES,
                "n": already,
                "new": len(uploads),
            }
        )
    # Evidence is part of the report: it bumps the version, and waits for no status change.
    _claim(report, None)
    value, _created = ReportValue.objects.get_or_create(report=report, criterion=criterion)
    added = []
    for upload in uploads:
        name = os.path.basename(upload.name)[:200]
        added.append(
            Evidence.objects.create(
                value=value, file=upload, original_name=name, size=upload.size, uploaded_by=user
            )
        )
        report_event_record(
            report=report,
            user=user,
            action=ReportEvent.Action.EVIDENCE_ADDED,
            reason=_evidence_reason(criterion, name),
        )
    return added


@transaction.atomic
def evidence_delete(*, report: MonthlyReport, user, evidence: Evidence) -> None:
    """Remove an evidence file from a draft; the stored file goes once the delete commits."""
    _require(user.can_enter_reports, _("您的角色不能删除佐证材料。"))
    if evidence.value.report_id != report.pk:
        raise ValueError("the evidence belongs to another report")
    _require_evidence_editable(report, _("删除"))
    _claim(report, None)
    criterion, name = evidence.value.criterion, evidence.original_name
    file_name, storage = evidence.file.name, evidence.file.storage
    # The history row of the delete names who did it, whether or not a request is around.
    evidence._history_user = user
    evidence.delete()
    report_event_record(
        report=report,
        user=user,
        action=ReportEvent.Action.EVIDENCE_REMOVED,
        reason=_evidence_reason(criterion, name),
    )
    # A rollback must leave the file where the row still points: delete it after commit.
    transaction.on_commit(lambda: storage.delete(file_name), robust=True)


@transaction.atomic
def evidence_replace(*, report: MonthlyReport, user, evidence: Evidence, upload) -> Evidence:
    """Put a new file in place of an evidence file of a draft (removed, then added)."""
    code = evidence.value.criterion.code
    evidence_check(upload)
    evidence_delete(report=report, user=user, evidence=evidence)
    return evidence_add(report=report, user=user, criterion_code=code, upload=upload)


def _recompute_after_commit(report: MonthlyReport) -> None:
    unit_id, period = report.unit_id, report.period
    transaction.on_commit(lambda: enqueue_recompute(unit_id=unit_id, period=period))


def enqueue_recompute(*, unit_id: int, period: date) -> None:
    """Send the recompute to the worker; if the broker is down the mark stays for the sweep."""
    from branches.tasks import recompute_branch_month

    try:
        recompute_branch_month.delay(unit_id, period.isoformat())
    except Exception as error:
        # One line, not a traceback per workflow step while the broker is down: the cause is
        # known and the mark on the report brings the work back through the sweep.
        logger.warning(
            "could not enqueue recompute of unit %s %s (%s: %s); the sweep will pick it up",
            unit_id,
            period,
            type(error).__name__,
            error,
        )
