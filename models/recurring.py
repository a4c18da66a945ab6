"""The writer says a failure keeps happening: "@FoodDash order late again, 70 mins", "missing
drinks again. Every time.", "Third week in a row my order is wrong.", "the app keeps crashing",
"the line went dead. Same as yesterday." English, hand-written (docs/models.md, "Said to keep
happening").

Not a repeat contact (``models.repeats``: the writer contacted before): a failure can recur
without a word to support. The detector reads it (flag ``recurring_problem``): such a message
is at least a ``medium`` case, and the alert says so.

A marker of recurrence ("again", "keeps ...-ing", "every time", "third week in a row") is
read in a sentence that is not praise, not a question whether it will happen, not a
hypothetical, not the writer's own doing repeated and not a request. Some markers
("always", "every order", the counted ones) also need a failure: a word of :data:`FAIL`, a
clause VADER reads as negative, or, where the text names none, the models' reading of a
problem in the message (``models.classifier.read_recurring``).
"""

from __future__ import annotations

import re
from functools import lru_cache

from models.cues import GatedCues, gated_cues, open_patterns, prepared, word_start
from models.pieces import span_at, wrapped_sentence_spans
from models.valence import valence

#: what went wrong: a word or phrase of a failure (the company's side of it)
_FAIL = (
    r"(late|delayed|missing|wrong|broken|broke|dead|cold|damaged|dented|cancell?ed|"
    r"fail(ed|ing|s)?|crash(ed|es|ing)?|not\s+(working|arrived|delivered|turned\s+up|shown\s+up|"
    r"showing\s+up|fixed|loading|connecting|charging|there|included)|stopped\s+\w+ing|"
    r"stopped\s+working|(wasn'?t|weren'?t|hasn'?t\s+been|haven'?t\s+been)\s+(delivered|fixed|"
    r"included|sent|collected|refunded|paid)|didn'?t\s+(arrive|turn\s+up|show(\s+up)?|come|"
    r"work|load|deliver|connect)|never\s+(arrives?|arrived|comes?|came|turns?\s+up|turned\s+up|"
    r"shows?\s+up|showed\s+up|works?|worked|loads?|connects?)|no[- ]show|overcharg\w*|"
    r"double[- ]charged|duplicate|out\s+of\s+stock|outages?|errors?|glitch\w*|bug(s|gy)?|stuck|"
    r"froze|frozen|freez\w*|drop(ped|ping|s)(\s+out)?|disconnect\w*|(logged|signed|kicked)\s+"
    r"(me\s+|us\s+)?out|(logs|signs|kicks|logging|signing|kicking)\s+(me|us)\s+out|slow|rude|"
    r"leak(s|ed|ing)?|faulty|incorrect|missed|cut\s+off|cutting\s+out|power\s+cut|buffer\w*|"
    r"spilt|spilled|melted|soggy|unavailable|declined|bounc(e|ed|es|ing)|expir(ed|es|ing)|"
    r"tim(ed|es|ing)?\s*out|let\s+(me|us)\s+down|no\s+(hot\s+water|heating|power|signal|internet|"
    r"service|connection|wi-?fi|reply|response|answer)|ignored|unanswered|hung\s+up|"
    r"bad|poor|terrible|awful|rubbish|useless|unusable|unacceptable|disappoint\w*|"
    r"(you|they|the\s+\w+)\s+(have\s+|'ve\s+)?(lost|forgot\w*)|"
    r"((is|was|were|are|been|went|goes|going|gone|'s|'re)\s+(\w+\s+)?|(internet|site|website|"
    r"app|service|system|server|network|wifi|broadband|line|platform|dashboard|portal|phones?|"
    r"power|signal|connection)s?\s+(is\s+|was\s+)?)down|(marked|shows?|showing|says)\s+(it\s+|"
    r"as\s+)?delivered)"
)
FAIL = re.compile(rf"\b{_FAIL}\b")
_COUNT = (r"(second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|\d+(st|nd|rd|th)|"
          r"nth|umpteenth)")
_COUNTED_THING = (r"(time|week|day|night|month|fortnight|order|delivery|weekend|visit|trip|bill|"
                  r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
                  r"one|(\w+\s+)?(outage|failure|delay|cancellation|incident|no-show|order|"
                  r"delivery|bill|week|day|night|month|statement))")
_SPAN = (r"(in\s+a\s+row|running|on\s+the\s+(trot|bounce)|this\s+(week|month|year|morning|"
         r"weekend|fortnight)|in\s+(a|one|the\s+(last|past))\s+(\w+\s+)?(week|month|fortnight|"
         r"year|days?)|in\s+\w+\s+(days|weeks|months)|since\s+\w+)")
_EVERY = (r"(every\s+(single\s+)?(time|night|day|week|weekend|order|delivery|month|morning|"
          r"evening|visit|trip)|each\s+(time|night|day|week|morning|evening)\s+(?=(i|we|you|it|"
          r"they|the|my|our|he|she)\b)|every\s+other\s+(day|week|order|time|month)|all\s+the\s+"
          r"time|constantly|continually|repeatedly)")
_SAME_AS = (r"same\s+(as|thing\s+as)\s+(yesterday|last\s+(time|week|night|month|year|\w+day)|"
            r"before|usual|ever|in\s+\w+|(the|my|our)\s+(first|last|previous|other)\s+\w+)")

#: markers that say it recurs by themselves (the sentence checks suffice)
RECURS_CUES: GatedCues = gated_cues((
        (("again",), (
            r"\bagain\b",
        )),
        (("once", "more"), (
            r"\bonce\s+more\b",
        )),
        (("keep keeps kept keeping",), (
            r"(?<!to\s)(?<!'ll\s)(?<!will\s)\b(keeps|kept|keeping|keep)\s+(on\s+)?(?!(thinking|"
            r"looking|wanting|wondering|hoping|coming|going|improving|smiling|laughing|reading|"
            r"watching|wearing|buying|ordering|using|playing|listening|shopping|returning|"
            r"checking|getting\s+better|trying|(every|any|no|some)?thing|morning|evening|"
            r"string|ring|king|bring|wedding|building|clothing|ceiling)\b)\w+ing\b",
        )),
        (("another",), (
            r"\b(yet\s+)?another\s+(\w+\s+){0,2}?(outage|failure|late|missed|wrong|cancell?ed|"
            r"delayed|broken|damaged|faulty|no-show|disconnection|power\s+cut|error|crash|delay|"
            r"cancellation|overcharge|mistake|missing|cold|leak|fault|bug|glitch|breakdown|"
            r"incorrect|mix-?up|screw-?up|cock-?up|blunder|disaster|fiasco|disappointment)s?\b",
        )),
        (("happens happening", "every each all always constantly"), (
            rf"\b(it|this|that)\s+(always\s+|constantly\s+)?(happens|is\s+happening|'s\s+"
            rf"happening)(\s+{_EVERY})?\b",
        )),
    ))
#: markers that need a failure in the sentence: "always late", not "always on time"
RECURS_IF_FAILURE_CUES: GatedCues = gated_cues((
        (("every each all constantly continually repeatedly",), (
            rf"\b{_EVERY}\b",
            r"\bevery\s+(single\s+)?(delivery|order|parcel|bill|statement|visit|call|booking)\b",
        )),
        (("always constantly forever perpetually consistently invariably usual",), (
            r"\b(always|constantly|forever|perpetually|consistently|invariably)\b",
            r"\bas\s+(usual|always|ever)\b",
        )),
        (("same",), (
            rf"\b{_SAME_AS}\b",
        )),
        (("over",), (
            r"\bover\s+and\s+over\b",
        )),
        (("after", "time"), (
            r"\btime\s+after\s+time\b",
        )),
        (("second third fourth fifth sixth seventh eighth ninth tenth nth umpteenth "
          "#ordinal",), (
            rf"\b{_COUNT}\s+{_COUNTED_THING}\s+{_SPAN}\b",
            rf"\b((this|that)\s+is|that'?s|it'?s|for)\s+(the|my|our)\s+{_COUNT}\s+(time|month|"
            r"week)\b",
        )),
        (("twice two three four five six several multiple #number",
          "twice times days weeks months nights orders deliveries bills"), (
            r"\btwice\s+now\b",
            r"\b((?<!charged\s)(?<!billed\s)(?<!debited\s)(?<!paid\s)twice|(two|three|four|five|"
            r"six|several|multiple|\d+)\s+(times|days|weeks|months|nights|orders|deliveries|"
            r"bills))\s+(in\s+a\s+row|running|on\s+the\s+trot|this\s+(week|month|year|fortnight)|"
            r"in\s+(a|one|the\s+(last|past))\s+(\w+\s+)?(week|month|fortnight|year|days?))\b",
            # "three times since September" (not "three days since I signed up": how long)
            r"\b(twice|(two|three|four|five|six|several|multiple|\d+)\s+times)\s+since\s+\w+",
        )),
    ))

_DIGIT_ORDINAL = re.compile(r"\d(st|nd|rd|th)\b")
_NUMBER = re.compile(r"\d")
# (a) praise
_PRAISE = re.compile(r"\b(thanks|thank\s+you|love|loved|perfect|spot\s+on|smooth|lovely|well\s+"
                     r"done|excellent|brilliant|amazing|fantastic|good\s+job|nice\s+one|helpful|"
                     r"recommend|(great|good)\s+(service|job|meal|food|experience|value))\b")
#: VADER compound of a sentence read as praise (not read), and of a clause read as negative
POSITIVE = 0.3
NEGATIVE = -0.05
# (b) a question is read only when it is a complaint put as one ("Why is it always late?")
_COMPLAINT_QUESTION = re.compile(r"^[\s@\w]*?\b(why|how\s+come|how\s+many|how\s+hard|what'?s\s+"
                                 r"going\s+on|what\s+is\s+going\s+on|seriously|really)\b")
# (c) hypothetical or prevention, before the marker
_HYPOTHETICAL = re.compile(r"\b(if|in\s+case|worried|afraid|hope|hoping|don'?t\s+let|do\s+not\s+"
                           r"let|make\s+sure|ensure|so\s+that|unless|stop|prevent|avoid|would|"
                           r"could)\b")
# (d) the writer's own doing: a clause whose subject is the writer, with a verb that is not
# suffering it ("I called again", "I'll try again", "I always order"; not "I got charged
# again", "I keep getting errors", "we've had no hot water")
_CLAUSE_START = re.compile(r".*(^|[,;:.!?\n(]|\b(and|but|then|so|because|when|while|as|since|"
                           r"though|although|which|who|that|after|before|if)\b)\s*",
                           re.DOTALL)
_WRITER_DOES = re.compile(
    r"^(just\s+|so\s+|ok\s+|well\s+)?(will|would|shall|can'?t\s+wait\s+to)\b|"
    r"^(just\s+|so\s+|ok\s+|well\s+)?((i|we)(('ll|'d|'m|'ve|'re)\s+|\s+)((will|would|can|could|might|may|shall|"
    r"should|must|want\s+to|need\s+to|have\s+to|had\s+to|going\s+to|tried\s+to|try\s+to|"
    r"always|often|usually|normally|also|just|then|only|never)\s+)*(?!(got|get|gets|getting|"
    r"was|were|been|am|'m|are|'re|had|have|'ve|has|keep\s+(getting|being|having|receiving|"
    r"losing)|received|receive|lost|lose|suffer\w*|experienc\w*|faced?|found|find|see|saw|"
    r"noticed|notice|ended\s+up|end\s+up)\b)\w+|(checking|following|writing|e-?mailing|"
    r"calling|chasing|getting\s+in\s+touch|reaching\s+out|trying|asking|contacting|messaging|"
    r"tried|went|came|ordered|visited|booked|bought|returned|called|rang|e-?mailed|wrote)\b)")
# the writer right before a "keep" marker: "I kept thinking", "we keep ordering"
_WRITER_KEEPS = re.compile(r"\b(i|we)\s+((just|still|always|also)\s+)?$")
# the writer's contacts counted ("This is the third time I am writing about this"):
# ``models.repeats`` reads that, and it says nothing of a failure recurring
_CONTACT_COUNTED = re.compile(r"\s+(that\s+)?(i|we)('ve|'m|\s+am|\s+have|\s+are|'re)?\s+"
                              r"(been\s+|had\s+to\s+)?(writ|wrote|call|contact|e-?mail|messag|chas|ask|rais|report|"
                              r"complain|ring|rang|phon|chat|sen[dt]|explain|spoke|speak)\w*")
_COUNTED_TIME = re.compile(rf".*\b{_COUNT}\s+time", re.DOTALL)
# (e) a request
_REQUEST = re.compile(r"\b(please|pls|could\s+you|can\s+you|would\s+you|will\s+you|kindly|"
                      r"let\s+me)\b")
# (f) leaving, not recurring: "never ordering again", "won't be using you again"
_LEAVING = re.compile(r"\b(never|won'?t|wont|will\s+not|not\s+going\s+to|wouldn'?t|shan'?t|"
                      r"no\s+longer)\s+(\w+\s+){0,4}?again\b")
# (g) idioms: "off and on again", "back up again", "hello again", "sorry to bother you again",
# the writer back in touch ("Back again.": a repeat contact)
_IDIOM = re.compile(r"\b(off\s+and\s+on|on\s+and\s+off|back\s+(up|on|online|to\s+normal)|"
                    r"(?<!not\s)(?<!n't\s)working|up\s+and\s+"
                    r"running|thanks|thank\s+you|fine|ok|okay|sorted|hello|hi|hey|see\s+you|"
                    r"bother(ing)?\s+you|trouble\s+you|come|same|try|(does|did|done|do)\s+it|works|"
                    r"worked|fixed|resolved|running|online)\s+again\b|\b(order|buy|bought|shop|fly|"
                    r"flew|stay|book|visit|use|used|using|come\s+back|return|eat|dine|recommend|"
                    r"renew|subscrib|sign\w*\s+up)\w*\s+((?!(late|wrong|missing|delayed|cold|"
                    r"damaged|broken|cancell?ed|failed|short)\b)\w+\s+){0,3}?again\b|\bagain\s*,?\s*"
                    r"(thanks|thank\s+you|many\s+thanks)\b|"
                    # the writer back in touch: "Back again. Same issue", "I'm back again"
                    r"(^|\b(i'?m|i\s+am|we'?re|we\s+are|me)\s+)back\s+again\b")
# a failure negated: "it wasn't late again"
_NEGATED = re.compile(r"\b(wasn'?t|isn'?t|weren'?t|aren'?t|won'?t\s+be|not|never(\s+been?)?|no\s+"
                      r"longer|doesn'?t|don'?t|didn'?t)\s+(as\s+|too\s+|so\s+|even\s+)?(late|cold|"
                      r"wrong|broken|down|slow|missing|delayed|damaged|bad|poor|terrible|awful|"
                      r"rubbish|disappoint\w*|fail\w*|let\s+(me|us)\s+down)\b")
# the writer's own slip before a failure word: "I missed the delivery again", "I'm always cold"
_SELF = re.compile(r"\b(i|we)('ve|'m|\s+am|'re|\s+are|\s+have|\s+had|'d|\s+just|\s+accidentally|"
                   r"\s+always|\s+often|\s+feel|\s+felt|\s+run|\s+ran)*\s*$")
_CLAUSE_END = re.compile(r"[,;:.!?\n(]|\b(and|but|then|so|because|when|while|as|since|though|"
                         r"although|which|who|after|before|if)\b")
#: at most this many markers of a text are read (the first ones): the cost of a text is bounded
_MAX_MARKERS = 32
#: VADER reads at most this many characters of a sentence
_VADER_CHARS = 400


def says_recurring(text: str) -> str | None:
    """The sentence of ``text`` in which the writer says a failure keeps happening and names
    it (:func:`recurrence`), or None."""
    found = recurrence(text)
    return found[0] if found is not None and found[1] else None


def recurrence(text: str) -> tuple[str, bool] | None:
    """(the sentence of ``text`` in which the writer says something keeps happening, whether
    it names a failure), or None (:data:`RECURS_CUES`, :data:`RECURS_IF_FAILURE_CUES`). A
    sentence that names none ("Our Wi-Fi goes off every night") counts where the models read
    a problem in the message (``models.classifier.apply_rules``). Of a transcript written as
    ``Agent:`` / ``Customer:`` lines, only the customer's lines are read. English only."""
    text, low, words = prepared(text)
    if _DIGIT_ORDINAL.search(low):
        words = words | {"#ordinal"}
    if _NUMBER.search(low):
        words = words | {"#number"}
    found = sorted([(word_start(low, m), m.end(), False)
                    for pattern in open_patterns(RECURS_CUES, words) for m in pattern.finditer(low)]
                   + [(word_start(low, m), m.end(), True)
                      for pattern in open_patterns(RECURS_IF_FAILURE_CUES, words)
                      for m in pattern.finditer(low)])
    spans = wrapped_sentence_spans(text) if found else []
    sentences: dict[tuple[int, int], bool] = {}  # each sentence is read once
    unnamed: tuple[str, bool] | None = None  # the first marker whose failure is not named
    for start, end, needs_failure in found[:_MAX_MARKERS]:
        if _COUNTED_TIME.fullmatch(low, start, end) and _CONTACT_COUNTED.match(low, end):
            continue  # "This is the third time I am writing about this": a repeat contact
        a, b = span = span_at(spans, start, len(text))
        if span not in sentences:
            sentences[span] = _sentence_read(low, a, b)
        if not sentences[span]:
            continue
        before, head, clause = _clause(low, a, b, start, end)
        if (_HYPOTHETICAL.search(before) or _REQUEST.search(before) or _WRITER_DOES.match(clause)
                or (low.startswith("keep", start) and _WRITER_KEEPS.search(head)
                    and not low.startswith(("keep getting", "keep being"), start))):
            continue
        # "Again, ..." opening a clause is often "as I said": it needs a failure too
        opens_with_again = not head and low.startswith("again", start)
        said = text[a:b].strip()
        if not said:
            continue
        if (needs_failure or opens_with_again) and not _names_failure(low, a, before, clause):
            unnamed = unnamed or (said, False)
            continue
        return said, True
    return unnamed


def _sentence_read(low: str, a: int, b: int) -> bool:
    """Whether the sentence ``low[a:b]`` is read at all: not praise, not a question whether
    it will happen, not leaving, not an idiom, not a negated failure."""
    sentence = low[a:b].strip()
    if sentence.endswith("?") and not _COMPLAINT_QUESTION.match(sentence):
        return False
    if (_PRAISE.search(sentence) or _LEAVING.search(sentence) or _IDIOM.search(sentence)
            or _NEGATED.search(sentence)):
        return False
    return _compound(sentence) < POSITIVE


@lru_cache(maxsize=1024)
def _compound(text: str) -> float:
    """VADER's compound score of (the first characters of) ``text`` (kept for the last
    texts: a clause is often its whole sentence, read just before)."""
    return float(valence([text[:_VADER_CHARS]], ("compound",))[0, 0])


def _clause(low: str, a: int, b: int, start: int, end: int) -> tuple[str, str, str]:
    """(the sentence ``low[a:b]`` before the marker ``low[start:end]``, the marker's clause
    before it, the whole clause: from its start to the next clause break after the marker;
    for a marker opening its clause, to the sentence's end)."""
    before = low[max(a, start - 120):start]
    head = before[_CLAUSE_START.match(before).end():]  # type: ignore[union-attr]
    stop = min(b, end + 200)
    brk = _CLAUSE_END.search(low, end, stop) if head else None
    return before, head, head + low[start:brk.start() if brk else stop]


def _names_failure(low: str, a: int, before: str, clause: str) -> bool:
    """Whether the marker's clause names a failure that is not the writer's own slip, or
    VADER reads it negative; a clause that names none and is not positive looks at its
    sentence before it ("The code never arrives, every time I try."), then at the sentence
    before ("Another outage this morning. Second one in a week.")."""
    named = [(clause, f.start()) for f in FAIL.finditer(clause)]
    if _any_not_own(named):
        return True
    compound = _compound(clause)
    if compound <= NEGATIVE:
        return True
    if named or compound >= -NEGATIVE:  # its failures are the writer's own, or it is positive
        return False
    return _any_not_own([(before, f.start()) for f in FAIL.finditer(before)] or [
        (low, f.start()) for f in FAIL.finditer(low, max(0, a - 160), a)])


def _any_not_own(failures: list[tuple[str, int]]) -> bool:
    """Whether one of the failure words (a text, where the word starts) is not the writer's
    own slip ("I missed the delivery again")."""
    return any(not _SELF.search(text, max(0, at - 40), at) for text, at in failures)
