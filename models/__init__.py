"""Encoders, taxonomy and classifiers for churn signals."""

from __future__ import annotations

from pathlib import Path

from models.classifier import SimilarityClassifier, load_taxonomy
from models.encoders import build_encoder


def build_classifier(
    encoder: str = "transformer", taxonomy_path: Path | None = None, cache_size: int = 10_000
) -> SimilarityClassifier:
    """The classifier named by settings, with its encoder and taxonomy loaded."""
    return SimilarityClassifier(build_encoder(encoder, cache_size), load_taxonomy(taxonomy_path))
