"""Fast model tests: seed set, mapping, heads artifacts, metrics, cascade routing, few-shot
training through the CLI (hashing encoder; no MiniLM)."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from detector.schema import Event
from detector.signals import FRICTION_CATEGORIES, INTENTS
from models import build_classifier
from models.cascade import CascadeThresholds, route_mask
from models.classifier import Scores
from models.datasets import Example, load_seed
from models.encoders import HashingEncoder
from models.evaluate import ece, multiclass_report, write_confusion_png
from models.heads import ArtifactError, fit_heads, load_heads
from models.language import detect_language
from models.train import taxonomy_examples

FIXTURE = Path(__file__).parent / "fixtures" / "few_shot.csv"
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _event(text: str, i: int = 0, language: str | None = None) -> Event:
    return Event(event_id=f"e{i}", customer_id="C-1", channel="chat",
                 occurred_at=datetime(2026, 11, 2, tzinfo=UTC), text=text, language=language)


def test_seed_set_covers_channels_domains_and_hard_cases():
    seed = load_seed()
    assert len(seed) >= 450
    raw = [json.loads(line) for line in
           (Path(__file__).resolve().parents[2] / "models/data/seed.jsonl").open()]
    assert {r["channel"] for r in raw} >= {"review", "ticket", "social", "call", "chat", "email",
                                           "survey"}
    assert {r["domain"] for r in raw} >= {"saas", "telecom", "retail", "banking", "travel",
                                          "utilities", "insurance", "streaming", "delivery"}
    tags = {t for r in raw for t in r["tags"]}
    assert tags >= {"sarcasm", "negation", "order-cancel", "non-native", "short", "long",
                    "unsubscribe", "plan-switch", "account-removal"}
    by_tag = {t: {r["intent"] for r in raw if t in r["tags"]} for t in tags}
    assert by_tag["unsubscribe"] == {"none"} and by_tag["plan-switch"] == {"none"}
    assert by_tag["account-removal"] == {"explicit"}
    assert {e.intent for e in seed} == set(INTENTS)
    assert {c for e in seed for c in e.friction or ()} == set(FRICTION_CATEGORIES)


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data (public sets) not present")
def test_public_mapping_traps():
    from models.datasets import load_public

    data = load_public(SHARED)
    bitext = {e.original_label: e for e in data["bitext"]}
    assert bitext["cancel_order"].intent == "none"
    assert bitext["delete_account"].intent == "explicit"
    assert bitext["check_cancellation_fee"].intent == "at_risk"
    clinc = {e.original_label: e for e in data["clinc150"]}
    assert clinc["cancel"].intent == "none" and clinc["cancel"].friction == ()
    bank = {e.original_label: e for e in data["banking77"]}
    assert bank["terminate_account"].intent == "explicit"
    assert bank["transaction_charged_twice"].friction == ("billing",)
    assert bank["pending_transfer"].friction is None  # ambiguous: not used for friction


@pytest.fixture(scope="module")
def hashing_heads():
    rows = taxonomy_examples(json.loads(
        (Path(__file__).resolve().parents[2] / "models/taxonomy.json").read_text())) + load_seed()
    enc = HashingEncoder()
    return fit_heads(enc.encode([e.text for e in rows]), rows, enc.name), rows


def test_artifacts_roundtrip_deterministic_and_tamper_refused(hashing_heads, tmp_path):
    heads, rows = hashing_heads
    meta = heads.save(tmp_path / "a", {"taxonomy_version": "t"})
    enc = HashingEncoder()
    again = fit_heads(enc.encode([e.text for e in rows]), rows, enc.name)
    meta2 = again.save(tmp_path / "b", {"taxonomy_version": "t"})
    assert meta["files"] == meta2["files"]  # same sha256: rebuilt bit-for-bit
    assert (tmp_path / "a/heads.safetensors").read_bytes() == (
        tmp_path / "b/heads.safetensors").read_bytes()
    loaded = load_heads(tmp_path / "a")
    x = enc.encode(["please close my account", "thanks, all good"])
    assert np.allclose(loaded.intent.proba(x), heads.intent.proba(x), atol=1e-5)
    blob = bytearray((tmp_path / "a/heads.safetensors").read_bytes())
    blob[-1] ^= 1
    (tmp_path / "a/heads.safetensors").write_bytes(bytes(blob))
    with pytest.raises(ArtifactError, match="sha256"):
        load_heads(tmp_path / "a")
    assert not list(tmp_path.rglob("*.pkl"))


def test_bundled_artifacts_match_their_metadata():
    from models import bundled_artifacts

    for kind in ("transformer", "static"):
        folder = bundled_artifacts() / kind
        meta = json.loads((folder / "heads.json").read_text())
        digest = hashlib.sha256((folder / "heads.safetensors").read_bytes()).hexdigest()
        assert meta["files"]["heads.safetensors"]["sha256"] == digest
        assert meta["taxonomy_version"] and meta["data"]["seed"]["sha256"]
        assert meta["version"].startswith(meta["encoder"])


def test_hashing_classifier_contract():
    clf = build_classifier("hashing", cache_size=0)
    signals = clf.classify([_event("please close my account, I'm leaving", 0),
                            _event("Quiero cancelar mi cuenta, no estoy contento", 1),
                            _event("thanks, great service", 2)])
    assert len(signals) == 3
    assert signals[0].model_version == clf.model_version
    assert signals[1].confidence == "low" and "non_english" in signals[1].flags
    assert signals[2].confidence == "normal"
    for s in signals:
        assert abs(sum(s.intent_probabilities.values()) - 1) < 1e-6
        assert s.churn_probability == pytest.approx(1 - s.intent_probabilities["none"])
        assert s.embedding_packed is not None and len(base64.b64decode(s.embedding_packed)) == 128
    assert clf.last_encoder_paths == {"static": 3}


def test_language_detection():
    assert detect_language("please cancel my account") == "en"
    assert detect_language("Je veux résilier mon abonnement, pas content") == "fr"
    assert detect_language("这个服务太差了") == "und"


def test_metrics_and_png(tmp_path):
    assert ece(np.array([1.0, 1.0, 0.0]), np.array([1.0, 1.0, 0.0])) == 0.0
    assert ece(np.array([0.9] * 10), np.array([1.0] * 5 + [0.0] * 5)) == pytest.approx(0.4)
    rep = multiclass_report(["none", "explicit", "none"], ["none", "none", "none"], None, INTENTS)
    assert rep["per_label"]["explicit"]["recall"] == 0.0
    assert rep["confusion"][INTENTS.index("explicit")][INTENTS.index("none")] == 1
    write_confusion_png(rep["confusion"], tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cascade_routes_risky_and_uncertain_only():
    n = 3
    intent = np.array([[0.98, 0.01, 0.01], [0.3, 0.3, 0.4], [0.6, 0.2, 0.2]])
    fr = np.full((n, 9), 0.01)
    s = Scores(intent, ["none", "explicit", "none"], fr, [(), (), ()], np.zeros((n, 3)),
               np.zeros((n, 7)), ("a",) * 7)
    mask = route_mask(s, np.full(9, 0.5), CascadeThresholds(churn=0.3, confidence=0.5, band=0.1))
    assert mask.tolist() == [False, True, True]


def test_train_on_few_shot_file_gives_working_model_and_report(tmp_path, monkeypatch):
    from streams.cli import main

    monkeypatch.setenv("CHURN_MODEL_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "model"
    res = CliRunner().invoke(main, ["train", "--data", str(FIXTURE), "--out", str(out),
                                    "--encoder", "hashing"])
    assert res.exit_code == 0, res.output
    assert (out / "eval.md").exists() and (out / "eval.json").exists()
    report = json.loads((out / "eval.json").read_text())
    (ds,) = report["datasets"]
    assert 0.0 <= report["datasets"][ds]["systems"]["hashing"]["intent"]["macro_f1"] <= 1.0
    clf = build_classifier("hashing", model_dir=out, cache_size=0)
    sig = clf.classify([_event("Please cancel my subscription, I am leaving.")])[0]
    assert sig.model_version == report["model_version"]
    assert sig.churn_intent == "explicit"
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps({"event_id": "e1", "customer_id": "C1", "channel": "chat",
                                  "occurred_at": "2026-11-02T09:00:00Z",
                                  "text": "Close my account, I am leaving."}) + "\n")
    monkeypatch.setenv("CHURN_ENCODER", "hashing")
    monkeypatch.setenv("CHURN_MODEL_DIR", str(out))
    res = CliRunner().invoke(main, ["score", str(events)])
    assert res.exit_code == 0, res.output
    row = json.loads(res.stdout.strip().splitlines()[0])
    for key in ("event_id", "customer_id", "churn_intent", "churn_probability",
                "intent_probabilities", "friction", "friction_categories", "sentiment",
                "journey_stage", "journey_stage_source", "model_version"):
        assert key in row
    assert row["model_version"] == report["model_version"]


def test_train_rejects_bad_labels(tmp_path):
    from streams.cli import main

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "hi", "intent": "maybe"}) + "\n")
    res = CliRunner().invoke(main, ["train", "--data", str(bad), "--out", str(tmp_path / "m"),
                                    "--encoder", "hashing"])
    assert res.exit_code != 0 and "intent" in res.output


# ---- lexical features, heads that use them, embedding cache ------------------------------

def _small_lex():
    from models.features import LexicalConfig

    return LexicalConfig(word_features=64, char_features=128, word_weight=0.5, char_weight=0.3)


def test_lexical_features_stateless_deterministic_and_shaped():
    import models.features as feats

    cfg = _small_lex()
    texts = ["please close my account", "unsubscribe me from the newsletter", "ok"]
    a = feats.lexical_features(texts, cfg)
    b = feats.lexical_features(list(reversed(texts)), cfg)
    assert a.shape == (3, cfg.dim) == (3, 192)
    assert np.array_equal(a.toarray(), b.toarray()[::-1])  # a row depends on its text only
    dense = a.toarray()
    assert np.allclose(np.linalg.norm(dense[:, :64], axis=1), 0.5, atol=1e-6)
    assert np.allclose(np.linalg.norm(dense[:, 64:], axis=1), 0.3, atol=1e-6)
    assert not np.allclose(dense[0], dense[1])
    # pinned: the hashing is part of the artifact contract (CRC-32, never Python's hash())
    import zlib

    one = feats.lexical_features(["Close account"], cfg)
    word_cols = {int(c) for c in one.indices if c < 64}
    assert word_cols == {zlib.crc32(g.encode()) % 64 for g in ("close", "account",
                                                                "close account")}
    char_cols = {int(c) - 64 for c in one.indices if c >= 64}
    assert char_cols == {zlib.crc32(w[i:i + n].encode()) % 128 for w in (" close ", " account ")
                         for n in (3, 4, 5) for i in range(len(w) - n + 1)}
    assert feats.lexical_features([""], cfg).nnz == 0
    assert feats.LexicalConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="kind"):
        feats.LexicalConfig.from_dict({**cfg.to_dict(), "kind": "other"})
    emb = np.ones((3, 4), np.float32)
    x = feats.head_inputs(emb, texts, cfg)
    assert x.shape == (3, 4 + 192) and np.array_equal(x.toarray()[:, :4], emb)
    assert feats.head_inputs(emb, None, None) is emb
    with pytest.raises(ValueError, match="texts"):
        feats.head_inputs(emb, None, cfg)


def test_heads_with_lexical_features_roundtrip(tmp_path):
    from models.classifier import score_embeddings

    rows = load_seed()
    texts = [e.text for e in rows]
    enc = HashingEncoder(dim=32)
    emb = enc.encode(texts)
    cfg = _small_lex()
    heads = fit_heads(emb, rows, enc.name, lexical=cfg)
    assert heads.lexical == cfg and heads.friction.coef.shape == (9, 32 + cfg.dim)
    meta = heads.save(tmp_path / "a", {"taxonomy_version": "t"})
    assert meta["lexical"] == cfg.to_dict() and meta["format"] == "churn-heads/2"
    again = fit_heads(emb, rows, enc.name, lexical=cfg)
    again.save(tmp_path / "b", {"taxonomy_version": "t"})
    assert (tmp_path / "a/heads.safetensors").read_bytes() == (
        tmp_path / "b/heads.safetensors").read_bytes()
    from safetensors.numpy import load

    stored = load((tmp_path / "a/heads.safetensors").read_bytes())
    assert stored["intent.coef"].dtype == np.float16
    loaded = load_heads(tmp_path / "a")
    assert loaded.lexical == cfg
    probe = ["please close my account, I'm leaving", "unsubscribe me from the newsletter"]
    pe = enc.encode(probe)
    s1, s2 = score_embeddings(heads, pe, probe), score_embeddings(loaded, pe, probe)
    assert np.allclose(s1.intent, s2.intent, atol=1e-5)
    assert np.allclose(s1.friction, s2.friction, atol=1e-5)
    assert s1.intent_labels == s2.intent_labels
    full = loaded.inputs(pe, probe)  # the training-time path gives the same probabilities
    assert np.allclose(loaded.intent.proba(full), s2.intent, atol=1e-5)
    assert np.allclose(loaded.friction.proba(full), s2.friction, atol=1e-5)
    with pytest.raises(ValueError, match="texts"):
        score_embeddings(loaded, pe)
    plain = fit_heads(emb, rows, enc.name)  # no lexical: embeddings alone, as before
    assert plain.lexical is None and plain.friction.coef.shape == (9, 32)
    assert score_embeddings(plain, pe).intent.shape == (2, 3)


def test_intent_cues_read_verb_near_relationship_noun_not_any_cancel():
    from models.baselines import keyword_intent
    from models.cues import intent_cues

    assert intent_cues("Please close my account, I'm moving banks") == (True, False)
    assert intent_cues("I'd like to cancel my subscription") == (True, False)
    assert intent_cues("How do I cancel my transfer?") == (False, False)
    assert intent_cues("Cancel order 5512, wrong size") == (False, False)
    assert intent_cues("What's the termination fee if I leave in March?") == (False, True)
    assert intent_cues("Bonjour, je veux résilier mon abonnement") == (False, False)
    # the keywords baseline decides from the same two cues
    assert keyword_intent(["close my account", "termination fee?", "cancel my transfer"]) == [
        "explicit", "at_risk", "none"]


def test_static_lexical_adds_content_word_pairs_and_cue_columns():
    import models.features as feats
    from models.evaluate import lexical_for
    from models.static import STATIC_NAME

    cfg = feats.LexicalConfig(word_features=64, char_features=128, word_weight=0.5,
                              char_weight=0.3, content_pairs=True, cue_weight=0.7)
    assert cfg.dim == 64 + 128 + 2
    words, _ = feats._grams("Cancel my last transfer", cfg)
    assert "~cancel last" in words and "~last transfer" in words and "cancel my" in words
    plain, _ = feats._grams("Cancel my last transfer", _small_lex())
    assert not [w for w in plain if w.startswith("~")]
    # "cancel my transfer" and "cancel a transfer" share a content pair the bigrams miss
    a, _ = feats._grams("cancel my transfer", cfg)
    b, _ = feats._grams("cancel a transfer", cfg)
    assert "~cancel transfer" in set(a) & set(b)
    x = feats.lexical_features(["please close my account", "thinking of switching to a "
                                "competitor", "cancel my transfer"], cfg).toarray()
    assert x.shape == (3, cfg.dim)
    assert np.allclose(x[:, -2:], [[0.7, 0.0], [0.0, 0.7], [0.0, 0.0]])
    assert np.allclose(np.linalg.norm(x[:, :64], axis=1), 0.5, atol=1e-6)  # pairs in words
    # metadata: the new kind round-trips; the old kind is written exactly as before
    d = cfg.to_dict()
    assert d["kind"] == feats.LEXICAL_KIND_CUES and feats.LexicalConfig.from_dict(d) == cfg
    with pytest.raises(ValueError, match="other churn-intent cues"):  # the cues changed
        feats.LexicalConfig.from_dict({**d, "cues_sha256": "0" * 16})
    old = _small_lex().to_dict()
    assert old["kind"] == feats.LEXICAL_KIND and "cue_weight" not in old
    assert feats.LexicalConfig.from_dict(old) == _small_lex()
    # which heads read which features
    assert lexical_for("static") == lexical_for(STATIC_NAME) == feats.STATIC_LEXICAL
    assert feats.STATIC_LEXICAL.cue_weight > 0 and feats.STATIC_LEXICAL.content_pairs
    assert lexical_for("transformer") == feats.DEFAULT_LEXICAL
    assert lexical_for("hashing") is None


def test_heads_learn_to_trust_the_explicit_cue(tmp_path):
    """Trained on the seed set, the explicit class weighs the explicit cue positively and
    the reloaded heads compute the cue columns themselves."""
    import models.features as feats
    from models.classifier import score_embeddings

    rows = load_seed()
    enc = HashingEncoder(dim=32)
    cfg = feats.LexicalConfig(word_features=64, char_features=128, content_pairs=True,
                              cue_weight=1.0)
    heads = fit_heads(enc.encode([e.text for e in rows]), rows, enc.name, lexical=cfg)
    cue_col = 32 + 64 + 128  # after the embedding and the hashed n-grams
    explicit = INTENTS.index("explicit")
    assert heads.intent.coef[explicit, cue_col] > heads.intent.coef[
        INTENTS.index("none"), cue_col]
    heads.save(tmp_path, {"taxonomy_version": "t"})
    loaded = load_heads(tmp_path)
    assert loaded.lexical == cfg
    probe = ["please close my account", "cancel my transfer"]
    pe = enc.encode(probe)
    assert np.allclose(score_embeddings(loaded, pe, probe).intent,
                       score_embeddings(heads, pe, probe).intent, atol=1e-5)


def test_embedding_cache_encodes_only_new_texts(tmp_path):
    from models.embcache import embed

    class Counting(HashingEncoder):
        def __init__(self):
            super().__init__(dim=16)
            self.seen: list[str] = []

        def encode(self, texts):
            self.seen += list(texts)
            return super().encode(texts)

    enc = Counting()
    first = embed(enc, ["b", "a", "b"], tmp_path)
    assert sorted(enc.seen) == ["a", "b"]
    enc.seen.clear()
    second = embed(enc, ["c", "a", "b"], tmp_path)
    assert enc.seen == ["c"]  # a and b come from the first shard
    assert np.array_equal(second[1:], first[[1, 0]])
    assert np.allclose(second, HashingEncoder(dim=16).encode(["c", "a", "b"]))
    enc.seen.clear()
    embed(enc, ["a", "b", "c"], tmp_path)
    assert enc.seen == []
    assert not list(tmp_path.rglob("*.pkl"))


def test_format_1_artifacts_without_lexical_features_still_load(hashing_heads, tmp_path):
    heads, _ = hashing_heads
    meta = heads.save(tmp_path, {"taxonomy_version": "t"})
    meta["format"] = "churn-heads/1"  # written before lexical features existed
    del meta["lexical"]
    (tmp_path / "heads.json").write_text(json.dumps(meta))
    loaded = load_heads(tmp_path)
    assert loaded.lexical is None
    x = HashingEncoder().encode(["please close my account"])
    assert np.allclose(loaded.intent.proba(x), heads.intent.proba(x), atol=1e-5)
    meta["format"] = "churn-heads/0"
    (tmp_path / "heads.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="format"):
        load_heads(tmp_path)


def test_projection_fits_roundtrips_and_refuses_tampering(tmp_path):
    from models.projection import fit_projection, load_projection

    rng = np.random.default_rng(7)
    static = rng.normal(size=(400, 16))
    truth = rng.normal(size=(16, 24))
    strong = static @ truth + 0.01 * rng.normal(size=(400, 24))
    proj = fit_projection(static, strong, "s", "t")
    got = proj.apply(static[:50].astype(np.float32))
    want = strong[:50] / np.linalg.norm(strong[:50], axis=1, keepdims=True)
    assert (got * want).sum(axis=1).min() > 0.99  # the map recovers the target directions
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    meta = proj.save(tmp_path / "p")
    again = fit_projection(static, strong, "s", "t").save(tmp_path / "q")
    assert meta["files"] == again["files"]  # deterministic bytes
    loaded = load_projection(tmp_path / "p")
    assert np.array_equal(loaded.matrix, proj.matrix) and (loaded.source, loaded.target) == (
        "s", "t")
    with pytest.raises(ValueError, match="16-d"):
        loaded.apply(np.zeros((1, 24), np.float32))
    blob = bytearray((tmp_path / "p/projection.safetensors").read_bytes())
    blob[-1] ^= 1
    (tmp_path / "p/projection.safetensors").write_bytes(bytes(blob))
    with pytest.raises(ArtifactError, match="sha256"):
        load_projection(tmp_path / "p")


def test_bundled_projection_maps_static_to_transformer_dims():
    from models import bundled_artifacts
    from models.projection import load_projection

    root = bundled_artifacts()
    proj = load_projection(root)
    static = json.loads((root / "static/heads.json").read_text())
    strong = json.loads((root / "transformer/heads.json").read_text())
    assert (proj.source, proj.target) == (static["encoder"], strong["encoder"])
    assert proj.matrix.shape == (256, 384)
    assert proj.meta["data"] == strong["data"]  # fitted on the heads' training rows
    cascade = json.loads((root / "cascade.json").read_text())
    assert 0 < cascade["routed_fraction_validation_rule_only"] <= cascade[
        "routed_fraction_validation"] < 1


def test_cascade_routes_where_the_projected_opinion_disagrees(hashing_heads):
    from models.cascade import CascadeClassifier, disagreement, second_opinion_mask
    from models.classifier import score_embeddings
    from models.projection import Projection

    heads, _ = hashing_heads
    enc = HashingEncoder()
    texts = ["please close my account, I'm leaving", "thanks, all good", "I was charged twice",
             "the app keeps crashing", "where is my parcel? three weeks late", "hello"]
    events = [_event(t, i) for i, t in enumerate(texts)]
    never = CascadeThresholds(churn=1.01, confidence=0.0, band=0.0, friction_watch=100.0,
                              sentiment_confidence=0.0)  # the rules route nothing
    dim = enc.encode(["x"]).shape[1]
    same = Projection(np.eye(dim, dtype=np.float32), enc.name, heads.encoder)
    casc = CascadeClassifier(enc, heads, enc, heads, never, projection=same)
    casc.classify(events)
    assert casc.last_encoder_paths == {"static": 6, "transformer": 0}  # the opinions agree
    scrambled = Projection(np.roll(np.eye(dim, dtype=np.float32), 1, axis=1), enc.name,
                           heads.encoder)
    casc = CascadeClassifier(enc, heads, enc, heads, never, projection=scrambled)
    out = casc.classify(events)
    emb = enc.encode(texts)
    own, moved = score_embeddings(heads, emb, texts), score_embeddings(
        heads, scrambled.apply(emb), texts)
    expected = disagreement(own, moved) | (own.sentiment.argmax(axis=1)
                                           != moved.sentiment.argmax(axis=1))
    assert 0 < casc.last_encoder_paths["transformer"] == int(expected.sum())
    assert [s.churn_intent for s in out] == [s.churn_intent for s in
                                             CascadeClassifier(enc, heads, enc, heads,
                                                               never).classify(events)]
    own = score_embeddings(heads, emb, texts)
    assert not second_opinion_mask(own, own, never).any()
    risky = second_opinion_mask(own, own, CascadeThresholds(churn=0.5))
    assert risky.tolist() == [1 - p >= 0.5 for p in own.intent[:, 0]] and risky[0]
    with pytest.raises(ValueError, match="projection maps"):
        CascadeClassifier(enc, heads, enc, heads, never,
                          projection=Projection(same.matrix, "other", heads.encoder))


def _char_tokenize(texts):
    return [[ord(c) % 50 for c in t.lower() if c.isalpha()] for t in texts]


def test_tuned_table_learns_trains_deterministically_and_refuses_tampering(tmp_path):
    from models.tokentune import load_tuned, train_tuned_table, tuned_embeddings

    rng = np.random.default_rng(3)
    base = rng.normal(size=(50, 8)).astype(np.float32)
    texts = ["refund please", "charged twice", "app crashes", "love it", "where is my parcel",
             "cannot log in", "close my account", "thanks a lot"] * 8
    goal = rng.normal(size=(len(set(texts)), 12)).astype(np.float32)
    lookup = dict(zip(dict.fromkeys(texts), goal, strict=True))
    targets = np.array([lookup[t] for t in texts], np.float32)
    init = rng.normal(size=(8, 12)).astype(np.float32) * 0.1

    def fit(**kw):
        from models.tokentune import TuneConfig

        return train_tuned_table(_char_tokenize, base, texts, targets, init, "s", "t",
                                 TuneConfig(epochs=kw.get("epochs", 30), learning_rate=0.05,
                                            batch=16))

    def fit_quality(table):
        got = tuned_embeddings(_char_tokenize, base, table, texts)
        want = targets / np.linalg.norm(targets, axis=1, keepdims=True)
        return float((got * want).sum(axis=1).mean())

    short, long = fit(epochs=1), fit()
    assert fit_quality(long) > fit_quality(short) + 0.1  # training moves towards the targets
    assert set(long.token_ids.tolist()) == {i for row in _char_tokenize(texts) for i in row}
    meta = long.save(tmp_path / "a")
    assert fit().save(tmp_path / "b")["files"] == meta["files"]  # deterministic bytes
    loaded = load_tuned(tmp_path / "a")
    assert np.array_equal(loaded.vectors, long.vectors) and loaded.sha == long.sha
    assert meta["corpus"]["texts"] == len(texts) and meta["tokens"] == len(long.token_ids)
    blob = bytearray((tmp_path / "a/tuned.safetensors").read_bytes())
    blob[-1] ^= 1
    (tmp_path / "a/tuned.safetensors").write_bytes(bytes(blob))
    with pytest.raises(ArtifactError, match="sha256"):
        load_tuned(tmp_path / "a")


def test_static_classifier_reads_intent_from_its_heads_and_the_rest_from_the_tuned_path(
        hashing_heads):
    from models.classifier import StaticClassifier, hybrid_scores, score_embeddings

    heads, rows = hashing_heads
    enc = HashingEncoder()
    # tuned-path heads that differ visibly: no intent rows (uniform intent), every friction
    # category flagged
    other = fit_heads(enc.encode([e.text for e in rows]),
                      [e if e.intent is None else
                       Example(e.text, e.source, friction=e.friction, sentiment=e.sentiment,
                               stage=e.stage) for e in rows], enc.name)
    other.friction.thresholds[:] = 0.0
    other.meta["version"] = "tuned-path-heads"
    clf = StaticClassifier(enc, heads, enc, other)
    texts = ["please close my account, I'm leaving", "I was charged twice for one order",
             "the new app is great"]
    signals = clf.classify([_event(t, i) for i, t in enumerate(texts)])
    emb = enc.encode(texts)
    want = hybrid_scores(score_embeddings(heads, emb, texts), score_embeddings(other, emb, texts),
                         heads, other.friction.thresholds)
    assert [s.churn_intent for s in signals] == want.intent_labels
    assert signals[0].churn_intent == "explicit"  # the static heads outweigh the uniform ones
    native = score_embeddings(heads, emb, texts)
    assert np.allclose(want.intent, 0.7 * native.intent + 0.3 / 3, atol=1e-3)  # weighted mean
    assert all(len(s.friction_categories) == 9 for s in signals)  # from the tuned path
    assert [s.friction_categories for s in signals] == [tuple(f) for f in want.friction_labels]
    assert signals[0].intent_probabilities["explicit"] == pytest.approx(
        float(want.intent[0, INTENTS.index("explicit")]), abs=1e-4)
    assert clf.model_version == f"{heads.version}+{enc.name}+{other.version}"
    assert clf.last_encoder_paths == {"static": 3}


def test_bundled_tuned_table_fits_the_bundled_static_model():
    from models import bundled_artifacts
    from models.tokentune import load_tuned

    root = bundled_artifacts()
    table = load_tuned(root / "static")
    static = json.loads((root / "static/heads.json").read_text())
    strong = json.loads((root / "transformer/heads.json").read_text())
    assert (table.source, table.target) == (static["encoder"], strong["encoder"])
    assert table.matrix.shape == (256, 384) and table.vectors.shape == (len(table.token_ids), 256)
    assert 1000 < len(table.token_ids) < 29525 and table.meta["data"] == static["data"]
    assert (root / "static/tuned.safetensors").stat().st_size < 4_000_000


def test_every_bundled_artifact_is_packaged():
    """The wheel (and so the container) carries every file under models/artifacts."""
    import fnmatch
    import tomllib

    root = Path(__file__).resolve().parents[2]
    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["models"]
    files = [p.relative_to(root / "models").as_posix()
             for p in (root / "models/artifacts").rglob("*") if p.is_file()]
    assert any(f.endswith(".safetensors") for f in files)
    missing = [f for f in files if not any(fnmatch.fnmatchcase(f, pat) for pat in patterns)]
    assert not missing, f"not in [tool.setuptools.package-data] models: {missing}"


def test_heads_reading_shared_lexical_rows_score_as_if_they_computed_them(hashing_heads):
    from models.classifier import lexical_rows_for, score_embeddings, shared_lexical
    from models.features import DEFAULT_LEXICAL, STATIC_LEXICAL, lexical_features

    plain, rows = hashing_heads
    enc = HashingEncoder()
    sub = rows[::3]
    x = enc.encode([e.text for e in sub])
    heads = fit_heads(x, sub, enc.name, lexical=DEFAULT_LEXICAL)
    static = fit_heads(x, sub, enc.name, lexical=STATIC_LEXICAL)
    texts = ["I was charged twice", "please close my account", "the app crashes at login"]
    emb = enc.encode(texts)
    lex = shared_lexical(texts, heads, static, plain)
    assert set(lex) == {DEFAULT_LEXICAL, STATIC_LEXICAL} and shared_lexical(texts, plain) == {}
    assert lexical_rows_for(lex, plain) is None
    for h in (heads, static):  # one hashing pass for both configs, same rows as alone
        rows_h = lexical_rows_for(lex, h)
        assert (rows_h != lexical_features(texts, h.lexical)).nnz == 0
        a, b = score_embeddings(h, emb, texts), score_embeddings(h, emb, None, rows_h)
        assert np.allclose(a.intent, b.intent) and np.allclose(a.friction, b.friction)
        assert a.friction_labels == b.friction_labels
    with pytest.raises(ValueError, match="lexical rows"):
        score_embeddings(heads, emb[:2], None, lexical_rows_for(lex, heads))
    with pytest.raises(ValueError, match="lexical rows"):
        score_embeddings(heads, emb, None, lexical_rows_for(lex, static))


def test_hybrid_decides_friction_below_the_transformers_thresholds():
    from models.classifier import STATIC_FRICTION_SCALE, hybrid_scores

    n = 2
    tuned = Scores(np.full((n, 3), 1 / 3), ["none"] * n,
                   np.array([[0.45] + [0.0] * 8, [0.35] + [0.0] * 8]), [(), ()],
                   np.zeros((n, 3)), np.zeros((n, 7)), ("a",) * 7)

    class Decide:
        def decide_intent(self, p):
            return ["none"] * len(p)

    out = hybrid_scores(tuned, tuned, Decide(), np.full(9, 0.5))
    assert STATIC_FRICTION_SCALE == 0.8
    assert out.friction_labels == [("billing",), ()]  # 0.45 >= 0.4 > 0.35
    assert np.array_equal(out.friction, tuned.friction)  # probabilities untouched


def test_watch_routes_possible_friction_and_unsure_sentiment():
    from models.cascade import watch_mask

    n = 4
    fr = np.zeros((n, 9))
    fr[1, 2] = 0.2  # a quarter of 0.5 is 0.125: watched
    fr[2, 2] = 0.1
    sent = np.array([[0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.5, 0.3, 0.2]])
    first = Scores(np.full((n, 3), 1 / 3), ["none"] * n, fr, [()] * n, sent, np.zeros((n, 7)),
                   ("a",) * 7)
    t = CascadeThresholds(friction_watch=0.25, sentiment_confidence=0.8)
    assert watch_mask(first, np.full(9, 0.5), t).tolist() == [False, True, False, True]
    other_sent = sent.copy()
    other_sent[0] = [0.05, 0.05, 0.9]  # the second opinion reads it positive
    fr2 = np.zeros((n, 9))
    fr2[2, 0] = 0.3  # and sees possible friction in the third
    second = Scores(first.intent, first.intent_labels, fr2, [()] * n, other_sent,
                    first.stage, first.stage_labels)
    assert watch_mask(first, np.full(9, 0.5), t, second).tolist() == [True, True, True, True]
    off = CascadeThresholds(friction_watch=100.0, sentiment_confidence=0.0)
    assert not watch_mask(first, np.full(9, 0.5), off).any()


def test_cascade_settings_replace_only_their_own_threshold(tmp_path):
    from models import cascade_thresholds as resolve
    from streams.cli_models import cascade_thresholds
    from streams.settings import Settings

    assert cascade_thresholds(Settings()) is None
    given = cascade_thresholds(Settings(cascade_sentiment_confidence=0.6))
    assert given == {"sentiment_confidence": 0.6}
    CascadeThresholds(churn=0.33, confidence=0.44, band=0.05).save(tmp_path / "cascade.json")
    assert resolve(tmp_path, given) == CascadeThresholds(
        churn=0.33, confidence=0.44, band=0.05, sentiment_confidence=0.6)
    assert resolve(tmp_path / "none") == CascadeThresholds()


def test_the_router_reads_the_static_heads_own_intent():
    from models.cascade import routing_view

    n = 2
    native = Scores(np.array([[0.3, 0.1, 0.6], [0.9, 0.05, 0.05]]), ["explicit", "none"],
                    np.full((n, 9), 0.01), [(), ()], np.zeros((n, 3)), np.zeros((n, 7)),
                    ("a",) * 7)
    first = Scores(np.array([[0.6, 0.1, 0.3], [0.9, 0.05, 0.05]]), ["none", "none"],
                   np.full((n, 9), 0.9), [("billing",), ("billing",)], np.ones((n, 3)),
                   np.ones((n, 7)), ("a",) * 7)
    view = routing_view(first, native)
    assert view.intent_labels == ["explicit", "none"] and np.array_equal(view.intent,
                                                                         native.intent)
    assert view.friction_labels == first.friction_labels and first.intent_labels[0] == "none"
    t = CascadeThresholds(churn=0.5, confidence=0.0, band=0.0)
    assert route_mask(view, np.full(9, 0.5), t).tolist() == [True, False]
    assert route_mask(first, np.full(9, 0.5), t).tolist() == [False, False]


def test_read_texts_takes_events_rows_csv_and_plain_lines(tmp_path):
    from models.train import read_texts

    events = tmp_path / "e.jsonl"
    events.write_text("\n".join([
        json.dumps({"event_id": "1", "text": "charged twice"}),
        "",
        json.dumps({"event_id": "2", "text": "", "turns": [
            {"speaker": "agent", "text": "How can I help?"},
            {"speaker": "customer", "text": "my login fails"},
            {"speaker": "customer", "text": "since Monday"}]})]) + "\n")
    assert read_texts(events) == ["charged twice", "my login fails since Monday"]
    rows = tmp_path / "r.csv"
    rows.write_text("id,text\n1,late parcel\n2,\n3,  rude agent \n")
    assert read_texts(rows) == ["late parcel", "rude agent"]
    plain = tmp_path / "p.txt"
    plain.write_text("one\n\n two \n")
    assert read_texts(plain) == ["one", "two"]
    bad = tmp_path / "b.jsonl"
    bad.write_text('{"event_id": "1"}\n')
    with pytest.raises(ValueError, match=r"b.jsonl:1: no \"text\""):
        read_texts(bad)
    (tmp_path / "x.jsonl").write_text("{not json\n")
    with pytest.raises(ValueError, match="not JSON"):
        read_texts(tmp_path / "x.jsonl")
    (tmp_path / "n.csv").write_text("body\nhello\n")
    with pytest.raises(ValueError, match="no \"text\" column"):
        read_texts(tmp_path / "n.csv")
    (tmp_path / "e.txt").write_text("\n \n")
    with pytest.raises(ValueError, match="no texts"):
        read_texts(tmp_path / "e.txt")


def test_cross_validation_pools_folds_before_measuring():
    """Every metric of a CV report is computed once over all out-of-fold rows: a fold whose
    rows are all right and one whose rows are all wrong pool to the metric of the union,
    not to the mean of the two folds' metrics."""
    from models.evaluate import FoldScores, pool_folds, report_fold

    def fold(texts: list[str], gold: str, pred: str, p_explicit: float) -> FoldScores:
        rows = [Example(t, "seed", "test", intent=gold, friction=("billing",) if gold ==
                        "explicit" else ()) for t in texts]
        proba = np.tile([1 - p_explicit, 0.0, p_explicit], (len(rows), 1))
        fr = np.full((len(rows), 9), 0.2)
        return FoldScores(rows, {"m": {"intent": (proba, [pred] * len(rows)),
                                       "friction": (fr, [("billing",)] * len(rows))},
                                 "rules": {"intent": (None, [pred] * len(rows))}},
                          {"cascade": {"routed": len(rows) // 2, "routed_rule_only": 0}},
                          n_train=10)

    a = fold([f"a{i}" for i in range(30)], "explicit", "explicit", 0.9)
    b = fold([f"b{i}" for i in range(10)], "none", "explicit", 0.9)
    pooled = pool_folds([a, b])
    assert len(pooled.rows) == 40
    rep = report_fold(pooled, ["intent", "explicit", "friction_any"])
    gold = [True] * 30 + [False] * 10
    conf = np.full(40, 0.9)
    assert rep["systems"]["m"]["explicit"]["calibration_error"] == pytest.approx(
        ece(conf, np.array(gold, float)), abs=1e-4)
    assert rep["systems"]["m"]["explicit"]["precision"] == pytest.approx(0.75)
    assert rep["systems"]["rules"]["intent"]["confusion"][INTENTS.index("none")][
        INTENTS.index("explicit")] == 10
    assert rep["n_test"] == 40 and rep["cascade"]["routed_fraction"] == pytest.approx(20 / 40)
    # "any friction" is derived from the category decisions: no probability, no calibration
    assert "calibration_error" not in rep["systems"]["m"]["friction_any"]
    assert rep["systems"]["m"]["friction_any"]["recall"] == 1.0
    with pytest.raises(ValueError):
        pool_folds([])


def test_out_of_source_calibration_changes_probabilities_not_decisions(hashing_heads):
    """Friction probabilities are re-calibrated on each source's rows scored by heads that
    never saw that source; every threshold moves with them, so the decisions stay those of
    the in-domain calibration."""
    from dataclasses import replace as dc_replace

    from models.classifier import score_embeddings
    from models.heads import TrainConfig

    heads, rows = hashing_heads
    assert {e.source for e in rows} >= {"seed", "taxonomy"}
    enc = HashingEncoder()
    x = enc.encode([e.text for e in rows])
    in_domain = fit_heads(x, rows, enc.name, TrainConfig(out_of_source_calibration=False))
    probe = ["I was charged twice and support never answered", "parcel lost again",
             "cannot log in since the update", "love the new dashboard", "close my account",
             "the app keeps crashing when I pay", "why did my bill go up"]
    xp = enc.encode(probe)
    a, b = score_embeddings(heads, xp, probe), score_embeddings(in_domain, xp, probe)
    assert a.friction_labels == b.friction_labels
    assert a.intent_labels == b.intent_labels and np.allclose(a.intent, b.intent)
    assert not np.allclose(a.friction, b.friction, atol=1e-3)
    assert not np.allclose(heads.friction.thresholds, in_domain.friction.thresholds)
    # one source: nothing to hold out, the in-domain calibration stays
    seed_only = [dc_replace(e, source="seed") for e in rows]
    one = fit_heads(x, seed_only, enc.name)
    off = fit_heads(x, seed_only, enc.name, TrainConfig(out_of_source_calibration=False))
    assert np.array_equal(one.friction.platt_a, off.friction.platt_a)
    assert np.array_equal(one.friction.thresholds, off.friction.thresholds)


def test_row_weights_by_source_or_by_label():
    """"source": every source weighs the same and labels are balanced within it; "label":
    every label weighs the same and the sources that have it share it equally. A source
    with only ``none`` rows takes a whole source's share for ``none`` in the first."""
    from models.heads import row_weights

    sources = ["a"] * 8 + ["a"] * 2 + ["b"] * 30
    labels = ["none"] * 8 + ["explicit"] * 2 + ["none"] * 30
    by_source, by_label = row_weights(sources, labels), row_weights(sources, labels, "label")

    def total(w, src=None, lab=None):
        return sum(x for x, s, y in zip(w, sources, labels, strict=True)
                   if (src is None or s == src) and (lab is None or y == lab))

    for w in (by_source, by_label):
        assert np.isclose(w.mean(), 1.0)
    assert np.isclose(total(by_source, src="a"), total(by_source, src="b"))
    assert np.isclose(total(by_source, "a", "none"), total(by_source, "a", "explicit"))
    assert np.isclose(total(by_source, lab="none"), 3 * total(by_source, lab="explicit"))
    assert np.isclose(total(by_label, lab="none"), total(by_label, lab="explicit"))
    assert np.isclose(total(by_label, "a", "none"), total(by_label, "b", "none"))
    # one source carrying every label: the two weightings agree
    assert np.allclose(row_weights(sources[:10], labels[:10]),
                       row_weights(sources[:10], labels[:10], "label"))
    with pytest.raises(ValueError, match="unknown weighting"):
        row_weights(sources, labels, "row")


def test_static_heads_weigh_intent_labels_equally_and_record_it(tmp_path):
    """The static heads are trained with label weighting for churn intent (the transformer's
    with source weighting); an all-``none`` source then pulls the explicit class's bias down
    less, and heads.json records the setting."""
    from dataclasses import replace as dc_replace

    from models.evaluate import train_config_for
    from models.heads import TrainConfig
    from models.static import STATIC_NAME

    assert train_config_for("static").intent_weighting == "label"
    assert train_config_for(STATIC_NAME) == train_config_for("static")
    assert train_config_for("transformer").intent_weighting == "source"
    with pytest.raises(ValueError, match="unknown intent_weighting"):
        TrainConfig(intent_weighting="sources")
    seed = [e for e in load_seed() if e.intent is not None]
    filler = [Example(f"what is the opening time of branch {i} on day {i % 7}", "other",
                      intent="none") for i in range(400)]
    rows = [dc_replace(e, friction=None, sentiment=None, stage=None) for e in seed] + filler
    enc = HashingEncoder(dim=64)
    x = enc.encode([e.text for e in rows])
    by_source = fit_heads(x, rows, enc.name)
    by_label = fit_heads(x, rows, enc.name, train_config_for("static"))
    ie, inone = INTENTS.index("explicit"), INTENTS.index("none")
    probe = enc.encode(["please close my account", "I want to cancel my subscription"])

    def margin(h):  # raw explicit-vs-none logit, before calibration
        z = h.intent.logits(probe)
        return z[:, ie] - z[:, inone]

    assert np.all(margin(by_label) > margin(by_source))
    by_label.save(tmp_path, {"taxonomy_version": "t"})
    meta = json.loads((tmp_path / "heads.json").read_text())
    assert meta["training"] == {"intent_weighting": "label", "typo_rate": 1.0,
                                "typo_copies": 0}  # copies are the caller's (fit_for)
    assert load_heads(tmp_path).meta["training"]["intent_weighting"] == "label"
