"""The static path reads a long text once: its whole piece's token mean is built from its
windows' tokens (models.static.TokenSums) where that provably gives the same tokens, and
read from the text otherwise; the scores are those of reading every piece on its own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pytest

from models.encoders import CachedEncoder, HashingEncoder, encode_pieces, normalise_rows
from models.pieces import PieceConfig
from models.recipe import split_batch
from models.static import PY_WHITESPACE
from tests.models.long_texts import ODD_GAPS, bench_events, long_texts, odd_long, odd_texts

TOLERANCE = 1e-5
CFG = PieceConfig()


class Recording:
    """An encoder (hashing vectors) that records its calls; a PieceEncoder when ``pieces``."""

    def __init__(self, pieces: bool) -> None:
        self.inner = HashingEncoder()
        self.name, self.dim = "recording", self.inner.dim
        self.calls: list[tuple[list[str], dict[int, list[int]] | None]] = []
        if pieces:
            self.encode_pieces = self._encode_pieces

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append((list(texts), None))
        return self.inner.encode(texts)

    def _encode_pieces(self, texts: Sequence[str],
                       wholes: Mapping[int, Sequence[int]]) -> np.ndarray:
        self.calls.append((list(texts), {i: list(p) for i, p in wholes.items()}))
        return self.inner.encode(texts)


def test_python_whitespace_is_every_character_str_split_cuts_at():
    assert PY_WHITESPACE == "".join(c for c in map(chr, range(0x110000)) if c.isspace())
    assert set(ODD_GAPS) <= set(PY_WHITESPACE)


def test_an_encoder_without_encode_pieces_gets_one_plain_call():
    enc = Recording(pieces=False)
    batch = split_batch(long_texts()[:20], None, CFG)
    assert batch.wholes
    out = encode_pieces(enc, batch.flat, batch.wholes)
    assert enc.calls == [(batch.flat, None)]
    assert np.array_equal(out, HashingEncoder().encode(batch.flat))


def test_the_cache_asks_for_a_missing_whole_with_its_windows_cached_or_not():
    inner = Recording(pieces=True)
    cached = CachedEncoder(inner, 10_000)
    texts = long_texts()[:12]
    batch = split_batch(texts + texts[:3], None, CFG)  # repeats in one batch
    want = HashingEncoder().encode(batch.flat)
    assert np.array_equal(cached.encode_pieces(batch.flat, batch.wholes), want)
    (asked, wholes), = inner.calls
    assert asked == list(dict.fromkeys(batch.flat))  # each text once
    assert len(wholes or {}) == len({batch.flat[i] for i in batch.wholes})
    for k, parts in (wholes or {}).items():
        whole = next(i for i in batch.wholes if batch.flat[i] == asked[k])
        assert [asked[j] for j in parts] == [batch.flat[j] for j in batch.wholes[whole]]
    # all cached: no call
    assert np.array_equal(cached.encode_pieces(batch.flat, batch.wholes), want)
    assert len(inner.calls) == 1
    # a new whole whose windows are cached but its last: asked for with them
    letter = texts[0] + " And one more sentence to end it."
    more = split_batch([letter], None, CFG)
    assert more.wholes == {0: range(1, len(more.flat))}
    known = set(cached._cache)
    assert set(more.flat[1:-1]) <= known and more.flat[-1] not in known
    misses = cached.misses
    got = cached.encode_pieces(more.flat, more.wholes)
    assert np.array_equal(got, HashingEncoder().encode(more.flat))
    asked, wholes = inner.calls[-1]
    assert asked[:2] == [letter, more.flat[-1]] and set(asked) == set(more.flat)
    assert wholes == {0: [asked.index(t) for t in more.flat[1:]]}
    assert cached.misses - misses == 2 and {letter, more.flat[-1]} <= set(cached._cache)
    # plain encode: no wholes
    cached.encode(["a brand new text"])
    assert inner.calls[-1] == (["a brand new text"], None)


def test_the_cache_passes_no_wholes_to_an_encoder_without_encode_pieces():
    inner = Recording(pieces=False)
    batch = split_batch(long_texts()[:5], None, CFG)
    got = CachedEncoder(inner, 100).encode_pieces(batch.flat, batch.wholes)
    assert np.array_equal(got, HashingEncoder().encode(batch.flat))
    assert inner.calls == [(list(dict.fromkeys(batch.flat)), None)]


# ---- the real static encoder ------------------------------------------------------------


@pytest.fixture(scope="module")
def static():
    from models import build_classifier

    return build_classifier("static", cache_size=0)


def reference(enc, texts: Sequence[str]) -> np.ndarray:
    """What the tuned static encoder served before: model2vec's encode, mapped, scaled."""
    mean = np.asarray(enc._model.encode(list(texts), show_progress_bar=False), np.float32)
    return normalise_rows(mean @ enc._matrix)


def all_pieces():
    events = bench_events()
    texts = long_texts() + [e.customer_text for e in events]
    turns = [None] * len(long_texts()) + [
        [t.text for t in e.turns if t.speaker == "customer"] or None for e in events]
    return split_batch(texts + texts[:9], turns + turns[:9], CFG)


@pytest.mark.model
def test_a_whole_texts_tokens_are_its_windows_tokens(static):
    """WordPiece after BERT's pre-tokeniser never joins words across whitespace: on real
    letters, calls (turns) and the bench mix, every covered whole text's tokens (read in
    full) are its windows' tokens one after the other, except where the whole text holds a
    whitespace character that the normaliser drops, which the encoder knows to read."""
    sums = static.encoder._sums
    batch = all_pieces()
    full = sums.tokenizer.__class__.from_str(sums.tokenizer.to_str())
    full.no_truncation()

    def ids(texts):
        return [e.ids for e in full.encode_batch_fast(texts, add_special_tokens=False)]

    differ = 0
    for whole, parts in batch.wholes.items():
        got = ids([batch.flat[whole]])[0]
        joined = [t for row in ids([batch.flat[j] for j in parts]) for t in row]
        if sums.merged is not None and sums.merged.search(batch.flat[whole]):
            differ += got != joined
        else:
            assert got == joined, batch.flat[whole][:80]
    assert differ > 0  # the dropped whitespace does join words: reading those is needed
    assert sums.merged is not None
    assert {c for c in PY_WHITESPACE if sums.merged.search(c)} == set(
        "\x0b\x0c\x1c\x1d\x1e\x1f\x85")


@pytest.mark.model
def test_encode_pieces_equals_reading_every_piece(static, monkeypatch):
    """The embeddings equal model2vec's reading of every piece (within 1e-5), and the whole
    texts are read only where the windows cannot stand for them: the whole text past the
    character cut with its first 512 tokens not shown to end before it, whitespace the
    tokenizer drops, windows left out."""
    enc = static.encoder
    batch = all_pieces()
    want = reference(enc, batch.flat)
    assert np.array_equal(enc.encode(batch.flat), enc.encode_pieces(batch.flat, {}))
    read: list[str] = []
    real_ids = enc._sums.ids

    def spy(texts):
        read.extend(texts)
        return real_ids(texts)

    monkeypatch.setattr(enc._sums, "ids", spy)
    got = enc.encode_pieces(batch.flat, batch.wholes)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= TOLERANCE
    assert np.array_equal(np.abs(got).sum(axis=1) == 0, np.abs(want).sum(axis=1) == 0)
    wholes = {batch.flat[i] for i in batch.wholes}
    wholes_read = wholes & set(read)
    odd = odd_long()
    merged = [t for t in odd_texts() if enc._sums.merged.search(t)]
    assert len(merged) == 14  # 7 characters, between sentences and between words
    assert set(merged) | {odd["unknown words past the cut"], odd["cut in whitespace"],
                          odd["few tokens, cut in whitespace"]} <= wholes_read
    assert odd["windows left out"] not in wholes  # not covered: read like any text
    built = wholes - wholes_read
    assert {odd["over 512 tokens"], odd["over the cut"], odd["whitespace runs"],
            odd["other scripts"], odd["emoji"]} <= built  # the first 512 tokens from windows
    assert len(built) > 100
    assert len(read) < len(batch.flat) - 150


@pytest.mark.model
def test_short_batches_and_odd_texts_encode_as_before(static):
    enc = static.encoder
    for texts in ([], [""], ["", "   "], ["\x0b"], ["a" * 5000], ["Close my account."] * 3):
        batch = split_batch(texts, None, CFG)
        got = enc.encode_pieces(batch.flat, batch.wholes)
        assert got.shape == (len(batch.flat), enc.dim)
        if batch.flat:
            assert np.abs(got - reference(enc, batch.flat)).max() <= TOLERANCE


def _old_scores(clf, events, monkeypatch):
    """``clf.score(events)`` as before: every piece encoded and featurised on its own."""
    import models.recipe as recipe
    from models.features import lexical_features

    with monkeypatch.context() as m:
        m.setattr(recipe, "encode_pieces", lambda enc, texts, wholes: reference(enc, texts))
        m.setattr(recipe, "lexical_features", lambda texts, cfg, wholes=None:
                  lexical_features(texts, cfg))
        return clf.score(events)


@pytest.mark.model
@pytest.mark.parametrize("cache_size", [0, 64])
def test_scores_and_decisions_are_those_of_reading_every_piece(static, cache_size,
                                                                 monkeypatch):
    """Seed letters and calls, the bench mix (calls with turns, repeats) and odd texts,
    scored as served, equal the old path's scores within 1e-5 with the same decisions and
    evidence; with the LRU cache in front, in two passes (the second from the cache)."""
    from datetime import UTC, datetime

    from detector.schema import Event
    from models import build_classifier

    at = datetime(2026, 11, 2, tzinfo=UTC)
    events = bench_events() + [Event(event_id=f"l{i}", customer_id="C-l", channel="email",
                                     occurred_at=at, text=t)
                               for i, t in enumerate(long_texts()[:40] + odd_texts())]
    events += events[:5]
    want = _old_scores(static, events, monkeypatch)
    clf = static if not cache_size else build_classifier("static", cache_size=cache_size)
    for _ in range(2):
        got = clf.score(events)
        for name in ("intent", "friction", "presence", "sentiment", "stage", "emb"):
            assert np.abs(getattr(got, name) - getattr(want, name)).max() <= TOLERANCE, name
        assert got.intent_labels == want.intent_labels
        assert got.friction_labels == want.friction_labels
        assert got.evidence == want.evidence
