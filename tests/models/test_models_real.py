"""Real encoders (MiniLM, the locally distilled static model, the cascade) with the bundled
heads; eval on the seed set only (public data is evaluated by `churn-detector eval`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from detector.schema import Event

pytestmark = pytest.mark.model

FIXTURE = Path(__file__).parent / "fixtures" / "few_shot.csv"


def _events(texts):
    return [Event(event_id=f"e{i}", customer_id=f"C{i}", channel="chat",
                  occurred_at=datetime(2026, 11, 2, tzinfo=UTC), text=t)
            for i, t in enumerate(texts)]


TEXTS = ["Please close my account, I've moved to another bank.",
         "Please cancel my order #4411, I ordered the wrong size.",
         "What's the early termination fee if I leave in March?",
         "Thanks, the new app is great!"]


@pytest.fixture(scope="module")
def cascade():
    from models import build_classifier

    return build_classifier("cascade")


def test_cascade_and_transformer_heads(cascade):
    from models.classifier import HeadsClassifier

    signals = cascade.classify(_events(TEXTS))
    assert [s.churn_intent for s in signals] == ["explicit", "none", "at_risk", "none"]
    assert signals[0].churn_probability > 0.7 and signals[3].churn_probability < 0.3
    assert signals[0].model_version.startswith("cascade:m2v-minilm")
    paths = cascade.last_encoder_paths
    assert paths["static"] == 4 and 1 <= paths["transformer"] <= 4  # the risky ones at least
    strong = HeadsClassifier(cascade.strong_encoder, cascade.strong_heads)
    assert [s.churn_intent for s in strong.classify(_events(TEXTS))] == [
        "explicit", "none", "at_risk", "none"]
    assert strong.model_version.startswith("all-MiniLM-L6-v2-")


@pytest.mark.slow
def test_eval_on_seed_writes_reports(cascade, tmp_path):
    from models.train import run_eval

    result = run_eval(None, tmp_path, Path.home() / ".cache" / "churn-detector")
    rep = result["datasets"]["seed (5-fold CV)"]["systems"]
    for task in ("intent", "friction", "sentiment"):
        assert rep["transformer"][task]["macro_f1"] > rep["keywords"][task]["macro_f1"]
    assert (tmp_path / "eval.md").exists() and list(tmp_path.glob("confusion-*.png"))
    assert set(result["throughput"]) == {"transformer", "static", "static-tuned", "cascade"}
    seed = result["datasets"]["seed (5-fold CV)"]["systems"]
    assert {"static", "static (distilled only)", "cascade"} <= set(seed)


def test_few_shot_training_with_transformer(tmp_path):
    from models.train import train_user

    result = train_user(FIXTURE, tmp_path, Path.home() / ".cache" / "churn-detector")
    (ds,) = result["datasets"]
    assert result["datasets"][ds]["systems"]["transformer"]["intent"]["macro_f1"] >= 0.45
    assert json.loads((tmp_path / "transformer" / "heads.json").read_text())["version"]


HARD = {  # written for this test; none of them is in the seed set
    "I'd like to unsubscribe from your weekly newsletter emails.": "none",
    "help me cancel my subscription to the cooking newsletter": "none",
    "Can I switch to the premium account?": "none",
    "Remove the payee called J Smith from my account.": "none",
    "Could you help me with the removal of my Silver account?": "explicit",
    "Please get rid of my account, I don't use it.": "explicit",
}


def test_hard_cases_of_the_churn_intent(cascade):
    from models.classifier import HeadsClassifier

    for clf in (HeadsClassifier(cascade.strong_encoder, cascade.strong_heads), cascade):
        got = [s.churn_intent for s in clf.classify(_events(list(HARD)))]
        assert got == list(HARD.values()), clf.model_version


FRICTION = {  # written for this test; none of them is in the seed set
    "You billed me twice for the same month and nobody refunds it.": "billing",
    "I can't log in since the password reset, the code never arrives.": "access",
    "The parcel was due Monday and it still hasn't shown up.": "delivery",
}


QUESTIONS = [  # written for this test: plain questions, no problem reported
    "What is the exchange rate for euros today?",
    "Please transfer $100 from my checking to my savings account.",
    "When is my next bill due?", "How do I add my partner to the account?",
    "What are your opening hours on Sunday?", "Can I pay my invoice by bank transfer?",
    "Where can I see my recent transactions?", "Is there a fee for using my card abroad?",
]


def test_static_path_is_the_hybrid_with_the_tuned_encoder(cascade):
    from models import build_classifier
    from models.classifier import StaticClassifier

    static = build_classifier("static", cache_size=0)
    assert isinstance(static, StaticClassifier)
    assert static.tuned_encoder.name.startswith("m2v-minilm-l6-256-tuned-")
    assert static.tuned_encoder.dim == 384 == cascade.strong_encoder.dim
    signals = static.classify(_events(list(FRICTION)))
    for sig, want in zip(signals, FRICTION.values(), strict=True):
        assert want in sig.friction_categories, (sig.friction, want)
    # questions on the topics of friction are mostly no friction (models.presence; before
    # it, 3 of these 8 were read as billing friction, "invoice by bank transfer" among them)
    flagged = [s.text for s in static.classify(_events(QUESTIONS)) if s.friction_categories]
    assert len(flagged) <= 2 and "Can I pay my invoice by bank transfer?" not in flagged, flagged
    assert static.classify(_events(TEXTS[:1]))[0].churn_intent == "explicit"
    # the cascade's first pass is the same hybrid: its signals carry the tuned embedding
    assert cascade.tuned_encoder is not None
    assert static.model_version.split("+")[1] in cascade.model_version


CANCELLATIONS = {  # written for this test; none of them is in the seed set or a public set
    "Can you stop the bank transfer I set up this morning? Wrong payee.": "none",
    "Cancel the payment to the electricity company, the amount is wrong.": "none",
    "How do I cancel a standing order?": "none",
    "I'd like to close my current account please.": "explicit",
    "I want to delete my profile and all my data.": "explicit",
    "cancel my gym membership from next month": "explicit",
}


def test_static_path_tells_a_cancelled_payment_from_a_closed_account():
    """The distilled embedding's heads read content-word pairs and the churn-intent cues
    (``STATIC_LEXICAL``): a mean of token vectors alone reads "cancel my transfer" as
    leaving."""
    from models import build_classifier
    from models.features import DEFAULT_LEXICAL, STATIC_LEXICAL

    static = build_classifier("static", cache_size=0)
    assert static.heads.lexical == STATIC_LEXICAL
    assert static.strong_heads.lexical == DEFAULT_LEXICAL
    got = [s.churn_intent for s in static.classify(_events(list(CANCELLATIONS)))]
    assert got == list(CANCELLATIONS.values())


MISSPELLED = {  # written for this test; before the typo copies, the first, fourth and fifth
    # were read as none
    "pls cancle my acount": "explicit",
    "I want to delet my profil and all my data": "explicit",
    "close my acount asap, im done": "explicit",
    "how do i cancell my subscripton": "explicit",
    "terminate my memebrship from next month": "explicit",
    "cancel my odrer from yesterday": "none",
    "can I cancle the transfer I just made": "none",
    "unsubscibe me from the newsleter": "none",
}


def test_static_path_reads_misspelled_requests():
    """The static heads train on a misspelled copy of each row (models.augment)."""
    from models import build_classifier

    static = build_classifier("static", cache_size=0)
    assert static.heads.meta["training"]["typo_rate"] == 1.0
    assert static.heads.meta["training"]["typo_copies"] > 5000
    got = [s.churn_intent for s in static.classify(_events(list(MISSPELLED)))]
    assert got == list(MISSPELLED.values())


def test_tune_static_adapts_the_table_on_unlabelled_texts(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from models import build_classifier, bundled_artifacts
    from models.classifier import StaticClassifier
    from models.tokentune import load_tuned
    from streams.cli import main

    texts = tmp_path / "traffic.txt"
    texts.write_text("\n".join([
        "my smart meter reading is wrong again", "the engineer never came for the boiler",
        "why did my direct debit go up by 40 pounds", "cannot log into the energy app",
    ] * 5) + "\n")
    out = tmp_path / "adapted"
    res = CliRunner().invoke(main, ["tune-static", "--texts", str(texts), "--out", str(out)])
    assert res.exit_code == 0, res.output
    bundled = load_tuned(bundled_artifacts() / "static")
    table = load_tuned(out / "static")
    assert table.meta["adapted_from"] == bundled.sha and table.sha != bundled.sha
    assert table.meta["adapted_on"] == {"name": "traffic.txt", "texts": 4, "sha256": table.meta[
        "adapted_on"]["sha256"]}
    assert set(bundled.token_ids.tolist()) <= set(table.token_ids.tolist())
    static = build_classifier("static", model_dir=out, cache_size=0)
    assert isinstance(static, StaticClassifier) and table.sha[:10] in static.model_version
    # the friction presence model reads MiniLM's space, which the adapted table keeps
    assert static.presence is not None and static.presence.version in static.model_version
    cascade = build_classifier("cascade", model_dir=out, cache_size=0)
    assert cascade.projection is not None and table.sha[:10] in cascade.model_version
    assert cascade.presence is not None
    assert static.classify(_events(TEXTS[:1]))[0].churn_intent == "explicit"
    res = CliRunner().invoke(main, ["tune-static", "--texts", str(texts), "--out",
                                    str(bundled_artifacts())])
    assert res.exit_code != 0 and "own folder" in res.output
