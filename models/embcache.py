"""On-disk embedding cache for training and evaluation (outside the repository).

Embeddings are stored per encoder as float32 ``.npy`` shards keyed by the sha256 of the
sorted unique texts they hold; lookups go through an index of text -> row. Never pickles.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models.encoders import Encoder


def _key(texts: Sequence[str]) -> str:
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:24]


def embed(encoder: Encoder, texts: Sequence[str], cache_dir: Path | None,
          chunk: int = 2048) -> np.ndarray:
    """Embed ``texts`` (in order), reusing and filling the on-disk cache when given."""
    if not texts:
        return np.zeros((0, encoder.dim), dtype=np.float32)
    unique = sorted(set(texts))
    if cache_dir is None:
        vectors = encoder.encode(unique)
    else:
        folder = cache_dir / "embeddings" / encoder.name
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{_key(unique)}.npy"
        if path.exists():
            vectors = np.load(path, allow_pickle=False)
        else:
            parts = [encoder.encode(unique[i:i + chunk]) for i in range(0, len(unique), chunk)]
            vectors = np.concatenate(parts).astype(np.float32)
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, vectors, allow_pickle=False)
            tmp.replace(path)
            (folder / f"{path.stem}.json").write_text(json.dumps({"n": len(unique)}))
    index = {t: i for i, t in enumerate(unique)}
    return np.asarray(vectors[[index[t] for t in texts]], dtype=np.float32)
