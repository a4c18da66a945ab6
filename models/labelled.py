"""A classifier that trusts labels already carried by the events (``metadata.labels``).

For backtesting alert rules on human-labelled history, and for scenario tests that must
not depend on model quality: ``CHURN_CLASSIFIER=labels``. An event's labels look like
``{"churn_intent": "at_risk", "churn_probability": 0.9, "friction": ["billing"],
"sentiment": -0.6, "topic": "double charge"}``; anything missing means "no signal".
The topic (or the text) is embedded with the hashing encoder so that repeated issues
can be matched.
"""

from __future__ import annotations

from collections.abc import Sequence

from detector.schema import Event
from detector.signals import FRICTION_CATEGORIES, INTENTS, Signal
from models.classifier import pack_rows
from models.encoders import HashingEncoder


class LabelledClassifier:
    """Signals straight from ``metadata.labels``; no model involved."""

    model_version = "labels-1"

    def __init__(self) -> None:
        self._encoder = HashingEncoder(dim=64)

    def classify(self, events: Sequence[Event]) -> list[Signal]:
        labels = [dict(e.metadata.get("labels") or {}) for e in events]
        topics = [str(lb.get("topic") or e.customer_text) for lb, e in zip(labels, events,
                                                                         strict=True)]
        vectors = self._encoder.encode(topics)
        out = []
        for event, lb, packed in zip(events, labels, pack_rows(vectors), strict=True):
            intent = lb.get("churn_intent", "none")
            if intent not in INTENTS:
                intent = "none"
            p = float(lb.get("churn_probability", 0.95 if intent != "none" else 0.02))
            probs = {i: 0.0 for i in INTENTS}
            probs[intent] = p if intent != "none" else 1.0 - p
            rest = [i for i in INTENTS if i != intent]
            for i in rest:
                probs[i] = (1.0 - probs[intent]) / len(rest)
            cats = tuple(c for c in FRICTION_CATEGORIES if c in (lb.get("friction") or []))
            friction = {c: (0.95 if c in cats else 0.02) for c in FRICTION_CATEGORIES}
            sentiment = float(lb.get("sentiment", 0.0))
            if event.journey_stage:
                stage, source = event.journey_stage, "event"
            else:
                stage, source = str(lb.get("journey_stage", "usage")), "inferred"
            out.append(
                Signal(
                    event_id=event.event_id,
                    customer_id=event.customer_id,
                    channel=event.channel,
                    occurred_at=event.occurred_at,
                    churn_intent=intent,
                    churn_probability=1.0 - probs["none"],
                    intent_probabilities=probs,
                    friction=friction,
                    friction_categories=cats,
                    sentiment=max(-1.0, min(1.0, sentiment)),
                    journey_stage=stage,
                    journey_stage_source=source,
                    text=event.customer_text,
                    rating=event.rating,
                    language=event.language,
                    model_version=self.model_version,
                    flags=event.flags,
                    embedding_packed=packed,
                )
            )
        return out
