"""An automatic reply is not the customer speaking.

A ticket thread collects the customer's mailbox's out-of-office replies to every agent
message. Read as a message, "Thank you for your email. I am currently out of the office with
limited access to email and will respond on my return." was communication friction at
sentiment -0.48 on the static path, and it counted as one more contact of the customer.
:func:`auto_reply` finds such a message: an automatic-reply subject line ("Automatic reply:",
"Out of Office:", "Abwesenheitsnotiz"), or a short message that says its writer is away
(out of the office, on leave, on holiday) and that they will answer on their return or who
to contact meanwhile, and asks nothing. A customer who mentions being away ("I was out of the
office when your engineer came", "I'm travelling until Friday and my card is blocked") is
not one: the tense, the length, the second phrase and the question all have to agree.
"""

from __future__ import annotations

import re

#: an automatic reply is short; a longer message that says the same is a customer's own
MAX_CHARS = 800

_SUBJECT = re.compile(
    r"^[ \t]*(?:(?:subject|betreff|objet|asunto|oggetto|assunto|onderwerp)[ \t]*:[ \t]*)?"
    r"(?:automatic reply|auto[- ]?reply|autoreply|out of (?:the )?office|ooo|"
    r"abwesenheitsnotiz|automatische antwort|réponse automatique|absence du bureau|"
    r"respuesta automática|fuera de la oficina|risposta automatica|fuori sede|"
    r"resposta automática|fora do escritório|automatisch antwoord|afwezigheidsbericht)"
    r"[ \t]*(?::|-|\n|$)",
    re.IGNORECASE)
_AWAY = re.compile(
    r"\b(?:i\s*(?:am|'m)|i\s+will\s+be|i'll\s+be)\s+(?:currently\s+|now\s+)?"
    r"(?:out\s+of\s+(?:the\s+)?office|away\s+from\s+(?:the\s+|my\s+)?office|"
    r"on\s+(?:annual\s+|parental\s+|maternity\s+|paternity\s+)?leave|"
    r"on\s+(?:holiday|vacation))\b"
    r"|\bich\s+bin\s+(?:derzeit\s+|bis\s+[^\n]{1,40}?\s+)?(?:nicht\s+im\s+büro|abwesend|im\s+urlaub)"
    r"|\bje\s+suis\s+(?:actuellement\s+)?(?:absente?\s+du\s+bureau|en\s+congés?)"
    r"|\bestoy\s+(?:actualmente\s+)?(?:fuera\s+de\s+la\s+oficina|de\s+vacaciones)",
    re.IGNORECASE)
# what only an away message goes on to say: it will answer later, or who to ask meanwhile
_LATER = re.compile(
    r"\b(?:on\s+my\s+return|upon\s+my\s+return|when\s+i\s+(?:return|get\s+back|am\s+back)|"
    r"limited\s+access\s+to\s+(?:my\s+)?e-?mails?|"
    r"(?:respond|reply|get\s+back\s+to\s+you)\s+(?:to\s+your\s+\w+\s+)?(?:as\s+soon\s+as|"
    r"when|on|upon|after)|"
    r"for\s+(?:urgent|immediate)\s+(?:matters|enquiries|inquiries|requests|queries)|"
    r"in\s+my\s+absence|back\s+in\s+the\s+office)\b"
    r"|\bin\s+dringenden\s+fällen|\bnach\s+meiner\s+rückkehr|\bà\s+mon\s+retour|"
    r"\ben\s+cas\s+d'urgence|\ba\s+mi\s+regreso|\ben\s+caso\s+de\s+urgencia",
    re.IGNORECASE)


def auto_reply(text: str) -> bool:
    """Whether ``text`` is an automatic reply (out of office, away message)."""
    if not text or len(text) > MAX_CHARS:
        return False
    if _SUBJECT.search(text):
        return True
    if "?" in text:  # an away message asks nothing
        return False
    return _AWAY.search(text) is not None and _LATER.search(text) is not None
