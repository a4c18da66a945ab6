"""Cue lists for explicit requests to leave in de, es, fr, it, nl, pt (models.multilingual),
measured on own rows written before the cue lists (tests/models/fixtures/)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from models.multilingual import LANGUAGES, LeavingCue, detect_leaving_request

FIXTURE = Path(__file__).parent / "fixtures" / "leaving_multilingual.jsonl"


def _rows() -> list[dict[str, str]]:
    return [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def _by_language(label: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for row in _rows():
        if row["label"] == label:
            out[row["lang"]].append(row["text"])
    return out


def test_fixture_has_enough_varied_rows_per_language():
    explicit, none = _by_language("explicit"), _by_language("none")
    for lang in LANGUAGES:
        assert len(explicit[lang]) >= 25 and len(none[lang]) >= 12, lang
        assert len(set(explicit[lang])) == len(explicit[lang])


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_explicit_requests_to_leave_are_caught_with_their_language(lang):
    texts = _by_language("explicit")[lang]
    cues = [detect_leaving_request(t) for t in texts]
    found = [(t, c) for t, c in zip(texts, cues, strict=True) if c is not None]
    assert len(found) / len(texts) >= 0.80, [t for t, c in zip(texts, cues, strict=True) if not c]
    for text, cue in found:
        assert cue.phrase and cue.phrase in text
    assert sum(c.language == lang for _, c in found) / len(found) >= 0.90


LATER = Path(__file__).parent / "fixtures" / "leaving_multilingual_later.jsonl"


def test_rows_written_after_the_lists_are_caught_and_their_negatives_left():
    """Requests and hard negatives per language written after the lists (see
    tests/models/test_models_real.py for how they were used)."""
    rows = [json.loads(line) for line in LATER.read_text("utf-8").splitlines() if line.strip()]
    assert {r["lang"] for r in rows} == set(LANGUAGES)
    wrong = [r["text"] for r in rows
             if (detect_leaving_request(r["text"]) is not None) != (r["label"] == "explicit")]
    assert not wrong, wrong


@pytest.mark.parametrize("text", [
    "Ich kündige meinen Vertrag nicht.",
    "Ik zeg mijn abonnement niet op.",
    "Je résilie pas mon contrat.",
    "Ik wil niet opzeggen.",
    "Ich will nicht kündigen, nur pausieren.",
])
def test_a_negation_after_the_verb_turns_it_around(text):
    assert detect_leaving_request(text) is None


@pytest.mark.parametrize("text", [
    "Ik wil de sportoptie opzeggen, de rest van het abonnement houd ik.",
    "Ich möchte die Zusatzoption kündigen.",
    "Mein Vertrag wird bald auslaufen, was kostet die Verlängerung?",
])
def test_wanting_to_cancel_an_option_is_not_leaving(text):
    assert detect_leaving_request(text) is None


@pytest.mark.parametrize(("text", "language"), [
    ("Ich möchte kündigen.", "de"),
    ("ik wil opzeggen", "nl"),
    ("Desidero recedere dal contratto.", "it"),
])
def test_a_bare_wish_to_leave_is_caught(text, language):
    cue = detect_leaving_request(text)
    assert cue is not None and cue.language == language


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_hard_negatives_are_rarely_flagged(lang):
    texts = _by_language("none")[lang]
    flagged = [t for t in texts if detect_leaving_request(t) is not None]
    assert len(flagged) / len(texts) <= 0.10, flagged


def test_english_text_is_left_to_the_english_models():
    for row in _rows():
        if row["lang"] == "en":
            assert detect_leaving_request(row["text"]) is None, row["text"]


def test_the_issue_examples_are_caught():
    assert detect_leaving_request("Ich kündige meinen Vertrag zum Monatsende.") == LeavingCue(
        "de", "kündige meinen Vertrag")
    assert detect_leaving_request("Quiero cancelar mi suscripción ya.") == LeavingCue(
        "es", "cancelar mi suscripción")
    assert detect_leaving_request("je veux résilier mon abonnement") == LeavingCue(
        "fr", "résilier mon abonnement")


def test_matching_ignores_accents_and_case_but_returns_the_original_span():
    cue = detect_leaving_request("JE VEUX RESILIER MON ABONNEMENT")
    assert cue is not None and cue.phrase == "RESILIER MON ABONNEMENT"
    cue = detect_leaving_request("Bitte beëndigen Sie meinen Straßenbahn-Abovertrag sofort.")
    assert cue is not None and cue.language == "de" and "Abovertrag" in cue.phrase


@pytest.mark.parametrize("text", [
    "Je ne veux pas résilier mon contrat, juste changer d'adresse.",
    "Ich will meinen Vertrag nicht kündigen, nur pausieren.",
    "No quiero cancelar mi cuenta, solo cambiar el correo.",
    "Wat kost het als ik mijn abonnement opzeg?",
    "Quanto costa la penale se disdico il contratto?",
    "Je veux annuler ma commande, pas mon abonnement.",
    "Quiero darme de baja del boletín de noticias.",
])
def test_negations_fee_questions_and_orders_are_not_requests_to_leave(text):
    assert detect_leaving_request(text) is None


def test_empty_and_non_latin_text_gives_none():
    assert detect_leaving_request("") is None
    assert detect_leaving_request("   ") is None
    assert detect_leaving_request("ок, спасибо") is None


def _fold_reference(text: str) -> tuple[str, list[int]]:
    """Per character: NFKD, drop combining marks, casefold; each output character's index."""
    import unicodedata

    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        base = "".join(c for c in unicodedata.normalize("NFKD", ch)
                       if not unicodedata.combining(c)).casefold()
        chars.extend(base)
        origin.extend([i] * len(base))
    return "".join(chars), origin


def test_folding_with_the_ascii_fast_path_and_the_memo_is_the_per_character_fold(monkeypatch):
    import random

    from models import multilingual

    texts = [row["text"] for row in _rows()] + [
        "", "ASCII only, Kündigung? ﬁn ß İstanbul ſ Ǆ ½ ㎏ e\u0301 \u0301", "ÉÈÊ àâç ÔÛÎ ïüöä"]
    rng = random.Random(2)
    alphabet = "aZ .,!ß\u0130\u017f\ufb01\u01c4\u00bd\u338f\u0301éÅñøŁ日本\u2028"
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
              for _ in range(3000)]
    monkeypatch.setattr(multilingual, "_FOLDED_MAX", 7)  # the memo starts over, often
    for text in texts:
        assert multilingual._fold(text) == _fold_reference(text), repr(text)
