"""Trained heads over sentence embeddings, with calibrated probabilities.

Tasks: churn ``intent`` (none / at_risk / explicit), friction in two steps, ``presence``
(is there any friction: a binary head, which weak labels also teach, e.g. a 1-2 star review
or a complaint filed with a regulator) then ``friction`` (which category, given there is
friction: a softmax over the categories), ``sentiment`` (negative / neutral / positive)
and journey ``stage``. A category's served probability is P(friction) x P(category |
friction). Each head is a scikit-learn logistic regression fitted on a training split over
the head inputs (the embedding, plus hashed word/character n-grams when the heads carry a
:class:`~models.features.LexicalConfig`); probabilities are then calibrated on a validation
split (temperature + per-class bias for the softmax heads, Platt scaling for presence) and
the presence threshold is the one of best F1 there. With ``TrainConfig.folds`` = k > 1
(the bundled recipes: 5) this is done k times, each time with another of k disjoint hash
splits as the validation split, and the k calibrated heads are served as one: the mean of
their calibrated logits, a linear model again; the presence threshold is then picked on
every row's out-of-fold probability rather than on one split's. Intent is decided on the
calibrated probabilities at 0.5 (explicit first, then at_risk). Friction: with presence at its
threshold, the most likely category, plus any other whose share of the friction is at least
:data:`SECOND_CATEGORY_SHARE`; else none.

Artifacts are a safetensors file (weight matrices as float16, rounded already at fitting
time so that the saved heads score exactly like the fitted ones; the rest float32) plus a
JSON metadata file that records the file's sha256 and the lexical feature settings;
:func:`load_heads` refuses a file whose hash does not match. No pickle.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from detector.signals import FRICTION_CATEGORIES, INTENTS
from models.datasets import SENTIMENTS, STAGES, Example
from models.features import LexicalConfig, head_inputs, lexical_features
from models.realdata import hash_unit

HEADS_FILE = "heads.safetensors"
META_FILE = "heads.json"
FORMAT = "churn-heads/3"  # /3: presence + which category (older formats: retrain)
READABLE_FORMATS = (FORMAT,)
PRESENCE_LABELS = ("any",)
SECOND_CATEGORY_SHARE = 0.25  # a second category needs this share of the friction
TASK_LABELS: dict[str, tuple[str, ...]] = {
    "intent": INTENTS, "sentiment": SENTIMENTS, "stage": STAGES,
    "friction": FRICTION_CATEGORIES,
}
HEAD_NAMES = ("intent", "friction", "sentiment", "stage", "presence")


class ArtifactError(ValueError):
    """An artifact is missing, malformed or does not match its recorded sha256."""


def write_checked(folder: Path, meta_file: str, blob_file: str, blob: bytes,
                  meta: dict[str, Any]) -> dict[str, Any]:
    """Write ``blob`` and its JSON metadata (with the blob's sha256 and size added)."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = {**meta, "files": {blob_file: {"sha256": hashlib.sha256(blob).hexdigest(),
                                          "bytes": len(blob)}}}
    (folder / blob_file).write_bytes(blob)
    (folder / meta_file).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return meta


def read_checked(folder: Path, meta_file: str, blob_file: str, formats: Sequence[str],
                 what: str) -> tuple[dict[str, Any], bytes]:
    """Metadata and blob of an artifact, refusing a missing file, an unknown format or a
    blob whose sha256 differs from the metadata."""
    meta_path, blob_path = folder / meta_file, folder / blob_file
    if not meta_path.exists() or not blob_path.exists():
        raise ArtifactError(f"no {what} in {folder} ({meta_file}, {blob_file})")
    meta = json.loads(meta_path.read_text("utf-8"))
    if meta.get("format") not in formats:
        raise ArtifactError(f"{meta_path}: unknown format {meta.get('format')!r}")
    blob = blob_path.read_bytes()
    expected = meta.get("files", {}).get(blob_file, {}).get("sha256")
    actual = hashlib.sha256(blob).hexdigest()
    if expected != actual:
        raise ArtifactError(
            f"{blob_path}: sha256 {actual} does not match the metadata ({expected}); refusing"
        )
    return meta, blob


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def _f16(a: np.ndarray) -> np.ndarray:
    """Round weights to what a float16 artifact stores (fitting and loading then agree)."""
    return np.asarray(a, dtype=np.float16).astype(np.float64)


def friction_decisions(categories: np.ndarray, presence: np.ndarray, threshold: float
                       ) -> list[tuple[str, ...]]:
    """Each row's categories: none below the presence threshold; else the most likely one
    and any other with at least :data:`SECOND_CATEGORY_SHARE` of the row's friction.
    ``categories``: P(category) = P(friction) x P(category | friction), ``presence``:
    P(friction)."""
    categories = np.asarray(categories)
    p = np.asarray(presence).reshape(-1)
    if not len(p):
        return []
    on = (p >= threshold) & (p > 0)
    keep = categories >= SECOND_CATEGORY_SHARE * p[:, None]
    keep[np.arange(len(p)), np.argmax(categories, axis=1)] = True
    codes = (keep & on[:, None]) @ (1 << np.arange(categories.shape[1]))
    return [_CATEGORY_SETS[c] for c in codes.tolist()]


# the categories of each bit set (bit j: FRICTION_CATEGORIES[j]), in category order
_CATEGORY_SETS: list[tuple[str, ...]] = [
    tuple(c for j, c in enumerate(FRICTION_CATEGORIES) if code >> j & 1)
    for code in range(1 << len(FRICTION_CATEGORIES))]


def fold_of(text: str, folds: int) -> int:
    """Deterministic assignment to one of ``folds`` splits by a hash of the text."""
    return min(folds - 1, int(hash_unit(text) * folds))


def in_validation(text: str, fraction: float) -> bool:
    """Deterministic train/validation assignment by a hash of the text."""
    return hash_unit(text) < fraction


@dataclass
class MultiHead:
    """Multinomial logistic regression with temperature / bias calibration."""

    labels: tuple[str, ...]
    coef: np.ndarray  # (k, d)
    bias: np.ndarray  # (k,)
    temperature: float = 1.0
    cal_bias: np.ndarray | None = None  # (k,)

    def logits(self, x: np.ndarray) -> np.ndarray:
        return x @ self.coef.T + self.bias

    def proba(self, x: np.ndarray) -> np.ndarray:
        return self.proba_from_logits(self.logits(x))

    def proba_from_logits(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from raw logits ``x @ coef.T + bias``."""
        z = logits / self.temperature
        if self.cal_bias is not None:
            z = z + self.cal_bias
        return _softmax(z)


@dataclass
class BinaryHead:
    """A binary logistic regression, Platt-calibrated, with its decision threshold."""

    labels: tuple[str, ...]
    coef: np.ndarray  # (1, d)
    bias: np.ndarray  # (1,)
    platt_a: np.ndarray  # (1,)
    platt_b: np.ndarray  # (1,)
    thresholds: np.ndarray  # (1,)

    def proba(self, x: np.ndarray) -> np.ndarray:
        return self.proba_from_logits(x @ self.coef.T + self.bias)

    def proba_from_logits(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from raw logits ``x @ coef.T + bias``."""
        return _sigmoid(self.platt_a * logits + self.platt_b)

    @property
    def threshold(self) -> float:
        return float(self.thresholds[0])


@dataclass
class HeadScores:
    """Every head's calibrated probabilities for a batch."""

    intent: np.ndarray  # (n, 3)
    friction: np.ndarray  # (n, 9) P(category) = P(friction) x P(category | friction)
    presence: np.ndarray  # (n,) P(friction)
    sentiment: np.ndarray  # (n, 3)
    stage: np.ndarray  # (n, 7)


_Stack = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass
class Heads:
    """All task heads for one encoder, plus decision thresholds and metadata."""

    encoder: str
    intent: MultiHead
    friction: MultiHead  # which category, given there is friction
    sentiment: MultiHead
    stage: MultiHead
    presence: BinaryHead  # whether there is any friction
    meta: dict[str, Any] = field(default_factory=dict)
    lexical: LexicalConfig | None = None  # hashed n-grams next to the embedding, or none
    _stacked: _Stack | None = field(default=None, init=False, repr=False, compare=False)

    def inputs(self, emb: np.ndarray, texts: Sequence[str] | None = None) -> Any:
        """The heads' input rows for these embeddings (and texts, when lexical is set)."""
        return head_inputs(emb, texts, self.lexical)

    def _stack(self) -> _Stack:
        """Every head side by side (built once): weights ``(inputs, columns)``, biases, and
        per column the calibration divisor and bias of the softmax heads, and where each
        softmax head's columns start (the presence column is last)."""
        if self._stacked is None:
            heads = tuple(getattr(self, name) for name in HEAD_NAMES)
            w = np.ascontiguousarray(np.vstack([h.coef for h in heads]).T, dtype=np.float32)
            soft = [getattr(self, name) for name in HEAD_NAMES[:-1]]
            divisor = np.concatenate([np.full(len(h.labels), h.temperature) for h in soft])
            cal = np.concatenate([h.cal_bias if h.cal_bias is not None
                                  else np.zeros(len(h.labels)) for h in soft])
            starts = np.cumsum([0] + [len(h.labels) for h in soft[:-1]])
            self._stacked = (w, np.concatenate([h.bias for h in heads]).astype(np.float32),
                             divisor.astype(np.float32), cal.astype(np.float32), starts)
        return self._stacked

    def _logits(self, emb: np.ndarray, texts: Sequence[str] | None,
                lexical_rows: Any) -> np.ndarray:
        """Raw logits of every head, one column block per head in :data:`HEAD_NAMES` order."""
        w, b = self._stack()[:2]
        d = emb.shape[1]
        width = d + (self.lexical.dim if self.lexical is not None else 0)
        if width != w.shape[0]:
            raise ValueError(f"heads take {w.shape[0]} inputs; got {width}")
        z = np.asarray(emb, dtype=np.float32) @ w[:d]
        if self.lexical is not None and lexical_rows is not None:
            if lexical_rows.shape != (emb.shape[0], self.lexical.dim):
                raise ValueError(f"lexical rows {lexical_rows.shape} do not fit these heads")
            z = z + lexical_rows @ w[d:]
        elif self.lexical is not None:
            if texts is None:
                raise ValueError("these heads use lexical features: the texts are needed, "
                                 "not only their embeddings")
            if len(texts) != emb.shape[0]:
                raise ValueError(f"{len(texts)} texts for {emb.shape[0]} embeddings")
            z = z + lexical_features(texts, self.lexical) @ w[d:]
        return np.asarray(z + b)

    def raw_logits(self, emb: np.ndarray, texts: Sequence[str] | None = None,
                   lexical_rows: Any = None) -> dict[str, np.ndarray]:
        """Raw logits of every head (``inputs @ coef.T + bias``), in one product for the
        embedding block and one sparse product for the lexical block (the serving path).
        ``lexical_rows``: the texts' lexical features already computed with these heads'
        settings."""
        z = self._logits(emb, texts, lexical_rows)
        out, start = {}, 0
        for name in HEAD_NAMES:
            k = len(getattr(self, name).labels)
            out[name] = z[:, start:start + k]
            start += k
        return out

    def scores(self, emb: np.ndarray, texts: Sequence[str] | None = None,
               lexical_rows: Any = None) -> HeadScores:
        """Every head's calibrated probabilities for a batch: one product over all heads,
        one calibration step for the softmax heads (each its own softmax) and Platt scaling
        for presence. ``lexical_rows``: as in :meth:`raw_logits`."""
        z = self._logits(emb, texts, lexical_rows)
        _, _, divisor, cal, starts = self._stack()
        soft = z[:, :-1] / divisor + cal
        sizes = np.diff(np.append(starts, soft.shape[1]))
        soft = soft - np.repeat(np.maximum.reduceat(soft, starts, axis=1), sizes, axis=1)
        e = np.exp(soft)
        p = e / np.repeat(np.add.reduceat(e, starts, axis=1), sizes, axis=1)
        presence = self.presence.proba_from_logits(z[:, -1:])[:, 0]
        block = dict(zip(HEAD_NAMES, np.split(p, starts[1:], axis=1), strict=False))
        return HeadScores(block["intent"], presence[:, None] * block["friction"], presence,
                          block["sentiment"], block["stage"])

    def decide_intent(self, p: np.ndarray) -> list[str]:
        """``explicit`` at calibrated P(explicit) >= 0.5; else ``at_risk`` when the churn
        probability, P(explicit) + P(at_risk), is at least 0.5; else ``none``. So the label
        never contradicts the ``churn_probability`` a signal reports."""
        ie, ia = INTENTS.index("explicit"), INTENTS.index("at_risk")
        p = np.asarray(p)
        if not len(p):
            return []
        code = np.where(p[:, ie] >= 0.5, 2, np.where(p[:, ia] + p[:, ie] >= 0.5, 1, 0))
        return [("none", "at_risk", "explicit")[c] for c in code.tolist()]

    def decide_friction(self, categories: np.ndarray, presence: np.ndarray
                        ) -> list[tuple[str, ...]]:
        return friction_decisions(categories, presence, self.presence.threshold)

    @property
    def version(self) -> str:
        return str(self.meta.get("version", f"heads-{self.encoder}-untrained"))

    # ---- (de)serialisation --------------------------------------------------------------
    def tensors(self) -> dict[str, np.ndarray]:
        t: dict[str, np.ndarray] = {}
        for name in ("intent", "friction", "sentiment", "stage"):
            h: MultiHead = getattr(self, name)
            t[f"{name}.coef"] = h.coef
            t[f"{name}.bias"] = h.bias
            t[f"{name}.temperature"] = np.array([h.temperature])
            t[f"{name}.cal_bias"] = (h.cal_bias if h.cal_bias is not None
                                     else np.zeros(len(h.labels)))
        for key in ("coef", "bias", "platt_a", "platt_b", "thresholds"):
            t[f"presence.{key}"] = getattr(self.presence, key)
        return {k: np.ascontiguousarray(v, dtype=np.float16 if k.endswith(".coef")
                                        else np.float32) for k, v in sorted(t.items())}

    def save(self, folder: Path, extra_meta: dict[str, Any] | None = None) -> dict[str, Any]:
        """Write ``heads.safetensors`` + ``heads.json`` into ``folder``; returns the metadata."""
        from safetensors.numpy import save

        blob = save(self.tensors())
        sha = hashlib.sha256(blob).hexdigest()
        meta = dict(self.meta)
        meta.update(extra_meta or {})
        meta.update({
            "format": FORMAT,
            "encoder": self.encoder,
            "labels": {name: list(getattr(self, name).labels) for name in HEAD_NAMES},
            "lexical": self.lexical.to_dict() if self.lexical is not None else None,
            "presence_threshold": round(self.presence.threshold, 4),
        })
        meta["version"] = meta.get("version") or (
            f"{self.encoder}-{meta.get('taxonomy_version', 'custom')}-{sha[:10]}")
        meta = write_checked(folder, META_FILE, HEADS_FILE, blob, meta)
        self.meta = meta
        return meta


def load_heads(folder: Path) -> Heads:
    """Load heads from ``folder``, refusing files whose sha256 differs from the metadata."""
    from safetensors.numpy import load

    meta, blob = read_checked(folder, META_FILE, HEADS_FILE, READABLE_FORMATS, "model artifacts")
    blob_path = folder / HEADS_FILE
    t = {k: v.astype(np.float32) for k, v in load(blob).items()}
    labels = meta["labels"]
    lexical = LexicalConfig.from_dict(meta["lexical"]) if meta.get("lexical") else None

    def multi(name: str) -> MultiHead:
        return MultiHead(tuple(labels[name]), t[f"{name}.coef"], t[f"{name}.bias"],
                         float(t[f"{name}.temperature"][0]), t[f"{name}.cal_bias"])

    presence = BinaryHead(PRESENCE_LABELS, t["presence.coef"], t["presence.bias"],
                          t["presence.platt_a"], t["presence.platt_b"], t["presence.thresholds"])
    width = presence.coef.shape[1]
    expected = None if lexical is None else lexical.dim
    if expected is not None and width <= expected:
        raise ArtifactError(f"{blob_path}: weights have {width} inputs, fewer than the "
                            f"{expected} lexical features the metadata declares")
    return Heads(meta["encoder"], multi("intent"), multi("friction"), multi("sentiment"),
                 multi("stage"), presence, meta, lexical)


# ---- training ---------------------------------------------------------------------------

@dataclass(frozen=True)
class TrainConfig:
    c: float = 2.0
    val_fraction: float = 0.2  # with folds = 1; k folds validate on 1/k each
    max_iter: int = 1000
    # how the churn-intent rows are weighted: "source" (each source weighs the same, labels
    # balanced within it) or "label" (each label weighs the same, sources the same within a
    # label); see row_weights
    intent_weighting: str = "source"
    # the same for the friction-category rows ("label": each category weighs the same, which
    # the category macro-F1 over held-out domains preferred in every fold on both paths)
    friction_weighting: str = "source"
    # ``train --data``: the prior's strength relative to 1 / (C n) (models.adapt); 0.25 was
    # chosen on the real domains' folds over 0.25, 1 and 4 (docs/models.md)
    adapt_prior: float = 0.25
    # 1: fit on the rows outside one hash split and calibrate on it; k > 1: k fits, each
    # calibrated on one of k disjoint hash splits, averaged as calibrated logits (one linear
    # model again), the presence threshold picked on every row's out-of-fold probability
    folds: int = 1

    def __post_init__(self) -> None:
        if self.folds < 1:
            raise ValueError(f"folds must be at least 1, got {self.folds}")
        for name in ("intent_weighting", "friction_weighting"):
            if getattr(self, name) not in WEIGHTINGS:
                raise ValueError(f"unknown {name} {getattr(self, name)!r}; expected one of "
                                 f"{WEIGHTINGS}")


WEIGHTINGS = ("source", "label")


def row_weights(sources: Sequence[str], labels: Sequence[str], by: str = "source"
                ) -> np.ndarray:
    """Training weights (mean 1). ``by="source"``: each source weighs the same in total, and
    labels are balanced within it. ``by="label"``: each label weighs the same in total, and
    the sources that have it share its weight equally. They differ when a source carries
    only some labels: with ``"source"``, a source whose rows are all ``none`` (CLINC150 for
    churn intent) puts its whole share on ``none``."""
    if by not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {by!r}; expected one of {WEIGHTINGS}")
    by_pair = Counter(zip(sources, labels, strict=True))
    if by == "source":
        n_labels = Counter(s for (s, _) in by_pair)  # labels present per source
        w = np.array([1.0 / (by_pair[(s, y)] * n_labels[s]) for s, y in zip(sources, labels,
                                                                           strict=True)])
    else:
        n_sources = Counter(y for (_, y) in by_pair)  # sources present per label
        w = np.array([1.0 / (by_pair[(s, y)] * n_sources[y]) for s, y in zip(sources, labels,
                                                                            strict=True)])
    return w * len(w) / w.sum()


def _fit_lr(x: Any, y: Sequence[Any], w: np.ndarray, c: float, max_iter: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=max_iter)
    model.fit(x, list(y), sample_weight=w)
    return model


def _calibrate_multi(z: np.ndarray, y: np.ndarray, w: np.ndarray | None = None
                     ) -> tuple[float, np.ndarray]:
    """Temperature and per-class bias minimising the (weighted) validation log-loss."""
    from scipy.optimize import minimize

    k = z.shape[1]
    weights = np.ones(len(y)) / len(y) if w is None else w / w.sum()

    def nll(params: np.ndarray) -> float:
        t = np.exp(params[0])
        logits = z / t + params[1:]
        logits = logits - logits.max(axis=1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        return float(-(weights * logp[np.arange(len(y)), y]).sum()
                     + 1e-3 * (params[1:] ** 2).sum())

    res = minimize(nll, np.zeros(k + 1), method="L-BFGS-B")
    return float(np.exp(res.x[0])), np.asarray(res.x[1:])


def _platt(z: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> tuple[float, float]:
    """Platt scaling ``sigmoid(a * z + b)`` minimising the (weighted) log-loss."""
    from scipy.optimize import minimize

    weights = np.ones(len(y)) if w is None else w

    def nll(p: np.ndarray) -> float:
        q = np.clip(_sigmoid(p[0] * z + p[1]), 1e-7, 1 - 1e-7)
        return float(-(weights * (y * np.log(q) + (1 - y) * np.log(1 - q))).sum()
                     / weights.sum())

    res = minimize(nll, np.array([1.0, 0.0]), method="L-BFGS-B")
    return float(res.x[0]), float(res.x[1])


def _f1(tp: float, fp: float, fn: float) -> float:
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def _fit_softmax(x: Any, y: Sequence[str] | list[str], sources: Sequence[str] | list[str],
                 labels: tuple[str, ...], cfg: TrainConfig, val: np.ndarray,
                 weighting: str = "source",
                 share: np.ndarray | None = None) -> MultiHead:
    """A softmax head over ``labels`` fitted on the rows outside ``val`` and calibrated on
    those in it; ``share`` multiplies each row's weight (a multi-label row's copies)."""
    y, sources = list(y), list(sources)
    d = x.shape[1]
    coef = np.zeros((len(labels), d))
    bias = np.full(len(labels), -30.0)  # labels never seen in training: probability ~0
    tr = ~val if (~val).sum() and len({y[i] for i in np.flatnonzero(~val)}) > 1 else np.ones(
        len(y), bool)
    tr_idx = np.flatnonzero(tr)
    present = sorted({y[i] for i in tr_idx}, key=labels.index)
    if len(present) == 0:
        return MultiHead(labels, coef, np.zeros(len(labels)))
    if len(present) == 1:
        bias[labels.index(present[0])] = 0.0
        return MultiHead(labels, coef, bias)
    extra = np.ones(len(y)) if share is None else share
    w = row_weights([sources[i] for i in tr_idx], [y[i] for i in tr_idx], weighting)
    model = _fit_lr(x[tr_idx], [y[i] for i in tr_idx], w * extra[tr_idx], cfg.c, cfg.max_iter)
    classes = [str(cl) for cl in model.classes_]
    if len(classes) == 2:  # binary LR: logit for the second class, zero for the first
        coef[labels.index(classes[1])] = model.coef_[0]
        bias[labels.index(classes[1])] = model.intercept_[0]
        bias[labels.index(classes[0])] = 0.0
    else:
        for j, cl in enumerate(classes):
            coef[labels.index(cl)] = model.coef_[j]
            bias[labels.index(cl)] = model.intercept_[j]
    head = MultiHead(labels, _f16(coef), bias)
    v_idx = np.flatnonzero(val & ~tr)  # validation rows not used for fitting
    if len(v_idx) >= 20 and len({y[i] for i in v_idx}) > 1:
        yi = np.array([labels.index(y[i]) for i in v_idx])
        head.temperature, head.cal_bias = _calibrate_multi(head.logits(x[v_idx]), yi,
                                                           extra[v_idx])
    return head


def _fit_presence(x: Any, present: np.ndarray, sources: Sequence[str] | list[str],
                  cfg: TrainConfig, val: np.ndarray) -> BinaryHead:
    """The presence head: fitted outside ``val``, Platt-calibrated on ``val`` (sources
    weighing the same) with the threshold of best F1 there."""
    sources = list(sources)
    tr_idx, v_idx = np.flatnonzero(~val), np.flatnonzero(val)
    if len(set(present.tolist())) < 2:  # one class only: a constant
        d = x.shape[1]
        bias = np.array([30.0 if present.size and present[0] else -30.0])
        return BinaryHead(PRESENCE_LABELS, np.zeros((1, d)), bias, np.ones(1), np.zeros(1),
                          np.full(1, 0.5))
    if len(set(present[tr_idx].tolist())) < 2:
        tr_idx = np.arange(len(present))
    yl = ["yes" if v else "no" for v in present[tr_idx]]
    model = _fit_lr(x[tr_idx], yl, row_weights([sources[i] for i in tr_idx], yl), cfg.c,
                    cfg.max_iter)
    sign = 1.0 if str(model.classes_[1]) == "yes" else -1.0
    coef, bias = _f16(sign * model.coef_[0])[None, :], np.array([sign * model.intercept_[0]])
    a, b, t = 1.0, 0.0, 0.5
    y = present[v_idx]
    if len(v_idx) >= 20 and 0 < y.sum() < len(y):
        z = (x[v_idx] @ coef.T)[:, 0] + bias[0]
        w = row_weights([sources[i] for i in v_idx], ["yes" if v else "no" for v in y])
        a, b = _platt(z, y.astype(float), w)
        t = _best_cut(_sigmoid(a * z + b), y, w)
    return BinaryHead(PRESENCE_LABELS, coef, bias, np.array([a]), np.array([b]),
                      np.array([t]))


def _best_cut(p: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """The presence threshold of best (weighted) F1 on a 0.2-0.8 grid."""
    best, t = -1.0, 0.5
    for cut in np.round(np.arange(0.2, 0.81, 0.05), 2):
        pred = p >= cut
        f = _f1((w * (pred & y)).sum(), (w * (pred & ~y)).sum(), (w * (~pred & y)).sum())
        if f > best + 1e-9:
            best, t = f, float(cut)
    return t


def _averaged_multi(heads: Sequence[MultiHead]) -> MultiHead:
    """Cross-fitted softmax heads as one: the mean of their calibrated logits."""
    coef = np.mean([h.coef / h.temperature for h in heads], axis=0)
    bias = np.mean([h.bias / h.temperature + (h.cal_bias if h.cal_bias is not None else 0.0)
                    for h in heads], axis=0)
    return MultiHead(heads[0].labels, _f16(coef), bias)


def _cross_fit_presence(x: Any, present: np.ndarray, sources: Sequence[str] | list[str],
                        cfg: TrainConfig, fold: np.ndarray) -> BinaryHead:
    """``cfg.folds`` presence heads, each calibrated on one split, as one head (the mean
    of their calibrated logits) with the threshold of best F1 over every row's
    out-of-fold probability."""
    heads = [_fit_presence(x, present, sources, cfg, fold == k) for k in range(cfg.folds)]
    coef = np.mean([h.platt_a[0] * h.coef for h in heads], axis=0)
    bias = np.mean([h.platt_a * h.bias + h.platt_b for h in heads], axis=0)
    oof = np.zeros(len(present))
    for k, h in enumerate(heads):
        rows = np.flatnonzero(fold == k)
        oof[rows] = h.proba(x[rows])[:, 0]
    t = 0.5
    if 0 < present.sum() < len(present):
        w = row_weights(sources, ["yes" if v else "no" for v in present])
        t = _best_cut(oof, present.astype(bool), w)
    return BinaryHead(PRESENCE_LABELS, _f16(coef), bias, np.ones(1), np.zeros(1),
                      np.array([t]))


def friction_copies(rows: Sequence[Example]) -> tuple[list[int], list[str], list[float]]:
    """The rows the which-category head reads: one copy of each friction row per category it
    reports (row index, category, weight 1/k for a row of k categories)."""
    copies: list[int] = []
    cats: list[str] = []
    share: list[float] = []
    for i, e in enumerate(rows):
        for c in e.friction or ():
            copies.append(i)
            cats.append(c)
            share.append(1.0 / len(e.friction or ()))
    return copies, cats, share


def validation_mask(rows: Sequence[Example], cfg: TrainConfig) -> np.ndarray:
    """The rows the heads calibrate on (a hash of the text)."""
    return np.array([in_validation(e.text, cfg.val_fraction) for e in rows], dtype=bool)


def fit_heads(emb: np.ndarray, rows: list[Example], encoder: str,
              cfg: TrainConfig | None = None, lexical: LexicalConfig | None = None) -> Heads:
    """Fit every head on ``rows`` (embedded as ``emb``; with ``lexical``, hashed n-grams of
    the rows' texts are appended); tasks a row does not label are skipped for that row.
    Deterministic: the validation split is a hash of the text."""
    cfg = cfg or TrainConfig()
    x = head_inputs(emb, [e.text for e in rows], lexical)
    src = [e.source for e in rows]
    if cfg.folds == 1:
        splits = [validation_mask(rows, cfg)]
    else:
        fold = np.array([fold_of(e.text, cfg.folds) for e in rows])
        splits = [fold == k for k in range(cfg.folds)]

    def softmax(ix: np.ndarray, y: list[str], labels: tuple[str, ...], weighting: str,
                share: np.ndarray | None = None) -> MultiHead:
        fits = [_fit_softmax(x[ix], y, [src[i] for i in ix], labels, cfg, v[ix], weighting,
                             share) for v in splits]
        return fits[0] if len(fits) == 1 else _averaged_multi(fits)

    heads: dict[str, Any] = {}
    for task in ("intent", "sentiment", "stage"):
        labelled = [i for i, e in enumerate(rows) if getattr(e, task) is not None]
        weighting = cfg.intent_weighting if task == "intent" else "source"
        heads[task] = softmax(np.array(labelled, int),
                              [str(getattr(rows[i], task)) for i in labelled],
                              TASK_LABELS[task], weighting)
    copies, cats, share = friction_copies(rows)
    heads["friction"] = softmax(np.array(copies, int), cats, FRICTION_CATEGORIES,
                                cfg.friction_weighting, np.array(share))
    idx = [i for i, e in enumerate(rows) if e.friction_present is not None]
    ix = np.array(idx, int)
    present = np.array([bool(rows[i].friction_present) for i in idx])
    if cfg.folds == 1:
        presence = _fit_presence(x[ix], present, [src[i] for i in idx], cfg, splits[0][ix])
    else:
        presence = _cross_fit_presence(x[ix], present, [src[i] for i in idx], cfg, fold[ix])
    meta = {"training": {"intent_weighting": cfg.intent_weighting,
                         "friction_weighting": cfg.friction_weighting, "rows": len(rows),
                         "folds": cfg.folds}}
    return Heads(encoder, heads["intent"], heads["friction"], heads["sentiment"],
                 heads["stage"], presence, meta, lexical)
