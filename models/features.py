"""Head inputs: the sentence embedding next to stateless hashed lexical features.

The linear heads see ``[embedding | w_word * words | w_char * chars | w_cue * cues]``: the
encoder's embedding (L2-normalised), two hashed bag-of-n-gram vectors (word 1-2-grams and
character 3-5-grams within word boundaries, each L2-normalised, then weighted) and,
optionally, the two churn-intent cues of ``models.cues`` (0 or ``cue_weight`` each).
Hashing (CRC-32 of the UTF-8 n-gram, modulo the width) keeps no vocabulary: the features
are a pure function of the text and the :class:`LexicalConfig`, which is stored in the
heads' metadata, so the artifacts hold only weights. Plain Python + numpy, about 0.1 ms per
text, with no per-call set-up cost.

The transformer's heads read :data:`DEFAULT_LEXICAL`. The static heads read
:data:`STATIC_LEXICAL`: heavier n-gram weights, word pairs that skip function words ("cancel
my transfer" and "cancel a transfer" share "cancel transfer") and the cues. A mean of token
vectors loses word order, so the static path leans more on these; chosen
leave-one-dataset-out (docs/models.md).
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from models.cues import INTENT_CUES

LEXICAL_KIND = "hashed-ngrams/crc32-1"  # word and character n-grams only
LEXICAL_KIND_CUES = "hashed-ngrams/crc32-2"  # /2: optional content-word pairs and intent cues
# the cue patterns' fingerprint: heads trained with other patterns are refused at load time
CUES_DIGEST = hashlib.sha256("\n".join(p.pattern for p in INTENT_CUES).encode()).hexdigest()[:16]
# words skipped when forming content-word pairs
FUNCTION_WORDS = frozenset(
    "the a an my our your this that these those his her their its me i we you it to of for "
    "on in at please can could would will do does is are was be just some any".split())


@dataclass(frozen=True)
class LexicalConfig:
    """Hashed word and character n-gram features (no vocabulary)."""

    word_features: int = 16384
    word_ngrams: tuple[int, int] = (1, 2)
    word_weight: float = 0.4
    char_features: int = 16384
    char_ngrams: tuple[int, int] = (3, 5)
    char_weight: float = 0.4
    content_pairs: bool = False  # also hash adjacent pairs of non-function words
    cue_weight: float = 0.0  # > 0: two more columns, the churn-intent cues of models.cues

    @property
    def n_cues(self) -> int:
        return len(INTENT_CUES) if self.cue_weight else 0

    @property
    def dim(self) -> int:
        return self.word_features + self.char_features + self.n_cues

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["word_ngrams"], d["char_ngrams"] = list(self.word_ngrams), list(self.char_ngrams)
        if not self.content_pairs and not self.cue_weight:  # as written before /2 existed
            del d["content_pairs"], d["cue_weight"]
            d["kind"] = LEXICAL_KIND
        else:
            d["kind"] = LEXICAL_KIND_CUES
            if self.cue_weight:
                d["cues_sha256"] = CUES_DIGEST
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LexicalConfig:
        if d.get("kind") not in (LEXICAL_KIND, LEXICAL_KIND_CUES):
            raise ValueError(f"unknown lexical feature kind {d.get('kind')!r}")
        if float(d.get("cue_weight", 0.0)) and d.get("cues_sha256") != CUES_DIGEST:
            raise ValueError("these heads were trained with other churn-intent cues "
                             f"(cues_sha256 {d.get('cues_sha256')!r}, models.cues now "
                             f"{CUES_DIGEST!r}): retrain them with `churn-detector train`")
        return cls(int(d["word_features"]), (int(d["word_ngrams"][0]), int(d["word_ngrams"][1])),
                   float(d["word_weight"]), int(d["char_features"]),
                   (int(d["char_ngrams"][0]), int(d["char_ngrams"][1])), float(d["char_weight"]),
                   bool(d.get("content_pairs", False)), float(d.get("cue_weight", 0.0)))


DEFAULT_LEXICAL = LexicalConfig()
STATIC_LEXICAL = LexicalConfig(word_weight=1.0, char_weight=0.8, content_pairs=True,
                               cue_weight=1.0)

_TOKEN = re.compile(r"\w+")


def _ngrams(words: list[str], ngrams: tuple[int, int]) -> list[str]:
    """Word n-grams of ``words`` for n in the ``ngrams`` range."""
    wg: list[str] = []
    for n in range(ngrams[0], ngrams[1] + 1):
        wg += words if n == 1 else [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]
    return wg


def _content_pairs(words: list[str]) -> list[str]:
    """Pairs of consecutive non-function words ("~" keeps them apart from plain bigrams)."""
    content = [w for w in words if w not in FUNCTION_WORDS]
    return [f"~{a} {b}" for a, b in zip(content, content[1:], strict=False)]


def _char_grams(low: str, ngrams: tuple[int, int]) -> list[str]:
    """Character n-grams of each whitespace-separated word padded with one space on both
    sides."""
    cg: list[str] = []
    for w in low.split():
        w = f" {w} "
        for n in range(ngrams[0], ngrams[1] + 1):
            cg += [w[i:i + n] for i in range(len(w) - n + 1)]
    return cg


def _grams(text: str, cfg: LexicalConfig) -> tuple[list[str], list[str]]:
    """The word grams (n-grams of the tokens ``\\w+`` of the lower-cased text, plus content
    pairs with ``content_pairs``) and the character grams of ``text`` under ``cfg``, as
    :func:`lexical_features_by_config` hashes them."""
    low = text.lower()
    words = _TOKEN.findall(low)
    pairs = _content_pairs(words) if cfg.content_pairs else []
    return _ngrams(words, cfg.word_ngrams) + pairs, _char_grams(low, cfg.char_ngrams)


def _indices(grams: list[str], width: int) -> np.ndarray:
    """CRC-32 of each gram (UTF-8) modulo ``width``."""
    if not grams or not width:
        return np.zeros(0, np.int64)
    return np.fromiter((zlib.crc32(g.encode("utf-8")) for g in grams), np.int64,
                       count=len(grams)) % width


def _normalised(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct columns of ``idx`` and their L2-normalised counts."""
    if not len(idx):
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    cols, counts = np.unique(idx, return_counts=True)
    vals = counts.astype(np.float32)
    return cols, vals / np.float32(np.sqrt(float((vals * vals).sum())))


def _hashed(grams: list[str], width: int) -> tuple[np.ndarray, np.ndarray]:
    """Column indices and L2-normalised counts of ``grams`` hashed (CRC-32) into ``width``."""
    return _normalised(_indices(grams, width))


def lexical_features_by_config(texts: Sequence[str], configs: Sequence[LexicalConfig]
                               ) -> dict[LexicalConfig, sp.csr_matrix]:
    """:func:`lexical_features` of ``texts`` for each distinct config in ``configs``,
    computing each text's word grams, character grams and cues once however many configs
    share them (the static path's two sets of heads read different configs)."""
    todo = list(dict.fromkeys(configs))
    parts: dict[LexicalConfig, tuple[list[int], list[np.ndarray], list[np.ndarray]]] = {
        c: ([0], [], []) for c in todo}
    need_cues = any(c.n_cues for c in todo)
    for text in texts:
        low = text.lower()
        words = _TOKEN.findall(low)
        idx: dict[tuple[Any, ...], np.ndarray] = {}  # hashed grams, shared between configs
        memo: dict[tuple[Any, ...], tuple[np.ndarray, np.ndarray]] = {}
        hits = (np.flatnonzero([bool(p.search(text)) for p in INTENT_CUES]) if need_cues
                else np.zeros(0, np.int64))
        for cfg in todo:
            wkey = ("w", cfg.word_ngrams, cfg.content_pairs, cfg.word_features)
            if wkey not in memo:
                nkey = ("n", cfg.word_ngrams, cfg.word_features)
                if nkey not in idx:
                    idx[nkey] = _indices(_ngrams(words, cfg.word_ngrams), cfg.word_features)
                both = idx[nkey]
                if cfg.content_pairs:
                    pkey = ("p", cfg.word_features)
                    if pkey not in idx:
                        idx[pkey] = _indices(_content_pairs(words), cfg.word_features)
                    both = np.concatenate([both, idx[pkey]])
                memo[wkey] = _normalised(both)
            ckey = ("c", cfg.char_ngrams, cfg.char_features)
            if ckey not in memo:
                memo[ckey] = _hashed(_char_grams(low, cfg.char_ngrams), cfg.char_features)
            (wc, wv), (cc, cv) = memo[wkey], memo[ckey]
            h = hits if cfg.n_cues else hits[:0]
            indptr, cols, vals = parts[cfg]
            cols += [wc, cc + cfg.word_features, h + cfg.word_features + cfg.char_features]
            vals += [wv * np.float32(cfg.word_weight), cv * np.float32(cfg.char_weight),
                     np.full(len(h), cfg.cue_weight, np.float32)]
            indptr.append(indptr[-1] + len(wc) + len(cc) + len(h))
    out = {}
    for cfg, (indptr, cols, vals) in parts.items():
        data = np.concatenate(vals) if vals else np.zeros(0, np.float32)
        ind = np.concatenate(cols) if cols else np.zeros(0, np.int64)
        out[cfg] = sp.csr_matrix((data.astype(np.float32), ind.astype(np.int32),
                                  np.asarray(indptr, np.int64)), shape=(len(indptr) - 1, cfg.dim))
    return out


def lexical_features(texts: Sequence[str], cfg: LexicalConfig) -> sp.csr_matrix:
    """``(n, cfg.dim)`` sparse matrix: for each text, its hashed word n-grams (L2-normalised,
    times ``word_weight``) in the first ``word_features`` columns and its hashed character
    n-grams (likewise, times ``char_weight``) in the next ``char_features``; with
    ``cue_weight``, one column per intent cue last (``cue_weight`` where it matches). A row
    depends on its text only (no fitted state, no vocabulary)."""
    return lexical_features_by_config(texts, [cfg])[cfg]


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
