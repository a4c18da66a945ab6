"""The count model behind the volume rule: how many complaints of a category a stage gets
at each hour of the day, and how surprising the open window's count is.

Per stage (one JSON dict in the stage state): for every category, a decayed count and a
decayed exposure (hours observed) per UTC hour of day, and the same over all hours. Every
closed step feeds it, empty steps included, so a stage with almost no traffic learns that it
is quiet. The rate of a category at hour ``h`` has a gamma posterior that shrinks towards the
stage's all-hours rate (itself gamma with a weak prior), so a sparse hour borrows strength
from the rest of the day; the window's count is then negative binomial (gamma-Poisson).
Pure Python.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from detector.signals import FRICTION_CATEGORIES

HOURS = 24


@dataclass(frozen=True)
class SurgeConfig:
    """Settings of the volume rule (``CHURN_SURGE_*``, see README)."""

    enabled: bool = True
    #: Alert when a count this unlikely (upper tail) under the model is seen.
    p_value: float = 1e-6
    #: ... and at least this many times the expected count ...
    min_ratio: float = 3.0
    #: ... and at least this many complaints from this many different customers.
    min_count: int = 5
    min_customers: int = 3
    #: Event-time hours of stage history before the rule is armed (one day: the hour cycle).
    warmup_hours: float = 24.0
    #: Half-life of the counts (days): older weeks weigh less.
    half_life_days: float = 7.0
    #: Prior of a category's rate before any history: mean per hour, and its weight (events).
    prior_rate_per_hour: float = 0.25
    prior_events: float = 1.0
    #: How strongly an hour's rate is pulled towards the all-hours rate (pseudo-events).
    hour_strength: float = 4.0
    #: Cap on the negative-binomial shape: keeps some over-dispersion however long the history.
    max_shape: float = 50.0
    #: Distinct customers for high and critical.
    customers_high: int = 10
    customers_critical: int = 25
    #: Customer ids kept per bucket and category (bounded state); counts past it show as "N+".
    customer_ids: int = 64
    #: Longest silence replayed step by step into the model (older steps are skipped).
    catchup_days: float = 14.0


def _empty(volume: dict[str, Any]) -> None:
    volume.setdefault("hours", 0.0)
    volume.setdefault("exposure", [0.0] * HOURS)
    volume.setdefault("exposure_all", 0.0)
    counts = volume.setdefault("counts", {})
    totals = volume.setdefault("counts_all", {})
    for cat in FRICTION_CATEGORIES:
        counts.setdefault(cat, [0.0] * HOURS)
        totals.setdefault(cat, 0.0)


def fold_step(
    volume: dict[str, Any], hour: int, counts: Mapping[str, int], step_hours: float,
    cfg: SurgeConfig,
) -> None:
    """Add one closed step (its counts per category, possibly none) at UTC ``hour``."""
    _empty(volume)
    steps_per_day = HOURS / step_hours
    # each hour slot gets steps_per_day / 24 updates a day; the all-hours model steps_per_day
    keep_hour = 0.5 ** (HOURS / (steps_per_day * cfg.half_life_days))
    keep_all = 0.5 ** (1.0 / (steps_per_day * cfg.half_life_days))
    volume["exposure"][hour] = volume["exposure"][hour] * keep_hour + step_hours
    volume["exposure_all"] = volume["exposure_all"] * keep_all + step_hours
    for cat in FRICTION_CATEGORIES:
        n = counts.get(cat, 0)
        row = volume["counts"][cat]
        row[hour] = round(row[hour] * keep_hour + n, 6)
        volume["counts_all"][cat] = round(volume["counts_all"][cat] * keep_all + n, 6)
    volume["exposure"][hour] = round(volume["exposure"][hour], 6)
    volume["exposure_all"] = round(volume["exposure_all"], 6)
    volume["hours"] = volume.get("hours", 0.0) + step_hours


def hour_rate(volume: dict[str, Any], cat: str, hour: int, cfg: SurgeConfig
              ) -> tuple[float, float]:
    """(posterior mean rate per hour, posterior shape) of ``cat`` at UTC ``hour``."""
    _empty(volume)
    prior_exposure = cfg.prior_events / cfg.prior_rate_per_hour
    overall = (cfg.prior_events + volume["counts_all"][cat]) / (
        prior_exposure + volume["exposure_all"]
    )
    shape = cfg.hour_strength + volume["counts"][cat][hour]
    rate = cfg.hour_strength / overall + volume["exposure"][hour]
    # the hour's shape cannot claim more certainty than the all-hours evidence has
    shape_all = cfg.prior_events + volume["counts_all"][cat]
    return shape / rate, min(shape, shape_all)


def expected_in_window(
    volume: dict[str, Any], cat: str, hours: Sequence[int], step_hours: float, cfg: SurgeConfig
) -> tuple[float, float]:
    """(expected count, negative-binomial shape) of ``cat`` in a window of steps starting at
    the given UTC hours."""
    rates = [hour_rate(volume, cat, h, cfg) for h in hours]
    expected = sum(r for r, _ in rates) * step_hours
    shape = min(cfg.max_shape, sum(s for _, s in rates) / max(1, len(rates)))
    return expected, shape


def surge_tail(count: int, shape: float, mean: float) -> float:
    """P(X >= count) for X negative binomial with this shape and mean (gamma-Poisson)."""
    if count <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    q = mean / (shape + mean)
    log_p = math.log(shape / (shape + mean))
    log_q = math.log(q)
    log_term = (math.lgamma(count + shape) - math.lgamma(shape) - math.lgamma(count + 1)
                + shape * log_p + count * log_q)
    term = math.exp(log_term)
    total, x = 0.0, count
    for _ in range(100_000):
        total += term
        term *= (x + shape) / (x + 1) * q
        x += 1
        if term <= total * 1e-12:
            break
    return min(1.0, total)
