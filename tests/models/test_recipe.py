"""One declared recipe (models.recipe): pieces -> one encoder call -> heads -> pooled per
text; the manifest; serving, training and evaluation building from the same model folder."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from detector.redact import QUOTE_CHARS
from detector.schema import Turn
from detector.signals import FRICTION_CATEGORIES, INTENTS
from models import build_classifier
from models.datasets import STAGES, Example
from models.encoders import HashingEncoder, build_encoder
from models.features import LexicalConfig
from models.heads import Heads, HeadScores, TrainConfig, friction_decisions, load_heads
from models.pieces import PieceConfig, split_text
from models.recipe import CascadeRule, Manifest, Recipe, load_manifest, score_texts
from tests.models.tiny_model import (
    COMPLAINT,
    FILLER,
    LEAVING,
    ROWS,
    call_turns,
    encoder,
    event,
    letter,
    recipe_for,
    tiny_heads,
    write_model_folder,
)

# ---- pooling, with heads whose scores are set by words in the piece ----------------------


class KeywordHeads:
    """Heads whose scores are set by words in each piece: "cancel" -> explicit 0.8;
    "charged" -> billing friction 0.9; "late" -> delivery friction 0.7; "awful" ->
    negative; "setup" -> onboarding. A piece over 60 characters is read less surely
    (explicit 0.6, friction 0.8 of the above): a word drowns in a long text."""

    stage = SimpleNamespace(labels=STAGES)
    threshold = 0.5
    presence = SimpleNamespace(threshold=threshold)

    def scores(self, emb: np.ndarray, texts: list[str]) -> HeadScores:
        n = len(texts)
        intent = np.tile([0.9, 0.05, 0.05], (n, 1))
        presence = np.full(n, 0.1)
        which = np.zeros((n, len(FRICTION_CATEGORIES)))
        which[:, FRICTION_CATEGORIES.index("product")] = 1.0
        sentiment = np.tile([0.1, 0.8, 0.1], (n, 1))
        stage = np.zeros((n, len(STAGES)))
        stage[:, STAGES.index("usage")] = 1.0
        for i, t in enumerate(texts):
            sure = 1.0 if len(t) <= 60 else 0.8
            if "cancel" in t:
                intent[i] = [0.1, 0.1, 0.8] if sure == 1.0 else [0.3, 0.1, 0.6]
            if "charged" in t:
                presence[i], which[i] = 0.9 * sure, np.eye(len(FRICTION_CATEGORIES))[0]
            elif "late" in t:
                presence[i] = 0.7 * sure
                which[i] = np.eye(len(FRICTION_CATEGORIES))[FRICTION_CATEGORIES.index(
                    "delivery")]
            if "awful" in t:
                sentiment[i] = [0.9, 0.05, 0.05]
            if "setup" in t:
                stage[i] = np.eye(len(STAGES))[STAGES.index("onboarding")]
        return HeadScores(intent, presence[:, None] * which, presence, sentiment, stage)

    def decide_intent(self, p: np.ndarray) -> list[str]:
        return Heads.decide_intent(self, p)  # type: ignore[arg-type]

    def decide_friction(self, c: np.ndarray, p: np.ndarray) -> list[tuple[str, ...]]:
        return friction_decisions(c, p, self.threshold)


class CountingEncoder(HashingEncoder):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[str]] = []

    def encode(self, texts):  # type: ignore[no-untyped-def]
        self.calls.append(list(texts))
        return super().encode(texts)


SMALL = PieceConfig(window=60)
LONG = ("The setup went fine last week. Then the parcel came three days late. "
        "Everything else about the order was normal. Nothing more to say about it.")


def _score(texts: list[str], **recipe: object):  # type: ignore[no-untyped-def]
    enc = CountingEncoder()
    r = recipe_for("static", **{"pieces": SMALL, **recipe})
    return score_texts(texts, enc, KeywordHeads(), r), enc  # type: ignore[arg-type]


def test_a_batch_is_one_encoder_call_over_every_piece():
    texts = [LONG, "short and calm", letter()]
    s, enc = _score(texts)
    assert len(enc.calls) == 1
    assert enc.calls[0] == [p for t in texts for p in split_text(t, SMALL)]
    assert len(s.intent_labels) == len(s.evidence) == s.emb.shape[0] == 3
    # each text's embedding is its first piece's: the whole text
    assert np.allclose(s.emb, HashingEncoder().encode(texts))


def test_friction_is_the_strongest_piece_and_quoted_as_evidence():
    s, _ = _score([LONG, "The parcel came late."])
    assert s.friction_labels == [("delivery",), ("delivery",)]
    assert s.presence[0] == pytest.approx(0.7)
    assert s.evidence[0] == "Then the parcel came three days late."
    assert s.evidence[1] == "The parcel came late."  # a short text quotes itself
    # the stage reads the whole text (the first piece), not the strongest one
    assert [STAGES[j] for j in s.stage.argmax(axis=1)] == ["onboarding", "usage"]


def test_churn_intent_is_the_piece_most_likely_to_leave_and_beats_friction_as_evidence():
    text = LONG + " Please cancel my account. I was charged for nothing."
    s, _ = _score([text])
    assert s.intent_labels == ["explicit"]
    assert np.allclose(s.intent[0], [0.1, 0.1, 0.8])
    (window,) = [p for p in split_text(text, SMALL)[1:] if "cancel" in p]
    assert s.evidence == [window] and len(window) <= SMALL.window
    assert s.friction_labels == [("billing", "delivery")]  # both pieces pass the threshold


def test_a_calm_long_text_quotes_nothing_but_itself():
    calm = " ".join(FILLER)
    s, _ = _score([calm])
    assert s.intent_labels == ["none"] and s.friction_labels == [()]
    assert s.evidence == [calm]


@pytest.mark.parametrize("pool", ["whole", "mean", "max"])
def test_sentiment_is_pooled_as_the_recipe_says(pool):
    text = "An awful start to the week. The rest was fine really. Nothing else to report now."
    pieces = split_text(text, SMALL)
    assert len(pieces) == 3
    s, _ = _score([text], sentiment_pool=pool)
    per_piece = KeywordHeads().scores(np.zeros((3, 1)), pieces).sentiment
    want = {"whole": per_piece[0], "mean": per_piece.mean(axis=0),
            "max": per_piece[int(np.argmax(per_piece[:, 0]))]}[pool]
    assert np.allclose(s.sentiment[0], want)


def test_unknown_sentiment_pool_is_refused():
    with pytest.raises(ValueError, match="sentiment_pool"):
        Recipe("static", "hashing", None, sentiment_pool="median")


CUE_TEXT = ("The parcel came late again and the box was a mess. "
            "I was charged twice and it is awful, so cancel my account.")


def test_a_cue_sentence_is_read_on_its_own_for_churn_intent_only():
    """A request to leave at the end of a short complaint: the whole text reads it less
    surely (explicit 0.6), the sentence alone 0.8, and that sentence is the evidence. Its
    friction and sentiment are not pooled: the text's own pieces decide those."""
    plain_, _ = _score([CUE_TEXT], pieces=PieceConfig(window=400))
    s, enc = _score([CUE_TEXT], pieces=PieceConfig(window=400), cue_sentences=True)
    cue = "I was charged twice and it is awful, so cancel my account."
    assert enc.calls == [[CUE_TEXT, cue]]
    assert np.allclose(plain_.intent[0], [0.3, 0.1, 0.6])
    assert np.allclose(s.intent[0], [0.1, 0.1, 0.8])
    # quoted with the sentence before it: the text fits in an alert's quote
    assert s.evidence == [CUE_TEXT] and len(CUE_TEXT) <= QUOTE_CHARS
    assert np.allclose(s.friction, plain_.friction) and np.allclose(s.presence, plain_.presence)
    assert np.allclose(s.sentiment, plain_.sentiment) and np.allclose(s.stage, plain_.stage)
    assert s.presence[0] == pytest.approx(0.72)  # the whole text's, not the sentence's 0.9


def test_a_cue_sentence_of_a_long_text_is_quoted_in_its_window():
    text = " ".join(FILLER) + " The app is slow. Please cancel my account today."
    s, enc = _score([text], pieces=SMALL, cue_sentences=True)
    assert "Please cancel my account today." in enc.calls[0][1:]
    assert s.intent_labels == ["explicit"]
    assert "Please cancel my account today." in s.evidence[0]
    assert len(s.evidence[0]) <= QUOTE_CHARS


def test_a_text_of_one_sentence_or_no_cue_is_read_as_before():
    one = "I was charged twice so please cancel my account."
    calm = "The parcel came late. The box was fine though."
    s, enc = _score([one, calm], pieces=PieceConfig(window=400), cue_sentences=True)
    assert enc.calls == [[one, calm]]


def test_a_call_reads_the_customers_cue_sentences_not_the_agents():
    text = ("Agent: I can close your account today if you want. Is there anything else?\n"
            "Customer: The app is slow. I was charged twice. Please cancel my plan.")
    _, enc = _score([text], pieces=PieceConfig(window=400), cue_sentences=True)
    assert enc.calls[0][-1] == "Please cancel my plan."
    assert not any("close your account" in p for p in enc.calls[0])


# ---- the same with trained heads (hashing encoder, a handful of rows) ---------------------

def test_a_long_letter_complaining_in_one_sentence_gets_that_friction_and_quotes_it():
    heads, enc = tiny_heads(), encoder()
    text = letter()
    pieced = score_texts([text], enc, heads, recipe_for("static", pieces=PieceConfig(120)))
    assert "billing" in pieced.friction_labels[0]
    assert FRICTION_CATEGORIES[int(np.argmax(pieced.friction[0]))] == "billing"
    assert pieced.evidence == [COMPLAINT]
    # read as one text, the sentence drowns in the rest of the letter
    whole = score_texts([text], enc, heads, recipe_for("static",
                                                        pieces=PieceConfig(100_000)))
    assert whole.friction_labels == [()]
    assert whole.presence[0] < pieced.presence[0]


@pytest.mark.parametrize("small_talk", [2, 60])
def test_a_call_whose_last_turn_asks_to_leave_is_explicit_and_quotes_that_turn(small_talk):
    from models.classifier import RecipeClassifier

    heads, enc = tiny_heads(), encoder()
    clf = RecipeClassifier(enc, heads, recipe_for("static", pieces=PieceConfig(120)))
    sig = clf.classify([event("", 1, turns=call_turns(small_talk))])[0]
    assert sig.churn_intent == "explicit"
    assert sig.evidence_text == LEAVING
    assert "agent" not in sig.text.lower() and "Thanks for calling" not in sig.text


def test_a_signal_carries_the_sentence_each_flag_rule_read_cut_to_a_quote():
    """The rules' sentences reach the alert's reasons (``flag_quotes``), not only the flags."""
    from models.classifier import RecipeClassifier

    clf = RecipeClassifier(encoder(), tiny_heads(), recipe_for("static"))
    turns = (Turn("agent", "Thanks for calling, how can I help?"),
             Turn("customer", "Yes, I can give you my account number."),
             Turn("customer", "My order was late again, seventy minutes this time."))
    hostile = "my parcel is late again " + "and nobody answers " * 400
    called, long, plain = clf.classify([event("", 1, turns=turns), event(hostile, 2),
                                         event("Thanks, all sorted.", 3)])
    assert called.flag_quotes == {
        "recurring_problem": "My order was late again, seventy minutes this time."}
    assert "recurring_problem" in called.flags
    said = long.flag_quotes["recurring_problem"]
    assert len(said) <= QUOTE_CHARS and said.startswith("my parcel is late again")
    assert said.endswith(" …")
    assert plain.flag_quotes == {}
    assert set(called.score_dict()["flag_quotes"]) == {"recurring_problem"}


# ---- the manifest ------------------------------------------------------------------------

def test_manifest_round_trips(tmp_path):
    lex = LexicalConfig(word_features=64, char_features=128, content_pairs=True,
                        cue_weight=0.5)
    manifest = Manifest("transformer", {
        "static": Recipe("static", "hashing", lex, PieceConfig(200, 6),
                         TrainConfig(c=1.0, intent_weighting="label"), "max", False),
        "transformer": Recipe("transformer", "transformer", None)},
        CascadeRule(band=0.05, churn=0.4), {"trained_on": ["seed", "tiny"]})
    manifest.save(tmp_path)
    assert load_manifest(tmp_path) == manifest
    body = json.loads((tmp_path / "manifest.json").read_text())
    assert body["format"] == "churn-manifest/1" and body["trained_on"] == ["seed", "tiny"]
    manifest.save(tmp_path / "again")
    assert (tmp_path / "again/manifest.json").read_bytes() == (
        tmp_path / "manifest.json").read_bytes()


def test_manifest_of_another_format_is_refused(tmp_path):
    Manifest("static", {"static": recipe_for("static")}).save(tmp_path)
    body = json.loads((tmp_path / "manifest.json").read_text())
    body["format"] = "churn-manifest/0"
    (tmp_path / "manifest.json").write_text(json.dumps(body))
    with pytest.raises(ValueError, match="format"):
        load_manifest(tmp_path)


def test_a_path_the_manifest_lacks_is_refused(tmp_path):
    write_model_folder(tmp_path)
    Manifest("static", {"static": recipe_for("static")}).save(tmp_path)
    with pytest.raises(ValueError, match="no 'transformer' path"):
        build_classifier("transformer", model_dir=tmp_path, cache_dir=tmp_path / "c")


# ---- serving, evaluation and training build from the same folder -------------------------

BATCH = [letter(), "You charged me twice for the same month", "please cancel my account",
         "thanks for the help", "Ich kündige meinen Vertrag zum Monatsende.",
         " ".join(FILLER[:3]) + " My parcel never arrived and I want to cancel my plan."]


@pytest.mark.parametrize("path", ["static", "transformer"])
def test_the_served_classifier_and_the_eval_scoring_agree_on_a_batch(tmp_path, path):
    from models.lodo import score_rows

    manifest = write_model_folder(tmp_path / "model", pieces=PieceConfig(window=120))
    served = build_classifier(path, model_dir=tmp_path / "model", cache_dir=tmp_path / "c")
    assert served.recipe == manifest.recipes[path]
    signals = served.classify([event(t, i) for i, t in enumerate(BATCH)])
    recipe = load_manifest(tmp_path / "model").recipes[path]
    scores = score_rows(recipe, build_encoder(recipe.encoder, 0),
                        load_heads(tmp_path / "model" / path), [Example(t, "x") for t in BATCH])
    assert [s.churn_intent for s in signals] == scores.intent_labels
    assert [s.friction_categories for s in signals] == scores.friction_labels
    for i, s in enumerate(signals):
        assert [s.intent_probabilities[k] for k in INTENTS] == pytest.approx(
            scores.intent[i].tolist(), abs=1e-6)
        assert [s.friction[c] for c in FRICTION_CATEGORIES] == pytest.approx(
            scores.friction[i].tolist(), abs=1e-6)
        assert s.evidence_text == scores.evidence[i]
        assert s.sentiment == pytest.approx(float(scores.sentiment[i, 2] - scores.sentiment[i, 0]),
                                            abs=1e-6)
    # the batch exercises what the recipe adds: pieces, pooling and the leaving cues
    assert signals[0].evidence and signals[4].churn_intent == "explicit"
    assert "leaving_cue" in signals[4].flags


def test_train_bundled_writes_a_folder_that_serving_builds_from(tmp_path, monkeypatch):
    """``churn-detector train`` without --data, on the seed set and the recipes of
    models.train (here over the hashing encoder): manifest + heads that serving reads."""
    import models.train as train

    for path in ("static", "transformer"):
        monkeypatch.setitem(train.RECIPES, path, recipe_for(path))
    seed = list(ROWS)
    metas = train.train_bundled(None, tmp_path / "model", tmp_path / "cache", ("static",),
                                seed=seed)
    manifest = load_manifest(tmp_path / "model")
    assert set(manifest.recipes) == {"static"} and manifest.default == train.DEFAULT_PATH
    assert manifest.recipes["static"] == recipe_for("static")
    assert metas["static"]["recipe"] == recipe_for("static").to_dict()
    clf = build_classifier("static", model_dir=tmp_path / "model", cache_dir=tmp_path / "c")
    assert clf.model_version == metas["static"]["version"]
    assert clf.classify([event("please cancel my account")])[0].churn_intent == "explicit"


def test_train_user_adapts_a_model_folder_and_serving_reads_the_result(tmp_path):
    from models.train import train_user

    write_model_folder(tmp_path / "base")
    data = tmp_path / "mine.jsonl"
    mine = [{"text": t, "friction": "delivery"} for t in
            ["the van never came", "driver skipped my street again", "box arrived crushed",
             "still waiting for the courier"]]
    mine += [{"text": t, "friction": "none"} for t in
             ["all fine this month", "no problems at all", "works as expected",
              "happy with everything"]]
    data.write_text("\n".join(json.dumps(r) for r in mine) + "\n")
    result = train_user(data, tmp_path / "out", tmp_path / "cache", "static",
                        base=tmp_path / "base")
    assert result["rows"] == 8 and set(result["cross_validation"]) == {"bundled", "adapted"}
    assert (tmp_path / "out/eval.md").exists() and (tmp_path / "out/eval.json").exists()
    manifest = load_manifest(tmp_path / "out")
    assert manifest.default == "static" and manifest.meta["adapted_path"] == "static"
    heads = load_heads(tmp_path / "out/static")
    base = load_heads(tmp_path / "base/static")
    assert heads.meta["adapted_from"] == base.version and heads.version != base.version
    clf = build_classifier("static", model_dir=tmp_path / "out", cache_dir=tmp_path / "c")
    assert clf.model_version == result["model_version"]
    (sig,) = clf.classify([event("the van never came")])
    served_before = build_classifier("static", model_dir=tmp_path / "base",
                                     cache_dir=tmp_path / "c").classify(
        [event("the van never came")])[0]
    assert sig.friction["delivery"] > served_before.friction["delivery"]


def test_a_folder_adapted_for_the_cascade_serves_the_cascade(tmp_path):
    from models.train import train_user

    write_model_folder(tmp_path / "base")
    data = tmp_path / "mine.jsonl"
    data.write_text("\n".join(json.dumps({"text": t, "intent": i}) for t, i in [
        ("close my account please", "explicit"), ("end my plan now", "explicit"),
        ("what time do you open", "none"), ("how do I pay online", "none")]) + "\n")
    train_user(data, tmp_path / "out", tmp_path / "cache", "static", base=tmp_path / "base")
    casc = build_classifier("cascade", model_dir=tmp_path / "out", cache_dir=tmp_path / "c")
    adapted = load_heads(tmp_path / "out/static")
    assert casc.static.model_version == adapted.version
    assert casc.strong.model_version == load_heads(tmp_path / "base/transformer").version


def test_training_parts_list_the_english_training_sources_only():
    """The manifest's ``trained_on`` and the heads' data summary name what the heads learn
    from: never an evaluation-only set (other languages, non-commercial licences)."""
    from models.datasets import Example
    from models.lodo import Domain, training_pool
    from models.train import training_parts

    def rows(name: str, n: int) -> list[Example]:
        return [Example(text=f"{name} {i}", source=name) for i in range(n)]

    domains = {name: Domain(name, rows(name, 3), rows(name, 1))
               for name in ("banking77", "seed", "rail_de", "hotels_ca")}
    tax = rows("taxonomy", 2)
    parts = training_parts(domains, tax)
    assert sorted(parts) == ["banking77", "seed", "taxonomy"]
    pool = training_pool(domains, tax)
    assert sorted(e.text for p in parts.values() for e in p) == sorted(e.text for e in pool)


def test_links_and_handles_move_no_score_and_the_evidence_quotes_the_text_as_written():
    marked = "@ShopCo The parcel came late, awful. https://t.co/x1 #fail"
    s, enc = _score([marked, "The parcel came late, awful. fail"])
    assert enc.calls == [[" The parcel came late, awful.  fail",
                          "The parcel came late, awful. fail"]]
    for name in ("intent", "friction", "presence", "sentiment", "stage"):
        got = getattr(s, name)
        assert np.allclose(got[0], got[1]), name
    assert s.friction_labels == [("delivery",), ("delivery",)]
    assert s.evidence == [marked, "The parcel came late, awful. fail"]


class EmptyReadingHeads(KeywordHeads):
    """KeywordHeads that read the empty text as the transformer's heads do: as a complaint
    (billing friction, a request to leave, negative)."""

    def scores(self, emb: np.ndarray, texts: list[str]) -> HeadScores:
        return super().scores(emb, [t if t.strip() else "cancel charged awful" for t in texts])


class AnswerMisreadingHeads(KeywordHeads):
    """KeywordHeads that read a short "no ..." answer as the heads do: as a complaint
    ("No comments." service and product friction at -0.95 on the transformer path)."""

    def scores(self, emb: np.ndarray, texts: list[str]) -> HeadScores:
        return super().scores(emb, ["charged awful" if t.lower().startswith(("no", "nothing"))
                                    else t for t in texts])


def test_an_empty_answer_says_nothing_in_a_survey_and_in_a_call():
    """A survey's "No comments." and a balance-check call's closing "Nope, that's it." read
    as friction; "Nothing works." says something."""
    texts = ["No comments.", "Nothing works.", "", "No issues, thanks!"]
    turns = [None, None, ["I want to check my balance.", "Nope, that's it."], None]
    s = score_texts(texts, CountingEncoder(), AnswerMisreadingHeads(),  # type: ignore[arg-type]
                    recipe_for("static"), turns)
    for i in (0, 2, 3):
        assert s.friction_labels[i] == () and s.intent_labels[i] == "none", i
    assert not s.friction[[0, 3]].any() and not s.presence[[0, 3]].any()
    assert s.friction[2].max() < 0.2  # the call's other turns: the heads' baseline
    assert s.friction_labels[1] == ("billing",)
    assert list(s.unread) == [True, False, False, True]  # the call has words of its own
    assert np.allclose(s.sentiment[0], [0, 1, 0])


class ByeReadingHeads(KeywordHeads):
    """KeywordHeads that read a short "bye" as the heads do: as a request to leave (a billing
    call whose last turn is "Bye." was explicit, evidence "Bye."); in a longer text it
    drowns."""

    def scores(self, emb: np.ndarray, texts: list[str]) -> HeadScores:
        return super().scores(emb, [t.lower().replace("bye", "cancel") if len(t) <= 20 else t
                                    for t in texts])


def test_talk_about_the_talk_in_a_turn_says_nothing_but_a_whole_text_is_read():
    texts = ["", "Bye.", "", "Bye, cancel it."]
    turns = [["Why was I charged this?", "Okay, thanks, bye."], None,
             ["Hi.", "Mm-hmm.", "The parcel was late."], ["I want to leave.", "Bye, cancel it."]]
    s = score_texts(texts, CountingEncoder(), ByeReadingHeads(),  # type: ignore[arg-type]
                    recipe_for("static"), turns)
    assert s.intent_labels[0] == "none" and s.friction_labels[0] == ("billing",)
    assert s.evidence[0] == "Why was I charged this?"
    assert s.intent_labels[1] == "explicit"  # a lone message is the models' to read
    assert s.friction_labels[2] == ("delivery",) and s.intent_labels[2] == "none"
    assert s.intent_labels[3] == "explicit"  # says something besides goodbye


def test_a_lone_goodbye_says_nothing_in_a_chat_or_call_message_only():
    """A chat integration that sends each message as an event sends "bye" alone (explicit
    0.82 on the transformer path); on social media "Bye @StreamCo" may be leaving."""
    texts = ["Bye.", "Bye.", "Bye, cancel it."]
    s = score_texts(texts, CountingEncoder(), ByeReadingHeads(),  # type: ignore[arg-type]
                    recipe_for("static"), None, [True, False, True])
    assert s.intent_labels == ["none", "explicit", "explicit"]
    assert list(s.unread) == [True, False, False]


def test_a_piece_with_nothing_to_read_says_nothing():
    """Three tweets of only "@acme https://t.co/..." read as billing and product friction on
    the transformer path and made an unresolved_issue alert; a letter whose last window is a
    bare link took that window's friction."""
    link = "https://example.com/complaints/" + "x" * 40
    letter_with_link = LONG + " " + link
    assert link in split_text(letter_with_link, SMALL)
    texts = ["@acme https://t.co/abc", "\u200b\u200b", "...!?", letter_with_link, "😡😡"]
    r = recipe_for("static", pieces=SMALL)
    s = score_texts(texts, CountingEncoder(), EmptyReadingHeads(), r)  # type: ignore[arg-type]
    for i in range(3):
        assert s.intent_labels[i] == "none" and s.friction_labels[i] == ()
        assert np.allclose(s.intent[i], [1, 0, 0]) and np.allclose(s.sentiment[i], [0, 1, 0])
        assert s.presence[i] == 0 and not s.friction[i].any()
    assert s.friction_labels[3] == ("delivery",)  # the letter's own friction, not the link's
    assert s.intent_labels[3] == "none"
    assert s.friction_labels[4] == ()  # an emoji is something to read: scored, not silenced
    assert not np.allclose(s.sentiment[4], [0, 1, 0])


def test_the_models_read_idioms_as_meant_and_the_evidence_quotes_them_as_written():
    """"Can't fault it." was product friction at -0.81 on the transformer: the encoder and
    the heads read "very good it." (models/idioms.py), a long text's windows as its whole;
    the evidence quotes the text as written."""
    praise = "Can't fault it, though the parcel came late."
    long_text = LONG + " Would not recommend the courier."
    s, enc = _score([praise, long_text])
    (read,) = enc.calls
    assert read[0] == "very good it, though the parcel came late."
    assert "very very bad the courier." in read and "recommend" not in " ".join(read)
    whole, windows = read[1], [p for p in read[2:]]
    assert whole.split() == " ".join(windows).split()  # the windows still cover the whole
    assert s.friction_labels[0] == ("delivery",)  # what else it says is read as before
    assert s.evidence[0] == praise
