"""The ``static`` encoder: a model2vec static model distilled locally from the bundled MiniLM.

Nothing is downloaded: ``model2vec.distill`` runs the bundled all-MiniLM-L6-v2 over its own
vocabulary (about 15 s on 2 cores) and the result (safetensors + tokenizer JSON, no pickle)
is cached under ``cache_dir``; ``churn-detector build-static`` builds it ahead of time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models.encoders import normalise_rows

STATIC_NAME = "m2v-minilm-l6-256"
PCA_DIMS = 256


def static_model_dir(cache_dir: Path) -> Path:
    return cache_dir / "static" / STATIC_NAME


def build_static_model(cache_dir: Path, force: bool = False) -> Path:
    """Distil the static model from the bundled MiniLM into the cache (if not there yet)."""
    target = static_model_dir(cache_dir)
    if (target / "model.safetensors").exists() and not force:
        return target
    from models.encoders import bundled_minilm_path, stay_offline

    stay_offline()
    from model2vec.distill import distill

    model = distill(model_name=bundled_minilm_path(), pca_dims=PCA_DIMS)
    tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
    target.parent.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(tmp))
    if target.exists():  # a concurrent build won the race
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    else:
        tmp.replace(target)
    return target


class StaticEncoder:
    """model2vec static embeddings (token lookups + mean pooling): very fast on CPU."""

    def __init__(self, cache_dir: Path) -> None:
        from model2vec import StaticModel

        path = build_static_model(cache_dir)
        self._model = StaticModel.from_pretrained(str(path))
        self.dim = int(self._model.dim)
        self.name = STATIC_NAME
        self._lock = threading.Lock()

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids per text (unknown tokens dropped), as the model averages them."""
        with self._lock:
            return [list(row) for row in self._model.tokenize(list(texts))]

    @property
    def table(self) -> np.ndarray:
        """The distilled token vectors (vocabulary x dim)."""
        return np.asarray(self._model.embedding, dtype=np.float32)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            out = np.asarray(self._model.encode(list(texts), show_progress_bar=False),
                             dtype=np.float32)
        return normalise_rows(out)
