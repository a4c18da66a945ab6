"""Training: pools of labelled examples, embeddings, heads and artifacts.

``churn-detector train`` calls :func:`train_bundled` (seed set + taxonomy examples + the
public sets, written to ``models/artifacts/<encoder>/``) or :func:`train_user` (a user's
labelled file; tasks the file does not label fall back to the seed set).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from detector.signals import FRICTION_CATEGORIES, INTENTS
from models.datasets import (
    PUBLIC_DATASETS,
    SENTIMENTS,
    STAGES,
    Example,
    data_hash,
)
from models.embcache import embed
from models.encoders import Encoder
from models.heads import Heads, TrainConfig, fit_heads, typo_rows


def taxonomy_examples(taxonomy: dict[str, Any]) -> list[Example]:
    """The taxonomy's descriptions and examples as single-task training rows."""
    rows: list[Example] = []

    def texts(section: str, label: str) -> list[str]:
        entry = taxonomy[section].get(label) or {}
        return [t for t in [entry.get("description", "")] + list(entry.get("examples", [])) if t]

    for label in INTENTS:
        rows += [Example(t, "taxonomy", intent=label) for t in texts("intents", label)]
    for cat in FRICTION_CATEGORIES:
        rows += [Example(t, "taxonomy", friction=(cat,)) for t in texts("friction", cat)]
    rows += [Example(t, "taxonomy", friction=()) for t in texts("friction", "_none")]
    for label in SENTIMENTS:
        rows += [Example(t, "taxonomy", sentiment=label) for t in texts("sentiment", label)]
    for label in STAGES:
        rows += [Example(t, "taxonomy", stage=label) for t in texts("journey_stages", label)]
    return rows


def train_rows(name: str, rows: Sequence[Example]) -> list[Example]:
    """Rows of a public dataset usable for training (Bitext has no split: all rows)."""
    if name == "bitext":
        return list(rows)
    return [e for e in rows if e.split == "train"]


def test_rows(name: str, rows: Sequence[Example]) -> list[Example]:
    """Held-out rows of a public dataset (never training rows)."""
    return [e for e in rows if e.split == "test"]


def cap_per_label(rows: Sequence[Example], cap: int) -> list[Example]:
    """At most ``cap`` rows per original label, chosen by a hash of the text (deterministic):
    keeps every intent of a public set while stopping its size from drowning the seed set."""
    groups: dict[str, list[Example]] = {}
    for e in rows:
        groups.setdefault(e.original_label, []).append(e)
    out: list[Example] = []
    for label in sorted(groups):
        ranked = sorted(groups[label], key=lambda e: hashlib.sha256(e.text.encode()).digest())
        out += ranked[:cap]
    return out


def pool(seed: Sequence[Example], taxonomy: Sequence[Example],
         public: dict[str, list[Example]], exclude: Iterable[str] = (),
         cap: int = 40) -> list[Example]:
    """The training pool: seed + taxonomy + the public sets not excluded (train splits,
    at most ``cap`` rows per original intent)."""
    skip = set(exclude)
    out = list(seed) + list(taxonomy)
    for name in PUBLIC_DATASETS:
        if name in public and name not in skip:
            out += cap_per_label(train_rows(name, public[name]), cap)
    return out


def fit_on(encoder: Encoder, rows: Sequence[Example], cache_dir: Path | None,
           cfg: TrainConfig | None = None) -> Heads:
    """Embed ``rows`` (disk-cached) and fit heads on them."""
    from models.evaluate import lexical_for, train_config_for

    x = embed(encoder, [e.text for e in rows], cache_dir)
    return fit_for(encoder, rows, x, cfg or train_config_for(encoder.name),
                   lexical_for(encoder.name))


def fit_for(encoder: Encoder, rows: Sequence[Example], x: np.ndarray, cfg: TrainConfig,
            lexical: Any) -> Heads:
    """Fit heads on ``rows`` (embedded as ``x``) and on the typo copies ``cfg`` asks for
    (``models.augment``), embedded here in memory: they never enter the embedding cache."""
    extra = typo_rows(rows, cfg)
    if extra:
        x = np.vstack([x, embed(encoder, [e.text for e in extra], None)])
    return fit_heads(x, list(rows) + extra, encoder.name, cfg, lexical=lexical)


def tune_static(static: Any, strong: Encoder, texts: Sequence[str], cache_dir: Path | None,
                cfg: Any = None) -> Any:
    """A tuned static table (``models.tokentune``) trained on ``texts`` (deduplicated) with
    the transformer's embeddings of them as targets, starting from a ridge map."""
    from models.projection import fit_projection
    from models.tokentune import train_tuned_table

    unique = list(dict.fromkeys(texts))
    base = embed(static, unique, cache_dir)
    goal = embed(strong, unique, cache_dir)
    init = fit_projection(base, goal, static.name, strong.name)
    return train_tuned_table(static.tokenize, static.table, unique, goal, init.matrix,
                             static.name, strong.name, cfg)


def presence_for(static: Any, table: Any, strong_heads: Heads, rows: Sequence[Example]
                 ) -> Any:
    """The static path's friction presence model (``models.presence``) for a tuned ``table``:
    the gate fitted on the training split of ``rows``, the presence model on the validation
    split scored by the transformer's heads (``strong_heads``) reading the tuned table."""
    from models.classifier import STATIC_FRICTION_SCALE, score_embeddings
    from models.heads import in_validation
    from models.presence import fit_presence
    from models.tokentune import tuned_embeddings

    val = np.array([in_validation(e.text, 0.2) for e in rows])
    emb = tuned_embeddings(static.tokenize, static.table, table, [e.text for e in rows])
    train_rows = [e for e, v in zip(rows, val, strict=True) if not v]
    val_rows = [e for e, v in zip(rows, val, strict=True) if v]
    scored = score_embeddings(strong_heads, emb[val], [e.text for e in val_rows])
    return fit_presence(emb[~val], train_rows, emb[val], val_rows, scored.friction,
                        scored.sentiment,
                        np.asarray(strong_heads.friction.thresholds) * STATIC_FRICTION_SCALE,
                        table.target)


def unlabelled_texts(public: dict[str, list[Example]], exclude: Iterable[str] = ()
                     ) -> list[str]:
    """Every training-split text of the public sets not excluded (for the tuned static
    table, which needs text but no labels)."""
    skip = set(exclude)
    return [e.text for name in PUBLIC_DATASETS if name in public and name not in skip
            for e in train_rows(name, public[name])]


def taxonomy_hash(taxonomy: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(taxonomy, sort_keys=True).encode()).hexdigest()


def with_source(rows: Sequence[Example], source: str) -> list[Example]:
    return [replace(e, source=source) for e in rows]


def data_summary(parts: dict[str, Sequence[Example]]) -> dict[str, Any]:
    """Per-source row counts and data hashes for artifact metadata."""
    return {name: {"rows": len(rows), "sha256": data_hash(rows)} for name, rows in parts.items()}


def embeddings_for(encoder: Encoder, rows: Sequence[Example], cache_dir: Path | None
                   ) -> np.ndarray:
    return embed(encoder, [e.text for e in rows], cache_dir)


# ---- the commands -----------------------------------------------------------------------

LEXICAL_MIN_USER_ROWS = 200  # user files smaller than this train embedding-only heads
PUBLIC_TASKS = ("intent", "explicit", "friction", "friction_any")
SEED_TASKS = ("intent", "explicit", "friction", "friction_any", "sentiment", "stage")


def _encoders(kinds: Sequence[str], cache_dir: Path) -> dict[str, Encoder]:
    from models.encoders import build_encoder

    return {k: build_encoder(k, 0, cache_dir) for k in kinds}


def run_eval(data_root: Path | None, out_dir: Path, cache_dir: Path,
             kinds: Sequence[str] = ("transformer", "static"), limit: int | None = None,
             seed: Sequence[Example] | None = None, taxonomy: dict[str, Any] | None = None,
             ) -> dict[str, Any]:
    """Leave-one-dataset-out evaluation of every encoder + baselines; writes the reports.

    ``limit`` caps the rows of each held-out set (deterministic subset; for quick checks).
    """
    from models.baselines import ZeroShot
    from models.classifier import load_taxonomy
    from models.datasets import load_public, load_seed
    from models.evaluate import (
        Evaluator,
        pool_folds,
        report_fold,
        seed_folds,
        throughput,
        write_reports,
    )

    taxonomy = taxonomy or load_taxonomy()
    seed = list(seed if seed is not None else load_seed())
    tax_rows = taxonomy_examples(taxonomy)
    public = load_public(data_root) if data_root is not None else {}
    encoders = _encoders(kinds, cache_dir)
    zs = ZeroShot(encoders["transformer"], taxonomy) if "transformer" in encoders else None
    ev = Evaluator(encoders, tax_rows, zs, cache_dir)
    datasets: dict[str, Any] = {}
    for name in public:
        held = public[name]
        test = held if name == "bitext" else test_rows(name, held)
        if limit:
            test = cap_per_label(test, max(1, limit // max(1, len({e.original_label
                                                                  for e in test}))))
        tasks = PUBLIC_TASKS if len({e.intent for e in test}) > 1 else ("friction",
                                                                          "friction_any")
        datasets[name] = ev.run_fold(pool(seed, tax_rows, public, exclude=[name]), test, tasks,
                                     unlabelled_texts(public, exclude=[name]))
    folds = [ev.score_fold(pool(tr, tax_rows, public), te, unlabelled_texts(public))
             for tr, te in seed_folds(seed)]
    datasets["seed (5-fold CV)"] = report_fold(pool_folds(folds), SEED_TASKS)
    result: dict[str, Any] = {"datasets": datasets, "encoders": {k: e.name for k, e in
                                                                 encoders.items()}}
    if "transformer" in encoders and "static" in encoders:
        texts = [e.text for e in seed] * 4
        try:
            from models import bundled_artifacts, load_cascade

            casc = load_cascade(bundled_artifacts(), encoders["static"], encoders["transformer"],
                                0, cache_dir)
            from datetime import UTC, datetime

            from detector.schema import Event

            def run(batch: list[str]) -> None:
                casc.classify([Event(event_id=str(i), customer_id="c", channel="chat",
                                     occurred_at=datetime.now(UTC), text=t)
                               for i, t in enumerate(batch)], keep_embeddings=False)
            paths = {"static-tuned": casc.tuned_encoder} if casc.tuned_encoder is not None else {}
            result["throughput"] = throughput({**encoders, **paths}, run, texts)
            result["throughput_cascade_routed_fraction"] = round(casc.routed / casc.seen, 4)
        except Exception as exc:  # artifacts missing: throughput of the encoders only
            result["throughput"] = throughput(encoders, None, texts)
            result["throughput_note"] = f"cascade not measured: {exc}"
    write_reports(result, out_dir)
    return result


def train_bundled(data_root: Path | None, out_dir: Path, cache_dir: Path,
                  kinds: Sequence[str] = ("transformer", "static"),
                  seed: Sequence[Example] | None = None) -> dict[str, Any]:
    """Train the shipped heads (seed + taxonomy + public sets) into ``out_dir/<encoder>/`` and
    tune the cascade thresholds (``out_dir/cascade.json``). Deterministic."""
    from models.cascade import CascadeThresholds, route
    from models.classifier import hybrid_scores, load_taxonomy, score_embeddings
    from models.datasets import load_public, load_seed
    from models.evaluate import _subset, tune_cascade
    from models.heads import in_validation
    from models.projection import fit_projection
    from models.tokentune import tuned_embeddings

    taxonomy = load_taxonomy()
    seed = list(seed if seed is not None else load_seed())
    tax_rows = taxonomy_examples(taxonomy)
    public = load_public(data_root) if data_root is not None else {}
    rows = pool(seed, tax_rows, public)
    parts: dict[str, Sequence[Example]] = {"seed": seed, "taxonomy": tax_rows}
    parts.update({n: cap_per_label(train_rows(n, r), 40) for n, r in public.items()})
    encoders = _encoders(kinds, cache_dir)
    heads = {}
    metas = {}
    for kind, enc in encoders.items():
        h = fit_on(enc, rows, cache_dir)
        metas[kind] = h.save(out_dir / kind, {
            "encoder_kind": kind, "taxonomy_version": taxonomy.get("version", "custom"),
            "taxonomy_sha256": taxonomy_hash(taxonomy), "data": data_summary(parts),
            "intent_thresholds": h.intent_thresholds,
            "friction_thresholds": dict(zip(h.friction.labels,
                                            [round(float(t), 4) for t in h.friction.thresholds],
                                            strict=True)),
        })
        heads[kind] = h
    if "static" in heads and "transformer" in heads:
        val = [e for e in rows if in_validation(e.text, 0.2)
               and (e.intent is not None or e.friction is not None)]
        vt = [e.text for e in val]
        s = score_embeddings(heads["static"], embeddings_for(encoders["static"], val, cache_dir),
                             vt)
        t = score_embeddings(heads["transformer"],
                             embeddings_for(encoders["transformer"], val, cache_dir), vt)
        mask = np.ones(len(val), bool)
        th, frac = tune_cascade(_subset(s, mask), _subset(t, mask), heads["static"], val)
        proj = fit_projection(embeddings_for(encoders["static"], rows, cache_dir),
                              embeddings_for(encoders["transformer"], rows, cache_dir),
                              encoders["static"].name, heads["transformer"].encoder)
        proj.save(out_dir, {"data": data_summary(parts)})
        static_enc: Any = encoders["static"]  # the StaticEncoder itself (no LRU wrapper)
        tuned = tune_static(static_enc, encoders["transformer"],
                            [e.text for e in rows] + unlabelled_texts(public), cache_dir)
        metas["tuned"] = tuned.save(out_dir / "static", {"data": data_summary(parts)})
        presence = presence_for(static_enc, tuned, heads["transformer"], rows)
        metas["presence"] = presence.save(out_dir / "static", {"data": data_summary(parts)})
        second = score_embeddings(heads["transformer"], proj.apply(
            embeddings_for(encoders["static"], val, cache_dir)), vt)
        vtuned = tuned_embeddings(static_enc.tokenize, static_enc.table, tuned, vt)
        tuned_scores = score_embeddings(heads["transformer"], vtuned, vt)
        first = hybrid_scores(s, tuned_scores, heads["static"],
                              heads["transformer"].friction.thresholds, presence, vtuned)
        routed, _ = route(s, first, heads["transformer"].friction.thresholds, th, second,
                          tuned_scores.friction)
        extra = {"routed_fraction_validation": round(float(routed.mean()), 4),
                 "routed_fraction_validation_rule_only": round(frac, 4)}
        CascadeThresholds.save(th, out_dir / "cascade.json", extra)
        metas["cascade"] = {"thresholds": th.__dict__, **extra}
    return metas


def train_user(data: Path, out_dir: Path, cache_dir: Path, kind: str = "transformer"
               ) -> dict[str, Any]:
    """Train heads on a user's labelled file (tasks it lacks fall back to the seed set),
    save them to ``out_dir/<kind>/`` and write a cross-validated eval report to ``out_dir``."""
    from models.classifier import load_taxonomy
    from models.datasets import load_seed, load_user_file
    from models.evaluate import (
        FoldScores,
        lexical_for,
        model_preds,
        pool_folds,
        report_fold,
        seed_folds,
        train_config_for,
        write_reports,
    )

    user = load_user_file(data)
    taxonomy = load_taxonomy()
    fill = _fallback_rows(user, load_seed())
    rows = list(user) + fill
    enc = _encoders([kind], cache_dir)[kind]
    cache = None if kind == "hashing" else cache_dir
    x_all = embed(enc, [e.text for e in rows], cache)
    # hashed n-grams need data: a few-shot file trains embedding-only heads (they generalise
    # better from a handful of rows per label)
    lexical = lexical_for(kind) if len(user) >= LEXICAL_MIN_USER_ROWS else None
    cfg = train_config_for(kind)
    h = fit_for(enc, rows, x_all, cfg, lexical)
    meta = h.save(out_dir / kind, {
        "encoder_kind": kind, "taxonomy_version": taxonomy.get("version", "custom"),
        "taxonomy_sha256": taxonomy_hash(taxonomy),
        "data": data_summary({"user": user, "seed_fallback": fill}),
        "source_file": {"name": data.name, "sha256": hashlib.sha256(data.read_bytes())
                        .hexdigest()},
    })
    # cross-validated report on the user's own rows (4 folds)
    from models.classifier import score_embeddings

    tasks = [t for t in ("intent", "explicit", "friction", "friction_any", "sentiment", "stage")
             if any(getattr(e, t.split("_")[0] if t != "explicit" else "intent") is not None
                    for e in user)]
    folds = seed_folds(user, 4)
    scored = []
    for tr, te in folds:
        if not te or not tr:
            continue
        train = tr + fill
        hf = fit_for(enc, train, embed(enc, [e.text for e in train], cache), cfg, lexical)
        s = score_embeddings(hf, embed(enc, [e.text for e in te], cache), [e.text for e in te])
        scored.append(FoldScores(list(te), {kind: model_preds(s)}, n_train=len(train)))
    result = {"datasets": {f"{data.name} (4-fold CV)": report_fold(pool_folds(scored), tasks)},
              "encoders": {kind: enc.name}, "model_version": meta["version"]}
    write_reports(result, out_dir)
    return result


def _fallback_rows(user: Sequence[Example], seed: Sequence[Example]) -> list[Example]:
    """Seed rows for the tasks the user's file does not label (other labels blanked)."""
    missing = [t for t in ("intent", "friction", "sentiment", "stage")
               if all(getattr(e, t) is None for e in user)]
    if not missing:
        return []
    keep = {t: (t in missing) for t in ("intent", "friction", "sentiment", "stage")}
    blank: dict[str, Any] = {t: None for t in keep if not keep[t]}
    return [replace(e, source="seed", **blank) for e in seed]


def read_texts(path: Path) -> list[str]:
    """The texts of a file: JSONL (events or rows with ``text``), CSV with a ``text`` column,
    or plain text, one per line. Blank texts are skipped; a row without text is an error."""
    import csv

    raw = path.read_text("utf-8")
    if path.suffix.lower() == ".jsonl":
        out = []
        for n, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: not JSON ({exc.msg})") from None
            turns = row.get("turns") if isinstance(row, dict) else None
            said = [t["text"] for t in turns if isinstance(t, dict) and t.get("speaker") ==
                    "customer" and isinstance(t.get("text"), str)] if isinstance(
                turns, list) else []
            if said:  # a conversation: the customer's turns, as the detector scores them
                out.append(" ".join(said))
            elif isinstance(row, dict) and isinstance(row.get("text"), str):
                out.append(row["text"])
            else:
                raise ValueError(f"{path}:{n}: no \"text\" string and no customer turns")
    elif path.suffix.lower() == ".csv":
        reader = csv.DictReader(raw.splitlines())
        if "text" not in (reader.fieldnames or []):
            raise ValueError(f"{path}: no \"text\" column")
        out = [row["text"] or "" for row in reader]
    else:
        out = raw.splitlines()
    texts = [t.strip() for t in out if t and t.strip()]
    if not texts:
        raise ValueError(f"{path}: no texts")
    return texts


def adapt_static(texts: Sequence[str], out_dir: Path, cache_dir: Path,
                 root: Path | None = None, source_name: str = "texts") -> dict[str, Any]:
    """Tune the bundled static table further on a deployment's own *unlabelled* texts (no
    labels needed: MiniLM's embeddings of them are the targets) and write a model folder for
    ``CHURN_MODEL_DIR`` (the bundled heads, projection and cascade thresholds, with the
    adapted table). The seed and taxonomy texts anchor the tuning. The texts are embedded in
    memory only (never written to the embedding cache)."""
    import shutil

    from models import bundled_artifacts
    from models.classifier import load_taxonomy
    from models.datasets import load_seed
    from models.tokentune import load_tuned, patched_table, train_tuned_table

    root = root or bundled_artifacts()
    if out_dir.resolve() == root.resolve():
        raise ValueError("write the adapted model to its own folder, not over the bundled one")
    start = load_tuned(root / "static")
    encoders = _encoders(("transformer", "static"), cache_dir)
    static: Any = encoders["static"]
    own = list(dict.fromkeys(texts))
    mine = set(own)
    anchors = [t for t in dict.fromkeys(
        [e.text for e in load_seed()] + [e.text for e in taxonomy_examples(load_taxonomy())])
        if t not in mine]
    goal = np.concatenate([embed(encoders["transformer"], own, None),
                           embed(encoders["transformer"], anchors, cache_dir)])
    table = train_tuned_table(static.tokenize, patched_table(static.table, start),
                              own + anchors, goal, start.matrix, static.name,
                              encoders["transformer"].name, keep_ids=start.token_ids)
    for name in ("static/heads.json", "static/heads.safetensors", "transformer/heads.json",
                 "transformer/heads.safetensors", "projection.json", "projection.safetensors",
                 "cascade.json", "static/presence.json", "static/presence.safetensors"):
        if (root / name).exists():
            (out_dir / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / name, out_dir / name)
    digest = hashlib.sha256("\n".join(own).encode("utf-8")).hexdigest()
    return table.save(out_dir / "static", {
        "adapted_from": start.sha, "adapted_on": {"name": source_name, "texts": len(own),
                                                  "sha256": digest},
        "anchors": len(anchors)})
