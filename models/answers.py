"""Talk that says nothing: an answer of only "N/A", "No comments.", "Nope, that's it.",
"No issues", "It was fine." (:func:`empty_answer`), and, inside a conversation, greetings,
farewells, thanks and acknowledgements: "Bye.", "Mm-hmm.", "Sorry, can you repeat that?"
(:func:`phatic`).

The heads read such pieces as complaints or worse ("No comments." service and product
friction at -0.95 sentiment; a billing call whose last turn is "Bye." an explicit request
to leave). :func:`models.recipe.score_texts` scores a piece that is one as saying nothing,
as it does a piece of only links and handles (docs/models.md, "Talk that says nothing").
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


def _answer(units: tuple[str, ...], around: tuple[str, ...]) -> re.Pattern[str]:
    """One to a few ``units`` (at least one), joined by punctuation or "and", with the
    words ``around`` them."""
    unit, fill = "(?:" + "|".join(units) + ")", "(?:" + "|".join(around) + ")"
    item = "(?:" + "|".join(units + around) + ")"
    return re.compile(rf"{_SEP}?(?:{fill}{_SEP})*{unit}(?:{_SEP}{item})*{_SEP}?")


EMPTY_ANSWER = _answer(_NO_PROBLEM + _CONTENTLESS, _AROUND)
#: greetings, farewells, thanks, acknowledgements, holding and hearing: a turn of these
#: only is talk about the talk
_PHATIC = (
    r"hi", r"hello", r"hey", r"hiya", r"good\s+(morning|afternoon|evening)", r"morning",
    r"afternoon",
    r"bye(\s+bye)?", r"good\s*-?\s*bye", r"see\s+(you|ya)(\s+(later|soon))?", r"take\s+care",
    r"have\s+a\s+(good|nice|great|lovely)\s+(day|evening|weekend|one|night|afternoon)",
    r"(talk|speak)\s+(to\s+you\s+)?soon", r"all\s+the\s+best", r"you\s+too",
    r"thank\s+you(\s+(so|very)\s+much)?", r"thanks\s+(so|very)\s+much", r"much\s+appreciated",
    r"(i\s+)?appreciate\s+it", r"that'?s\s+(great|perfect|brilliant|lovely|helpful)",
    r"yes(\s+please)?", r"yeah", r"yep", r"yup", r"ok", r"okay", r"sure", r"right", r"alright",
    r"all\s+right", r"mm+", r"m?hm+", r"mm-?hm+", r"uh[\s-]?huh", r"i\s+see", r"got\s+it",
    r"understood", r"fair\s+enough", r"sounds\s+good", r"go\s+on", r"go\s+ahead", r"of\s+course",
    r"no\s+worries", r"great", r"perfect", r"lovely", r"brilliant", r"cool", r"cheers",
    r"(yes,?\s+)?(that|it)'?s\s+me", r"speaking",
    r"one\s+(moment|second|sec)", r"hold\s+on", r"just\s+a\s+(moment|sec|second|minute)",
    r"sorry", r"pardon", r"(can|could)\s+you\s+(repeat|say)\s+that(\s+again)?",
    r"say\s+that\s+again", r"come\s+again", r"can\s+you\s+hear\s+me", r"are\s+you\s+there",
)
#: phatic talk, empty answers included (every empty answer is one: its units and words
#: around are a part of these)
PHATIC = _answer(_PHATIC + _NO_PROBLEM + _CONTENTLESS,
                 _AROUND + (r"then", r"just", r"please", r"again", r"there", r"so"))
#: longer pieces are never read as one
MAX_WORDS = 12


def empty_answer(text: str) -> bool:
    """Whether ``text`` (a piece's plain words) is only an answer that says nothing, or that
    there is no problem (:data:`EMPTY_ANSWER`); "not really", "no, still broken", "nothing
    works" and "fine, whatever" say something."""
    return _whole(EMPTY_ANSWER, text)


def phatic(text: str) -> bool:
    """Whether ``text`` (a piece's plain words) is only talk about the talk: greetings,
    farewells, thanks, acknowledgements, holding and hearing ("Bye.", "Okay, thanks, bye.",
    "Mm-hmm.", "Sorry, can you repeat that?"), or an empty answer. Read inside a
    conversation only: a lone "Bye @Netflix" may say the writer leaves."""
    return _whole(PHATIC, text)


def _whole(pattern: re.Pattern[str], text: str) -> bool:
    """Whether all of ``text`` (lower-cased, "'" for "’") matches; a text over
    :data:`MAX_WORDS` words or 120 characters is refused before the pattern runs."""
    if len(text) > 120 or len(text.split()) > MAX_WORDS:
        return False
    return pattern.fullmatch(text.strip().lower().replace("’", "'")) is not None
