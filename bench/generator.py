"""A realistic, deterministic event mix for benchmarks (no data files needed).

All channels, with lengths like the real thing: tweets (60-280 characters), survey answers,
chat lines, reviews (150-1,200), tickets and e-mails (200-1,500) and call transcripts
(customer and agent turns, 1,500-6,000 characters). A share of texts repeats exactly
(retweets, template answers, copy-pasted complaints), and customers follow a skewed
distribution: most write once or twice, a few write often.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

#: channel -> share of the mix
CHANNEL_MIX: dict[str, float] = {
    "ticket": 0.25,
    "chat": 0.15,
    "email": 0.10,
    "review": 0.15,
    "social": 0.22,
    "call": 0.05,
    "survey": 0.08,
}
#: channel -> (min, max) characters of text
LENGTHS: dict[str, tuple[int, int]] = {
    "social": (60, 280),
    "survey": (20, 220),
    "chat": (40, 400),
    "review": (150, 1200),
    "ticket": (200, 1500),
    "email": (200, 1500),
    "call": (1500, 6000),
}

_EXPLICIT = [
    "I am cancelling my subscription at the end of this month.",
    "Please close my account, I am moving to another provider.",
    "Cancel my plan today. I have already signed up with your competitor.",
    "I want to terminate my contract and get my deposit back.",
    "This is my notice: I will not renew when the contract ends.",
    "Switching to a different bank next week, please send the closing forms.",
]
_AT_RISK = [
    "Honestly I am starting to look at other options.",
    "If this is not fixed soon I will have to reconsider staying with you.",
    "A friend told me the other company is cheaper and I am tempted.",
    "I have been a loyal customer for years but my patience is running out.",
    "Not sure this service is worth the price any more.",
    "Thinking about whether to renew, the last months have been frustrating.",
]
_FRICTION = {
    "billing": [
        "I was charged twice for the same month and nobody has refunded me.",
        "My bill went up by forty percent without any warning.",
        "There is a fee on my statement I never agreed to.",
        "The direct debit was taken early and my account went overdrawn.",
    ],
    "service": [
        "The agent was rude and hung up on me.",
        "I was promised a call back three times and nobody called.",
        "Every time I call I get a different answer.",
    ],
    "communication": [
        "Nobody told me the appointment was cancelled.",
        "The emails you send are confusing and contradict each other.",
        "I never received the confirmation you said you sent.",
    ],
    "product": [
        "The app crashes every time I open the statements page.",
        "The router drops the connection every evening.",
        "The feature I paid for has not worked since the update.",
    ],
    "delivery": [
        "My parcel is two weeks late and the tracking has not moved.",
        "The engineer did not turn up for the installation.",
        "The replacement card still has not arrived.",
    ],
    "access": [
        "I have been locked out of my account for four days.",
        "The password reset link expires before it arrives.",
        "Two-factor codes never reach my phone.",
    ],
    "usability": [
        "I cannot find where to change my address in the app.",
        "The checkout form keeps clearing what I typed.",
    ],
    "policy": [
        "Your refund policy is unfair and not what I was told when I signed up.",
        "Why do I have to pay a fee to leave early when the service does not work?",
    ],
    "integration": [
        "The export to my accounting software fails with an error.",
        "The sync with my calendar stopped working after the update.",
    ],
}
_POSITIVE = [
    "Thanks, the agent sorted it out quickly.",
    "Really happy with the new plan, great value.",
    "The app update is much better, well done.",
    "Delivery was fast and everything works.",
    "Five stars, friendly and helpful support.",
]
_NEUTRAL = [
    "How do I update the card on my account?",
    "Can you tell me when my contract ends?",
    "What are your opening hours on Saturday?",
    "Is there a family plan available?",
    "I moved house, where do I send the new address?",
]
_FILLER = [
    "I have been with you for about six years.",
    "This is the third time I am writing about this.",
    "My reference number is in the previous message.",
    "I tried restarting everything as your website suggests.",
    "I would appreciate a reply today if possible.",
    "I am writing on behalf of my elderly mother who holds the account.",
    "I checked the online help pages first but they did not cover this.",
    "Please look at the notes on my account before replying.",
]
_AGENT = [
    "Thank you for calling, can I take your account number please?",
    "I understand, let me look into that for you.",
    "I can see the charge on the account, one moment please.",
    "I am sorry about the trouble, I will raise this with the team.",
    "Is there anything else I can help you with today?",
    "I have applied a credit and you will see it on the next bill.",
    "Let me transfer you to the right department.",
]
_STAGES = ("awareness", "purchase", "onboarding", "usage", "support", "billing", "renewal")
_MOODS = ("explicit", "at_risk", "friction", "positive", "neutral")
_MOOD_WEIGHTS = (0.06, 0.10, 0.44, 0.18, 0.22)


@dataclass(frozen=True)
class MixConfig:
    """Knobs of the generated stream."""

    customers: int = 2_000
    repeat_share: float = 0.12  # share of events whose text repeats an earlier one exactly
    seed: int = 7
    customer_prefix: str = "C"
    event_prefix: str = "e"
    zipf_s: float = 1.1


def _pick_channel(rng: random.Random) -> str:
    return rng.choices(list(CHANNEL_MIX), weights=list(CHANNEL_MIX.values()))[0]


def _sentence(rng: random.Random, mood: str) -> str:
    if mood == "explicit":
        return rng.choice(_EXPLICIT)
    if mood == "at_risk":
        return rng.choice(_AT_RISK)
    if mood == "friction":
        return rng.choice(_FRICTION[rng.choice(list(_FRICTION))])
    if mood == "positive":
        return rng.choice(_POSITIVE)
    return rng.choice(_NEUTRAL)


def _text(rng: random.Random, channel: str, mood: str) -> str:
    lo, hi = LENGTHS[channel]
    target = int(rng.triangular(lo, hi, lo + (hi - lo) * 0.3))
    parts = [_sentence(rng, mood)]
    while sum(len(p) + 1 for p in parts) < target:
        pool = rng.random()
        parts.append(_sentence(rng, mood) if pool < 0.35 else rng.choice(_FILLER))
    text = " ".join(parts)
    return text[:hi].rsplit(" ", 1)[0] if len(text) > hi else text


def _turns(rng: random.Random, mood: str) -> list[dict[str, str]]:
    lo, hi = LENGTHS["call"]
    target = int(rng.triangular(lo, hi, lo + (hi - lo) * 0.3))
    turns: list[dict[str, str]] = []
    size = 0
    while size < target:
        speaker = "agent" if len(turns) % 2 == 0 else "customer"
        if speaker == "agent":
            said = " ".join(rng.choice(_AGENT) for _ in range(rng.randint(1, 3)))
        else:
            said = " ".join(
                _sentence(rng, mood) if rng.random() < 0.5 else rng.choice(_FILLER)
                for _ in range(rng.randint(1, 4))
            )
        turns.append({"speaker": speaker, "text": said})
        size += len(said)
    return turns


class EventMix:
    """Deterministic generator of event dicts (the JSON the source topics carry)."""

    def __init__(self, config: MixConfig | None = None) -> None:
        self.config = config or MixConfig()
        self._rng = random.Random(self.config.seed)
        self._texts: list[tuple[str, str, Any]] = []  # (channel, mood, text-or-turns)
        self._n = 0
        cfg = self.config
        weights = [1.0 / (k + 1) ** cfg.zipf_s for k in range(cfg.customers)]
        self._cum = list(itertools.accumulate(weights))

    def _customer(self) -> str:
        idx = bisect.bisect_left(self._cum, self._rng.random() * self._cum[-1])
        return f"{self.config.customer_prefix}-{idx:06d}"

    def event(self, occurred_at: datetime) -> dict[str, Any]:
        """The next event of the mix, happening at ``occurred_at``."""
        rng = self._rng
        cfg = self.config
        if self._texts and rng.random() < cfg.repeat_share:
            channel, mood, body = rng.choice(self._texts)
        else:
            channel = _pick_channel(rng)
            mood = rng.choices(_MOODS, weights=_MOOD_WEIGHTS)[0]
            body = _turns(rng, mood) if channel == "call" else _text(rng, channel, mood)
            if len(self._texts) < 5_000:
                self._texts.append((channel, mood, body))
        self._n += 1
        out: dict[str, Any] = {
            "event_id": f"{cfg.event_prefix}-{self._n:08d}",
            "customer_id": self._customer(),
            "channel": channel,
            "occurred_at": occurred_at.isoformat(),
            "language": "en",
        }
        if channel == "call":
            out["turns"] = body
        else:
            out["text"] = body
        if channel in ("review", "survey"):
            out["rating"] = {"explicit": 1, "at_risk": 2, "friction": 2, "positive": 5}.get(
                mood, 3
            )
        if rng.random() < 0.5:
            out["journey_stage"] = rng.choice(_STAGES)
        return out

    def events(
        self, n: int, start: datetime | None = None, step: timedelta = timedelta(seconds=1)
    ) -> list[dict[str, Any]]:
        """``n`` events, ``step`` apart in event time, starting at ``start`` (default: now)."""
        t = start or datetime.now(UTC)
        return [self.event(t + i * step) for i in range(n)]

    def stream(self) -> Iterator[dict[str, Any]]:
        """Endless events stamped with the wall clock when they are drawn (open-loop load)."""
        while True:
            yield self.event(datetime.now(UTC))


def text_of(event: dict[str, Any]) -> str:
    """The text the classifier scores for a generated event (customer turns of calls)."""
    if event.get("turns"):
        return " ".join(t["text"] for t in event["turns"] if t["speaker"] == "customer")
    return str(event["text"])
