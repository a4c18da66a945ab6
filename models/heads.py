"""Trained heads over sentence embeddings, with calibrated probabilities.

Tasks: churn ``intent`` (none / at_risk / explicit), ``friction`` (multi-label, one binary
head per category), ``sentiment`` (negative / neutral / positive) and journey ``stage``.
Each head is a scikit-learn logistic regression fitted on a training split over the head
inputs (the embedding, plus hashed word/character n-grams when the heads carry a
:class:`~models.features.LexicalConfig`); probabilities are then calibrated on a validation
split (temperature + per-class bias for multi-class heads, Platt scaling per friction
category) and one threshold per friction category is chosen on that same validation split.
Intent is decided on the calibrated probabilities at 0.5 (explicit first, then at_risk);
``TrainConfig(tune_intent_thresholds=True)`` tunes those two thresholds on validation instead.

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
from models.augment import TYPO_TAG, typo_copies
from models.datasets import SENTIMENTS, STAGES, Example
from models.features import LexicalConfig, head_inputs, lexical_features

HEADS_FILE = "heads.safetensors"
META_FILE = "heads.json"
FORMAT = "churn-heads/2"  # /2: float16 weights, optional lexical features
READABLE_FORMATS = ("churn-heads/1", FORMAT)
TASK_LABELS: dict[str, tuple[str, ...]] = {
    "intent": INTENTS, "sentiment": SENTIMENTS, "stage": STAGES,
}


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


def friction_decisions(p: np.ndarray, labels: Sequence[str], thresholds: Any
                       ) -> list[tuple[str, ...]]:
    """The categories of each row of probabilities ``p`` at or above their thresholds."""
    return [tuple(c for c, v, t in zip(labels, row, thresholds, strict=True) if v >= t)
            for row in p]


def in_validation(text: str, fraction: float) -> bool:
    """Deterministic train/validation assignment by a hash of the text."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "little") / 2**32 < fraction


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
class FrictionHead:
    """One binary logistic regression per category, Platt-calibrated, with thresholds."""

    labels: tuple[str, ...]
    coef: np.ndarray  # (m, d)
    bias: np.ndarray  # (m,)
    platt_a: np.ndarray  # (m,)
    platt_b: np.ndarray  # (m,)
    thresholds: np.ndarray  # (m,)

    def proba(self, x: np.ndarray) -> np.ndarray:
        return self.proba_from_logits(x @ self.coef.T + self.bias)

    def proba_from_logits(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from raw logits ``x @ coef.T + bias``."""
        return _sigmoid(self.platt_a * logits + self.platt_b)


@dataclass
class Heads:
    """All task heads for one encoder, plus decision thresholds and metadata."""

    encoder: str
    intent: MultiHead
    friction: FrictionHead
    sentiment: MultiHead
    stage: MultiHead
    intent_thresholds: dict[str, float] = field(
        default_factory=lambda: {"explicit": 0.5, "at_risk": 0.5})
    meta: dict[str, Any] = field(default_factory=dict)
    lexical: LexicalConfig | None = None  # hashed n-grams next to the embedding, or none
    _stacked: tuple[np.ndarray, np.ndarray] | None = field(default=None, init=False,
                                                           repr=False, compare=False)

    def inputs(self, emb: np.ndarray, texts: Sequence[str] | None = None) -> Any:
        """The heads' input rows for these embeddings (and texts, when lexical is set)."""
        return head_inputs(emb, texts, self.lexical)

    def raw_logits(self, emb: np.ndarray, texts: Sequence[str] | None = None,
                   lexical_rows: Any = None) -> dict[str, np.ndarray]:
        """Raw logits of every head (``inputs @ coef.T + bias``), in one product for the
        embedding block and one sparse product for the lexical block (the serving path).
        ``lexical_rows``: the texts' lexical features already computed with these heads'
        settings (several sets of heads reading the same texts share them)."""
        if self._stacked is None:
            heads = (self.intent, self.friction, self.sentiment, self.stage)
            w = np.ascontiguousarray(np.vstack([h.coef for h in heads]).T, dtype=np.float32)
            self._stacked = (w, np.concatenate([h.bias for h in heads]).astype(np.float32))
        w, b = self._stacked
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
        z = z + b
        out, start = {}, 0
        for name in ("intent", "friction", "sentiment", "stage"):
            k = len(getattr(self, name).labels)
            out[name] = z[:, start:start + k]
            start += k
        return out

    def decide_intent(self, p: np.ndarray) -> list[str]:
        """Per-label thresholds: explicit first, then at_risk, else none."""
        ie, ia = INTENTS.index("explicit"), INTENTS.index("at_risk")
        te, ta = self.intent_thresholds["explicit"], self.intent_thresholds["at_risk"]
        out = []
        for row in p:
            if row[ie] >= te:
                out.append("explicit")
            elif row[ia] >= ta:
                out.append("at_risk")
            else:
                out.append("none")
        return out

    def decide_friction(self, p: np.ndarray) -> list[tuple[str, ...]]:
        return friction_decisions(p, self.friction.labels, self.friction.thresholds)

    @property
    def version(self) -> str:
        return str(self.meta.get("version", f"heads-{self.encoder}-untrained"))

    # ---- (de)serialisation --------------------------------------------------------------
    def tensors(self) -> dict[str, np.ndarray]:
        t: dict[str, np.ndarray] = {}
        for name in ("intent", "sentiment", "stage"):
            h: MultiHead = getattr(self, name)
            t[f"{name}.coef"] = h.coef
            t[f"{name}.bias"] = h.bias
            t[f"{name}.temperature"] = np.array([h.temperature])
            t[f"{name}.cal_bias"] = (h.cal_bias if h.cal_bias is not None
                                     else np.zeros(len(h.labels)))
        f = self.friction
        for key in ("coef", "bias", "platt_a", "platt_b", "thresholds"):
            t[f"friction.{key}"] = getattr(f, key)
        t["intent.thresholds"] = np.array(
            [self.intent_thresholds["explicit"], self.intent_thresholds["at_risk"]])
        return {k: np.ascontiguousarray(v, dtype=np.float16 if k.endswith(".coef")
                                        else np.float32) for k, v in sorted(t.items())}

    def save(self, folder: Path, extra_meta: dict[str, Any] | None = None) -> dict[str, Any]:
        """Write ``heads.safetensors`` + ``heads.json`` into ``folder``; returns the metadata."""
        from safetensors.numpy import save

        folder.mkdir(parents=True, exist_ok=True)
        blob = save(self.tensors())
        sha = hashlib.sha256(blob).hexdigest()
        meta = dict(self.meta)
        meta.update(extra_meta or {})
        meta.update({
            "format": FORMAT,
            "encoder": self.encoder,
            "labels": {"intent": list(self.intent.labels), "friction": list(self.friction.labels),
                       "sentiment": list(self.sentiment.labels),
                       "stage": list(self.stage.labels)},
            "files": {HEADS_FILE: {"sha256": sha, "bytes": len(blob)}},
            "lexical": self.lexical.to_dict() if self.lexical is not None else None,
        })
        meta["version"] = f"{self.encoder}-{meta.get('taxonomy_version', 'custom')}-{sha[:10]}"
        (folder / HEADS_FILE).write_bytes(blob)
        (folder / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
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

    fr = FrictionHead(tuple(labels["friction"]), t["friction.coef"], t["friction.bias"],
                      t["friction.platt_a"], t["friction.platt_b"], t["friction.thresholds"])
    th = t["intent.thresholds"]
    width = fr.coef.shape[1]
    expected = None if lexical is None else lexical.dim
    if expected is not None and width <= expected:
        raise ArtifactError(f"{blob_path}: weights have {width} inputs, fewer than the "
                            f"{expected} lexical features the metadata declares")
    return Heads(meta["encoder"], multi("intent"), fr, multi("sentiment"), multi("stage"),
                 {"explicit": float(th[0]), "at_risk": float(th[1])}, meta, lexical)


# ---- training ---------------------------------------------------------------------------

@dataclass(frozen=True)
class TrainConfig:
    c: float = 2.0
    c_friction: float = 2.0
    val_fraction: float = 0.2
    max_iter: int = 3000
    tune_intent_thresholds: bool = False  # False: decide intent at calibrated p >= 0.5
    # friction probabilities calibrated on each source's rows scored by heads fitted without
    # that source (when the rows come from two or more sources), see _out_of_source_platt
    out_of_source_calibration: bool = True
    # how the churn-intent rows are weighted: "source" (each source weighs the same, labels
    # balanced within it) or "label" (each label weighs the same, sources the same within a
    # label); see row_weights
    intent_weighting: str = "source"
    # one misspelled copy of each training-split row, each long word changed with this
    # probability (models.augment); 0: none. The caller embeds the copies (typo_rows)
    typo_rate: float = 0.0

    def __post_init__(self) -> None:
        if self.intent_weighting not in WEIGHTINGS:
            raise ValueError(f"unknown intent_weighting {self.intent_weighting!r}; expected one "
                             f"of {WEIGHTINGS}")
        if not 0.0 <= self.typo_rate <= 1.0:
            raise ValueError(f"typo_rate must be within [0, 1]; got {self.typo_rate}")


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


def _fit_lr(x: np.ndarray, y: Sequence[Any], w: np.ndarray, c: float, max_iter: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=max_iter)
    model.fit(x, list(y), sample_weight=w)
    return model


def _calibrate_multi(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Temperature and per-class bias minimising the validation log-loss."""
    from scipy.optimize import minimize

    k = z.shape[1]

    def nll(params: np.ndarray) -> float:
        t = np.exp(params[0])
        logits = z / t + params[1:]
        logits = logits - logits.max(axis=1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(len(y)), y].mean() + 1e-3 * (params[1:] ** 2).sum())

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


def _fit_multi(x: np.ndarray, rows: list[Example], task: str, cfg: TrainConfig,
               val: np.ndarray) -> MultiHead:
    labels = TASK_LABELS[task]
    y = [getattr(e, task) for e in rows]
    src = [e.source for e in rows]
    tr = ~val if (~val).sum() and len({y[i] for i in np.flatnonzero(~val)}) > 1 else np.ones(
        len(rows), bool)
    tr_idx = np.flatnonzero(tr)
    present = sorted({y[i] for i in tr_idx}, key=labels.index)
    d = x.shape[1]
    coef = np.zeros((len(labels), d))
    bias = np.full(len(labels), -30.0)  # labels never seen in training: probability ~0
    if len(present) == 1:
        bias[labels.index(present[0])] = 0.0
        return MultiHead(labels, coef, bias)
    weighting = cfg.intent_weighting if task == "intent" else "source"
    model = _fit_lr(x[tr_idx], [y[i] for i in tr_idx], row_weights([src[i] for i in tr_idx],
                    [y[i] for i in tr_idx], weighting), cfg.c, cfg.max_iter)
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
        head.temperature, head.cal_bias = _calibrate_multi(head.logits(x[v_idx]), yi)
    return head


def _intent_thresholds(head: MultiHead, x: np.ndarray, y: list[str]) -> dict[str, float]:
    p = head.proba(x)
    ie, ia = INTENTS.index("explicit"), INTENTS.index("at_risk")
    grid = np.round(np.arange(0.2, 0.81, 0.05), 2)
    best, best_t = -1.0, (0.5, 0.5)
    present = sorted(set(y))
    ya = np.array(y)
    for te in grid:
        for ta in grid:
            pred = np.where(p[:, ie] >= te, "explicit", np.where(p[:, ia] >= ta, "at_risk",
                                                                 "none"))
            f1s = [_f1(((pred == lab) & (ya == lab)).sum(), ((pred == lab) & (ya != lab)).sum(),
                       ((pred != lab) & (ya == lab)).sum()) for lab in present]
            score = float(np.mean(f1s))
            if score > best + 1e-9:
                best, best_t = score, (float(te), float(ta))
    return {"explicit": best_t[0], "at_risk": best_t[1]}


def _friction_weights(x: np.ndarray, rows: Sequence[Example], cfg: TrainConfig,
                      tr_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One binary logistic regression per category on the rows ``tr_idx``: weights
    (float16-rounded) and biases; a category without both classes there gets a bias of -30."""
    m, d = len(FRICTION_CATEGORIES), x.shape[1]
    coef, bias = np.zeros((m, d)), np.full(m, -30.0)
    src = [e.source for e in rows]
    for j, cat in enumerate(FRICTION_CATEGORIES):
        y = np.array([cat in (rows[i].friction or ()) for i in tr_idx])
        if y.sum() == 0 or y.all():
            continue
        yl = ["yes" if v else "no" for v in y]
        model = _fit_lr(x[tr_idx], yl, row_weights([src[i] for i in tr_idx], yl), cfg.c_friction,
                        cfg.max_iter)
        sign = 1.0 if str(model.classes_[1]) == "yes" else -1.0
        coef[j], bias[j] = _f16(sign * model.coef_[0]), sign * model.intercept_[0]
    return coef, bias


def _out_of_source_platt(x: np.ndarray, rows: Sequence[Example], cfg: TrainConfig,
                         val: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-category Platt scaling for text from a source the heads never saw: every source's
    rows are scored by heads fitted (on the training split) without that source, and one
    scaling per category is fitted on those scores, each source weighing the same. None with
    fewer than two sources. In-domain validation makes the probabilities too sure of
    themselves on a new dataset (leave-one-dataset-out, docs/models.md)."""
    sources = sorted({e.source for e in rows})
    if len(sources) < 2:
        return None
    z = np.zeros((len(rows), len(FRICTION_CATEGORIES)))
    scored = np.zeros(z.shape, bool)  # the row's held-out heads learned the category
    for s in sources:
        own = np.array([e.source == s for e in rows])
        tr_idx = np.flatnonzero(~own & ~val)
        coef, bias = _friction_weights(x, rows, cfg, tr_idx)
        z[own] = x[own] @ coef.T + bias
        scored[own] = np.any(coef != 0, axis=1)
    counts = Counter(e.source for e in rows)
    w = np.array([1.0 / counts[e.source] for e in rows])
    pa, pb = np.full(z.shape[1], np.nan), np.full(z.shape[1], np.nan)
    for j, cat in enumerate(FRICTION_CATEGORIES):
        y = np.array([cat in (e.friction or ()) for e in rows], float)[scored[:, j]]
        if 0 < y.sum() < len(y):
            pa[j], pb[j] = _platt(z[scored[:, j], j], y, w[scored[:, j]])
    return pa, pb


def _fit_friction(x: np.ndarray, rows: list[Example], cfg: TrainConfig,
                  val: np.ndarray) -> FrictionHead:
    m = len(FRICTION_CATEGORIES)
    pa, pb, th = np.ones(m), np.zeros(m), np.full(m, 0.5)
    tr_idx, v_idx = np.flatnonzero(~val), np.flatnonzero(val)
    if len(tr_idx) == 0:
        tr_idx = np.arange(len(rows))
    coef, bias = _friction_weights(x, rows, cfg, tr_idx)
    fitted = np.flatnonzero(np.any(coef != 0, axis=1))  # categories with both classes
    for j in fitted:
        y = np.array([FRICTION_CATEGORIES[j] in (e.friction or ()) for e in rows])
        if len(v_idx) >= 20 and 0 < y[v_idx].sum() < len(v_idx):
            z = x[v_idx] @ coef[j] + bias[j]
            pa[j], pb[j] = _platt(z, y[v_idx].astype(float))
            p = _sigmoid(pa[j] * z + pb[j])
            best = -1.0
            for t in np.round(np.arange(0.1, 0.91, 0.05), 2):
                pred = p >= t
                f = _f1((pred & y[v_idx]).sum(), (pred & ~y[v_idx]).sum(),
                        (~pred & y[v_idx]).sum())
                if f > best + 1e-9:
                    best, th[j] = f, float(t)
    shifted = _out_of_source_platt(x, rows, cfg, val) if cfg.out_of_source_calibration else None
    if shifted is not None:
        # new probabilities, same decisions: each threshold moves to the logit it stood at
        for j in fitted:
            a, b = shifted[0][j], shifted[1][j]
            if np.isfinite(a) and a > 0 and pa[j] > 0:
                z_t = (np.log(th[j] / (1 - th[j])) - pb[j]) / pa[j]
                pa[j], pb[j], th[j] = a, b, float(_sigmoid(np.array(a * z_t + b)))
    return FrictionHead(FRICTION_CATEGORIES, coef, bias, pa, pb, th)


def validation_mask(rows: Sequence[Example], cfg: TrainConfig) -> np.ndarray:
    """The rows the heads calibrate on (a hash of the text), never a typo copy."""
    return np.array([in_validation(e.text, cfg.val_fraction) and TYPO_TAG not in e.tags
                     for e in rows], dtype=bool)


def typo_rows(rows: Sequence[Example], cfg: TrainConfig) -> list[Example]:
    """The misspelled copies ``cfg.typo_rate`` asks for (models.augment): the caller embeds
    them and passes ``rows + typo_rows(rows, cfg)`` to :func:`fit_heads`."""
    return typo_copies(rows, cfg.typo_rate, validation_mask(rows, cfg).tolist())


def fit_heads(emb: np.ndarray, rows: list[Example], encoder: str,
              cfg: TrainConfig | None = None, lexical: LexicalConfig | None = None) -> Heads:
    """Fit every head on ``rows`` (embedded as ``emb``; with ``lexical``, hashed n-grams of
    the rows' texts are appended); tasks a row does not label are skipped for that row.
    Deterministic: the validation split is a hash of the text."""
    cfg = cfg or TrainConfig()
    x = head_inputs(emb, [e.text for e in rows], lexical)
    val_all = validation_mask(rows, cfg)

    def task_rows(attr: str) -> np.ndarray:
        return np.array([getattr(e, attr) is not None for e in rows])

    heads: dict[str, Any] = {}
    for task in ("intent", "sentiment", "stage"):
        mask = task_rows(task)
        sub = [e for e, k in zip(rows, mask, strict=True) if k]
        if not sub:
            labels = TASK_LABELS[task]
            heads[task] = MultiHead(labels, np.zeros((len(labels), x.shape[1])),
                                    np.zeros(len(labels)))
            continue
        heads[task] = _fit_multi(x[mask], sub, task, cfg, val_all[mask])
    mask = task_rows("friction")
    friction = _fit_friction(x[mask], [e for e, k in zip(rows, mask, strict=True) if k], cfg,
                             val_all[mask])
    thresholds = {"explicit": 0.5, "at_risk": 0.5}
    mask = task_rows("intent") & val_all
    if cfg.tune_intent_thresholds and mask.sum() >= 20:
        thresholds = _intent_thresholds(heads["intent"], x[mask],
                                        [str(e.intent) for e, k in zip(rows, mask, strict=True)
                                         if k])
    meta = {"training": {"intent_weighting": cfg.intent_weighting,
                         "typo_rate": cfg.typo_rate,
                         "typo_copies": sum(TYPO_TAG in e.tags for e in rows)}}
    return Heads(encoder, heads["intent"], friction, heads["sentiment"], heads["stage"],
                 thresholds, meta, lexical=lexical)
