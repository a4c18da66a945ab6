"""The batch path of the lexical features (models.features) computes exactly the per-text
definition kept here as the reference: the same columns, the same values, bit for bit, on
seed rows, other languages, generated bench texts (pieces of letters and calls) and odd
input; and its shortcuts (cached token hashes, n-gram CRCs from their tokens', the cue
pre-filter) never change an answer."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from models import features as feats
from models.cues import INTENT_CUES
from models.features import (
    DEFAULT_LEXICAL,
    STATIC_LEXICAL,
    LexicalConfig,
    crc32_concat,
    lexical_features,
    lexical_features_by_config,
)
from models.pieces import PieceConfig, split_text
from models.valence import valence

FIXTURES = Path(__file__).parent / "fixtures"


def reference_row(text: str, cfg: LexicalConfig) -> tuple[np.ndarray, np.ndarray]:
    """One text's columns and values, straight from the definition."""
    words, chars = feats._grams(text, cfg)
    wc, wv = feats._hashed(words, cfg.word_features)
    cc, cv = feats._hashed(chars, cfg.char_features)
    hits = (np.flatnonzero([bool(p.search(text)) for p in INTENT_CUES]) if cfg.n_cues
            else np.zeros(0, np.int64))
    scores = (valence([text], cfg.valence_columns)[0] * np.float32(cfg.valence_weight)
              if cfg.n_valence else np.zeros(0, np.float32))
    nonzero = np.flatnonzero(scores)
    cols = np.concatenate([wc, cc + cfg.word_features,
                           hits + cfg.word_features + cfg.char_features,
                           nonzero + cfg.word_features + cfg.char_features + cfg.n_cues])
    vals = np.concatenate([wv * np.float32(cfg.word_weight), cv * np.float32(cfg.char_weight),
                           np.full(len(hits), cfg.cue_weight, np.float32), scores[nonzero]])
    return cols, vals.astype(np.float32)


def _assert_rows_exact(texts: list[str], m: sp.csr_matrix, cfg: LexicalConfig) -> None:
    assert m.shape == (len(texts), cfg.dim)
    for i, text in enumerate(texts):
        cols, vals = reference_row(text, cfg)
        lo, hi = m.indptr[i], m.indptr[i + 1]
        assert m.indices[lo:hi].tolist() == cols.tolist(), text[:60]
        assert np.array_equal(m.data[lo:hi], vals), text[:60]


ODD = [
    "", " ", "!!!", "ok", "Close account", "CANCEL my Subscription now!!",
    "I'm done with you. Switched to another bank; won't renew.",
    "tab\tand\nnewline\r\nand\x0bvertical\x0cfeed", "unit\x1fsep\x1crecord\x1dgroup\x1efile",
    "Ünïcödé çafé — naïve résumé", "ΣΟΦΟΣ ΛΟΓΟΣ σοφός", "İstanbul İİ KELVIN ſtraße",
    "x" * 300 + " " + "y" * 140 + " cancel " + "z" * 129, "a_b c_d __init__ 42 4.2 3,000",
    "the the the the the the cancel cancel my my account account",
    "port out my number, porting out, pac code, shop around, looking around, last straw",
    "early termination fee and cancellation charges; reconsidering; tempted; alternatives",
    "cancelllation? cancellation fee. terminated the plan. discontinue service",
    "日本語のテキスト 中文 한국어", "emoji 🙂🙂 cancel 🙂 account",
]


def corpus() -> list[str]:
    from bench.generator import EventMix, MixConfig, text_of
    from models.datasets import load_seed

    texts = [e.text for e in load_seed()]
    texts += [json.loads(line)["text"] for line in
              (FIXTURES / "leaving_multilingual.jsonl").read_text("utf-8").splitlines()
              if line.strip()]
    bench = [text_of(e) for e in EventMix(MixConfig(customers=40, seed=5)).events(120)]
    texts += [p for t in bench for p in split_text(t, PieceConfig())]
    return texts + ODD


@pytest.mark.parametrize("cfg", [DEFAULT_LEXICAL, STATIC_LEXICAL,
                                 LexicalConfig(word_features=512, word_ngrams=(1, 3),
                                               char_features=256, char_ngrams=(2, 4),
                                               content_pairs=True, cue_weight=0.5),
                                 LexicalConfig(word_ngrams=(2, 2), char_features=0),
                                 LexicalConfig(cue_weight=1.0, valence_weight=0.7),
                                 LexicalConfig(word_features=256, valence_weight=2.0,
                                               valence_columns=("neu", "compound"))],
                         ids=["default", "static", "trigrams", "bigrams-only", "valence",
                              "valence-two-columns"])
def test_batch_rows_equal_the_per_text_definition(cfg):
    texts = corpus()
    _assert_rows_exact(texts, lexical_features(texts, cfg), cfg)
    # again, from the caches, in another order and in small batches
    back = texts[::-1]
    _assert_rows_exact(back, sp.vstack([lexical_features(back[i:i + 5], cfg)
                                        for i in range(0, len(back), 5)], format="csr"), cfg)


def test_two_configs_in_one_pass_equal_each_alone():
    texts = corpus()[:200]
    both = lexical_features_by_config(texts, [DEFAULT_LEXICAL, STATIC_LEXICAL])
    for cfg in (DEFAULT_LEXICAL, STATIC_LEXICAL):
        assert (both[cfg] != lexical_features(texts, cfg)).nnz == 0


def test_full_token_caches_start_over_with_the_same_answers(monkeypatch):
    texts = corpus()[:150]
    want = lexical_features(texts, STATIC_LEXICAL)
    monkeypatch.setattr(feats, "CACHE_TOKENS", 50)
    monkeypatch.setattr(feats, "_TOKENS", feats._Tokens())
    monkeypatch.setattr(feats, "_WORDS", {})
    batches = [texts[i:i + 3] for i in range(0, len(texts), 3)]
    got = sp.vstack([lexical_features(b, STATIC_LEXICAL) for b in batches], format="csr")
    assert (got != want).nnz == 0
    largest = max(len(set(feats._split_batch(b)[1][0])) for b in batches) * 3
    assert len(feats._TOKENS.ids) <= 50 + largest
    assert all(len(t.ids) <= 50 + largest for t in feats._WORDS.values())


def test_crc_of_a_concatenation_from_its_parts():
    rng = np.random.default_rng(3)
    parts = [bytes(rng.integers(0, 256, rng.integers(0, 300)).astype(np.uint8))
             for _ in range(400)]
    a, b = parts[:200], parts[200:]
    got = crc32_concat(np.array([zlib.crc32(x) for x in a], np.uint32),
                       np.array([zlib.crc32(y) for y in b], np.uint32),
                       np.array([len(y) for y in b]))
    assert got.tolist() == [zlib.crc32(x + y) for x, y in zip(a, b, strict=True)]


def test_cue_prefilter_never_hides_a_match():
    """Texts that match a cue, with the cue's words among ordinary text: the pre-filter
    lets every one through (the regex decides), on the corpus and on crafted phrases."""
    crafted = ["please CANCEL the whole account", "Switched TO them", "not renewing",
               "I won't renew", "leaving you", "moved to another", "Unsubscribed.",
               "account deleted", "im done with it", "i'm done with it", "switching",
               "their competitors", "go elsewhere", "other banks", "the last straw",
               "never again", "look around", "shopping around", "termination fee",
               "cancellation penalty", "early exit", "contract end", "reconsidering",
               "tempted", "alternatives", "port my number out", "PAC code",
               "terminated my service", "deletion of profile", "end the membership"]
    texts = corpus() + crafted
    n = len(texts)
    tokens, _ = feats._split_batch(texts)
    owner = np.repeat(np.arange(n), [len(t) for t in tokens])
    ids = feats._ids(feats._TOKENS, tokens)
    hits = feats._cue_hits(texts, ids, owner)
    want = np.array([[bool(p.search(t)) for p in INTENT_CUES] for t in texts])
    assert np.array_equal(hits, want)
    assert want[-len(crafted):].any(axis=1).all()


def test_a_large_batch_is_featurised_in_chunks_with_the_same_rows(monkeypatch):
    texts = corpus()[:90]
    want = lexical_features(texts, STATIC_LEXICAL)
    monkeypatch.setattr(feats, "CHUNK_TEXTS", 16)
    got = lexical_features(texts, STATIC_LEXICAL)
    assert got.shape == want.shape and (got != want).nnz == 0
    assert got.has_sorted_indices


def test_empty_batches_and_texts_without_words():
    for cfg in (DEFAULT_LEXICAL, STATIC_LEXICAL, LexicalConfig(word_features=0)):
        assert lexical_features([], cfg).shape == (0, cfg.dim)
        m = lexical_features(["", " ", "\t\n"], cfg)
        assert m.shape == (3, cfg.dim) and m.nnz == 0
        _assert_rows_exact(["...", "", "!"], lexical_features(["...", "", "!"], cfg), cfg)


@pytest.mark.parametrize("cfg", [DEFAULT_LEXICAL, STATIC_LEXICAL,
                                 LexicalConfig(word_features=512, word_ngrams=(1, 3),
                                               char_features=256, content_pairs=True,
                                               cue_weight=0.5)],
                         ids=["default", "static", "trigrams"])
def test_a_long_texts_row_from_its_windows_tokens_is_its_own(cfg, monkeypatch):
    """With ``wholes`` a long text's tokens and words are spliced from its windows' (the
    serving path): every row is bit for bit the one read from the text itself (and the
    per-text definition), in one batch, in chunks that cut a text from its windows, and
    with repeated texts."""
    from models.recipe import split_batch
    from tests.models.long_texts import long_texts

    texts = long_texts()
    texts += texts[:7]  # repeats
    batch = split_batch(texts, None, PieceConfig())
    assert len(batch.wholes) > 150
    got = lexical_features(batch.flat, cfg, batch.wholes)
    want = lexical_features(batch.flat, cfg)
    assert np.array_equal(got.indptr, want.indptr)
    assert np.array_equal(got.indices, want.indices) and np.array_equal(got.data, want.data)
    _assert_rows_exact(batch.flat[:400], got[:400], cfg)
    # a whole said to be made of other pieces reads their words: the splice is used
    first = next(iter(batch.wholes))
    other = {first: [k for k in range(len(batch.flat)) if k not in batch.wholes][-2:]}
    assert (lexical_features(batch.flat, cfg, other)[first] != got[first]).nnz > 0
    monkeypatch.setattr(feats, "CHUNK_TEXTS", 7)
    chunked = lexical_features(batch.flat, cfg, batch.wholes)
    assert (chunked != got).nnz == 0


@pytest.mark.parametrize("dtype", [np.int64, np.uint16])  # a comparison sort; radix sorts
def test_row_runs_count_each_rows_distinct_keys_in_order(dtype):
    rng = np.random.default_rng(3)
    per_row = rng.integers(0, 40, 50).astype(np.int64)
    per_row[[0, 7, 49]] = 0  # empty rows, first and last included
    keys = rng.integers(0, 60, int(per_row.sum())).astype(dtype)
    distinct, cols, counts = feats._row_runs(per_row, keys)
    at = 0
    got = np.split(np.stack([cols, counts]), np.cumsum(distinct)[:-1], axis=1)
    for n, row in zip(per_row, got, strict=True):
        values, times = np.unique(keys[at:at + n], return_counts=True)
        assert row[0].tolist() == values.tolist() and row[1].tolist() == times.tolist()
        at += n
    assert cols.dtype == np.int32 and counts.dtype == np.int32
    empty = feats._row_runs(np.zeros(3, np.int64), np.zeros(0, dtype))
    assert empty[0].tolist() == [0, 0, 0] and len(empty[1]) == len(empty[2]) == 0


def test_the_radix_row_runs_are_the_comparison_sorts():
    rng = np.random.default_rng(5)
    per_row = rng.integers(0, 3000, 300).astype(np.int64)
    keys = rng.integers(0, 1 << 16, int(per_row.sum())).astype(np.uint16)
    fast = feats._row_runs(per_row, keys)
    slow = feats._row_runs(per_row, keys.astype(np.int64))
    assert all(np.array_equal(a, b) and a.dtype == b.dtype
               for a, b in zip(fast, slow, strict=True))
