"""On-disk embedding cache for training and evaluation (outside the repository).

Embeddings are stored per encoder as float32 ``.npy`` shards keyed by the sha256 of the
sorted unique texts they hold, each with a ``<key>.texts.json`` list of those texts. A call
for a set of texts that has no shard of its own reuses every text already held by other
shards and encodes only the rest (so adding a few rows to a training set encodes only those
rows), then stores the full set under its own key. Never pickles.

A text reused from another shard was encoded in a different batch; on CPU its vector can
differ from a fresh encoding in the last float bits, so bit-identical training needs the
same cache state (or none).
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


def _texts_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.texts.json")


def _write_shard(path: Path, texts: Sequence[str], vectors: np.ndarray) -> None:
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, vectors, allow_pickle=False)
    tmp.replace(path)
    _texts_path(path).write_text(json.dumps(list(texts)), encoding="utf-8")
    (path.with_suffix(".json")).write_text(json.dumps({"n": len(texts)}))


def _known(folder: Path, wanted: set[str]) -> dict[str, np.ndarray]:
    """Vectors of the ``wanted`` texts that any shard with a text list already holds
    (shards in name order; the first one holding a text wins)."""
    found: dict[str, np.ndarray] = {}
    for tpath in sorted(folder.glob("*.texts.json")):
        npy = tpath.with_name(tpath.name[: -len(".texts.json")] + ".npy")
        if not npy.exists():
            continue
        try:
            texts = json.loads(tpath.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        hits = [i for i, t in enumerate(texts) if t in wanted and t not in found]
        if not hits:
            continue
        vectors = np.load(npy, allow_pickle=False, mmap_mode="r")
        if len(vectors) != len(texts):
            continue
        for i in hits:
            found[texts[i]] = np.array(vectors[i], dtype=np.float32)
        if len(found) == len(wanted):
            break
    return found


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
            if not _texts_path(path).exists():  # shard from before text lists: add its list
                _texts_path(path).write_text(json.dumps(unique), encoding="utf-8")
        else:
            known = _known(folder, set(unique))
            missing = [t for t in unique if t not in known]
            parts = [encoder.encode(missing[i:i + chunk]) for i in range(0, len(missing), chunk)]
            fresh = (np.concatenate(parts).astype(np.float32) if parts
                     else np.zeros((0, encoder.dim), np.float32))
            known.update(zip(missing, fresh, strict=True))
            vectors = np.stack([known[t] for t in unique]).astype(np.float32)
            _write_shard(path, unique, vectors)
    index = {t: i for i, t in enumerate(unique)}
    return np.asarray(vectors[[index[t] for t in texts]], dtype=np.float32)
