"""The ``static`` encoder: a model2vec static model distilled locally from the bundled MiniLM.

Nothing is downloaded: ``model2vec.distill`` runs the bundled all-MiniLM-L6-v2 over its own
vocabulary (about 15 s on 2 cores) and the result (safetensors + tokenizer JSON, no pickle)
is cached under ``cache_dir``; ``churn-detector build-static`` builds it ahead of time.
"""

from __future__ import annotations

import copy
import os
import re
import threading
from collections.abc import Mapping, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

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


# Python's whitespace (str.split, str.strip, re's \s): where models.pieces cuts windows
PY_WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())


def merged_whitespace(tokenizer: Any) -> re.Pattern[str] | None:
    """The Python whitespace characters that do not part two words for ``tokenizer`` (a
    BERT normaliser drops ``\x0b``, ``\x0c``, ``\x1c``-``\x1f`` and ``\x85`` as control
    characters, joining the words around them), as a pattern; None when every one parts
    them. Found by tokenising "hello<c>world" for each."""
    def ids(texts: list[str]) -> list[list[int]]:
        return [e.ids for e in tokenizer.encode_batch_fast(texts, add_special_tokens=False)]

    apart = ids(["hello"])[0] + ids(["world"])[0]
    joined, *probes = ids(["helloworld"] + [f"hello{c}world" for c in PY_WHITESPACE])
    if joined == apart:  # the probe cannot tell: trust no gap
        return re.compile(r"\s")
    merged = "".join(c for c, got in zip(PY_WHITESPACE, probes, strict=True) if got != apart)
    return re.compile(f"[{re.escape(merged)}]") if merged else None


class TokenSums:
    """Per text, the sum of a model2vec model's token vectors and how many there are, as
    its ``encode`` averages them: the text cut to ``max_length * median_token_length``
    characters, its tokens to ``max_length``, unknown tokens left out.

    A long text's windows (``wholes``, :meth:`models.encoders.PieceEncoder.encode_pieces`)
    hold its words in order, cut at whitespace, and the tokenizer never joins words across
    whitespace (WordPiece after a BERT pre-tokeniser); so the whole text's tokens are its
    windows' tokens one after the other, and its sum and count are theirs, without reading
    it again. That holds when no window was cut short, the whole text is not cut either
    (or its first ``max_length`` tokens end before the character cut: then they are the
    windows' first ones) and it holds no whitespace character the tokenizer drops
    (:func:`merged_whitespace`); otherwise the whole text is read like any other."""

    def __init__(self, model: Any) -> None:
        if model.token_mapping is not None or model.weights is not None:
            raise ValueError("a quantised static model: its rows are not one vector a token")
        self.tokenizer = copy.deepcopy(model.tokenizer)
        self.table = np.asarray(model.embedding, dtype=np.float32)
        self.unk = model.unk_token_id
        self.max_tokens: int | None = model.max_length
        self.max_chars: int | None = None
        if model.max_length is None:
            self.tokenizer.no_truncation()
        else:
            self.tokenizer.enable_truncation(model.max_length)
            self.max_chars = model.max_length * model.median_token_length
        self.merged = merged_whitespace(self.tokenizer)

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Each text's token ids as the model reads them (unknown tokens kept)."""
        m = self.max_chars
        cut = list(texts) if m is None else [t if len(t) <= m else t[:m] for t in texts]
        return [e.ids for e in self.tokenizer.encode_batch_fast(cut, add_special_tokens=False)]

    def _from_windows(self, whole: str, parts: list[str], ids: list[list[int]]
                      ) -> bool | list[int]:
        """True when ``whole``'s tokens are all of its windows' ``ids``; a list when they
        are the first ``max_tokens`` of them (those ids); False when not shown."""
        mt, mc = self.max_tokens, self.max_chars
        if mc is not None and any(len(p) > mc for p in parts):
            return False
        if mt is not None and any(len(r) >= mt for r in ids):  # a window maybe cut short
            return False
        total = sum(map(len, ids))
        if mt is None or total <= mt:
            return mc is None or len(whole) <= mc
        # only the first max_tokens count: they are the windows' first ones if the window
        # holding the last of them ends before the character cut. It ends at most the
        # windows' lengths so far, one space between each, and all the whitespace the
        # windows do not hold (``spare``) into the whole text.
        spare = len(whole) - sum(map(len, parts)) - (len(parts) - 1)
        taken = end = 0
        for j, (part, row) in enumerate(zip(parts, ids, strict=True)):
            end += len(part) + (j > 0)
            taken += len(row)
            if taken >= mt:
                break
        if spare < 0 or (mc is not None and end + spare > mc):
            return False
        return list(chain.from_iterable(ids))[:mt]

    def sums(self, texts: Sequence[str], wholes: Mapping[int, Sequence[int]] | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
        """``(len(texts), dim)`` float32 sums of token vectors and the ``(len(texts),)``
        counts of tokens; ``wholes`` as in ``encode_pieces``."""
        n = len(texts)
        wholes = wholes or {}
        built = {i: list(parts) for i, parts in wholes.items()
                 if parts and not any(j in wholes for j in parts)
                 and (self.merged is None or not self.merged.search(texts[i]))}
        ids: list[list[int] | None] = [None] * n
        read = [k for k in range(n) if k not in built]
        for k, row in zip(read, self.ids([texts[k] for k in read]), strict=True):
            ids[k] = row
        added: list[int] = []  # wholes built as the sum of their windows
        again: list[int] = []  # wholes read after all
        for i, parts in built.items():
            got = self._from_windows(texts[i], [texts[j] for j in parts],
                                     [ids[j] or [] for j in parts])
            if got is True:
                added.append(i)
            elif got is False:
                again.append(i)
            else:
                ids[i] = got
        if again:
            for i, row in zip(again, self.ids([texts[i] for i in again]), strict=True):
                ids[i] = row
        rows = [k for k in range(n) if ids[k] is not None]
        sums = np.zeros((n, self.table.shape[1]), np.float32)
        counts = np.zeros(n, np.int64)
        if rows:
            lengths = np.fromiter((len(ids[k] or ()) for k in rows), np.int64, len(rows))
            flat = np.fromiter(chain.from_iterable(ids[k] or () for k in rows), np.int64,
                               int(lengths.sum()))
            owner = np.repeat(np.arange(len(rows)), lengths)
            if self.unk is not None:
                keep = flat != self.unk
                flat, owner = flat[keep], owner[keep]
            per_row = np.bincount(owner, minlength=len(rows))
            indptr = np.concatenate([[0], np.cumsum(per_row)])
            ones = sp.csr_matrix((np.ones(len(flat), np.float32), flat, indptr),
                                 shape=(len(rows), self.table.shape[0]))
            sums[rows] = ones @ self.table
            counts[rows] = per_row
        for i in added:
            sums[i] = sums[built[i]].sum(axis=0)
            counts[i] = counts[built[i]].sum()
        return sums, counts

    def means(self, texts: Sequence[str], wholes: Mapping[int, Sequence[int]] | None = None
              ) -> np.ndarray:
        """The mean token vector of each text (zeros for a text without known tokens)."""
        sums, counts = self.sums(texts, wholes)
        return sums / np.maximum(counts, 1).astype(np.float32)[:, None]
