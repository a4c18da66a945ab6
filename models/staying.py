"""Messages that close an account or name a switch without the customer leaving: a spare
account closed ("Can you close the duplicate account I accidentally created? I'll keep using
the main one."), joining said ("Switched to you from EE last year and never looked back.")
a closed account wanted back ("Can you reactivate my account? I closed it by mistake.") and
a detail of the account removed ("Please remove my ex-husband as an authorised user").
The embedding heads read them as churn (P(explicit) 0.65-0.99 on the transformer, 0.92-0.99
on static); English, hand-written (docs/models.md, "Closing a spare account", "Saying one
joined", "Wanting a closed account back", "Removing a detail of the account"). The
classifier scales such a message's churn probability down (flags ``spare_account``,
``joined``, ``wants_back``, ``account_detail``).
"""

from __future__ import annotations

import re

from models.cues import EXPLICIT_CUE, implicit_leaving, prepared, written_name
from models.pieces import span_at, wrapped_sentence_spans

# Closing one of several accounts the customer holds with the company, or one they replace
# with another of yours: "Can you close the duplicate account I accidentally created?",
# "Close my savings account and move the money to my current account." The embedding heads
# read these as requests to leave (P(explicit) 0.85-0.99 on the transformer).
_SPARE_KIND = r"(duplicated?|second|extra|spare|test|testing|sandbox|demo|additional|2nd)"
_ACCOUNT = r"(account|profile|login|membership|subscription|user|workspace|one)s?"
_CLOSE = (r"(close|closing|delete|deleting|remove|removing|cancel+(ing)?|deactivate|deactivating|"
          r"terminate|get\s+rid\s+of)")
# a spare account named: "a second account", "two accounts", "signed up twice"
SPARE_NAMED = re.compile(
    rf"\b{_SPARE_KIND}\s+(\w+\s+)?{_ACCOUNT}\b|\b(two|2|several|multiple)\s+(\w+\s+)?(accounts|"
    r"profiles|logins|memberships|subscriptions)\b|\bsigned\s+up\s+twice\b")
# closing it: the spare account itself, or it / the duplicate / the second one
SPARE_TARGET = re.compile(
    rf"\b{_CLOSE}\s+(the|my|our|this|that|one\s+of\s+(my|our|the))\s+(\w+\s+)?({_SPARE_KIND}"
    rf"\s+(\w+\s+)?{_ACCOUNT}\b|(two|2|several|multiple)\s+(\w+\s+)?(accounts|profiles|logins|"
    r"memberships|subscriptions)\b)|"
    r"\bmerg(e|ing)\s+(my|our|the|these|both)\s+(two\s+|2\s+)?(\w+\s+)?(accounts|profiles|logins|"
    r"memberships)\b")
_CLOSE_IT = re.compile(rf"\b{_CLOSE}\s+(it|this|that|them|this\s+one|that\s+one|the\s+"
                       rf"{_SPARE_KIND}(\s+one)?)\b")
SPARE_KEPT = re.compile(
    r"(\b(i|we)\s*('ll|\s+will|'d\s+like\s+to|\s+would\s+like\s+to|\s+want\s+to|'m|\s+am|'re|"
    r"\s+are)?\s+|\b(and|please)\s+|,\s*)(just\s+|still\s+|going\s+to\s+)?(keep|keeping|"
    r"carry(ing)?\s+on\s+with|continu(e|ing)\s+(with|using)|stick(ing)?\s+with)\s+(using\s+)?(the|"
    r"my|our)\s+(\w+\s+){0,2}?(one|account|profile|login|workspace|membership)\b|"
    r"\bonly\s+use\s+(the|our|my)\s+(\w+\s+)?(one|account|profile|workspace)\b|"
    r"\b(opened|made|created|set\s+up)\s+a\s+new\s+(one|account|profile)\s+(with\s+you|here|"
    r"under)\b|"
    r"\b(move|moving|transfer|transferring|put)\s+(the|my|our)\s+(money|balance|funds|savings)\s+"
    r"(in)?to\s+(my|our)\s+(\w+\s+)?(current|main|other|checking|joint|everyday|business|savings)\s+"
    r"account\b")
_CLOSES = re.compile(rf"\b{_CLOSE}\b")
_ACCOUNT_WORDS = ("account", "profile", "login", "membership", "subscription", "user",
                  "workspace")  # one of them in every match (a cheap test first)
_CLOSE_WORDS = frozenset("close closing delete deleting remove removing cancel cancell "
                         "cancelling canceling deactivate deactivating terminate rid merge "
                         "merging".split())  # and one of these
# ... and says nothing of leaving, of closing everything, of the company's doing
_LEAVING_TOO = re.compile(r"\b(leav(e|ing)|switch\w*|elsewhere|competitor\w*|done\s+with|"
                          r"another\s+(bank|provider|company|supplier|network|insurer)|"
                          r"new\s+(bank|provider|supplier|network|insurer)|everything|"
                          r"(and|&)\s+(my|our|the)\s+(main|other|primary|personal|current)\s+"
                          r"(one|account)s?|i'?m\s+done|i\s+am\s+done|had\s+enough|fed\s+up|"
                          r"all\s+(my|our|of)|both\s+(my|our|of|accounts)|the\s+main\s+one\s+too|"
                          r"and\s+the\s+main\s+one|(did|have|has|had|why)\s+(you|they)\s+"
                          rf"(just\s+)?{_CLOSE})\b", re.I)
_KEPT_ELSEWHERE = re.compile(r"[^.!?]{0,40}?\b(at|with|from)\s+(?!you\b)[A-Z]")


def spare_account(text: str) -> str | None:
    """The sentence of ``text`` that closes a spare account: one of several accounts the
    customer holds with the company (:data:`SPARE_TARGET`: a duplicate, second, extra or
    test account, one of two, merging two; or :data:`SPARE_NAMED` and closing "it" or "the
    duplicate") or any account next to keeping another (:data:`SPARE_KEPT`: "I'll keep
    using the main one", "I've opened a new one with you", the money moved to the current
    account; not one kept "at Lloyds"); None when there is none, or when the text also
    says it leaves, closes everything or complains that the company closed it
    (:data:`_LEAVING_TOO`, :func:`implicit_leaving`). English only; of a transcript, the
    customer's lines."""
    text, low, words = prepared(text)
    if words.isdisjoint(_CLOSE_WORDS) or not any(w in low for w in _ACCOUNT_WORDS):
        return None
    found = SPARE_TARGET.search(low)
    if found is None and SPARE_NAMED.search(low):
        found = _CLOSE_IT.search(low)
    if found is None and (close := _CLOSES.search(low)):
        kept = SPARE_KEPT.search(low)
        if kept is not None and not _KEPT_ELSEWHERE.match(text, kept.end()):
            found = close
    if found is None or _LEAVING_TOO.search(low) or implicit_leaving(text) is not None:
        return None
    a, b = span_at(wrapped_sentence_spans(text), found.start(), len(text))
    return text[a:b].strip()


# Joining the company, said after the fact: "Switched to you from EE last year and never
# looked back.", "Switched from BT to you, no regrets", "Moved to this bank 2 years ago"
# (the heads read the switch as a churn risk: static explicit 0.92, transformer at risk 0.94)
_JOINED_TO = (
    r"\b(switched|moved|changed|came|ported|transferred|swapped)\s+(over\s+)?((my|our)\s+(\w+\s+)"
    r"{0,2}?)?(from\s+[\w&'.-]+(\s+[\w&'.-]+){0,2}?\s+)?"  # "from BT": where the writer came from
    r"(over\s+)?to\s+")
_NOT_IF = r"(?!\s+(if|when|once|because))"
JOINED = re.compile(
    _JOINED_TO + r"(you|u|you\s+guys|this\s+(bank|app|company|provider|network|carrier|"
    r"supplier|service|gym|broadband|insurer|platform|place|store|shop|firm|isp))\b" + _NOT_IF)
# ... or to the company by one of its own names (CHURN_COMPANY_NAMES): "Switched to @AcmeBank"
JOINED_NAMED = re.compile(_JOINED_TO + r"(?P<name>@?[a-z][\w&'-]*)\b" + _NOT_IF)
_JOINED_WORDS = frozenset("switched moved changed came ported transferred swapped".split())
# ... not when it is regretted, undone or the customer leaves again
_REGRETTED = re.compile(r"\b(mistake|regret(s|ted|ting)?|wish|worst|going\s+back|go\s+back|"
                        r"switch\w*\s+back|mov\w+\s+back|back\s+to|leav(e|ing)|cancel\w*|"
                        r"elsewhere|another\s+(bank|provider|supplier|network|company)|"
                        r"never\s+should|shouldn'?t\s+have|(close|closing|delete|deleting|"
                        r"terminate|end|ending)\s+(it|this|that|my|our|the))\b")
_NO_REGRETS = re.compile(r"\bno\s+regrets?\b")
_ASKED = re.compile(r"\s*(can|could|should|may|do|does|did|is|are|will|would|how|what|when|why|"
                    r"if)\b")  # a question


def joined(text: str, own_names: frozenset[str] = frozenset()) -> str | None:
    """The sentence of ``text`` that says the writer joined the company (:data:`JOINED`:
    switched, moved or ported to you, to this bank, in the past; with the company's
    ``own_names``, :func:`models.cues.own_name_keys`, to one of them, :data:`JOINED_NAMED`),
    not as a question and with nothing in the text that regrets it or leaves
    (:data:`_REGRETTED`; "no regrets" is not a regret) nor a request to leave
    (:data:`EXPLICIT_CUE`); None otherwise. English only; of a transcript, the customer's
    lines."""
    text, low, words = prepared(text)
    if words.isdisjoint(_JOINED_WORDS):
        return None
    found = JOINED.search(low)
    if found is None and own_names:
        found = next((m for m in JOINED_NAMED.finditer(low)
                      if written_name(text, low, m, not_names=frozenset()) in own_names),
                     None)
    if found is None or _REGRETTED.search(_NO_REGRETS.sub(" ", low)):
        return None
    if any(not (m.start() < found.end() and found.start() < m.end())  # "switched to" is one
           for m in EXPLICIT_CUE.finditer(low)):
        return None
    a, b = span_at(wrapped_sentence_spans(text), found.start(), len(text))
    if _ASKED.match(low, a) and low[a:b].rstrip().endswith("?"):
        return None
    return text[a:b].strip()


# Wanting a closed account back, or to come back: "Can you reactivate my account? I closed
# it by mistake.", "You cancelled my account without telling me! Please reinstate it.", "I
# want to come back. Can I rejoin?" (the heads read the closing words as a request to leave:
# P(explicit) 0.78-0.99)
_HELD = (r"(\w+\s+)?(account|subscription|membership|plan|policy|contract|service|profile|"
         r"line)s?\b(?!\s+(pass\w*|pss\w*|pwd|pw|pin|key|access|login|details|settings|data|number|"
         r"photo|picture|name|address|email|e-mail|history|information|info)s?\b)")
_CLOSED = (r"(closed|cancel+ed|deleted|terminated|deactivated|suspended|shut\s+down|"
           r"disconnected|discontinued)")
WANTS_BACK = re.compile(
    # reopen / reactivate / reinstate my account; want it reinstated
    rf"\b(re-?open|re-?activate|re-?instate|restore|un-?cancel|re-?enable)\s+(my|our|the)\s+"
    rf"((old|previous|closed|cancel+ed|former)\s+)?{_HELD}|"
    r"\b(want|need|like|get)\s+(my\s+" + _HELD + r")\s+(re-?opened|re-?activated|"
    r"re-?instated|restored|back(\s+on)?|turned\s+back\s+on)\b|"
    # closed by the company, not asked for
    r"\b(you|you\s+guys|your\s+(\w+\s+)?(system|bank|team|company|staff|website|app))\s+(have\s+|"
    rf"has\s+|just\s+|then\s+)?{_CLOSED}\s+(my|our)\s+{_HELD}|"
    rf"\bwhy\s+(was|has|is|did|were|have)\s+(my|our)\s+{_HELD}\s+(been\s+|got\s+|get\s+)?"
    rf"{_CLOSED}|"
    rf"\b(my|our)\s+{_HELD}\s+(was|has\s+been|got|had\s+been)\s+{_CLOSED}\s+(without|for\s+no\s+"
    r"reason|by\s+(you|your|mistake)|in\s+error)|"
    # coming back as a customer
    r"\b(want|wish|like|love|hoping|hope|plan(ning)?|ready|decided)\s+to\s+(rejoin|re-join|"
    r"resubscribe|re-subscribe|(come\s+back|sign\s+back\s+up|sign\s+up\s+again)(?=\s*($|"
    r"[.!?,;)]|(to\s+)?(you|u|now|please)\b)))|"
    r"\bcan\s+(i|we)\s+(rejoin|re-join|resubscribe|re-subscribe|(come\s+back|sign\s+back\s+up)"
    r"(?=\s*($|[.!?,;)]|(on|to\s+you|with\s+you|please)\b)))")
# where the text speaks of a closing, "it" is the account: "I closed it by mistake", "please
# reinstate it", "I didn't cancel it"
WANTS_IT_BACK = re.compile(
    r"\b(re-?open|re-?activate|re-?instate|restore|un-?cancel|undo|reverse|re-?enable)\s+(it|"
    r"that|the\s+(cancellation|closure|termination))\b|\b(want|need|like)\s+(it|them)\s+"
    r"(re-?opened|re-?activated|re-?instated|restored|back(\s+on)?|turned\s+back\s+on)\b|"
    r"\bturn\s+it\s+back\s+on\b|"
    rf"\b{_CLOSED}\s+(it|this|that|(my|our)\s+{_HELD})\s+(by\s+(mistake|accident)|in\s+error|"
    rf"accidentally)|\b(accidentally|mistakenly)\s+{_CLOSED}\s+(it|(my|our|the)\s+{_HELD})|"
    r"\b(i|we)\s+(did\s+not|didn'?t|never)\s+(cancel|close|terminate|delete)\s+(it|anything)\b")
_CLOSING = re.compile(r"\b(cancel|clos|deactivat|terminat|delet|suspend|shut|disconnect)\w*\b"
                      r"[^.!?]{0,60}?\b(account|subscription|membership|plan|policy|contract|"
                      r"service|profile)|\b(account|subscription|membership|plan|policy|contract|"
                      r"service|profile)s?\b[^.!?]{0,40}?\b(cancel|clos|deactivat|terminat|delet|"
                      r"suspend|shut|disconnect)")
_IF = re.compile(r"\b(if|unless|or\s+else|otherwise)\b")
# every match holds one of these (lower-cased): a substring test first
_BACK_STEMS = ("reopen", "re-open", "reactivat", "re-activat", "reinstat", "re-instat",
               "restor", "cancel", "clos", "delet", "terminat", "deactivat", "suspend", "shut",
               "disconnect", "discontinu", "rejoin", "re-join", "resubscri", "re-subscri",
               "come back", "sign back", "sign up again", "undo", "revers", "re-enabl",
               "reenabl", "back on")
# ... or "my account back" ("I want my account back"; "back" alone is in too many texts)
_MINE_BACK = re.compile(r"\b(my|our)\s+(\w+\s+)?(account|subscription|membership|plan|policy|"
                        r"contract|service|profile|line)s?\s+back\b")
# ... not when it leaves all the same, or the closing was asked for
_LEAVES_ANYWAY = re.compile(r"\b(switch\w*|elsewhere|competitor\w*|another\s+(bank|provider|"
                            r"company|supplier|network|insurer|carrier|gym)|done\s+with|"
                            r"as\s+(i\s+)?(asked|requested)|like\s+i\s+asked|per\s+my\s+request|"
                            r"thanks?\s+(you\s+)?for\s+(cancel|clos)\w*|won'?t\s+be\s+"
                            r"(re-?opening|coming\s+back|rejoining)|meant\s+to|on\s+purpose|"
                            r"confirm\s+(that\s+)?(it'?s|it\s+is|it\s+has\s+been|the)\s+"
                            r"(closed|cancel\w*|closure|termination))\b")
# ... nor goes to a named company ("so I'm moving to Monzo")
_GOES_TO_NAMED = re.compile(r"\b(i'?m|we'?re|i\s+am|we\s+are|i'?ll|we'?ll)\s+(now\s+|just\s+)?"
                            r"(moving|going|off|switching)\s+to\s+[A-Z]", re.I)


def wants_back(text: str) -> str | None:
    """The sentence of ``text`` in which the writer wants a closed account back or to come
    back (:data:`WANTS_BACK`: reopen, reactivate or reinstate it; closed by mistake; closed
    by the company without being asked; rejoin); None when there is none, when a request
    to leave stands outside those words (:data:`EXPLICIT_CUE`), or the text leaves all the
    same or asked for the closing (:data:`_LEAVES_ANYWAY`, :func:`implicit_leaving`).
    English only; of a transcript, the customer's lines."""
    text, low, _ = prepared(text)
    if not (any(stem in low for stem in _BACK_STEMS)
            or ("back" in low and _MINE_BACK.search(low))):
        return None
    found = list(WANTS_BACK.finditer(low))
    if _CLOSING.search(low):
        found += WANTS_IT_BACK.finditer(low)
    if not found:
        return None
    spans = wrapped_sentence_spans(text)
    found = sorted((m for m in found if not _IF.search(low, *span_at(spans, m.start(), len(low)))),
                   key=lambda m: m.start())
    if (not found or _LEAVES_ANYWAY.search(low) or _goes_to_named(text)
            or implicit_leaving(text) is not None):
        return None
    if any(not any(m.start() < f.end() and f.start() < m.end() for f in found)
           for m in EXPLICIT_CUE.finditer(low)):
        return None
    a, b = span_at(spans, found[0].start(), len(text))
    return text[a:b].strip()


def _goes_to_named(text: str) -> bool:
    return any(m.group(0)[-1].isupper() for m in _GOES_TO_NAMED.finditer(text))


# Removing a detail of the account, not the account: "Please delete my old address from my
# profile.", "Please remove my ex-husband as an authorised user on my account." (the
# transformer read these as requests to leave, 0.65-0.83)
_DETAIL = (r"(addresses|address|(phone\s+|mobile\s+|landline\s+)?numbers?|"
           r"e-?mails?(\s+addresses?)?|cards?|cardholders?|payment\s+(methods?|cards?|details)|"
           r"payees?|beneficiar(y|ies)|"
           r"(authori[sz]ed|additional|named|secondary)\s+"
           r"(users?|persons?|cardholders?)|partner|spouse|husband|wife|ex|son|daughter|child|"
           r"kids?|photos?|pictures?|picture|avatar|nickname|devices?|laptop|tablet|"
           r"(search|browsing|order|purchase|watch|viewing|call)\s+history|history|cookies|"
           r"saved\s+items|wishlist|bookmarks?|favourites?|reviews?|comments?|posts?|voicemail|"
           r"greeting|notifications?|alerts?|reminders?|preferences?)")
_REMOVE = (r"(delete|deleting|remove|removing|take\s+off|taking\s+off|get\s+rid\s+of|clear|"
           r"clearing|cancel)")
DETAIL_REMOVED = re.compile(
    rf"\b{_REMOVE}\s+(off\s+)?((my|the|our|an?|this|that|that\s+old|all\s+(my|the))\s+)?"
    r"((old|saved|expired|previous|second|extra|other|wrong|work|home|billing|delivery|"
    r"shipping|postal|personal|backup|spare|profile|payment|marketing|text|account|ex-?)"
    r"[\s-]+){0,2}"
    rf"{_DETAIL}\b(?!\s+(data|details|information|insurance|cover|plan|package|bundle|add-?ons?|"
    r"subscription|service|line|licen[cs]es?|seats?|channels?|protection)\b)"
    # "take" only with "off": "take my old card off the app" (not "take my card" in a shop)
    rf"|\btake\s+((my|the|our|an?|this|that)\s+)?(\w+\s+){{0,2}}?{_DETAIL}\s+off\b")
_DETAIL_WORDS = frozenset("delete deleting remove removing take taking rid clear clearing "
                          "cancel".split())
# ... and nothing of leaving: the account itself closed, all data erased, not renewing
_WHOLE_GONE = re.compile(
    r"\b(close|closing|delete|deleting|cancel\w*|terminat\w*|deactivat\w*|end|ending|shut)\s+"
    r"(down\s+)?(my|our|the|this)\s+(whole\s+|entire\s+)?(account|subscription|membership|"
    r"contract|profile|plan|policy|workspace)s?\b(?!\s+(page|picture|photo|settings|name)\b)|"
    r"\b(and|&)\s+(my|our|the)\s+(whole\s+|entire\s+)?(account|subscription|membership|"
    r"profile)s?\s*([.!,;]|$|too\b|as\s+well\b)|"
    r"\b(all\s+(my|our|of\s+my)\s+(personal\s+)?(data|details|information)|personal\s+data|"
    r"everything\s+you\s+(hold|have|keep)|(from|off)\s+your\s+(system|records|database|"
    r"files|list)s?|gdpr|right\s+to\s+(be\s+)?(forgotten|erasure)|(don'?t|do\s+not|not|won'?t)\s+"
    r"renew\w*|remove\s+me\b|delete\s+me\b)")


def detail_removed(text: str) -> str | None:
    """The sentence of ``text`` that removes a detail of the account (:data:`DETAIL_REMOVED`:
    an address, a card, a payee, an authorised user, a photo, a history), not the account;
    None when there is none, or when the text also closes the account, erases all its data,
    stops renewing or leaves (:data:`_WHOLE_GONE`, the spare rule's :data:`_LEAVING_TOO`,
    :func:`implicit_leaving`). English only; of a transcript, the customer's lines."""
    text, low, words = prepared(text)
    if words.isdisjoint(_DETAIL_WORDS):
        return None
    found = DETAIL_REMOVED.search(low)
    if (found is None or _WHOLE_GONE.search(low) or _LEAVING_TOO.search(low)
            or implicit_leaving(text) is not None):
        return None
    a, b = span_at(wrapped_sentence_spans(text), found.start(), len(text))
    return text[a:b].strip()
