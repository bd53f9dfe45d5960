"""Time the pure rating engine on a province of synthetic rural branches.

Run from the repository root: .venv/bin/python -m bench.engine [branches]
Prints the time of `assess` alone (no database) for the annual rating and for a mid-year
month: wall clock and CPU time of this process (the CPU figure holds on a busy machine).
Building the synthetic values is not timed; 5,000 distinct branches are cycled.
"""

import random
import sys
import time
from collections import Counter
from decimal import Decimal

from branches.catalogue import default_catalogue
from branches.rating import Aggregation, CriterionSpec, ValueKind, assess

PROVINCE_BRANCHES = 51_000
DISTINCT_BRANCHES = 5_000


def synthetic_values(spec_criteria: tuple[CriterionSpec, ...], rng: random.Random) -> dict:
    """Twelve months of values for one branch: mostly passing, some misses and gaps."""
    strength = rng.random()  # a strong branch misses less
    values = {}
    for c in spec_criteria:
        months = {}
        for m in range(1, 13):
            if rng.random() < 0.03:
                continue  # not reported
            months[m] = _value(c, rng, strength)
        values[c.code] = months
    return values


def _value(c: CriterionSpec, rng: random.Random, strength: float):
    good = rng.random() < 0.85 + 0.15 * strength
    if c.kind == ValueKind.BOOLEAN:
        return good
    if c.comparator == "LTE":
        return Decimal(0) if good or rng.random() < 0.99 else Decimal(1)
    target = c.threshold / 12 if c.aggregation == Aggregation.SUM else c.threshold
    factor = Decimal(rng.randint(100, 130) if good else rng.randint(50, 99)) / 100
    return (target * factor).quantize(Decimal("0.1"))


def main(count: int) -> None:
    spec = default_catalogue("RURAL").to_spec()
    rng = random.Random(20240601)
    distinct = [synthetic_values(spec.criteria, rng) for _ in range(min(count, DISTINCT_BRANCHES))]
    branches = [distinct[i % len(distinct)] for i in range(count)]
    no_metrics: dict = {}
    print(f"{count} branches x {len(spec.criteria)} criteria (rural set)")
    for label, month in (("annual", None), ("month 6", 6)):
        wall, cpu = time.perf_counter(), time.process_time()
        results = [assess(spec, month=month, values=v, metrics=no_metrics) for v in branches]
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        levels = Counter(r.level for r in results)
        spread = ", ".join(f"{level}★ {levels[level]}" for level in sorted(levels))
        print(
            f"{label:>8}: {wall:.2f} s wall, {cpu:.2f} s CPU, "
            f"{cpu / count * 1e6:.0f} µs CPU per branch  ({spread})"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else PROVINCE_BRANCHES)
