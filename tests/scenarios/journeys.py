"""Journeys generated in code for the surge, rant, CX and account scenarios (seeded, so every
run sees the same events), run through ``replay`` with the labelled classifier."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from detector.engine import Detector
from models.labelled import LabelledClassifier
from streams.offline import read_events, replay
from streams.settings import Settings

T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
QUESTIONS = ("How do I export my report to PDF?", "Where is the new calendar view?",
             "Can I add a second user?", "How do I change my address?")


def ev(eid: str, cust: str, at: datetime, text: str, labels: dict[str, Any] | None = None,
       channel: str = "chat", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"event_id": eid, "customer_id": cust, "channel": channel,
                            "occurred_at": at.isoformat().replace("+00:00", "Z"), "text": text}
    body.update(extra)
    body["metadata"] = {"labels": labels or {}}
    return body


def run(bodies: Iterable[dict[str, Any]], detector: Detector | None = None,
        settings: Settings | None = None) -> list[dict[str, Any]]:
    """Alerts (as dicts) of a replay of these event bodies in event-time order."""
    import json

    settings = settings or Settings(_env_file=None)
    lines = [json.dumps(b) for b in bodies]
    events = [e for _, e in read_events(lines, now=datetime(2027, 1, 1, tzinfo=UTC))]
    assert all(not hasattr(e, "reason") for e in events), [e for e in events if
                                                            hasattr(e, "reason")][:1]
    detector = detector or Detector(risk=settings.risk_config(),
                                    stage_config=settings.stage_config())
    return [a.to_dict() for a in replay(LabelledClassifier(), events, detector)]


def daily_traffic(stage: str, days: float, per_hour: float, rng: random.Random, *,
                  start: datetime = T0, friction_share: float = 0.08,
                  categories: tuple[str, ...] = ("access", "billing", "usability", "product"),
                  customers: int = 5000, prefix: str = "d") -> list[dict[str, Any]]:
    """Ordinary traffic at a stage with a time-of-day cycle (busiest mid-afternoon UTC,
    nine times quieter at night): Poisson arrivals, a few complaints among questions and
    thanks."""
    out = []
    hours = int(days * 24)
    for h in range(hours):
        at_hour = start + timedelta(hours=h)
        cycle = 1 + 0.8 * math.sin(2 * math.pi * (at_hour.hour - 9) / 24)
        n = _poisson(per_hour * cycle, rng)
        for _ in range(n):
            at = at_hour + timedelta(seconds=rng.randrange(3600))
            roll = rng.random()
            i = len(out)
            cust = f"C-{prefix}{rng.randrange(customers)}"
            if roll < friction_share:
                cat = rng.choice(categories)
                out.append(ev(f"{prefix}{stage}-{h}-{i}", cust, at, f"Problem with {cat}",
                              {"sentiment": -0.4, "friction": [cat], "topic": f"{cat} {i}"},
                              journey_stage=stage))
            elif roll < 0.55:
                out.append(ev(f"{prefix}{stage}-{h}-{i}", cust, at, "Works well, thanks",
                              {"sentiment": 0.6}, journey_stage=stage))
            else:
                out.append(ev(f"{prefix}{stage}-{h}-{i}", cust, at, rng.choice(QUESTIONS),
                              {"sentiment": 0.0}, journey_stage=stage))
    return out


def _poisson(mean: float, rng: random.Random) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def login_outage(stage: str, start: datetime, customers: int, *, minutes: int = 60,
                 prefix: str = "out") -> list[dict[str, Any]]:
    """``customers`` different customers report the same login failure within ``minutes``."""
    step = minutes * 60 / customers
    return [ev(f"{prefix}-{i}", f"C-{prefix}{i}", start + timedelta(seconds=i * step),
               "I can't log in, the verification code never arrives",
               {"sentiment": -0.5, "friction": ["access"], "topic": "login code never arrives"},
               channel=("chat", "email", "social")[i % 3], journey_stage=stage)
            for i in range(customers)]
