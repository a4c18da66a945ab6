"""The heads (models.heads, format churn-heads/3): friction as presence x which category,
presence learnt from weak labels, and a deployment's rows added by models.adapt."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from detector.signals import FRICTION_CATEGORIES, INTENTS
from models.adapt import adapt_heads
from models.datasets import Example
from models.heads import (
    SECOND_CATEGORY_SHARE,
    ArtifactError,
    fit_heads,
    friction_decisions,
    load_heads,
)
from tests.models.tiny_model import ROWS, encoder, recipe_for, tiny_heads


def _cats(**p: float) -> np.ndarray:
    row = np.zeros(len(FRICTION_CATEGORIES))
    for c, v in p.items():
        row[FRICTION_CATEGORIES.index(c)] = v
    return row


def test_friction_decisions_threshold_top_category_and_second_by_share():
    assert SECOND_CATEGORY_SHARE == 0.25
    rows = np.stack([
        _cats(billing=0.3, service=0.05),  # presence 0.4 < 0.5: none
        _cats(billing=0.6, service=0.15, delivery=0.05),  # 0.15 < 0.25 * 0.8: top only
        _cats(billing=0.2, service=0.5, delivery=0.1),  # 0.2 >= 0.2: both, in category order
        _cats(access=0.05, policy=0.02),  # presence at the threshold: the top one
        np.zeros(len(FRICTION_CATEGORIES)),  # presence 0 with a zero threshold: none
    ])
    presence = np.array([0.4, 0.8, 0.8, 0.5, 0.0])
    assert friction_decisions(rows[:4], presence[:4], 0.5) == [
        (), ("billing",), ("billing", "service"), ("access",)]
    assert friction_decisions(rows[4:], presence[4:], 0.0) == [()]
    assert friction_decisions(rows[:1], presence[:1], 0.3) == [("billing",)]


def test_scores_are_presence_times_which_category():
    heads, enc = tiny_heads(), encoder()
    texts = ["you charged me twice", "my parcel never arrived", "thanks for the help"]
    s = heads.scores(enc.encode(texts), texts)
    assert np.allclose(s.friction.sum(axis=1), s.presence, atol=1e-6)
    assert np.allclose(s.intent.sum(axis=1), 1) and np.allclose(s.sentiment.sum(axis=1), 1)
    assert s.stage.shape == (3, 7)
    assert heads.decide_friction(s.friction, s.presence)[:2] == [("billing",), ("delivery",)]


def test_example_friction_present_follows_presence_then_friction():
    assert Example("x", "s", presence=True).friction_present is True
    assert Example("x", "s", presence=False, friction=None).friction_present is False
    assert Example("x", "s", friction=("billing",)).friction_present is True
    assert Example("x", "s", friction=()).friction_present is False
    assert Example("x", "s").friction_present is None


WEAK = [  # friction present, category unknown (a 1-2 star review, a complaint to a regulator)
    "the worst experience I ever had, broken after two days",
    "terrible, it fell apart and nobody answers my emails",
    "awful quality and the seams ripped on first wear",
    "a complete disaster from start to finish",
    "useless, stopped working after a week and support ignored me",
    "really disappointed, it broke and I want my money back",
]
FINE = [  # five stars: no friction
    "lovely fabric and a perfect fit", "exactly as described, very comfortable",
    "beautiful colour and it washes well", "fits great, I ordered another one",
    "gorgeous, I wear it every week", "comfortable and well made, highly recommend",
]


def test_presence_is_learnt_from_presence_only_rows_without_touching_the_categories():
    weak = [Example(t, "reviews", presence=True, friction=None) for t in WEAK]
    weak += [Example(t, "reviews", presence=False, friction=None) for t in FINE]
    enc = encoder()
    rows = list(ROWS) + weak
    without, with_weak = tiny_heads(), fit_heads(enc.encode([e.text for e in rows]), rows,
                                                 enc.name)
    # the rows weigh in the presence head only: the category head is the same
    assert np.array_equal(with_weak.friction.coef, without.friction.coef)
    assert np.array_equal(with_weak.intent.coef, without.intent.coef)
    probe = ["it broke after a week and nobody answers", "perfect fit, lovely fabric"]
    x = enc.encode(probe)
    before = without.presence.proba(x)[:, 0]
    after = with_weak.presence.proba(x)[:, 0]
    assert after[0] > before[0] and after[1] < before[1]
    assert after[0] > after[1]
    # and only presence rows: a working presence head, nothing else learnt
    only = fit_heads(enc.encode([e.text for e in weak]), weak, enc.name)
    assert not only.friction.coef.any() and not only.intent.coef.any()
    p = only.presence.proba(x)[:, 0]
    assert p[0] > 0.5 > p[1]


def test_heads_round_trip_as_format_3_and_older_formats_are_refused(tmp_path):
    heads = tiny_heads()
    meta = heads.save(tmp_path, {"taxonomy_version": "t"})
    assert meta["format"] == "churn-heads/3"
    assert meta["labels"]["presence"] == ["any"]
    assert meta["presence_threshold"] == round(heads.presence.threshold, 4)
    loaded = load_heads(tmp_path)
    texts = ["you charged me twice", "please cancel my account"]
    x = encoder().encode(texts)
    a, b = heads.scores(x, texts), loaded.scores(x, texts)
    for name in ("intent", "friction", "presence", "sentiment", "stage"):
        assert np.allclose(getattr(a, name), getattr(b, name), atol=1e-5), name
    assert loaded.presence.threshold == pytest.approx(heads.presence.threshold)
    meta["format"] = "churn-heads/2"  # categories without presence: retrain
    (tmp_path / "heads.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="format"):
        load_heads(tmp_path)


# ---- adaptation -------------------------------------------------------------------------

USER = [  # a deployment's own rows: delivery friction written in its own words
    Example("the van never came", "user", friction=("delivery",)),
    Example("driver skipped my street again", "user", friction=("delivery",)),
    Example("box arrived crushed", "user", friction=("delivery",)),
    Example("still waiting for the courier", "user", friction=("delivery",)),
    Example("invoice shows a fee I never agreed to", "user", friction=("billing",)),
    Example("they took the payment two times", "user", friction=("billing",)),
    Example("an extra charge appeared on my statement", "user", friction=("billing",)),
    Example("price went up without notice", "user", friction=("billing",)),
    Example("all fine this month", "user", friction=()),
    Example("no problems at all", "user", friction=()),
    Example("works as expected", "user", friction=()),
    Example("happy with everything", "user", friction=()),
]


def _label_likelihood(heads, rows):  # type: ignore[no-untyped-def]
    texts = [e.text for e in rows]
    s = heads.scores(encoder().encode(texts), texts)
    which = s.friction / np.maximum(s.presence[:, None], 1e-12)
    cat = [which[i, FRICTION_CATEGORIES.index(e.friction[0])]
           for i, e in enumerate(rows) if e.friction]
    present = [s.presence[i] if e.friction else 1 - s.presence[i] for i, e in enumerate(rows)]
    return float(np.mean(cat)), float(np.mean(present))


def test_adapt_moves_the_heads_towards_the_users_rows_and_keeps_the_rest():
    heads = tiny_heads()
    enc = encoder()
    emb = enc.encode([e.text for e in USER])
    adapted = adapt_heads(heads, emb, USER, c=2.0)
    cat0, pres0 = _label_likelihood(heads, USER)
    cat1, pres1 = _label_likelihood(adapted, USER)
    assert cat1 > cat0 and pres1 > pres0
    # tasks the rows do not label keep their weights; calibration and thresholds stay
    for task in ("intent", "sentiment", "stage"):
        assert np.array_equal(getattr(adapted, task).coef, getattr(heads, task).coef), task
    texts = ["please cancel my account", "thanks for the help"]
    x = enc.encode(texts)
    assert np.allclose(adapted.scores(x, texts).intent, heads.scores(x, texts).intent)
    assert adapted.friction.temperature == heads.friction.temperature
    assert adapted.presence.threshold == heads.presence.threshold
    assert np.array_equal(adapted.presence.platt_a, heads.presence.platt_a)
    assert adapted.meta["adapted_on"]["rows"] == len(USER)
    # the bundled heads themselves are left as they were
    assert np.array_equal(heads.friction.coef, tiny_heads().friction.coef)
    assert "adapted_on" not in heads.meta


def test_adapt_stays_near_the_bundled_heads_under_a_strong_prior():
    heads = tiny_heads()
    emb = encoder().encode([e.text for e in USER])
    weak, strong = adapt_heads(heads, emb, USER, c=2.0), adapt_heads(heads, emb, USER, c=1e-4)
    moved = np.abs(weak.friction.coef - heads.friction.coef).sum()
    barely = np.abs(strong.friction.coef - heads.friction.coef).sum()
    assert barely < moved / 10


def test_adapt_prior_scales_the_pull_towards_the_bundled_heads():
    """``TrainConfig.adapt_prior`` multiplies the prior's strength: a weaker prior lets the
    user's rows move the heads further."""
    heads = tiny_heads()
    emb = encoder().encode([e.text for e in USER])
    loose = adapt_heads(heads, emb, USER, c=2.0, prior=0.25)
    tight = adapt_heads(heads, emb, USER, c=2.0, prior=4.0)
    moved = {name: np.abs(h.friction.coef - heads.friction.coef).sum() for name, h in
             (("loose", loose), ("tight", tight))}
    assert moved["tight"] < moved["loose"]
    assert loose.meta["adapted_on"]["strength"] == pytest.approx(0.25 / (2.0 * len(USER)))


def test_adapt_skips_a_task_with_one_label_only():
    heads = tiny_heads()
    rows = [replace(e, friction=None, intent="explicit") for e in USER[:4]]
    out = adapt_heads(heads, encoder().encode([e.text for e in rows]), rows, c=2.0)
    assert np.array_equal(out.intent.coef, heads.intent.coef)
    assert np.array_equal(out.friction.coef, heads.friction.coef)
    assert np.array_equal(out.presence.coef, heads.presence.coef)
    assert INTENTS == ("none", "at_risk", "explicit")


def _reference_friction(categories, presence, threshold):  # type: ignore[no-untyped-def]
    """The per-row definition of the friction decision."""
    out = []
    for row, p in zip(categories, np.asarray(presence).reshape(-1), strict=True):
        if p < threshold or p <= 0:
            out.append(())
            continue
        top = int(np.argmax(row))
        out.append(tuple(c for j, c in enumerate(FRICTION_CATEGORIES)
                         if j == top or row[j] >= SECOND_CATEGORY_SHARE * p))
    return out


def test_one_pass_scores_and_decisions_equal_each_head_on_its_own():
    """All heads in one product and one calibration step give each head's own calibrated
    probabilities; the vectorised decisions give the per-row ones."""
    rng = np.random.default_rng(5)
    heads = tiny_heads()
    for name in ("intent", "friction", "sentiment", "stage"):
        h = getattr(heads, name)
        h.coef = (rng.normal(size=h.coef.shape) * 3).astype(np.float32)
        h.temperature = float(np.float32(rng.uniform(0.5, 2.0)))
        h.cal_bias = rng.normal(size=len(h.labels)).astype(np.float32)
    heads.sentiment.cal_bias = None
    heads._stacked = None
    texts = [r.text for r in ROWS] * 3
    emb = encoder().encode(texts)
    x = heads.inputs(emb, texts)
    got = heads.scores(emb, texts)
    presence = heads.presence.proba(x)[:, 0]
    np.testing.assert_allclose(got.presence, presence, atol=1e-6)
    np.testing.assert_allclose(got.intent, heads.intent.proba(x), atol=1e-6)
    np.testing.assert_allclose(got.friction, presence[:, None] * heads.friction.proba(x),
                               atol=1e-6)
    np.testing.assert_allclose(got.sentiment, heads.sentiment.proba(x), atol=1e-6)
    np.testing.assert_allclose(got.stage, heads.stage.proba(x), atol=1e-6)
    for threshold in (0.0, 0.3, heads.presence.threshold, 0.9):
        assert (friction_decisions(got.friction, got.presence, threshold)
                == _reference_friction(got.friction, got.presence, threshold))
    ie, ia = INTENTS.index("explicit"), INTENTS.index("at_risk")
    assert heads.decide_intent(got.intent) == [
        "explicit" if r[ie] >= 0.5 else "at_risk" if r[ia] + r[ie] >= 0.5 else "none"
        for r in got.intent]
    assert len({tuple(x) for x in friction_decisions(got.friction, got.presence, 0.0)}) > 1


def test_folds_split_every_row_into_one_of_k_by_its_text():
    from models.heads import TrainConfig, fold_of

    texts = [e.text for e in ROWS] + [f"text {i}" for i in range(400)]
    for k in (2, 5):
        folds = [fold_of(t, k) for t in texts]
        assert folds == [fold_of(t, k) for t in texts] and set(folds) == set(range(k))
        assert min(np.bincount(folds)) > len(texts) / k / 2
    with pytest.raises(ValueError, match="folds"):
        TrainConfig(folds=0)


def test_cross_fitted_heads_are_the_mean_of_their_folds_calibrated_logits():
    """folds=k: k heads, each fitted outside one hash split and calibrated on it, served as
    one linear model (the mean of their calibrated logits, no calibration left on top); the
    presence threshold is the grid's best F1 over every row's out-of-fold probability."""
    import models.heads as mh

    enc = encoder()
    rows = list(ROWS) * 3 + [replace(e, text=e.text + " again") for e in ROWS] * 3
    x_all = enc.encode([e.text for e in rows])
    cfg = mh.TrainConfig(folds=3)
    heads = fit_heads(x_all, rows, enc.name, cfg)
    assert heads.meta["training"]["folds"] == 3
    fold = np.array([mh.fold_of(e.text, 3) for e in rows])
    labelled = np.array([i for i, e in enumerate(rows) if e.sentiment is not None])
    y = [str(rows[i].sentiment) for i in labelled]
    src = [rows[i].source for i in labelled]
    fits = [mh._fit_softmax(x_all[labelled], y, src, mh.TASK_LABELS["sentiment"], cfg,
                            fold[labelled] == k) for k in range(3)]
    probe = enc.encode(["the app is great", "awful support, charged twice"])
    want = np.mean([(h.logits(probe)) / h.temperature
                    + (h.cal_bias if h.cal_bias is not None else 0) for h in fits], axis=0)
    assert heads.sentiment.temperature == 1.0 and heads.sentiment.cal_bias is None
    assert np.allclose(heads.sentiment.logits(probe), want, atol=2e-2)  # float16 weights
    assert heads.presence.platt_a[0] == 1.0 and heads.presence.platt_b[0] == 0.0
    assert 0.2 <= heads.presence.threshold <= 0.8
    # one fold is the single split as before
    one = fit_heads(x_all, rows, enc.name, mh.TrainConfig())
    assert one.meta["training"]["folds"] == 1


def test_intent_label_agrees_with_the_churn_probability():
    """P(none) 0.38, P(at_risk) 0.30, P(explicit) 0.32: churn probability 0.62 is at risk,
    though neither leaving class reaches 0.5 alone; under 0.5 it is none."""
    heads = tiny_heads()
    order = [INTENTS.index(k) for k in ("none", "at_risk", "explicit")]

    def probs(none: float, at_risk: float, explicit: float) -> np.ndarray:
        row = np.zeros(3)
        row[order] = (none, at_risk, explicit)
        return row

    p = np.stack([probs(0.38, 0.30, 0.32), probs(0.52, 0.30, 0.18), probs(0.2, 0.29, 0.51),
                  probs(0.1, 0.6, 0.3), probs(0.5, 0.25, 0.25)])
    assert heads.decide_intent(p) == ["at_risk", "none", "explicit", "at_risk", "at_risk"]


def test_friction_weighting_by_label_gives_a_rare_category_its_share():
    """One source with only billing complaints, another with a few of each: weighted by
    source, the billing-only source puts its whole share on billing; by label, delivery
    weighs as much as billing, so the head leans less towards billing on unseen text."""
    from models.heads import TrainConfig

    rows = [Example(f"you charged me twice on invoice {i}", "bills", friction=("billing",))
            for i in range(60)]
    rows += [Example(f"my parcel {i} never arrived", "shop", friction=("delivery",))
             for i in range(6)]
    rows += [Example(f"wrong amount on bill {i}", "shop", friction=("billing",))
             for i in range(6)]
    texts = ["where is my order", "the courier lost the box", "a problem with my account"]

    def delivery_share(weighting: str) -> float:
        recipe = recipe_for("static", train=TrainConfig(friction_weighting=weighting))
        heads = tiny_heads(rows, recipe)
        assert heads.meta["training"]["friction_weighting"] == weighting
        s = heads.scores(encoder().encode(texts), texts)
        j = FRICTION_CATEGORIES.index("delivery")
        return float(np.mean(s.friction[:, j] / s.presence))

    by_label, by_source = delivery_share("label"), delivery_share("source")
    assert by_label > by_source + 0.02, (by_label, by_source)
