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
from models.heads import Heads, TrainConfig, fit_heads


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
    x = embed(encoder, [e.text for e in rows], cache_dir)
    return fit_heads(x, list(rows), encoder.name, cfg)


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
