"""A survey response's answers: the survey's own questions are not what the customer says.

Survey tools export a response as its questions and answers in one text ("How likely are you
to recommend us? 2. Why? Support never answers."; "Q1: How satisfied were you? A: Very").
Read whole, "What could we do better? Nothing, you were great" was service and delivery
friction at sentiment -0.62 on the transformer, and the prompt "Why?" read as the answer's
first words. :func:`survey_answers` removes the prompts a survey asks (English stems: how
likely / satisfied / would you rate, what could we do better, the main reason for your
score, anything else, any other comments, why, ...), a question labelled ``Q1:`` or
``Question 2.``, and answer labels (``A:``, ``Answer:``, ``Comment:``). A question the
customer asks in an answer ("Why do you charge me twice?") is not a prompt and stays.
"""

from __future__ import annotations

import re

# what a survey's questions start with; each ends at its "?" on the same line
_STEMS = (
    r"how\s+(likely|satisfied|dissatisfied|happy|easy|difficult|would\s+you|was\s+(your|the)|"
    r"did\s+we|well\s+did|do\s+you\s+feel|could\s+we|can\s+we)"
    r"|what\s+(could|can|should|would)\s+we"
    r"|what\s+(is|was|'s)\s+the\s+(main|primary|one|biggest|most\s+important|key)"
    r"|what\s+did\s+you\s+(like|dislike|enjoy|think|love|value)"
    r"|what\s+do\s+you\s+(like|dislike|think|value|love)"
    r"|what\s+(one\s+)?(thing|change|improvement)"
    r"|why(\s+not)?\s*(?=\?)|why\s+did\s+you\s+(give|choose|rate|score|select)"
    r"|is\s+there\s+anything|anything\s+(else|we|you)"
    r"|(do\s+you\s+have\s+)?any\s+(other|further|additional|more|final)\s+(comments?|feedback|"
    r"thoughts|suggestions|remarks)"
    r"|(please\s+)?(tell|share\s+with)\s+us"
    r"|did\s+we\s+(resolve|solve|answer|meet|fix|help|deliver)"
    r"|was\s+your\s+(issue|problem|query|question|request|complaint)\s+(resolved|solved|answered|"
    r"handled|fixed|dealt)"
    r"|were\s+you\s+(satisfied|happy|able\s+to)"
    r"|(overall|in\s+general),?\s+how|on\s+a\s+scale"
    r"|would\s+you\s+(recommend|like\s+to\s+add|use\s+us|buy\s+from\s+us|choose\s+us)"
    r"|in\s+your\s+own\s+words|if\s+you\s+could\s+change"
)
_LABEL = r"(?:q(?:uestion)?\s*\d{0,2}\s*[:.)\]-]\s*)"
# a prompt opens the text, a line or a sentence; bounded, so a search stays linear
_PROMPT = re.compile(
    rf"(?:^|(?<=[.!?\n]))[ \t]*{_LABEL}?(?:{_STEMS})\b[^?\n]{{0,200}}\?",
    re.IGNORECASE | re.MULTILINE,
)
# a question labelled as one without a "?" ("Q2: Comments") up to the end of its line
_LABELLED_LINE = re.compile(rf"^[ \t]*{_LABEL}[^?\n]{{0,120}}(?:\?|$)",
                            re.IGNORECASE | re.MULTILINE)
_ANSWER_LABEL = re.compile(
    r"^[ \t]*(?:a(?:nswer)?\s*\d{0,2}|comments?|feedback|reason|response|your\s+answer)"
    r"\s*[:.)\]-][ \t]*", re.IGNORECASE | re.MULTILINE)
_SPACE = re.compile(r"[ \t]{2,}")
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")


def survey_answers(text: str) -> str:
    """``text`` without the survey's own prompts and answer labels; ``text`` itself when
    nothing of it would be left (a response that is all prompt is read as it came)."""
    if "?" not in text and ":" not in text:
        return text
    out = _PROMPT.sub(" ", text)
    out = _LABELLED_LINE.sub(" ", out)
    out = _ANSWER_LABEL.sub("", out)
    out = _BLANK_LINES.sub("\n", _SPACE.sub(" ", out)).strip()
    return out if any(c.isalnum() for c in out) else text
