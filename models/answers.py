"""Answers that say nothing: a survey field or a call turn of only "N/A", "No comments.",
"Nope, that's it.", "No issues", "It was fine.".

The heads read such answers as complaints ("No comments." service and product friction at
-0.95 sentiment; a balance-check call read friction from its closing "Nope, that's it.").
:func:`models.recipe.score_texts` scores a piece that is one as saying nothing, as it does a
piece of only links and handles (docs/models.md, "Nothing to read").
"""

from __future__ import annotations

import re

#: answers with no content: nothing to add, no comment, not applicable, no, don't know
_CONTENTLESS = (
    r"n\s*/\s*a", r"n\.?\s*a\.?", r"none", r"nil",
    r"((i\s+have|i'?ve\s+got)\s+)?nothing(\s+(else|more|further|in\s+particular|specific))?"
    r"(\s+(to\s+(add|say|report|mention|declare|share)|comes\s+to\s+mind|i\s+can\s+think\s+of))?",
    r"((i\s+have|i'?ve\s+got)\s+)?no\s+(further\s+)?(comments?|suggestions?)",
    r"not\s+applicable", r"no", r"nope", r"nah", r"no\s+thank\s+you", r"no\s+thanks",
    r"(i\s+)?(don'?t|do\s+not)\s+know", r"idk", r"dunno", r"no\s+idea",
    r"(i\s+)?(can'?t|cannot)\s+think\s+of\s+anything", r"not\s+that\s+i\s+can\s+think\s+of",
    r"not\s+(at\s+the\s+moment|at\s+this\s+time|right\s+now|now|today)",
    r"that('?s|\s+is)\s+(it|all|everything)", r"no\s+(other|more|further)\s+(questions?|comments?)",
)
#: answers that say there is no problem: no issues, all good, it was fine
_NO_PROBLEM = (
    r"no\s+(issues?|problems?|complaints?|concerns?)(\s+at\s+all)?", r"nothing\s+wrong",
    r"nothing\s+to\s+complain\s+about", r"all\s+(good|fine|ok|okay|well|sorted)",
    r"(it|everything|all|that)('s|\s+is|\s+was|\s+has\s+been)\s+(fine|good|ok|okay|all\s+good)",
    r"(i'?m|i\s+am|we'?re|we\s+are)\s+(good|fine|ok|okay|all\s+good|sorted)", r"fine",
    r"sorted",
)
#: words an empty answer may carry around its units
_AROUND = (r"thanks", r"thank\s+you", r"thx", r"ty", r"cheers", r"ta", r"many\s+thanks",
           r"for\s+now", r"today", r"at\s+the\s+moment", r"at\s+this\s+time", r"so\s+far",
           r"really", r"at\s+all", r"mate", r"um+", r"erm+", r"er", r"uh", r"well", r"oh", r"ok",
           r"okay", r"yes", r"yeah", r"yep", r"yup")
_SEP = r"(?:[\s,.;:!?…–—-]+|\s+and\s+)"
_UNIT = "(?:" + "|".join(_NO_PROBLEM + _CONTENTLESS) + ")"
_ITEM = "(?:" + "|".join(_NO_PROBLEM + _CONTENTLESS + _AROUND) + ")"
_FILL = "(?:" + "|".join(_AROUND) + ")"
#: one to a few units (at least one), joined by punctuation or "and", with the words around
EMPTY_ANSWER = re.compile(rf"{_SEP}?(?:{_FILL}{_SEP})*{_UNIT}(?:{_SEP}{_ITEM})*{_SEP}?")
#: longer pieces are never read as one
MAX_WORDS = 12


def empty_answer(text: str) -> bool:
    """Whether ``text`` (a piece's plain words) is only an answer that says nothing, or that
    there is no problem (:data:`EMPTY_ANSWER`); "not really", "no, still broken", "nothing
    works" and "fine, whatever" say something."""
    if len(text) > 120 or len(text.split()) > MAX_WORDS:
        return False
    return EMPTY_ANSWER.fullmatch(text.strip().lower().replace("’", "'")) is not None
