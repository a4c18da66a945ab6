"""Baselines the trained models are compared with in ``churn-detector eval``.

* ``keywords``: hand-written keyword rules per label (churn intent: ``models.cues``);
* ``vader``: VADER sentiment (``vaderSentiment``); friction = negative sentiment;
* ``zero_shot``: cosine similarity of the text's embedding to each label's description.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from detector.signals import FRICTION_CATEGORIES, INTENTS
from models.cues import AT_RISK_CUE, EXPLICIT_CUE
from models.datasets import SENTIMENTS, STAGES
from models.encoders import Encoder

_FRICTION = {
    "billing": r"charg\w*|fee|refund\w*|bill\w*|invoice|overcharg\w*|price|payment (failed|"
               r"declined)|declined|twice",
    "service": r"support|agent|on hold|rude|unhelpful|no (one|response|reply)|call ?back|"
               r"waited|waiting",
    "communication": r"nobody told|never told|no (notice|email|warning)|unclear|confusing "
                     r"(letter|email)|too many (emails|texts)|contradict\w*",
    "product": r"crash\w*|bug|broken|outage|down|not working|doesn'?t work|defect\w*|"
               r"quality|buffering|error",
    "delivery": r"late|delay\w*|lost|damaged|hasn'?t arrived|not arrived|missing|"
                r"never (came|arrived|showed)|didn'?t (show|turn up)|cancelled flight",
    "access": r"log ?in|locked|password|verify|verification|identity|activat\w*|pin|"
              r"sign ?up|registration",
    "usability": r"confusing|can'?t find|hard to (find|use)|checkout|navigate|menu",
    "policy": r"policy|unfair|terms|rip-?off|outrageous|penalt\w*",
    "integration": r"repeat\w*|explain(ed)? again|transferred|bounced|passed between|"
                   r"every (agent|team)|different (answer|story)",
}
_FRICTION_RE = {c: re.compile(r"\b(" + p + r")\b", re.I) for c, p in _FRICTION.items()}
_POS = re.compile(r"\b(thanks?|thank you|love|great|excellent|amazing|perfect|happy|"
                  r"brilliant|best|lovely|impressed|good)\b", re.I)
_NEG = re.compile(r"\b(terrible|awful|worst|angry|furious|ridiculous|unacceptable|hate|"
                  r"never|bad|poor|disappointed|rude|broken|useless|not)\b", re.I)
_STAGE = {
    "awareness": r"do you (offer|ship|cover)|pricing|discount|thinking about joining",
    "purchase": r"order|checkout|buy|book(ing)?|purchase|cart",
    "onboarding": r"set ?up|activat\w*|install|new account|sign ?up|welcome",
    "usage": r"app|crash|using|works?|feature|stream\w*|signal",
    "support": r"support|agent|ticket|complaint|call ?back|on hold",
    "billing": r"bill|charge|invoice|refund|payment|fee",
    "renewal": r"renew\w*|contract|cancel\w*|subscription|plan end|leave|switch",
}
_STAGE_RE = {s: re.compile(r"\b(" + p + r")\b", re.I) for s, p in _STAGE.items()}


def onehot(labels: Sequence[str], order: Sequence[str]) -> np.ndarray:
    out = np.zeros((len(labels), len(order)))
    for i, lab in enumerate(labels):
        out[i, list(order).index(lab)] = 1.0
    return out


def keyword_intent(texts: Sequence[str]) -> list[str]:
    return ["explicit" if EXPLICIT_CUE.search(t) else "at_risk" if AT_RISK_CUE.search(t) else "none"
            for t in texts]


def keyword_friction(texts: Sequence[str]) -> list[tuple[str, ...]]:
    return [tuple(c for c in FRICTION_CATEGORIES if _FRICTION_RE[c].search(t)) for t in texts]


def keyword_sentiment(texts: Sequence[str]) -> list[str]:
    out = []
    for t in texts:
        score = len(_POS.findall(t)) - len(_NEG.findall(t))
        out.append("positive" if score > 0 else "negative" if score < 0 else "neutral")
    return out


def keyword_stage(texts: Sequence[str]) -> list[str]:
    out = []
    for t in texts:
        hits = [s for s in STAGES if _STAGE_RE[s].search(t)]
        out.append(hits[0] if hits else "usage")
    return out


def vader_compound(texts: Sequence[str]) -> np.ndarray:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return np.array([analyzer.polarity_scores(t)["compound"] for t in texts])


def vader_sentiment(compound: np.ndarray) -> list[str]:
    return ["positive" if c >= 0.05 else "negative" if c <= -0.05 else "neutral"
            for c in compound]


class ZeroShot:
    """Cosine similarity of texts to the taxonomy's label descriptions (no training)."""

    def __init__(self, encoder: Encoder, taxonomy: dict[str, Any], scale: float = 20.0) -> None:
        self.scale = scale

        def desc(section: str, labels: Sequence[str]) -> np.ndarray:
            return encoder.encode([taxonomy[section][lab]["description"] for lab in labels])

        self.encoder = encoder
        self.intent = desc("intents", INTENTS)
        self.friction = desc("friction", list(FRICTION_CATEGORIES) + ["_none"])
        self.sentiment = desc("sentiment", SENTIMENTS)
        self.stage = desc("journey_stages", STAGES)

    def _soft(self, x: np.ndarray, d: np.ndarray) -> np.ndarray:
        z = self.scale * (x @ d.T)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, x: np.ndarray) -> dict[str, Any]:
        """Probabilities and labels for every task from embeddings ``x``."""
        pi = self._soft(x, self.intent)
        pf_all = self._soft(x, self.friction)  # categories + "_none"
        top = pf_all.argmax(axis=1)
        m = len(FRICTION_CATEGORIES)
        fr_labels = [(FRICTION_CATEGORIES[j],) if j < m else () for j in top]
        ps, pst = self._soft(x, self.sentiment), self._soft(x, self.stage)
        return {
            "intent": (pi, [INTENTS[j] for j in pi.argmax(axis=1)]),
            "friction": (pf_all[:, :m], fr_labels),
            "sentiment": (ps, [SENTIMENTS[j] for j in ps.argmax(axis=1)]),
            "stage": (pst, [STAGES[j] for j in pst.argmax(axis=1)]),
        }
