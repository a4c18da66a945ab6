"""Encoders, taxonomy, trained heads and classifiers for churn signals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

from models.encoders import build_encoder, default_cache_dir

ENCODER_KINDS = ("transformer", "static", "cascade", "hashing")


def bundled_artifacts() -> Path:
    """Folder of the committed model artifacts: ``manifest.json`` and one subfolder of heads
    per path."""
    return Path(str(resources.files("models").joinpath("artifacts")))


def serving_encoder(root: Path, recipe: Any, cache_size: int, cache_dir: Path,
                    runtime: str = "onnx") -> Any:
    """The encoder a recipe serves with: its encoder kind (the transformer on ``runtime``,
    ``onnx`` or ``torch``), or the static model with the tuned table saved in
    ``root/<path>`` (LRU-cached when ``cache_size`` > 0)."""
    if not recipe.tuned_table:
        return build_encoder(recipe.encoder, cache_size, cache_dir, runtime)
    from models.encoders import CachedEncoder
    from models.tokentune import TunedStaticEncoder, load_tuned

    inner = TunedStaticEncoder(cache_dir, load_tuned(root / recipe.path))
    return CachedEncoder(inner, cache_size) if cache_size > 0 else inner


def path_classifier(root: Path, path: str, cache_size: int, cache_dir: Path,
                    runtime: str = "onnx", config: Any = None) -> Any:
    """The classifier of one path (``transformer`` or ``static``) of the model folder
    ``root``, built from its manifest's recipe (the transformer on ``runtime``), with the
    :class:`~models.classifier.ClassifierConfig` ``config`` (None: the defaults)."""
    from models.classifier import RecipeClassifier
    from models.heads import load_heads
    from models.recipe import load_manifest

    manifest = load_manifest(root)
    if path not in manifest.recipes:
        raise ValueError(f"{root} has no {path!r} path; it has {sorted(manifest.recipes)}")
    recipe = manifest.recipes[path]
    return RecipeClassifier(serving_encoder(root, recipe, cache_size, cache_dir, runtime),
                            load_heads(root / path), recipe, config)


def load_cascade(root: Path, cache_size: int, cache_dir: Path,
                 overrides: dict[str, float] | None = None, runtime: str = "onnx",
                 config: Any = None) -> Any:
    """The cascade of the model folder ``root``: its static and transformer paths and the
    manifest's routing rule, with each field of ``overrides`` in place of its own."""
    from models.cascade import CascadeClassifier
    from models.recipe import load_manifest

    rule = replace(load_manifest(root).cascade, **(overrides or {}))
    return CascadeClassifier(path_classifier(root, "static", cache_size, cache_dir,
                                             config=config),
                             path_classifier(root, "transformer", cache_size, cache_dir,
                                             runtime, config), rule)


def build_classifier(
    encoder: str = "transformer",
    taxonomy_path: Path | None = None,
    cache_size: int = 10_000,
    *,
    model_dir: Path | None = None,
    cache_dir: Path | None = None,
    cascade: dict[str, float] | None = None,
    transformer_runtime: str = "onnx",
    own_names: Sequence[str] = (),
) -> Any:
    """The classifier named by settings, built from the model folder's manifest.

    ``transformer`` / ``static``: that path's recipe and heads from ``model_dir`` (default:
    the bundled artifacts); ``cascade``: both, routed by the manifest's rule with the
    fields of ``cascade`` in place of its own; ``hashing``: heads fitted at start-up on the
    taxonomy and the seed set (fast tests). A custom ``taxonomy_path`` without a model
    folder fits heads at start-up. ``transformer_runtime``: ``onnx`` (default) or ``torch``
    for the transformer's encoder. ``own_names``: the company's own names and handles
    (``CHURN_COMPANY_NAMES``): with them a switch already made to another company is read
    as leaving, one to the company itself as joining.
    """
    from models.classifier import (
        ClassifierConfig,
        RecipeClassifier,
        SimilarityClassifier,
        load_taxonomy,
    )
    from models.cues import own_name_keys
    from models.heads import load_heads
    from models.recipe import Recipe

    if encoder not in ENCODER_KINDS:
        raise ValueError(f"unknown encoder {encoder!r}; expected one of {ENCODER_KINDS}")
    config = ClassifierConfig(own_names=own_name_keys(own_names))
    cache_dir = cache_dir or default_cache_dir()
    root = model_dir or bundled_artifacts()
    if encoder == "hashing" and model_dir is not None and (model_dir / "hashing").is_dir():
        return RecipeClassifier(build_encoder("hashing", cache_size, cache_dir),
                                load_heads(model_dir / "hashing"), Recipe("static", "hashing",
                                                                           None), config)
    if encoder == "hashing" or (taxonomy_path is not None and model_dir is None):
        from models.datasets import load_seed

        kind = "static" if encoder == "cascade" else encoder
        enc = build_encoder(kind, cache_size, cache_dir, transformer_runtime)
        extra = load_seed() if taxonomy_path is None else []
        return SimilarityClassifier(enc, load_taxonomy(taxonomy_path), config, extra=extra)
    if encoder == "cascade":
        return load_cascade(root, cache_size, cache_dir, cascade, transformer_runtime, config)
    return path_classifier(root, encoder, cache_size, cache_dir, transformer_runtime, config)
