"""The writer asks to trade down (models/downgrades.py)."""

from __future__ import annotations

import numpy as np

from models.classifier import apply_rules
from models.downgrades import asks_downgrade
from models.recipe import Recipe, score_texts
from tests.models.rule_fixtures import assert_gates_hide_no_match, fixture_rows, fixture_texts
from tests.models.test_recipe import CountingEncoder, KeywordHeads


def test_requests_to_trade_down_are_found_and_their_near_misses_are_not():
    """Own rows the patterns were written against (40 / 30: "Can you move me to the
    cheapest plan please?", "Please remove the sports add-on and the extra line.", "Is there
    anything cheaper you can offer?"; "I'd like to upgrade to the premium plan.", "How do I
    downgrade the app to the previous version?", "Please remove the wrong charge from my
    bill.") and rows written after they were frozen (22 / 17)."""
    for name, at_least in (("downgrade.jsonl", 40), ("downgrade_later.jsonl", 18)):
        rows = fixture_rows(name)
        said = [asks_downgrade(r["text"]) for r in rows]
        assert [r["text"] for r, s in zip(rows, said, strict=True)
                if s is not None and not r["downgrade"]] == []
        found = sum(s is not None for r, s in zip(rows, said, strict=True) if r["downgrade"])
        assert found >= at_least, (name, found)
        assert all(s is None or s in r["text"] for r, s in zip(rows, said, strict=True))


def test_the_request_is_quoted_and_the_company_s_doing_or_an_agent_s_offer_is_not_one():
    assert asks_downgrade("The bill went up again. Can I switch to a cheaper tariff?") == (
        "Can I switch to a cheaper tariff?")
    for text in ("You downgraded my speed without asking.",
                 "I was moved to a cheaper plan by mistake, please restore my old one.",
                 "Agent: Would you like to move to a cheaper plan?\nCustomer: No thanks.",
                 "Help me cancel my premium membership please.",  # leaving, not trading down
                 "Moving to the cheaper competitor when this month ends.",
                 "Can you reduce the number of emails you send me?",
                 "Remove the extra cheese from my order."):  # an item, not an extra
        assert asks_downgrade(text) is None, text


def test_apply_rules_reads_downgrades_of_english_texts_without_changing_scores():
    texts = ["Please remove the sports add-on.", "Quiero un plan más barato.", "All good."]
    scores = score_texts(texts, CountingEncoder(), KeywordHeads(),  # type: ignore[arg-type]
                         Recipe("static", "hashing", None))
    before = scores.intent.copy()
    read = apply_rules(texts, scores, [True, False, True], [None] * 3, leaving_cues=False)
    assert read.downgrades == ["Please remove the sports add-on.", None, None]
    assert np.array_equal(scores.intent, before)


def test_the_downgrade_gates_let_every_match_through(monkeypatch):
    """Each pattern runs only on texts holding a word of each of its gate's sets: the same
    answers as running every pattern on every text."""
    import models.downgrades as downgrades

    texts = fixture_texts("downgrade.jsonl", "downgrade_later.jsonl")
    texts += ["Can we go down to fewer lines?", "Is there a plan that is less expensive?"]
    assert_gates_hide_no_match(monkeypatch, downgrades, "asks_downgrade", texts, 58,
                               tables=("DOWNGRADE_CUES",))
