"""Training: pools of labelled examples, embeddings, heads and artifacts.

``churn-detector train`` calls :func:`train_bundled` (seed set + taxonomy examples + the
public sets, written to ``models/artifacts/<encoder>/``) or :func:`train_user` (a user's
labelled file; tasks the file does not label fall back to the seed set).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from detector.signals import FRICTION_CATEGORIES, INTENTS
from models.datasets import SENTIMENTS, STAGES, Example, data_hash
from models.features import DEFAULT_LEXICAL, STATIC_LEXICAL
from models.heads import TrainConfig
from models.recipe import CascadeRule, Manifest, Recipe


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


# Each setting chosen on the leave-one-domain-out folds of the training domains
# (docs/models.md, "How settings are chosen"): sentiment read from the whole text (pooling
# over pieces moved no macro by more than 0.005), friction and churn intent from the
# strongest piece; the transformer's heads also read VADER's valence at weight 0.5 (picked
# in every fold over off / 0.5 / 1 / 2 / compound only); friction categories weighted by
# label (picked in every fold on both paths over by source).
RECIPES: dict[str, Recipe] = {
    "transformer": Recipe("transformer", "transformer", DEFAULT_LEXICAL,
                          train=TrainConfig(friction_weighting="label", folds=5),
                          sentiment_pool="whole", cue_sentences=True),
    "static": Recipe("static", "static", STATIC_LEXICAL,
                     train=TrainConfig(intent_weighting="label", friction_weighting="label",
                                       folds=5),
                     sentiment_pool="whole", tuned_table=True),
}
DEFAULT_PATH = "transformer"  # the best path on the macro over held-out domains
# the cheapest rule closest to the transformer with at most 40% routed (docs/models.md)
CASCADE_RULE = CascadeRule(band=0.35, churn=1.01)


def bundled_manifest() -> Manifest:
    return Manifest(DEFAULT_PATH, dict(RECIPES), CASCADE_RULE)


def taxonomy_hash(taxonomy: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(taxonomy, sort_keys=True).encode()).hexdigest()


def data_summary(parts: dict[str, Sequence[Example]]) -> dict[str, Any]:
    """Per-source row counts and data hashes for artifact metadata."""
    return {name: {"rows": len(rows), "sha256": data_hash(rows)} for name, rows in parts.items()}


def training_parts(domains: dict[str, Any], tax_rows: Sequence[Example]
                   ) -> dict[str, Sequence[Example]]:
    """The sources the bundled heads learn from, by name (what ``trained_on`` and the heads'
    data summary list): the taxonomy and every English domain's training rows. The
    other-language sets are evaluation only and never listed."""
    from models.lodo import ENGLISH_DOMAINS

    parts: dict[str, Sequence[Example]] = {"taxonomy": tax_rows}
    parts.update({name: domains[name].train for name in ENGLISH_DOMAINS if name in domains})
    return parts


def path_encoder(recipe: Recipe, cache_dir: Path) -> Any:
    """The recipe's encoder behind the on-disk embedding cache (training and evaluation)."""
    from models.encoders import build_encoder
    from models.lodo import CachedEmbeddings

    inner = build_encoder(recipe.encoder, 0, cache_dir)
    return CachedEmbeddings(inner, None if recipe.encoder == "hashing" else cache_dir)


Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def train_bundled(data_root: Path | None, out_dir: Path, cache_dir: Path,
                  paths: Sequence[str] = ("transformer", "static"),
                  seed: Sequence[Example] | None = None,
                  progress: Progress = _quiet) -> dict[str, Any]:
    """Train each path's heads with its recipe on every English training domain (seed +
    taxonomy + the public sets) into ``out_dir/<path>/`` and write ``out_dir/manifest.json``.
    Deterministic."""
    from models.classifier import load_taxonomy
    from models.datasets import load_seed
    from models.lodo import fit_path, load_domains, training_pool

    taxonomy = load_taxonomy()
    seed = list(seed if seed is not None else load_seed())
    tax_rows = taxonomy_examples(taxonomy)
    domains = load_domains(data_root, seed)
    rows = training_pool(domains, tax_rows)
    parts = training_parts(domains, tax_rows)
    manifest = bundled_manifest()
    metas: dict[str, Any] = {}
    target = path_encoder(manifest.recipes["transformer"], cache_dir)
    for path in paths:
        recipe = manifest.recipes[path]
        progress(f"training the {path} path on {len(rows)} rows")
        fitted = fit_path(recipe, path_encoder(recipe, cache_dir), rows, target)
        heads = fitted.heads
        if fitted.table is not None:
            fitted.table.save(out_dir / path, {"data": data_summary(parts)})
        metas[path] = heads.save(out_dir / path, {
            "path": path, "recipe": recipe.to_dict(),
            "taxonomy_version": taxonomy.get("version", "custom"),
            "taxonomy_sha256": taxonomy_hash(taxonomy), "data": data_summary(parts),
        })
    Manifest(manifest.default, {p: manifest.recipes[p] for p in paths}, manifest.cascade,
             {"trained_on": sorted(parts)}).save(out_dir)
    return metas


def train_user(data: Path, out_dir: Path, cache_dir: Path, path: str,
               base: Path | None = None, progress: Progress = _quiet) -> dict[str, Any]:
    """Add a user's labelled rows to the bundled heads of ``path`` (:mod:`models.adapt`),
    save the model folder (manifest + heads) to ``out_dir`` and a 4-fold cross-validated
    report comparing the bundled and the adapted heads on the user's own rows."""
    from models import bundled_artifacts
    from models.adapt import adapt_heads
    from models.datasets import load_user_file
    from models.heads import load_heads
    from models.lodo import Predictions, from_scores, measure, score_rows
    from models.recipe import load_manifest

    user = load_user_file(data)
    root = base or bundled_artifacts()
    manifest = load_manifest(root)
    recipe = manifest.recipes[path]
    bundled = load_heads(root / path)
    from models import serving_encoder

    enc = serving_encoder(root, recipe, 0, cache_dir)  # the user's texts stay in memory
    progress(f"adapting the {path} heads to {len(user)} rows")
    emb = enc.encode([e.text for e in user])
    heads = adapt_heads(bundled, emb, user, recipe.train.c, recipe.train.adapt_prior)
    heads.meta["version"] = f"{path}-adapted-{data_hash(user)[:10]}"
    heads.meta["source_file"] = {"name": data.name,
                                 "sha256": hashlib.sha256(data.read_bytes()).hexdigest()}
    meta = heads.save(out_dir / path, {"adapted_from": bundled.version})
    if recipe.tuned_table:  # the path's tuned table, as bundled
        for name in ("tuned.json", "tuned.safetensors"):
            shutil.copy2(root / path / name, out_dir / path / name)
    for other in manifest.recipes:  # the other path as bundled, so the cascade still serves
        if other != path and (root / other).is_dir():
            shutil.copytree(root / other, out_dir / other, dirs_exist_ok=True)
    Manifest(path, dict(manifest.recipes), manifest.cascade,
             {"adapted_from": str(root), "adapted_path": path}).save(out_dir)
    progress("cross-validating on your rows (4 folds)")
    folds = [[i for i in range(len(user)) if i % 4 == k] for k in range(4)]
    rows = [user[i] for fold in folds for i in fold]  # the order the folds are scored in
    adapted: list[Predictions] = []
    for k, test in enumerate(folds):
        if not test:
            continue
        train = [i for j, fold in enumerate(folds) if j != k for i in fold]
        fold_heads = adapt_heads(bundled, emb[train], [user[i] for i in train],
                                 recipe.train.c, recipe.train.adapt_prior)
        adapted.append(from_scores(score_rows(recipe, enc, fold_heads,
                                              [user[i] for i in test])))
    report = {"bundled": measure("user", rows, from_scores(score_rows(recipe, enc, bundled,
                                                                       rows))),
              "adapted": measure("user", rows, _concat(adapted))}
    result = {"model_version": meta["version"], "path": path, "rows": len(user),
              "cross_validation": report}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "eval.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    lines = [f"# {data.name}: 4-fold cross-validation on your rows", "",
             "| measure | bundled | with your rows |", "| --- | ---: | ---: |"]
    for m in sorted(set(report["bundled"]) | set(report["adapted"])):
        lines.append(f"| {m} | {report['bundled'].get(m, float('nan')):.3f} | "
                     f"{report['adapted'].get(m, float('nan')):.3f} |")
    (out_dir / "eval.md").write_text("\n".join(lines) + "\n")
    return result


def _concat(parts: Sequence[Any]) -> Any:
    from models.lodo import Predictions

    def cat(name: str) -> Any:
        vals = [getattr(p, name) for p in parts]
        if any(v is None for v in vals):
            return None
        if isinstance(vals[0], np.ndarray):
            return np.concatenate(vals)
        return [x for v in vals for x in v]

    return Predictions(*(cat(n) for n in ("present", "categories", "negative", "intent",
                                          "stage")))
