"""The writer says this is not the first contact about it (models/repeats.py)."""

from __future__ import annotations

import numpy as np

from models.classifier import apply_rules
from models.pieces import sentence_around
from models.recipe import Recipe, score_texts
from models.repeats import says_repeat
from tests.models.rule_fixtures import assert_gates_hide_no_match, fixture_rows, fixture_texts
from tests.models.test_recipe import CountingEncoder, KeywordHeads


def test_repeat_contacts_are_found_and_their_near_misses_are_not():
    """Own rows the patterns were written against (40 / 30: "Third time contacting you about
    the double charge.", "As I said in my last email, ..."; "This is the third time I've
    ordered from you and it's always perfect", "I'll call again tomorrow if it's not
    working") and rows written after they were frozen (22 / 17)."""
    for name, at_least in (("repeat_contact.jsonl", 40), ("repeat_contact_later.jsonl", 20)):
        rows = fixture_rows(name)
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

    texts = fixture_texts("repeat_contact.jsonl", "repeat_contact_later.jsonl")
    texts += ["FOR THE 3RD TIME, the app logs me out.", "how many more times do i have to ask"]
    assert_gates_hide_no_match(monkeypatch, repeats, "says_repeat", texts, 62,
                               tables=("REPEAT_CUES",))
