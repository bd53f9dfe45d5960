"""Set-based recompute of star assessments and branch ratings.

For any number of branches the work is a fixed number of queries:
1. the rated units in scope; 2. the counted reports of the year to date and their values;
3. the state of every report that does not count (so that a gap names why a month is
missing); 4. the criteria sets (with their criteria); 5. one call per metric key; 6. the
digests of the stored rows of the scope; 7. bulk writes of the rows that are new or changed.
The pure engine (`branches.rating.assess`) decides each branch as the writes consume the
rows: on PostgreSQL the new star rows go to COPY while later branches are still assessed.
Rows whose content is unchanged are not written, so a second run writes nothing.
"""

import csv
import hashlib
import io
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from itertools import chain, islice
from operator import itemgetter

import orjson
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from branches import rating
from branches.metrics import Window, registry
from branches.models import (
    BranchRating,
    CriteriaSet,
    Criterion,
    MonthlyReport,
    OrgUnit,
    Rating,
    ReportValue,
    StarAssessment,
)
from branches.services import rollups

logger = logging.getLogger(__name__)

UPSERT_BATCH = 2000
COPY_CHUNK = 256 * 1024  # bytes PostgreSQL gets at a time while Python renders the next
MAX_PARAMS = 30_000  # below SQLite's limit of 32,766 bound parameters per statement
STAR_KEY = ["unit_id", "period", "kind", "star"]
STAR_COLUMNS = [
    *STAR_KEY,
    "unit_path",
    "star_name",
    "is_met",
    "gaps",
    "failed_codes",
    "inputs",
    "criteria_set_id",
    "digest",
    "computed_at",
]
RATING_KEY = ["unit_id", "period", "kind"]
RATING_COLUMNS = [
    *RATING_KEY,
    "unit_path",
    "area_type",
    "level",
    "has_star_1",
    "has_star_2",
    "has_star_3",
    "has_star_4",
    "has_star_5",
    "veto",
    "gap_count",
    "gaps_text",
    "criteria_set_id",
    "digest",
    "computed_at",
]


@dataclass
class RecomputeResult:
    period: str
    kind: str
    branches: int = 0
    written: int = 0
    unchanged: int = 0
    without_criteria: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def spec_for(criteria_set: CriteriaSet) -> rating.CriteriaSpec:
    """The engine's plain view of a criteria set (its criteria must be prefetched)."""
    return rating.CriteriaSpec(
        star_names=tuple(criteria_set.star_names),
        capstone=criteria_set.capstone,
        criteria=tuple(
            rating.CriterionSpec(
                code=c.code,
                star=c.star,
                title=c.title,
                kind=rating.ValueKind(c.kind),
                comparator=rating.Comparator(c.comparator),
                aggregation=rating.Aggregation(c.aggregation),
                unit=c.unit,
                threshold=True if c.comparator == Criterion.Comparator.IS_YES else c.threshold,
                min_months=c.min_months,
                veto_scope=rating.VetoScope(c.veto_scope),
                source=rating.Source(c.source),
                metric_key=c.metric_key,
                order=c.order,
            )
            for c in criteria_set.criteria.all()
        ),
    )


# A city's path: the lock domain of a recompute, and the chunk a period recompute is split into.
CITY_PATH_LENGTH = OrgUnit.steplen * OrgUnit.Level.CITY


def lock_names(period: date, kind: str, paths) -> list[str]:
    """The advisory locks of a recompute of the branches at `paths`: one per city they lie in."""
    return sorted({f"ratings:{kind}:{period}:{path[:CITY_PATH_LENGTH]}" for path in paths})


def _lock_scope(names: list[str]) -> None:
    """Two recomputes of the same period and city never run at once (PostgreSQL advisory
    locks, taken in one order so that overlapping scopes cannot deadlock); different cities
    run side by side, which is what lets a period recompute fan out across workers.

    The locks belong to the transaction, so they cannot outlive a crashed holder.
    SQLite serialises writers by itself.
    """
    if connection.vendor == "postgresql" and names:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_advisory_xact_lock(hashtext(name))) "
                "FROM (SELECT unnest(%s::text[]) AS name ORDER BY 1) AS names",
                [names],
            )


@transaction.atomic
def ratings_recompute(
    *,
    period: date,
    kind: str = Rating.MONTHLY,
    unit_ids: list[int] | None = None,
    under: OrgUnit | None = None,
) -> RecomputeResult:
    """Recompute the monthly (year to date) or annual rating of the branches in scope.

    Monthly progress counts submitted and approved reports; the annual rating counts
    approved reports only. `period` is the month's first day (annual: any day of the year).
    """
    annual = kind == Rating.ANNUAL
    period = date(period.year, 1, 1) if annual else period.replace(day=1)
    month = 12 if annual else period.month
    kind = str(kind)
    result = RecomputeResult(period=period.isoformat(), kind=kind)

    units = OrgUnit.objects.rated()
    if unit_ids is not None:
        units = units.filter(pk__in=unit_ids)
    if under is not None:
        units = units.filter(path__startswith=under.path)
    units = list(units.values_list("pk", "path", "area_type"))
    result.branches = len(units)
    if not units:
        return result
    _lock_scope(lock_names(period, kind, (path for _pk, path, _a in units)))

    window = Window(year=period.year, first_month=1, last_month=month)
    values, entered_on = _read_values(window, annual=annual, unit_ids=unit_ids, under=under)
    states = _read_states(window, annual=annual, unit_ids=unit_ids, under=under)
    # A branch is rated on the criteria set its latest counted report was entered on (so
    # a rating can be re-derived from what the branch was asked); without reports, on the
    # year's active set.
    sets = {
        s.pk: s
        for s in CriteriaSet.objects.filter(
            Q(year=period.year, is_active=True) | Q(pk__in=set(entered_on.values()))
        ).prefetch_related("criteria")
    }
    active = {s.area_type: s.pk for s in sets.values() if s.is_active and s.year == period.year}
    specs = {pk: spec_for(s) for pk, s in sets.items()}
    CriteriaSet.objects.filter(pk__in=list(sets), locked_at__isnull=True).update(
        locked_at=timezone.now()
    )
    set_of = {
        unit_id: entered_on.get(unit_id, active.get(area_type)) for unit_id, _p, area_type in units
    }
    metrics = _read_metrics(specs, window, set_of)

    scope = Q(period=period, kind=kind)
    if unit_ids is not None:
        scope &= Q(unit_id__in=[u[0] for u in units])
    elif under is not None:
        scope &= Q(unit_path__startswith=under.path)
    stored_stars = _digests(StarAssessment.objects.filter(scope), ("unit_id", "star"))
    stored_ratings = _digests(BranchRating.objects.filter(scope), ("unit_id",))

    # As text once, not a date object per row: the rows go to COPY or SQL parameters.
    computed_at = timezone.now().isoformat()
    period_db = period.isoformat()
    ratings = []

    def stars():
        """Each branch's star rows, assessed only as the write asks for them (so that
        PostgreSQL stores one chunk while the next is assessed); its rating row is kept.
        No queries in here: on PostgreSQL this runs while COPY holds the connection."""
        for unit_id, path, area_type in units:
            set_id = set_of[unit_id]
            if set_id is None:
                result.without_criteria += 1
                continue
            spec = specs[set_id]
            assessment = rating.assess(
                spec,
                month=None if annual else month,
                values=values.get(unit_id, _NOTHING),
                metrics=metrics.get(unit_id, _NOTHING),
                states=states.get(unit_id, _NOTHING),
            )
            gap_count, missing = 0, {}
            for star in assessment.stars:
                gaps, inputs = _dumps(star.gaps), _dumps(star.inputs)
                failed = _dumps(star.failed)
                gap_count += len(star.gaps)
                if not star.met:
                    missing.update(dict.fromkeys(star.gaps))
                digest = _digest(path, star.name, star.met, gaps, failed, inputs, set_id)
                yield (unit_id, period_db, kind, star.star, path, star.name, star.met, gaps,
                       failed, inputs, set_id, digest, computed_at)  # fmt: skip
            held = [n in assessment.stars_held for n in range(1, 6)]
            veto = str(assessment.vetoed)
            gaps_text = gaps_joined(missing)
            digest = _digest(
                path, area_type, assessment.level, *held, veto, gap_count, gaps_text, set_id
            )
            ratings.append(
                (unit_id, period_db, kind, path, area_type, assessment.level, *held, veto,
                 gap_count, gaps_text, set_id, digest, computed_at)
            )  # fmt: skip

    result.written = _write(
        StarAssessment, STAR_COLUMNS, STAR_KEY, stars(), stored=stored_stars, key_positions=(0, 3)
    )
    result.written += _write(
        BranchRating, RATING_COLUMNS, RATING_KEY, ratings, stored=stored_ratings, key_positions=(0,)
    )
    result.unchanged = (result.branches - result.without_criteria) * 6 - result.written
    # A branch's recompute follows each workflow step, which may change the rollups' report
    # counts (an approval) without changing a rating.
    if result.written or (unit_ids is not None and kind == Rating.MONTHLY):
        whole = unit_ids is None and under is None
        rollups.rollups_refresh(period, kind, None if whole else (path for _pk, path, _a in units))
    # Closed rectification items whose criterion now passes (or still fails) in this month.
    from branches.services.rectification import rectifications_verify

    rectifications_verify(period=period, kind=kind, unit_ids=unit_ids, under=under)
    return result


_NOTHING: dict = {}


def gaps_joined(gaps: Iterable[str]) -> str:
    """The gaps of a branch's missing stars as one text, each once (an all-stars veto
    repeats its gap on every star), in star order: what the ratings export shows."""
    return "；".join(dict.fromkeys(gaps))


def _dumps(data) -> str:
    return orjson.dumps(data).decode()


def _digest(*parts) -> str:
    """A short fingerprint of a row's content: unchanged rows are not written again."""
    return hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).hexdigest()


def _digests(stored, key_fields: tuple) -> dict:
    """{key: digest} of the stored rows, read from the cursor (no per-row conversion).
    A key is a value for one key field, else a tuple (as `itemgetter` gives them)."""
    sql, params = stored.values_list(*key_fields, "digest").query.sql_with_params()
    key = itemgetter(*range(len(key_fields)))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {key(row): row[-1] for row in cursor.fetchall()}


def _pending(rows: Iterable[tuple], stored: dict, key_positions: tuple):
    """(is new, row) for each row not stored yet or stored with another digest (row[-2])."""
    key = itemgetter(*key_positions)
    for row in rows:
        digest = stored.get(key(row))
        if digest != row[-2]:
            yield digest is None, row


def _divert(pending, *, new: bool, kept: list):
    """Yield the pending rows that are new (or changed: new=False); keep the others."""
    for is_new, row in pending:
        if is_new is new:
            yield row
        else:
            kept.append(row)


def _write(
    model,
    columns: list[str],
    key: list[str],
    rows: Iterable[tuple],
    *,
    stored: dict,
    key_positions: tuple,
) -> int:
    """Write the rows that are new or changed, as plain tuples, and return how many.

    Not model instances: at province scale (300,000 rows) building and preparing model
    objects would cost more than the database work. PostgreSQL: new rows by COPY straight
    into the table (the period's advisory lock keeps other recomputes from inserting the
    same keys), changed rows by COPY into a temporary table and one INSERT ... ON CONFLICT
    DO UPDATE. The kind that is likely the bulk (new rows when nothing is stored, else
    changed ones) is streamed while `rows` are still being derived; the others are kept
    and written after. SQLite: multi-row upserts.
    """
    table = model._meta.db_table
    quote = connection.ops.quote_name
    updates = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in columns if c not in key)
    pending = _pending(rows, stored, key_positions)
    if connection.vendor == "postgresql":
        kept = []
        if not stored:
            return _copy(table, columns, _divert(pending, new=True, kept=kept))
        written = _upsert_by_copy(
            table, columns, key, updates, _divert(pending, new=False, kept=kept)
        )
        return written + _copy(table, columns, kept)
    rows = [row for _is_new, row in pending]
    row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
    batch = min(UPSERT_BATCH, MAX_PARAMS // len(columns))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            cursor.execute(
                f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) "
                f"VALUES {', '.join([row_sql] * len(chunk))} "
                f"ON CONFLICT ({', '.join(quote(c) for c in key)}) DO UPDATE SET {updates}",
                [value for row in chunk for value in row],
            )
    return len(rows)


def _copy(table: str, columns, rows: Iterable[tuple]) -> int:
    """COPY the rows into the table, rendered as COPY reads them; return how many."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    stream = _CsvStream(chain([first], rows))
    with connection.cursor() as cursor:
        # CSV reads an empty unquoted field as NULL; every column written is NOT NULL, so
        # an empty text (a rating without gaps) stays the empty text.
        names = ", ".join(columns)
        cursor.copy_expert(
            f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL ({names}))",
            stream,
            COPY_CHUNK,  # the size of each read
        )
    if stream.error is not None:
        raise stream.error
    return stream.rows


class _CsvStream:
    """A file for COPY FROM STDIN that renders its rows as CSV only when COPY reads: given
    a generator, PostgreSQL stores one chunk while Python derives the next."""

    def __init__(self, rows: Iterator[tuple]):
        self.rows = 0
        self.error: Exception | None = None
        self._rows = rows
        self._text = io.StringIO()
        self._writer = csv.writer(self._text)

    def read(self, size: int) -> bytes:
        self._text.seek(0)
        self._text.truncate()
        try:
            while self._text.tell() < size and (batch := list(islice(self._rows, 100))):
                self._writer.writerows(batch)
                self.rows += len(batch)
        except Exception as error:
            # psycopg2 would replace it by QueryCanceled without its traceback: end the
            # COPY here and let `_copy` raise it (the transaction is rolled back).
            self.error = error
            return b""
        # Bytes: psycopg2 takes them as they are, and text costs it more per chunk.
        return self._text.getvalue().encode()


def _upsert_by_copy(table: str, columns, key, updates: str, rows: Iterable[tuple]) -> int:
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    names = ", ".join(columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE recompute_rows ON COMMIT DROP AS "
            f"SELECT {names} FROM {table} WITH NO DATA"
        )
    written = _copy("recompute_rows", columns, chain([first], rows))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM recompute_rows "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
        )
        cursor.execute("DROP TABLE recompute_rows")
    return written


def _read_values(window: Window, *, annual: bool, unit_ids, under) -> dict:
    """({unit id: {criterion code: {month: value}}}, {unit id: criteria set id of its latest
    counted report}) for the counted reports of the window.

    Reports are read apart from their values, so that the million value rows of a province
    carry neither a date nor a code each; those rows are read from the cursor directly,
    because at that scale Django's per-row conversion dominates.
    """
    reports = MonthlyReport.objects.filter(
        period__range=(window.start, window.end), status__in=_counted(annual)
    )
    if unit_ids is not None:
        reports = reports.filter(unit_id__in=unit_ids)
    if under is not None:
        reports = reports.filter(unit__path__startswith=under.path)
    values: dict = defaultdict(dict)
    target = {}  # report id: (its unit's values, its month)
    entered = {}  # report id: (unit id, period, criteria set id)
    for pk, unit_id, period, set_id in reports.values_list(
        "pk", "unit_id", "period", "criteria_set_id"
    ):
        target[pk] = (values[unit_id], period.month)
        entered[pk] = (unit_id, period, set_id)
    codes = dict(Criterion.objects.order_by().values_list("pk", "code"))
    sql, params = (
        ReportValue.objects.filter(report__in=reports.values("pk"))
        .values_list("report_id", "criterion_id", "value_bool", "value_number")
        .query.sql_with_params()
    )
    with_values = set()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(20_000):
            for report_id, criterion_id, value_bool, value_number in chunk:
                with_values.add(report_id)
                if value_bool is not None:
                    value = bool(value_bool)
                elif value_number is not None:
                    value = (
                        value_number
                        if isinstance(value_number, Decimal)
                        else Decimal(str(value_number))
                    )
                else:
                    continue
                unit_values, month = target[report_id]
                code = codes[criterion_id]
                if (months := unit_values.get(code)) is None:
                    unit_values[code] = {month: value}
                else:
                    months[month] = value
    # A branch's set is that of its latest report with value rows (one per unit and month).
    latest: dict[int, tuple[date, int]] = {}
    for report_id in with_values:
        unit_id, period, set_id = entered[report_id]
        if unit_id not in latest or latest[unit_id][0] < period:
            latest[unit_id] = (period, set_id)
    return values, {unit_id: set_id for unit_id, (_period, set_id) in latest.items()}


def _counted(annual: bool) -> list[str]:
    """The report statuses whose values count: approved, and in monthly progress submitted."""
    if annual:
        return [MonthlyReport.Status.APPROVED]
    return [MonthlyReport.Status.APPROVED, MonthlyReport.Status.SUBMITTED]


def _read_states(window: Window, *, annual: bool, unit_ids, under) -> dict:
    """{unit id: {month: status}} of the window's reports that do not count: drafts,
    returned reports and, in the annual rating, reports awaiting review."""
    reports = MonthlyReport.objects.filter(period__range=(window.start, window.end)).exclude(
        status__in=_counted(annual)
    )
    if unit_ids is not None:
        reports = reports.filter(unit_id__in=unit_ids)
    if under is not None:
        reports = reports.filter(unit__path__startswith=under.path)
    states: dict = defaultdict(dict)
    for unit_id, period, status in reports.values_list("unit_id", "period", "status"):
        states[unit_id][period.month] = status
    return states


def _read_metrics(specs: dict, window: Window, set_of: dict) -> dict:
    """{unit id: {criterion code: metric value}}, one registry call per metric key."""
    metric_codes = {
        set_id: [(c.code, c.metric_key) for c in spec.criteria if c.source == rating.Source.METRIC]
        for set_id, spec in specs.items()
    }
    units_of_key = defaultdict(set)
    for unit_id, set_id in set_of.items():
        for _code, key in metric_codes.get(set_id, ()):
            units_of_key[key].add(unit_id)
    computed = {
        key: registry.compute(key, window, sorted(ids)) for key, ids in units_of_key.items()
    }
    metrics: dict = defaultdict(dict)
    for unit_id, set_id in set_of.items():
        for code, key in metric_codes.get(set_id, ()):
            metrics[unit_id][code] = computed[key][unit_id]
    return metrics


def months_affected(period: date) -> list[date]:
    """A month's values count in its own and every later year-to-date assessment so far."""
    today = timezone.localdate()
    last = 12 if period.year < today.year else max(period.month, today.month)
    return [date(period.year, month, 1) for month in range(period.month, last + 1)]


@transaction.atomic
def branch_month_recompute(*, unit_id: int, period: date) -> RecomputeResult:
    """Recompute one branch from a changed month on, and clear its recompute mark."""
    MonthlyReport.objects.filter(unit_id=unit_id, period=period, needs_recompute=True).update(
        needs_recompute=False
    )
    result = _recompute_months(months_affected(period), unit_ids=[unit_id])
    if period.year < timezone.localdate().year:
        # A closed year's month changed (an unlock and correction): its annual rating too.
        ratings_recompute(period=period, kind=Rating.ANNUAL, unit_ids=[unit_id])
    return result


def _recompute_months(months: list[date], *, unit_ids: list[int]) -> RecomputeResult:
    total = RecomputeResult(period=months[0].isoformat(), kind=Rating.MONTHLY)
    for month in months:
        result = ratings_recompute(period=month, unit_ids=unit_ids)
        total.branches = max(total.branches, result.branches)
        total.written += result.written
        total.unchanged += result.unchanged
    return total


@transaction.atomic
def marked_reports_recompute() -> RecomputeResult:
    """Claim every report marked for recompute and recompute those branch-months, by month."""
    marked = list(
        MonthlyReport.objects.filter(needs_recompute=True)
        .select_for_update(skip_locked=True)
        .values_list("pk", "unit_id", "period")
    )
    MonthlyReport.objects.filter(pk__in=[pk for pk, _u, _p in marked]).update(needs_recompute=False)
    by_period = defaultdict(set)
    for _pk, unit_id, period in marked:
        by_period[period].add(unit_id)
    total = RecomputeResult(period="", kind=Rating.MONTHLY)
    for period, ids in sorted(by_period.items()):
        result = _recompute_months(months_affected(period), unit_ids=sorted(ids))
        total.branches += result.branches
        total.written += result.written
        total.unchanged += result.unchanged
    return total
