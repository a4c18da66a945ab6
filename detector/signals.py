"""The per-event signal: what the classifier says about one interaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

INTENTS: tuple[str, ...] = ("none", "at_risk", "explicit")
FRICTION_CATEGORIES: tuple[str, ...] = (
    "billing",
    "service",
    "communication",
    "product",
    "delivery",
    "access",
    "usability",
    "policy",
    "integration",
)
#: What a signal's ``flags`` can hold: from the event (``detector.schema``) and from scoring
#: (``models.classifier``)
SIGNAL_FLAGS: tuple[str, ...] = (
    "stale", "future_clamped", "no_customer_turns", "text_truncated", "case_resolved",  # event
    "non_english", "nothing_to_read", "leaving_cue", "retraction",  # how it was read
    "bereavement", "spare_account", "joined", "wants_back", "account_detail", "implicit_leaving",
    "leaving_terms", "repeat_contact",
    "escalation_threat", "leaving_date", "downgrade", "recurring_problem", "auto_reply",
)


@dataclass(frozen=True, slots=True)
class Signal:
    """Classification of one event, plus what aggregation needs from the event."""

    event_id: str
    customer_id: str
    channel: str
    occurred_at: datetime
    churn_intent: str
    churn_probability: float
    intent_probabilities: dict[str, float]
    friction: dict[str, float]
    friction_categories: tuple[str, ...]
    sentiment: float
    journey_stage: str
    journey_stage_source: str
    text: str = ""
    rating: int | None = None
    language: str | None = None
    confidence: str = "normal"
    model_version: str = "unknown"
    flags: tuple[str, ...] = ()
    # the piece of the text the decision rests on (long texts and calls are scored in
    # pieces); empty: the whole text
    evidence: str = ""
    # per flag that a rule of the classifier set, the sentence it read ("recurring_problem":
    # "missing drinks again. Every time."): what the alert's reason for it quotes
    flag_quotes: dict[str, str] = field(default_factory=dict)
    embedding: tuple[float, ...] | None = field(default=None, compare=False)
    embedding_packed: str | None = field(default=None, compare=False)

    @property
    def evidence_text(self) -> str:
        """What an alert quotes: the strongest piece, else the whole text."""
        return self.evidence or self.text

    def packed_embedding(self) -> str | None:
        """The embedding as packed 4-bit codes (see ``detector.issues.pack``), if any."""
        if self.embedding_packed is None and self.embedding:
            from detector.issues import pack

            return pack(self.embedding)
        return self.embedding_packed

    def score_dict(self) -> dict[str, Any]:
        """The public ``score`` output for this event (see docs/alerts.md, score output)."""
        return {
            "event_id": self.event_id,
            "customer_id": self.customer_id,
            "channel": self.channel,
            "occurred_at": self.occurred_at.isoformat(),
            "churn_intent": self.churn_intent,
            "churn_probability": round(self.churn_probability, 4),
            "intent_probabilities": {k: round(v, 4) for k, v in self.intent_probabilities.items()},
            "friction": {k: round(v, 4) for k, v in self.friction.items()},
            "friction_categories": list(self.friction_categories),
            "sentiment": round(self.sentiment, 4),
            "journey_stage": self.journey_stage,
            "journey_stage_source": self.journey_stage_source,
            "confidence": self.confidence,
            "language": self.language,
            "evidence": self.evidence_text,
            "model_version": self.model_version,
            "flags": list(self.flags),
            "flag_quotes": dict(self.flag_quotes),
        }

    def to_wire(self) -> dict[str, Any]:
        """Full JSON form, used on the internal signals topic."""
        out = self.score_dict()
        out["text"] = self.text
        out["rating"] = self.rating
        out["language"] = self.language
        out["evidence"] = self.evidence
        out["embedding_packed"] = self.packed_embedding()
        return out

    @classmethod
    def from_wire(cls, obj: dict[str, Any]) -> Signal:
        return cls(
            event_id=obj["event_id"],
            customer_id=obj["customer_id"],
            channel=obj["channel"],
            occurred_at=datetime.fromisoformat(obj["occurred_at"]),
            churn_intent=obj["churn_intent"],
            churn_probability=float(obj["churn_probability"]),
            intent_probabilities=dict(obj.get("intent_probabilities") or {}),
            friction=dict(obj["friction"]),
            friction_categories=tuple(obj["friction_categories"]),
            sentiment=float(obj["sentiment"]),
            journey_stage=obj["journey_stage"],
            journey_stage_source=obj["journey_stage_source"],
            text=obj.get("text") or "",
            rating=obj.get("rating"),
            language=obj.get("language"),
            confidence=obj.get("confidence", "normal"),
            model_version=obj.get("model_version", "unknown"),
            flags=tuple(obj.get("flags") or ()),
            evidence=obj.get("evidence") or "",
            flag_quotes=_flag_quotes(obj.get("flag_quotes")),
            embedding_packed=obj.get("embedding_packed"),
        )


def _flag_quotes(value: Any) -> dict[str, str]:
    """A wire form's ``flag_quotes`` (absent before they were sent: none)."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError("flag_quotes must map flag names to sentences")
    return dict(value)
