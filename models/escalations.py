"""The writer takes, or says they will take, the complaint outside the company: an
ombudsman, a regulator or consumer body, a court or a lawyer, a chargeback with their bank,
the press ("If I do not receive a satisfactory response within eight weeks I will refer this
matter to the Financial Ombudsman Service."). English, hand-written (docs/models.md, "Taking
the complaint outside").

The detector reads it (flag ``escalation_threat``): such a message that names a problem is
at least a ``high`` case.
"""

from __future__ import annotations

import re

from models.cues import GatedCues, gated_cues, open_patterns, prepared, word_start
from models.pieces import span_at, wrapped_sentence_spans

#: where a complaint goes when it leaves the company
_OUTSIDE = (
    r"((the\s+|an?\s+|my\s+)?((financial|energy|legal|property|communications|rail|travel|"
    r"pensions?|housing|local\s+government|parliamentary)\s+)?ombuds(man|men|person)(\s+services?)?|"
    r"the\s+fos|fos|(the\s+)?(industry\s+|financial\s+|energy\s+|state\s+)?regulators?|(the\s+)?"
    r"(fca|financial\s+conduct\s+authority|ofcom|ofgem|ofwat|orr|fcc|cfpb|consumer\s+financial\s+"
    r"protection\s+bureau|ftc|federal\s+trade\s+commission|bbb|better\s+business\s+bureau|"
    r"trading\s+standards|accc|ico|information\s+commissioner('s\s+office)?|citizens\s+advice|"
    r"asa|advertising\s+standards(\s+authority)?|(state\s+)?attorney\s+general('s\s+office)?|"
    r"(state\s+)?(public\s+(utilities|utility|service)\s+commission|puc)|consumer\s+"
    r"(protection|affairs|rights)(\s+(agency|office|department|bureau))?|my\s+(mp|congressman|"
    r"congresswoman|senator|representative))|(my|a|our)\s+(solicitors?|lawyers?|attorneys?|"
    r"legal\s+team)|(small\s+claims\s+)?court|the\s+(press|papers|media|newspapers?)|"
    r"(the\s+)?bbc|(the\s+)?watchdog|rip\s+off\s+britain)\b"
)
_VERB = (r"(report|refer|complain|take|taking|took|escalat|fil|lodg|submit|contact|writ|wrote|"
         r"go|went|involv|rais|open|seek|sought|instruct|sue|suing|sued|speak|spoke|call|"
         r"email|e-mail|send|sent|pass|forward|mak|made)\w*")
_FIRST = (r"(i|we)('ll|\s+will|'m|\s+am|'re|\s+are|'ve|\s+have|\s+shall|'d|\s+would|\s+had|"
          r"\s+now|\s+just|\s+already)*")
#: what the writer means to do before the verb: "I now intend to refer", "I would like to
#: escalate", "I may have to contact"
_MEANS = (r"(may\s+|might\s+|must\s+|(intend|intending|plan|planning|want|wish|like|prepared|"
          r"decided|forced|obliged|compelled|need)\s+to\s+)")

_OUTSIDE_WORDS = (
    "ombudsman ombudsmen ombudsperson fos regulator regulators fca ofcom ofgem ofwat orr fcc "
    "cfpb ftc bbb standards accc ico commissioner commissioner's citizens asa general general's "
    "commission puc consumer mp congressman congresswoman senator representative solicitor "
    "solicitors lawyer lawyers attorney attorneys legal court press papers media newspaper "
    "newspapers bbc watchdog bureau authority")
#: each way of saying it, tried only on a text holding a word of each of its gate's sets
#: (most texts hold none); matched on lower-cased text with "'" for "’"
THREAT_CUES: GatedCues = gated_cues((
        ((_OUTSIDE_WORDS,), (
            # I will refer this to the ombudsman; we have reported you to Ofcom; I'm going to
            # the press
            rf"\b{_FIRST}\s+(be\s+|now\s+|just\s+|already\s+|going\s+to\s+|about\s+to\s+|"
            rf"considering\s+|have\s+to\s+|left\s+with\s+no\s+choice\s+but\s+to\s+|"
            rf"{_MEANS})*{_VERB}\b"
            rf"[^.!?]{{0,60}}?\b(to|with|in|from|at)\s+{_OUTSIDE}",
            rf"\b{_FIRST}\s+(be\s+|now\s+|going\s+to\s+|about\s+to\s+|considering\s+|"
            rf"have\s+to\s+|{_MEANS})*(contact|"
            rf"instruct|involv|consult|call|email|e-mail|writ|wrote|speak|spoke|see|seen|hire|hired|"
            rf"get)\w*\s+{_OUTSIDE}",
            # a second verb of the writer's: "I will cancel and report you to the ombudsman"
            rf"\b{_FIRST}\s+(be\s+|now\s+|just\s+|already\s+|going\s+to\s+|about\s+to\s+)*\w+"
            rf"[^.!?]{{0,40}}?\b(and|then|or)\s+(then\s+)?(be\s+)?{_VERB}\b[^.!?]{{0,60}}?\b(to|with|"
            rf"in|from|at)\s+{_OUTSIDE}",
            rf"\b{_FIRST}\s+\w+[^.!?]{{0,40}}?\b(and|then|or)\s+(then\s+)?(be\s+)?(contact|instruct|"
            rf"involv|consult|call|email|e-mail|writ|speak|see|hire|get)\w*\s+{_OUTSIDE}",
            # sentence-first: "Will be reporting this to the Information Commissioner."
            rf"(^|[.!?]\s*)(will\s+be\s+|going\s+to\s+|now\s+)?{_VERB}\b[^.!?]{{0,60}}?\b(to|"
            rf"with)\s+{_OUTSIDE}",
            rf"(^|[.!?]\s*)(will\s+be\s+|going\s+to\s+|now\s+)?(contact|instruct|involv|consult|"
            rf"email|e-mail|writ)\w*\s+{_OUTSIDE}",
            rf"\bno\s+(other\s+)?(choice|option)\s+but\s+to\s+{_VERB}\b[^.!?]{{0,60}}?{_OUTSIDE}",
            rf"\b(been|being)\s+(referred|reported|escalated|passed|sent|forwarded)\s+to\s+"
            rf"{_OUTSIDE}",
            rf"\bnext\s+stop\s+(is\s+|will\s+be\s+)?{_OUTSIDE}",
            # a lawyer, a court
            r"\bmy\s+(solicitors?|lawyers?|attorneys?|legal\s+team)\s+(will|have|has|are|is|"
            r"shall)\s+(be\s+)?(been\s+)?(in\s+touch|contact\w*|writ\w*|instructed|look\w*\s+"
            r"into|deal\w*|handl\w*|advis\w*)",
            r"\b(hear|be\s+hearing)\s+from\s+my\s+(solicitors?|lawyers?|attorneys?|legal\s+team)\b",
            r"\bsee\s+you\s+in\s+(small\s+claims\s+)?court\b",
            r"\b(take|taking|took)\s+(you|your\s+\w+|this|it|them|the\s+matter)\s+to\s+(small\s+"
            r"claims\s+)?court\b",
            r"\b(seek\w*|sought|take|taking|get\w*)\s+legal\s+advice\b",
        )),
        (("legal claims action",), (
            r"\b(legal\s+(action|proceedings|route)|letter\s+before\s+(action|claim)|small\s+"
            r"claims)\b",
        )),
        (("sue suing",), (
            r"\b(going\s+to\s+|will\s+|'ll\s+)sue\b|\bsu(e|ing)\s+(you|your\s+\w+)\b",
        )),
        # the bank or the card takes the money back
        (("chargeback chargebacks back backs",), (
            r"\b(charg(e|ing|ed)\s*backs?|chargebacks?)\b",
        )),
        (("dispute disputing disputed claim chargeback",
          "bank card paypal visa mastercard amex issuer"), (
            r"\b(fil(e|ed|ing)|open(ed|ing)?|rais(e|ed|ing)|lodg(e|ed|ing)|start(ed|ing)?)\s+a\s+"
            r"(dispute|claim|chargeback)\s+(with|through)\s+(my\s+|the\s+)?(bank|card|credit\s+"
            r"card|paypal|visa|mastercard|amex|card\s+(issuer|provider|company)|credit\s+card\s+"
            r"company)\b",
            r"\bdisput(e|ing|ed)\s+(the\s+|this\s+|a\s+|these\s+|your\s+)?(charges?|payments?|"
            r"transactions?|debits?|fees?)\s+with\s+(my|the)\s+(bank|card|credit\s+card|card\s+"
            r"(issuer|provider|company)|credit\s+card\s+company|paypal)\b",
        )),
        (("reverse reversed reversing recall claw dispute", "bank card credit"), (
            r"\b(ask(ed|ing)?|get(ting)?|got|have|had|having)\s+my\s+(bank|card\s+(issuer|"
            r"provider|company)|credit\s+card(\s+company)?)\s+(to\s+)?(reverse|recall|claw\s+"
            r"back|dispute)\w*",
        )),
    ))
# not the writer's own threat: a question, the company's regulatory small print, advice to
# the reader ("you can refer your complaint to the ombudsman")
_NOT_A_THREAT = re.compile(r"\b(regulated\s+by|authori[sz]ed\s+by|registered\s+with|you\s+(can|may|"
                           r"could|have\s+the\s+right\s+to)\s+(refer|complain|contact|take|go|"
                           r"report|ask)|if\s+you\s+are\s+(not\s+satisfied|unhappy))\b")

# asking for the final response that opens the way to the ombudsman is a threat even as a
# question ("Can I get a deadlock letter so I can go to the ombudsman?"; not "What is a
# deadlock letter?")
_ASKS_FOR_DEADLOCK = re.compile(
    r"\b(send|issue|give|get|request|want|need|provide|have|ask\w*\s+for)\w*\s+(me\s+)?(with\s+)?"
    r"(a|my|the|your|an)\s+(deadlock|final\s+response)\s+letter\b")


def threatens_escalation(text: str) -> str | None:
    """The sentence of ``text`` in which the writer takes, or says they will take, the
    complaint outside the company (:data:`THREAT_CUES`), or None: not a question ("Is the
    ombudsman free?"), not regulatory small print ("regulated by the FCA"). Of a transcript
    written as ``Agent:`` / ``Customer:`` lines, only the customer's lines are read. English
    only."""
    text, low, words = prepared(text)
    starts = [(word_start(low, m), False) for pattern in open_patterns(THREAT_CUES, words)
              for m in pattern.finditer(low)]
    if "letter" in words and ("deadlock" in low or "final response" in low):
        starts += [(m.start(), True) for m in _ASKS_FOR_DEADLOCK.finditer(low)]
    spans = wrapped_sentence_spans(text) if starts else []
    for start, asked in sorted(starts):
        a, b = span_at(spans, start, len(text))
        sentence = low[a:b].strip()
        if not ((sentence.endswith("?") and not asked) or _NOT_A_THREAT.search(sentence)):
            return text[a:b].strip() or None
    return None
