"""Head inputs: the sentence embedding next to stateless hashed lexical features.

The linear heads see ``[embedding | w_word * words | w_char * chars | w_cue * cues |
w_valence * valence]``: the encoder's embedding (L2-normalised), two hashed bag-of-n-gram
vectors (word 1-2-grams and character 3-5-grams within word boundaries, each L2-normalised,
then weighted), optionally the two churn-intent cues of ``models.cues`` (0 or ``cue_weight``
each) and optionally VADER's valence scores of the text (``models.valence``, times
``valence_weight``).
Hashing (CRC-32 of the UTF-8 n-gram, modulo the width) keeps no vocabulary: the features
are a pure function of the text and the :class:`LexicalConfig`, which is stored in the
heads' metadata, so the artifacts hold only weights. The per-text definition is
:func:`_grams`; :func:`lexical_features_by_config` computes the same rows for a whole batch
at once with numpy (about 0.05 ms per 400-character text; bounded caches of token hashes
only save work, they never change a row).

The transformer's heads read :data:`DEFAULT_LEXICAL`: the n-grams and VADER's four scores
at weight 0.5. The static heads read :data:`STATIC_LEXICAL`: heavier n-gram weights, word
pairs that skip function words ("cancel my transfer" and "cancel a transfer" share "cancel
transfer") and the cues. A mean of token vectors loses word order, so the static path leans
more on these. Both chosen on leave-one-domain-out folds (docs/models.md); the cues were
compared there for the transformer's heads too and not kept.
"""

from __future__ import annotations

import hashlib
import re
import threading
import zlib
from collections.abc import Container, Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import chain
from typing import Any

import numpy as np
import scipy.sparse as sp

from models.cues import INTENT_CUES
from models.valence import VALENCE_COLUMNS, VALENCE_DIGEST, check_columns, valence

LEXICAL_KIND = "hashed-ngrams/crc32-1"  # word and character n-grams only
LEXICAL_KIND_CUES = "hashed-ngrams/crc32-2"  # /2: optional content-word pairs and intent cues
LEXICAL_KIND_VALENCE = "hashed-ngrams/crc32-3"  # /3: and the valence lexicon's columns
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
    # > 0: more columns last, VADER's scores of the text (models.valence) times this weight
    valence_weight: float = 0.0
    valence_columns: tuple[str, ...] = VALENCE_COLUMNS

    def __post_init__(self) -> None:
        object.__setattr__(self, "valence_columns", check_columns(self.valence_columns))

    @property
    def n_cues(self) -> int:
        return len(INTENT_CUES) if self.cue_weight else 0

    @property
    def n_valence(self) -> int:
        return len(self.valence_columns) if self.valence_weight else 0

    @property
    def dim(self) -> int:
        return self.word_features + self.char_features + self.n_cues + self.n_valence

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["word_ngrams"], d["char_ngrams"] = list(self.word_ngrams), list(self.char_ngrams)
        if self.valence_weight:
            d["valence_columns"] = list(self.valence_columns)
            d["valence_sha256"] = VALENCE_DIGEST
            d["kind"] = LEXICAL_KIND_VALENCE
        else:  # as written before /3 existed
            del d["valence_weight"], d["valence_columns"]
            d["kind"] = LEXICAL_KIND_CUES
        if not self.content_pairs and not self.cue_weight and not self.valence_weight:
            del d["content_pairs"], d["cue_weight"]  # as written before /2 existed
            d["kind"] = LEXICAL_KIND
        elif self.cue_weight:
            d["cues_sha256"] = CUES_DIGEST
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LexicalConfig:
        if d.get("kind") not in (LEXICAL_KIND, LEXICAL_KIND_CUES, LEXICAL_KIND_VALENCE):
            raise ValueError(f"unknown lexical feature kind {d.get('kind')!r}")
        if float(d.get("cue_weight", 0.0)) and d.get("cues_sha256") != CUES_DIGEST:
            raise ValueError("these heads were trained with other churn-intent cues "
                             f"(cues_sha256 {d.get('cues_sha256')!r}, models.cues now "
                             f"{CUES_DIGEST!r}): retrain them with `churn-detector train`")
        if float(d.get("valence_weight", 0.0)) and d.get("valence_sha256") != VALENCE_DIGEST:
            raise ValueError("these heads were trained with another VADER lexicon "
                             f"(valence_sha256 {d.get('valence_sha256')!r}, installed "
                             f"{VALENCE_DIGEST!r}): install the vaderSentiment version of "
                             "constraints.txt or retrain them with `churn-detector train`")
        return cls(int(d["word_features"]), (int(d["word_ngrams"][0]), int(d["word_ngrams"][1])),
                   float(d["word_weight"]), int(d["char_features"]),
                   (int(d["char_ngrams"][0]), int(d["char_ngrams"][1])), float(d["char_weight"]),
                   bool(d.get("content_pairs", False)), float(d.get("cue_weight", 0.0)),
                   float(d.get("valence_weight", 0.0)),
                   tuple(d.get("valence_columns", VALENCE_COLUMNS)))


DEFAULT_LEXICAL = LexicalConfig(valence_weight=0.5)
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


def lexical_features(texts: Sequence[str], cfg: LexicalConfig,
                     wholes: Mapping[int, Sequence[int]] | None = None) -> sp.csr_matrix:
    """``(n, cfg.dim)`` sparse matrix: for each text, its hashed word n-grams (L2-normalised,
    times ``word_weight``) in the first ``word_features`` columns and its hashed character
    n-grams (likewise, times ``char_weight``) in the next ``char_features``; with
    ``cue_weight``, one column per intent cue (``cue_weight`` where it matches); with
    ``valence_weight``, VADER's scores of the text (:mod:`models.valence`, the
    ``valence_columns``) times ``valence_weight`` last, zeros left out. A row depends on its
    text only (no fitted state, no vocabulary). ``wholes``: see
    :func:`lexical_features_by_config`."""
    return lexical_features_by_config(texts, [cfg], wholes)[cfg]


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


# ---- the batch path: the same features, vectorised over a batch -------------------------
#
# ``lexical_features_by_config`` computes exactly the rows of the per-text definition above
# (``_grams`` and friends), but per batch: each distinct token is hashed once (and kept, up to
# :data:`CACHE_TOKENS`), word n-grams are hashed from their tokens' CRCs (zlib's
# crc32_combine, vectorised), each text's n-grams are counted by a small in-place sort, and
# the intent cues' regexes run only on texts that hold every token one of their alternatives
# needs.

CACHE_TOKENS = 100_000  # distinct tokens (and words) whose hashes are kept; then start over
CHUNK_TEXTS = 2048  # texts featurised together at most
_SHIFT_MAX = 128  # crc32_combine tables for n-gram parts up to this many bytes
_ASCII_WORDS = bytes(c if chr(c).isascii() and (chr(c).isalnum() or c == 95) else 32
                     for c in range(256))
_FUNCTION_BYTES = frozenset(w.encode() for w in FUNCTION_WORDS)
_lock = threading.Lock()


def _crc_shift_tables(max_len: int) -> np.ndarray:
    """``(max_len + 1, 4, 256)`` tables of the linear map crc32(a) -> crc32(a + b) ^
    crc32(b) for ``len(b)`` bytes, one table per byte of crc32(a)."""
    bits = ((np.arange(256)[:, None] >> np.arange(8)) & 1).astype(bool)
    out = np.zeros((max_len + 1, 4, 256), np.uint32)
    for length in range(max_len + 1):
        zeros = bytes(length)
        base = zlib.crc32(zeros, 0)
        basis = np.array([zlib.crc32(zeros, 1 << j) ^ base for j in range(32)], np.uint32)
        for k in range(4):
            out[length, k] = np.bitwise_xor.reduce(
                np.where(bits, basis[8 * k:8 * k + 8], np.uint32(0)), axis=1)
    return out


_SHIFT: np.ndarray | None = None


def crc32_concat(crc_a: np.ndarray, crc_b: np.ndarray, len_b: np.ndarray) -> np.ndarray:
    """``crc32(a + b)`` for arrays of ``crc32(a)``, ``crc32(b)`` and ``len(b)`` (bytes)."""
    global _SHIFT
    if _SHIFT is None:
        _SHIFT = _crc_shift_tables(_SHIFT_MAX)
    a = np.asarray(crc_a, np.uint32)
    length = np.minimum(len_b, _SHIFT_MAX)
    out = (_SHIFT[length, 0, a & 255] ^ _SHIFT[length, 1, (a >> 8) & 255]
           ^ _SHIFT[length, 2, (a >> 16) & 255] ^ _SHIFT[length, 3, a >> 24])
    for i in np.flatnonzero(np.asarray(len_b) > _SHIFT_MAX):  # very long tokens: directly
        zeros = bytes(int(len_b[i]))
        out[i] = zlib.crc32(zeros, int(a[i])) ^ zlib.crc32(zeros, 0)
    return out ^ np.asarray(crc_b, np.uint32)


# Tokens the intent cues cannot match without, read off their patterns (models.cues): per
# cue, its alternatives, each the token classes (exact tokens, prefixes) it needs. On ASCII
# text (where re.I is plain ASCII case-insensitivity) a text without all the tokens of one
# alternative cannot match, and the regex is skipped. Checked against the patterns by
# digest: other patterns switch the filter off.
_CUES_FILTERED = "88f0338d6da49447"
_Class = tuple[frozenset[str], tuple[str, ...]]


def _c(*words: str, prefixes: tuple[str, ...] = ()) -> _Class:
    return frozenset(words), prefixes


_CUE_ALTERNATIVES: tuple[tuple[tuple[_Class, ...], ...], ...] = (
    (  # EXPLICIT_CUE
        (_c("close", "closing", "delete", "deleting", "deletion", "remove", "removal",
            "deactivate", "discontinue", "end", prefixes=("cancel", "terminat")),
         _c("account", "subscription", "membership", "contract", "plan", "policy", "service",
            "profile")),
        (_c("switched"), _c("to")), (_c("not"), _c(prefixes=("renew",))),
        (_c("won"), _c("t"), _c(prefixes=("renew",))), (_c("leaving"), _c("you")),
        (_c("moved"), _c("to"), _c("another")), (_c("unsubscribed"),),
        (_c("account"), _c("deleted")), (_c("done"), _c("with")),
    ),
    (  # AT_RISK_CUE
        (_c(prefixes=("switch",)),), (_c(prefixes=("competitor",)),), (_c("elsewhere"),),
        (_c("other"), _c("provider", "bank", "supplier", "insurer", "providers", "banks",
                         "suppliers", "insurers")),
        (_c("last"), _c("straw")), (_c("never"), _c("again")),
        (_c("look", "looking"), _c("around")), (_c("shop", "shopping"), _c("around")),
        (_c("termination"), _c("fee")),
        (_c("cancellation"), _c("fee", "penalty", "charge", "charges")),
        (_c("early"), _c("exit", "termination")), (_c("contract"), _c("end")),
        (_c(prefixes=("reconsider",)),), (_c("tempted"),), (_c("alternative", "alternatives"),),
        (_c("port", "porting"), _c("out")), (_c("pac"), _c("code")),
    ),
)
_CUE_CLASSES: tuple[_Class, ...] = tuple(dict.fromkeys(
    cls for cue in _CUE_ALTERNATIVES for alt in cue for cls in alt))
_CUE_MASKS: tuple[tuple[int, ...], ...] = tuple(
    tuple(sum(1 << _CUE_CLASSES.index(cls) for cls in alt) for alt in cue)
    for cue in _CUE_ALTERNATIVES)


def _cue_bits(token: str) -> int:
    """Which cue token classes ``token`` (lower-cased) belongs to."""
    return sum(1 << k for k, (words, prefixes) in enumerate(_CUE_CLASSES)
               if token in words or token.startswith(prefixes))


class _Grow:
    """A growing 1-d array (amortised appends)."""

    def __init__(self, dtype: Any) -> None:
        self.data = np.zeros(1024, dtype)
        self.size = 0

    def extend(self, values: Sequence[int] | np.ndarray) -> None:
        n = len(values)
        if self.size + n > len(self.data):
            grown = np.zeros(max(2 * len(self.data), self.size + n), self.data.dtype)
            grown[:self.size] = self.data[:self.size]
            self.data = grown
        self.data[self.size:self.size + n] = values
        self.size += n


class _Tokens:
    """Per distinct ``\\w+`` token (UTF-8 of the lower-cased token): crc32 of it, of it plus a
    space, of "~" + it + space, its length in bytes, function word, cue token classes."""

    def __init__(self) -> None:
        self.ids: dict[bytes, int] = {}
        self.crc, self.crc_sp, self.crc_pair = _Grow(np.uint32), _Grow(np.uint32), _Grow(
            np.uint32)
        self.nbytes, self.function, self.cues = _Grow(np.int64), _Grow(bool), _Grow(np.int64)

    def add(self, keys: Sequence[bytes]) -> None:
        for key in keys:
            self.ids[key] = len(self.ids)
        self.crc.extend([zlib.crc32(k) for k in keys])
        self.crc_sp.extend([zlib.crc32(k + b" ") for k in keys])
        self.crc_pair.extend([zlib.crc32(b"~" + k + b" ") for k in keys])
        self.nbytes.extend([len(k) for k in keys])
        self.function.extend([k in _FUNCTION_BYTES for k in keys])
        self.cues.extend([_cue_bits(k.decode("utf-8")) for k in keys])


class _Words:
    """Per distinct whitespace-separated word (UTF-8 of the lower-cased word): the columns of
    its character n-grams under one (n-gram range, width)."""

    def __init__(self, ngrams: tuple[int, int], width: int) -> None:
        self.ngrams, self.width = ngrams, width
        self.ids: dict[bytes, int] = {}
        self.start, self.count, self.pool = _Grow(np.int64), _Grow(np.int64), _Grow(np.int64)

    def add(self, keys: Sequence[bytes]) -> None:
        for key in keys:
            self.ids[key] = len(self.ids)
            cols = _indices(_char_grams(key.decode("utf-8"), self.ngrams), self.width)
            self.start.extend([self.pool.size])
            self.count.extend([len(cols)])
            self.pool.extend(cols)


_TOKENS = _Tokens()
_WORDS: dict[tuple[tuple[int, int], int], _Words] = {}


def _ids(table: _Tokens | _Words, groups: list[list[bytes]]) -> np.ndarray:
    """The ids in ``table`` of every key of ``groups``, flat, adding the new keys (starting
    the table over when it would outgrow :data:`CACHE_TOKENS`)."""
    count = sum(map(len, groups))
    try:
        return np.fromiter(map(table.ids.__getitem__, chain.from_iterable(groups)), np.int64,
                           count=count)
    except KeyError:
        pass
    keys = list(chain.from_iterable(groups))
    new = [k for k in dict.fromkeys(keys) if k not in table.ids]
    if len(table.ids) + len(new) > CACHE_TOKENS:
        table.__init__(*([] if isinstance(table, _Tokens) else  # type: ignore[misc]
                         [table.ngrams, table.width]))
        new = list(dict.fromkeys(keys))
    table.add(new)
    return np.fromiter(map(table.ids.__getitem__, keys), np.int64, count=count)


def _split_batch(texts: Sequence[str], skip: Container[int] = ()
                 ) -> tuple[list[list[bytes]], list[list[bytes]]]:
    """Each text's ``\\w+`` tokens and whitespace-separated words, lower-cased, as UTF-8 (on
    ASCII text with bytes operations, which agree with ``str`` there); none for the texts
    in ``skip``."""
    tokens: list[list[bytes]] = []
    words: list[list[bytes]] = []
    for k, text in enumerate(texts):
        if k in skip:
            tokens.append([])
            words.append([])
            continue
        # str.split() also splits at \x1c-\x1f, bytes.split() does not
        if text.isascii() and not any(c in text for c in "\x1c\x1d\x1e\x1f"):
            low = text.encode("ascii").lower()
            words.append(low.split())
            tokens.append(low.translate(_ASCII_WORDS).split())
        else:
            s = text.lower()
            words.append([w.encode("utf-8") for w in s.split()])
            tokens.append([t.encode("utf-8") for t in _TOKEN.findall(s)])
    return tokens, words


def _cue_hits(texts: Sequence[str], ids: np.ndarray,
              owner: np.ndarray) -> np.ndarray:
    """``(n, len(INTENT_CUES))`` bool: which intent cues each text matches."""
    n = len(texts)
    hits = np.zeros((n, len(INTENT_CUES)), bool)
    if CUES_DIGEST == _CUES_FILTERED and len(INTENT_CUES) == len(_CUE_MASKS):
        present = np.zeros(n, np.int64)
        per_row = np.bincount(owner, minlength=n)
        rows = np.flatnonzero(per_row)
        if len(rows):  # OR of each text's tokens' classes (tokens are listed text by text)
            starts = (np.cumsum(per_row) - per_row)[rows]
            present[rows] = np.bitwise_or.reduceat(_TOKENS.cues.data[ids], starts)
        ascii_ = np.fromiter(map(str.isascii, texts), bool, count=n)
        maybe = [~ascii_ | np.any([(present & m) == m for m in masks], axis=0)
                 for masks in _CUE_MASKS]
    else:
        maybe = [np.ones(n, bool) for _ in INTENT_CUES]
    for k, pattern in enumerate(INTENT_CUES):
        for i in np.flatnonzero(maybe[k]).tolist():
            hits[i, k] = pattern.search(texts[i]) is not None
    return hits


def _bounds(per_row: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(per_row)]).astype(np.int64)


def _interleave(n: int, parts: Sequence[tuple[np.ndarray, Sequence[np.ndarray]]]
                ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Parts, each listed row by row (``per_row`` entries for each row, and arrays of values
    per entry), merged into one listing row by row: per row, the first part's entries, then
    the second's, ... Returns the entries per row and the merged arrays."""
    per_row = np.sum([p for p, _ in parts], axis=0).astype(np.int64)
    size = int(per_row.sum())
    merged = [np.empty(size, a.dtype) for a in parts[0][1]]
    offset = _bounds(per_row)[:-1]
    for counts, arrays in parts:
        first = _bounds(counts)[:-1]  # where each row starts within this part
        at = np.repeat(offset - first, counts) + np.arange(int(counts.sum()))
        for out, values in zip(merged, arrays, strict=True):
            out[at] = values
        offset = offset + counts
    return per_row, merged


def _row_runs(per_row: np.ndarray, keys: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Of keys listed row by row: the distinct keys of each row, sorted, and how often each
    occurs (distinct keys per row, keys, counts). One ``np.unique`` over (row, key) pairs
    folded into one integer: about twice as fast as scipy's per-row duplicate summing, and
    far faster than a Python loop of small sorts."""
    n = len(per_row)
    if not len(keys):
        return np.zeros(n, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int32)
    if keys.dtype.itemsize <= 2 and n <= 1 << 16:
        return _row_runs_16(per_row, keys)
    width = int(keys.max()) + 1
    rows = np.repeat(np.arange(n, dtype=np.int64), per_row)
    pairs, counts = np.unique(rows * width + keys.astype(np.int64, copy=False),
                              return_counts=True)
    row_of = pairs // width
    return (np.bincount(row_of, minlength=n).astype(np.int64),
            (pairs - row_of * width).astype(np.int32), counts.astype(np.int32))


def _row_runs_16(per_row: np.ndarray, keys: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_row_runs` of 16-bit keys in at most 65,536 rows: two stable sorts of 16-bit
    values (numpy sorts those by radix, in linear time), by key and then by row, in place
    of one comparison sort of (row, key) pairs; about twice as fast on a batch's n-grams."""
    n = len(per_row)
    rows = np.repeat(np.arange(n, dtype=np.uint16), per_row)
    order = np.argsort(keys, kind="stable")
    order = order[np.argsort(rows[order], kind="stable")]
    k, r = keys[order], rows[order]
    starts = np.ones(len(k), bool)
    np.not_equal(k[1:], k[:-1], out=starts[1:])
    starts[1:] |= r[1:] != r[:-1]
    at = np.flatnonzero(starts)
    counts = np.diff(np.append(at, len(k)))
    return (np.bincount(r[at], minlength=n).astype(np.int64), k[at].astype(np.int32),
            counts.astype(np.int32))


def _normalised_runs(per_row: np.ndarray, counts: np.ndarray, weight: float) -> np.ndarray:
    """Counts scaled to unit length per row, then times ``weight`` (float32 throughout)."""
    bounds = _bounds(per_row)
    squares = np.concatenate([[0.0], np.cumsum(counts.astype(np.float64) ** 2)])
    norms = np.sqrt(squares[bounds[1:]] - squares[bounds[:-1]]).astype(np.float32)
    return (counts.astype(np.float32) / np.repeat(norms, per_row)) * np.float32(weight)


def lexical_features_by_config(texts: Sequence[str], configs: Sequence[LexicalConfig],
                               wholes: Mapping[int, Sequence[int]] | None = None
                               ) -> dict[LexicalConfig, sp.csr_matrix]:
    """:func:`lexical_features` of ``texts`` for each distinct config in ``configs``: the
    tokens, words and cues of each text are found once however many configs share them (the
    static path's two sets of heads read different configs). Vectorised over the batch, in
    chunks of :data:`CHUNK_TEXTS` texts (training sets stay within memory).

    ``wholes[i]``: the indices of the texts that hold text i's words (split at whitespace)
    in order, the windows of a long text (:func:`models.pieces.split_covered`), none of
    them itself in ``wholes``. Text i's tokens and words are then theirs one after the
    other (neither ever crosses whitespace, and lower-casing never looks across it), so
    they are not found again; its cues and valence still read the text itself."""
    todo = list(dict.fromkeys(configs))
    given = wholes or {}
    spliced = {i: parts for i, parts in given.items()
               if parts and not any(j in given for j in parts)}
    if len(texts) > CHUNK_TEXTS:
        chunks = [lexical_features_by_config(
            texts[i:i + CHUNK_TEXTS], todo,
            {k - i: [j - i for j in parts] for k, parts in spliced.items()
             if i <= k < i + CHUNK_TEXTS and all(i <= j < i + CHUNK_TEXTS for j in parts)})
            for i in range(0, len(texts), CHUNK_TEXTS)]
        return {cfg: sp.vstack([c[cfg] for c in chunks], format="csr") for cfg in todo}
    n = len(texts)
    with _lock:
        tokens, words = _split_batch(texts, spliced)
        tok_ids = _ids(_TOKENS, tokens)
        tok_per_row = np.fromiter(map(len, tokens), np.int64, count=n)
        word_per_row = np.fromiter(map(len, words), np.int64, count=n)
        word_at = None
        if spliced:
            tok_at, tok_per_row = _spliced(tok_per_row, spliced)
            word_at, word_per_row = _spliced(word_per_row, spliced)
            tok_ids = tok_ids[tok_at]
        tok_owner = np.repeat(np.arange(n), tok_per_row)
        hits = (_cue_hits(texts, tok_ids, tok_owner) if any(c.n_cues for c in todo)
                else np.zeros((n, 0), bool))
        word_owner = np.repeat(np.arange(n), word_per_row)
        # each text's valence once, whichever configs read it
        val = (valence(texts) if any(c.n_valence for c in todo)
               else np.zeros((n, len(VALENCE_COLUMNS)), np.float32))
        out = {}
        for cfg in todo:
            out[cfg] = _rows(cfg, n, tok_ids, tok_owner, words, word_owner, hits, val, word_at)
    return out


def _spliced(per_row: np.ndarray, wholes: Mapping[int, Sequence[int]]
             ) -> tuple[np.ndarray, np.ndarray]:
    """For entries listed row by row (``per_row`` each; none for the rows of ``wholes``):
    the positions that list them again with each row of ``wholes`` holding its parts'
    entries one after the other, and the new count per row."""
    sources = [wholes.get(r, (r,)) for r in range(len(per_row))]
    seq = np.fromiter(chain.from_iterable(sources), np.int64)
    lengths = per_row[seq]
    starts = _bounds(per_row)[:-1][seq]
    at = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(
        int(lengths.sum()))
    new = np.bincount(np.repeat(np.arange(len(per_row)), [len(x) for x in sources]),
                      weights=lengths, minlength=len(per_row)).astype(np.int64)
    return at, new


def _word_gram_crcs(ids: np.ndarray, owner: np.ndarray, cfg: LexicalConfig
                    ) -> list[tuple[np.ndarray, np.ndarray]]:
    """The word n-grams (one part per n, then the content pairs) of the batch: each
    gram's text and crc32, in text order."""
    t = _TOKENS
    crc, crc_sp, nbytes = t.crc.data[ids], t.crc_sp.data[ids], t.nbytes.data[ids]
    crcs, rows = [], []
    for size in range(cfg.word_ngrams[0], cfg.word_ngrams[1] + 1):
        if size == 1:
            crcs.append(crc)
            rows.append(owner)
            continue
        m = len(ids) - size + 1
        if m <= 0:
            continue
        starts = np.flatnonzero(owner[:m] == owner[size - 1:])
        acc = crc_sp[starts]
        for k in range(1, size - 1):
            acc = crc32_concat(acc, crc_sp[starts + k], nbytes[starts + k] + 1)
        last = starts + size - 1
        crcs.append(crc32_concat(acc, crc[last], nbytes[last]))
        rows.append(owner[starts])
    if cfg.content_pairs:
        content = np.flatnonzero(~t.function.data[ids])
        a, b = content[:-1], content[1:]
        same = owner[a] == owner[b]
        a, b = a[same], b[same]
        crcs.append(crc32_concat(t.crc_pair.data[ids[a]], crc[b], nbytes[b]))
        rows.append(owner[a])
    return list(zip(rows, crcs, strict=True))


def _rows(cfg: LexicalConfig, n: int, tok_ids: np.ndarray, tok_owner: np.ndarray,
          words: list[list[bytes]], word_owner: np.ndarray, hits: np.ndarray,
          val: np.ndarray, word_at: np.ndarray | None = None) -> sp.csr_matrix:
    """The rows of :func:`lexical_features` under ``cfg`` from the batch's tokens: the word
    block, the character block and the cues, each counted and normalised per row, and the
    valence (``val``: every column of :data:`VALENCE_COLUMNS` per text), then merged row by
    row. ``word_at``: where each word of ``word_owner`` is in ``words``, flat (all of them,
    in order, when None)."""
    wf, cf = cfg.word_features, cfg.char_features
    key = np.uint16 if cfg.dim <= 1 << 16 else np.int64
    blocks = []
    if wf:
        grams = [(np.bincount(rows, minlength=n), [(crcs % wf).astype(key)])
                 for rows, crcs in _word_gram_crcs(tok_ids, tok_owner, cfg)]
        if grams:
            per_row, (keys,) = _interleave(n, grams)
            distinct, cols, counts = _row_runs(per_row, keys)
            blocks.append((distinct, [cols.astype(np.int32),
                                      _normalised_runs(distinct, counts, cfg.word_weight)]))
    if cf:
        table = _WORDS.setdefault((cfg.char_ngrams, cf), _Words(cfg.char_ngrams, cf))
        wids = _ids(table, words)
        if word_at is not None:
            wids = wids[word_at]
        count = table.count.data[wids]
        first = np.cumsum(count) - count
        at = np.repeat(table.start.data[wids] - first, count) + np.arange(int(count.sum()))
        per_row = np.bincount(word_owner, weights=count, minlength=n).astype(np.int64)
        distinct, cols, counts = _row_runs(per_row, table.pool.data[at].astype(key))
        blocks.append((distinct, [cols.astype(np.int32) + wf,
                                  _normalised_runs(distinct, counts, cfg.char_weight)]))
    if cfg.n_cues:
        r, k = np.nonzero(hits)
        blocks.append((np.bincount(r, minlength=n), [(k + wf + cf).astype(np.int32),
                                                    np.full(len(k), cfg.cue_weight,
                                                            np.float32)]))
    if cfg.n_valence:
        picked = val[:, [VALENCE_COLUMNS.index(c) for c in cfg.valence_columns]]
        r, k = np.nonzero(picked)
        blocks.append((np.bincount(r, minlength=n),
                       [(k + wf + cf + cfg.n_cues).astype(np.int32),
                        picked[r, k] * np.float32(cfg.valence_weight)]))
    if not blocks:
        return sp.csr_matrix((n, cfg.dim), dtype=np.float32)
    per_row, (indices, data) = _interleave(n, blocks)
    return sp.csr_matrix((data, indices, _bounds(per_row)), shape=(n, cfg.dim))
