"""Monthly supervision reports (督导通报): set-based generation of every unit's snapshot,
publishing and regeneration.

Generation reads the month's stored ratings, star assessments, reports and rectification
items of the whole scope in a handful of queries (one per table and month, whatever the
number of units), adds each branch into every ancestor in Python, and writes the snapshots
with bulk_create / bulk_update."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.metrics import Window, registry, report_due_date
from branches.models import (
    BranchRating,
    Criterion,
    MonthlyReport,
    OrgUnit,
    Rating,
    Rectification,
    StarAssessment,
)
from branches.periods import month_label
from branches.services.notifications import notify_users
from branches.services.workbench import is_late
from branches.services.workflow import parse_period  # noqa: F401 - the API's month parser
from governance.models import SupervisionReport, User

STEP = OrgUnit.steplen
# Units that get a report: the province down to the townships.
REPORT_LEVELS = (
    OrgUnit.Level.PROVINCE,
    OrgUnit.Level.CITY,
    OrgUnit.Level.COUNTY,
    OrgUnit.Level.TOWNSHIP,
)
# Named branches shown per list; the count beside each list stays exact.
LIST_CAP = 30
MISSED_CRITERIA = 10
REASON_MAX = 500
# The metrics of the records apps (grids, disputes, volunteers) each get a section, numbered
# after the six fixed ones; the branches' own metrics are in the sections above.
OWN_METRICS_PREFIX = "branches."
# The fixed sections are 一 to 六; each registered metric gets the next number.
FIRST_METRIC_SECTION = 7
DIGITS = "零一二三四五六七八九"


def chinese_numeral(n: int) -> str:
    """1 to 99 as a section number: 七, 十, 十四, 二十, 二十三."""
    tens, ones = divmod(n, 10)
    if not tens:
        return DIGITS[ones]
    return f"{DIGITS[tens] if tens > 1 else ''}十{DIGITS[ones] if ones else ''}"


SUBMITTED = (MonthlyReport.Status.SUBMITTED, MonthlyReport.Status.APPROVED)
RECT = Rectification.Status


class ConflictError(Exception):
    """The report changed since the user opened it."""


def previous_month(period: date) -> date:
    return (period - timedelta(days=1)).replace(day=1)


@dataclass
class _Named:
    """A list of named branches: the first LIST_CAP in path order, and the exact count."""

    count: int = 0
    items: list = field(default_factory=list)

    def add(self, item: dict) -> None:
        self.count += 1
        if len(self.items) < LIST_CAP:
            self.items.append(item)

    def as_dict(self) -> dict:
        return {"count": self.count, "items": self.items, "more": self.count - len(self.items)}


@dataclass
class _Node:
    levels: list = field(default_factory=lambda: [0] * 6)
    prev_levels: list = field(default_factory=lambda: [0] * 6)
    december_levels: list = field(default_factory=lambda: [0] * 6)
    expected: int = 0
    submitted: int = 0
    late: _Named = field(default_factory=_Named)
    missing: _Named = field(default_factory=_Named)
    gained: _Named = field(default_factory=_Named)
    lost: _Named = field(default_factory=_Named)
    zero: _Named = field(default_factory=_Named)
    vetoed: _Named = field(default_factory=_Named)
    codes: Counter = field(default_factory=Counter)
    rect: Counter = field(default_factory=Counter)
    still_failing: _Named = field(default_factory=_Named)
    # Every branch that lost a star, [id, from, to]: the report's bulk rectification.
    lost_moves: list = field(default_factory=list)
    # Per records-app metric key: [sum of the branches' values, branches with a value].
    metrics: dict = field(default_factory=dict)


def _figures(levels: list) -> dict:
    total = sum(levels)
    three = sum(levels[3:])
    average = sum(level * n for level, n in enumerate(levels)) / total if total else 0
    return {
        "total": total,
        "by_level": list(levels),
        "average": round(average, 2),
        "share_3plus": round(100 * three / total, 1) if total else 0.0,
    }


def _change(now: dict, then: list) -> dict:
    before = _figures(then)
    return {
        "total": before["total"],
        "by_level_delta": [a - b for a, b in zip(now["by_level"], before["by_level"], strict=True)],
        "average_delta": round(now["average"] - before["average"], 2),
        "share_delta": round(now["share_3plus"] - before["share_3plus"], 1),
    }


def _share(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def _criteria_titles(year: int) -> dict:
    titles = {}
    rows = Criterion.objects.filter(criteria_set__year=year).select_related("criteria_set")
    for criterion in rows.order_by("code", "criteria_set__area_type", "-criteria_set__version"):
        if criterion.code not in titles:
            star = criterion.criteria_set.star_names[criterion.star - 1]
            titles[criterion.code] = {"title": criterion.title, "star_name": star}
    return titles


def snapshots_build(period: date, root: OrgUnit | None = None) -> dict[int, dict]:
    """Every report unit's snapshot under `root` (the whole tree when None), by unit id."""
    units = OrgUnit.objects.filter(level__lte=OrgUnit.Level.VILLAGE)
    if root is not None:
        units = units.under(root)
    units = list(units.order_by("path").values_list("id", "path", "name", "level"))
    by_path = {path: (pk, name, level) for pk, path, name, level in units}
    prefix = root.path if root is not None and root.depth > 1 else ""

    def scoped(qs, lookup):
        return qs.filter(**{f"{lookup}__startswith": prefix}) if prefix else qs

    def ratings(month):
        qs = BranchRating.objects.filter(period=month, kind=Rating.MONTHLY)
        return {
            pk: (level, veto)
            for pk, level, veto in scoped(qs, "unit_path").values_list("unit_id", "level", "veto")
        }

    current = ratings(period)
    before = ratings(previous_month(period))
    december = ratings(date(period.year - 1, 12, 1))
    reports = {
        pk: (status, first or submitted)
        for pk, status, first, submitted in scoped(
            MonthlyReport.objects.filter(period=period), "unit__path"
        ).values_list("unit_id", "status", "first_submitted_at", "submitted_at")
    }
    failed = Counter()
    failing_rows = StarAssessment.objects.filter(
        period=period, kind=Rating.MONTHLY, is_met=False
    ).exclude(failed_codes=[])
    for path, codes in scoped(failing_rows, "unit_path").values_list("unit_path", "failed_codes"):
        for code in codes:
            failed[(path[: 4 * STEP], code)] += 1
    rect_rows = scoped(Rectification.objects.all(), "branch__path").values_list(
        "branch__path", "status", "still_failing", "period", "criterion__code", "problem"
    )
    rectifications = {}
    for path, status, still_failing, opened, code, problem in rect_rows.order_by(
        "branch__path", "id"
    ):
        rectifications.setdefault(path, []).append((status, still_failing, opened, code, problem))

    nodes = {path: _Node() for path, (_pk, _name, level) in by_path.items()}
    titles = _criteria_titles(period.year)
    for path, (pk, name, level) in by_path.items():
        if level != OrgUnit.Level.VILLAGE:
            continue
        chain = [
            nodes[path[:end]] for end in range(STEP, len(path) + 1, STEP) if path[:end] in nodes
        ]
        township = by_path.get(path[: 4 * STEP], (None, "", None))[1]
        item = {"name": name, "township": township}
        now, veto = current.get(pk, (None, None))
        then = before.get(pk, (None, None))[0]
        dec = december.get(pk, (None, None))[0]
        status, first = reports.get(pk, (None, None))
        for node in chain:
            node.expected += 1
            if now is not None:
                node.levels[now] += 1
                if now == 0:
                    node.zero.add(item)
                if veto and veto != BranchRating.Veto.NONE:
                    node.vetoed.add(item)
                if then is not None and now > then:
                    node.gained.add({**item, "from": then, "to": now})
                if then is not None and now < then:
                    node.lost.add({**item, "from": then, "to": now})
                    node.lost_moves.append([pk, then, now])
            if then is not None:
                node.prev_levels[then] += 1
            if dec is not None:
                node.december_levels[dec] += 1
            if status in SUBMITTED:
                node.submitted += 1
                if is_late(first, period, timezone.localdate()):
                    node.late.add(item)
            else:
                node.missing.add(item)
        for status, still_failing, opened, _code, problem in rectifications.get(path, []):
            for node in chain:
                node.rect[status] += 1
                if opened == period:
                    node.rect["opened"] += 1
                if still_failing and status in (RECT.DONE, RECT.OVERDUE):
                    node.still_failing.add({**item, "problem": problem[:100]})
    for (township_path, code), n in failed.items():
        for end in range(STEP, len(township_path) + 1, STEP):
            node = nodes.get(township_path[:end])
            if node is not None:
                node.codes[code] += n

    metrics = _metrics_add(period, by_path, nodes)

    children = {}
    for path in by_path:
        children.setdefault(path[:-STEP], []).append(path)
    snapshots = {}
    for path, (pk, name, level) in by_path.items():
        if level in REPORT_LEVELS:
            kids = [(kid, by_path[kid]) for kid in children.get(path, [])]
            snapshot = _snapshot(period, path, name, level, nodes, kids, titles)
            snapshot["metric_sections"] = _metric_sections(metrics, nodes, path, kids)
            snapshots[pk] = snapshot
    return snapshots


def _metrics_add(period: date, by_path: dict, nodes: dict) -> list:
    """Compute each records-app metric for the month over every branch (one registry call per
    metric), add the values up every node's chain, and return the metrics in key order."""
    branches = {
        pk: path for path, (pk, _n, level) in by_path.items() if level == OrgUnit.Level.VILLAGE
    }
    window = Window(period.year, period.month, period.month)
    metrics = [registry.get(key) for key in registry if not key.startswith(OWN_METRICS_PREFIX)]
    for metric in metrics:
        for pk, value in registry.compute(metric.key, window, list(branches)).items():
            if value is None:
                continue
            path = branches[pk]
            for end in range(STEP, len(path) + 1, STEP):
                node = nodes.get(path[:end])
                if node is not None:
                    total = node.metrics.setdefault(metric.key, [0, 0])
                    total[0] += value
                    total[1] += 1
    return metrics


def _metric_sections(metrics: list, nodes: dict, path: str, children: list) -> list[dict]:
    """One section per metric: the unit's average over its branches, then each child's."""

    def row(node_path: str, name: str) -> dict:
        node = nodes[node_path]
        total, counted = node.metrics.get(metric.key, (0, 0))
        average = round(float(total) / counted, 1) if counted else None
        return {"name": name, "branches": node.expected, "counted": counted, "average": average}

    sections = []
    for number, metric in enumerate(metrics, start=FIRST_METRIC_SECTION):
        rows = [row(child_path, child[1]) for child_path, child in children]
        sections.append(
            {
                "key": metric.key,
                "heading": f"{chinese_numeral(number)}、{metric.title}",
                "title": str(metric.title),
                "unit": metric.unit,
                "overall": row(path, _("全辖区")),
                "rows": rows,
            }
        )
    return sections


def _snapshot(period, path, name, level, nodes, children, titles) -> dict:
    node = nodes[path]
    headline = _figures(node.levels)
    ranking = []
    submission = []
    for child_path, (_pk, child_name, _level) in children:
        child = nodes[child_path]
        figures = _figures(child.levels)
        completeness = _share(child.submitted, child.expected)
        ranking.append(
            {
                "name": child_name,
                "total": figures["total"],
                "average": figures["average"],
                "share_3plus": figures["share_3plus"],
                "completeness": completeness,
            }
        )
        submission.append(
            {
                "name": child_name,
                "expected": child.expected,
                "submitted": child.submitted,
                "late": child.late.count,
                "missing": child.missing.count,
                "completeness": completeness,
            }
        )
    ranking.sort(key=lambda row: (-row["average"], -row["share_3plus"], row["name"]))
    missed = sorted(node.codes.items(), key=lambda pair: (-pair[1], pair[0]))[:MISSED_CRITERIA]
    return {
        "unit": {"name": name, "level": str(OrgUnit.Level(level).label), "path": path},
        "period": period.isoformat(),
        "period_label": str(month_label(period)),
        "due_date": report_due_date(period).isoformat(),
        "headline": {
            **headline,
            "vs_last_month": _change(headline, node.prev_levels),
            "vs_december": _change(headline, node.december_levels),
        },
        "ranking": ranking,
        "gained": node.gained.as_dict(),
        "lost": {**node.lost.as_dict(), "moves": node.lost_moves},
        "zero": node.zero.as_dict(),
        "vetoed": node.vetoed.as_dict(),
        "submission": {
            "expected": node.expected,
            "submitted": node.submitted,
            "completeness": _share(node.submitted, node.expected),
            "children": submission,
            "late": node.late.as_dict(),
            "missing": node.missing.as_dict(),
        },
        "missed_criteria": [
            {"code": code, "count": n, **titles.get(code, {"title": code, "star_name": ""})}
            for code, n in missed
        ],
        "rectification": {
            "opened": node.rect["opened"],
            "open": node.rect[RECT.OPEN] + node.rect[RECT.IN_PROGRESS],
            "closed": node.rect[RECT.DONE],
            "verified": node.rect[RECT.VERIFIED],
            "overdue": node.rect[RECT.OVERDUE],
            "still_failing": node.still_failing.as_dict(),
        },
        "metric_sections": [],  # filled by snapshots_build
    }


def reports_generate(period: date, root: OrgUnit | None = None, *, only_root=False) -> dict:
    """Write the month's snapshots of every report unit under `root`: a draft is replaced,
    a published report stays as it is (a leader regenerates it with a reason)."""
    snapshots = snapshots_build(period, root)
    if only_root and root is not None:
        snapshots = {root.pk: snapshots[root.pk]}
    now = timezone.now()
    with transaction.atomic():
        latest = {
            report.unit_id: report
            for report in SupervisionReport.objects.filter(
                period=period, is_latest=True, unit_id__in=list(snapshots)
            ).select_for_update()
        }
        new, changed = [], []
        for unit_id, snapshot in snapshots.items():
            report = latest.get(unit_id)
            if report is None:
                new.append(
                    SupervisionReport(
                        unit_id=unit_id, period=period, snapshot=snapshot, generated_at=now
                    )
                )
            elif not report.is_published:
                report.snapshot, report.generated_at = snapshot, now
                changed.append(report)
        SupervisionReport.objects.bulk_create(new, batch_size=500)
        SupervisionReport.objects.bulk_update(changed, ["snapshot", "generated_at"], batch_size=500)
    return {"created": len(new), "replaced": len(changed), "kept": len(latest) - len(changed)}


def report_regenerate(user, report: SupervisionReport, *, reason: str = "") -> SupervisionReport:
    """Regenerate one report on demand: a draft is replaced in place, a published one gets a
    new version (the reason is required)."""
    if not user.can_publish_supervision:
        raise PermissionDenied(_("只有领导可以生成督导通报。"))
    reason = (reason or "").strip()
    snapshot = snapshots_build(report.period, report.unit)[report.unit_id]
    with transaction.atomic():
        current = SupervisionReport.objects.select_for_update().get(
            unit_id=report.unit_id, period=report.period, is_latest=True
        )
        if current.pk != report.pk:
            raise ConflictError(_("该通报已有更新的版本，请打开最新版本后再操作。"))
        if not current.is_published:
            current.snapshot, current.generated_at = snapshot, timezone.now()
            current.save(update_fields=["snapshot", "generated_at"])
            return current
        if not reason:
            raise ValidationError({"reason": _("已发布的通报重新生成需要填写原因。")})
        if len(reason) > REASON_MAX:
            raise ValidationError({"reason": _("原因不能超过%(n)s个字。") % {"n": REASON_MAX}})
        SupervisionReport.objects.filter(pk=current.pk).update(is_latest=False)
        return SupervisionReport.objects.create(
            unit_id=current.unit_id,
            period=current.period,
            version=current.version + 1,
            snapshot=snapshot,
            reason=reason,
        )


def report_generate_for_unit(user, unit: OrgUnit, period: date) -> SupervisionReport:
    """A leader's on-demand report of one unit and month (a new draft or the latest one
    regenerated as a draft would be)."""
    if not user.can_publish_supervision:
        raise PermissionDenied(_("只有领导可以生成督导通报。"))
    if unit.level not in REPORT_LEVELS:
        raise ValidationError(_("督导通报只为省、市、县(区)和乡镇(街道)生成。"))
    reports_generate(period, unit, only_root=True)
    return SupervisionReport.objects.get(unit=unit, period=period, is_latest=True)


@transaction.atomic
def report_publish(user, report: SupervisionReport, *, generated_at: str = "") -> SupervisionReport:
    """Publish the latest draft; `generated_at` (as shown to the user) guards against a
    draft regenerated since it was read."""
    if not user.can_publish_supervision:
        raise PermissionDenied(_("只有本单位或上级单位的领导可以发布督导通报。"))
    if report.is_published:
        raise ConflictError(_("该通报已经发布，无需再次发布。"))
    if not report.is_latest:
        raise ConflictError(_("该通报已有更新的版本，请打开最新版本后再发布。"))
    if generated_at and generated_at != report.generated_at.isoformat():
        raise ConflictError(_("该通报在您打开后已重新生成，请查看最新内容后再发布。"))
    now = timezone.now()
    updated = SupervisionReport.objects.filter(
        pk=report.pk,
        status=SupervisionReport.Status.DRAFT,
        is_latest=True,
        generated_at=report.generated_at,
    ).update(status=SupervisionReport.Status.PUBLISHED, published_at=now, published_by=user)
    if not updated:
        raise ConflictError(_("该通报在您打开后已被他人发布或重新生成，请刷新后再操作。"))
    report.refresh_from_db()
    _announce_published(report, user)
    return report


def _announce_published(report: SupervisionReport, publisher) -> None:
    """Those whose home page now lists the report hear of it: the users of its unit and of
    the unit above who read reports (not the publisher, not secretaries or grid workers)."""
    units = [report.unit_id] + (
        [OrgUnit.objects.get_parent(report.unit).pk] if report.unit.depth > 1 else []
    )
    readers = (
        User.objects.filter(is_active=True, unit_id__in=units)
        .filter(role__in=[User.Role.LEADER, User.Role.TOWNSHIP_STAFF, User.Role.AUDITOR])
        .exclude(pk=publisher.pk)
    )
    text = _("%(unit)s %(period)s督导通报（第 %(version)s 版）已发布。") % {
        "unit": report.unit.name,
        "period": month_label(report.period),
        "version": report.version,
    }
    url = reverse("supervision_detail", args=[report.pk])
    notify_users(
        recipients=readers.values_list("pk", flat=True), unit=report.unit, text=text, url=url
    )


def home_reports(user, limit: int = 5) -> list[SupervisionReport]:
    """Published reports of the user's unit and of the units one level below it."""
    unit = user.unit
    if unit is None or not user.can_read_reports or unit.level > OrgUnit.Level.TOWNSHIP:
        return []
    qs = (
        SupervisionReport.objects.visible_to(user)
        .latest()
        .filter(status=SupervisionReport.Status.PUBLISHED, unit__depth__lte=unit.depth + 1)
    )
    return list(qs.select_related("unit").order_by("-period", "unit__path")[:limit])


def report_rectify_lost(user, report: SupervisionReport, deadline: date) -> list:
    """Open a rectification item for every branch the report names as having lost a star
    (the rectification service checks the role, the scope and the deadline; twice opens
    nothing new)."""
    from branches.services.rectification import BulkItem, rectifications_open_bulk

    moves = report.snapshot.get("lost", {}).get("moves", [])
    branches = OrgUnit.objects.in_bulk([pk for pk, _from, _to in moves])
    label = month_label(report.period)
    items = [
        BulkItem(
            branch=branches[pk],
            problem=_("%(month)s较上月降星（%(a)s星→%(b)s星），请查找原因并整改。")
            % {"month": label, "a": was, "b": now},
            period=report.period,
        )
        for pk, was, now in moves
        if pk in branches
    ]
    if not items:
        raise ValidationError(_("本通报没有降星支部，无需建立整改事项。"))
    return rectifications_open_bulk(user, items, deadline)
