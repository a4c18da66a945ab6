"""Idioms the models read backwards, read as what they mean.

Praise said by denying a problem reads as the problem it denies: "Can't fault it." was
product friction at -0.81 on the transformer and -0.99 on static, "Nothing to complain
about, fast delivery." delivery friction, "No complaints here, works as described." service
and product friction. A verdict against reads as praise: "Do not recommend!" +0.04 / +0.45,
"One star." +0.32 / +0.27. Rows teaching them (docs/models.md, "Said to be fixed") moved
neither path. :func:`as_meant` replaces each such idiom's words with as many words that say
it plainly ("very good", "very bad"), in what the encoder and the heads read of a piece
(:func:`models.recipe.score_texts`); the evidence quotes the text as written and the English
rules read it as written. The word count is kept, so a long text's windows still read as
its whole. docs/models.md, "Idioms read as meant".
"""

from __future__ import annotations

import re

from models.pieces import lowered

_CANT = r"(?:can'?t|cannot|can\s+not|couldn'?t|could\s+not)"
_ENOUGH = r"(?:\s+\S+){0,3}?\s+(?:highly\s+)?enough\b"  # "recommend them highly enough"
_NOT_UNTIL = r"(?!\s*,?\s*(?:until|till|before)\b)"
# Each table row: the substrings one of which the lower-cased text must hold for its
# idioms to be tried (most texts hold none: the patterns cost ten times the test), and the
# idioms. Praise by denying a problem:
_PRAISE: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("complain",), (
        # not as a sentence's subject: "No complaints were answered."
        r"no\s+complaints?(?:\s+(?:at\s+all|whatsoever))?"
        r"(?!\s+(?:were|was|are|is|have|has|had|get|got|ever|of\s+mine)\b)",
        r"not\s+a\s+(?:single\s+)?complaint", r"zero\s+complaints",
        r"nothing\s+(?:at\s+all\s+)?to\s+complain(?:\s+about)?",
        rf"{_CANT}\s+complain(?!\s+enough)")),
    (("fault",), (rf"{_CANT}\s+fault",)),
    (("happier", "more "), (rf"{_CANT}\s+be\s+(?:happier|more\s+(?:pleased|satisfied|happy))",)),
    (("good things",), (r"(?:can'?t|cannot)\s+say\s+enough\s+good\s+things",)),
    (("recommend",), (rf"(?:can'?t|cannot)\s+recommend{_ENOUGH}",)),
    (("disappoint",), (
        r"(?:not|never|didn'?t|did\s+not|doesn'?t|does\s+not|won'?t|will\s+not|wasn'?t|"
        r"was\s+not|weren'?t|were\s+not)(?:\s+be)?\s+disappoint(?:ed|s)?",)),
    # said of the thing, not "not bad service, it's the price"
    (("bad",), (r"not\s+(?:too\s+|half\s+)?bad(?:\s+at\s+all)?(?=\s*(?:[.!,;:)]|$|\s+(?:for|"
                r"considering|given|either|overall|really|though|but|and|value|quality)\b))",)),
    (("wrong",), (r"(?:can'?t|cannot|won'?t)\s+go\s+wrong",)),
    (("issue", "problem"), (
        r"no\s+(?:issues|problems)\s+(?:at\s+all|whatsoever)",
        r"never\s+had\s+(?:a|an|any)\s+(?:single\s+)?(?:problems?|issues?)",
        r"not\s+a\s+single\s+(?:problem|issue)", r"zero\s+(?:issues|problems)")),
    (("free",), (r"(?:trouble|problem|hassle)[\s-]?free",)),
    # not praise of a past that ended ("never let me down until this year"), nor a request
    # ("don't let me down again")
    (("down",), (r"(?:never|not\s+once|hasn'?t|has\s+not|haven'?t|have\s+not|didn'?t|did\s+not|"
                r"won'?t|will\s+not|doesn'?t|does\s+not)(?:\s+(?:once|ever|yet))?"
                rf"\s+lets?\s+(?:me|us|you)\s+down{_NOT_UNTIL}",)),
    (("reason",), (
        r"(?:(?:never|not\s+once|haven'?t|have\s+not|hasn'?t|has\s+not)\s+(?:had|given\s+(?:me|"
        r"us))\s+(?:a|any|one)\s+(?:single\s+)?|(?:have|had|has)\s+no\s+)reason\s+to\s+"
        r"(?:complain|look\s+elsewhere|leave|switch|go\s+elsewhere|go\s+anywhere\s+else|"
        rf"shop\s+elsewhere){_NOT_UNTIL}",)),
    (("else",), (
        r"(?:would(?:n'?t|\s+not|\s+never)|won'?t|will\s+never|'ll\s+never|never)\s+(?:go|shop|"
        r"bank|buy|eat|stay|fly|order)(?:\s+\S+){0,3}?\s+any\s?where\s+else",)),
)
_BOTTOM = r"(?:zero|0|no|one|1|a\s+single|negative|minus|less\s+than\s+(?:one|1))"
_NOT_OFF = r"(?<!off )(?<!lose )(?<!lost )(?<!deducted )(?<!minus )(?<!the )"
#: a verdict against: not recommended, keep your money, the bottom star rating
_AGAINST: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("recommend",), (
        rf"(?:do|would|will|could|can|did)(?:n'?t|\s*not|\s+never)\s+recommend(?!{_ENOUGH})",
        rf"(?:can'?t|won'?t)\s+recommend(?!{_ENOUGH})", r"not\s+recommended")),
    (("your money",), (r"save\s+your\s+money", r"(?:don'?t|do\s+not)\s+waste\s+your\s+money")),
    # "star" after a space or "-" ("start", "restart": half the bench's pieces hold "star");
    # a star rating after a rarer Unicode space is not read
    ((" star", "-star", "\nstar", "\tstar", "\rstar", "\xa0star"), (
        rf"{_NOT_OFF}{_BOTTOM}\s+stars?(?=\s*(?:[.!]|$))",
        rf"(?:give|gave|giving|rate|rated|rating)(?:\s+(?:it|this|them|him|her|the\s+\w+))?\s+"
        rf"{_BOTTOM}\s+stars?(?!\s+(?:off|less))",
        rf"{_NOT_OFF}{_BOTTOM}[\s-]stars?\s+(?:review|rating)\b")),
    (("/", "out of"), (
        r"(?<![\d.])(?:0|1|zero|one)\s*(?:/|out\s+of)\s*(?:5|10|five|ten)(?!\d|\.\d)"
        r"(?=\s*(?:stars?\b|[.!,;]|$))",)),
)
Table = tuple[tuple[tuple[str, ...], re.Pattern[str]], ...]


def _table(rows: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]) -> Table:
    return tuple((hints, _pattern(idioms)) for hints, idioms in rows)


def _pattern(idioms: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"(?<![\w'])(?:" + "|".join(idioms) + r")(?![\w'])")


PRAISE, AGAINST = _table(_PRAISE), _table(_AGAINST)
_WORD = re.compile(r"\S+")


def _said(low: str, table: Table) -> list[tuple[int, int]]:
    """The spans of ``table``'s idioms in the lower-cased ``low``, left to right, none
    overlapping."""
    spans = [m.span() for hints, pattern in table if any(map(low.__contains__, hints))
             for m in pattern.finditer(low)]
    spans.sort()
    kept: list[tuple[int, int]] = []
    for a, b in spans:
        if not kept or a >= kept[-1][1]:
            kept.append((a, b))
    return kept


def _plainly(idiom: str, word: str) -> str:
    """``idiom``'s words as "very ... very" ``word``, the spaces between them kept."""
    n = len(_WORD.findall(idiom))
    said = iter(["very"] * (n - 1) + [word])
    return _WORD.sub(lambda _: next(said), idiom)


def as_meant(text: str) -> str:
    """``text`` with each idiom of praise by denial ("can't fault it", "no complaints",
    "never disappoints") said as "very good" and each verdict against ("would not
    recommend", "one star.", "save your money") as "very bad", word for word: as many
    words as the idiom, the spaces between them kept."""
    low = lowered(text)
    praise = _said(low, PRAISE)
    found = sorted([(a, b, "good") for a, b in praise]
                   + [(a, b, "bad") for a, b in _said(low, AGAINST)
                      if not any(a < d and c < b for c, d in praise)])
    if not found:
        return text
    out, last = [], 0
    for a, b, word in found:
        out += [text[last:a], _plainly(text[a:b], word)]
        last = b
    return "".join(out) + text[last:]


def idioms_in(text: str) -> list[str]:
    """The idioms :func:`as_meant` reads in ``text``, as written, praise first."""
    low = lowered(text)
    return [text[a:b] for table in (PRAISE, AGAINST) for a, b in _said(low, table)]

