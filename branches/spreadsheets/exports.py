"""The rows of each export: ratings, month values, the report timeline, the change history.

Every builder takes the user and starts from `visible_to(user)`, reads plain tuples
(`values_list(...).iterator()`: a server-side cursor on PostgreSQL, no model object per row)
in a fixed number of queries for any number of rows, and returns a `Table` for the writers
in `branches.spreadsheets.tables`. The unit path (市/县/乡镇) is read once per export.
"""

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.models import (
    BranchRating,
    CriteriaSet,
    Evidence,
    ExportLog,
    MonthlyReport,
    OrgUnit,
    Rating,
    ReportEvent,
    ReportValue,
)
from branches.spreadsheets.cells import CHUNK, plain_number
from branches.spreadsheets.tables import (
    DATETIME,
    MONTH,
    NUMBER,
    VALUE,
    Column,
    Table,
)

Status = MonthlyReport.Status
L = OrgUnit.Level
STARS = range(1, 6)


def path_columns() -> list[Column]:
    return [Column(_("市")), Column(_("县(区)")), Column(_("乡镇(街道)"))]


def unit_ancestry(unit: OrgUnit):
    """A function from a unit's path to the names of its city, county and township.

    One query for the whole export (the units of those levels in and above `unit`); the
    answer is kept per parent, so each township's branches cost one lookup.
    """
    step = OrgUnit.steplen
    above = [unit.path[:end] for end in range(step, len(unit.path) + 1, step)]
    names = {
        path: (level, name)
        for path, level, name in OrgUnit.objects.filter(level__in=(L.CITY, L.COUNTY, L.TOWNSHIP))
        .filter(Q(path__startswith=unit.path) | Q(path__in=above))
        .values_list("path", "level", "name")
    }
    cache: dict[str, tuple[str, str, str]] = {}

    def ancestry(path: str) -> tuple[str, str, str]:
        parent = path[:-step]
        found = cache.get(parent)
        if found is None:
            levels = {L.CITY: "", L.COUNTY: "", L.TOWNSHIP: ""}
            for end in range(step, len(path) + 1, step):
                hit = names.get(path[:end])
                if hit is not None:
                    levels[hit[0]] = hit[1]
            found = cache[parent] = (levels[L.CITY], levels[L.COUNTY], levels[L.TOWNSHIP])
        return found

    return ancestry


def month_range(start: date, end: date) -> tuple[datetime, datetime]:
    """[first moment of `start`, first moment after `end`) in local time, for time filters."""
    after = (end.replace(day=28) + timedelta(days=4)).replace(day=1)
    zone = timezone.get_current_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(after, time.min, tzinfo=zone),
    )


def person(username, last_name, first_name) -> str:
    """A user as the portal names them: 王丽（wangli）; blank for nobody."""
    if username is None:
        return ""
    name = f"{last_name or ''}{first_name or ''}".strip()
    return f"{name}（{username}）" if name else username


def reports_in(user, unit: OrgUnit, start: date, end: date, status: str = ""):
    reports = MonthlyReport.objects.visible_to(user).under(unit).filter(period__range=(start, end))
    return reports.filter(status=status) if status else reports


# Ratings.


def ratings_table(*, user, unit: OrgUnit, start: date, end: date, kind: str) -> Table:
    """One row per rated branch under `unit` and period from `start` to `end`.

    Monthly: every month of the range (a 月份 column); annual: the years of the range
    (a 年度 column).
    """
    annual = kind == Rating.ANNUAL
    if annual:
        start, end = date(start.year, 1, 1), date(end.year, 1, 1)
    columns = [
        Column(_("年度"), NUMBER) if annual else Column(_("月份"), MONTH),
        Column(_("支部编码")),
        Column(_("支部名称")),
        *path_columns(),
        Column(_("区域类型")),
        Column(_("星级"), NUMBER),
        *(Column(_("第%(n)s颗星") % {"n": n}) for n in STARS),
        Column(_("一票否决")),
        Column(_("差距")),
        Column(_("计算时间"), DATETIME),
    ]
    scope = {"period__range": (start, end), "kind": kind}
    ratings = (
        BranchRating.objects.visible_to(user)
        .under(unit)
        .filter(**scope)
        .order_by("period", "unit_path")
        .values_list(
            "period",
            "unit_path",
            "unit__code",
            "unit__name",
            "area_type",
            "level",
            *(f"has_star_{n}" for n in STARS),
            "veto",
            "gaps_text",
            "criteria_set_id",
            "computed_at",
        )
    )
    return Table(columns, _rating_rows(unit, ratings, annual=annual))


def _rating_rows(unit, ratings, *, annual: bool) -> Iterator[tuple]:
    ancestry = unit_ancestry(unit)
    area_types = {value: str(label) for value, label in OrgUnit.AreaType.choices}
    vetoes = {value: str(label) for value, label in BranchRating.Veto.choices}
    marks = {}
    for set_id, names in CriteriaSet.objects.values_list("id", "star_names"):
        marks[set_id] = [(f"✗ {name}", f"✓ {name}") for name in names]
    for row in ratings.iterator(chunk_size=CHUNK):
        period, path, code, name, area_type, level, s1, s2, s3, s4, s5, veto, gaps, set_id, at = row
        star_marks = marks[set_id]
        yield (
            period.year if annual else period,
            code,
            name,
            *ancestry(path),
            area_types[area_type],
            level,
            star_marks[0][s1],
            star_marks[1][s2],
            star_marks[2][s3],
            star_marks[3][s4],
            star_marks[4][s5],
            vetoes[veto],
            gaps,
            at,
        )


# Month values.


def values_table(*, user, unit: OrgUnit, start: date, end: date, status: str = "") -> Table:
    """One row per branch, month and criterion entered, with who submitted and reviewed it,
    when, and how many evidence files it has."""
    columns = [
        Column(_("月份"), MONTH),
        *path_columns(),
        Column(_("支部编码")),
        Column(_("支部名称")),
        Column(_("状态")),
        Column(_("指标编码")),
        Column(_("指标")),
        Column(_("填报值"), VALUE),
        Column(_("计量单位")),
        Column(_("备注")),
        Column(_("佐证材料数"), NUMBER),
        Column(_("提交人")),
        Column(_("提交时间"), DATETIME),
        Column(_("审核人")),
        Column(_("审核时间"), DATETIME),
    ]
    evidence = (
        Evidence.objects.filter(value=OuterRef("pk"))
        .order_by()
        .values("value")
        .annotate(n=Count("pk"))
        .values("n")
    )
    values = (
        ReportValue.objects.filter(report__in=reports_in(user, unit, start, end, status))
        .annotate(evidence_count=Coalesce(Subquery(evidence, output_field=IntegerField()), 0))
        .order_by(
            "report__period",
            "report__unit__path",
            "criterion__star",
            "criterion__order",
            "criterion__code",
        )
        .values_list(
            "report__period",
            "report__unit__path",
            "report__unit__code",
            "report__unit__name",
            "report__status",
            "criterion__code",
            "criterion__title",
            "value_bool",
            "value_number",
            "criterion__unit",
            "note",
            "evidence_count",
            "report__submitted_by__username",
            "report__submitted_by__last_name",
            "report__submitted_by__first_name",
            "report__submitted_at",
            "report__reviewed_by__username",
            "report__reviewed_by__last_name",
            "report__reviewed_by__first_name",
            "report__reviewed_at",
        )
    )
    return Table(columns, _value_rows(unit, values))


def _value_rows(unit, values) -> Iterator[tuple]:
    ancestry = unit_ancestry(unit)
    statuses = {value: str(label) for value, label in Status.choices}
    deleted = _("（账号已删除）")
    for row in values.iterator(chunk_size=CHUNK):
        (period, path, code, name, status, criterion, title, value_bool, value_number) = row[:9]
        (measure, note, evidence, submitter, s_last, s_first, submitted_at) = row[9:16]
        (reviewer, r_last, r_first, reviewed_at) = row[16:]
        yield (
            period,
            *ancestry(path),
            code,
            name,
            statuses[status],
            criterion,
            title,
            value_bool if value_bool is not None else value_number,
            measure,
            note,
            evidence,
            person(submitter, s_last, s_first) or (deleted if submitted_at else ""),
            submitted_at,
            person(reviewer, r_last, r_first) or (deleted if reviewed_at else ""),
            reviewed_at,
        )


# The report timeline.


def events_table(*, user, unit: OrgUnit, start: date, end: date, status: str = "") -> Table:
    """Every workflow step of the months' reports under `unit`, by month, branch and time:
    who did what and when, from which status to which, and why."""
    columns = [
        Column(_("月份"), MONTH),
        *path_columns(),
        Column(_("支部编码")),
        Column(_("支部名称")),
        Column(_("时间"), DATETIME),
        Column(_("操作")),
        Column(_("原状态")),
        Column(_("新状态")),
        Column(_("操作人")),
        Column(_("操作人账号")),
        Column(_("原因或说明")),
    ]
    events = (
        ReportEvent.objects.visible_to(user)
        .filter(report__in=reports_in(user, unit, start, end, status))
        .order_by("report__period", "report__unit__path", "occurred_at", "id")
        .values_list(
            "report__period",
            "report__unit__path",
            "report__unit__code",
            "report__unit__name",
            "occurred_at",
            "action",
            "from_status",
            "to_status",
            "actor_name",
            "actor__username",
            "reason",
        )
    )
    return Table(columns, _event_rows(unit, events))


def _event_rows(unit, events) -> Iterator[tuple]:
    ancestry = unit_ancestry(unit)
    statuses = {value: str(label) for value, label in Status.choices}
    actions = {value: str(label) for value, label in ReportEvent.Action.choices}
    deleted = _("（账号已删除）")
    for row in events.iterator(chunk_size=CHUNK):
        period, path, code, name, at, action, old, new, actor_name, account, reason = row
        yield (
            period,
            *ancestry(path),
            code,
            name,
            at,
            actions[action],
            statuses.get(old, ""),
            statuses.get(new, ""),
            actor_name,
            account if account is not None else (deleted if actor_name else ""),
            reason,
        )


# The change history of a unit's records.

# (field, label) tracked per record kind; bookkeeping (timestamps, tree columns, versions)
# says nothing to a reader.
UNIT_FIELDS = [
    ("code", _("编码")),
    ("name", _("名称")),
    ("level", _("层级")),
    ("area_type", _("区域类型")),
    ("party_org_kind", _("党组织类型")),
    ("party_org_name", _("党组织名称")),
    ("secretary_name", _("书记")),
    ("member_count", _("党员数")),
    ("household_count", _("户数")),
]
REPORT_FIELDS = [
    ("status", _("状态")),
    ("return_reason", _("退回原因")),
    ("unlock_reason", _("解锁原因")),
]
VALUE_FIELDS = [
    ("value_bool", _("是/否")),
    ("value_number", _("数值")),
    ("note", _("备注")),
    ("warning", _("环比异常提示")),
]
HISTORY_COMMON = [
    "id",
    "history_date",
    "history_type",
    "history_user__username",
    "history_user__last_name",
    "history_user__first_name",
    "history_change_reason",
]


def history_table(*, user, unit: OrgUnit, start: date, end: date, status: str = "") -> Table:
    """Who changed what and when: the units under `unit` (changes made in the months from
    `start` to `end`), then the monthly reports of those months and their values (their
    whole history). Grouped by record, each record's changes in time order; saves that
    changed none of the fields shown are left out."""
    columns = [
        Column(_("记录类型")),
        Column(_("单位编码")),
        Column(_("单位名称")),
        Column(_("月份"), MONTH),
        Column(_("指标编码")),
        Column(_("时间"), DATETIME),
        Column(_("操作")),
        Column(_("操作人")),
        Column(_("变更内容")),
        Column(_("原因")),
    ]
    return Table(columns, _history_rows(user, unit, start, end, status))


def _choice_labels(model, fields) -> dict[str, dict]:
    labels = {}
    for name, _label in fields:
        field = model._meta.get_field(name)
        if field.choices:
            labels[name] = {value: str(text) for value, text in field.flatchoices}
    return labels


def _shown(value, choices: dict | None) -> str:
    if value in ("", None):
        return _("（空）")
    if choices is not None:
        return choices.get(value, str(value))
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if hasattr(value, "normalize"):
        return plain_number(value)
    return str(value)


def _changes(fields, labels, old, new) -> str:
    parts = []
    created = old is None
    for (name, label), before, after in zip(fields, old or [None] * len(new), new, strict=True):
        if created:
            if after not in ("", None):
                parts.append(f"{label}：{_shown(after, labels.get(name))}")
        elif before != after:
            parts.append(
                f"{label}：{_shown(before, labels.get(name))} → {_shown(after, labels.get(name))}"
            )
    return "；".join(parts)


def _history_stream(records, fields, labels, describe, since=None) -> Iterator[tuple]:
    """Rows from history records ordered by record id and time: each compared with the one
    before it of the same record; those before `since` only serve as that comparison."""
    kinds = {"+": _("创建"), "~": _("修改"), "-": _("删除")}
    width = len(HISTORY_COMMON)
    previous_id, previous = None, None
    for row in records.iterator(chunk_size=CHUNK):
        record_id, at, kind, username, last, first, reason = row[:width]
        extra = row[width : width + describe.width]
        state = row[width + describe.width :]
        old = previous if record_id == previous_id else None
        previous_id, previous = record_id, state
        if since is not None and at < since:
            continue
        changes = "" if kind == "-" else _changes(fields, labels, old, state)
        if kind == "~" and not changes:
            continue  # a save that changed nothing a reader is shown (a version, a timestamp)
        yield (
            *describe(extra),
            at,
            kinds.get(kind, kind),
            person(username, last, first),
            changes,
            reason or "",
        )


class _Describe:
    """The record-type, unit, month and criterion columns from a record's extra fields."""

    def __init__(self, label, fields, make):
        self.label, self.fields, self.make, self.width = label, fields, make, len(fields)

    def __call__(self, extra):
        return (self.label, *self.make(extra))


def _history_rows(user, unit, start, end, status) -> Iterator[tuple]:
    since, until = month_range(start, end)
    units = OrgUnit.objects.visible_to(user).under(unit)
    reports = reports_in(user, unit, start, end, status)
    unit_fields = [name for name, _label in UNIT_FIELDS]
    describe_unit = _Describe(_("组织单位"), ["code", "name"], lambda e: (e[0], e[1], None, ""))
    unit_records = (
        OrgUnit.history.filter(id__in=units.values("id"), history_date__lt=until)
        .order_by("id", "history_date", "history_id")
        .values_list(*HISTORY_COMMON, *describe_unit.fields, *unit_fields)
    )
    yield from _history_stream(
        unit_records, UNIT_FIELDS, _choice_labels(OrgUnit, UNIT_FIELDS), describe_unit, since
    )
    describe_report = _Describe(
        _("月度填报"),
        ["unit__code", "unit__name", "period"],
        lambda e: (e[0], e[1], e[2], ""),
    )
    report_records = (
        MonthlyReport.history.filter(id__in=reports.values("id"))
        .order_by("id", "history_date", "history_id")
        .values_list(
            *HISTORY_COMMON, *describe_report.fields, *(name for name, _label in REPORT_FIELDS)
        )
    )
    yield from _history_stream(
        report_records,
        REPORT_FIELDS,
        _choice_labels(MonthlyReport, REPORT_FIELDS),
        describe_report,
    )
    describe_value = _Describe(
        _("填报值"),
        ["report__unit__code", "report__unit__name", "report__period", "criterion__code"],
        lambda e: e,
    )
    value_records = (
        ReportValue.history.filter(report_id__in=reports.values("id"))
        .order_by("id", "history_date", "history_id")
        .values_list(
            *HISTORY_COMMON, *describe_value.fields, *(name for name, _label in VALUE_FIELDS)
        )
    )
    yield from _history_stream(value_records, VALUE_FIELDS, {}, describe_value)


# The exports of the export centre, by their name in the log.
EXPORT_TABLES = {
    ExportLog.Export.RATINGS: ratings_table,
    ExportLog.Export.VALUES: values_table,
    ExportLog.Export.EVENTS: events_table,
    ExportLog.Export.HISTORY: history_table,
}
