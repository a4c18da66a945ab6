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


def intent_cues(text: str) -> tuple[bool, bool]:
    """Whether ``text`` matches the explicit and the at-risk cue."""
    return bool(EXPLICIT_CUE.search(text)), bool(AT_RISK_CUE.search(text))
