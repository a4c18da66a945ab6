"""The writer says a failure keeps happening (models/recurring.py, models.classifier)."""

from __future__ import annotations

import numpy as np

from models.classifier import apply_rules
from models.recipe import Recipe, score_texts
from models.recurring import recurrence, says_recurring
from tests.models.rule_fixtures import assert_gates_hide_no_match, fixture_rows, fixture_texts
from tests.models.test_recipe import CountingEncoder, KeywordHeads

#: development rows, then the rows of each version's count (docs/models.md)
FIXTURES = ("recurring_problem.jsonl", "recurring_problem_later.jsonl",
            "recurring_problem_final.jsonl", "recurring_problem_final2.jsonl",
            "recurring_problem_final3.jsonl")


def test_recurrences_are_read_and_near_misses_are_not_named_failures():
    """Every near miss ("Thanks again", "I'll try again tomorrow", "Please don't let the
    parcel be late again", "Will fly again.") reads no named failure; most recurrences are
    found by the text alone (the rest need the models' reading: the model tier counts)."""
    rows = fixture_rows(*FIXTURES)
    assert [r["text"] for r in rows if not r["recurring"] and says_recurring(r["text"])] == []
    found = [recurrence(r["text"]) for r in rows if r["recurring"]]
    assert sum(f is not None for f in found) >= 95
    assert sum(f is not None and f[1] for f in found) >= 80
    assert all(f is None or f[0] in r["text"]
               for f, r in zip(found, [r for r in rows if r["recurring"]], strict=True))


def test_the_quoted_sentence_and_what_is_not_a_recurrence():
    assert says_recurring("Hi there. @FoodDash order late again, 70 mins") == (
        "@FoodDash order late again, 70 mins")
    assert recurrence("Our Wi-Fi goes off every night at about 11.") == (
        "Our Wi-Fi goes off every night at about 11.", False)  # the models decide
    for text in ("Will the parcel be late again this week?", "It wasn't late again, nice one.",
                 "I missed the delivery again, my fault.", "Never ordering again.",
                 "Agent: Sorry it happened again.\nCustomer: No worries.",
                 "If this happens again I'd like to know who to call.",
                 "Back again. Same issue, fourth contact.", "I'm back again about the router.",
                 # "everything" ends in -ing: read as "keeps crashing" was
                 "I want to cancel the extra data bolt-on, keep everything else.",
                 "The belt keeps everything in place."):
        assert recurrence(text) is None, text
    assert says_recurring("The phone keeps ringing at 3am.") == "The phone keeps ringing at 3am."
    assert says_recurring("The fault is back again.") == "The fault is back again."
    assert says_recurring("Why is it always late?") == "Why is it always late?"


def test_apply_rules_reads_an_unnamed_recurrence_only_where_the_models_read_a_problem():
    texts = ["Our Wi-Fi goes off every night.", "Our Wi-Fi goes off every night.",
             "Order late again.", "Pedido tarde otra vez."]
    scores = score_texts(texts, CountingEncoder(), KeywordHeads(),  # type: ignore[arg-type]
                         Recipe("static", "hashing", None))
    scores.friction_labels[0] = ()
    scores.sentiment[0] = [0.1, 0.8, 0.1]
    scores.friction_labels[1] = ("service",)
    before = scores.intent.copy()
    read = apply_rules(texts, scores, [True, True, True, False], [None] * 4,
                       leaving_cues=False)
    assert read.recurring == [None, "Our Wi-Fi goes off every night.", "Order late again.", None]
    assert np.array_equal(scores.intent, before)


def test_the_recurrence_gates_let_every_match_through(monkeypatch):
    import models.recurring as recurring

    texts = fixture_texts(*FIXTURES) + ["FOR THE 3RD TIME in a month it failed.",
                                        "Down AGAIN. Every. Single. Time."]
    assert_gates_hide_no_match(monkeypatch, recurring, "says_recurring", texts, 80,
                               tables=("RECURS_CUES", "RECURS_IF_FAILURE_CUES"))
