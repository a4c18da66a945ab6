"""The cascade: the static path scores every event; the transformer re-scores the ones the
static path is unsure of.

An event is routed when the static path's friction presence probability lies within
``band`` of its threshold, or its churn probability is at least ``churn``
(:class:`models.recipe.CascadeRule`, declared in the manifest). The transformer's scores
replace the static ones for routed events; every signal carries the static embedding, so
one customer's signals stay comparable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from detector.schema import Event
from detector.signals import INTENTS, Signal
from models.classifier import RecipeClassifier
from models.heads import Heads
from models.recipe import CascadeRule, PooledScores


def route_mask(scores: PooledScores, heads: Heads, rule: CascadeRule) -> np.ndarray:
    """Which events the transformer should re-score."""
    churn = 1.0 - scores.intent[:, INTENTS.index("none")]
    unsure = np.abs(scores.presence - heads.presence.threshold) < rule.band
    return np.asarray((churn >= rule.churn) | unsure, dtype=bool)


def merge(first: PooledScores, strong: PooledScores, mask: np.ndarray) -> PooledScores:
    """``first`` with the rows of ``mask`` taken from ``strong`` (scored on those rows only),
    keeping ``first``'s embeddings and ``unread`` (which depends on the text alone)."""
    idx = np.flatnonzero(mask)
    out = replace(first, intent=first.intent.copy(), friction=first.friction.copy(),
                  sentiment=first.sentiment.copy(), stage=first.stage.copy(),
                  intent_labels=list(first.intent_labels),
                  friction_labels=list(first.friction_labels), evidence=list(first.evidence),
                  presence=first.presence.copy())
    for k, i in enumerate(idx):
        out.intent[i], out.friction[i] = strong.intent[k], strong.friction[k]
        out.sentiment[i], out.stage[i] = strong.sentiment[k], strong.stage[k]
        out.intent_labels[i] = strong.intent_labels[k]
        out.friction_labels[i] = strong.friction_labels[k]
        out.evidence[i] = strong.evidence[k]
        out.presence[i] = strong.presence[k]
    return out


class CascadeClassifier:
    """Static path for every event, the transformer for the uncertain or risky ones."""

    def __init__(self, static: RecipeClassifier, strong: RecipeClassifier,
                 rule: CascadeRule) -> None:
        self.static, self.strong, self.rule = static, strong, rule
        self.model_version = f"{static.model_version}+{strong.model_version}"
        self.last_encoder_paths: dict[str, int] = {}
        self.seen = 0
        self.routed = 0

    def score(self, events: Sequence[Event]) -> tuple[PooledScores, np.ndarray]:
        """The merged scores of a batch and which events went to the transformer."""
        first = self.static.score(events)
        mask = route_mask(first, self.static.heads, self.rule)
        if not mask.any():
            return first, mask
        strong = self.strong.score([events[int(i)] for i in np.flatnonzero(mask)])
        return merge(first, strong, mask), mask

    def classify(self, events: Sequence[Event], keep_embeddings: bool = True) -> list[Signal]:
        if not events:
            return []
        scores, mask = self.score(events)
        routed = int(mask.sum())
        self.seen += len(events)
        self.routed += routed
        self.last_encoder_paths = {"static": len(events) - routed, "transformer": routed}
        signals = self.static.signals(events, scores, keep_embeddings)
        return [replace(s, model_version=self.model_version) for s in signals]
