"""The events whose scores are pinned in ``fixtures/scoring_pins.json`` and how a signal is
summarised there (shared by the test and by the script that records the fixture).

Record again (only when the committed artifacts change on purpose) with
``python -m tests.models.scoring_pins``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from detector.schema import Event
from detector.signals import FRICTION_CATEGORIES, INTENTS, Signal

FIXTURE = Path(__file__).parent / "fixtures" / "scoring_pins.json"
PATHS = ("static", "transformer")


def pinned_events() -> list[Event]:
    """Seed rows, multilingual leaving requests and bench-mix events (calls with turns,
    long letters, repeats): every branch of piece splitting, pooling and the cue lists."""
    from bench.ceilings import parse_all
    from bench.generator import EventMix, MixConfig
    from models.datasets import load_seed

    at = datetime(2026, 11, 2, tzinfo=UTC)
    seed = load_seed()[::20]
    multi = [json.loads(line) for line in
             (Path(__file__).parent / "fixtures" / "leaving_multilingual.jsonl")
             .read_text("utf-8").splitlines() if line.strip()][::12]
    events = [Event(event_id=f"s{i}", customer_id="C-s", channel="chat", occurred_at=at,
                    text=row.text) for i, row in enumerate(seed)]
    events += [Event(event_id=f"m{i}", customer_id="C-m", channel="email", occurred_at=at,
                     text=row["text"], language=row["lang"] if i % 2 else None)
               for i, row in enumerate(multi)]
    bench = EventMix(MixConfig(customers=50, seed=11)).events(48)
    return events + parse_all(bench)


def _short(x: float) -> float:
    return float(f"{x:.7g}")


def summary(signal: Signal) -> dict[str, Any]:
    """What the pin compares: every score (7 significant digits), decision, flag, the
    evidence and the rules' sentences."""
    return {
        "event_id": signal.event_id,
        "churn_intent": signal.churn_intent,
        "churn_probability": _short(signal.churn_probability),
        "intent_probabilities": [_short(signal.intent_probabilities[k]) for k in INTENTS],
        "friction": [_short(signal.friction[c]) for c in FRICTION_CATEGORIES],
        "friction_categories": list(signal.friction_categories),
        "sentiment": _short(signal.sentiment),
        "journey_stage": signal.journey_stage,
        "journey_stage_source": signal.journey_stage_source,
        "language": signal.language,
        "confidence": signal.confidence,
        "flags": list(signal.flags),
        # the evidence piece and the rules' sentences by their digests (the texts themselves
        # would bloat the fixture)
        "evidence": _digest(signal.evidence) if signal.evidence else "",
        "flag_quotes": {flag: _digest(said) for flag, said in signal.flag_quotes.items()},
    }


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def record() -> None:
    from models import build_classifier

    events = pinned_events()
    out: dict[str, Any] = {}
    for path in PATHS:
        clf = build_classifier(path, cache_size=0)
        out[path] = [summary(s) for s in clf.classify(events)]
    lines = {path: ",\n  ".join(json.dumps(row, sort_keys=True) for row in rows)
             for path, rows in out.items()}
    FIXTURE.write_text("{\n" + ",\n".join(f' "{path}": [\n  {body}\n ]'
                                           for path, body in lines.items()) + "\n}\n", "utf-8")


if __name__ == "__main__":
    record()
