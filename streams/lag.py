"""Consumer lag of a Faust worker: end offset minus committed offset per assigned partition."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from typing import Any

from streams.metrics import Metrics

log = logging.getLogger("churn.lag")


def compute_lags(
    assigned: Collection[Any],
    highwaters: Mapping[Any, int | None],
    committed: Mapping[Any, int | None],
    earliest: Mapping[Any, int | None],
) -> dict[tuple[str, int], int]:
    """``{(topic, partition): lag}`` from end offsets and committed (next-to-read) offsets.

    A partition with nothing committed yet lags by everything it holds (end - earliest).
    """
    out: dict[tuple[str, int], int] = {}
    for tp in assigned:
        end = highwaters.get(tp)
        if end is None:
            continue
        done = committed.get(tp)
        if done is None:
            done = earliest.get(tp) or 0
        out[(tp.topic, tp.partition)] = max(0, int(end) - int(done))
    return out


async def report_consumer_lag(
    app: Any, metrics: Metrics, topics: Collection[str],
    committed_offsets: Callable[[Collection[Any]], Mapping[Any, int | None]],
) -> None:
    """Read the consumer's assignment and offsets and update ``churn_consumer_lag_records``.

    Only partitions of ``topics`` (the agents' input topics) are reported; table changelogs
    are left out. Errors (consumer not started, rebalance in progress) are logged and skipped.
    """
    try:
        consumer = app.consumer
        assigned = [tp for tp in consumer.assignment() if tp.topic in topics]
        if not assigned:
            metrics.set_consumer_lag({})
            return
        highwaters = await consumer.highwaters(*assigned)
        committed = committed_offsets(assigned)
        missing = [tp for tp in assigned if committed[tp] is None]
        earliest = await consumer.earliest_offsets(*missing) if missing else {}
    except Exception as exc:  # noqa: BLE001 - a metrics probe must never stop the worker
        log.debug("consumer lag not available: %s", type(exc).__name__)
        return
    metrics.set_consumer_lag(compute_lags(assigned, highwaters, committed, earliest))
