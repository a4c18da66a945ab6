"""The ``cascade`` encoder path: static model for every event, transformer for some.

The static path (model2vec, ~100x faster) scores every event. An event goes through the
transformer too when its static result is *risky* (churn probability >= ``churn``) or
*uncertain* (top intent probability < ``confidence``, a friction probability within
``band`` of its category threshold or at least ``friction_watch`` times it, top sentiment
probability < ``sentiment_confidence``). The transformer's result replaces the static one for
those events. Signals carry the static embedding for every event (one embedding space).

With a :class:`~models.projection.Projection` the router has a second cheap opinion: the
transformer's heads read the static embedding mapped into the transformer's space, and an
event whose intent decision or friction categories differ between the two opinions is
routed as well, and so is an event that opinion finds risky (the static heads' errors on
unfamiliar text are confident, so the probability rule alone misses them).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import Any

import numpy as np

from detector.schema import Event
from detector.signals import Signal
from models.classifier import (
    ClassifierConfig,
    Scores,
    check_presence,
    lexical_rows_for,
    make_signals,
    score_embeddings,
    static_pass,
)
from models.encoders import Encoder
from models.heads import Heads
from models.presence import FrictionPresence
from models.projection import Projection


@dataclass(frozen=True)
class CascadeThresholds:
    """When the static result is not trusted on its own."""

    churn: float = 0.2
    confidence: float = 0.8
    band: float = 0.15
    # Chosen on the evaluation folds (the cheapest watch within 1 point of the transformer on
    # every held-out set), not on the in-domain validation split, where the static path
    # agrees with the transformer far more than on unfamiliar text (docs/models.md):
    friction_watch: float = 0.4  # any friction probability >= this x its threshold
    sentiment_confidence: float = 0.7  # top sentiment probability below this

    @classmethod
    def load(cls, path: Path) -> CascadeThresholds:
        return cls(**json.loads(path.read_text("utf-8"))["thresholds"])

    def save(self, path: Path, extra: dict[str, Any] | None = None) -> None:
        path.write_text(json.dumps({"thresholds": asdict(self), **(extra or {})}, indent=2,
                                   sort_keys=True) + "\n")


def route_mask(static: Scores, friction_thresholds: np.ndarray, t: CascadeThresholds
               ) -> np.ndarray:
    """True for the events the transformer must see."""
    risky = (1.0 - static.intent[:, 0]) >= t.churn
    unsure = static.intent.max(axis=1) < t.confidence
    near = (np.abs(static.friction - friction_thresholds[None, :]) < t.band).any(axis=1)
    return np.asarray(risky | unsure | near)


def watch_mask(first: Scores, friction_thresholds: np.ndarray, t: CascadeThresholds,
               second: Scores | None = None) -> np.ndarray:
    """True where friction may be present (a probability of the first pass, or of the second
    opinion, at or above ``friction_watch`` times its category threshold) or the sentiment is
    unsure (top probability below ``sentiment_confidence``, or the second opinion reads
    another sentiment). On unfamiliar text most of the static path's friction and sentiment
    errors sit there, with probabilities too low to come near the thresholds."""
    cut = np.asarray(friction_thresholds)[None, :] * t.friction_watch
    mask = (first.friction >= cut).any(axis=1) | (first.sentiment.max(axis=1)
                                                   < t.sentiment_confidence)
    if second is not None:
        mask |= (second.friction >= cut).any(axis=1)
        mask |= first.sentiment.argmax(axis=1) != second.sentiment.argmax(axis=1)
    return np.asarray(mask)


def disagreement(static: Scores, second: Scores) -> np.ndarray:
    """True where two opinions differ on the intent decision or the friction categories."""
    return np.array([a != b or set(fa) != set(fb) for a, b, fa, fb in zip(
        static.intent_labels, second.intent_labels, static.friction_labels,
        second.friction_labels, strict=True)], dtype=bool)


def second_opinion_mask(static: Scores, second: Scores, t: CascadeThresholds) -> np.ndarray:
    """True where the second (projected) opinion disagrees with the static heads, or finds
    the event risky (churn probability >= ``churn``) on its own."""
    return disagreement(static, second) | ((1.0 - second.intent[:, 0]) >= t.churn)


def routing_view(first: Scores, native: Scores) -> Scores:
    """What the router reads: the first pass's scores with the static heads' own churn intent
    (the hybrid's averaged intent is a better answer but a worse alarm: its errors are the
    confident ones the transformer should see)."""
    return dc_replace(first, intent=native.intent, intent_labels=list(native.intent_labels))


def route(native: Scores, first: Scores, friction_thresholds: np.ndarray,
          t: CascadeThresholds, second: Scores | None = None,
          uncapped: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The events the transformer must see, and those the probability rule alone picks:
    the rule reads the first pass (``first``, with the static heads' own intent, see
    :func:`routing_view`), the second opinion (when there is one) adds its disputes, and
    :func:`watch_mask` the events with possible friction or an unsure sentiment. The watch
    reads the first pass's friction probabilities before the presence cap (``uncapped``,
    see ``models.presence``) when given: an event whose categories the presence model
    doubts is one the transformer should check."""
    view = routing_view(first, native)
    rule = route_mask(view, friction_thresholds, t)
    watched = first if uncapped is None else dc_replace(first, friction=uncapped)
    watch = watch_mask(watched, friction_thresholds, t, second)
    if second is None:
        return rule | watch, rule
    return rule | watch | second_opinion_mask(view, second, t), rule


def merge(static: Scores, strong: Scores, mask: np.ndarray) -> Scores:
    """Static scores with the routed rows replaced by the transformer's."""
    idx = np.flatnonzero(mask)
    out = Scores(static.intent.copy(), list(static.intent_labels), static.friction.copy(),
                 list(static.friction_labels), static.sentiment.copy(), static.stage.copy(),
                 static.stage_labels)
    for k, i in enumerate(idx):
        out.intent[i], out.friction[i] = strong.intent[k], strong.friction[k]
        out.sentiment[i], out.stage[i] = strong.sentiment[k], strong.stage[k]
        out.intent_labels[i], out.friction_labels[i] = (strong.intent_labels[k],
                                                        strong.friction_labels[k])
    return out


class CascadeClassifier:
    """The static path for all events (with a ``tuned_encoder``, its hybrid result; see
    :class:`~models.classifier.StaticClassifier`); the transformer for the uncertain or risky
    ones and those the second opinion disputes."""

    def __init__(self, static_encoder: Encoder, static_heads: Heads, strong_encoder: Encoder,
                 strong_heads: Heads, thresholds: CascadeThresholds | None = None,
                 config: ClassifierConfig | None = None,
                 projection: Projection | None = None,
                 tuned_encoder: Encoder | None = None,
                 presence: FrictionPresence | None = None) -> None:
        self.static_encoder, self.static_heads = static_encoder, static_heads
        self.tuned_encoder = tuned_encoder
        self.presence = presence if tuned_encoder is not None else None
        check_presence(self.presence, strong_heads)
        self.strong_encoder, self.strong_heads = strong_encoder, strong_heads
        self.thresholds = thresholds or CascadeThresholds()
        if projection is not None and (projection.source, projection.target) != (
                static_encoder.name, strong_heads.encoder):
            raise ValueError(f"the projection maps {projection.source} -> {projection.target}; "
                             f"this cascade is {static_encoder.name} -> {strong_heads.encoder}")
        self.projection = projection
        self.config = config or ClassifierConfig()
        tuned = f"+{tuned_encoder.name}" if tuned_encoder is not None else ""
        if self.presence is not None:
            tuned += f"+{self.presence.version}"
        self.model_version = f"cascade:{static_heads.version}{tuned}+{strong_heads.version}"
        self.last_encoder_paths: dict[str, int] = {}
        self.routed = 0
        self.seen = 0

    def classify(self, events: Sequence[Event], keep_embeddings: bool = True) -> list[Signal]:
        """Classify a micro-batch: one static encoder call, at most one transformer call."""
        if not events:
            return []
        texts = [e.customer_text for e in events]
        done = static_pass(texts, self.static_encoder, self.static_heads, self.tuned_encoder,
                           self.strong_heads, self.presence)
        scores = done.scores
        lex = lexical_rows_for(done.lexical, self.strong_heads)
        second = None if self.projection is None else score_embeddings(
            self.strong_heads, self.projection.apply(done.emb), texts, lex)
        heads = self.static_heads if self.tuned_encoder is None else self.strong_heads
        mask, _ = route(done.native, scores, heads.friction.thresholds, self.thresholds, second,
                        done.uncapped)
        n = int(mask.sum())
        if n:
            routed = [t for t, m in zip(texts, mask, strict=True) if m]
            strong = self.strong_encoder.encode(routed)
            scores = merge(scores, score_embeddings(
                self.strong_heads, strong, routed, lex[mask] if lex is not None else None),
                mask)
        self.seen += len(events)
        self.routed += n
        self.last_encoder_paths = {"static": len(events), "transformer": n}
        return make_signals(events, scores, done.carried if keep_embeddings else None,
                            self.model_version, self.config)
