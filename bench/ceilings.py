"""In-process ceilings: encoder and classifier throughput on the bench texts, state size."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from detector.customer import RiskConfig, update_customer
from detector.schema import Event, parse_event
from detector.signals import FRICTION_CATEGORIES, INTENTS, Signal


def timed_rate(n: int, fn: Callable[[], Any]) -> tuple[float, float]:
    """Run ``fn`` once; return (items per second, seconds)."""
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    return (n / dt if dt > 0 else float("inf")), dt


def batched(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def encoder_ceiling(encoder: Any, texts: Sequence[str], batch_size: int) -> dict[str, float]:
    """Raw ``encode`` throughput in micro-batches of ``batch_size`` (one warm-up batch first)."""
    encoder.encode(list(texts[:8]))
    batches = batched(list(texts), batch_size)
    eps, secs = timed_rate(len(texts), lambda: [encoder.encode(b) for b in batches])
    return {"eps": eps, "seconds": secs, "n": len(texts)}


def classifier_ceiling(clf: Any, events: Sequence[Event], batch_size: int) -> dict[str, float]:
    """``classify`` throughput in micro-batches (encoder + heads + Signal objects)."""
    clf.classify(list(events[:8]))
    batches = batched(list(events), batch_size)
    eps, secs = timed_rate(len(events), lambda: [clf.classify(b) for b in batches])
    return {"eps": eps, "seconds": secs, "n": len(events)}


def parse_all(bodies: Sequence[dict[str, Any]]) -> list[Event]:
    return [parse_event(json.dumps(b)) for b in bodies]


def _synthetic_signal(rng: random.Random, customer: str, n: int, at: datetime,
                      pool: Sequence[tuple[float, ...]], texts: Sequence[str]) -> Signal:
    intent = rng.choices(INTENTS, weights=(0.8, 0.14, 0.06))[0]
    probs = {"none": 0.2, "at_risk": 0.1, "explicit": 0.1}
    probs[intent] = 0.7
    friction = {c: round(rng.random() * 0.6, 3) for c in FRICTION_CATEGORIES}
    cats = tuple(c for c in FRICTION_CATEGORIES if friction[c] > 0.5)
    return Signal(
        event_id=f"s-{customer}-{n}", customer_id=customer, channel=rng.choice(
            ("ticket", "chat", "email", "review", "social", "call", "survey")),
        occurred_at=at, churn_intent=intent, churn_probability=1 - probs["none"],
        intent_probabilities=probs, friction=friction, friction_categories=cats,
        sentiment=rng.uniform(-1, 1), journey_stage=rng.choice(("support", "billing", "usage")),
        journey_stage_source="inferred",
        text=rng.choice(texts), rating=None, language="en", model_version="bench",
        embedding=rng.choice(pool),
    )


def state_bytes_per_customer(customers: int = 100_000, mean_events: float = 2.5,
                             dim: int = 384, seed: int = 3) -> dict[str, Any]:
    """Run ``update_customer`` over ``customers`` customers; JSON size of their state.

    Events per customer are geometric with mean ``mean_events`` (capped at 60): most
    customers write once or twice, a few write often. Signals carry ``dim``-dim embeddings
    (issue threads keep an int8 copy).
    """
    from bench.generator import EventMix, MixConfig, text_of

    rng = random.Random(seed)
    cfg = RiskConfig()
    pool = [tuple(rng.gauss(0, 1) for _ in range(dim)) for _ in range(256)]
    texts = [text_of(e) for e in EventMix(MixConfig(seed=seed)).events(2000)]
    p = 1.0 / mean_events
    sizes: list[int] = []
    updates = 0
    start = datetime(2026, 1, 1, tzinfo=UTC)
    t0 = time.perf_counter()
    for i in range(customers):
        cid = f"C-{i:07d}"
        k = 1
        while rng.random() > p and k < 60:
            k += 1
        state = None
        at = start + timedelta(minutes=rng.randint(0, 60 * 24 * 30))
        for n in range(k):
            at += timedelta(hours=rng.expovariate(1 / 30))
            signal = _synthetic_signal(rng, cid, n, at, pool, texts)
            state = update_customer(state, signal, cfg).state
            updates += 1
        sizes.append(len(json.dumps(state, separators=(",", ":")).encode("utf-8")))
    secs = time.perf_counter() - t0
    sizes.sort()
    total = sum(sizes)
    return {
        "customers": customers,
        "updates": updates,
        "bytes_total": total,
        "bytes_per_customer": total / customers,
        "p50": sizes[len(sizes) // 2],
        "p99": sizes[min(len(sizes) - 1, int(len(sizes) * 0.99))],
        "max": sizes[-1],
        "embedding_dim": dim,
        "updates_per_s": updates / secs if secs else None,
    }
