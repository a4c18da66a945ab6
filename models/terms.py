"""A question about the terms of leaving: "What's your cancellation policy?", "What happens to
my data if I close my account?", "Is there an exit fee?". The embedding heads read the first
two as requests to leave (P(explicit) 0.95 and 0.96 on the transformer, 0.99 and 1.00 on
static), which raises the critical "asks to leave" alert; the customer is weighing leaving,
a churn risk (the taxonomy's mapping reads asking about leaving's cost as at risk). English,
hand-written (docs/models.md, "Asking about the terms of leaving"); the classifier moves an
explicit reading of such a message to at risk (flag ``leaving_terms``).
"""

from __future__ import annotations

import re

from models.cues import EXPLICIT_CUE, implicit_leaving, prepared
from models.pieces import wrapped_sentence_spans

#: a word of leaving, and a word of what leaving costs or means, both in the question
_LEAVING = re.compile(r"\b(cancel\w*|terminat\w*|exit|leave|leaving|close|closing|end|ending|quit|"
                      r"quitting|switch\w*|delete|deleting|notice\s+period)\b")
_COSTS = re.compile(r"\b(fees?|charges?|charged|penalty|penalties|costs?|pay|refund|lose|keep|"
                    r"happens|notice|policy|policies|terms|conditions|rules|owe)\b")
_ASKS = re.compile(
    r"\s*((hi|hello|hey)(\s+there)?\b[\s,!.]*)?(what|what's|whats|is\s+there|are\s+there|"
    r"do\s+you|does|how\s+much|how\s+long|(will|would|do|can)\s+(i|we)|(can|could)\s+you\s+"
    r"(tell|send)|i'?d\s+like\s+to\s+know)\b")
_LEAVE = (r"(cancel+(ing)?|close|closing|delete|deleting|terminate|end|ending|leave|leaving|switch|"
          r"quit)")
#: how to leave, asked: a request in question form ("how do I cancel my account?")
_HOW_TO = re.compile(
    r"\bhow\s+(do|can|should|would)\s+(i|we)\s+(go\s+about\s+)?" + _LEAVE + r"\b|"
    r"\bhow\s+to\s+" + _LEAVE + r"\b|\bwhat\s+do\s+(i|we)\s+(need|have)\s+to\s+do\s+to\s+" + _LEAVE
    + r"\b|\bcancell?ation\s+process\b")
#: not the account: an order's, a booking's ... or "cancel it"
_NOT_ACCOUNT = re.compile(
    r"\b(order|booking|appointment|reservation|parcel|delivery|flight|ticket|payment)s?\b|"
    r"\b" + _LEAVE + r"\s+(it|this|that|them)\b")
#: where a request cue inside the question is the question's own: a noun ("cancellation
#: fee") or after "if I", "for", "to", "before", "when we"
_OWN_CUE = re.compile(r"(cancell?ation|termination|deletion|removal)\b")
_OWN_BEFORE = re.compile(r"\b(if\s+(i|we)|for|to|before|when\s+(i|we))\s+$")
#: the writer says they leave, in words the request cue does not read ("I've decided to leave")
_LEAVES = re.compile(
    r"\b(i|we)('ve|\s+have)?\s+(decided|want|wish|need|'d\s+like|would\s+like|am\s+going|'m\s+"
    r"going|are\s+going|'re\s+going|plan|intend)\s+to\s+" + _LEAVE + r"\b|"
    r"\b(i'?m|we'?re|i\s+am|we\s+are)\s+(leaving|cancell?ing|off|done)\b")
#: a word of :data:`_LEAVING` the question must hold (or one that starts as below)
_WORDS = frozenset("exit leave leaving close closing end ending quit quitting delete deleting "
                   "notice".split())
_WORD_STARTS = ("cancel", "switch", "terminat")


def asks_leaving_terms(text: str) -> str | None:
    """The sentence of ``text`` that asks about the terms of leaving: a question (it ends
    with "?" or opens as one) that holds a word of leaving (:data:`_LEAVING`) and one of
    what leaving costs or means (:data:`_COSTS`: a fee, a penalty, the notice, the policy,
    what happens, what one loses), not a how-to ("how do I cancel my account?") nor about an
    order or a booking; None when there is none, or when the text also asks to leave (a
    request cue, :data:`~models.cues.EXPLICIT_CUE`, that is not the question's own
    "cancellation fee" or "if I close my account") or says it leaves (:data:`_LEAVES`:
    "I've decided to leave"; :func:`~models.cues.implicit_leaving`). English only; of a
    transcript, the customer's lines."""
    text, low, words = prepared(text)
    if words.isdisjoint(_WORDS) and not any(w.startswith(_WORD_STARTS) for w in words):
        return None
    for a, b in wrapped_sentence_spans(text):
        sentence = low[a:b]
        if not (sentence.rstrip().endswith("?") or _ASKS.match(sentence)):
            continue
        if (_HOW_TO.search(sentence) or _NOT_ACCOUNT.search(sentence)
                or not (_LEAVING.search(sentence) and _COSTS.search(sentence))):
            continue
        if any(not (a <= m.start() < b and (_OWN_CUE.match(low, m.start())
                                            or _OWN_BEFORE.search(low, max(a, m.start() - 20),
                                                                  m.start())))
               for m in EXPLICIT_CUE.finditer(low)) \
                or _LEAVES.search(low) or implicit_leaving(text) is not None:
            return None
        return text[a:b].strip()
    return None
