"""The cascade (models.cascade) and the leave-one-domain-out helpers (models.lodo)."""

from __future__ import annotations

from dataclasses import replace
from itertools import product
from types import SimpleNamespace

import numpy as np
import pytest

from detector.signals import FRICTION_CATEGORIES
from models.datasets import STAGES, Example
from models.lodo import (
    ADAPT_ROWS_PER_LABEL,
    LONG_CHARS,
    Domain,
    Predictions,
    adaptation_rows,
    auc,
    capped,
    cascade_scores,
    f1,
    measure,
    training_pool,
)
from models.recipe import CascadeRule, PooledScores
from tests.models.tiny_model import event, write_model_folder


def _pooled(intent: list[list[float]], presence: list[float], tag: str) -> PooledScores:
    n = len(intent)
    fr = np.zeros((n, len(FRICTION_CATEGORIES)))
    fr[:, 0] = presence
    return PooledScores(np.array(intent, float), [f"{tag}{i}" for i in range(n)], fr,
                        [(f"{tag}{i}",) for i in range(n)], np.array(presence, float),
                        np.full((n, 3), 1 / 3), np.eye(len(STAGES))[[0] * n], STAGES,
                        [f"{tag} evidence {i}" for i in range(n)],
                        np.full((n, 4), float(ord(tag[0]))), np.zeros(n, bool))


THRESHOLD = SimpleNamespace(presence=SimpleNamespace(threshold=0.5))


def test_route_mask_sends_risky_and_unsure_events_only():
    from models.cascade import route_mask

    s = _pooled([[0.98, 0.01, 0.01],  # calm, presence far from the threshold: stays
                 [0.6, 0.1, 0.3],  # churn 0.4 >= 0.3: routed
                 [0.95, 0.0, 0.05],  # presence 0.55, within 0.15 of 0.5: routed
                 [0.95, 0.0, 0.05],  # presence 0.9: sure, stays
                 [0.72, 0.0, 0.28]],  # churn 0.28 < 0.3, presence 0.1: stays
                [0.1, 0.1, 0.55, 0.9, 0.1], "s")
    rule = CascadeRule(band=0.15, churn=0.3)
    assert route_mask(s, THRESHOLD, rule).tolist() == [False, True, True, False, False]
    assert not route_mask(s, THRESHOLD, CascadeRule(band=0.0, churn=1.01)).any()
    assert route_mask(s, THRESHOLD, CascadeRule(band=1.0, churn=1.01)).all()


def test_merge_takes_routed_rows_from_the_strong_scores_and_keeps_the_first_embeddings():
    from models.cascade import merge

    first = _pooled([[0.9, 0.05, 0.05]] * 4, [0.1, 0.2, 0.3, 0.4], "f")
    strong = _pooled([[0.1, 0.1, 0.8], [0.2, 0.7, 0.1]], [0.9, 0.8], "t")  # rows 1 and 3
    mask = np.array([False, True, False, True])
    out = merge(first, strong, mask)
    assert out.intent_labels == ["f0", "t0", "f2", "t1"]
    assert out.friction_labels == [("f0",), ("t0",), ("f2",), ("t1",)]
    assert out.evidence == ["f evidence 0", "t evidence 0", "f evidence 2", "t evidence 1"]
    assert out.presence.tolist() == [0.1, 0.9, 0.3, 0.8]
    assert np.array_equal(out.intent[[1, 3]], strong.intent)
    assert np.array_equal(out.friction[[0, 2]], first.friction[[0, 2]])
    assert np.array_equal(out.emb, first.emb)  # one customer's signals stay comparable
    # the first scores are not changed in place
    assert first.intent_labels == ["f0", "f1", "f2", "f3"]
    assert first.presence.tolist() == [0.1, 0.2, 0.3, 0.4]


def test_cascade_scores_of_both_paths_equal_routing_the_mask_alone():
    from models.cascade import merge, route_mask

    first = _pooled([[0.9, 0.05, 0.05], [0.5, 0.2, 0.3], [0.9, 0.0, 0.1]], [0.1, 0.1, 0.6],
                    "f")
    strong = _pooled([[0.2, 0.2, 0.6], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]], [0.9, 0.9, 0.9], "t")
    rule = CascadeRule(band=0.15, churn=0.3)
    got, share = cascade_scores(first, strong, THRESHOLD, rule)  # type: ignore[arg-type]
    mask = route_mask(first, THRESHOLD, rule)  # type: ignore[arg-type]
    sub = _pooled(strong.intent[mask].tolist(), strong.presence[mask].tolist(), "t")
    sub.intent_labels = [x for x, m in zip(strong.intent_labels, mask, strict=True) if m]
    sub.friction_labels = [x for x, m in zip(strong.friction_labels, mask, strict=True) if m]
    sub.evidence = [x for x, m in zip(strong.evidence, mask, strict=True) if m]
    want = merge(first, sub, mask)
    assert mask.tolist() == [False, True, True] and share == pytest.approx(2 / 3)
    assert got.intent_labels == want.intent_labels == ["f0", "t1", "t2"]
    assert got.evidence == want.evidence and np.array_equal(got.intent, want.intent)


def test_cascade_classifier_routes_per_the_manifest_rule(tmp_path):
    from models import build_classifier

    texts = ["please cancel my account", "thanks for the help", "you charged me twice",
             "my parcel never arrived", "okay thank you, have a nice day"]
    events = [event(t, i) for i, t in enumerate(texts)]
    write_model_folder(tmp_path / "m", rule=CascadeRule(band=0.0, churn=0.5))
    casc = build_classifier("cascade", model_dir=tmp_path / "m", cache_dir=tmp_path / "c")
    static = build_classifier("static", model_dir=tmp_path / "m", cache_dir=tmp_path / "c")
    strong = build_classifier("transformer", model_dir=tmp_path / "m",
                              cache_dir=tmp_path / "c")
    assert casc.rule == CascadeRule(band=0.0, churn=0.5)
    out = casc.classify(events)
    first = static.classify(events)
    routed = [s.churn_probability >= 0.5 for s in first]
    assert any(routed) and not all(routed)
    assert casc.last_encoder_paths == {"static": routed.count(False),
                                       "transformer": routed.count(True)}
    by_strong = {s.event_id: s for s in strong.classify([e for e, r in zip(events, routed,
                                                                            strict=True) if r])}
    for sig, own, r in zip(out, first, routed, strict=True):
        want = by_strong[sig.event_id] if r else own
        assert sig.churn_intent == want.churn_intent
        assert sig.friction_categories == want.friction_categories
        assert sig.intent_probabilities == pytest.approx(want.intent_probabilities)
        assert sig.embedding_packed == own.embedding_packed  # the static path's embedding
        assert sig.model_version == casc.model_version
    assert casc.model_version == f"{static.model_version}+{strong.model_version}"
    # a settings override replaces only its own field of the manifest's rule
    tuned = build_classifier("cascade", model_dir=tmp_path / "m", cache_dir=tmp_path / "c",
                             cascade={"churn": 1.01})
    assert tuned.rule == CascadeRule(band=0.0, churn=1.01)
    tuned.classify(events)
    assert tuned.last_encoder_paths == {"static": 5, "transformer": 0}


def test_cascade_settings_give_only_the_fields_set():
    from streams.cli_models import cascade_thresholds
    from streams.settings import Settings

    assert cascade_thresholds(Settings()) is None
    assert cascade_thresholds(Settings(cascade_friction_band=0.05)) == {"band": 0.05}
    assert cascade_thresholds(Settings(cascade_churn_threshold=0.4)) == {"churn": 0.4}


# ---- measures ---------------------------------------------------------------------------

def test_f1():
    assert f1([True, True, False, False], [True, False, True, False]) == pytest.approx(0.5)
    assert f1([True, False], [False, False]) == 0.0
    assert f1([False, False], [False, False]) == 0.0
    assert f1([True, True, True], [True, True, True]) == 1.0


def _pairwise_auc(gold, score):  # type: ignore[no-untyped-def]
    pos = [s for g, s in zip(gold, score, strict=True) if g]
    neg = [s for g, s in zip(gold, score, strict=True) if not g]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_auc_counts_ties_half_and_needs_both_classes():
    assert auc([True, False], [0.9, 0.1]) == 1.0
    assert auc([True, False], [0.1, 0.9]) == 0.0
    assert auc([True, False, True, False], [0.5, 0.5, 0.5, 0.5]) == 0.5
    assert auc([True, True], [0.1, 0.2]) is None and auc([False], [0.3]) is None
    assert auc([], []) is None
    rng = np.random.default_rng(5)
    gold = (rng.random(60) < 0.4).tolist()
    score = rng.integers(0, 6, 60).astype(float).tolist()  # many ties
    assert auc(gold, score) == pytest.approx(_pairwise_auc(gold, score))


def _domain_rows() -> list[Example]:
    long_complaint = "I have written before. " * 100 + "You charged me twice."
    assert len(long_complaint) > LONG_CHARS
    return [
        Example("charged twice", "d", friction=("billing",), sentiment="negative",
                intent="none", stage="billing"),
        Example("parcel late", "d", friction=("delivery",), sentiment="negative",
                intent="none", stage="usage"),
        Example("all good", "d", friction=(), sentiment="positive", intent="none",
                stage="usage"),
        Example("close my account", "d", friction=(), sentiment="neutral", intent="explicit",
                stage="support"),
        Example("what is the exit fee", "d", friction=(), sentiment="neutral",
                intent="at_risk", stage="renewal"),
        Example(long_complaint, "d", presence=True, sentiment="negative"),
    ]


def test_measure_on_a_hand_made_domain():
    rows = _domain_rows()
    p = Predictions(
        present=[True, False, True, False, False, False],
        categories=[("billing",), (), ("service",), (), (), ()],
        negative=np.array([0.9, 0.2, 0.3, 0.1, 0.1, 0.8]),
        intent=["none", "none", "none", "explicit", "explicit", "none"],
        stage=["billing", "usage", "support", "support", "renewal", "usage"])
    m = measure("seed", rows, p)
    # present: gold T T F F F T, predicted T F T F F F -> tp 1, fp 1, fn 2
    assert m["friction_present_f1"] == pytest.approx(2 / 5, abs=1e-4)
    assert m["long_friction_found"] == 0.0 and m["long_rows"] == 1.0
    # categories (rows 0-4): billing F1 1, delivery F1 0 -> macro over the gold ones 0.5
    assert m["friction_category_macro_f1"] == pytest.approx(0.5)
    # negative: gold rows 0, 1, 5 vs 2, 3, 4; scores 0.9 0.2 0.8 vs 0.3 0.1 0.1 -> 8/9
    assert m["sentiment_auc"] == pytest.approx(round(8 / 9, 4))
    # explicit: tp 1 fp 1 -> 2/3; any risk: gold rows 3, 4 both predicted -> 1
    assert m["explicit_f1"] == pytest.approx(round(2 / 3, 4))
    assert m["churn_risk_f1"] == 1.0
    assert m["stage_accuracy"] == pytest.approx(round(4 / 5, 4))
    # a domain not labelled by category gets no category measure; a system without a task
    # gets no measure of it
    assert "friction_category_macro_f1" not in measure("telecom", rows, p)
    vader = measure("seed", rows, Predictions(present=p.present, negative=p.negative))
    assert set(vader) == {"friction_present_f1", "long_friction_found", "long_rows",
                          "sentiment_auc"}


def test_adaptation_rows_take_at_most_8_per_label_from_the_training_split_only():
    def rows(split: str, n: int) -> list[Example]:
        out = []
        for i in range(n):
            out.append(Example(f"{split} bill {i}", "r", split, friction=("billing",)))
            out.append(Example(f"{split} waiter {i}", "r", split, friction=("service",)))
            out.append(Example(f"{split} fine {i}", "r", split, friction=()))
            out.append(Example(f"{split} meh {i}", "r", split, presence=True))
        return out

    dom = Domain("restaurant", rows("train", 12), rows("test", 12))
    picked = adaptation_rows(dom)
    assert all(e.split == "train" for e in picked) and len(set(picked)) == len(picked)
    by = {}
    for e in picked:
        key = e.friction[0] if e.friction else "none"
        by[key] = by.get(key, 0) + 1
    assert by == {"billing": ADAPT_ROWS_PER_LABEL, "service": ADAPT_ROWS_PER_LABEL,
                  "none": ADAPT_ROWS_PER_LABEL}
    assert adaptation_rows(Domain("restaurant", list(reversed(dom.train)), dom.test)) == picked
    # a domain without categories: 8 with friction, 8 without
    weak = Domain("telecom", rows("train", 12), rows("test", 12))
    got = adaptation_rows(weak)
    assert all(e.split == "train" for e in got)
    assert sum(bool(e.friction_present) for e in got) == ADAPT_ROWS_PER_LABEL
    assert sum(e.friction_present is False for e in got) == ADAPT_ROWS_PER_LABEL
    # fewer rows than 8 for a label: all of them
    few = Domain("restaurant", rows("train", 3), [])
    assert len(adaptation_rows(few)) == 9
    # another draw: other rows, the same counts, still training rows only
    other = adaptation_rows(dom, 1)
    assert other != picked and len(other) == len(picked)
    assert all(e.split == "train" for e in other)


def test_capped_is_deterministic_and_order_free():
    rows = [Example(f"text {i}", "d") for i in range(50)]
    a = capped(rows, 10)
    assert len(a) == 10 and a == capped(list(reversed(rows)), 10)
    assert capped(rows, None) == rows and capped(rows, 100) == rows


def test_training_pool_leaves_out_the_held_out_domain_and_foreign_sets():
    def dom(name: str) -> Domain:
        return Domain(name, [Example(f"{name} train", name, "train", intent="none")],
                      [Example(f"{name} test", name, "test", intent="none")])

    domains = {n: dom(n) for n in ("banking77", "restaurant", "apps", "seed", "rail_de")}
    tax = [Example("taxonomy row", "taxonomy", intent="none")]
    pool = training_pool(domains, tax, exclude="restaurant")
    assert [e.text for e in pool] == ["taxonomy row", "banking77 train", "apps train",
                                      "seed train"]
    assert len(training_pool(domains, tax)) == 5


def test_run_eval_holds_out_each_domain_and_reports_every_system(tmp_path, monkeypatch):
    """``churn-detector eval`` end to end on the seed set alone (no ../shared/data), with
    the recipes of a model folder over the hashing encoder."""
    import json

    import models
    from models.evalrun import run_eval

    write_model_folder(tmp_path / "m")
    monkeypatch.setattr(models, "bundled_artifacts", lambda: tmp_path / "m")
    result = run_eval(None, tmp_path / "report", tmp_path / "cache")
    assert result["protocol"] == "leave-one-domain-out" and result["default_path"] == "static"
    assert set(result["domains"]) == {"seed"}
    seed = result["domains"]["seed"]
    assert set(seed["systems"]) == {"transformer", "static", "cascade", "vader", "keywords",
                                    "zero_shot"}
    assert 0.0 <= seed["cascade_routed"] <= 1.0
    # held out: trained on the taxonomy examples only, never on the seed rows it scores
    from models.classifier import load_taxonomy
    from models.train import taxonomy_examples

    assert seed["training_rows"] == len(taxonomy_examples(load_taxonomy()))
    for m in ("friction_present_f1", "explicit_f1", "sentiment_auc"):
        assert 0.0 <= seed["systems"]["static"][m] <= 1.0, m
    assert result["macro"]["static"] == {k: v for k, v in seed["systems"]["static"].items()
                                         if k in result["macro"]["static"]}
    assert json.loads((tmp_path / "report/eval.json").read_text())["domains"].keys() == {"seed"}
    assert "seed" in (tmp_path / "report/eval.md").read_text()


def test_run_eval_adapts_a_held_out_real_domain_on_several_draws(tmp_path, monkeypatch):
    """The ``+8/label`` column is the mean over ADAPT_DRAWS draws of the adaptation rows,
    each draw kept in the report."""
    import models
    import models.evalrun as evalrun
    from models.datasets import load_seed
    from models.lodo import ADAPT_DRAWS

    write_model_folder(tmp_path / "m")
    monkeypatch.setattr(models, "bundled_artifacts", lambda: tmp_path / "m")
    seed = load_seed()
    labelled = [e for e in seed if e.friction is not None]
    apps = Domain("apps", [replace(e, source="apps") for e in labelled[::2]],
                  [replace(e, source="apps", split="test") for e in labelled[1::2]])
    domains = {"apps": apps, "seed": Domain("seed", seed, seed)}
    monkeypatch.setattr(evalrun, "load_domains", lambda root, s, limit=None: domains)
    result = evalrun.run_eval(None, tmp_path / "report", tmp_path / "cache")
    entry = result["domains"]["apps"]
    draws = entry["adaptation_draws"]
    assert len(draws) == ADAPT_DRAWS and entry["adaptation_rows"] == 2 * ADAPT_ROWS_PER_LABEL
    adapted = entry["systems"]["static+8/label"]
    for m, v in adapted.items():
        assert v == pytest.approx(sum(d[m] for d in draws) / len(draws), abs=1e-4), m
    assert "3 draws" in (tmp_path / "report/eval.md").read_text()
