"""The writer says this is not the first contact about it: "Third time contacting you about the
double charge.", "I've already called twice.", "As I said in my last email, ...", "I was
promised a call back on Friday and no one called." English, hand-written (docs/models.md,
"Said to be a repeat contact").

The detector reads it (flag ``repeat_contact``): such a message joins the customer's open
issue thread however differently it is worded, and the alert says so.
"""

from __future__ import annotations

import re

from models.cues import GatedCues, gated_cues, open_patterns, prepared, word_start
from models.pieces import sentence_around

_DIGIT_ORDINAL = re.compile(r"\d(st|nd|rd|th)\b")
_ORDINAL = (r"(second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|\d+(st|nd|rd|th)|nth|"
            r"umpteenth|hundredth|millionth)")
_CONTACTED = (r"(contact|call|phon|ring|rang|rung|e-?mail|writ|wrote|messag|chat|rais|report|"
              r"complain|ask|explain|chas|tell|told|sen[dt]|spoke|speak)\w*")
_TIMES = (r"(twice|(three|four|five|six|ten|several|multiple|many|numerous|countless|\d+)\s+"
          r"times|a\s+(few|couple\s+of)\s+times|already|before|previously|again|last\s+(week|"
          r"month|time|night|year|monday|tuesday|wednesday|thursday|friday|saturday|sunday)|"
          r"(on|in)\s+(my|our)\s+(last|previous|first)|\w+\s+(days?|weeks?|months?)\s+ago|"
          r"on\s+the\s+\d+\w*)")
_BAD = (r"(but|not|no|never|didn'?t|wasn'?t|isn'?t|hasn'?t|haven'?t|won'?t|nothing|nobody|"
        r"no\s+one|still|wrong|late|failed|missing|broken|down|overcharg\w*|charged)")
# the same, for "again": what went wrong again (not a plain "not")
_WRONG = (r"(never|didn'?t|wasn'?t|hasn'?t|haven'?t|failed|missing|broken|down|wrong|no\s+one|"
          r"nobody|still|overcharg\w*|not\s+(arrived|turned\s+up|shown\s+up|working|fixed|"
          r"resolved|delivered))")
_I_HAVE = r"(i'?ve|i\s+have|we'?ve|we\s+have|i|we)"
# whom a contact was with: the company (you, your team, support) or about what
_WHOM = (r"((you|your(\s+\w+){1,2}|customer\s+services?|support|the\s+helpline|this\s+number|in|"
         r"someone|somebody|an?\s+(agent|advis[eo]r|rep(resentative)?|engineer|technician|manager)|"
         r"back|(a|this|the|my|that)\s+(complaint|issue|ticket|case|query|problem|fault|error|"
         r"request))\s+)?((about|regarding|re)\s+(this|it|that)\s+)?(now\s+|already\s+)?")

#: each way of saying it, tried only on a text holding a word of each of its gate's sets (most
#: texts hold none); matched on lower-cased text with "'" for "’"
_ORD = ("second third fourth fifth sixth seventh eighth ninth tenth nth umpteenth hundredth "
          "millionth #ordinal")
REPEAT_CUES: GatedCues = gated_cues((
        ((_ORD, "time"), (
            rf"\b{_ORDINAL}\s+time\s+(that\s+)?({_I_HAVE}\s+|i'?m\s+|i\s+am\s+)?(been\s+|had\s+to\s+)?"
            rf"{_CONTACTED}",
        )),
        (("for", _ORD, "time"), (
            rf"(^|[.!?]\s*)for\s+the\s+{_ORDINAL}\s+time\s*[,:]",
        )),
        (("this", _ORD), (
            rf"\bthis\s+is\s+(my|the|our)\s+{_ORDINAL}\s+(complaint|e-?mail|call|letter|message|ticket|"
            r"chat|request|attempt|(missed|failed|late|wrong|cancelled)\s+\w+)\b",
        )),
        ((_ORD, "complaint e email mail call letter message ticket chat request attempt"), (
            rf"(^|[.!?]\s*)(my\s+|our\s+)?{_ORDINAL}\s+(complaint|e-?mail|call|letter|message|ticket|"
            r"chat|request|attempt)\b",
        )),
        (("contacted called phoned rung rang emailed mailed written wrote messaged chatted "
          "complained reported raised explained asked chased spoke spoken sent phone",
          "twice times already before previously again last ago the our my"), (
            rf"\b{_I_HAVE}\s+(now\s+|already\s+|just\s+)?(been\s+on\s+the\s+phone\s+to\s+you|contacted|"
            r"called|phoned|rung|rang|e-?mailed|written(\s+to)?|wrote(\s+to)?|messaged|chatted(\s+"
            r"with)?|complained|reported|raised|explained|asked|chased|spoke(\s+to)?|spoken(\s+to)?|"
            r"sent(\s+you)?(\s+(an?|the|my|this|these))?\s+(e-?mails?|messages?|letters?|complaints?|"
            rf"documents?|details|forms?|photos?|screenshots?))\s+{_WHOM}{_TIMES}\b",
        )),
        (("already",), (
            r"\b(i|we)\s+(have\s+|'ve\s+)?already\s+(gave|given|provided|explained|told|said|"
            r"submitted|uploaded|called|contacted|e-?mailed|reported|raised|complained)\b",
        )),
        (("still",), (
            r"\bstill\s+(not|isn'?t|hasn'?t|has\s+not|haven'?t|have\s+not)\s+(been\s+)?(fixed|resolved|"
            r"sorted|solved|dealt\s+with|looked\s+at|refunded|corrected|credited)\b",
            r"\bstill\s+(no|not\s+had\s+an?|haven'?t\s+had\s+an?)\s+(reply|response|answer|call\s*back|"
            r"update|word)\b",
            r"\bstill\s+waiting\s+(for|on)\s+(a\s+|an\s+|your\s+|my\s+|the\s+)?(reply|response|answer|"
            r"call\s*back|update|someone|anyone)\b",
        )),
        (("told promised assured",), (
            r"\b(i\s+was|we\s+were|i'?ve\s+been|we'?ve\s+been|you|your\s+\w+|they|he|she|someone)\s+"
            r"(\w+\s+)?((told|promised|assured)(?!\s+by\b)\s+(me\s+|us\s+)?(that\s+)?[^.!?]{0,60}?\b(would|"
            r"will|'d|'ll|was\s+going\s+to|were\s+going\s+to|within)\b|(promised|assured)\s+(me\s+|us\s+)?"
            rf"(an?|the|my)\s+)(?=[^?]{{0,160}}?\b{_BAD}\b)",
            r"\b(told|promised|assured)\s+((me|us)\s+)?(last\s+\w+|before|previously|yesterday|on\s+the\s+"
            r"phone|\w+\s+(days?|weeks?)\s+ago)\b",
        )),
        (("as", "said told mentioned explained stated wrote"), (
            r"\bas\s+(i|we)('ve|\s+have)?\s+(said|told|mentioned|explained|stated|wrote)\s+((to\s+)?(you|"
            r"your\s+\w+)\s+)?(before|previously|in\s+(my|our)\s+(last|previous|earlier)|on\s+the\s+phone|"
            r"yesterday|last\s+\w+|already|earlier|several\s+times|many\s+times|\w+\s+times)\b",
        )),
        (("nobody one",), (
            r"\b(nobody|no\s+one|no-one)\s+(has\s+|have\s+|ever\s+|had\s+)?(got|gotten|gets|came|come|"
            r"called|rang|rung|replied|responded|contacted|bothered|returned)\b",
        )),
        (("chasing following follow",), (
            r"\b(chasing|following\s+up|follow(ing)?-up)\s+(this|up|again|on\s+(my|our|the|ticket|"
            r"case|reference|previous|earlier|last))\b",
        )),
        (("again",), (
            rf"\b(yet|once)\s+again\b(?=[^.!?]{{0,120}}\b{_WRONG}\b)",
            rf"(^|[.!?]\s*)again\s*,\s+(?=[^.!?]{{0,120}}\b{_WRONG}\b)",
            r"\b(once|yet)\s+again\s*,?\s+(i'?m|i\s+am|i\s+have|i'?ve)\s+(to\s+)?(writ|call|contact|"
            r"chas|ask|complain|report|e-?mail|messag)\w*",
            r"\b(have|had|need)\s+to\s+(explain|repeat|tell|call|chase|ask|say)\w*\s+(this\s+|it\s+|"
            r"myself\s+|you\s+)?again\b",
            r"\b(i'?m|i\s+am|we'?re|i'?ve|i\s+have)\s+(now\s+)?(contacting|calling|e-?mailing|writing|"
            r"messaging|chasing|phoning|ringing|contacted|called|e-?mailed|written|messaged)\s+(to\s+)?"
            r"(you\s+)?again\b",
        )),
        (("keep",), (
            r"\bkeep\s+(having\s+to\s+)?(call|chas|contact|ring|e-?mail|explain|ask|complain|report)\w*",
        )),
        (("every", "time"), (
            r"\bevery\s+time\s+(i|we)\s+(call|contact|ring|chat|e-?mail|phone|speak)\w*",
        )),
        (("many", "times"), (
            r"\bhow\s+many\s+(more\s+)?times\s+(do|must|have|will|should|did)\s+(i|we)\b",
        )),
        (("first",), (
            r"\bnot\s+the\s+first\s+time\b",
        )),
        (("same",), (
            r"\bsame\s+(problem|issue|fault|error|thing|bug)\s+(again|as\s+(last|before|yesterday|"
            r"previously))\b",
        )),
        (("problem issue fault error bug",), (
            r"\b(problem|issue|fault|error|bug)\s+(that\s+)?(i|we)\s+(reported|raised|mentioned|"
            r"told\s+you\s+about)\b",
            r"\b(problem|issue|fault|error|bug)('s|\s+is|\s+has)\s+(come\s+)?back\b",
        )),
        (("reopen reopening reopened",), (
            r"\breopen(ing|ed)?\s+(this|my|the)?\s*(ticket|case|complaint|issue|query|request)\b|"
            r"\breopening\s+this\b",
        )),
        (("previous earlier original",), (
            r"\b(previous|earlier|original)\s+(ticket|case|reference|complaint)\b",
        )),
        (("since",), (
            r"\bsince\s+(my|our)\s+(first|last|original|previous)\s+(complaint|call|e-?mail|contact|"
            r"message|ticket|letter)\b",
        )),
    ))


def says_repeat(text: str) -> str | None:
    """A sentence of ``text`` in which the writer says this is not their first
    contact about it (:data:`REPEAT_CUES`), or None. Of a transcript written as ``Agent:`` /
    ``Customer:`` lines, only the customer's lines are read. English only."""
    text, low, words = prepared(text)
    if _DIGIT_ORDINAL.search(low):
        words = words | {"#ordinal"}  # "for the 3rd time"
    m = next((m for pattern in open_patterns(REPEAT_CUES, words) if (m := pattern.search(low))),
             None)
    if m is None:
        return None
    a, b = sentence_around(text, word_start(low, m))
    return text[a:b].strip() or None
