"""The writer names when they leave: "my contract ends on the 31st ... otherwise I will not be
renewing", "Porting my number to EE on Friday." English, hand-written (docs/models.md,
"Leaving on a date").

The detector reads it (flag ``leaving_date``): a churn risk that names its date is at least a
``high`` case, since the retention window closes then.
"""

from __future__ import annotations

import re

from models.cues import prepared
from models.pieces import wrapped_sentence_spans

_DAY = r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_MONTH = (r"(january|february|march|april|may|june|july|august|september|october|november|"
          r"december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)")
_FEW = r"(\d+|a|one|two|three|four|five|six|seven|ten|fourteen|thirty|a\s+couple\s+of|a\s+few)"

#: leaving, in the present or ahead
LEAVING = re.compile(
    r"\b(cancel(l?ing|s)?|leav(e|ing)(?=\s*($|[.!,;]|(you|u|your\s+\w+|the\s+(company|service|"
    r"network|bank)|at|on|by|in|this|next|tomorrow|today|tonight|when|from|after|before|end)\b|"
    r"for\s+(my\s+|a\s+|another\s+)(new\s+)?(provider|supplier|bank|network|carrier|"
    r"company)))|switch(ing)?(\s+over)?(?=\s+(to|over|away|supplier|provider|bank|network)\b|"
    r"\s*($|[.!,;]))|port(ing)?\s+(out|my\s+number|"
    r"over)|moves?\s+to|moving\s+to\s+(another|a\s+(new|different))|(account|membership|"
    r"subscription|plan)\s+closed|clos(e|ing)\s+(my|the|our)\s+(account|membership|subscription|plan)|"
    r"terminat(e|ing)|end(ing)?\s+(my|the|our)\s+(subscription|contract|membership|plan|"
    r"agreement|policy)|not\s+renew\w*|won'?t\s+be\s+(renewing|staying)|(don'?t|do\s+not)\s+"
    r"(renew|want\s+it\s+to)|(contract|policy|membership|plan|subscription|agreement)\s+(ends|"
    r"is\s+up|runs\s+out|expires|renews)|notice\s+period\s+ends|last\s+day\s+with\s+you|be\s+"
    r"gone|taking\s+my\s+business|stop\s+my\s+direct\s+debit|i'?m\s+done)\b")
#: a near date, or now
WHEN = re.compile(
    rf"\b(today|tonight|tomorrow|this\s+(week|weekend|month|afternoon|evening|morning|quarter|"
    rf"{_DAY})|next\s+(week|month|quarter|year|{_DAY})|(by|over|at)\s+the\s+weekend|(on|by|from|"
    rf"until|before|this|next|is|be)\s+"
    rf"{_DAY}|{_DAY}\s+(morning|afternoon|evening|night)|(the\s+)?end\s+of\s+(the|this|my|next)\s+"
    rf"(month|week|quarter|year|billing\s+(cycle|period)|contract|term)|(on|by|from|until|"
    rf"before|after)\s+the\s+\d{{1,2}}(st|nd|rd|th)?|\d{{1,2}}(st|nd|rd|th)?\s+(of\s+)?"
    rf"{_MONTH}|{_MONTH}\s+\d{{1,2}}(st|nd|rd|th)?|(in|within)\s+{_FEW}\s+(days?|weeks?)|"
    rf"(from|in|by|until)\s+{_MONTH}|immediately|as\s+of\s+today|effective\s+(immediately|"
    rf"today|from))\b|^{_DAY}\b|(^|[.!?]\s*|\bon\s+|\bby\s+){_DAY}\b")
# not leaving ahead: a past leaving or a story of one ("I called on May 14th to cancel"), an
# order, a transfer, a booking or an appointment, the router, leaving for work, a number
# moved to a new phone
_NOT_AHEAD = re.compile(
    r"\b(last\s+(week|month|year|night|" + _DAY[1:-1] + r")|yesterday|ago|ended|cancell?ed|"
    r"renewed|started|switched|ported|order|ticket|meeting|appointment|visit|delivery|"
    r"booking|complaint|review|router|engineer|holiday|work|card|offer|keep(ing)?\s+you|"
    r"stay(ing)?\s+with\s+you|new\s+(phone|handset|sim)|transactions?|transfers?|reservations?|"
    r"table|flights?|trip|hotel|box|dinner|arriv\w*|returning|called|asked|told|said|informed|"
    r"signed\s+up|if\s+i\s+(had|could)|wish\s+i\s+could|(any|no)\s+other\s+option|would\s+"
    r"(leave|switch|cancel|go))\b")
# a word of each way :data:`WHEN` can match, or "the 15th"
_WHEN_WORDS = frozenset(
    ("today tonight tomorrow week weekend weeks month afternoon evening morning quarter year "
     "day days end immediately effective " + _DAY + " " + _MONTH).replace("(", "")
    .replace(")", "").replace("|", " ").split())
_THE_NTH = re.compile(r"\bthe\s+\d")
_GATE = frozenset(
    "cancel cancelling canceling cancels leave leaving switch switching port porting move "
    "moves close closing terminate terminating end ending renew renewing renews contract "
    "policy membership plan subscription agreement notice last gone taking stop done "
    "won't moving closed".split())


def leaving_date(text: str) -> str | None:
    """The first sentence of ``text`` that ties leaving (:data:`LEAVING`) to a near date or
    now (:data:`WHEN`), not a question and not a past leaving, an order or an appointment
    (:data:`_NOT_AHEAD`); None when there is none. Of a transcript, only the customer's
    lines. English only."""
    text, low, words = prepared(text)
    if words.isdisjoint(_GATE) or (words.isdisjoint(_WHEN_WORDS) and not _THE_NTH.search(low)):
        return None
    for a, b in wrapped_sentence_spans(text):
        sentence = low[a:b]
        if sentence.endswith("?") or not LEAVING.search(sentence):
            continue
        if WHEN.search(sentence) and not _NOT_AHEAD.search(sentence):
            return text[a:b].strip() or None
    return None
