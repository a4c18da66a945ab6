"""Encoders, taxonomy, trained heads and classifiers for churn signals."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from models.encoders import build_encoder, default_cache_dir

ENCODER_KINDS = ("transformer", "static", "cascade", "hashing")


def bundled_artifacts() -> Path:
    """Folder of the committed model artifacts (one subfolder per encoder)."""
    return Path(str(resources.files("models").joinpath("artifacts")))


def tuned_encoder(folder: Path, cache_size: int, cache_dir: Path) -> Any:
    """The tuned static encoder saved in ``folder`` (LRU-cached), or None if there is none."""
    from models.encoders import CachedEncoder
    from models.tokentune import TunedStaticEncoder, has_tuned, load_tuned

    if not has_tuned(folder):
        return None
    inner = TunedStaticEncoder(cache_dir, load_tuned(folder))
    return CachedEncoder(inner, cache_size) if cache_size > 0 else inner


def presence_model(folder: Path) -> Any:
    """The static path's friction presence model saved in ``folder``, or None."""
    from models.presence import has_presence, load_presence

    return load_presence(folder) if has_presence(folder) else None


def cascade_thresholds(root: Path, overrides: dict[str, float] | None = None) -> Any:
    """The cascade thresholds of the model folder ``root`` (``cascade.json``, else the
    defaults), with each field of ``overrides`` in place of its own."""
    from dataclasses import replace

    from models.cascade import CascadeThresholds

    path = root / "cascade.json"
    saved = CascadeThresholds.load(path) if path.exists() else CascadeThresholds()
    return replace(saved, **(overrides or {}))


def load_cascade(root: Path, static_encoder: Any, strong_encoder: Any, cache_size: int,
                 cache_dir: Path, thresholds: Any = None) -> Any:
    """The cascade of the model folder ``root`` over these encoders: both heads, the
    thresholds (``thresholds``; else ``root/cascade.json``, else the defaults, with the
    fields of a ``thresholds`` dict in place of theirs), and the
    projection, tuned static table and friction presence model when the folder has them."""
    from models.cascade import CascadeClassifier, CascadeThresholds
    from models.heads import load_heads
    from models.projection import has_projection, load_projection

    if not isinstance(thresholds, CascadeThresholds):
        thresholds = cascade_thresholds(root, thresholds)
    return CascadeClassifier(
        static_encoder, load_heads(root / "static"), strong_encoder,
        load_heads(root / "transformer"), thresholds,
        projection=load_projection(root) if has_projection(root) else None,
        tuned_encoder=tuned_encoder(root / "static", cache_size, cache_dir),
        presence=presence_model(root / "static"))


def build_classifier(
    encoder: str = "transformer",
    taxonomy_path: Path | None = None,
    cache_size: int = 10_000,
    *,
    model_dir: Path | None = None,
    cache_dir: Path | None = None,
    cascade: Any = None,
) -> Any:
    """The classifier named by settings, with its encoder(s) and heads loaded.

    ``transformer`` / ``static``: trained heads from ``model_dir/<encoder>`` (default: the
    bundled artifacts; ``static`` with a tuned table in that folder is the hybrid static
    path, which also reads the transformer's heads); ``cascade``: both, with thresholds from
    ``cascade`` or ``model_dir/cascade.json``, the static-to-transformer projection in
    ``model_dir`` and the tuned static table (when there are ones); ``hashing``: heads fitted
    at start-up on the taxonomy and the seed set (fast tests). A custom ``taxonomy_path``
    without artifacts fits heads at start-up.
    """
    from models.classifier import (
        HeadsClassifier,
        SimilarityClassifier,
        StaticClassifier,
        load_taxonomy,
    )
    from models.heads import load_heads
    from models.tokentune import has_tuned

    if encoder not in ENCODER_KINDS:
        raise ValueError(f"unknown encoder {encoder!r}; expected one of {ENCODER_KINDS}")
    cache_dir = cache_dir or default_cache_dir()
    root = model_dir or bundled_artifacts()
    if encoder == "hashing" and model_dir is not None and (model_dir / "hashing").is_dir():
        return HeadsClassifier(build_encoder("hashing", cache_size, cache_dir),
                               load_heads(model_dir / "hashing"), path_name="static")
    if encoder == "hashing" or (taxonomy_path is not None and model_dir is None):
        from models.datasets import load_seed

        kind = "static" if encoder == "cascade" else encoder
        enc = build_encoder(kind, cache_size, cache_dir)
        extra = load_seed() if taxonomy_path is None else []
        return SimilarityClassifier(enc, load_taxonomy(taxonomy_path), extra=extra)
    if encoder == "cascade":
        return load_cascade(root, build_encoder("static", cache_size, cache_dir),
                            build_encoder("transformer", cache_size, cache_dir), cache_size,
                            cache_dir, cascade)
    if encoder == "static" and has_tuned(root / "static"):
        return StaticClassifier(
            build_encoder("static", cache_size, cache_dir), load_heads(root / "static"),
            tuned_encoder(root / "static", cache_size, cache_dir),
            load_heads(root / "transformer"), presence=presence_model(root / "static"))
    enc = build_encoder(encoder, cache_size, cache_dir)
    return HeadsClassifier(enc, load_heads(root / encoder), path_name=encoder)
