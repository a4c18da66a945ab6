"""The writer says this is not the first contact about it (models/repeats.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from models.classifier import apply_rules
from models.pieces import sentence_around
from models.recipe import Recipe, score_texts
from models.repeats import says_repeat
from tests.models.test_recipe import CountingEncoder, KeywordHeads

FIXTURES = Path(__file__).parent / "fixtures"


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / name).read_text("utf-8").splitlines()]


def test_repeat_contacts_are_found_and_their_near_misses_are_not():
    """Own rows the patterns were written against (40 / 30: "Third time contacting you about
    the double charge.", "As I said in my last email, ..."; "This is the third time I've
    ordered from you and it's always perfect", "I'll call again tomorrow if it's not
    working") and rows written after they were frozen (22 / 17)."""
    for name, at_least in (("repeat_contact.jsonl", 40), ("repeat_contact_later.jsonl", 20)):
        rows = _rows(name)
        said = [says_repeat(r["text"]) for r in rows]
        assert [r["text"] for r, s in zip(rows, said, strict=True)
                if s is not None and not r["repeat"]] == []
        found = sum(s is not None for r, s in zip(rows, said, strict=True) if r["repeat"])
        assert found >= at_least
        assert all(s is None or s in r["text"] for r, s in zip(rows, said, strict=True))


def test_the_sentence_that_says_it_is_quoted_from_the_customer_lines_only():
    assert says_repeat("Hi. I've called twice about this already. My router is dead.") == (
        "I've called twice about this already.")
    assert says_repeat("Agent: As I said before, we close at six.\nCustomer: OK thanks.") is None
    # a hard-wrapped complaint: the line break inside the sentence does not cut the quote
    wrapped = "The box failed again. I\n called again and explained it all to another rep."
    assert says_repeat(wrapped) == "I\n called again and explained it all to another rep."
    assert says_repeat("For the 3rd time, the app logs me out.") == (
        "For the 3rd time, the app logs me out.")


def test_sentence_around_joins_wrapped_lines_not_turns_or_paragraphs():
    text = "I was told\nthat it would be fixed. Then\nAgent: hello\n\nnew paragraph here."
    assert sentence_around(text, 2) == (0, len("I was told\nthat it would be fixed."))
    at = text.index("Agent")
    assert text[slice(*sentence_around(text, at))] == "Agent: hello"


def test_apply_rules_reads_repeats_and_escalations_of_english_texts_without_changing_scores():
    texts = ["I've called three times about this.", "He llamado tres veces.",
             "All good. I will report you to Ofcom."]
    scores = score_texts(texts, CountingEncoder(), KeywordHeads(),  # type: ignore[arg-type]
                         Recipe("static", "hashing", None))
    before = scores.intent.copy()
    read = apply_rules(texts, scores, [True, False, True], [None] * 3, leaving_cues=False)
    assert read.repeats == ["I've called three times about this.", None, None]
    assert read.escalations == [None, None, "I will report you to Ofcom."]
    assert np.array_equal(scores.intent, before)


def test_the_repeat_gates_let_every_match_through(monkeypatch):
    """Each pattern runs only on texts holding a word of each of its gate's sets: the same
    answers as running every pattern on every text."""
    import models.repeats as repeats

    texts = [r["text"] for name in ("repeat_contact.jsonl", "repeat_contact_later.jsonl")
             for r in _rows(name)]
    texts += ["FOR THE 3RD TIME, the app logs me out.", "how many more times do i have to ask"]
    gated = [says_repeat(t) for t in texts]
    assert sum(g is not None for g in gated) >= 62
    monkeypatch.setattr(repeats, "REPEAT_CUES",
                        tuple(((), p) for _, p in repeats.REPEAT_CUES))
    assert [repeats.says_repeat(t) for t in texts] == gated
