"""Shared fixtures: a deterministic fake encoder and a small taxonomy for fast tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from detector.signals import FRICTION_CATEGORIES, INTENTS, Signal

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def make_signal(
    event_id: str,
    customer_id: str = "C-1",
    *,
    hours: float = 0.0,
    intent: str = "none",
    p: float | None = None,
    friction: tuple[str, ...] = (),
    sentiment: float = 0.3,
    channel: str = "chat",
    stage: str = "usage",
    rating: int | None = None,
    text: str = "hello",
    embedding: tuple[float, ...] | None = None,
) -> Signal:
    """A hand-made signal (no model involved) for rule tests."""
    p = 0.9 if p is None else p
    probs = {i: (p if i == intent else (1 - p) / 2) for i in INTENTS}
    fr = {c: (0.9 if c in friction else 0.05) for c in FRICTION_CATEGORIES}
    return Signal(
        event_id=event_id,
        customer_id=customer_id,
        channel=channel,
        occurred_at=T0 + timedelta(hours=hours),
        churn_intent=intent,
        churn_probability=1 - probs["none"],
        intent_probabilities=probs,
        friction=fr,
        friction_categories=friction,
        sentiment=sentiment,
        journey_stage=stage,
        journey_stage_source="event",
        text=text,
        rating=rating,
        model_version="test",
        embedding=embedding,
    )


SMALL_TAXONOMY: dict[str, Any] = {
    "version": "test-1",
    "intents": {
        "none": {
            "description": "a normal message with no wish to leave",
            "examples": [
                "thanks for the help",
                "where is my parcel",
                "great service love it",
                "how do I change my address",
                "cancel my order please",
            ],
        },
        "at_risk": {
            "description": "considering leaving for a competitor",
            "examples": [
                "thinking about switching to another provider",
                "what is the termination fee",
                "this is the last straw",
                "competitors offer better prices i may move",
            ],
        },
        "explicit": {
            "description": "asks to cancel or close the account or subscription",
            "examples": [
                "please cancel my subscription",
                "close my account now",
                "i want to cancel my account i am leaving",
                "delete my account i switched provider",
            ],
        },
    },
    "friction": {
        "billing": {
            "description": "charges fees refunds",
            "examples": [
                "charged twice on my bill",
                "refund still not received",
                "wrong invoice amount",
            ],
        },
        "service": {
            "description": "support is slow or rude",
            "examples": ["support never answered", "waited two hours on hold", "agent was rude"],
        },
        "communication": {
            "description": "unclear communication",
            "examples": ["nobody told me about the change", "emails are confusing"],
        },
        "product": {
            "description": "product defects",
            "examples": ["the app keeps crashing", "internet outage again", "broken feature"],
        },
        "delivery": {
            "description": "late or lost shipments",
            "examples": [
                "parcel arrived late",
                "my package was lost",
                "technician missed appointment",
            ],
        },
        "access": {
            "description": "login problems",
            "examples": ["cannot log in", "account locked", "password reset does not work"],
        },
        "usability": {
            "description": "confusing app",
            "examples": ["cannot find the settings", "checkout is confusing"],
        },
        "policy": {
            "description": "unfair rules",
            "examples": ["return policy is unfair", "termination fee is a rip off"],
        },
        "integration": {
            "description": "repeat myself across channels",
            "examples": ["i had to explain again to every agent", "bounced between departments"],
        },
        "_none": {
            "description": "no problem",
            "examples": [
                "thanks for the help",
                "great service love it",
                "all good",
                "how do I change my address",
            ],
        },
    },
    "sentiment": {
        "positive": {
            "description": "happy",
            "examples": ["great service love it", "thanks so much"],
        },
        "neutral": {"description": "neutral", "examples": ["how do I change my address", "ok"]},
        "negative": {
            "description": "angry",
            "examples": ["terrible awful service", "i am furious"],
        },
    },
    "journey_stages": {
        "awareness": {"description": "learning about the product", "examples": ["saw your ad"]},
        "purchase": {"description": "buying", "examples": ["checkout order buy"]},
        "onboarding": {"description": "setting up", "examples": ["setup activation install"]},
        "usage": {"description": "using the product", "examples": ["the app keeps crashing"]},
        "support": {"description": "contacting support", "examples": ["support agent ticket"]},
        "billing": {"description": "bills and payments", "examples": ["charged twice on my bill"]},
        "renewal": {"description": "renewing or ending", "examples": ["contract renewal ends"]},
    },
}


@pytest.fixture
def small_taxonomy() -> dict[str, Any]:
    return SMALL_TAXONOMY


@pytest.fixture
def fake_classifier(small_taxonomy: dict[str, Any]) -> Any:
    from models.classifier import SimilarityClassifier
    from models.encoders import HashingEncoder

    return SimilarityClassifier(HashingEncoder(), small_taxonomy)


@pytest.fixture
def poisoned_classifier(monkeypatch: pytest.MonkeyPatch) -> None:
    """The label-trusting classifier raises on any batch holding a text with "poison"."""
    from models.labelled import LabelledClassifier

    real = LabelledClassifier.classify

    def picky(self: Any, events: Any) -> Any:
        if any("poison" in e.text for e in events):
            raise RuntimeError("tokenizer failed")
        return real(self, events)

    monkeypatch.setattr(LabelledClassifier, "classify", picky)
