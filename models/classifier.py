"""Signal classifiers: trained heads over sentence embeddings -> :class:`Signal`.

* :class:`HeadsClassifier`: one encoder + trained :class:`~models.heads.Heads` (loaded from
  artifacts, or fitted at start-up).
* :class:`SimilarityClassifier`: heads fitted at start-up on a taxonomy's examples (and,
  optionally, the seed set); used with the fast hashing encoder in tests and for custom
  taxonomies.
* :class:`models.cascade.CascadeClassifier`: static path for every event, transformer for
  the uncertain or risky ones.

Events are classified in micro-batches: one encoder call per batch (per path).
"""

from __future__ import annotations

import base64
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
from models.heads import Heads, fit_heads, friction_decisions
from models.language import is_english
from models.presence import FrictionPresence, decide_with_presence

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
    rating_weight: float = 0.5


@dataclass
class Scores:
    """Head outputs for a batch (probabilities), before they become signals."""

    intent: np.ndarray  # (n, 3) in INTENTS order
    intent_labels: list[str]
    friction: np.ndarray  # (n, 9) in FRICTION_CATEGORIES order
    friction_labels: list[tuple[str, ...]]
    sentiment: np.ndarray  # (n, 3) negative, neutral, positive
    stage: np.ndarray  # (n, 7)
    stage_labels: tuple[str, ...]


def score_embeddings(heads: Heads, emb: np.ndarray, texts: Sequence[str] | None = None,
                     lexical_rows: Any = None) -> Scores:
    """Run every head on a batch: embeddings ``emb`` of ``texts`` (the texts are required when
    the heads use lexical features, i.e. ``heads.lexical`` is set, unless ``lexical_rows``
    carries those features already, see :func:`shared_lexical`)."""
    z = heads.raw_logits(emb, texts, lexical_rows)
    pi = heads.intent.proba_from_logits(z["intent"])
    pf = heads.friction.proba_from_logits(z["friction"])
    return Scores(pi, heads.decide_intent(pi), pf, heads.decide_friction(pf),
                  heads.sentiment.proba_from_logits(z["sentiment"]),
                  heads.stage.proba_from_logits(z["stage"]), heads.stage.labels)


def make_signals(events: Sequence[Event], scores: Scores, emb: np.ndarray | None,
                 model_version: str, config: ClassifierConfig) -> list[Signal]:
    """Turn head outputs into signals (rating blend, stage source, language confidence)."""
    packed = pack_rows(emb) if emb is not None else None
    out = []
    for i, event in enumerate(events):
        text = event.customer_text
        probs = {label: float(scores.intent[i, j]) for j, label in enumerate(INTENTS)}
        friction = {c: float(scores.friction[i, j]) for j, c in enumerate(FRICTION_CATEGORIES)}
        sentiment = float(scores.sentiment[i, 2] - scores.sentiment[i, 0])
        if event.rating is not None:
            w = config.rating_weight
            sentiment = (1 - w) * sentiment + w * (event.rating - 3) / 2.0
        if event.journey_stage:
            stage, source = event.journey_stage, "event"
        else:
            stage, source = scores.stage_labels[int(np.argmax(scores.stage[i]))], "inferred"
        non_english = not is_english(text, event.language)
        out.append(Signal(
            event_id=event.event_id,
            customer_id=event.customer_id,
            channel=event.channel,
            occurred_at=event.occurred_at,
            churn_intent=scores.intent_labels[i],
            churn_probability=1.0 - probs["none"],
            intent_probabilities=probs,
            friction=friction,
            friction_categories=scores.friction_labels[i],
            sentiment=max(-1.0, min(1.0, sentiment)),
            journey_stage=stage,
            journey_stage_source=source,
            text=text,
            rating=event.rating,
            language=event.language,
            confidence="low" if non_english else "normal",
            model_version=model_version,
            flags=event.flags + (("non_english",) if non_english else ()),
            embedding_packed=packed[i] if packed is not None else None,
        ))
    return out


def pack_rows(emb: np.ndarray) -> list[str]:
    """Each row as base64 of its 4-bit codes, byte for byte ``detector.issues.pack``."""
    top = np.abs(emb).max(axis=1, keepdims=True).astype(np.float64)
    top[top == 0] = 1.0
    q = np.clip(np.rint(emb.astype(np.float64) / top * 7.0), -7, 7).astype(np.int16) + 8
    if q.shape[1] % 2:
        q = np.concatenate([q, np.full((q.shape[0], 1), 8, dtype=q.dtype)], axis=1)
    raw = ((q[:, 0::2] << 4) | q[:, 1::2]).astype(np.uint8)
    return [base64.b64encode(row.tobytes()).decode("ascii") for row in raw]


class HeadsClassifier:
    """Classifies events with one encoder and trained heads."""

    def __init__(self, encoder: Encoder, heads: Heads, config: ClassifierConfig | None = None,
                 path_name: str = "transformer") -> None:
        self.encoder = encoder
        self.heads = heads
        self.config = config or ClassifierConfig()
        self.model_version = heads.version
        self.path_name = path_name
        self.last_encoder_paths: dict[str, int] = {}

    def classify(self, events: Sequence[Event], keep_embeddings: bool = True) -> list[Signal]:
        """Classify a micro-batch of events with a single encoder call."""
        if not events:
            return []
        texts = [e.customer_text for e in events]
        emb = self.encoder.encode(texts)
        self.last_encoder_paths = {self.path_name: len(events)}
        return make_signals(events, score_embeddings(self.heads, emb, texts),
                            emb if keep_embeddings else None, self.model_version, self.config)


def shared_lexical(texts: Sequence[str], *heads: Heads) -> dict[Any, Any]:
    """The texts' lexical features for each config the ``heads`` read (``heads.lexical``),
    keyed by config; the grams are hashed once for all of them. Pass
    ``lexical_rows_for(rows, h)`` to :func:`score_embeddings`."""
    from models.features import lexical_features_by_config

    configs = [h.lexical for h in heads if h.lexical is not None]
    return lexical_features_by_config(texts, configs) if configs else {}


def lexical_rows_for(rows: dict[Any, Any], heads: Heads) -> Any:
    """``heads``' lexical rows from :func:`shared_lexical`'s result (None: none needed)."""
    return rows.get(heads.lexical) if heads.lexical is not None else None


STATIC_INTENT_WEIGHT = 0.7  # the static heads' share of the hybrid's churn intent
STATIC_FRICTION_SCALE = 0.8  # the hybrid decides friction at this share of the thresholds


def hybrid_scores(native: Scores, tuned: Scores, static_heads: Heads,
                  friction_thresholds: np.ndarray, presence: FrictionPresence | None = None,
                  tuned_emb: np.ndarray | None = None) -> Scores:
    """The ``static`` path's result: friction, sentiment and stage from the transformer's
    heads reading the tuned static embedding (which generalise much better on those);
    churn intent from a weighted mean of both opinions' calibrated probabilities
    (``STATIC_INTENT_WEIGHT`` for the static heads), decided by the static heads'
    thresholds. Friction categories are decided at ``STATIC_FRICTION_SCALE`` times the
    transformer's thresholds (``friction_thresholds``): the tuned embedding is a mean of
    token vectors, smoother than MiniLM's, and its friction probabilities run lower on
    unfamiliar text. Both settings were chosen leave-one-dataset-out (docs/models.md).
    With a ``presence`` model (and the tuned embeddings ``tuned_emb``), whether there is
    friction at all is decided first (:mod:`models.presence`)."""
    w = STATIC_INTENT_WEIGHT
    intent = w * native.intent + (1.0 - w) * tuned.intent
    thresholds = np.asarray(friction_thresholds, np.float64) * STATIC_FRICTION_SCALE
    friction = tuned.friction
    if presence is None:
        labels = friction_decisions(friction, FRICTION_CATEGORIES, thresholds)
    else:
        if tuned_emb is None:
            raise ValueError("the presence model reads the tuned embeddings: pass tuned_emb")
        p = presence.probability(tuned_emb, friction, tuned.sentiment, thresholds)
        friction, labels = decide_with_presence(friction, thresholds, p)
    return Scores(intent, static_heads.decide_intent(intent), friction, labels,
                  tuned.sentiment, tuned.stage, tuned.stage_labels)


def check_presence(presence: FrictionPresence | None, strong_heads: Heads) -> None:
    """Refuse a presence model whose gate reads another embedding space than the heads."""
    if presence is not None and presence.encoder != strong_heads.encoder:
        raise ValueError(f"the friction presence model reads {presence.encoder} embeddings; "
                         f"the transformer heads read {strong_heads.encoder}")


@dataclass
class StaticPass:
    """One batch through the static path."""

    native: Scores  # the static heads on the distilled embedding
    scores: Scores  # the path's result: the hybrid with a tuned encoder, else ``native``
    emb: np.ndarray  # the distilled embeddings
    carried: np.ndarray  # what signals carry: the tuned embeddings, else ``emb``
    lexical: dict[Any, Any]  # the texts' lexical features per config (see shared_lexical)
    uncapped: np.ndarray | None = None  # the tuned path's friction before any presence cap


def static_pass(texts: Sequence[str], encoder: Encoder, heads: Heads,
                tuned_encoder: Encoder | None = None, strong_heads: Heads | None = None,
                presence: FrictionPresence | None = None) -> StaticPass:
    """Score ``texts`` on the static path: the static heads on the distilled embedding and,
    with a tuned encoder, the transformer's heads on the tuned one (:func:`hybrid_scores`,
    with the friction ``presence`` model when there is one); lexical features are computed
    once for both sets of heads."""
    emb = encoder.encode(texts)
    lex = shared_lexical(texts, heads, *([strong_heads] if strong_heads is not None else []))
    native = score_embeddings(heads, emb, texts, lexical_rows_for(lex, heads))
    if tuned_encoder is None or strong_heads is None:
        return StaticPass(native, native, emb, emb, lex)
    tuned = tuned_encoder.encode(texts)
    strong = score_embeddings(strong_heads, tuned, texts, lexical_rows_for(lex, strong_heads))
    return StaticPass(native, hybrid_scores(native, strong, heads,
                                            strong_heads.friction.thresholds, presence, tuned),
                      emb, tuned, lex, strong.friction)


class StaticClassifier:
    """The ``static`` path with a tuned static encoder (see ``models.tokentune``): two token
    lookups per text, no transformer. Signals carry the tuned embedding (MiniLM's space)."""

    def __init__(self, encoder: Encoder, heads: Heads, tuned_encoder: Encoder,
                 strong_heads: Heads, config: ClassifierConfig | None = None,
                 presence: FrictionPresence | None = None) -> None:
        self.encoder, self.heads = encoder, heads
        self.tuned_encoder, self.strong_heads = tuned_encoder, strong_heads
        check_presence(presence, strong_heads)
        self.presence = presence
        self.config = config or ClassifierConfig()
        self.model_version = (f"{heads.version}+{tuned_encoder.name}+{strong_heads.version}"
                              + (f"+{presence.version}" if presence is not None else ""))
        self.last_encoder_paths: dict[str, int] = {}

    def classify(self, events: Sequence[Event], keep_embeddings: bool = True) -> list[Signal]:
        """Classify a micro-batch with one call of each static encoder."""
        if not events:
            return []
        done = static_pass([e.customer_text for e in events], self.encoder, self.heads,
                           self.tuned_encoder, self.strong_heads, self.presence)
        self.last_encoder_paths = {"static": len(events)}
        return make_signals(events, done.scores, done.carried if keep_embeddings else None,
                            self.model_version, self.config)


class SimilarityClassifier(HeadsClassifier):
    """Heads fitted at start-up on the taxonomy's examples (plus ``extra`` labelled rows).

    Used with the hashing encoder (fast tests) and with custom taxonomies that have no
    trained artifacts.
    """

    def __init__(self, encoder: Encoder, taxonomy: dict[str, Any] | None = None,
                 config: ClassifierConfig | None = None, extra: Sequence[Any] = ()) -> None:
        import hashlib

        from models.train import taxonomy_examples

        self.taxonomy = taxonomy or load_taxonomy()
        rows = taxonomy_examples(self.taxonomy) + list(extra)
        x = encoder.encode([e.text for e in rows])
        heads = fit_heads(x, rows, encoder.name)
        digest = hashlib.sha256(json.dumps(self.taxonomy, sort_keys=True).encode()
                                ).hexdigest()[:8]
        heads.meta["version"] = (f"heads-{encoder.name}-{self.taxonomy.get('version', 'custom')}"
                                 f"-{digest}")
        super().__init__(encoder, heads, config, path_name="static")
