"""Evaluation: metrics, leave-one-dataset-out runs, baselines, reports (markdown, JSON, PNG).

Every public dataset is evaluated only with heads that did not train on it; the seed set is
evaluated by 5-fold cross-validation (heads trained on the other folds + the public sets).
"""

from __future__ import annotations

import json
import struct
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from detector.signals import FRICTION_CATEGORIES, INTENTS
from models.baselines import (
    ZeroShot,
    keyword_friction,
    keyword_intent,
    keyword_sentiment,
    keyword_stage,
    onehot,
    vader_compound,
    vader_sentiment,
)
from models.cascade import CascadeThresholds, merge, route, route_mask
from models.classifier import Scores, hybrid_scores, score_embeddings
from models.datasets import SENTIMENTS, STAGES, Example
from models.embcache import embed
from models.encoders import Encoder
from models.features import DEFAULT_LEXICAL, STATIC_LEXICAL, LexicalConfig
from models.heads import Heads, TrainConfig, in_validation
from models.projection import fit_projection
from models.static import STATIC_NAME
from models.tokentune import tuned_embeddings

TASK_LABELS = {"intent": INTENTS, "sentiment": SENTIMENTS, "stage": STAGES}


# ---- metrics ------------------------------------------------------------------------------

def ece(conf: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error (equal-width confidence bins)."""
    if len(conf) == 0:
        return 0.0
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() * abs(conf[m].mean() - correct[m].mean())
    return float(total / len(conf))


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4),
            "support": tp + fn}


def multiclass_report(gold: Sequence[str], pred: Sequence[str], proba: np.ndarray | None,
                      labels: Sequence[str]) -> dict[str, Any]:
    """Per-label P/R/F1, macro-F1 over the labels present in ``gold``, calibration error
    (of the probability given to the true label's class, one-vs-rest over all classes),
    confusion matrix."""
    g, p = np.array(gold), np.array(pred)
    present = [lab for lab in labels if (g == lab).any()]
    per = {lab: _prf(int(((p == lab) & (g == lab)).sum()), int(((p == lab) & (g != lab)).sum()),
                     int(((p != lab) & (g == lab)).sum())) for lab in present}
    out: dict[str, Any] = {
        "per_label": per,
        "macro_f1": round(float(np.mean([v["f1"] for v in per.values()])), 4) if per else 0.0,
        "accuracy": round(float((g == p).mean()), 4) if len(g) else 0.0,
        "labels": list(labels),
        "confusion": [[int(((g == a) & (p == b)).sum()) for b in labels] for a in labels],
        "n": len(g),
    }
    if proba is not None:
        truth = onehot(list(gold), labels)
        out["calibration_error"] = round(ece(proba.ravel(), truth.ravel()), 4)
    return out


def binary_report(gold: Sequence[bool], pred: Sequence[bool], prob: np.ndarray | None
                  ) -> dict[str, Any]:
    g, p = np.array(gold, bool), np.array(pred, bool)
    out: dict[str, Any] = _prf(int((g & p).sum()), int((~g & p).sum()), int((g & ~p).sum()))
    out["macro_f1"] = out["f1"]
    out["confusion"] = [[int((~g & ~p).sum()), int((~g & p).sum())],
                        [int((g & ~p).sum()), int((g & p).sum())]]
    out["labels"] = ["no", "yes"]
    out["n"] = len(g)
    if prob is not None:
        out["calibration_error"] = round(ece(prob, g.astype(float)), 4)
    return out


def multilabel_report(gold: Sequence[tuple[str, ...]], pred: Sequence[tuple[str, ...]],
                      proba: np.ndarray | None) -> dict[str, Any]:
    """Per-category P/R/F1 over the categories present in ``gold``; macro-F1 over them;
    calibration error over their binary probabilities; confusion of the primary category."""
    present = [c for c in FRICTION_CATEGORIES if any(c in g for g in gold)]
    per = {}
    for c in present:
        gy = np.array([c in g for g in gold])
        py = np.array([c in p for p in pred])
        per[c] = _prf(int((gy & py).sum()), int((~gy & py).sum()), int((gy & ~py).sum()))
    out: dict[str, Any] = {
        "per_label": per,
        "macro_f1": round(float(np.mean([v["f1"] for v in per.values()])), 4) if per else 0.0,
        "n": len(gold),
    }
    labels = ["none", *FRICTION_CATEGORIES]
    prim_g = [g[0] if g else "none" for g in gold]
    if proba is not None:
        prim_p = []
        for row, p in zip(proba, pred, strict=True):
            cand = [c for c in FRICTION_CATEGORIES if c in p]
            prim_p.append(max(cand, key=lambda c: row[FRICTION_CATEGORIES.index(c)])
                          if cand else "none")
        cols = [FRICTION_CATEGORIES.index(c) for c in present]
        truth = np.array([[c in g for c in present] for g in gold], float)
        out["calibration_error"] = round(ece(proba[:, cols].ravel(), truth.ravel()), 4)
    else:
        prim_p = [p[0] if p else "none" for p in pred]
    out["labels"] = labels
    out["confusion"] = [[sum(1 for x, y in zip(prim_g, prim_p, strict=True) if x == a and y == b)
                         for b in labels] for a in labels]
    return out


# ---- PNG (no plotting dependency) ---------------------------------------------------------

def write_confusion_png(matrix: Sequence[Sequence[int]], path: Path, cell: int = 28) -> None:
    """A heat-map of a confusion matrix (rows: gold, columns: predicted), row-normalised."""
    m = np.array(matrix, float)
    norm = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    k = len(m)
    size = k * cell
    img = np.full((size, size, 3), 255, np.uint8)
    for i in range(k):
        for j in range(k):
            v = norm[i, j]
            colour = (int(255 - 200 * v), int(255 - 150 * v), 255) if i == j else (
                255, int(255 - 200 * v), int(255 - 200 * v))
            img[i * cell + 1:(i + 1) * cell - 1, j * cell + 1:(j + 1) * cell - 1] = colour
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(size))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    path.write_bytes(png)


# ---- evaluation of one held-out set ------------------------------------------------------

def _task_reports(rows: Sequence[Example], preds: dict[str, Any], tasks: Sequence[str]
                  ) -> dict[str, Any]:
    """Reports of one system (``preds``: task -> (proba or None, labels)) on ``rows``."""
    out: dict[str, Any] = {}
    for task in tasks:
        base = {"explicit": "intent", "friction_any": "friction"}.get(task, task)
        if task not in preds and base not in preds:
            continue
        if task in ("intent", "sentiment", "stage"):
            idx = [i for i, e in enumerate(rows) if getattr(e, task) is not None]
            proba, labels = preds[task]
            out[task] = multiclass_report([getattr(rows[i], task) for i in idx],
                                          [labels[i] for i in idx],
                                          proba[idx] if proba is not None else None,
                                          TASK_LABELS[task])
        elif task == "explicit":
            if "intent" not in preds:
                continue
            proba, labels = preds["intent"]
            idx = [i for i, e in enumerate(rows) if e.intent is not None]
            out[task] = binary_report([rows[i].intent == "explicit" for i in idx],
                                      [labels[i] == "explicit" for i in idx],
                                      proba[idx, INTENTS.index("explicit")]
                                      if proba is not None else None)
        elif task == "friction":
            idx = [i for i, e in enumerate(rows) if e.friction is not None]
            proba, labels = preds["friction"]
            out[task] = multilabel_report([rows[i].friction or () for i in idx],
                                          [labels[i] for i in idx],
                                          proba[idx] if proba is not None else None)
        elif task == "friction_any":
            idx = [i for i, e in enumerate(rows) if e.friction is not None]
            if "friction_any" in preds:
                prob, flags = preds["friction_any"]
            else:  # derived from the category decisions; no probability of it is served
                _, labels = preds["friction"]
                flags, prob = [bool(x) for x in labels], None
            out[task] = binary_report([bool(rows[i].friction) for i in idx],
                                      [flags[i] for i in idx],
                                      prob[idx] if prob is not None else None)
    return out


def model_preds(s: Scores) -> dict[str, Any]:
    return {"intent": (s.intent, s.intent_labels), "friction": (s.friction, s.friction_labels),
            "sentiment": (s.sentiment, [SENTIMENTS[j] for j in s.sentiment.argmax(axis=1)]),
            "stage": (s.stage, [STAGES[j] for j in s.stage.argmax(axis=1)])}


def baseline_preds(rows: Sequence[Example], zero_shot: ZeroShot | None, x: np.ndarray | None
                   ) -> dict[str, dict[str, Any]]:
    texts = [e.text for e in rows]
    out: dict[str, dict[str, Any]] = {
        "keywords": {"intent": (None, keyword_intent(texts)),
                     "friction": (None, keyword_friction(texts)),
                     "sentiment": (None, keyword_sentiment(texts)),
                     "stage": (None, keyword_stage(texts))},
    }
    comp = vader_compound(texts)
    out["vader"] = {"sentiment": (None, vader_sentiment(comp)),
                    "friction_any": (None, [c <= -0.05 for c in comp])}
    if zero_shot is not None and x is not None:
        out["zero_shot"] = zero_shot.predict(x)
    return out


def tune_cascade(static: Scores, strong: Scores, static_heads: Heads, rows: Sequence[Example],
                 tolerance: float = 0.005) -> tuple[CascadeThresholds, float]:
    """Cheapest thresholds whose mean macro-F1 (intent, friction) on ``rows`` is within
    ``tolerance`` of the transformer's. Returns them and the routed fraction."""
    tasks = ("intent", "friction")

    def quality(s: Scores) -> float:
        rep = _task_reports(rows, model_preds(s), tasks)
        return float(np.mean([rep[t]["macro_f1"] for t in tasks if t in rep]))

    target = quality(strong) - tolerance
    best: tuple[float, CascadeThresholds] | None = None
    for churn in (0.05, 0.1, 0.2, 0.4):
        for conf in (0.5, 0.7, 0.9):
            for band in (0.0, 0.1, 0.2):
                t = CascadeThresholds(churn, conf, band)
                mask = route_mask(static, static_heads.friction.thresholds, t)
                frac = float(mask.mean())
                if best is not None and frac >= best[0]:
                    continue
                sub = Scores(strong.intent[mask], [x for x, m in zip(strong.intent_labels, mask,
                             strict=True) if m], strong.friction[mask],
                             [x for x, m in zip(strong.friction_labels, mask, strict=True) if m],
                             strong.sentiment[mask], strong.stage[mask], strong.stage_labels)
                if quality(merge(static, sub, mask)) >= target:
                    best = (frac, t)
    if best is None:
        return CascadeThresholds(1.0, 1.01, 1.0), 1.0
    return best[1], best[0]


def _subset(s: Scores, mask: np.ndarray) -> Scores:
    return Scores(s.intent[mask], [x for x, m in zip(s.intent_labels, mask, strict=True) if m],
                  s.friction[mask],
                  [x for x, m in zip(s.friction_labels, mask, strict=True) if m],
                  s.sentiment[mask], s.stage[mask], s.stage_labels)


def _is_static(kind: str) -> bool:
    """Whether ``kind`` (an encoder kind or an encoder's name) is the static model."""
    return kind in ("static", STATIC_NAME)


def lexical_for(kind: str) -> LexicalConfig | None:
    """Lexical features for the heads of an encoder (``kind`` or the encoder's name): none for
    the hashing test encoder (a bag of hashed n-grams already), :data:`STATIC_LEXICAL` for
    the static model, :data:`DEFAULT_LEXICAL` for the transformer."""
    if kind == "hashing" or kind.startswith("hashing-"):
        return None
    return STATIC_LEXICAL if _is_static(kind) else DEFAULT_LEXICAL


# The static heads weigh the churn-intent labels equally, each shared by the sources that
# have it: CLINC150 (all rows intent none) would otherwise put a whole source's share on
# none and make the bag-of-tokens heads too slow to call "explicit". Chosen
# leave-one-dataset-out (docs/models.md); the transformer's heads keep per-source weights.
# They also train on one misspelled copy of each training row (models.augment): the static
# path reads exact spellings (word pairs, cues, token vectors), and customers misspell.
STATIC_TRAIN = TrainConfig(intent_weighting="label", typo_rate=1.0)


def train_config_for(kind: str) -> TrainConfig:
    """Training settings for the heads of an encoder (``kind`` or the encoder's name):
    :data:`STATIC_TRAIN` for the static model, the defaults otherwise."""
    return STATIC_TRAIN if _is_static(kind) else TrainConfig()


class Evaluator:
    """Runs leave-one-dataset-out evaluation for the encoders and baselines."""

    def __init__(self, encoders: dict[str, Encoder], taxonomy_rows: Sequence[Example],
                 zero_shot: ZeroShot | None, cache_dir: Path | None,
                 tune_static: bool = True) -> None:
        self.encoders = encoders  # "transformer", "static" (either may be missing)
        self.tune_static = tune_static
        self.taxonomy_rows = list(taxonomy_rows)
        self.zero_shot = zero_shot
        self.cache_dir = cache_dir

    def _x(self, kind: str, rows: Sequence[Example]) -> np.ndarray:
        return embed(self.encoders[kind], [e.text for e in rows], self.cache_dir)

    def run_fold(self, train: Sequence[Example], test: Sequence[Example], tasks: Sequence[str],
                 unlabelled: Sequence[str] = ()) -> dict[str, Any]:
        """Fit heads on ``train``; report every system on ``test``."""
        return report_fold(self.score_fold(train, test, unlabelled), tasks)

    def score_fold(self, train: Sequence[Example], test: Sequence[Example],
                   unlabelled: Sequence[str] = ()) -> FoldScores:
        """Fit heads on ``train``; every system's predictions on ``test``. The tuned static
        table is trained on the texts of ``train`` and ``unlabelled`` (never ``test``'s)."""
        systems: dict[str, dict[str, Any]] = {}
        scores: dict[str, Scores] = {}
        heads: dict[str, Heads] = {}
        from models.train import fit_for, presence_for, tune_static

        val = [e for e in train if in_validation(e.text, 0.2)]
        val_scores: dict[str, Scores] = {}
        for kind in self.encoders:
            heads[kind] = fit_for(self.encoders[kind], train, self._x(kind, train),
                                  train_config_for(kind), lexical_for(kind))
            scores[kind] = score_embeddings(heads[kind], self._x(kind, test),
                                            [e.text for e in test])
            val_scores[kind] = score_embeddings(heads[kind], self._x(kind, val),
                                                [e.text for e in val])
            systems[kind] = model_preds(scores[kind])
        extra: dict[str, Any] = {}
        if "static" in scores and "transformer" in scores:
            texts = [e.text for e in test]
            vrows = [e for e in val if e.intent is not None or e.friction is not None]
            vmask = np.array([e.intent is not None or e.friction is not None for e in val])
            t, vfrac = tune_cascade(_subset(val_scores["static"], vmask),
                                    _subset(val_scores["transformer"], vmask), heads["static"],
                                    vrows)
            first, routing_heads = scores["static"], heads["static"]
            uncapped = None
            if self.tune_static:  # the hybrid static path, its table tuned on this fold only
                st: Any = self.encoders["static"]
                table = tune_static(st, self.encoders["transformer"],
                                    [e.text for e in train] + list(unlabelled), self.cache_dir)
                presence = presence_for(st, table, heads["transformer"], train)
                tuned = tuned_embeddings(st.tokenize, st.table, table, texts)
                tuned_scores = score_embeddings(heads["transformer"], tuned, texts)
                uncapped = tuned_scores.friction
                first = hybrid_scores(scores["static"], tuned_scores, heads["static"],
                                      heads["transformer"].friction.thresholds, presence, tuned)
                routing_heads = heads["transformer"]
                systems["static (distilled only)"] = systems["static"]
                systems["static"] = model_preds(first)
            proj = fit_projection(self._x("static", train), self._x("transformer", train),
                                  self.encoders["static"].name, heads["transformer"].encoder)
            second = score_embeddings(heads["transformer"], proj.apply(self._x("static", test)),
                                      texts)
            mask, rule = route(scores["static"], first, routing_heads.friction.thresholds, t,
                               second, uncapped)
            merged = merge(first, _subset(scores["transformer"], mask), mask)
            systems["cascade"] = model_preds(merged)
            extra["cascade"] = {"thresholds": t.__dict__, "routed": int(mask.sum()),
                                "routed_rule_only": int(rule.sum()),
                                "routed_fraction_validation_rule_only": round(vfrac, 4)}
        x_zs = self._x("transformer", test) if "transformer" in self.encoders else None
        systems.update(baseline_preds(test, self.zero_shot, x_zs))
        extra["intent_thresholds"] = {k: h.intent_thresholds for k, h in heads.items()}
        return FoldScores(list(test), systems, extra, len(train))


def seed_folds(seed: Sequence[Example], k: int = 5) -> list[tuple[list[Example], list[Example]]]:
    """Deterministic k-fold split of the seed set (by a hash of the text)."""
    import hashlib

    def fold(e: Example) -> int:
        return int.from_bytes(hashlib.sha256(e.text.encode()).digest()[:4], "little") % k

    return [([e for e in seed if fold(e) != f], [e for e in seed if fold(e) == f])
            for f in range(k)]


@dataclass
class FoldScores:
    """Every system's predictions (task -> (probabilities or None, labels)) on one held-out
    set, plus what the fold reports beside them (cascade routing, intent thresholds)."""

    rows: list[Example]
    systems: dict[str, dict[str, Any]]
    extra: dict[str, Any] = field(default_factory=dict)
    n_train: int = 0


def _concat(parts: Sequence[tuple[Any, Any]]) -> tuple[Any, list[Any]]:
    probs = [p for p, _ in parts]
    proba = None if any(p is None for p in probs) else np.concatenate(probs)
    return proba, [lab for _, labels in parts for lab in labels]


def pool_folds(folds: Sequence[FoldScores]) -> FoldScores:
    """Cross-validation folds pooled into one held-out set: each row keeps the prediction of
    the fold that held it out, and every metric (macro-F1, calibration error) is computed
    once over all rows, not averaged over folds (a 90-row fold's calibration error is
    mostly sampling noise)."""
    if not folds:
        raise ValueError("no folds to pool")
    names = [n for n in folds[0].systems if all(n in f.systems for f in folds)]
    systems = {n: {task: _concat([f.systems[n][task] for f in folds])
                   for task in folds[0].systems[n] if all(task in f.systems[n] for f in folds)}
               for n in names}
    extra: dict[str, Any] = {"folds": len(folds)}
    cascades = [f.extra["cascade"] for f in folds if "cascade" in f.extra]
    if len(cascades) == len(folds):
        extra["cascade"] = {k: sum(c[k] for c in cascades) for k in ("routed", "routed_rule_only")}
    return FoldScores([e for f in folds for e in f.rows], systems, extra,
                      round(float(np.mean([f.n_train for f in folds]))))


def report_fold(fold: FoldScores, tasks: Sequence[str]) -> dict[str, Any]:
    """The report of every system on the fold's held-out rows."""
    n = len(fold.rows)
    out: dict[str, Any] = {
        "systems": {name: _task_reports(fold.rows, preds, tasks)
                    for name, preds in fold.systems.items()},
        **{k: v for k, v in fold.extra.items() if k != "cascade"},
        "n_train": fold.n_train, "n_test": n, "tasks": list(tasks)}
    if "cascade" in fold.extra and n:
        c = dict(fold.extra["cascade"])
        c["routed_fraction"] = round(c.pop("routed") / n, 4)
        c["routed_fraction_rule_only"] = round(c.pop("routed_rule_only") / n, 4)
        out["cascade"] = c
    return out


def throughput(encoders: dict[str, Encoder], cascade_fn: Any, texts: Sequence[str],
               batch: int = 64) -> dict[str, float]:
    """Encode throughput (events/s) of each path on ``texts`` (no embedding cache)."""
    out = {}
    for name, enc in encoders.items():
        enc.encode(list(texts[:batch]))  # warm-up
        t0 = time.perf_counter()
        for i in range(0, len(texts), batch):
            enc.encode(list(texts[i:i + batch]))
        out[name] = round(len(texts) / (time.perf_counter() - t0), 1)
    if cascade_fn is not None:
        t0 = time.perf_counter()
        for i in range(0, len(texts), batch):
            cascade_fn(list(texts[i:i + batch]))
        out["cascade"] = round(len(texts) / (time.perf_counter() - t0), 1)
    return out


def with_split(rows: Sequence[Example], split: str) -> list[Example]:
    return [replace(e, split=split) for e in rows]


# ---- reports ------------------------------------------------------------------------------

TASK_TITLES = {"intent": "churn intent", "explicit": "explicit churn vs rest",
               "friction": "friction categories", "friction_any": "any friction",
               "sentiment": "sentiment", "stage": "journey stage"}


def write_reports(result: dict[str, Any], out_dir: Path) -> None:
    """``eval.json``, ``eval.md`` and one confusion-matrix PNG per dataset, task, model."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "eval.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    lines = ["# Signal model evaluation", "",
             "Leave-one-dataset-out: each public set is scored by heads that never trained on "
             "it; the seed set by 5-fold cross-validation, its folds pooled (each row scored "
             "by the fold that held it out, every metric computed once over all rows). "
             "Macro-F1 over the labels present; calibration error = expected calibration "
             "error (10 bins) of the probabilities `score` serves (churn intent, each friction "
             "category, sentiment, stage). \"Any friction\" is decided from the category "
             "decisions; no probability of it is served, so it has no calibration error.",
             ""]
    if any("static (distilled only)" in rep["systems"] for rep in result["datasets"].values()):
        lines += ["`static` is the static path as served: churn intent from the static heads; "
                  "friction, sentiment and stage from the transformer's heads reading the tuned "
                  "static embedding, its token table tuned on the fold's training and unlabelled "
                  "texts only (never the held-out set's). `static (distilled only)` is the "
                  "distilled model with its own heads. The static heads read, besides the "
                  "embedding and hashed n-grams, the two churn-intent cues of the `keywords` "
                  "baseline (`models.cues`) as features, weighted by training. `static-tuned` "
                  "throughput is the tuned encoder alone; the static path runs both encoders.",
                  ""]
    if "throughput" in result:
        lines += ["## Encode throughput (events/s, this machine)", "",
                  "| path | events/s |", "| --- | ---: |"]
        lines += [f"| {k} | {v} |" for k, v in result["throughput"].items()]
        lines.append("")
    for ds, rep in result["datasets"].items():
        lines += [f"## {ds}", ""]
        if "cascade" in rep:
            c = rep["cascade"]
            rule = (f" ({c['routed_fraction_rule_only']:.1%} by the probability rule alone, the "
                    "rest because the projected opinion disagreed)"
                    if "routed_fraction_rule_only" in c else "")
            lines += [f"Cascade sends {c['routed_fraction']:.1%} of events to the "
                      f"transformer{rule}.", ""]
        systems = rep["systems"]
        tasks = [t for t in TASK_TITLES if any(t in s for s in systems.values())]
        lines += ["| task | " + " | ".join(systems) + " |",
                  "| --- |" + " ---: |" * len(systems)]
        for t in tasks:
            cells = []
            for s in systems.values():
                r = s.get(t)
                if r is None:
                    cells.append("n/a")
                else:
                    ce = r.get("calibration_error")
                    cells.append(f"{r['macro_f1']:.3f}" + (f" (ce {ce:.3f})" if ce is not None
                                                           else ""))
            lines.append(f"| {TASK_TITLES[t]} | " + " | ".join(cells) + " |")
        lines.append("")
        for model in ("transformer", "static", "cascade"):
            if model not in systems:
                continue
            for t in tasks:
                r = systems[model].get(t)
                if not r or "per_label" not in r:
                    continue
                lines += [f"### {ds} / {model} / {TASK_TITLES[t]}", "",
                          "| label | precision | recall | F1 |", "| --- | ---: | ---: | ---: |"]
                lines += [f"| {lab} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} |"
                          for lab, v in r["per_label"].items()]
                png = f"confusion-{ds}-{model}-{t}.png"
                write_confusion_png(r["confusion"], out_dir / png)
                lines += ["", f"Confusion (rows gold, columns predicted; {', '.join(r['labels'])})"
                          f": `{r['confusion']}` ![]({png})", ""]
    (out_dir / "eval.md").write_text("\n".join(lines) + "\n")
