"""The static path's friction presence model (models/presence.py): decisions, fitting,
artifacts, and how the hybrid and the classifiers use it. No MiniLM."""

from __future__ import annotations

import json

import numpy as np
import pytest

from detector.signals import FRICTION_CATEGORIES
from models.classifier import Scores
from models.datasets import Example
from models.heads import ArtifactError
from models.presence import (
    FEATURES,
    FrictionPresence,
    decide_with_presence,
    fit_presence,
    has_presence,
    load_presence,
)

DIM = 8


def _rows_and_embeddings(n: int, seed: int) -> tuple[list[Example], np.ndarray]:
    """Dimension 0 says "a problem" (friction), dimension 1 is a topic word that appears
    as often with friction as without; two sources with different friction rates."""
    rng = np.random.default_rng(seed)
    problem = rng.random(n) < 0.4
    topic = rng.random(n) < 0.5
    emb = 0.3 * rng.normal(size=(n, DIM))
    emb[:, 0] += np.where(problem, 1.5, -1.5)
    emb[:, 1] += np.where(topic, 2.0, -2.0)
    rows = [Example(f"text {seed}-{i}", "a" if i % 3 else "b",
                    friction=("billing",) if p else ()) for i, p in enumerate(problem)]
    rows.append(Example("no friction label", "a", friction=None))  # skipped
    emb = np.vstack([emb, np.zeros((1, DIM))])
    return rows, emb


def _head_outputs(emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Friction probabilities that mix problem and topic (what a mean of token vectors
    gives), and a negative-sentiment probability that follows the problem."""
    n = len(emb)
    friction = np.full((n, len(FRICTION_CATEGORIES)), 0.01)
    friction[:, 0] = 1 / (1 + np.exp(-(0.8 * emb[:, 0] + 0.8 * emb[:, 1])))
    sentiment = np.zeros((n, 3))
    sentiment[:, 0] = 1 / (1 + np.exp(-emb[:, 0]))
    sentiment[:, 1] = 1 - sentiment[:, 0]
    return friction, sentiment


def _fitted() -> tuple[FrictionPresence, np.ndarray]:
    rows, emb = _rows_and_embeddings(400, 1)
    val_rows, val_emb = _rows_and_embeddings(200, 2)
    friction, sentiment = _head_outputs(val_emb)
    thresholds = np.full(len(FRICTION_CATEGORIES), 0.5)
    return fit_presence(emb, rows, val_emb, val_rows, friction, sentiment, thresholds,
                        "mini"), thresholds


def test_presence_decides_whether_then_which():
    th = np.array([0.5, 0.2] + [0.5] * 7)
    friction = np.zeros((4, 9))
    friction[0, 0] = 0.9  # over its threshold, but presence says no friction
    friction[1, 0], friction[1, 1] = 0.6, 0.3  # both over
    friction[2, 0], friction[2, 1] = 0.4, 0.15  # none over; billing 0.8 of its cut, service 0.75
    friction[3, 1] = 0.1  # none over; service is the highest relative to its threshold
    friction[3, 0] = 0.15
    presence = np.array([0.3, 0.9, 0.7, 0.5])
    capped, labels = decide_with_presence(friction, th, presence)
    assert labels == [(), ("billing", "service"), ("billing",), ("service",)]
    assert np.allclose(capped, np.minimum(friction, presence[:, None]))
    assert capped[0, 0] == pytest.approx(0.3)  # a category never exceeds presence


def test_fit_presence_learns_the_problem_not_the_topic_and_roundtrips(tmp_path):
    model, th = _fitted()
    assert model.gate_coef.shape == (DIM,) and abs(model.gate_coef[0]) > abs(model.gate_coef[1])
    assert model.meta["rows"] == {"gate": 400, "presence": 200}
    test_rows, test_emb = _rows_and_embeddings(300, 3)
    friction, sentiment = _head_outputs(test_emb)
    p = model.probability(test_emb, friction, sentiment, th)
    truth = np.array([bool(e.friction) for e in test_rows])
    assert p[truth[:-1].nonzero()[0]].mean() > 0.8 > 0.2 > p[(~truth[:-1]).nonzero()[0]].mean()
    # the topic alone (billing probability over its threshold) does not make friction
    topical = (friction[:-1, 0] >= 0.5) & ~truth[:-1]
    assert topical.sum() > 20 and (p[:-1][topical] < 0.5).mean() > 0.9
    meta = model.save(tmp_path / "p")
    assert meta["features"] == list(FEATURES) and meta["encoder"] == "mini"
    again, _ = _fitted()
    assert again.save(tmp_path / "q")["files"] == meta["files"]  # deterministic bytes
    assert has_presence(tmp_path / "p") and not has_presence(tmp_path)
    loaded = load_presence(tmp_path / "p")
    assert np.array_equal(loaded.probability(test_emb, friction, sentiment, th), p)
    assert loaded.version == f"presence-{meta['files']['presence.safetensors']['sha256'][:10]}"
    with pytest.raises(ValueError, match="8-d"):
        loaded.probability(np.zeros((1, 4)), friction[:1], sentiment[:1], th)


def test_presence_artifact_refuses_tampering_and_other_features(tmp_path):
    model, _ = _fitted()
    model.save(tmp_path)
    meta_path = tmp_path / "presence.json"
    meta = json.loads(meta_path.read_text())
    meta["features"] = ["gate_logit"]
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="features"):
        load_presence(tmp_path)
    model.save(tmp_path)
    blob = bytearray((tmp_path / "presence.safetensors").read_bytes())
    blob[-1] ^= 1
    (tmp_path / "presence.safetensors").write_bytes(bytes(blob))
    with pytest.raises(ArtifactError, match="sha256"):
        load_presence(tmp_path)


def test_fit_presence_needs_both_classes():
    rows, emb = _rows_and_embeddings(50, 4)
    none = [Example(e.text, e.source, friction=()) for e in rows]
    friction, sentiment = _head_outputs(emb)
    with pytest.raises(ValueError, match="training rows with and without friction"):
        fit_presence(emb, none, emb, rows, friction, sentiment, np.full(9, 0.5), "mini")


def test_hybrid_uses_presence_and_the_classifiers_check_its_space():
    from models.classifier import (
        STATIC_FRICTION_SCALE,
        StaticClassifier,
        check_presence,
        hybrid_scores,
    )
    from models.encoders import HashingEncoder

    model, _ = _fitted()
    _, emb = _rows_and_embeddings(6, 5)
    friction, sentiment = _head_outputs(emb)
    tuned = Scores(np.full((len(emb), 3), 1 / 3), ["none"] * len(emb), friction,
                   [()] * len(emb), sentiment, np.zeros((len(emb), 7)), ("a",) * 7)

    class Decide:
        encoder = "mini"

        def decide_intent(self, p):
            return ["none"] * len(p)

    th = np.full(9, 0.5)
    out = hybrid_scores(tuned, tuned, Decide(), th, model, emb)
    p = model.probability(emb, friction, sentiment, th * STATIC_FRICTION_SCALE)
    want_p, want_labels = decide_with_presence(friction, th * STATIC_FRICTION_SCALE, p)
    assert out.friction_labels == want_labels and np.allclose(out.friction, want_p)
    assert [bool(f) for f in out.friction_labels] == (p >= 0.5).tolist()
    assert out.sentiment is sentiment  # only friction changes
    with pytest.raises(ValueError, match="tuned_emb"):
        hybrid_scores(tuned, tuned, Decide(), th, model)
    check_presence(model, Decide())  # same space: fine
    check_presence(None, Decide())
    other = Decide()
    other.encoder = "another"
    with pytest.raises(ValueError, match="reads mini embeddings"):
        check_presence(model, other)
    enc = HashingEncoder()
    with pytest.raises(ValueError, match="reads mini embeddings"):
        StaticClassifier(enc, other, enc, other, presence=model)  # type: ignore[arg-type]


def test_bundled_static_folder_has_a_presence_model_for_the_transformer_space():
    from models import build_classifier, bundled_artifacts

    root = bundled_artifacts()
    model = load_presence(root / "static")
    strong = json.loads((root / "transformer/heads.json").read_text())
    assert model.encoder == strong["encoder"] and model.gate_coef.shape == (384,)
    assert model.meta["rows"]["gate"] > 1000 and model.meta["rows"]["presence"] > 500
    assert model.weights[0] > 0 and model.weights[2] > 0  # evidence for friction raises it
    clf = build_classifier("static")
    assert clf.presence is not None and clf.model_version.endswith(model.version)


def test_the_cascade_watch_reads_friction_before_the_presence_cap():
    from models.cascade import CascadeThresholds, route

    n = 3
    uncapped = np.zeros((n, 9))
    uncapped[:, 0] = [0.3, 0.3, 0.01]  # possible billing friction in the first two
    capped = np.minimum(uncapped, np.array([[0.1], [0.9], [0.1]]))  # presence doubts the first
    confident = np.tile([[0.98, 0.01, 0.01]], (n, 1))
    first = Scores(confident, ["none"] * n, capped, [(), ("billing",), ()], confident,
                   np.zeros((n, 7)), ("a",) * 7)
    t = CascadeThresholds(churn=0.5, confidence=0.5, band=0.0, friction_watch=0.4,
                          sentiment_confidence=0.5)
    th = np.full(9, 0.5)  # watch: a probability >= 0.2
    assert route(first, first, th, t)[0].tolist() == [False, True, False]
    assert route(first, first, th, t, uncapped=uncapped)[0].tolist() == [True, True, False]
