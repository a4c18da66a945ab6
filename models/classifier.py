"""Signal classifier: logistic-regression heads over sentence embeddings of the taxonomy.

The taxonomy (``taxonomy.json``, replaceable) holds a description and seed examples per
label; heads are fitted on their embeddings when the classifier is built (a second or
two). Events are classified in micro-batches: one encoder call per batch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from detector.schema import Event
from detector.signals import FRICTION_CATEGORIES, INTENTS, Signal
from models.encoders import Encoder

DEFAULT_TAXONOMY = "taxonomy.json"


def load_taxonomy(path: str | Path | None = None) -> dict[str, Any]:
    """Load the taxonomy JSON (the bundled default when ``path`` is None)."""
    if path is None:
        text = resources.files("models").joinpath(DEFAULT_TAXONOMY).read_text("utf-8")
    else:
        text = Path(path).read_text("utf-8")
    taxonomy: dict[str, Any] = json.loads(text)
    for section in ("intents", "friction", "sentiment", "journey_stages"):
        if section not in taxonomy:
            raise ValueError(f"taxonomy lacks section {section!r}")
    missing = [i for i in INTENTS if i not in taxonomy["intents"]]
    missing += [c for c in FRICTION_CATEGORIES if c not in taxonomy["friction"]]
    if missing:
        raise ValueError(f"taxonomy lacks labels {missing}")
    return taxonomy


@dataclass(frozen=True)
class ClassifierConfig:
    regularisation: float = 4.0
    friction_threshold: float = 0.5
    rating_weight: float = 0.5


def _examples(spec: dict[str, Any], label: str) -> list[str]:
    entry = spec[label]
    rows = [entry.get("description", "")] + list(entry.get("examples", []))
    return [r for r in rows if r]


class _Head:
    """A logistic-regression head over sentence embeddings (multinomial or binary)."""

    def __init__(self, embeddings: np.ndarray, labels: Sequence[str], c: float) -> None:
        from sklearn.linear_model import LogisticRegression

        self.model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
        self.model.fit(embeddings, list(labels))
        self.classes = [str(x) for x in self.model.classes_]

    def proba(self, embeddings: np.ndarray, order: Sequence[str]) -> np.ndarray:
        p = self.model.predict_proba(embeddings)
        return np.asarray(p[:, [self.classes.index(label) for label in order]])


def _looks_non_english(event: Event, text: str) -> bool:
    if event.language:
        return not event.language.lower().startswith("en")
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return False
    ascii_share = sum(1 for c in letters if c.isascii()) / len(letters)
    return ascii_share < 0.6


class SimilarityClassifier:
    """Classifies events into churn intent, friction, sentiment and journey stage.

    Heads are logistic regressions trained, at start-up, on the embeddings of the
    taxonomy's descriptions and examples. Texts that illustrate other labels serve as
    negatives too: praise and neutral questions, and complaints without a leaving signal,
    are examples of ``none`` churn intent; praise and questions are examples of "no friction".
    """

    def __init__(
        self,
        encoder: Encoder,
        taxonomy: dict[str, Any] | None = None,
        config: ClassifierConfig | None = None,
    ) -> None:
        self.encoder = encoder
        self.taxonomy = taxonomy or load_taxonomy()
        self.config = config or ClassifierConfig()
        tx = self.taxonomy
        c = self.config.regularisation
        intents, fric, sent, stages = (
            tx["intents"], tx["friction"], tx["sentiment"], tx["journey_stages"]
        )
        calm = _examples(sent, "positive") + _examples(sent, "neutral")
        complaints = [t for cat in FRICTION_CATEGORIES for t in _examples(fric, cat)]

        rows: list[tuple[str, str]] = []  # (text, label) for the intent head
        for label in INTENTS:
            rows += [(t, label) for t in _examples(intents, label)]
        rows += [(t, "none") for t in calm + complaints]
        texts = sorted({t for t, _ in rows} | set(_examples(fric, "_none")) | set(
            t for label in sent for t in _examples(sent, label)) | set(
            t for label in stages for t in _examples(stages, label)))
        vectors = dict(zip(texts, encoder.encode(texts), strict=True))

        def fit(pairs: list[tuple[str, str]]) -> _Head:
            pairs = list(dict.fromkeys(pairs))
            return _Head(np.stack([vectors[t] for t, _ in pairs]), [y for _, y in pairs], c)

        self._intent = fit(rows)
        self._friction: dict[str, _Head] = {}
        no_friction = _examples(fric, "_none") + calm
        for cat in FRICTION_CATEGORIES:
            pos = _examples(fric, cat)
            neg = [t for t in complaints + no_friction if t not in set(pos)]
            self._friction[cat] = fit([(t, "yes") for t in pos] + [(t, "no") for t in neg])
        self._sentiment = fit(
            [(t, label) for label in ("negative", "neutral", "positive")
             for t in _examples(sent, label)]
        )
        self._stage_labels = list(stages)
        self._stage = fit([(t, label) for label in stages for t in _examples(stages, label)])
        digest = hashlib.sha256(json.dumps(tx, sort_keys=True).encode()).hexdigest()[:8]
        self.model_version = f"heads-{encoder.name}-{tx.get('version', 'custom')}-{digest}"

    def classify(self, events: Sequence[Event], keep_embeddings: bool = True) -> list[Signal]:
        """Classify a micro-batch of events with a single encoder call."""
        if not events:
            return []
        cfg = self.config
        texts = [e.customer_text for e in events]
        emb = self.encoder.encode(texts)
        intent_p = self._intent.proba(emb, INTENTS)
        fr_p = np.stack(
            [self._friction[c].proba(emb, ["yes"])[:, 0] for c in FRICTION_CATEGORIES], axis=1
        )
        sent_p = self._sentiment.proba(emb, ["negative", "neutral", "positive"])
        stage_p = self._stage.proba(emb, self._stage_labels)
        signals = []
        for i, event in enumerate(events):
            probs = {label: float(intent_p[i, j]) for j, label in enumerate(INTENTS)}
            intent = max(probs, key=lambda k: probs[k])
            friction = {c: float(fr_p[i, j]) for j, c in enumerate(FRICTION_CATEGORIES)}
            categories = tuple(
                c for c in FRICTION_CATEGORIES if friction[c] >= cfg.friction_threshold
            )
            sentiment = float(sent_p[i, 2] - sent_p[i, 0])
            if event.rating is not None:
                rating_sent = (event.rating - 3) / 2.0
                w = cfg.rating_weight
                sentiment = (1 - w) * sentiment + w * rating_sent
            if event.journey_stage:
                stage, source = event.journey_stage, "event"
            else:
                stage = self._stage_labels[int(np.argmax(stage_p[i]))]
                source = "inferred"
            non_english = _looks_non_english(event, texts[i])
            signals.append(
                Signal(
                    event_id=event.event_id,
                    customer_id=event.customer_id,
                    channel=event.channel,
                    occurred_at=event.occurred_at,
                    churn_intent=intent,
                    churn_probability=1.0 - probs["none"],
                    intent_probabilities=probs,
                    friction=friction,
                    friction_categories=categories,
                    sentiment=max(-1.0, min(1.0, sentiment)),
                    journey_stage=stage,
                    journey_stage_source=source,
                    text=texts[i],
                    rating=event.rating,
                    language=event.language,
                    confidence="low" if non_english else "normal",
                    model_version=self.model_version,
                    flags=event.flags + (("non_english",) if non_english else ()),
                    embedding=tuple(float(x) for x in emb[i]) if keep_embeddings else None,
                )
            )
        return signals
