"""Light language detection: is a text English? (stop-word and script heuristics, no deps)."""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_STOP = {
    "en": set("the and to i my is it of you for in not this on with have was me be are can your "
              "please but so just what how an at am we our no yes will".split()),
    "es": set("el la los las que de y en un una por para con no es mi su se lo muy pero más "
              "como está estoy quiero gracias".split()),
    "fr": set("le la les des et est un une je ne pas pour avec mon ma mes vous que qui sur "
              "très mais merci suis veux".split()),
    "de": set("der die das und ist nicht ich mein meine sie mit für auf ein eine zu den dem "
              "bitte danke aber sehr kein wie aus auch noch nur schon wir oder wenn dass kann "
              "mir mich uns vom zum zur weil möchte haben habe".split()),
    "pt": set("o os que de e em um uma não é meu minha para com por muito mas obrigado da das "
              "dos na ao seu sua você vocês já mais pelo pela isso meus minhas "
              "quero estou".split()),
    "it": set("il lo la gli le che di e un una non è mio mia per con sono ma molto grazie "
              "voglio".split()),
    "nl": set("de het een en is niet ik mijn met voor op van dat maar zeer bedankt wil".split()),
}


def detect_language(text: str) -> str:
    """Best guess of the text's language code (``en``, ``es``, ...; ``und`` if unsure)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return "und"
    if sum(1 for c in letters if c.isascii() or c in "éèêàâçôûîïüöäßñóíúãõ") / len(letters) < 0.6:
        return "und"  # non-Latin script
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return "und"
    scores = {lang: sum(1 for w in words if w in stop) for lang, stop in _STOP.items()}
    best = max(scores, key=lambda k: (scores[k], k == "en"))
    if scores[best] == 0:
        return "en"  # short texts without stop words: assume English
    if scores["en"] >= scores[best]:
        return "en"
    return best


def english_by_default(text: str) -> bool:
    """Whether :func:`detect_language` says English only because the text holds no stop word
    of any language it knows ("Desidero recedere dal contratto.")."""
    return not any(w.lower() in stop for w in _WORD.findall(text) for stop in _STOP.values())


def is_english(text: str, declared: str | None = None) -> bool:
    """The event's declared language wins; otherwise the heuristic decides."""
    if declared:
        return declared.lower().startswith("en")
    return detect_language(text) == "en"
