"""The writer asks to trade down: "Move me to the cheapest plan.", "Please remove the sports
add-on.", "Reduce my data allowance.", "Is there anything cheaper?" English, hand-written
(docs/models.md, "Trading down").

The detector reads it (flag ``downgrade``): after friction, negative sentiment or a churn
risk in the customer's recent contacts, such a request makes a case, and the alert says so.
"""

from __future__ import annotations

import re

from models.cues import GatedCues, gated_cues, open_patterns, prepared, word_start
from models.pieces import span_at, wrapped_sentence_spans

_LOWER = (r"(cheaper|cheapest|lower|lowest|basic|standard|starter|smaller|smallest|lite|light|"
          r"essentials?|free|entry(-level)?|sim[\s-]only|pay[\s-]as[\s-]you[\s-]go|payg|reduced|"
          r"minimum|slower)")
_EXTRA = (r"(add-?ons?|bolt-?ons?|bundles?|packages?|channels|lines?|landline|boost|insurance|"
          r"upgrade|extras?|seats|licen[cs]es|users|sports|movies|hd|4k|tv|premium)")
_PLAN = (r"(plan|tariff|package|tier|membership|option|subscription|contract|bundle|broadband|"
         r"speed|data|allowance|deal|account|version|level|price\s*plan)")

#: each way of saying it, tried only on a text holding a word of each of its gate's sets;
#: matched on lower-cased text with "'" for "’"
DOWNGRADE_CUES: GatedCues = gated_cues((
        # downgrade me / my plan; I'd like to downgrade; downgrading to the lite version
        (("downgrade downgrading",), (
            r"(?<!\bthe\s)(?<!\ba\s)(?<!\bthis\s)\bdowngrad(e|ing)\b(?!\s+in\b)",
        )),
        # move / switch / put / drop me to (or onto) a cheaper or basic plan
        (("move moving switch switching put drop go going cut scale change changing back",
          "cheaper cheapest lower lowest basic standard starter smaller smallest lite light "
          "essentials essential free entry sim payg pay reduced minimum slower less"), (
            r"\b(move|moving|switch|switching|put|drop|cut|scale|change|changing)\s+((me|us)"
            r"\s+|(my|our)\s+(\w+\s+){0,2}?)?(back\s+|down\s+|back\s+down\s+)?(to|on|onto)\s+((a|an|the|"
            rf"my|our)\s+)?(\w+\s+){{0,2}}?{_LOWER}(\s+(\w+\s+)?{_PLAN}\b|(?=\s*([.!,;]|$|please\b|"
            r"from\b|and\b)))",
            r"\b(move|moving|switch|switching|put|change|changing)\s+((me|us)\s+|(my|our)\s+(\w+\s+)"
            r"{0,2}?)?(to|on|onto)\s+(a|an|the|my|our)\s+(\w+\s+){0,3}?(plan|tariff|package|tier|"
            r"membership|subscription)\b[^.!?]{0,30}\b(cheaper|less\s+(expensive|money))\b",
        )),
        # go down to the 10GB plan
        (("down",), (
            r"\b(go|going|move|moving|drop|dropping|step|stepping)\s+(me\s+|us\s+)?down\s+to\s+((a|an|"
            rf"the|my|our)\s+)?(\w+\s+){{0,3}}?{_PLAN}\b",
        )),
        # remove / drop / take off / cancel / get rid of an add-on, a package, a line
        (("remove removing drop dropping take cancel cancelling rid",
          "addon addons add bolt bolton boltons bundle bundles package packages channels line "
          "lines landline boost insurance upgrade extra extras seats licences licenses users "
          "sports movies hd 4k tv premium"), (
            r"\b((remove|removing|drop|dropping|take|get\s+rid\s+of)\s+(off\s+)?(the|my|our|that|this|a|"
            r"an|one|two|\d+)|(cancel|cancelling)\s+(the|that|this|a|an|one|two|\d+))\s+(\w+\s+){0,3}?"
            rf"{_EXTRA}\b(?!\s+items?\b)"
            r"(?=[^.!?]{0,40}\b(off|from|please|$)|\s*[.!,]|\s*$|\s+(and|too|as|please|so|i|we|it)\b)",
        )),
        # reduce / lower / cut down my package, data, speed, seats
        (("reduce reducing lower lowering cut scale fewer",
          "plan tariff package tier membership subscription contract bundle broadband speed data "
          "allowance seats licences licenses users channels bill option deal account version "
          "level price number lines add addons"), (
            r"\b(reduce|reducing|lower|lowering|cut\s+down|scale\s+down|scale\s+back|cut\s+back)\s+(my|our|"
            rf"the)\s+(\w+\s+){{0,2}}?({_PLAN}|seats|licen[cs]es|users|channels|number\s+of\s+(seats|licen[cs]es|users|lines|channels|"
            r"add-?ons))\b",
            r"\bfewer\s+(channels|seats|licen[cs]es|users|lines|add-?ons)\b",
        )),
        # is there anything cheaper; do you have a cheaper plan; looking for a cheaper option
        (("cheaper cheapest",), (
            r"\b(have|got|offer|is\s+there|are\s+there|looking\s+for|look\s+for|want|need|find|switch"
            r"\s+to|move\s+to|what'?s|what\s+is|which\s+is|show\s+me)\s+(\w+\s+){0,3}?((cheaper|cheapest)"
            rf"\s+(\w+\s+)?{_PLAN}|(anything|something)\s+cheaper)\b"
            r"(?!\s+(provider|supplier|company|bank|network|insurer|elsewhere|competitor|broadband\s+"
            r"provider|deal\s+elsewhere))(?![^.!?]{0,40}\b(elsewhere|another\s+(provider|company|"
            r"supplier|network|bank)|somewhere\s+else)\b)",
        )),
    ))

# not a request to trade down: negated, a mistake to put right, a software version, the
# company's doing, a charge or a person, an item of an order ("Remove the extra cheese from
# my order.")
_NOT_DOWNGRADE = re.compile(
    r"\b(don'?t|do\s+not|won'?t|will\s+not|never|not|no\s+need\s+to)\s+(want\s+to\s+|going\s+to\s+|"
    r"wish\s+to\s+|planning\s+to\s+|need\s+to\s+)?(downgrad\w*|remove|drop|move|switch|reduce|cut)\b|"
    r"\b(by\s+(mistake|accident|error)|accidentally|without\s+(asking|my\s+consent|permission|"
    r"telling))\b|\b(previous|older|old|earlier|last)\s+(version|release|update|build|firmware)\b|"
    r"\b(you|they|your\s+\w+)\s+(have\s+|just\s+)?downgraded\b|"
    r"\bfrom\s+(my|the|this|our)\s+(order|basket|cart|bag|meal|pizza|burger|sandwich)\b")


def asks_downgrade(text: str) -> str | None:
    """A sentence of ``text`` in which the writer asks to trade down (:data:`DOWNGRADE_CUES`:
    a cheaper or basic plan, an add-on, package or line removed, a package reduced, anything
    cheaper), in a text not negated, a mistake, a software version or the company's doing
    (:data:`_NOT_DOWNGRADE`); or None. Of a transcript written as ``Agent:`` / ``Customer:``
    lines, only the customer's lines are read. English only."""
    text, low, words = prepared(text)
    gated = list(open_patterns(DOWNGRADE_CUES, words))
    if not gated or _NOT_DOWNGRADE.search(low):
        return None
    m = next((m for pattern in gated if (m := pattern.search(low))), None)
    if m is None:
        return None
    a, b = span_at(wrapped_sentence_spans(text), word_start(low, m), len(text))
    return text[a:b].strip() or None
