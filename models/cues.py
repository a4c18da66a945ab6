"""Hand-written churn-intent cues: a cancel/close/delete verb near a relationship noun
(account, subscription, plan, ...) or a leaving phrase; and the usual leaving-risk phrases
(switching, competitors, termination fees, "last straw", porting out).

The ``keywords`` baseline decides churn intent from these two patterns alone. The static
path's heads read them as two more input features (``models.features``, ``cue_weight``) and
learn from the training rows how far to trust them: a bag-of-tokens embedding cannot tell
"cancel my transfer" from "cancel my account", a verb-near-noun pattern can. English only:
on other text the cues stay silent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache

from detector.redact import QUOTE_CHARS
from models.pieces import (
    customer_lines,
    hashtags_as_words,
    lowered,
    sentence_spans,
    sentences,
    span_at,
    wrapped_sentence_spans,
)

EXPLICIT_CUE = re.compile(
    r"\b(cancel+(ing|ed|ation)?|close|closing|delete|deleting|deletion|terminat\w*|remove|"
    r"removal|deactivate|discontinue|end)\b.{0,30}\b(account|subscription|membership|contract|"
    r"plan|policy|service|profile)\b|\b(switched to|not renew\w*|won't renew|leaving you|"
    r"moved to another|unsubscribed|account deleted|i'?m done with)\b", re.I)
AT_RISK_CUE = re.compile(
    r"\b(switch\w*|competitor\w*|elsewhere|other (provider|bank|supplier|insurer)s?|"
    r"last straw|never again|look(ing)? around|shop(ping)? around|termination fee|"
    r"cancellation (fee|penalty|charges?)|early (exit|termination)|contract end|"
    r"reconsider\w*|tempted|alternatives?|port(ing)? (my number )?out|pac code)\b", re.I)

INTENT_CUES: tuple[re.Pattern[str], ...] = (EXPLICIT_CUE, AT_RISK_CUE)

# Taking a leaving request back, or saying one is not coming, in one sentence: the embedding
# heads read "please ignore my cancellation request, I'm staying" and "I won't be leaving
# you" as requests to leave (P(explicit) 0.81 and 0.93 on the transformer). Not read as a
# retraction: a sentence with a condition ("not cancelling yet", "unless you fix it").
RETRACTION_CUE = re.compile(
    r"\b(ignore|withdraw|retract|revoke|cancel|disregard|scrap)\s+(my|our|the)\s+"
    r"((earlier|previous|last)\s+)?(cancellation|notice(\s+to\s+(quit|leave|cancel))?|"
    r"request\s+to\s+(cancel|close|leave|terminate|delete))\b|"
    r"\bchanged\s+(my|our)\s+minds?\s+(about|on)\s+(cancel\w*|leaving|closing|switching|"
    r"the\s+cancellation)|"
    r"\b(i|we)\s+(have\s+|'ve\s+)?decided\s+(to\s+stay|not\s+to\s+(cancel|leave|switch|close|"
    r"terminate))|"
    r"(^|\bplease\s+|[,;:]\s*)(don'?t|do\s+not)\s+(cancel|close|terminate|delete|end)\s+(my|our)\s+"
    r"(account|subscription|plan|membership|contract|policy|service)|"
    r"\bno\s+longer\s+(want|wish|need|plan)\s+to\s+(cancel|close|leave|switch|terminate)|"
    r"\b(i|we)\s+(really\s+)?(don'?t|do\s+not)\s+(want|wish|plan|intend)\s+to\s+(cancel|close|"
    r"leave|switch|terminate|delete|end)\b(?![^.!?]{0,200}\b(but|however|no\s+choice)\b)|"
    r"\b(i'?m|i\s+am|we'?re|we\s+are)\s+(staying(?!\s+(at|in|on|abroad|home|an?|the|extra|until|"
    r"till|for\s+now|with\s+(my|our|an?|family|friends|relatives))\b)|not\s+(leaving|"
    r"cancel+ing|closing|switching))\b|"
    r"\bno\s+(intention|plans?)\s+(of|to)\s+(leav|cancel|clos|switch)\w*|"
    r"\b(i|we)\s*('ll|\s+will)\s+(definitely\s+|happily\s+)?stay(?!\s+(at|in|on|abroad|home|an?|the|"
    r"extra|until|till|away|over|overnight|late|up|for\s+now)\b)|"
    r"\bforget\s+(what\s+(i|we)\s+said|my\s+(earlier\s+|last\s+)?(message|request|email))\s+"
    r"about\s+(cancel\w*|leaving|closing|switching)|"
    r"\b(i|we)\s*(won'?t|will\s+not|'m\s+not\s+going\s+to|am\s+not\s+going\s+to|"
    r"'re\s+not\s+going\s+to|are\s+not\s+going\s+to)\s+(be\s+)?(leav|cancel|clos|switch)\w*|"
    r"\b(i|we)\s+never\s+said\s+(i|we)\s*('d|\s+would|\s+was|\s+were|\s+wanted|'m|\s+am)\s+"
    r"(going\s+to\s+|want\s+to\s+|to\s+)?(leav|cancel|clos|switch)\w*|"
    r"\bwho\s+said\s+anything\s+about\s+(leav|cancel|clos|switch)\w*|"
    r"(\b(i|we)\s*('d|\s+would|\s+will)?\s+|(^|[.!?]\s*)would\s+)never\s+(ever\s+)?(leave(?=\s*"
    r"([.!?,;:)]|$|(you|u|them|here)\b|this\s+\w+))|switch|cancel|close|move|go\s+anywhere\s+"
    r"else)\b(?!\s+(back\s+)?(to|over\s+to)\s+(you|u)\b)|"
    r"\bnever\s+(once\s+|even\s+)?((thought|dreamt|dreamed)\s+(about|of)|considered(\s+(about|"
    r"of))?)\s+(leav|switch|cancel|clos|mov)\w*",
    re.I)
# Renewing said by the writer, a retraction of a kind (none is coming): "I'll definitely be
# renewing when my contract is up." read at risk 0.98 (transformer) / 0.94 (static), "We've
# renewed our contract for another three years" 0.89 / 0.85. Not with a contrast, regret,
# accident or charge after it in its sentence ("renewed by mistake", "renewed but now ..."),
# nor as the time of something else ("they hike the price every year when I renew").
_WRITER_SAYS = (r"((?<!when\s)(?<!whenever\s)(?<!time\s)(?<!once\s)(?<!after\s)(?<!before\s)"
                r"\b(i|we)(\s*'ll|\s*'ve|\s*'m|\s*'re|\s+(will|shall|have|am|are|just|already|"
                r"definitely|certainly|happily|gladly|be|also|now|both|again))*\s+|"
                r"(^|[.!?]\s*)(just\s+|already\s+|happily\s+|gladly\s+)?)")
RENEWAL_CUE = re.compile(
    r"(" + _WRITER_SAYS + r"(renew(ed|ing)?|re-?subscrib(ed|ing)|re-?signed|re-?upped|"
    r"extend(ed|ing)?\s+(my|our|the)\s+(\w+\s+){0,2}?(contract|subscription|membership|plan|"
    r"policy|lease|deal|licen[cs]e|term|agreement)|sign(ed|ing)\s+(up|on)\s+(again|for\s+"
    r"another)|stick(ing)?\s+with\s+them|(stick|stay)(ing)?\s+with\s+(you|u|you\s+guys|y'all|"
    r"your\s+\w+|this\s+\w+))\b|\b(i'?m|i\s+am|we'?re|we\s+are)\s+not\s+going\s+anywhere"
    r"(?!\s+near)\b)"
    r"(?![^.!?]{0,120}\b(but|however|though|regret\w*|mistake|accident\w*|without|now|"
    r"charged?)\b)", re.I)
#: every renewal cue holds one of these, lower-cased (tested per text, then per sentence)
_RENEWAL_WORDS = ("renew", "re-sub", "resub", "re-sign", "resign", "re-up", "reup", "extend",
                  "up again", "on again", "up for another", "on for another", "stick", "stay",
                  "going anywhere")
#: doubt said before a retraction or a renewal in its sentence: "Not sure I'll be renewing."
#: ("I don't know why you thought I was leaving" is no doubt)
_DOUBT = re.compile(r"\b(not\s+sure|unsure|(?<!no\s)(?<!a\s)doubt\w*|((don'?t|do\s+not)\s+know|"
                    r"no\s+idea)(?!\s+(why|how|what|who|where)\b)|undecided|wonder\w*|whether|"
                    r"not\s+certain|uncertain|questioning|reconsider\w*|thinking\s+(about|of)|"
                    r"deciding|debating|considering)\b")
_DOUBT_REACH = 80  # characters before a cue read for doubt (a bound: linear time)
_CONDITION = re.compile(r"\b(if|unless|until|till|yet|for\s+now|as\s+long\s+as|provided|"
                        r"otherwise|or\s+else|one\s+more|normally|usually|ordinarily)\b", re.I)


def _doubted(low: str, start: int, at: int) -> bool:
    """Whether the sentence that starts at ``start`` says doubt (:data:`_DOUBT`) in the
    :data:`_DOUBT_REACH` characters before ``at``: "Not sure I'll stay with you after this."
    is no retraction."""
    return _DOUBT.search(low, max(start, at - _DOUBT_REACH), at) is not None


def intent_cues(text: str) -> tuple[bool, bool]:
    """Whether ``text`` matches the explicit and the at-risk cue."""
    return bool(EXPLICIT_CUE.search(text)), bool(AT_RISK_CUE.search(text))


# every retraction holds one of these, lower-cased (a test far cheaper than the patterns:
# plain substring searches; most texts hold none)
_RETRACTION_WORDS = ("cancellation", "notice", "request to", "mind", "decided", "don't",
                     "dont", "do not", "no longer", "staying", "not leaving", "not cancel",
                     "not closing", "not switching", "no intention", "no plan", "won't", "wont",
                     "will not", "not going to", "ll stay", "will stay", "forget", "never said",
                     "said anything about", "never leave", "never switch", "never cancel",
                     "never close", "never move", "never go ", "never ever", "never once",
                     "never even", "never thought", "never considered", "never dreamt",
                     "never dreamed")


CUE_SENTENCES = 4  # at most this many of a text's cue sentences are read on their own (its last)


def cue_sentences(units: Sequence[str], limit: int = CUE_SENTENCES) -> list[str]:
    """The sentences that hold a leaving cue (:data:`INTENT_CUES`) in those ``units`` (a
    text, or a conversation's customer turns) that have more than one sentence; the last
    ``limit`` of them. The models read each on its own as well, for churn intent only: an
    embedding of a whole message averages a request to leave with the complaint around it
    ("The delivery was late again and the box was damaged. I have had enough. Please
    terminate my contract." read P(explicit) 0.20 on the transformer, its last sentence
    alone 0.99). The cue only picks what to read; the heads decide. A form's field label
    before the sentence is not read ("Subject: Cancel subscription" read 0.16, "Cancel
    subscription" 0.58)."""
    found: list[str] = []
    for unit in units:
        if not _any_cue(unit.lower()):
            continue
        parts = sentences(unit)
        if len(parts) > 1:
            found += [_FIELD_LABEL.sub("", s, count=1) for s in parts if _any_cue(s.lower())]
    return found[-limit:] if limit else []


# a form's or header's field label at the start of a line: "Subject: ", "Reason for leaving: "
_FIELD_LABEL = re.compile(r"^[A-Za-z]+(?: [A-Za-z]+){0,3}:[ \t]+(?=\S)")


# the cues matched case-sensitively against lower-cased text: a third of the time of
# re.IGNORECASE (the patterns are all lower case)
_LOWER_CUES = tuple(re.compile(p.pattern) for p in INTENT_CUES)


def holds_cue(text: str) -> bool:
    """Whether ``text`` holds a leaving cue (:data:`INTENT_CUES`)."""
    return _any_cue(text.lower())


def _any_cue(low: str) -> bool:
    return any(p.search(low) for p in _LOWER_CUES)


def leaving_quote(text: str, intent: str, limit: int = QUOTE_CHARS) -> str:
    """What an alert should quote of ``text`` for a churn decision (``intent`` explicit or
    at_risk): the text itself when it fits in ``limit`` characters; else the sentence where
    the decision's cue first starts (explicit: a request to leave; at risk: a risk phrase,
    then a request), with the sentences around it that still fit, marks included (the one
    before first), and "…" where text was left out. The text itself when no sentence holds
    a cue: the models decided without one, and the quote stays theirs.

    An e-mail of 340 characters that praises, then complains, then ends "I am cancelling my
    membership at the end of this month." was quoted from its start: the alert showed the
    praise and cut the request off."""
    if len(text) <= limit or intent not in ("explicit", "at_risk"):
        return text
    order = (EXPLICIT_CUE, AT_RISK_CUE) if intent == "explicit" else (AT_RISK_CUE, EXPLICIT_CUE)
    m = order[0].search(text) or order[1].search(text)
    if m is None:
        return text
    spans = sentence_spans(text)
    hit = max(k for k, (a, _) in enumerate(spans) if a <= m.start())  # where the cue starts
    lo = hi = hit
    fits = limit - 4  # room for the two "… " marks
    grown = True
    while grown:  # add the sentence before, then the one after, while the span fits
        grown = False
        if lo > 0 and spans[hi][1] - spans[lo - 1][0] <= fits:
            lo, grown = lo - 1, True
        if hi + 1 < len(spans) and spans[hi + 1][1] - spans[lo][0] <= fits:
            hi, grown = hi + 1, True
    a, b = spans[lo][0], spans[hi][1]
    return ("… " if lo > 0 else "") + text[a:b] + (" …" if hi < len(spans) - 1 else "")


_KIN = (r"(mum|mom|mother|dad|father|husband|wife|partner|son|daughter|brother|sister|"
        r"grandmother|grandfather|grandma|grandpa|aunt|uncle)")
# someone whose account it is has died: closing it is not a customer leaving in anger
BEREAVEMENT_CUE = re.compile(
    r"\b(passed\s+away|bereave\w*|deceased|death\s+certificate|probate|executor|executrix|"
    rf"late\s+{_KIN}|{_KIN}\s+(has\s+|had\s+)?died|(he|she)\s+(has\s+|had\s+)?died)\b", re.I)


def bereavement(text: str) -> bool:
    """Whether ``text`` (English) tells of the death of the person whose account it is
    about ("My mum passed away last month. I need to close her account."): the heads read
    such a closure as a request to leave (P(explicit) 0.67-1.0 on every path), and the
    alert sent a retention agent with a concession. A device that "died" is not a death;
    a text that also asks to close the writer's own account ("my", "our") or signals a risk
    of leaving ("I'm switching") is left to the models. Of a transcript, the customer's
    lines (:func:`prepared`)."""
    text, low, _ = prepared(text)
    if not (any(w in low for w in _DEATH_WORDS)
            or ("late" in low and any(k in low for k in _KIN_WORDS))):
        return False  # plain substring tests first: most texts hold none of these words
    if BEREAVEMENT_CUE.search(text) is None:
        return False
    norm = text.replace("\u2019", "'")
    if AT_RISK_CUE.search(norm):
        return False
    return not any(_OWN.search(_KIN_OWNED.sub(" ", m.group(0)))
                   for m in EXPLICIT_CUE.finditer(norm))


_OWN = re.compile(r"\b(my|our|i'?m|i)\b", re.I)
# "close my late mother's account" asks to close hers, not the writer's own
_KIN_OWNED = re.compile(rf"\b(my|our)\s+(late\s+)?{_KIN}('s|s')", re.I)
# every BEREAVEMENT_CUE match holds one of these, or "late" and a kin word (lower-cased)
_DEATH_WORDS = ("passed", "bereave", "deceased", "death", "probate", "executor", "executrix",
                "died")
_KIN_WORDS = ("mum", "mom", "mother", "dad", "father", "husband", "wife", "partner", "son",
              "daughter", "brother", "sister", "grand", "aunt", "uncle")


# Accepting the retention offer in a later turn, without saying "I'll stay": "OK, send me
# the new contract with the discount.", "Go on then, I'll take the 30 percent."
ACCEPT_CUE = re.compile(
    r"\b(i'?ll|i\s+will|we'?ll|we\s+will|let'?s|i'?d\s+like\s+to)\s+(just\s+)?(take\s+(it|that|this)"
    r"(?!\s+(to|up|further|elsewhere|back))|take\s+(the|your|that)\s+(\w+\s+){0,2}(offer|discount|"
    r"deal|credit|percent|rate|price|plan|upgrade|tariff)|accept|go\s+(with|for)\s+(it|that|the|your)|"
    r"try\s+(it|that|the)|give\s+(it|you)\s+(another|one\s+more)|stick\s+with\s+(you|it)|"
    r"keep\s+(it|the|my))\b|"
    r"\b(send|email)\s+(me\s+)?(over\s+)?(the|a)\s+new\s+(contract|plan|agreement|terms|deal|price)\b|"
    r"\b(apply|put\s+me\s+on|switch\s+me\s+(to|onto|over)|move\s+me\s+(to|onto)|downgrade\s+me|"
    r"upgrade\s+me|sign\s+me\s+up|freeze|pause)\b|"
    r"\b(keep|keeping)\s+(my|the)\s+(account|subscription|plan|contract|membership|service|line|"
    r"policy)\b|"
    r"\b(deal|sounds?\s+(fair|good|great|ok(ay)?)|that\s+works|that'?s\s+(fair|fine|good\s+enough)|"
    r"you'?ve\s+convinced\s+me|go\s+on\s+then|let'?s\s+do\s+(that|it)|in\s+that\s+case)\b|"
    r"\bgo\s+ahead\s+with\s+the\s+(new|offer|discount|deal|price|upgrade|credit|plan)\b", re.I)
# a turn with one of these still leaves, or has not decided ("I'll think about the offer")
_STILL_LEAVING = re.compile(
    r"\b(cancel\w*|clos(e|ing)|terminat\w*|leav(e|ing)|elsewhere|final\s+bill|pac\s+code|"
    r"still\s+want|no\s+thanks|not\s+enough|don'?t\s+want|think\s+(about|it\s+over)|call\s+back|"
    r"refund\w*|switch\w*\s+to\s+(another|them|[a-z]+\s+instead)|go\s+with\s+(them|another)|"
    r"competitors?|(the\s+other|another)\s+(provider|bank|supplier|insurer|company|network|carrier|"
    r"one))\b", re.I)
# "downgrade me rather than cancelling": the leaving word is what is given up
_INSTEAD_OF_LEAVING = re.compile(r"\b(rather\s+than|instead\s+of)\s+(cancel\w*|clos\w*|leav\w*|"
                                 r"terminat\w*)", re.I)


def accepts_offer(unit: str) -> str | None:
    """The sentence of a customer's turn that accepts what the agent offered to keep them
    (:data:`ACCEPT_CUE`) in a turn that does not still leave or hesitate; None otherwise.
    Read only by :func:`retained`, for turns after the last request to leave."""
    norm = unit.replace("\u2019", "'")
    if _STILL_LEAVING.search(_INSTEAD_OF_LEAVING.sub(" ", norm)):
        return None
    for a, b in sentence_spans(norm):
        sentence = norm[a:b]
        if (ACCEPT_CUE.search(sentence) and not _CONDITION.search(sentence)
                and not sentence.rstrip().endswith("?")):
            return unit[a:b].strip()
    return None


def retained(units: Sequence[str]) -> str | None:
    """In a conversation (``units``: the customer's turns), the sentence of a turn that takes
    back every request to leave made in earlier turns: a :func:`retraction` of its own, later
    than the last turn asking to leave (:data:`EXPLICIT_CUE`) without taking it back. A retention
    call ("I want to cancel my contract" ... "OK, that's fair. I'll stay then.") read as a
    request to leave raised a critical alert for a customer the agent had just kept; None
    when the conversation does not end that way."""
    said = taken = last_request = None
    for k, unit in enumerate(units):
        back = retraction(unit)
        if back is None and last_request is not None:
            back = accepts_offer(unit)
        if back is not None:
            said, taken = back, k
        elif EXPLICIT_CUE.search(unit.replace("\u2019", "'")):
            last_request = k
    if taken is None or last_request is None or taken < last_request:
        return None
    return said


def retraction(text: str) -> str | None:
    """The sentence of ``text`` that takes a leaving request back or says none is coming
    (:data:`RETRACTION_CUE`, with no condition in it); None when there is none, or when a
    request to leave (:data:`EXPLICIT_CUE`) stands anywhere in the text outside what is
    taken back ("Please cancel my subscription, I'm staying with my parents now": the
    models decide). English only; a typographic apostrophe reads as "'". Of a transcript,
    the customer's lines (:func:`prepared`): an agent's "sorry to hear you want to cancel"
    is not the customer's request."""
    text, low, _ = prepared(text)
    retracts = any(map(low.__contains__, _RETRACTION_WORDS))
    renews = any(map(low.__contains__, _RENEWAL_WORDS))
    if not (retracts or renews):
        return None
    norm = text.replace("\u2019", "'")  # the same length: spans hold for ``text``
    spans = sentence_spans(norm)
    taken: list[tuple[int, int, int, int]] = []  # (sentence start, end, match start, end)
    for a, b in spans:
        sentence = norm[a:b]
        if retracts and any(map(low[a:b].__contains__, _RETRACTION_WORDS)):
            taken += [(a, b, a + m.start(), a + m.end())
                      for m in RETRACTION_CUE.finditer(sentence)
                      if not _doubted(low, a, a + m.start())]
    if renews and not taken:
        taken = _renewals(text, norm, low, spans)
    if not taken:
        return None
    for a, b in spans:  # a request to leave of its own, outside what is taken back
        for m in EXPLICIT_CUE.finditer(norm, a, b):
            if not any(x < m.end() and m.start() < y for _, _, x, y in taken):
                return None
    for a, b, _, _ in taken:
        if not _CONDITION.search(norm, a, b):
            return text[a:b]
    return None


def _renewals(text: str, norm: str, low: str, spans: Sequence[tuple[int, int]]
              ) -> list[tuple[int, int, int, int]]:
    """:data:`RENEWAL_CUE`'s matches in ``norm`` (as :func:`retraction` lists them; ``low``
    lower-cased, as long), none when the text also holds an at-risk cue outside them or
    says it leaves (:func:`implicit_leaving`): a renewal is a fact that later unhappiness
    can follow; nor one after doubt in its sentence (:data:`_DOUBT`: "Not sure I'll be
    renewing."). Only a sentence that holds a word of :data:`_RENEWAL_WORDS` is searched."""
    found = [(a, b, a + m.start(), a + m.end()) for a, b in spans
             if any(map(low[a:b].__contains__, _RENEWAL_WORDS))
             and not norm[a:b].rstrip().endswith("?")
             for m in RENEWAL_CUE.finditer(norm[a:b]) if not _doubted(low, a, a + m.start())]
    if not found or implicit_leaving(text) is not None or any(
            not any(x < m.end() and m.start() < y for _, _, x, y in found)
            for m in AT_RISK_CUE.finditer(norm)):
        return []
    return found


_BUSINESS = (r"(bank|provider|supplier|insurer|lender|broker|network|carrier|company|firm|"
             r"airline|hotel|shop|store|restaurant|gym|isp|broadband(\s+provider)?|"
             r"energy\s+(company|supplier)|phone\s+company|mobile\s+provider|service)")
_BUY = (r"(us(e|ing)|order(ing)?|shop(ping)?|buy(ing)?|fly(ing)?|book(ing)?|stay(ing)?|"
        r"eat(ing)?|deal(ing)?|bank(ing)?|renew(ing)?|travel(l?ing)?|recommend(ing)?)")
_YOU = r"(you|your\b[^.!?]{0,25}|this\s+\w+(\s+\w+)?|these\s+\w+|them|here|there)"
_WONT = r"(won't|wont|will\s+not|not\s+going\s+to)"
#: "I'm done", "we're so done", or a sentence that starts "Done"
_IM_DONE = (r"(^|[.!?]\s*|\bi'?m\s+|\bi\s+am\s+|\bwe'?re\s+|\bwe\s+are\s+)(so\s+|totally\s+|"
            r"completely\s+)?done")
_BUY_WORDS = ("use using order ordering shop shopping buy buying fly flying book booking stay "
              "staying eat eating deal dealing bank banking renew renewing travel traveling "
              "travelling recommend recommending")  # every word _BUY matches
_SUPPLIER = (r"(vendor|provider|supplier|solution|platform|tool|partner|agency|software|company|"
             r"firm|bank|carrier|network|insurer|lender|broker|isp)s?\b(?!\s+(card|account|branch|"
             r"statement|app|details|transfer|login|plan|tier|package)\b)")
_SUPPLIER_WORDS = ("vendor provider supplier solution platform tool partner agency software "
                   "company firm bank carrier network insurer lender broker isp vendors providers "
                   "suppliers solutions platforms tools partners agencies companies firms banks "
                   "carriers networks insurers lenders brokers")
_OTHER = (r"(another|a\s+(different|new|cheaper|competing)|an\s+alternative|different|new|"
          r"cheaper|competing)")
#: English patterns, each tried only on a text holding a word of each of its gate's sets (a
#: set test on the text's words: most texts hold none, and over a long letter the patterns
#: cost ten times the test)
GatedCues = tuple[tuple[tuple[frozenset[str], ...], re.Pattern[str]], ...]


def gated_cues(table: Iterable[tuple[tuple[str, ...], str | tuple[str, ...]]]) -> GatedCues:
    """A table of (gate: word sets written space-separated, pattern or its alternatives)
    compiled."""
    return tuple((tuple(frozenset(g.split()) for g in gate),
                  re.compile(p if isinstance(p, str) else "|".join(p))) for gate, p in table)


def open_patterns(cues: GatedCues, words: frozenset[str]) -> Iterator[re.Pattern[str]]:
    """The patterns of ``cues`` whose every gate set shares a word with ``words``, in order
    (``map`` over the gate sets: no generator per pattern, on every text of a batch)."""
    closed = words.isdisjoint
    return iter([pattern for gate, pattern in cues if not any(map(closed, gate))])


_ALL_OF_IT = r"(it|everything|the\s+whole\s+thing|the\s+lot|all\s+of\s+it)"
# the end of what the customer pays for: the billing period, term or contract, the next
# payment or renewal
_TERM_ENDS = (r"((at|from)\s+the\s+end\s+of\s+(the|my|this|our)\s+(billing\s+(period|cycle|month)|"
              r"term|contract|subscription|membership|plan|current\s+(period|term|month))|"
              r"before\s+(it\s+renews|(the|my|our)\s+next\s+(payment|bill|billing|charge|renewal|"
              r"direct\s+debit)|(i'?m|i\s+am|we'?re|we\s+are|i\s+get|we\s+get)\s+(charged|billed)\s+"
              r"again)|when\s+(the|my|our)\s+(contract|term|plan|subscription|membership)\s+(ends|"
              r"is\s+up|runs\s+out|expires))\b")


# Leaving said without asking to close anything, matched on lower-cased text with "'" for
# "’": the embedding heads read "You've lost a customer.", "Never again." or "I'm porting
# my number to EE tomorrow." as no churn intent (P(churn) 0.04-0.49 on the transformer).
IMPLICIT_LEAVING_CUES: GatedCues = gated_cues((
        # you've lost a customer / lost me as a customer / lost my business
        (("lost lose", "customer client business custom member"),
         r"\b(you('ve|\s+have|\s+just|'ve\s+just|\s+have\s+just)?|u)\s+(lost|lose)\s+(a|another|"
         r"one|my|our|me\s+as\s+a)\s+((very\s+)?(loyal|long[- ]?(time|standing)|good|valued|"
         r"regular|paying)\s+)?(customer|client|business|custom|member)\b|"
         r"\blost\s+me\s+as\s+a\s+(customer|client|member)\b"),
        # never again (not "never again will I doubt you", "never again since the fix");
        # never ordering from you again
        (("never", "again " + _BUY_WORDS),
         r"(^|[.!?,;:]\s*|\b(and|so|then|ever|just)\s+)never\s+again\b(?!\s+(will|would|did|"
         r"had|have|has|do|does|was|were|could|can|should|since|after)\b)|"
         rf"\bnever\s+(be\s+)?{_BUY}\s+(again\s+)?(with|from|at|in|through|on)?\s*{_YOU}"
         rf"[^.!?]{{0,20}}\bagain\b|"
         rf"\bnever\s+{_BUY}\s+(with|from|at)\s+{_YOU}"),
        # won't be back / not ordering from you again / won't be renewing with you
        (("won't wont not", "back coming returning going staying sticking " + _BUY_WORDS),
         rf"\b{_WONT}\s+be\s+(coming\s+back|back|returning|going\s+back|staying\s+on|sticking\s+"
         r"around)(?!\s+(until|till|before|for|in|on|at|by|from|home|later|soon|next|tomorrow|"
         r"today|tonight|online|to\s+work|to\s+the\s+office|the)\b)|"
         rf"\b({_WONT}|not)\s+(be\s+)?{_BUY}\s+(again\s+)?(with|from|at|in|through)\s+{_YOU}|"
         rf"\b{_WONT}\s+(be\s+)?{_BUY}\s+{_YOU}[^.!?]{{0,20}}\bagain\b"),
        # my last order with you (not "my last order before christmas", "where is my last
        # order"); the last time I fly with you
        (("last final",),
         r"\b(this|that|it)\s*(will\s+be|is|was|'s|'ll\s+be)\s+(my|our|the)\s+(very\s+)?last\s+"
         r"(order|purchase|booking|stay|flight|visit|payment|bill|delivery|meal|subscription|"
         r"month|year|renewal|time)\b(?![^.!?]{0,200}\b(before|until|till|of\s+the|for\s+(now|this|"
         r"the|a)|this\s+(year|month|week)|today|tonight)\b)|"
         r"\b(last|final)\s+time\s+(i|we)\s+(will\s+|'ll\s+)?(ever\s+)?(use|order|buy|fly|book|"
         r"shop|stay|eat|deal|trust|bank)\b(?!\s+(economy|business|first|premium)\b)"),
        # taking my number / money / business to someone else
        (("port porting ported move moving moved transfer transferring transferred switch "
          "switching switched take taking took changing",
          "my our networks banks providers suppliers insurers carriers",
          "number mortgage savings account money business custom broadband energy pension isa "
          "insurance policy contract accounts networks banks providers suppliers insurers "
          "carriers"),
         r"\b(i'?m|i\s+am|we'?re|we\s+are|i'?ve|i\s+have|we'?ve|we\s+have|i'?ll|i\s+will|we'?ll|"
         r"we\s+will|going\s+to|about\s+to)\s+(just\s+|already\s+|now\s+)?(port(ing|ed)?|"
         r"mov(e|ing|ed)|transfer(ring|red)?|switch(ing|ed)?|tak(e|ing)|took)\s+(my|our)\s+"
         r"(phone\s+)?(number|mortgage|savings|account|money|business|custom|broadband|energy|"
         r"pension|isa|insurance|policy|contract|accounts)\s+(over\s+)?(to|elsewhere)\b"
         r"(?!\s+(the|my|our|your|a\s+(joint|savings|fixed|new\s+account)|an?\s+\w+\s+account|"
         r"paperless|online|digital|e-?statements?|e-?billing|monthly|annual|quarterly|direct\s+"
         r"debit|autopay|e-?mail|sms|text)\b)|"
         r"\b(moving|switching|changing)\s+(networks|banks|providers|suppliers|insurers|"
         r"carriers)\b"),
        # find a new bank; go to another provider; found a better deal elsewhere
        (("new different better cheaper another",
          "bank provider supplier insurer lender broker network carrier company firm airline "
          "hotel shop store restaurant gym isp broadband energy phone mobile service deal offer "
          "price quote"),
         rf"\b(find|finding|look(ing)?\s+for|need)\s+(a|another)\s+(new|different|"
         rf"better)\s+{_BUSINESS}(?!\s+(card|account|branch|statement|app|details|transfer|"
         r"login|router|sim|number|plan|tariff)\b)|"
         r"\b(go|going|move|moving|switch|switching|take|taking)\s+(my\s+\w+\s+)?(over\s+)?to\s+"
         rf"(another|a\s+(different|new|better|cheaper))\s+{_BUSINESS}\b|"
         r"\b(found|got|getting|signed\s+up\s+for)\s+(a\s+)?(better|cheaper)\s+(deal|offer|price|"
         r"quote)\s+(with|from|at|elsewhere)\b(?!\s+(you|u|yourselves)\b)"),
        # shopping elsewhere; I'll go somewhere that delivers; gone to your competitor
        (("elsewhere somewhere someone competitor competitors",),
         r"\b(shop|shopping|spend|spending|go|going|take|taking|bank|banking)\b[^.!?]{0,30}\b"
         r"(elsewhere|somewhere\s+else)\b|"
         r"\b(i'?ll|i\s+will|we'?ll|we\s+will|going\s+to)\s+(go|take\s+my\s+\w+)\s+(somewhere|"
         r"to\s+someone)\s+(else|that|who)\b|"
         r"\b(signed\s+up|gone|went|moved|switched|going|go)\s+(with|to|over\s+to)\s+(your|a|"
         r"one\s+of\s+your)\s+competitors?\b"),
        # done with you; not another penny; the app deleted; nice while it lasted
        (("done", "with", "you u your this"),
         rf"{_IM_DONE}\s+with\s+(you|u|your\s+\w+|this\s+{_BUSINESS})\b(?<!\bsurvey)"
         r"(?<!\bform)(?<!\bquestionnaire)(?<!\bchat)(?<!\bcall)(?<!\bcheckout)(?<!\bsetup)"
         r"(?!\s+(for\s+(today|now|the\s+day|tonight)|now)\b)"),
        # done flying with you; done dealing with you people; done shopping here (not "done
        # setting up the account", "done talking with the agent")
        (("done", "flying shopping dealing ordering buying banking doing staying eating booking "
          "travelling traveling"),
         rf"{_IM_DONE}\s+(flying|shopping|dealing|ordering|buying|banking|doing\s+business|"
         r"staying|eating|booking|travell?ing)\s+((with|from|at)\s+(you|u|your\s+\w+|this\s+\w+)\b|"
         r"(here|there)\b)"),
        # porting a number out, said without where to: "porting my number tomorrow", "Already
        # ported my number" (not "porting my number in", "to you", "from Vodafone")
        (("port porting ported", "number numbers"),
         r"(^|[.!?]\s*|\b(i'?m|i\s+am|we'?re|we\s+are|i'?ve|i\s+have|we'?ve|we\s+have|i'?ll|"
         r"i\s+will|we'?ll|we\s+will|going\s+to|about\s+to)\s+)(already\s+|just\s+|now\s+)?"
         r"port(ing|ed)?\s+(my|our)\s+(phone\s+|mobile\s+)?numbers?\b(?!\s+(in|into|from|to|over|"
         r"across|was|went|is|has|had|were)\b)"),
        # sentence-first "Lost a customer." (as "You've lost a customer.")
        (("lost", "customer client"),
         r"(^|[.!?]\s*)(just\s+)?lost\s+(a|another|one)\s+((very\s+)?(loyal|long[- ]?(time|"
         r"standing)|good|valued|regular|paying)\s+)?(customer|client)\b"),
        # quotes got elsewhere; won't bother next time (not "won't bother you again")
        (("quote quotes", "elsewhere other"),
         r"\b(get|getting|got|had|have|having)\s+(some\s+|a\s+few\s+|other\s+)?quotes?\s+"
         r"(elsewhere|from\s+other\s+(providers|suppliers|insurers|companies|banks|lenders|firms))\b"),
        (("bother bothering",),
         r"\b(won'?t|wont|will\s+not|wouldn'?t|would\s+not|not\s+going\s+to)\s+(be\s+)?"
         r"bother(ing)?\s+(again|next\s+time|coming\s+back|returning|going\s+back|ordering|"
         r"booking|buying|shopping|staying|eating|with\s+(you|them|this\s+\w+)|here)\b"),
        (("another", "penny cent dime pound dollar euro"),
         r"\b(not|never|won't|wont|no\s+more)\b[^.!?]{0,25}\banother\s+(penny|cent|dime|pound|"
         r"dollar|euro)\b"),
        (("deleted uninstalled removed",),
         r"(^|[.!?]\s*|\b(i|i've|i\s+have|just|we|we've|have)\s+)(deleted|uninstalled|removed)\s+"
         r"(the|this|your|ur)\s+app\b|(^|[.!?]\s*)uninstalled\b"),
        (("lasted",),
         r"\b(it\s+)?was\s+(nice|good|great|fun)\s+while\s+it\s+lasted\b"),
        # an app review's bare "Deleted." (as "Uninstalled.")
        (("deleted",),
         r"(^|[.!?]\s*)deleted\s*([.!]|$)"),
        # an ultimatum that ends "I'm done": "Sort my bill out this week or I'm done.", "If
        # this isn't fixed by Friday I want a refund and I'm done.", "That's it, I'm done."
        # (not "I've filled in the form, I'm done.", "then I'm done here, thanks")
        (("done",),
         r"\bor\s+(else\s+)?(i'?m|i\s+am|we'?re|we\s+are)\s+(so\s+|totally\s+|completely\s+)?"
         r"done(\s+with\s+(you|u|you\s+guys|it\s+all|all\s+of\s+(this|it)))?\s*([.!,;)]|$)|"
         r"\b(if|unless|one\s+more|another)\b[^.!?]{0,120}\b(and|then|,)\s*(i'?m|i\s+am|we'?re|"
         r"we\s+are)\s+(so\s+|totally\s+|completely\s+)?done(\s+with\s+(you|u|you\s+guys|it\s+all|"
         r"all\s+of\s+(this|it)))?\s*([.!,;)]|$)|"
         r"\bthat'?s\s+it\s*[,.!;:-]*\s*(i'?m|i\s+am|we'?re|we\s+are)\s+(so\s+|totally\s+|"
         r"completely\s+)?done\s*([.!]|$)"),
        # cancelling with nothing after it: the service is meant ("If this is not refunded
        # by Friday I will cancel.", "Fix it or I cancel.", "Thinking of cancelling.")
        (("cancel cancelling canceling",),
         r"(?<!\bto\s)\bcancel(l?ing)?(?=\s*($|[.!,;)]|(if|unless|when|as|at|now|today|tomorrow|"
         r"tonight|asap|immediately|straight|soon|then|please|i\s+think|(this|next)\s+(week|"
         r"month|year|friday|monday))\b(?!'s)))|\b(going|want|wants|need|planning|ready|time|"
         r"decided|about|like|love|happy|help\s+me|make\s+me)\s+to\s+cancel(?=\s*($|[.!,;)]|(if|"
         r"unless|when|as|at|now|today|tomorrow|tonight|asap|immediately|straight|soon|then|please|"
         r"i\s+think|(this|next)\s+(week|month|year|friday|monday))\b(?!'s)))"),
        # an ultimatum: match it or I walk; fix my bill or I leave; refund me or I'm gone
        (("or", "i we i'll i'm we'll we're",
          "walk go leave switch gone off out leaving walking going switching"),
         r"\bor\s+(else\s+)?(i|we)\s*('ll|\s+will|'m|\s+am|'re|\s+are)?\s*(just\s+)?(walk(ing)?|"
         r"go(ing|ne)?|leav(e|ing)|switch(ing)?|be\s+gone|off|out)(\s+(away|elsewhere|somewhere\s+"
         r"else|for\s+good|at\s+(renewal|the\s+end\s+of\s+\w+)|to\s+(another|a\s+(different|new|"
         r"better|cheaper))\b[^.!?,;]{0,60}))?\s*($|[.!,;)]|\band\b|\bthen\b)"),
        # an ultimatum whose leaving has an object: "... or we terminate the contract",
        # "or I'll take my business elsewhere", "or else I close my account"
        (("or", "i we i'll we'll i'm we're",
          "cancel terminate close end leave move take"),
         r"\bor\s+(else\s+)?(i|we)\s*('ll|\s+will|'m\s+going\s+to|\s+am\s+going\s+to|"
         r"'re\s+going\s+to|\s+are\s+going\s+to)?\s+(just\s+)?(cancel|terminate|close|end|leave|"
         r"move|take)\s+(my|our|the)\s+(account|contract|subscription|service|membership|plan|"
         r"policy|business|custom|broadband)\b"),
        # a business ending it without asking: "we'll let the licence lapse", "we're winding
        # down our account", "we will be sunsetting our use of your platform", "we're going
        # to part ways with you" (not with an old supplier)
        (("part parting", "ways"),
         r"\b(we'?re|we\s+are|i'?m|i\s+am|we'?ll|we\s+will|i'?ll|i\s+will|going\s+to|decided\s+to|"
         r"time\s+to|have\s+to|need\s+to|must)\s+(\w+\s+)?(part|parting)\s+ways\b(?!\s+with\s+"
         r"(our|my|the|their|his|her)\s+(old|previous|former|last|existing)\b)"),
        (("wind winding sunset sunsetting",),
         r"\bwind(ing)?\s+down\s+(our|my|the)\s+(account|accounts|subscription|contract|use|usage|"
         r"relationship|tenant|workspace|instance)\b|"
         r"\bsunset(ting)?\s+(our|my)\s+(use|usage|account|subscription|contract|licen[cs]e|tenant|"
         r"workspace|instance)\b"),
        (("let letting", "lapse expire run"),
         r"(?<!n't\s)(?<!not\s)(?<!never\s)\b(let|letting)\s+(the|our|my)\s+(\w+\s+)?(licen[cs]es?|"
         r"subscription|contract|membership|plan|policy|account|renewal)\s+(lapse|expire|run\s+out)\b"),
        # choosing another supplier: "we've decided to go with a different vendor", "we chose
        # another solution"
        (("go going gone went sign signed signing chose chosen picked selected choosing picking "
          "selecting",
          "another different new cheaper competing alternative",
          _SUPPLIER_WORDS),
         rf"\b(go(ing)?|gone|went|sign(ed|ing)?)\s+with\s+{_OTHER}\s+{_SUPPLIER}|"
         rf"\b(chose|chosen|picked|selected|choosing|picking|selecting)\s+{_OTHER}\s+{_SUPPLIER}"),
    ))
# cancelling with no object named, read as leaving where it is not an order or a payment
# (:data:`_NOT_CANCEL_IT` in the sentence)
CANCEL_IT_CUES: GatedCues = gated_cues((
        # cancelling "it" tied to the billing term: "ok forget the pause, just cancel it at the
        # end of the billing period", "Cancel it before it renews" (not an order, a transfer)
        (("cancel stop end terminate", "end before when"),
         rf"\b(cancel|stop|end|terminate)\s+{_ALL_OF_IT}(\s+(please|now|then|for\s+(me|us)))?\s+"
         rf"{_TERM_ENDS}"),
        # "Cancel the whole thing.", "just cancel the lot, I'm fed up" (not "everything in my
        # basket", "the whole order")
        (("cancel", "everything whole lot all"),
         r"\bcancel\s+(everything|the\s+whole\s+thing|the\s+lot|all\s+of\s+it)(?=\s*($|[.!,;)]|"
         r"(please|now|today|then|asap|i'?m|we'?re)\b|and\s+(i|we)\b))"),
        # a retention offer turned down, then cancel: "Never mind the discount, cancel it."
        (("forget mind thanks no", "cancel"),
         r"\b(forget|never\s+mind|no\s+thanks\s+to|no\s+to)\s+(the|your|that)\s+(pause|discount|"
         r"offer|deal|freeze|credit|voucher)\b[,.;]?\s+(just\s+)?cancel\b"),
    ))
# an order, a payment of something else, a booking, a purchase or a negation in the
# sentence: "it" is not what the customer pays for, or is not to be cancelled
_NOT_CANCEL_IT = re.compile(r"\b(standing\s+order|(?<!next\s)direct\s+debit|transfer|order|basket|"
                            r"booking|appointment|reservation|delivery|visit|flight|ticket|"
                            r"card|cheque|rebook\w*|seller|parcel|package|item|purchase|product|"
                            r"refund|(don'?t|do\s+not|never|not)\s+(cancel|stop|end|terminate))\b")
# Moving to a named company what a business moves, said ahead: "we're migrating to HubSpot",
# "we're switching our payroll to Gusto", "management has approved the move to Salesforce"
# (the name as for SWITCH_TO_NAMED). Moving or a transition needs its object: "we're moving
# to Leeds", "transitioning to Hybrid working" are not leaving.
_MIGRATED = (r"(everything|all\s+of\s+(it|this|us)|(all\s+)?(our|my)\s+(\w+\s+){0,2}?(data|"
             r"accounts?|workspace|payroll|accounting|books|crm|e?mails?|website|hosting|domains?|"
             r"subscriptions?|contracts?|licen[cs]es|spend|infrastructure))")
MIGRATE_TO_NAMED = re.compile(
    r"\b(i'?m|i\s+am|we'?re|we\s+are|i'?ll|i\s+will|we'?ll|we\s+will|going\s+to|about\s+to|"
    r"plan(ning)?\s+(on|to)|decided\s+to|(started|begun|begin|start)(\s+to)?)\s+(now\s+|just\s+|"
    rf"already\s+|soon\s+|be\s+)?((migrat(e|ing)|switch(ing)?)\s+({_MIGRATED}\s+)?|"
    rf"(mov(e|ing)|transition(ing)?)\s+{_MIGRATED}\s+)(over\s+)?to\s+(?P<name>[a-z][\w&'-]*)")
MOVE_DECIDED = re.compile(
    r"\b(approved|decided\s+on|signed\s+off\s+on|agreed(\s+on)?|confirmed|finali[sz]ed)\s+(the|our|"
    r"a)\s+(move|migration|switch|transition)\s+(over\s+)?to\s+(?P<name>[a-z][\w&'-]*)")
_MIGRATE_WORDS = frozenset("migrate migrating move moving switch switching transition "
                           "transitioning".split())
_DECIDED_WORDS = frozenset("approved decided agreed confirmed finalised finalized signed".split())
_MOVE_NOUNS = frozenset("move migration switch transition".split())
# Moving the account to a named company, said ahead: "I'll move the account to Monzo", "we're
# taking our business to Xero" (the name as for SWITCH_TO_NAMED); not a relocation: "we're
# moving our business to Leeds", "moving my broadband to Glasgow" (business, custom and
# broadband are taken, not moved)
MOVE_TO_NAMED = re.compile(
    r"\b(i'?ll|i\s+will|we'?ll|we\s+will|(i'?m|we'?re|i\s+am|we\s+are)(\s+going\s+to)?|going\s+to)"
    r"\s+(just\s+)?((move|moving|take|taking)\s+(my|our|the)\s+(account|accounts|money|number|"
    r"mortgage|savings|contract)|(take|taking)\s+(my|our|the)\s+(business|custom|broadband))\s+"
    r"(over\s+)?to\s+(?P<name>[a-z][\w&'-]*)")
_MOVE_WORDS = frozenset("move moving take taking".split())
# a quote or an offer had from a named company: "Honestly I've already had a quote from
# Octopus." (not a person of the company: "a quote from Dave in your sales team")
QUOTE_FROM_NAMED = re.compile(
    r"\b(i'?ve|i\s+have|we'?ve|we\s+have|i|we|i'?m|i\s+am|we'?re|we\s+are|already|just)\s+"
    r"(already\s+|just\s+|now\s+|also\s+)?(had|got|gotten|received|been\s+given|been\s+offered|"
    r"getting|get)\s+(a\s+|an\s+|some\s+)?((better|cheaper|new|lower|good|great)\s+)?(quotes?|offers?)"
    r"\s+from\s+(?P<name>[a-z][\w&'-]*+)(?!\s+(in|at|on|from)\s+(your|the)\b)")
_QUOTE_WORDS = frozenset("quote quotes offer offers".split())
# an ultimatum that moves to a named company: "Refund me by Friday or I'm moving to Monzo"
# (moving with no object is a house move elsewhere: "I'm moving to Leeds")
ULTIMATUM_MOVE = re.compile(
    r"\bor\s+(else\s+)?(i|we)\s*('ll|\s+will|'m|\s+am|'re|\s+are)?\s+(just\s+)?mov(e|ing)\s+"
    r"(over\s+)?to\s+(?P<name>[a-z][\w&'-]*)")
# Switching to a named company, said ahead: "Switching to Monzo.", "I'll switch to Virgin
# Media", "we're switching over to Xero", "leaving you for Revolut". Not in the past ("I
# switched to Comcast in May" is as often said by a customer who joined the company) nor
# of someone else ("they are switching to Arris modems"). The name must be written with a
# capital (the text not in capitals throughout), not be a plan, device, feature or payment
# word, and not be followed by where the writer came from ("switching to Octopus from EE").
SWITCH_TO_NAMED = re.compile(r"switch(ing)?(\s+over)?\s+to\s+(?P<name>[a-z][\w&'-]*)")
LEAVING_YOU_FOR = re.compile(r"\b(leav(e|ing)|ditch(ing)?|dump(ing)?)\s+(you|u)\s+for\s+"
                             r"(?P<name>[a-z][\w&'-]*)")
# who says the switch is ahead, just before "switch": "I'm", "we'll", "thinking of", ...
_SWITCH_AHEAD = re.compile(
    r"\b(i'?m|i\s+am|we'?re|we\s+are|i'?ll|i\s+will|we'?ll|we\s+will|going\s+to|about\s+to|"
    r"ready\s+to|planning\s+(on|to)|considering|thinking\s+(of|about))\s+(just\s+|now\s+|"
    r"be\s+)?\Z")
NOT_A_COMPANY = frozenset(
    "premium pro plus gold silver platinum bronze basic standard unlimited annual monthly "
    "yearly paperless direct debit wi-fi wifi wi dark light android iphone ipad ios windows "
    "mac macos linux chrome safari firefox edge google apple samsung 4g 5g 3g lte fibre fiber "
    "broadband sim esim e-sim app web website online email sms text english spanish french "
    "german uk us pdf excel tv hd i you your my the a an it that this them card visa "
    "mastercard amex paypal bluetooth aeroplane airplane flight cellular roaming version new "
    "next our their monday tuesday wednesday thursday friday saturday sunday january february "
    "march april may june july august september october november december".split())
_CODE = (r"(new\s+)?(pac|stac|port[- ]?out\s+(pin|code|number)|(number\s+)?transfer\s+(pin|code)|"
         r"porting\s+(pin|code)|port\s+(pin|code))")
# "Switching to Bluetooth made the audio drop out": the switch is the subject of a verb
_SWITCH_AS_SUBJECT = re.compile(
    r"(\s+[\w&'-]+){0,2}?\s+(made|makes|fixe[sd]|helped|helps|caused|causes|solved|solves|broke|"
    r"breaks|worked|works|did|didn't|does|doesn't|is|isn't|was|wasn't|has|hasn't|had|will|"
    r"won't|would|should|could|might|may|seems?|seemed|means|meant|gave|gives|drains?|drained|"
    r"improved|improves|stopped|stops|started|starts|changed|changes|keeps|kept|lets|needs|"
    r"needed|requires|required|resets?|sorted|sorts)\b")
# "switched to Octopus from British Gas" (not "from next month", "from the 1st")
_CAME_FROM = re.compile(r"(\s+[\w&'-]+){0,2}\s+from\b(?!\s+(next|this|today|tomorrow|now|then|"
                        r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|"
                        r"february|march|april|may|june|july|august|september|october|november|"
                        r"december|the\s+(\d|first|start|end|beginning|middle|new\s+year))\b)")
# Steps a customer takes to leave, asked for or done, where the asking is the signal (a
# question counts): a PAC / STAC / port-out code, auto-renewal off, the notice period.
LEAVING_STEP_CUES: GatedCues = gated_cues((
        (("pac stac pin code",),
         rf"\b(send|give|need|want|request(ed|ing)?|like|text|email|issue|generate|provide|"
         rf"apply\s+for|ask(ed)?\s+for|waiting\s+(for|on))\s+(me\s+)?(my|a|the|our|an)\s+"
         rf"{_CODE}\b|\b(get|what'?s|what\s+is)\s+(me\s+)?(my|our)\s+{_CODE}\b|"
         r"\b(my|a)\s+(pac|stac)(\s+code)?\s+(please|asap|now|today)\b|"
         rf"(^|[.!?,;:]\s*){_CODE}(\s+code)?\s+(requested|please|asap|needed|required)\b"),
        (("auto automatic autorenew autorenewal",
          "off disable disabled disabling stop stopped cancel cancelled canceled remove "
          "removed opt"),
         r"\b(turn(ed|ing)?|switch(ed|ing)?|shut)\s+off\s+(the\s+|my\s+)?auto(matic)?[- ]?"
         r"renew(al|ing)?\b|"
         r"\b(disabl(e|ed|ing)|stop(ped)?|cancel(l?ed)?|remov(e|ed)|opt\s+out\s+of)\s+(the\s+|"
         r"my\s+)?auto(matic)?[- ]?renew(al|als|ing|s)?\b|"
         r"\b(turn|switch)\s+(the\s+|my\s+)?auto(matic)?[- ]?renew(al)?\s+off\b|"
         r"\bopt\s+(me|us)\s+out\s+of\s+(the\s+)?auto(matic)?[- ]?renew(al|ing)?\b"),
        (("notice",),
         r"\b(my|our)\s+notice\s+period\b|"
         r"\bhow\s+much\s+notice\s+(do|would|should|must)\s+(i|we)\s+(need\s+to\s+|have\s+to\s+)?"
         r"give\b"),
    ))
# the writer's own window to leave without paying, invoked or asked about (a question
# counts): "I'm within the 14 day cooling off period, right?", "I'd like to exercise my right
# to cancel within 14 days", "Can I still cancel under the 30 day money back guarantee?",
# "How do I cancel my free trial so I'm not billed?" (not "What is your cooling-off
# period?", "Do you offer a money-back guarantee?", "end my trial early and start the paid
# plan", the window passed with the customer staying)
_WINDOW = (r"((\d+|fourteen|thirty)[- ](day|night)\s+)?(cooling[- ]?off(\s+(period|window|rules|"
           r"days|time))?|money[- ]?back\s+guarantee|(free\s+)?trial(\s+period)?|(statutory\s+|"
           r"legal\s+)?right\s+to\s+(cancel|withdraw))")
_NO_PENALTY = (r"((\d+|fourteen)[- ]day\s+)?(cooling[- ]?off|money[- ]?back\s+guarantee|"
               r"(statutory\s+|legal\s+)?right\s+to\s+(cancel|withdraw))")
# the writer within one: "I'm still within the", "am I in my"
_WITHIN = (r"\b(i'?m|i\s+am|we'?re|we\s+are|am\s+i|are\s+we)\s+(still\s+)?(with)?in(side)?\s+"
           r"(my|our|the)\s+")
LEAVING_WINDOW_CUES: GatedCues = gated_cues((
        (("cooling money right trial",),
         (rf"{_WITHIN}{_NO_PENALTY}\b",
          rf"\b(us(e|ing)|exercis(e|ing)|invok(e|ing)|claim(ing)?|tak(e|ing)\s+(you\s+)?up\s+on)"
          rf"\s+(my|our|the|your)\s+{_WINDOW}",
          rf"\b(cancel\w*|(want|get|opt|back)\s+out|leave|end|terminat\w*|exit|withdraw\w*|"
          rf"refund\w*)\b[^.!?]{{0,40}}\b(within|during|under|in)\s+(my|our|the|your)\s+{_WINDOW}",
          r"\b(cancel\w*|end|stop)\s+(my|our|the)\s+(free\s+)?trial\b",
          r"\bcooling[- ]?off\b")),
        (("days", "cancel cancelling canceling cancelled canceled"),
         r"\b(i|we)\b[^.!?]{0,30}\bcancel\w*[^.!?]{0,40}\bwithin\s+(the\s+|my\s+|our\s+)?"
         r"(first\s+)?(14|fourteen|30|thirty)\s+days\b"),
        # within a trial or the first days: only with leaving in the sentence
        (("trial days", "cancel cancelling canceling withdraw out refund return leave stop"),
         rf"{_WITHIN}(((\d+|fourteen|thirty)[- ](day|night)\s+)?(free\s+)?trial(\s+period)?|"
         r"(first\s+)?(14|fourteen|30|thirty)\s+days)"
         r"\b(?=[^.!?]*\b(cancel\w*|withdraw\w*|(back|want|get|opt)\s+out|refund\w*|return\w*|"
         r"leav(e|ing)|stop)\b)"),
    ))
# not leaving in such a window: it passed and they stayed, they upgrade or go ahead
_NOT_A_WINDOW = re.compile(r"\b(if\s+(i|we)\s+(sign|join|buy|order|take|go\s+ahead)|"
                           r"before\s+(i|we)\s+(sign|join|buy|order|commit)|on\s+new\s+(contracts?|plans?|orders?)|"
                           r"information|out\s+of\s+date|(not|never)\s+(planning|going|intending|"
                           r"looking)\s+to|(i'?m|i\s+am|we'?re|we\s+are)\s+(still\s+)?staying|"
                           r"(has|have|had)\s+(now\s+)?(ended|expired|passed|run\s+out)\b"
                           r"[^.!?]{0,40}\b(happy|glad|pleased|stay)|(happy|glad|pleased)\s+"
                           r"(i|we)\s+(stayed|didn'?t|did\s+not|kept)|won'?t\s+need\s+it|"
                           r"upgrad\w*|paid\s+(plan|version|subscription|membership)|"
                           r"subscribe\s+(me|to)\b|start\s+paying|lov(e|ing)\s+it|"
                           r"go(ing)?\s+ahead)")
# not a step to leave: a code to join, a renewal turned off by mistake or to be turned on
_NOT_A_STEP = re.compile(r"\b(by\s+(mistake|accident)|accidentally|back\s+on|turn\s+it\s+on|"
                         r"join\w*|to\s+you\b|port(ing|ed)?\s+(\w+\s+)?in\b|(old|previous|"
                         r"former)\s+(provider|network|carrier|supplier)|old\s+(phone|policy|"
                         r"insurance|plan|device|car|account)|new\s+one\s+with\s+you)")
_SPACES = str.maketrans({c: " " for c in ".,;:!?\"()[]{}/\\-*~_<>|#@&+=%$"})
_SWITCH_WORDS = frozenset("switch switching leave leaving ditch ditching dump dumping".split())
# not taken as leaving: a mistake, a reinstall, a question of how to, a customer who says
# they cannot leave ("I would go elsewhere, but there is no other broadband company"), who
# moves house or office, or
# will not ("rather than go to another restaurant", "I'm not moving to another bank")
_NOT_LEAVING = re.compile(r"\b(by\s+(mistake|accident)|accidentally|reinstall\w*|re-install\w*|"
                          r"if\s+i\s+(should|can|could)|can\s+i|should\s+i|how\s+(do|can)\s+i|"
                          r"do\s+i\s+need|no\s+other|only\s+(option|choice)|wish\s+(i|we)\s+could|"
                          r"mov(e|ing)\s+house|relocat\w*|new\s+(address|home|house|flat|"
                          r"apartment|premises|office|property|phone|iphone|handset|device|"
                          r"mobile|sim)|(last|final)\s+(payment|instal+ment)\s+on\s+(the|my|"
                          r"our)\s+(loan|car|mortgage|finance|phone)|(until|till)\s+(the|you|your|"
                          r"they|it|next)|\ban?\s+(\w+\s+){0,2}(isa|account|policy|plan|"
                          r"mortgage|product|card|pension)\s+(with|at)\s+(you|u)\b|"
                          r"(to|onto)\s+your\s+(new|latest|other|"
                          r"updated)|but\s+(we|i)\s*('re|'m|\s+are|\s+am|'ll|\s+will|\s+want\s+to|"
                          r"\s+would\s+like\s+to|'d\s+rather|\s+would\s+rather|'d\s+prefer\s+to|"
                          r"\s+would\s+prefer\s+to)?\s+(still\s+)?(love|like|keep|keeping|stay|"
                          r"staying|use|using)\b|"
                          r"would\s+(gladly\s+|happily\s+)?(have\s+)?(go|gone|switch\w*|leave|left|"
                          r"chose|chosen|picked|cancel\w*)\b|(can'?t|cannot|unable\s+to)"
                          r"\s+(just\s+)?(take|go|switch|leave|move|change)|monopoly|rather\s+than|"
                          r"(won'?t|not|never|don'?t|was\s+going\s+to|were\s+going\s+to|no\s+longer\s+"
                          r"want\s+to)\s+(be\s+)?((going|planning|intending|looking)\s+to\s+)?cancel\w*|(that|which)\s+(i|we)\s+(would\s+"
                          r"like|need|want|have)\s+to\s+cancel|about\s+cancel\w*|(can|could)\s+you\s+"
                          r"(please\s+)?cancel|(not|n't)\s+(be\s+)?"
                          r"(go|going|switch\w*|mov\w*|tak\w*|find\w*|look\w*)\s+(\w+\s+)?(to\s+)?"
                          r"(another|a\s+(new|different|better)|elsewhere|somewhere))\b")


# A switch already made (docs/models.md, "Leaving said without a request"): "Switched to
# Monzo last week.", "I've moved my mortgage to Nationwide.", "I'm with Octopus now."
SWITCHED_TO_NAMED = re.compile(r"switched(\s+over)?\s+to\s+(?P<name>@?[a-z][\w&'-]*)")
MOVED_TO_NAMED = re.compile(
    r"(moved|took|transferred|ported)\s+(my|our|the)\s+(accounts?|money|number|mortgage|savings|"
    r"contract|business|custom|broadband|energy|isa|pension)\s+(over\s+)?to\s+"
    r"(?P<name>@?[a-z][\w&'-]*)")
WITH_NAMED_NOW = re.compile(
    r"\b(i'?m|i\s+am|we'?re|we\s+are)\s+(now\s+with\s+(?P<name>@?[a-z][\w&'-]*)|with\s+"
    r"(?P<later>@?[a-z][\w&'-]*)\s+now\b)")
# the writer as the subject just before it, or an opening "Finally" / "Already"
_WHEN = r"(just|already|finally|now|recently|actually)\s+"
_BY_WRITER = re.compile(r"(\b(i|we|i'?ve|we'?ve|i\s+have|we\s+have|i'?d|we'?d|i\s+had|we\s+had)"
                        rf"\s+({_WHEN})?|(^|[.!?,;:]\s*){_WHEN})\Z")
_SWITCHED_WORDS = frozenset("switched moved took transferred ported with".split())


def own_name_keys(names: Iterable[str]) -> frozenset[str]:
    """The words a switch's NAME is compared with for the company's own ``names`` ("Acme
    Bank", "@AcmeBank"): each name lower-cased without its "@", its first word, and its
    words run together ("acme", "acmebank")."""
    keys: set[str] = set()
    for name in names:
        words = name.strip().lower().lstrip("@").split()
        if words:
            keys |= {words[0], "".join(words)}
    return frozenset(keys)


def written_name(text: str, low: str, m: re.Match[str], group: str = "name",
                 not_names: frozenset[str] = NOT_A_COMPANY) -> str | None:
    """``m``'s ``group`` (matched in ``low``, the lower-cased ``text``) when it is written
    as a name: an @handle, without its "@", or a word written capitalised that is not one of
    ``not_names``; None otherwise."""
    at, name = m.start(group), m[group]
    if low[at] == "@":
        return name[1:]
    return name if text[at].isupper() and name not in not_names else None


def _named(text: str, low: str, m: re.Match[str], own: frozenset[str],
           group: str = "name") -> bool:
    """Whether ``m``'s ``group`` names another company (:func:`written_name`), not one of
    the company's ``own`` names (:func:`own_name_keys`: a customer who says they switched
    to it joined), nor followed by where the writer came from."""
    name = written_name(text, low, m, group)
    return name is not None and name not in own and not _CAME_FROM.match(low, m.end())


def _switched(text: str, low: str, own: frozenset[str]) -> list[int]:
    """Where the writer says they have already switched to another named company (not one
    of ``own``): "switched to" or "moved my account to" NAME opening a sentence or clause or
    after I / we (I've, we had, ...); "I'm with NAME now"."""
    found = []
    for m in [*SWITCHED_TO_NAMED.finditer(low), *MOVED_TO_NAMED.finditer(low)]:
        s = m.start()
        if _inside_word(low, s) or not _named(text, low, m, own):
            continue
        if (_opens_clause(low, s) and not _SWITCH_AS_SUBJECT.match(low, m.end())) \
                or _BY_WRITER.search(low, max(0, s - 40), s):
            found.append(s)
    found += [m.start() for m in WITH_NAMED_NOW.finditer(low)
              if _named(text, low, m, own, "name" if m["name"] else "later")]
    return found


def _switches(low: str) -> list[re.Match[str]]:
    """:data:`SWITCH_TO_NAMED` said ahead by the writer (:data:`_SWITCH_AHEAD`), or opening a
    sentence and not its subject (:data:`_SWITCH_AS_SUBJECT`); :data:`LEAVING_YOU_FOR`."""
    found = list(LEAVING_YOU_FOR.finditer(low))
    for m in SWITCH_TO_NAMED.finditer(low):
        s = m.start()
        if _inside_word(low, s):
            continue
        if _opens_clause(low, s):
            if not _SWITCH_AS_SUBJECT.match(low, m.end()):
                found.append(m)
        elif _SWITCH_AHEAD.search(low, max(0, s - 40), s):
            found.append(m)
    return found


def _inside_word(low: str, s: int) -> bool:
    return bool(s) and (low[s - 1].isalnum() or low[s - 1] == "_")


def _opens_clause(low: str, s: int) -> bool:
    """Whether ``low[s:]`` opens the text, a sentence or a clause (after . ! ? , ; :)."""
    j = s
    while j and low[j - 1].isspace():
        j -= 1
    return s == 0 or (j > 0 and low[j - 1] in ".!?,;:")


@lru_cache(maxsize=256)
def prepared(text: str) -> tuple[str, str, frozenset[str]]:
    """``text`` as the English rules read it (of a transcript written as ``Agent:`` /
    ``Customer:`` lines, the customer's lines; hashtags as their words, "#NeverAgain" as
    "Never Again"), the same lower-cased (as long: "’" read as
    "'", a character that lower-cases to two, like "İ", kept) and the set of its words. Kept
    for the last texts: the rules read the same batch one after the other."""
    lines = customer_lines(text)
    if lines:
        text = "\n".join(lines)
    text = hashtags_as_words(text)
    low = _as_sentence_start(lowered(text))
    return text, low, frozenset(low.translate(_SPACES).split())


_LEADING_MENTIONS = re.compile(r"\s*(@\w+[\s,:]*)+")


def _as_sentence_start(low: str) -> str:
    """A tweet's leading handles ("@PizzaCo never again.") read as the end of a sentence, so
    that a cue that starts one is found after them; as long as before (an anchored match:
    most texts fail it at their first character)."""
    m = _LEADING_MENTIONS.match(low)
    if m is None or m.end() == len(low):
        return low
    return "." + " " * (m.end() - 1) + low[m.end():]


def word_start(low: str, m: re.Match[str]) -> int:
    """Where a match's words start: past the end of the sentence before that some patterns
    match first ("Thanks. Never again." is quoted from "Never"; the rules of
    ``models.repeats`` and ``models.escalations`` too)."""
    i = m.start()
    while i < m.end() and low[i] in ".!?,;: \t\r\n":
        i += 1
    return i


# the writer no longer uses what they pay for: "not using the gym anymore", "I haven't used
# the service in months, why am I still paying for it?" (not a card, an e-mail address or a
# router; not "what if I don't use it for a month?", "haven't used the app yet")
_DISUSE_WORDS = (frozenset("use using used open opened opening watch watched watching been "
                           "logged log going go".split()),
                 frozenset("not don't dont longer hardly barely rarely haven't havent aren't "
                           "arent".split()))
_DISUSED = (r"(it|(the|your|my|our|this)\s+(\w+\s+)?(service|app|gym|platform|membership|"
            r"subscription|account|product|box|channel|site|website|plan|portal|software|tool|"
            r"system)s?)\b")
#: matched from the negation; the writer before it and the time after it are checked on the
#: match ("no longer" needs no time)
DISUSE_CUE = re.compile(
    r"\b((?P<no>no\s+longer)|do\s+not|don'?t|(hardly|barely|rarely)(\s+ever)?|not|haven'?t|"
    r"have\s+not|am\s+not|are\s+not|aren'?t)\s+(really\s+|even\s+|actually\s+)?(been\s+)?"
    r"(us(e|ing|ed)|open(ed|ing)?|watch(ed|ing)?|go(ing)?\s+to|been\s+to|log(ged|ging)?\s+(in|on)"
    rf"(to|\s+to)?)\s+{_DISUSED}(?P<when>[^.!?]{{0,40}}?\b(any\s?more|these\s+days|(in|for)\s+"
    r"(over\s+|more\s+than\s+|about\s+|nearly\s+|almost\s+)?(a\s+|\d+\s+|two\s+|three\s+|"
    r"four\s+|six\s+|several\s+|many\s+)?(weeks|months|ages|years?|while))\b)?")
_WRITER_BEFORE = re.compile(
    r"(^|[.!?,;:]|\b(i|we|i'?ve|we'?ve|i'?m|we'?re))(\s+(do|have|am|are))?$")
_NEGATIONS = ("not ", "n't ", "no longer", "hardly", "barely", "rarely")


def _disuse(low: str) -> list[int]:
    """Where the writer says they no longer use what they pay for (:data:`DISUSE_CUE`,
    tried only where a negation stands: a regex scan of a long text costs more)."""
    found = []
    for negation in _NEGATIONS:
        i = low.find(negation)
        while i != -1:
            start = i
            while start and (low[start - 1].isalpha() or low[start - 1] == "'"):
                start -= 1
            m = DISUSE_CUE.match(low, start)
            if m is not None and (m["no"] or m["when"]) \
                    and _WRITER_BEFORE.search(low[max(0, start - 16):start].rstrip()):
                found.append(start)
            i = low.find(negation, i + 1)
    return found


_NOT_DISUSE = re.compile(r"\b(if|when|whether|unless|yet)\b")


def implicit_leaving(text: str, own_names: frozenset[str] = frozenset()) -> str | None:
    """The first sentence of ``text`` that says the writer is leaving without asking to close
    anything (:data:`IMPLICIT_LEAVING_CUES`: "You've lost a customer.", "Won't be ordering from
    you again.", "This will be my last order with you.", "I'm porting my number to EE"), in
    a sentence that is not a question ("can I move my savings to another bank?"), an accident
    ("deleted the app by mistake") or a customer who cannot leave; None when there is none.
    Of a transcript written as ``Agent:`` / ``Customer:`` lines, only the customer's lines
    are read. English only. With the company's ``own_names`` (:func:`own_name_keys`), a
    switch already made to another named company too ("Switched to Monzo last week.")."""
    text, low, words = prepared(text)
    starts = [(word_start(low, m), kind)
              for table, kind in ((IMPLICIT_LEAVING_CUES, ""), (LEAVING_STEP_CUES, "step"),
                                  (CANCEL_IT_CUES, "cancel_it"), (LEAVING_WINDOW_CUES, "window"))
              for pattern in open_patterns(table, words) for m in pattern.finditer(low)]
    if not text.isupper():
        named = (_switches(low) if not words.isdisjoint(_SWITCH_WORDS) else []) + (
            [m for p in (MOVE_TO_NAMED, ULTIMATUM_MOVE) for m in p.finditer(low)]
            if not words.isdisjoint(_MOVE_WORDS) else []) + (
            list(MIGRATE_TO_NAMED.finditer(low)) if not words.isdisjoint(_MIGRATE_WORDS)
            else []) + (
            list(MOVE_DECIDED.finditer(low))
            if not (words.isdisjoint(_DECIDED_WORDS) or words.isdisjoint(_MOVE_NOUNS)) else []) + (
            list(QUOTE_FROM_NAMED.finditer(low)) if not words.isdisjoint(_QUOTE_WORDS) else [])
        starts += [(m.start(), "") for m in named if _named(text, low, m, frozenset())]
        if own_names and not words.isdisjoint(_SWITCHED_WORDS):
            starts += [(start, "") for start in _switched(text, low, own_names)]
    if not (words.isdisjoint(_DISUSE_WORDS[0]) or words.isdisjoint(_DISUSE_WORDS[1])):
        starts += [(start, "disuse") for start in _disuse(low)]
    if not starts:
        return None
    spans = wrapped_sentence_spans(text)
    for start, kind in sorted(starts):
        a, b = span_at(spans, start, len(text))  # the sentence the match starts in
        sentence = low[a:b].strip()
        if kind == "step":
            if not _NOT_A_STEP.search(low):
                return text[a:b].strip()
        elif kind == "window":  # a question counts ("I'm within the cooling off period, right?")
            if not _NOT_A_WINDOW.search(low):
                return text[a:b].strip()
        elif kind == "disuse":  # a question that says it counts ("... why am I still paying?")
            if not (_NOT_DISUSE.search(low, a, start) or _NOT_DISUSE.search(sentence)):
                return text[a:b].strip()
        elif not (_NOT_LEAVING.search(sentence) or sentence.endswith("?")
                  or (kind == "cancel_it" and _NOT_CANCEL_IT.search(sentence))):
            return text[a:b].strip()
    return None
