"""A linear map from the static embedding space into the transformer's: the cascade's
second cheap opinion.

The static heads' worst errors on text unlike the training data are *confident* (a friction
probability near 0 where the transformer sees friction), so a router that looks only at
the static probabilities cannot catch them. A ridge regression fitted on the training texts
maps each static embedding to an estimate of its MiniLM embedding; the transformer's own
heads read that estimate (no transformer forward pass). Where their decision differs from
the static heads', the event goes through the transformer (see ``models.cascade``).

Artifact: ``projection.safetensors`` (the matrix as float16) + ``projection.json`` (encoder
names, ridge strength, training rows, sha256). No pickle; a file whose sha256 differs from
the metadata is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.encoders import normalise_rows
from models.heads import read_checked, write_checked

PROJECTION_FILE = "projection.safetensors"
PROJECTION_META = "projection.json"
FORMAT = "churn-projection/1"
DEFAULT_RIDGE = 0.3


@dataclass
class Projection:
    """``apply(static) ~ transformer embedding`` (rows L2-normalised)."""

    matrix: np.ndarray  # (static dim, transformer dim), float16 values
    source: str  # static encoder name
    target: str  # transformer encoder name
    meta: dict[str, Any] = field(default_factory=dict)

    def apply(self, emb: np.ndarray) -> np.ndarray:
        if emb.shape[1] != self.matrix.shape[0]:
            raise ValueError(f"projection takes {self.matrix.shape[0]}-d embeddings; "
                             f"got {emb.shape[1]}")
        return normalise_rows(np.asarray(emb, np.float32) @ self.matrix)

    def save(self, folder: Path, extra_meta: dict[str, Any] | None = None) -> dict[str, Any]:
        from safetensors.numpy import save

        blob = save({"matrix": np.ascontiguousarray(self.matrix, dtype=np.float16)})
        meta = {**self.meta, **(extra_meta or {}), "format": FORMAT, "source": self.source,
                "target": self.target, "shape": list(self.matrix.shape)}
        self.meta = write_checked(folder, PROJECTION_META, PROJECTION_FILE, blob, meta)
        return self.meta


def fit_projection(static: np.ndarray, strong: np.ndarray, source: str, target: str,
                   ridge: float = DEFAULT_RIDGE) -> Projection:
    """Ridge regression from static to transformer embeddings of the same texts
    (deterministic; the matrix is rounded to float16 as it is stored)."""
    if static.shape[0] != strong.shape[0] or static.shape[0] == 0:
        raise ValueError("need the same, non-zero number of static and transformer rows")
    s = np.asarray(static, np.float64)
    gram = s.T @ s + ridge * np.eye(s.shape[1])
    w = np.linalg.solve(gram, s.T @ np.asarray(strong, np.float64))
    matrix = np.asarray(w, np.float16).astype(np.float32)
    return Projection(matrix, source, target, {"ridge": ridge, "rows": int(s.shape[0])})


def has_projection(folder: Path) -> bool:
    return (folder / PROJECTION_META).exists()


def load_projection(folder: Path) -> Projection:
    """Load a projection, refusing a file whose sha256 differs from its metadata."""
    from safetensors.numpy import load

    meta, blob = read_checked(folder, PROJECTION_META, PROJECTION_FILE, (FORMAT,),
                              "projection")
    matrix = load(blob)["matrix"].astype(np.float32)
    return Projection(matrix, str(meta["source"]), str(meta["target"]), meta)
