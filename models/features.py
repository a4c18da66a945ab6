"""Head inputs: the sentence embedding next to stateless hashed lexical features.

The linear heads see ``[embedding | w_word * words | w_char * chars]``: the encoder's
embedding (L2-normalised) and two hashed bag-of-n-gram vectors (word 1-2-grams and
character 3-5-grams within word boundaries, each L2-normalised, then weighted). Hashing
(scikit-learn's ``HashingVectorizer``, MurmurHash3) keeps no vocabulary: the features are a
pure function of the text and the :class:`LexicalConfig`, which is stored in the heads'
metadata, so the artifacts hold only weights. Both encoders get the same lexical block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

LEXICAL_KIND = "hashed-ngrams/1"


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

_VECTORISERS: dict[LexicalConfig, tuple[Any, Any]] = {}


def _vectorisers(cfg: LexicalConfig) -> tuple[Any, Any]:
    if cfg not in _VECTORISERS:
        from sklearn.feature_extraction.text import HashingVectorizer

        word = HashingVectorizer(n_features=cfg.word_features, ngram_range=cfg.word_ngrams,
                                 token_pattern=r"(?u)\b\w+\b", alternate_sign=False,
                                 norm="l2", dtype=np.float32)
        char = HashingVectorizer(n_features=cfg.char_features, analyzer="char_wb",
                                 ngram_range=cfg.char_ngrams, alternate_sign=False,
                                 norm="l2", dtype=np.float32)
        _VECTORISERS[cfg] = (word, char)
    return _VECTORISERS[cfg]


def lexical_features(texts: Sequence[str], cfg: LexicalConfig) -> sp.csr_matrix:
    """``(n, cfg.dim)`` sparse matrix of weighted hashed word and character n-grams."""
    word, char = _vectorisers(cfg)
    texts = list(texts)
    parts = []
    if cfg.word_features:
        parts.append(word.transform(texts) * cfg.word_weight)
    if cfg.char_features:
        parts.append(char.transform(texts) * cfg.char_weight)
    if not parts:
        return sp.csr_matrix((len(texts), 0), dtype=np.float32)
    return sp.csr_matrix(sp.hstack(parts, format="csr"), dtype=np.float32)


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
