"""Per-customer state and the ``customer_churn_risk`` rule.

The state is a plain JSON-serialisable dict (it lives in a Faust table in the stream path
and in a dict in ``replay``); :func:`update_customer` is a pure function of the previous
state, one signal and the config, so both paths produce identical alerts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from detector.alerts import Alert, make_alert_id, severity_rank
from detector.redact import Redactor, snippet
from detector.signals import Signal

def ordinal(n: int) -> str:
    """1 -> '1st', 2 -> '2nd', 11 -> '11th', 23 -> '23rd'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass(frozen=True)
class RiskConfig:
    """Thresholds and weights of the customer risk score (all settable, see README)."""

    half_life_hours: float = 72.0
    weight_explicit: float = 1.6
    weight_at_risk: float = 0.7
    weight_negative: float = 0.35
    weight_friction: float = 0.2
    weight_low_rating: float = 0.25
    probability_floor: float = 0.35
    explicit_probability: float = 0.6
    severity_medium: float = 0.5
    severity_high: float = 0.7
    severity_critical: float = 0.85
    min_alert_severity: str = "medium"
    cooldown_hours: float = 72.0
    contact_window_hours: float = 14 * 24.0
    evidence_size: int = 8
    seen_ids_size: int = 256
    max_contacts: int = 64
    snippet_chars: int = 200


@dataclass
class CustomerUpdate:
    state: dict[str, Any]
    alerts: list[Alert] = field(default_factory=list)
    duplicate: bool = False


def new_state(customer_id: str) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "risk_acc": 0.0,
        "risk_at": None,
        "events": 0,
        "friction_counts": {},
        "channels": {},
        "contacts": [],
        "evidence": [],
        "seen": [],
        "last_alerts": {},
        "max_intent": "none",
    }


def _excess(p: float, floor: float) -> float:
    return max(0.0, (p - floor) / (1.0 - floor))


def contribution(signal: Signal, cfg: RiskConfig) -> float:
    """How much one signal adds to the customer's (undecayed) risk accumulator."""
    probs = signal.intent_probabilities
    c = cfg.weight_explicit * _excess(probs.get("explicit", 0.0), cfg.probability_floor)
    c += cfg.weight_at_risk * _excess(probs.get("at_risk", 0.0), cfg.probability_floor)
    if signal.sentiment < -0.2:
        c += cfg.weight_negative * (-signal.sentiment)
    if signal.friction_categories:
        c += cfg.weight_friction * max(signal.friction[k] for k in signal.friction_categories)
    if signal.rating is not None and signal.rating <= 2:
        c += cfg.weight_low_rating * (3 - signal.rating) / 2
    return c


def _decay(hours: float, cfg: RiskConfig) -> float:
    return float(0.5 ** (hours / cfg.half_life_hours))


def risk_score(state: dict[str, Any], at: datetime | None, cfg: RiskConfig) -> float:
    """Risk in [0, 1) at time ``at`` (event time), from the decayed accumulator."""
    acc = float(state["risk_acc"])
    if state["risk_at"] and at is not None:
        hours = (at - datetime.fromisoformat(state["risk_at"])).total_seconds() / 3600
        if hours > 0:
            acc *= _decay(hours, cfg)
    return 1.0 - math.exp(-acc)


def _severity(score: float, explicit: bool, repeated: bool, cfg: RiskConfig) -> str | None:
    level = None
    if score >= cfg.severity_critical:
        level = "critical"
    elif score >= cfg.severity_high:
        level = "high"
    elif score >= cfg.severity_medium:
        level = "medium"
    if explicit:
        floor = "critical" if repeated else "high"
        if level is None or severity_rank(level) < severity_rank(floor):
            level = floor
    return level


def _human_list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


_CHANNEL_WORDS = {
    "call": "phone",
    "ticket": "ticket",
    "review": "review",
    "social": "social media",
    "chat": "chat",
    "email": "email",
    "survey": "survey",
}

_ACTIONS = {
    "critical": (
        "Call the customer today with a senior retention agent who can fix the root cause "
        "and offer a concession; acknowledge every earlier contact so they need not repeat it."
    ),
    "high": (
        "Contact the customer within 24 hours: own the open problem end to end, confirm the fix "
        "and a date, and hold any cancellation until you have spoken."
    ),
    "medium": (
        "Review the open issues for this customer and reach out proactively within 2 days; "
        "make sure the latest problem has an owner."
    ),
    "low": "Keep an eye on this customer; no action needed yet.",
}


def update_customer(
    state: dict[str, Any] | None,
    signal: Signal,
    cfg: RiskConfig,
    redactor: Redactor | None = None,
) -> CustomerUpdate:
    """Fold one signal into the customer's state; return the new state and any alerts."""
    redactor = redactor or Redactor()
    st = new_state(signal.customer_id) if state is None else _copy(state)
    if signal.event_id in st["seen"]:
        return CustomerUpdate(state=st, duplicate=True)
    st["seen"] = (st["seen"] + [signal.event_id])[-cfg.seen_ids_size :]
    st["events"] += 1

    at = signal.occurred_at
    c = contribution(signal, cfg)
    if st["risk_at"] is None:
        st["risk_acc"], st["risk_at"] = c, at.isoformat()
    else:
        last = datetime.fromisoformat(st["risk_at"])
        hours = (at - last).total_seconds() / 3600
        if hours >= 0:
            st["risk_acc"] = st["risk_acc"] * _decay(hours, cfg) + c
            st["risk_at"] = at.isoformat()
        else:  # late event: decay its contribution to the state's time instead
            st["risk_acc"] += c * _decay(-hours, cfg)

    for cat in signal.friction_categories:
        st["friction_counts"][cat] = st["friction_counts"].get(cat, 0) + 1
    st["channels"][signal.channel] = st["channels"].get(signal.channel, 0) + 1
    latest = datetime.fromisoformat(st["risk_at"])
    horizon = latest - timedelta(hours=cfg.contact_window_hours)
    contacts = [x for x in st["contacts"] if datetime.fromisoformat(x[0]) >= horizon]
    if at >= horizon:
        contacts.append([at.isoformat(), signal.channel])
    st["contacts"] = sorted(contacts)[-cfg.max_contacts :]

    intents = ("none", "at_risk", "explicit")
    if intents.index(signal.churn_intent) > intents.index(st["max_intent"]):
        st["max_intent"] = signal.churn_intent
    item = {
        "event_id": signal.event_id,
        "channel": signal.channel,
        "occurred_at": at.isoformat(),
        "churn_intent": signal.churn_intent,
        "churn_probability": round(signal.churn_probability, 3),
        "sentiment": round(signal.sentiment, 3),
        "friction_categories": list(signal.friction_categories),
        "journey_stage": signal.journey_stage,
        "rating": signal.rating,
        "snippet": snippet(signal.text, redactor, cfg.snippet_chars),
    }
    st["evidence"] = sorted(st["evidence"] + [item], key=lambda e: e["occurred_at"])[
        -cfg.evidence_size :
    ]

    alerts = _churn_risk_alert(st, signal, item, cfg)
    return CustomerUpdate(state=st, alerts=alerts)


def _copy(state: dict[str, Any]) -> dict[str, Any]:
    out = dict(state)
    for key in ("friction_counts", "channels", "last_alerts"):
        out[key] = dict(state.get(key) or {})
    for key in ("contacts", "evidence", "seen"):
        out[key] = list(state.get(key) or [])
    return out


def _churn_risk_alert(
    st: dict[str, Any], signal: Signal, item: dict[str, Any], cfg: RiskConfig
) -> list[Alert]:
    latest = datetime.fromisoformat(st["risk_at"])
    score = risk_score(st, latest, cfg)
    explicit = (
        signal.churn_intent == "explicit"
        and signal.intent_probabilities.get("explicit", 0.0) >= cfg.explicit_probability
    )
    negatives = [
        e for e in st["evidence"]
        if e["event_id"] != signal.event_id and (e["friction_categories"] or e["sentiment"] < -0.2)
    ]
    severity = _severity(score, explicit, bool(negatives), cfg)
    if severity is None or severity_rank(severity) < severity_rank(cfg.min_alert_severity):
        return []

    alert_type = "customer_churn_risk"
    previous = st["last_alerts"].get(alert_type)
    if previous:
        since = (signal.occurred_at - datetime.fromisoformat(previous["at"])).total_seconds()
        within_cooldown = since < cfg.cooldown_hours * 3600
        if within_cooldown and severity_rank(severity) <= severity_rank(previous["severity"]):
            return []

    alert_id = make_alert_id(alert_type, signal.customer_id, severity, signal.event_id)
    st["last_alerts"][alert_type] = {
        "severity": severity,
        "at": signal.occurred_at.isoformat(),
        "alert_id": alert_id,
    }
    reasons = _reasons(st, signal, item, explicit, latest, cfg)
    evidence = [
        e for e in st["evidence"]
        if e["event_id"] == signal.event_id
        or e["churn_intent"] != "none"
        or e["friction_categories"]
        or e["sentiment"] < -0.2
    ][-5:]
    stage = signal.journey_stage
    return [
        Alert(
            alert_id=alert_id,
            type=alert_type,
            severity=severity,
            customer_id=signal.customer_id,
            journey_stage=stage,
            score=score,
            reasons=tuple(reasons),
            evidence=tuple(evidence),
            recommended_action=_ACTIONS[severity],
            created_at=signal.occurred_at,
            model_version=signal.model_version,
            details={
                "risk_score": round(score, 4),
                "contacts_in_window": len(st["contacts"]),
                "friction_counts": dict(st["friction_counts"]),
                "trigger_event_id": signal.event_id,
                "confidence": signal.confidence,
            },
        )
    ]


def _reasons(
    st: dict[str, Any],
    signal: Signal,
    item: dict[str, Any],
    explicit: bool,
    latest: datetime,
    cfg: RiskConfig,
) -> list[str]:
    reasons: list[str] = []
    channel = _CHANNEL_WORDS.get(signal.channel, signal.channel)
    quote = item["snippet"] if len(item["snippet"]) <= 120 else item["snippet"][:119] + "…"
    if explicit:
        p = signal.intent_probabilities.get("explicit", 0.0)
        reasons.append(f'Latest {channel} message asks to leave: "{quote}" ({p:.0%} explicit intent)')
    elif signal.churn_intent == "at_risk":
        reasons.append(f'Credible leaving signal on {channel}: "{quote}"')
    elif st["max_intent"] != "none":
        reasons.append(f"Earlier messages showed {st['max_intent'].replace('_', ' ')} churn intent")
    contacts = st["contacts"]
    if len(contacts) >= 2:
        first = datetime.fromisoformat(contacts[0][0])
        days = max(1, math.ceil((latest - first).total_seconds() / 86400))
        chans = sorted({_CHANNEL_WORDS.get(c[1], c[1]) for c in contacts})
        reasons.append(
            f"{ordinal(len(contacts))} contact in {days} day{'s' if days != 1 else ''}"
            f" across {_human_list(chans)}"
        )
    counts = st["friction_counts"]
    if counts:
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        reasons.append("Friction raised: " + ", ".join(f"{k} ×{v}" for k, v in top))
    sentiments = [e["sentiment"] for e in st["evidence"]][-4:]
    if len(sentiments) >= 3 and sentiments[-1] < sentiments[0] - 0.3:
        reasons.append(
            f"Sentiment sliding from {sentiments[0]:+.1f} to {sentiments[-1]:+.1f}"
            f" over the last {len(sentiments)} contacts"
        )
    low = [e for e in st["evidence"] if e.get("rating") is not None and e["rating"] <= 2]
    if low:
        reasons.append(f"Left a {low[-1]['rating']}-star rating on {low[-1]['channel']}")
    reasons.append(f"Risk score {risk_score(st, latest, cfg):.2f} (decayed, half-life {cfg.half_life_hours:g} h)")
    return reasons
