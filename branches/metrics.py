"""The metric registry: set-based functions that feed metric criteria.

A metric takes a window of months and a list of rated-unit ids and returns
{unit id: value} for all of them in a fixed number of queries. Records apps
register theirs in `AppConfig.ready()`; `branches` never imports them.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models.functions import Coalesce
from django.utils import timezone

from branches.models import MonthlyReport

MetricValue = Decimal | None


@dataclass(frozen=True)
class Window:
    """Months first_month..last_month of one year (year to date: first_month = 1)."""

    year: int
    first_month: int
    last_month: int

    @property
    def start(self) -> date:
        return date(self.year, self.first_month, 1)

    @property
    def end(self) -> date:
        """The first day of the last month in the window."""
        return date(self.year, self.last_month, 1)

    @property
    def months(self) -> int:
        return self.last_month - self.first_month + 1


MetricFunction = Callable[[Window, list[int]], dict[int, MetricValue]]


@dataclass(frozen=True)
class Metric:
    key: str
    title: str
    unit: str
    function: MetricFunction


class UnknownMetric(KeyError):
    pass


class MetricRegistry:
    def __init__(self):
        self._metrics: dict[str, Metric] = {}

    def register(self, key: str, *, title: str, unit: str = ""):
        """Decorator: register a set-based metric function under `key` ("app.name")."""

        def decorate(function: MetricFunction) -> MetricFunction:
            if key in self._metrics and self._metrics[key].function is not function:
                raise ValueError(f"metric {key!r} is already registered")
            self._metrics[key] = Metric(key=key, title=title, unit=unit, function=function)
            return function

        return decorate

    def get(self, key: str) -> Metric:
        try:
            return self._metrics[key]
        except KeyError:
            raise UnknownMetric(key) from None

    def __contains__(self, key: str) -> bool:
        return key in self._metrics

    def __iter__(self):
        return iter(self.keys())

    def keys(self) -> list[str]:
        return sorted(self._metrics)

    def choices(self) -> list[tuple[str, str]]:
        return [(key, f"{key}（{self._metrics[key].title}）") for key in self.keys()]

    def compute(self, key: str, window: Window, unit_ids: Iterable[int]) -> dict[int, MetricValue]:
        """Values for every unit id; units the metric has nothing for map to None."""
        ids = list(unit_ids)
        if not ids:
            return {}
        values = self.get(key).function(window, ids)
        return {unit_id: values.get(unit_id) for unit_id in ids}


registry = MetricRegistry()


def report_due_date(period: date) -> date:
    """A month's report is due on day REPORT_DUE_DAY of the following month."""
    year, month = (period.year + 1, 1) if period.month == 12 else (period.year, period.month + 1)
    return date(year, month, settings.REPORT_DUE_DAY)


@registry.register("branches.on_time_report_rate", title="月度报表按时报送率", unit="%")
def on_time_report_rate(window: Window, unit_ids: list[int]) -> dict[int, MetricValue]:
    """Share of the window's months whose report was first submitted by its due day.

    A resubmission after a return keeps the month on time; submitted_at stands in only
    where first_submitted_at was never set (rows written before it existed).
    """
    on_time = dict.fromkeys(unit_ids, 0)
    rows = (
        MonthlyReport.objects.filter(
            unit_id__in=unit_ids,
            period__range=(window.start, window.end),
            submitted_at__isnull=False,
        )
        .annotate(first_at=Coalesce("first_submitted_at", "submitted_at"))
        .values_list("unit_id", "period", "first_at")
        .iterator(chunk_size=10_000)
    )
    for unit_id, period, submitted_at in rows:
        if timezone.localdate(submitted_at) <= report_due_date(period):
            on_time[unit_id] += 1
    return {
        unit_id: (Decimal(100) * count / window.months).quantize(Decimal("0.1"))
        for unit_id, count in on_time.items()
    }
