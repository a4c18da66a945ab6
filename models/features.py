"""Head inputs: the sentence embedding next to stateless hashed lexical features.

The linear heads see ``[embedding | w_word * words | w_char * chars]``: the encoder's
embedding (L2-normalised) and two hashed bag-of-n-gram vectors (word 1-2-grams and
character 3-5-grams within word boundaries, each L2-normalised, then weighted). Hashing
(CRC-32 of the UTF-8 n-gram, modulo the width) keeps no vocabulary: the features are a
pure function of the text and the :class:`LexicalConfig`, which is stored in the heads'
metadata, so the artifacts hold only weights. Both encoders get the same lexical block.
Plain Python + numpy, about 0.1 ms per text, with no per-call set-up cost.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

LEXICAL_KIND = "hashed-ngrams/crc32-1"


@dataclass(frozen=True)
class LexicalConfig:
    """Hashed word and character n-gram features (no vocabulary)."""

    word_features: int = 16384
    word_ngrams: tuple[int, int] = (1, 2)
    word_weight: float = 0.4
    char_features: int = 16384
    char_ngrams: tuple[int, int] = (3, 5)
    char_weight: float = 0.4

    @property
    def dim(self) -> int:
        return self.word_features + self.char_features

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kind"] = LEXICAL_KIND
        d["word_ngrams"], d["char_ngrams"] = list(self.word_ngrams), list(self.char_ngrams)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LexicalConfig:
        if d.get("kind") != LEXICAL_KIND:
            raise ValueError(f"unknown lexical feature kind {d.get('kind')!r}")
        return cls(int(d["word_features"]), (int(d["word_ngrams"][0]), int(d["word_ngrams"][1])),
                   float(d["word_weight"]), int(d["char_features"]),
                   (int(d["char_ngrams"][0]), int(d["char_ngrams"][1])), float(d["char_weight"]))


DEFAULT_LEXICAL = LexicalConfig()

_TOKEN = re.compile(r"\w+")


def _grams(text: str, cfg: LexicalConfig) -> tuple[list[str], list[str]]:
    """Word n-grams (tokens ``\\w+`` of the lower-cased text) and character n-grams of each
    whitespace-separated word padded with one space on both sides."""
    low = text.lower()
    words = _TOKEN.findall(low)
    wg: list[str] = []
    for n in range(cfg.word_ngrams[0], cfg.word_ngrams[1] + 1):
        wg += words if n == 1 else [" ".join(words[i:i + n])
                                    for i in range(len(words) - n + 1)]
    cg: list[str] = []
    for w in low.split():
        w = f" {w} "
        for n in range(cfg.char_ngrams[0], cfg.char_ngrams[1] + 1):
            cg += [w[i:i + n] for i in range(len(w) - n + 1)]
    return wg, cg


def _hashed(grams: list[str], width: int) -> tuple[np.ndarray, np.ndarray]:
    """Column indices and L2-normalised counts of ``grams`` hashed (CRC-32) into ``width``."""
    if not grams or not width:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    idx = np.fromiter((zlib.crc32(g.encode("utf-8")) for g in grams), np.int64,
                      count=len(grams)) % width
    cols, counts = np.unique(idx, return_counts=True)
    vals = counts.astype(np.float32)
    return cols, vals / np.float32(np.sqrt(float((vals * vals).sum())))


def lexical_features(texts: Sequence[str], cfg: LexicalConfig) -> sp.csr_matrix:
    """``(n, cfg.dim)`` sparse matrix: for each text, its hashed word n-grams (L2-normalised,
    times ``word_weight``) in the first ``word_features`` columns and its hashed character
    n-grams (likewise, times ``char_weight``) in the next ``char_features``. A row depends
    on its text only (no fitted state, no vocabulary)."""
    indptr = [0]
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    for text in texts:
        wg, cg = _grams(text, cfg)
        wc, wv = _hashed(wg, cfg.word_features)
        cc, cv = _hashed(cg, cfg.char_features)
        cols += [wc, cc + cfg.word_features]
        vals += [wv * np.float32(cfg.word_weight), cv * np.float32(cfg.char_weight)]
        indptr.append(indptr[-1] + len(wc) + len(cc))
    data = np.concatenate(vals) if vals else np.zeros(0, np.float32)
    ind = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    return sp.csr_matrix((data.astype(np.float32), ind.astype(np.int32),
                          np.asarray(indptr, np.int64)), shape=(len(indptr) - 1, cfg.dim))


def head_inputs(emb: np.ndarray, texts: Sequence[str] | None, cfg: LexicalConfig | None
                ) -> np.ndarray | sp.csr_matrix:
    """What the heads read: ``emb`` alone, or ``[emb | lexical(texts)]`` (sparse)."""
    if cfg is None:
        return emb
    if texts is None:
        raise ValueError("these heads use lexical features: the texts are needed, not only "
                         "their embeddings")
    if len(texts) != emb.shape[0]:
        raise ValueError(f"{len(texts)} texts for {emb.shape[0]} embeddings")
    return sp.hstack([sp.csr_matrix(emb, dtype=np.float32), lexical_features(texts, cfg)],
                     format="csr")
