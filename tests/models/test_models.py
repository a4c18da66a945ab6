"""Fast model tests: seed set, mapping, heads artifacts, lexical features, cues, embedding
cache, row weights, the bundled folder, the few-shot file through the CLI (hashing encoder;
no MiniLM). Pieces, recipe, heads, adaptation, cascade and evaluation helpers have their own
files next to this one."""

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
from models.datasets import Example, load_seed
from models.encoders import HashingEncoder
from models.heads import ArtifactError, fit_heads, load_heads
from models.language import detect_language, is_english
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


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data (real domains) not present")
def test_real_domain_mappings():
    from models.lodo import ENGLISH_DOMAINS, FOREIGN_DOMAINS, REAL_DOMAINS
    from models.realdata import REAL_LOADERS

    assert set(REAL_LOADERS) == set(REAL_DOMAINS) | set(FOREIGN_DOMAINS)
    assert set(REAL_DOMAINS) <= set(ENGLISH_DOMAINS)
    assert not set(FOREIGN_DOMAINS) & set(ENGLISH_DOMAINS)  # evaluation only
    data = {name: load(SHARED) for name, load in REAL_LOADERS.items()}
    for name, rows in data.items():
        assert rows and {e.source for e in rows} == {name}, name
        assert all(e.intent is None and e.stage is None for e in rows), name  # not labelled
        splits = {e.split for e in rows}
        assert splits == ({"test"} if name in FOREIGN_DOMAINS else {"train", "test"}), name
    assert data["restaurant"] == REAL_LOADERS["restaurant"](SHARED)  # deterministic
    restaurant = {e.original_label: e for e in data["restaurant"]}
    price = next(e for k, e in restaurant.items() if k == "price:negative,food:neutral")
    assert price.friction == ("billing",) and price.sentiment == "negative"
    misc = [e for e in data["restaurant"] if e.friction is None]
    assert misc and all(e.presence and "miscellaneous:negative" in e.original_label
                        for e in misc)
    telecom = data["telecom"]
    assert all(e.presence and e.friction is None and e.sentiment == "negative"
               for e in telecom)
    assert any(len(e.text) > 2000 for e in telecom if e.split == "test")  # the long bucket
    weak = {1: {True}, 2: {True}, 3: {None}, 4: {None}, 5: {False, None}}  # 5: if recommended
    for e in data["apparel"]:
        stars = int(e.original_label.split(":")[1])
        assert e.friction_present in weak[stars], (stars, e.friction_present)
        if stars <= 2:
            assert e.friction == ("product",) and e.sentiment == "negative"
    assert any(e.friction_present is False for e in data["apparel"])


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


def test_bundled_artifacts_match_their_metadata_and_the_declared_recipes():
    from models import bundled_artifacts
    from models.heads import FORMAT
    from models.recipe import load_manifest
    from models.train import DEFAULT_PATH, RECIPES

    root = bundled_artifacts()
    manifest = load_manifest(root)
    assert manifest.default == DEFAULT_PATH
    assert manifest.recipes == RECIPES  # the folder is what models.train declares
    for kind in ("transformer", "static"):
        folder = root / kind
        meta = json.loads((folder / "heads.json").read_text())
        digest = hashlib.sha256((folder / "heads.safetensors").read_bytes()).hexdigest()
        assert meta["files"]["heads.safetensors"]["sha256"] == digest
        assert meta["format"] == FORMAT
        assert meta["taxonomy_version"] and meta["data"]["seed"]["sha256"]
        assert meta["version"].startswith(meta["encoder"])
        assert meta["recipe"] == RECIPES[kind].to_dict()


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
    # the article "a" is English too: it no longer makes a question Portuguese
    assert detect_language("Will a transfer incur a fee?") == "en"
    assert detect_language("Remove me as a customer. Close everything.") == "en"
    assert detect_language("Ich will raus aus dem Vertrag, so schnell wie möglich.") == "de"


def test_a_long_text_without_english_function_words_is_not_read_as_english():
    # "me" is English and Spanish: the Spanish words that are not English decide
    assert detect_language("Me cobraron dos veces este mes y nadie me responde.") == "es"
    # Basque: no list knows it; eight words and none an English function word
    basque = "Langileak oso jatorrak izan ziren eta gela garbia zegoen"
    assert detect_language(basque) == "und"
    assert not is_english(basque)
    # short English, or English written as a list of nouns, stays English
    assert detect_language("Great fit, soft fabric, fast delivery") == "en"
    assert detect_language("he said he would call me back but nobody ever did") == "en"
    # handles and links are not words of any language
    assert detect_language("@StreamFlix @Support another price hike? Cancelled. "
                           "https://t.co/xyz Enjoy losing subscribers") == "en"


def test_few_shot_file_adapts_a_model_folder_that_score_serves(tmp_path, monkeypatch):
    """The few-shot fixture through ``train_user`` (what ``train --data`` runs) on a model
    folder over the hashing encoder, then ``churn-detector score`` with that folder."""
    from models.recipe import load_manifest
    from models.train import train_user
    from streams.cli import main
    from tests.models.tiny_model import write_model_folder

    write_model_folder(tmp_path / "base")
    out = tmp_path / "model"
    report = train_user(FIXTURE, out, tmp_path / "cache", "static", base=tmp_path / "base")
    assert (out / "eval.md").exists()
    assert json.loads((out / "eval.json").read_text()) == report
    cv = report["cross_validation"]
    assert set(cv) == {"bundled", "adapted"}
    for system in cv.values():
        assert 0.0 <= system["explicit_f1"] <= 1.0
        assert 0.0 <= system["sentiment_auc"] <= 1.0
    assert load_manifest(out).default == "static"  # the adapted path; the other as bundled
    clf = build_classifier("static", model_dir=out, cache_dir=tmp_path / "cache")
    sig = clf.classify([_event("Please cancel my subscription, I am leaving.")])[0]
    assert sig.model_version == report["model_version"]
    assert sig.churn_intent == "explicit"
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps({"event_id": "e1", "customer_id": "C1", "channel": "chat",
                                  "occurred_at": "2026-11-02T09:00:00Z",
                                  "text": "Close my account, I am leaving."}) + "\n")
    monkeypatch.setenv("CHURN_ENCODER", "static")
    monkeypatch.setenv("CHURN_MODEL_DIR", str(out))
    monkeypatch.setenv("CHURN_MODEL_CACHE_DIR", str(tmp_path / "cache"))
    res = CliRunner().invoke(main, ["score", str(events)])
    assert res.exit_code == 0, res.output
    row = json.loads(res.stdout.strip().splitlines()[0])
    for key in ("event_id", "customer_id", "churn_intent", "churn_probability",
                "intent_probabilities", "friction", "friction_categories", "sentiment",
                "journey_stage", "journey_stage_source", "model_version"):
        assert key in row
    assert row["model_version"] == report["model_version"]


def test_train_rejects_bad_labels(tmp_path):
    from models.datasets import load_user_file
    from streams.cli import main

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "hi", "intent": "maybe"}) + "\n")
    with pytest.raises(ValueError, match="intent"):
        load_user_file(bad)
    res = CliRunner().invoke(main, ["train", "--data", str(bad), "--out", str(tmp_path / "m"),
                                    "--encoder", "static"])
    assert res.exit_code != 0 and "intent" in res.output
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("name, body, reason", [
    ("latin1.csv", b"text,friction\n\"caf\xe9 bill\",billing\n", "not UTF-8 text"),
    ("list.jsonl", b'{"text": "my bill", "friction": "billing"}\n[1, 2]\n',
     "line 2: a JSON object"),
    ("broken.jsonl", b'{"text": "my bill"\n', "line 1: not JSON"),
])
def test_an_unreadable_user_file_is_a_clear_error_naming_where(tmp_path, name, body, reason):
    from models.datasets import load_user_file

    path = tmp_path / name
    path.write_bytes(body)
    with pytest.raises(ValueError, match=reason) as err:
        load_user_file(path)
    assert str(path) in str(err.value)


def test_a_spreadsheet_csv_with_a_byte_order_mark_reads_its_text_column(tmp_path):
    from models.datasets import load_user_file

    path = tmp_path / "excel.csv"
    path.write_bytes("text,friction\n\"my bill doubled\",billing\n".encode("utf-8-sig"))
    rows = load_user_file(path)
    assert [(r.text, r.friction) for r in rows] == [("my bill doubled", ("billing",))]


def test_train_command_offers_the_manifest_paths_only():
    from streams.cli import main

    res = CliRunner().invoke(main, ["train", "--encoder", "hashing", "--out", "x"])
    assert res.exit_code != 0 and "hashing" in res.output
    assert "tune-static" not in main.commands


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
    rows = load_seed()
    texts = [e.text for e in rows]
    enc = HashingEncoder(dim=32)
    emb = enc.encode(texts)
    cfg = _small_lex()
    heads = fit_heads(emb, rows, enc.name, lexical=cfg)
    assert heads.lexical == cfg and heads.friction.coef.shape == (9, 32 + cfg.dim)
    assert heads.presence.coef.shape == (1, 32 + cfg.dim)
    meta = heads.save(tmp_path / "a", {"taxonomy_version": "t"})
    assert meta["lexical"] == cfg.to_dict() and meta["format"] == "churn-heads/3"
    again = fit_heads(emb, rows, enc.name, lexical=cfg)
    again.save(tmp_path / "b", {"taxonomy_version": "t"})
    assert (tmp_path / "a/heads.safetensors").read_bytes() == (
        tmp_path / "b/heads.safetensors").read_bytes()
    from safetensors.numpy import load

    stored = load((tmp_path / "a/heads.safetensors").read_bytes())
    assert stored["intent.coef"].dtype == np.float16
    assert stored["presence.coef"].dtype == np.float16
    loaded = load_heads(tmp_path / "a")
    assert loaded.lexical == cfg
    probe = ["please close my account, I'm leaving", "unsubscribe me from the newsletter"]
    pe = enc.encode(probe)
    s1, s2 = heads.scores(pe, probe), loaded.scores(pe, probe)
    for name in ("intent", "friction", "presence", "sentiment", "stage"):
        assert np.allclose(getattr(s1, name), getattr(s2, name), atol=1e-5), name
    assert heads.decide_intent(s1.intent) == loaded.decide_intent(s2.intent)
    full = loaded.inputs(pe, probe)  # the training-time path gives the same probabilities
    assert np.allclose(loaded.intent.proba(full), s2.intent, atol=1e-5)
    assert np.allclose(loaded.presence.proba(full)[:, 0], s2.presence, atol=1e-5)
    assert np.allclose(loaded.friction.proba(full) * s2.presence[:, None], s2.friction,
                       atol=1e-5)
    with pytest.raises(ValueError, match="texts"):
        loaded.scores(pe)
    plain = fit_heads(emb, rows, enc.name)  # no lexical: embeddings alone
    assert plain.lexical is None and plain.friction.coef.shape == (9, 32)
    assert plain.scores(pe).intent.shape == (2, 3)


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
    from models.train import RECIPES

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
    # which path reads which features: the recipes say
    assert RECIPES["static"].lexical == feats.STATIC_LEXICAL
    assert feats.STATIC_LEXICAL.cue_weight > 0 and feats.STATIC_LEXICAL.content_pairs
    assert RECIPES["transformer"].lexical == feats.DEFAULT_LEXICAL


def test_heads_learn_to_trust_the_explicit_cue(tmp_path):
    """Trained on the seed set, the explicit class weighs the explicit cue positively and
    the reloaded heads compute the cue columns themselves."""
    import models.features as feats

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
    assert np.allclose(loaded.scores(pe, probe).intent, heads.scores(pe, probe).intent,
                       atol=1e-5)


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


def test_heads_reading_given_lexical_rows_score_as_if_they_computed_them(hashing_heads):
    from models.features import LexicalConfig, lexical_features_by_config

    _, rows = hashing_heads
    enc = HashingEncoder(dim=32)
    sub = rows[::4]
    x = enc.encode([e.text for e in sub])
    plain_cfg = _small_lex()
    cue_cfg = LexicalConfig(word_features=64, char_features=128, content_pairs=True,
                            cue_weight=1.0)
    heads = fit_heads(x, sub, enc.name, lexical=plain_cfg)
    static = fit_heads(x, sub, enc.name, lexical=cue_cfg)
    texts = ["I was charged twice", "please close my account", "the app crashes at login"]
    emb = enc.encode(texts)
    lex = lexical_features_by_config(texts, [plain_cfg, cue_cfg])
    for h in (heads, static):  # one hashing pass for both configs, same logits as alone
        a, b = h.raw_logits(emb, texts), h.raw_logits(emb, None, lex[h.lexical])
        for name in a:
            assert np.allclose(a[name], b[name], atol=1e-5), name
    with pytest.raises(ValueError, match="lexical rows"):
        heads.raw_logits(emb[:2], None, lex[plain_cfg])
    with pytest.raises(ValueError, match="lexical rows"):
        heads.raw_logits(emb, None, lex[cue_cfg])


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
    """The static recipe trains churn intent with label weighting (the transformer's with
    source weighting); an all-``none`` source then pulls the explicit class's bias down
    less, and heads.json records the setting."""
    from dataclasses import replace as dc_replace

    from models.heads import TrainConfig
    from models.train import RECIPES

    assert RECIPES["static"].train.intent_weighting == "label"
    assert RECIPES["transformer"].train.intent_weighting == "source"
    with pytest.raises(ValueError, match="unknown intent_weighting"):
        TrainConfig(intent_weighting="sources")
    assert {r.train.friction_weighting for r in RECIPES.values()} == {"label"}
    with pytest.raises(ValueError, match="unknown friction_weighting"):
        TrainConfig(friction_weighting="category")
    seed = [e for e in load_seed() if e.intent is not None]
    filler = [Example(f"what is the opening time of branch {i} on day {i % 7}", "other",
                      intent="none") for i in range(400)]
    rows = [dc_replace(e, friction=None, sentiment=None, stage=None) for e in seed] + filler
    enc = HashingEncoder(dim=64)
    x = enc.encode([e.text for e in rows])
    by_source = fit_heads(x, rows, enc.name)
    by_label = fit_heads(x, rows, enc.name, dc_replace(RECIPES["static"].train, folds=1))
    ie, inone = INTENTS.index("explicit"), INTENTS.index("none")
    probe = enc.encode(["please close my account", "I want to cancel my subscription"])

    def margin(h):  # raw explicit-vs-none logit, before calibration
        z = h.intent.logits(probe)
        return z[:, ie] - z[:, inone]

    assert np.all(margin(by_label) > margin(by_source))
    by_label.save(tmp_path, {"taxonomy_version": "t"})
    meta = json.loads((tmp_path / "heads.json").read_text())
    assert meta["training"] == {"intent_weighting": "label", "friction_weighting": "label",
                                "rows": len(rows), "folds": 1}
    assert RECIPES["static"].train.intent_weighting == "label"
    assert load_heads(tmp_path).meta["training"]["intent_weighting"] == "label"
