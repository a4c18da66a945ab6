"""Friction presence for the ``static`` path: does the text report a problem at all?

The static path's friction heads answer one question per category ("is this billing
friction?") on a mean of token vectors, which cannot tell a topic from a problem: "can I pay
my invoice by bank transfer?" and, with CLINC150 held out, "transfer $100 from my checking to
saving account" carry the words of billing complaints and were read as billing friction.
Deciding *whether* there is friction before *which* works better on that representation
(numbers in docs/models.md):

- a *gate*: one logistic regression on the tuned static embedding, "any friction" vs none,
  fitted on every category's rows at once (a problem word such as "declined", "lost",
  "never arrived" counts for all of them, a topic word for none);
- a *presence* model: a logistic regression over three numbers per text, fitted on the
  validation split (rows the heads and the gate did not train on): the largest friction
  probability over its decision threshold (log), the negative-sentiment probability (logit)
  and the gate's logit.

A text whose presence probability is at least 0.5 gets its categories over their
thresholds, or the single most likely one (relative to its threshold) when none is over;
below 0.5 it gets none. Each category's probability is capped at the presence probability
(a category implies friction), which also calibrates them on unfamiliar text.

Artifact: ``presence.safetensors`` (gate weights as float16, the rest float32) +
``presence.json`` (encoder name, feature names, training rows, sha256). No pickle; a file
whose sha256 differs from the metadata is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from detector.signals import FRICTION_CATEGORIES
from models.datasets import Example
from models.heads import (
    ArtifactError,
    TrainConfig,
    _f16,
    _fit_lr,
    _sigmoid,
    friction_decisions,
    read_checked,
    row_weights,
    write_checked,
)

PRESENCE_FILE = "presence.safetensors"
PRESENCE_META = "presence.json"
FORMAT = "churn-presence/1"
FEATURES = ("log_max_friction_over_threshold", "logit_negative_sentiment", "gate_logit")
_EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, np.float64), _EPS, 1 - _EPS)
    return np.asarray(np.log(q / (1 - q)))


@dataclass
class FrictionPresence:
    """Gate + presence model (see the module docstring)."""

    gate_coef: np.ndarray  # (d,) over the tuned embedding, float16 values
    gate_bias: float
    weights: np.ndarray  # (3,) over FEATURES
    bias: float
    encoder: str  # the space of the embeddings the gate reads (the transformer the tuned
    # static table maps into: any table tuned towards it, adapted ones too)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        sha = self.meta.get("files", {}).get(PRESENCE_FILE, {}).get("sha256", "unsaved")
        return f"presence-{sha[:10]}"

    def features(self, emb: np.ndarray, friction: np.ndarray, sentiment: np.ndarray,
                 thresholds: np.ndarray) -> np.ndarray:
        """(n, 3) inputs of the presence model for embeddings ``emb`` and the friction and
        sentiment probabilities the heads gave them (``thresholds``: the decision ones)."""
        if emb.shape[1] != self.gate_coef.shape[0]:
            raise ValueError(f"the presence gate takes {self.gate_coef.shape[0]}-d embeddings; "
                             f"got {emb.shape[1]}")
        ratio = np.asarray(friction, np.float64) / np.asarray(thresholds, np.float64)[None, :]
        gate = np.asarray(emb, np.float64) @ self.gate_coef + self.gate_bias
        return np.stack([np.log(np.maximum(ratio.max(axis=1), _EPS)),
                         _logit(np.asarray(sentiment)[:, 0]), gate], axis=1)

    def probability(self, emb: np.ndarray, friction: np.ndarray, sentiment: np.ndarray,
                    thresholds: np.ndarray) -> np.ndarray:
        """P(the text reports any friction), shape (n,)."""
        x = self.features(emb, friction, sentiment, thresholds)
        return np.asarray(_sigmoid(x @ self.weights + self.bias))

    def save(self, folder: Path, extra_meta: dict[str, Any] | None = None) -> dict[str, Any]:
        from safetensors.numpy import save

        blob = save({"gate_coef": np.ascontiguousarray(self.gate_coef, dtype=np.float16),
                     "gate_bias": np.array([self.gate_bias], np.float32),
                     "weights": np.asarray(self.weights, np.float32),
                     "bias": np.array([self.bias], np.float32)})
        meta = {**self.meta, **(extra_meta or {}), "format": FORMAT, "encoder": self.encoder,
                "features": list(FEATURES), "dim": int(self.gate_coef.shape[0]),
                # for reading only (the safetensors file holds the values used)
                "fitted": {"weights": {name: round(float(w), 4) for name, w in zip(
                    FEATURES, self.weights, strict=True)}, "bias": round(float(self.bias), 4)}}
        self.meta = write_checked(folder, PRESENCE_META, PRESENCE_FILE, blob, meta)
        return self.meta


def decide_with_presence(friction: np.ndarray, thresholds: np.ndarray, presence: np.ndarray,
                         labels: Sequence[str] = FRICTION_CATEGORIES
                         ) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Friction probabilities capped at the presence probability, and the categories: none
    below presence 0.5; else those at or above their ``thresholds``, or the one highest
    relative to its threshold when none is."""
    ratio = np.asarray(friction, np.float64) / np.asarray(thresholds, np.float64)[None, :]
    over = friction_decisions(friction, labels, thresholds)
    out: list[tuple[str, ...]] = [
        () if p < 0.5 else cats or (labels[int(np.argmax(row))],)
        for cats, row, p in zip(over, ratio, presence, strict=True)]
    capped = np.minimum(np.asarray(friction, np.float64), np.asarray(presence)[:, None])
    return capped, out


def _fit_binary(x: np.ndarray, y: np.ndarray, w: np.ndarray, c: float) -> tuple[np.ndarray,
                                                                                 float]:
    """Coefficients and intercept of a weighted logistic regression for ``y`` True."""
    model = _fit_lr(x, y.tolist(), w, c, TrainConfig().max_iter)
    return np.asarray(model.coef_[0], np.float64), float(model.intercept_[0])


def _friction_rows(rows: Sequence[Example]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    idx = np.array([i for i, e in enumerate(rows) if e.friction is not None], dtype=int)
    y = np.array([bool(rows[i].friction) for i in idx])
    return idx, y, [rows[i].source for i in idx]


def fit_presence(train_emb: np.ndarray, train_rows: Sequence[Example], val_emb: np.ndarray,
                 val_rows: Sequence[Example], val_friction: np.ndarray,
                 val_sentiment: np.ndarray, thresholds: np.ndarray, encoder: str,
                 c_gate: float = 2.0, c: float = 1.0) -> FrictionPresence:
    """Fit the gate on ``train_rows`` (tuned embeddings ``train_emb``) and the presence model
    on ``val_rows`` (their embeddings, and the friction and sentiment probabilities the
    heads gave them, decided at ``thresholds``). Rows without friction labels are skipped;
    every source weighs the same, with its friction and no-friction rows balanced."""
    gi, gy, gsrc = _friction_rows(train_rows)
    vi, vy, vsrc = _friction_rows(val_rows)
    for name, y in (("training", gy), ("validation", vy)):
        if len(set(y.tolist())) < 2:
            raise ValueError(f"friction presence needs {name} rows with and without friction")
    gate_coef, gate_bias = _fit_binary(np.asarray(train_emb, np.float64)[gi], gy,
                                       row_weights(gsrc, [str(v) for v in gy]), c_gate)
    model = FrictionPresence(_f16(gate_coef), float(np.float32(gate_bias)),
                             np.zeros(len(FEATURES)), 0.0, encoder)
    x = model.features(np.asarray(val_emb)[vi], np.asarray(val_friction)[vi],
                       np.asarray(val_sentiment)[vi], thresholds)
    weights, bias = _fit_binary(x, vy, row_weights(vsrc, [str(v) for v in vy]), c)
    model.weights = np.asarray(weights, np.float32).astype(np.float64)
    model.bias = float(np.float32(bias))
    model.meta = {"rows": {"gate": int(len(gi)), "presence": int(len(vi))},
                  "c_gate": c_gate, "c": c}
    return model


def has_presence(folder: Path) -> bool:
    return (folder / PRESENCE_META).exists()


def load_presence(folder: Path) -> FrictionPresence:
    """Load a presence model, refusing a file whose sha256 differs from its metadata."""
    from safetensors.numpy import load

    meta, blob = read_checked(folder, PRESENCE_META, PRESENCE_FILE, (FORMAT,),
                              "friction presence model")
    if tuple(meta.get("features", ())) != FEATURES:
        raise ArtifactError(f"{folder / PRESENCE_META}: features {meta.get('features')} are not "
                         f"{list(FEATURES)}")
    t = load(blob)
    return FrictionPresence(t["gate_coef"].astype(np.float64), float(t["gate_bias"][0]),
                            t["weights"].astype(np.float64), float(t["bias"][0]),
                            str(meta["encoder"]), meta)
