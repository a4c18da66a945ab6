"""VADER valence as head input columns (models.valence, LexicalConfig.valence_weight): a
pure function of each text, the same in a batch as alone, declared in the heads' metadata
and refused when the lexicon differs; heads written without it load and score as before."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import models.features as feats
import models.valence as valence_module
from models.baselines import vader_compound
from models.datasets import load_seed
from models.encoders import HashingEncoder
from models.features import LexicalConfig, lexical_features, lexical_features_by_config
from models.heads import fit_heads, load_heads
from models.pieces import PieceConfig
from models.recipe import Recipe, pieces_of, score_texts
from models.valence import VALENCE_COLUMNS, VALENCE_DIGEST, valence

ROOT = Path(__file__).resolve().parents[2]
TEXTS = ["I love this app, it works great!", "Terrible. The worst support I have ever had.",
         "The delivery arrived on Tuesday.", "not bad at all", "", "!!!",
         "Great, another outage. Just great.", "Ich kündige meinen Vertrag."]


def _small(**kw: object) -> LexicalConfig:
    return LexicalConfig(word_features=64, char_features=128, **kw)  # type: ignore[arg-type]


def test_valence_is_a_pure_function_of_each_text():
    batch = valence(TEXTS)
    assert batch.shape == (len(TEXTS), len(VALENCE_COLUMNS)) and batch.dtype == np.float32
    alone = np.vstack([valence([t]) for t in TEXTS])
    assert np.array_equal(batch, alone)  # a batch is its texts one by one
    back = valence(TEXTS[::-1] + TEXTS[:2])
    assert np.array_equal(back[:len(TEXTS)], batch[::-1]) and np.array_equal(back[-2:],
                                                                              batch[:2])
    assert np.allclose(batch[:, 0], vader_compound(TEXTS))  # the baseline's compound
    assert batch[0, 0] > 0.5 and batch[1, 0] < -0.5
    assert np.array_equal(valence(TEXTS, ("neg", "compound")), batch[:, [2, 0]])
    assert valence([]).shape == (0, 4)
    for bad in ((), ("compound", "compound"), ("anger",)):
        with pytest.raises(ValueError, match="valence columns"):
            valence(TEXTS, bad)
        with pytest.raises(ValueError, match="valence columns"):
            _small(valence_weight=1.0, valence_columns=bad)


@pytest.mark.parametrize("cfg", [_small(valence_weight=1.5),
                                 _small(cue_weight=1.0, content_pairs=True, valence_weight=0.5,
                                        valence_columns=("compound",))],
                         ids=["all-columns", "compound-after-cues"])
def test_valence_columns_come_last_times_the_weight(cfg):
    x = lexical_features(TEXTS, cfg).toarray()
    base = LexicalConfig(**{**cfg.__dict__, "valence_weight": 0.0})
    assert cfg.n_valence == len(cfg.valence_columns)
    assert x.shape == (len(TEXTS), base.dim + cfg.n_valence) and cfg.dim == x.shape[1]
    assert np.array_equal(x[:, :base.dim], lexical_features(TEXTS, base).toarray())
    want = valence(TEXTS, cfg.valence_columns) * np.float32(cfg.valence_weight)
    assert np.array_equal(x[:, base.dim:], want)
    m = lexical_features(TEXTS, cfg)
    assert not (m.data == 0).any()  # zero scores are left out of the sparse rows
    # with other configs in one pass: each config's rows as alone
    both = lexical_features_by_config(TEXTS, [base, cfg])
    assert (both[cfg] != m).nnz == 0 and (both[base] != lexical_features(TEXTS, base)).nnz == 0


def test_valence_is_computed_once_per_batch(monkeypatch):
    calls: list[int] = []

    def counting(texts, columns=VALENCE_COLUMNS):
        calls.append(len(texts))
        return valence(texts, columns)

    monkeypatch.setattr(feats, "valence", counting)
    lexical_features_by_config(TEXTS, [_small(valence_weight=1.0),
                                       _small(valence_weight=2.0, valence_columns=("neg",))])
    assert calls == [len(TEXTS)]
    calls.clear()
    lexical_features_by_config(TEXTS, [_small(), _small(cue_weight=1.0)])
    assert calls == []  # no config reads it: VADER is not run


def test_valence_settings_round_trip_and_another_lexicon_is_refused():
    cfg = _small(cue_weight=1.0, valence_weight=2.0, valence_columns=("compound", "neg"))
    d = cfg.to_dict()
    assert d["kind"] == feats.LEXICAL_KIND_VALENCE and d["valence_sha256"] == VALENCE_DIGEST
    assert d["valence_columns"] == ["compound", "neg"] and d["cues_sha256"] == feats.CUES_DIGEST
    assert LexicalConfig.from_dict(json.loads(json.dumps(d))) == cfg
    plain = _small(valence_weight=0.5).to_dict()
    assert plain["kind"] == feats.LEXICAL_KIND_VALENCE and "cues_sha256" not in plain
    assert LexicalConfig.from_dict(plain) == _small(valence_weight=0.5)
    with pytest.raises(ValueError, match="another VADER lexicon"):
        LexicalConfig.from_dict({**d, "valence_sha256": "0" * 16})


def test_settings_without_valence_are_written_and_read_as_before():
    """Heads written before valence existed (the two kinds, as in heads.json) read back with
    valence off and the same width; settings without valence are still written that way."""
    written_before = {
        "transformer": {"char_features": 16384, "char_ngrams": [3, 5], "char_weight": 0.4,
                        "kind": "hashed-ngrams/crc32-1", "word_features": 16384,
                        "word_ngrams": [1, 2], "word_weight": 0.4},
        "static": {"char_features": 16384, "char_ngrams": [3, 5], "char_weight": 0.8,
                   "content_pairs": True, "cue_weight": 1.0, "cues_sha256": feats.CUES_DIGEST,
                   "kind": "hashed-ngrams/crc32-2", "word_features": 16384,
                   "word_ngrams": [1, 2], "word_weight": 1.0},
    }
    for d, cfg in ((written_before["transformer"], LexicalConfig()),
                   (written_before["static"], feats.STATIC_LEXICAL)):
        read = LexicalConfig.from_dict(d)
        assert read.valence_weight == 0.0 and read.n_valence == 0
        assert read.dim == 16384 * 2 + read.n_cues
        off = LexicalConfig(**{**read.__dict__})
        assert off.to_dict() == d  # written exactly as before
        assert cfg.to_dict() == d


def test_heads_learn_from_valence_and_reload_scoring_alike(tmp_path):
    """Trained on the seed set, the sentiment head weighs the compound column towards
    positive; the reloaded heads compute the columns themselves and score alike, piece by
    piece (each piece its own valence)."""
    rows = load_seed()
    enc = HashingEncoder(dim=32)
    cfg = _small(valence_weight=1.0)
    heads = fit_heads(enc.encode([e.text for e in rows]), rows, enc.name, lexical=cfg)
    compound = 32 + 64 + 128  # after the embedding and the hashed n-grams
    labels = heads.sentiment.labels
    assert heads.sentiment.coef[labels.index("positive"), compound] > heads.sentiment.coef[
        labels.index("negative"), compound]
    heads.save(tmp_path, {"taxonomy_version": "t"})
    meta = json.loads((tmp_path / "heads.json").read_text())
    assert meta["lexical"]["valence_weight"] == 1.0
    loaded = load_heads(tmp_path)
    assert loaded.lexical == cfg
    emb = enc.encode(TEXTS)
    got, want = loaded.scores(emb, TEXTS), heads.scores(emb, TEXTS)
    assert np.allclose(got.sentiment, want.sentiment, atol=1e-5)
    assert np.allclose(got.presence, want.presence, atol=1e-5)
    alone = [loaded.scores(emb[i:i + 1], TEXTS[i:i + 1]).sentiment[0] for i in range(len(TEXTS))]
    assert np.allclose(np.vstack(alone), got.sentiment, atol=1e-6)
    # a long text's pieces each read their own valence, and a batch scores as its texts alone
    recipe = Recipe("transformer", "hashing", cfg, PieceConfig(window=60), sentiment_pool="max")
    long = ("The staff were lovely and the room was great. " * 2
            + "But the billing was a disaster, I was charged twice and nobody answered.")
    flat, _ = pieces_of([long], None, recipe.pieces)
    assert len(flat) > 2
    cols = lexical_features(flat, cfg).toarray()[:, -4:]
    assert np.array_equal(cols, valence(flat)) and len(set(cols[:, 0].tolist())) > 1
    pooled = score_texts([long, TEXTS[0]], enc, loaded, recipe)
    one = score_texts([long], enc, loaded, recipe)
    assert np.allclose(pooled.sentiment[0], one.sentiment[0], atol=1e-6)
    assert pooled.evidence[0] == one.evidence[0]


def test_bundled_recipes_declare_their_valence():
    from models.recipe import load_manifest
    from models.train import RECIPES

    manifest = load_manifest(ROOT / "models/artifacts")
    for path, recipe in RECIPES.items():
        heads = load_heads(ROOT / "models/artifacts" / path)
        assert heads.lexical == recipe.lexical == manifest.recipes[path].lexical


def test_vader_reads_at_most_max_emoji_of_a_text(monkeypatch):
    """VADER writes each emoji out as words at a cost that grows with the square of their
    number: a text of 10,000 emoji held a worker for a minute. It reads the first
    MAX_EMOJI of them; a text with fewer, and every other character, reads as written."""
    import models.valence as mv

    smile, angry = "\U0001f600", "\U0001f621"
    flood = (smile + " ok " + angry) * 5000
    kept = mv.bounded(flood)
    assert kept.count(smile) + kept.count(angry) == mv.MAX_EMOJI
    assert kept.count("ok") == flood.count("ok")
    assert kept.startswith(flood[:120])  # the first 40 emoji and what lies between
    for text in TEXTS + [smile * mv.MAX_EMOJI, "caf\u00e9 " + angry]:
        assert mv.bounded(text) is text
    read: list[str] = []
    analyzer = mv._vader()
    real = analyzer.polarity_scores
    monkeypatch.setattr(analyzer, "polarity_scores", lambda t: read.append(t) or real(t))
    got = valence([smile * 10_000, flood])
    assert read == [smile * mv.MAX_EMOJI, kept]
    assert np.array_equal(got, valence([smile * mv.MAX_EMOJI, kept]))


def test_the_linear_vader_scores_exactly_as_vader():
    """The analyzer's two look-backs read the words around a sentiment word instead of the
    whole text lower-cased each time: the same scores, bit for bit (checked on every
    labelled text and the bench mix when written; here on the cases those look-backs
    handle: negation up to three words back, "never so", "without doubt", idioms, boosters,
    "least", a text's first words and last words)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    texts = ["not bad at all", "never so good", "without doubt the best", "kind of good",
             "sort of bad but ok", "the bomb", "yeah right", "cut the mustard", "at least ok",
             "the least bad thing", "NOT GOOD!!!", "good", "no", "no good", "isn't it great?",
             "it was never this bad", "I don't really like it, but the staff were lovely :)",
             "hand to mouth, not bad " * 30, "😡 awful 😡", "bad"]
    plain = SentimentIntensityAnalyzer()
    linear = valence_module._linear_analyzer()
    for text in texts:
        assert linear.polarity_scores(text) == plain.polarity_scores(text), text
