"""Per-customer state and the ``customer_churn_risk`` rule.

The state is a plain JSON-serialisable dict (it lives in a Faust table in the stream path
and in a dict in ``replay``); :func:`update_customer` is a pure function of the previous
state, one signal and the config, so both paths produce identical alerts. The rules work on
the working form of the state; what is stored is its compact form (``detector.state_codec``:
layout, versions, migration).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from detector.accounts import AccountConfig, account_reason, account_view, raise_for_renewal
from detector.alerts import SEVERITIES, Alert, make_alert_id, make_case_key, severity_rank
from detector.erasure import event_hash
from detector.issues import IssueConfig, joins_issue, opens_issue, track_issue
from detector.redact import Redactor, quote, snippet
from detector.signals import Signal
from detector.state_codec import (
    INTENTS_ORDER,
    compact,
    decode_time,
    expand,
    is_stored,
    quotable,
)


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
    explicit_probability: float = 0.5
    severity_medium: float = 0.5
    severity_high: float = 0.7
    severity_critical: float = 0.85
    min_alert_severity: str = "medium"
    cooldown_hours: float = 72.0
    contact_window_hours: float = 14 * 24.0
    evidence_size: int = 8
    seen_ids_size: int = 256
    max_contacts: int = 64
    snippet_chars: int = 160
    issue_similarity: float = 0.55
    issue_window_hours: float = 14 * 24.0
    issue_repeat_threshold: int = 3
    issue_max_threads: int = 3
    sentiment_slide: float = 0.4
    #: An escalation (a higher severity of an open case) waits this long after the
    #: customer's last alert, unless the message carries churn intent.
    escalation_min_minutes: float = 60.0
    #: A case stays open (later alerts update it) while its last alert is this recent.
    case_window_hours: float = 14 * 24.0
    renewal_window_days: float = 30.0
    revenue_horizon_months: float = 12.0

    def account_config(self) -> AccountConfig:
        return AccountConfig(
            renewal_window_days=self.renewal_window_days,
            revenue_horizon_months=self.revenue_horizon_months,
        )

    def issue_config(self) -> IssueConfig:
        return IssueConfig(
            similarity=self.issue_similarity,
            window_hours=self.issue_window_hours,
            repeat_threshold=self.issue_repeat_threshold,
            max_threads=self.issue_max_threads,
        )


@dataclass
class CustomerUpdate:
    state: dict[str, Any]
    alerts: list[Alert] = field(default_factory=list)
    duplicate: bool = False
    #: a duplicate whose content (time, channel, text) differs from the first one seen
    conflict: bool = False
    suppressed: list[str] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)


def new_state(customer_id: str) -> dict[str, Any]:
    """A new customer's state in the working form."""
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
        "seen_digests": [],
        "last_alerts": {},
        "max_intent": "none",
        "last_intent": "none",
        "threads": [],
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
    """Risk in [0, 1) at time ``at`` (event time), from the decayed accumulator (a state
    in either form)."""
    acc, risk_at = float(state["risk_acc"]), state["risk_at"]
    if is_stored(state) and risk_at is not None:
        risk_at = decode_time(risk_at)
    if risk_at and at is not None:
        hours = (at - datetime.fromisoformat(risk_at)).total_seconds() / 3600
        if hours > 0:
            acc *= _decay(hours, cfg)
    return 1.0 - math.exp(-acc)


def _severity(score: float, explicit: bool, leaning: bool, repeated: bool,
              cfg: RiskConfig) -> str | None:
    """Severity from the score, at least ``high`` for a request to leave (``critical``
    after earlier negative contacts) and at least ``medium`` for a message the models label
    a churn risk."""
    level = None
    if score >= cfg.severity_critical:
        level = "critical"
    elif score >= cfg.severity_high:
        level = "high"
    elif score >= cfg.severity_medium:
        level = "medium"
    floor = None
    if explicit:
        floor = "critical" if repeated else "high"
    elif leaning:
        floor = "medium"
    if floor is not None and (level is None or severity_rank(level) < severity_rank(floor)):
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

#: the same when no friction is on record for the customer (their recent messages name no
#: problem): there is no fix to own, so the contact asks what made them decide
_ACTIONS_NO_PROBLEM = {
    "critical": (
        "Call the customer today with a senior retention agent: ask what made them decide and "
        "what would change it, acknowledge every earlier contact so they need not repeat it, "
        "and make leaving easy if they still want to."
    ),
    "high": (
        "Contact the customer within 24 hours, before any cancellation goes through: ask what "
        "made them decide and whether anything would change it; if they still want to leave, "
        "make it easy."
    ),
    "medium": (
        "Reach out within 2 days: ask what is missing and what would make them stay (no "
        "problem is on record for this customer yet)."
    ),
    "low": _ACTIONS["low"],
}


#: the latest message wants a closed account back, or to come back: no retention talk
_ACTIONS_WANTS_BACK = {
    "critical": (
        "Call the customer today: find out why the account was closed, reopen or reinstate it "
        "if nothing stands in the way, confirm that it is back, and apologise where the "
        "closure was ours."
    ),
    "high": (
        "Contact the customer within 24 hours: find out why the account was closed, reopen or "
        "reinstate it if nothing stands in the way, confirm that it is back, and apologise "
        "where the closure was ours."
    ),
    "medium": (
        "Within 2 days: check why the account was closed, reopen or reinstate it (or sign "
        "them up again) if nothing stands in the way, and confirm to the customer."
    ),
    "low": _ACTIONS["low"],
}


def _action(severity: str, st: dict[str, Any], patterns: Sequence[str] = ()) -> str:
    """What support should do: by severity, and whether a problem is on record; for a
    closed account wanted back, reopening it."""
    if "wants_back" in patterns:
        return _ACTIONS_WANTS_BACK[severity]
    known = (any(e["friction_categories"] for e in st["evidence"])
             or any(t["categories"] for t in st.get("threads") or ()))
    return (_ACTIONS if known else _ACTIONS_NO_PROBLEM)[severity]


def update_customer(
    state: dict[str, Any] | None,
    signal: Signal,
    cfg: RiskConfig,
    redactor: Redactor | None = None,
    profile: dict[str, Any] | None = None,
) -> CustomerUpdate:
    """Fold one signal into the customer's state; return the new state and any alerts.

    ``state`` is a stored state of any version (or None); the returned one is in the stored
    form of this version (``detector.state_codec``). ``profile`` (``detector.accounts``)
    adds account context to the alerts; None changes nothing."""
    redactor = redactor or Redactor()
    if state is not None and "forgotten_seen" in state:  # erased (detector/erasure.py)
        if event_hash(signal.event_id) in state["forgotten_seen"]:
            return CustomerUpdate(state=state, duplicate=True)  # re-read from before it
        if "events" not in state:  # the customer is back: a fresh state keeps the marker
            state = {**new_state(signal.customer_id), **state}
    st = new_state(signal.customer_id) if state is None else expand(state, signal.customer_id)
    digest = content_digest(signal)
    if signal.event_id in st["seen"]:
        kept = state if state is not None and is_stored(state) else compact(st)
        return CustomerUpdate(state=kept, duplicate=True,
                              conflict=_conflicts(st, signal.event_id, digest))
    st["seen"] = (st["seen"] + [signal.event_id])[-cfg.seen_ids_size :]
    digests = list(st.get("seen_digests") or [])
    if len(digests) != len(st["seen"]) - 1:  # a state from before digests: start aligned
        digests = [""] * (len(st["seen"]) - 1)
    st["seen_digests"] = (digests + [digest])[-cfg.seen_ids_size :]
    st["events"] += 1
    if "auto_reply" in signal.flags:  # the customer's mailbox, not the customer: no contact
        return CustomerUpdate(state=compact(st))
    if "case_resolved" in signal.flags:  # the case system closed the case: no contact
        close_case(st, signal.occurred_at)
        return CustomerUpdate(state=compact(st))

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

    previous_intent = st.get("last_intent", "none")
    if INTENTS_ORDER.index(signal.churn_intent) > INTENTS_ORDER.index(st["max_intent"]):
        st["max_intent"] = signal.churn_intent
    previous_evidence = list(st["evidence"])
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
        "snippet": snippet(signal.evidence_text, redactor, cfg.snippet_chars),
    }
    # what the reasons quote for a flag: the sentence its rule read, redacted as the snippet
    quotes = {flag: snippet(said, redactor, cfg.snippet_chars)
              for flag, said in signal.flag_quotes.items() if flag in signal.flags}
    st["evidence"] = sorted(st["evidence"] + [item], key=lambda e: e["occurred_at"])[
        -cfg.evidence_size :
    ]
    late = at < latest
    if not late:
        st["last_intent"] = signal.churn_intent
        if "retraction" in signal.flags:  # took a request to leave back: only what is left
            st["max_intent"] = signal.churn_intent

    thread = None
    opens = opens_issue(signal.friction_categories, signal.churn_intent)
    said_repeat = "repeat_contact" in signal.flags
    if opens or joins_issue(signal.sentiment) or said_repeat:
        st["threads"], thread = track_issue(
            st.get("threads") or [],
            event_id=signal.event_id,
            occurred_at=at,
            channel=signal.channel,
            categories=signal.friction_categories,
            embedding=signal.packed_embedding(),
            cfg=cfg.issue_config(),
            may_open=opens,
            said_repeat=said_repeat,
        )

    patterns = _patterns(st, signal, previous_intent, previous_evidence, thread, late, cfg)
    update = CustomerUpdate(state=st, patterns=patterns)
    if thread is not None:
        _unresolved_issue_alert(update, signal, thread, cfg, profile)
    if not (not late and _stand_down_alert(update, signal, item, quotes, cfg)):
        _churn_risk_alert(update, signal, item, quotes, patterns, cfg, profile)
    update.state = compact(st)
    return update


def _request_on_record(st: dict[str, Any], signal: Signal, previous: dict[str, Any]) -> bool:
    """Whether the case has seen a request to leave: a message other than ``signal`` up to
    its last alert (``previous``) asked to leave, or that alert was such an update (the
    evidence on record is bounded). A case that has not is updated by one, whatever its
    severity (a critical case raised on "this is the last straw" must learn that the
    customer has since asked to close the account)."""
    if "asks_to_leave" in previous.get("patterns", ()):
        return True
    at = datetime.fromisoformat(previous["at"])
    return any(e["churn_intent"] == "explicit" and e["event_id"] != signal.event_id
               and datetime.fromisoformat(e["occurred_at"]) <= at for e in st["evidence"])


def _escalation_held(st: dict[str, Any], signal: Signal, cfg: RiskConfig) -> bool:
    """Whether an escalation must wait: the customer's last alert is too recent and this
    message carries no churn intent (the per-customer minimum interval). Measured to the
    customer's latest event time, so that a message arriving late is held like one in order."""
    last = st.get("last_alert_at")
    if not last or signal.churn_intent != "none":
        return False
    now = max(signal.occurred_at, datetime.fromisoformat(st["risk_at"]))
    since = (now - datetime.fromisoformat(last)).total_seconds()
    return 0 <= since < cfg.escalation_min_minutes * 60


def close_case(st: dict[str, Any], at: datetime) -> None:
    """What a case closed at ``at`` ends: the issue threads, contacts and alert cases up to
    then, and, when it is the latest news of the customer, the risk score and the friction
    counted (a later message starts a new case). A thread or contact after it (a late
    resolution) stays, and so does the risk score then: it cannot be told apart. The
    evidence and the churn intent seen stay."""
    def after(iso: str) -> bool:
        return bool(iso) and datetime.fromisoformat(iso) > at

    st["threads"] = [t for t in st.get("threads") or () if after(t["last_at"])]
    st["contacts"] = [c for c in st["contacts"] if after(c[0])]
    st["last_alerts"] = {k: a for k, a in st["last_alerts"].items() if after(a.get("at") or "")}
    if st["risk_at"] is None or not after(st["risk_at"]):
        st["risk_acc"], st["risk_at"] = 0.0, at.isoformat()
        st["friction_counts"] = {}


def _alerted(st: dict[str, Any], signal: Signal) -> None:
    """Note the customer's latest alert time (an alert on a late message does not move it
    back)."""
    at = signal.occurred_at.isoformat()
    last = st.get("last_alert_at")
    if not last or datetime.fromisoformat(last) < signal.occurred_at:
        st["last_alert_at"] = at


def _account(
    st: dict[str, Any], signal: Signal, severity: str, profile: dict[str, Any] | None,
    cfg: RiskConfig,
) -> tuple[str, dict[str, Any] | None]:
    """(severity after the renewal rule, the alert's ``account`` block) for this customer."""
    if not profile:
        return severity, None
    acfg = cfg.account_config()
    raised = raise_for_renewal(severity, profile, signal.occurred_at, acfg)
    risk = risk_score(st, datetime.fromisoformat(st["risk_at"]), cfg)
    view = account_view(profile, signal.occurred_at, risk, acfg, raised != severity)
    return raised, view


def _case(
    st: dict[str, Any], previous: dict[str, Any] | None, alert_type: str, signal: Signal,
    cfg: RiskConfig,
) -> tuple[str, str | None]:
    """(case key, superseded alert id) of a customer's new alert of ``alert_type``: the
    previous alert's case while it is recent, else a new case opened now."""
    if previous and previous.get("case_key"):
        age = (signal.occurred_at - datetime.fromisoformat(previous["at"])).total_seconds()
        if age < cfg.case_window_hours * 3600:
            return previous["case_key"], previous.get("alert_id")
    key = make_case_key(alert_type, signal.customer_id, signal.occurred_at.isoformat())
    return key, None


def content_digest(signal: Signal) -> str:
    """A short fingerprint of what the event says (time, channel, text): a redelivery has
    the same, an id re-used for another event has not."""
    text = f"{signal.occurred_at.isoformat()}\n{signal.channel}\n{signal.text}"
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()[:8]


def _conflicts(st: dict[str, Any], event_id: str, digest: str) -> bool:
    digests = st.get("seen_digests") or []
    if len(digests) != len(st["seen"]):
        return False
    first = digests[len(st["seen"]) - 1 - st["seen"][::-1].index(event_id)]
    return bool(first) and first != digest


def _patterns(
    st: dict[str, Any],
    signal: Signal,
    previous_intent: str,
    previous_evidence: list[dict[str, Any]],
    thread: dict[str, Any] | None,
    late: bool,
    cfg: RiskConfig,
) -> list[str]:
    """Patterns beyond one message that this signal completes."""
    found: list[str] = []
    if thread is not None and thread["count"] >= cfg.issue_repeat_threshold:
        found.append("unresolved_issue")
    if "repeat_contact" in signal.flags and thread is not None:  # and it names a problem
        found.append("said_repeat")
    if "recurring_problem" in signal.flags:  # the rule read a failure that keeps happening
        found.append("keeps_happening")
    if "escalation_threat" in signal.flags:
        found.append("escalation_threat")
    if "leaving_date" in signal.flags and signal.churn_intent != "none":
        found.append("leaving_date")
    if "implicit_leaving" in signal.flags and signal.churn_intent != "none":
        found.append("says_leaving")
    if "wants_back" in signal.flags:  # a closed account wanted back, or to come back
        found.append("wants_back")
    if "downgrade" in signal.flags and _unhappy_lately(st, signal, cfg):
        found.append("trading_down")
    if late:
        return found
    rank = INTENTS_ORDER.index
    # rising needs an earlier contact to rise from: a first message is not a trend
    if (previous_evidence and signal.churn_intent != "none"
            and rank(signal.churn_intent) > rank(previous_intent)):
        found.append("intent_rising")
    recent = [e["sentiment"] for e in st["evidence"]][-3:]
    if (
        len(recent) == 3
        and recent[0] > recent[1] > recent[2]
        and (recent[0] - recent[2] >= cfg.sentiment_slide)
    ):
        found.append("sentiment_sliding")
    if signal.rating is not None and signal.rating <= 2:
        window = timedelta(hours=cfg.contact_window_hours)
        earlier = [
            e
            for e in previous_evidence
            if signal.occurred_at - datetime.fromisoformat(e["occurred_at"]) <= window
        ]
        if signal.journey_stage == "onboarding" or any(
            e["journey_stage"] == "onboarding" for e in earlier
        ):
            found.append("low_rating_after_onboarding")
        if any(
            e["journey_stage"] == "support" or e["channel"] in ("ticket", "chat", "call", "email")
            for e in earlier
        ):
            found.append("low_rating_after_support")
    return found


def _unhappy_lately(st: dict[str, Any], signal: Signal, cfg: RiskConfig) -> bool:
    """Whether the customer's earlier contacts of the contact window hold friction, negative
    sentiment or a churn risk (not this one: the models read about half of plain requests to
    trade down as negative)."""
    window = timedelta(hours=cfg.contact_window_hours)
    return any(
        e["event_id"] != signal.event_id
        and timedelta(0) <= signal.occurred_at - datetime.fromisoformat(e["occurred_at"]) <= window
        and quotable(e)
        for e in st["evidence"])


#: what a churn-risk case says when the customer takes their request to leave back
STAND_DOWN_ACTION = (
    "No retention call is needed: the customer says they stay. Confirm in writing what was "
    "agreed (an offer, a fix, the account kept open), make sure no cancellation goes "
    "through, and keep any open problem with its owner until it is fixed."
)


def _stand_down_alert(update: CustomerUpdate, signal: Signal, item: dict[str, Any],
                      quotes: dict[str, str], cfg: RiskConfig) -> bool:
    """A customer who takes a request to leave back (flag ``retraction``, intent none)
    while their churn-risk case is open: the case is updated to ``low`` with a reason that
    says so, under its key, so that nobody makes the retention call the earlier alert asked
    for ("I want to cancel my subscription" at 09:00, "Actually the 50% discount works for
    me, I'll stay." at 09:20 left a high case standing). Once per case; True when sent."""
    st = update.state
    alert_type = "customer_churn_risk"
    previous = st["last_alerts"].get(alert_type)
    if ("retraction" not in signal.flags or signal.churn_intent != "none" or not previous
            or previous["severity"] == "low"):
        return False
    case_key, supersedes = _case(st, previous, alert_type, signal, cfg)
    if supersedes is None:  # the case is over: nothing to stand down
        return False
    latest = datetime.fromisoformat(st["risk_at"])
    channel = _CHANNEL_WORDS.get(signal.channel, signal.channel)
    said = quotes.get("retraction", item["snippet"])
    reasons = [f'Took the request to leave back on {channel}: "{quote(said)}"',
               f"Replaces a {previous['severity']} alert of this case"]
    reasons += [r for r in _reasons(st, signal, item, quotes, False, latest, [], cfg)
                if not r.startswith("Earlier messages showed")]
    evidence = [e for e in st["evidence"] if e["event_id"] == signal.event_id
                or e["churn_intent"] != "none" or e["friction_categories"]][-5:]
    _send_churn_alert(update, signal, "low", ["took_back"], (case_key, supersedes),
                      risk_score(st, latest, cfg), reasons, evidence, STAND_DOWN_ACTION)
    return True


def _churn_risk_alert(
    update: CustomerUpdate,
    signal: Signal,
    item: dict[str, Any],
    quotes: dict[str, str],
    patterns: list[str],
    cfg: RiskConfig,
    profile: dict[str, Any] | None = None,
) -> None:
    st = update.state
    latest = datetime.fromisoformat(st["risk_at"])
    score = risk_score(st, latest, cfg)
    explicit = (
        signal.churn_intent == "explicit"
        and signal.intent_probabilities.get("explicit", 0.0) >= cfg.explicit_probability
    )
    negatives = [
        e
        for e in st["evidence"]
        if e["event_id"] != signal.event_id and (e["friction_categories"] or e["sentiment"] < -0.2)
    ]
    # the models' label: churn probability P(explicit) + P(at_risk) of at least 0.5; a
    # problem the customer says they have raised before, or that keeps happening; trading
    # down after complaining
    leaning = (signal.churn_intent != "none"
               or bool({"said_repeat", "keeps_happening", "trading_down"} & set(patterns)))
    severity = _severity(score, explicit, leaning, bool(negatives), cfg)
    if {"escalation_threat", "leaving_date", "says_leaving"} & set(patterns) and (
            severity is None or severity_rank(severity) < severity_rank("high")):
        # the complaint leaves the company; the customer leaves on a date; says they leave
        severity = "high"
    if "says_leaving" in patterns and negatives:
        # says they leave after earlier unhappy contacts: as a request to leave would be
        severity = "critical"
    if "wants_back" in patterns:
        # gone unless the account is reopened: today when they are unhappy about it
        floor = "high" if signal.friction_categories or signal.sentiment < -0.2 else "medium"
        if severity is None or severity_rank(severity) < severity_rank(floor):
            severity = floor
    escalating = {"intent_rising", "sentiment_sliding"} & set(patterns)
    if severity is not None and escalating and score >= cfg.severity_medium * 0.8:
        if severity_rank(severity) < severity_rank("high") and "intent_rising" in escalating:
            severity = SEVERITIES[severity_rank(severity) + 1]
    if severity is None or severity_rank(severity) < severity_rank(cfg.min_alert_severity):
        return
    severity, account = _account(st, signal, severity, profile, cfg)

    alert_type = "customer_churn_risk"
    relevant = [p for p in patterns if p != "unresolved_issue"]
    previous = st["last_alerts"].get(alert_type)
    if previous:
        since = (signal.occurred_at - datetime.fromisoformat(previous["at"])).total_seconds()
        within_cooldown = since < cfg.cooldown_hours * 3600
        new_pattern = bool(set(relevant) - set(previous.get("patterns", []))) and (
            previous["severity"] != SEVERITIES[-1]
        )
        held = (
            within_cooldown
            and severity_rank(severity) <= severity_rank(previous["severity"])
            and (not new_pattern)
        )
        # a request to leave the case has not seen is an update even so, under its own id
        new_request = held and explicit and not _request_on_record(st, signal, previous)
        if (held and not new_request) or _escalation_held(st, signal, cfg):
            update.suppressed.append(alert_type)
            return
        if new_request:
            relevant = [*relevant, "asks_to_leave"]

    case = _case(st, previous, alert_type, signal, cfg)
    reasons = _reasons(st, signal, item, quotes, explicit, latest, relevant, cfg)
    if account is not None:
        reasons.append(account_reason(account))
    evidence = [
        e
        for e in st["evidence"]
        if e["event_id"] == signal.event_id
        or e["churn_intent"] != "none"
        or e["friction_categories"]
        or e["sentiment"] < -0.2
    ][-5:]
    _send_churn_alert(update, signal, severity, relevant, case, score, reasons, evidence,
                      _action(severity, st, relevant if not explicit else ()), account)


def _send_churn_alert(update: CustomerUpdate, signal: Signal, severity: str,
                      patterns: list[str], case: tuple[str, str | None], score: float,
                      reasons: list[str], evidence: list[dict[str, Any]], action: str,
                      account: dict[str, Any] | None = None) -> None:
    """Record a churn-risk alert as the case's latest and send it (``case``: its key and
    the alert it supersedes)."""
    st = update.state
    alert_type = "customer_churn_risk"
    # The id names the situation, not the message that happened to complete it, so that
    # a replay, a redelivery or a different arrival order gives the same id: customer,
    # severity, the start of the contact episode and the patterns seen.
    episode = st["contacts"][0][0] if st["contacts"] else signal.occurred_at.isoformat()
    alert_id = make_alert_id(
        alert_type, signal.customer_id, severity, episode, ",".join(sorted(patterns))
    )
    case_key, supersedes = case
    st["last_alerts"][alert_type] = {
        "severity": severity,
        "at": signal.occurred_at.isoformat(),
        "alert_id": alert_id,
        "patterns": patterns,
        "case_key": case_key,
    }
    _alerted(st, signal)
    update.alerts.append(
        Alert(
            alert_id=alert_id,
            type=alert_type,
            severity=severity,
            customer_id=signal.customer_id,
            journey_stage=signal.journey_stage,
            score=score,
            reasons=tuple(reasons),
            evidence=tuple(evidence),
            recommended_action=action,
            created_at=signal.occurred_at,
            model_version=signal.model_version,
            details={
                "risk_score": round(score, 4),
                "contacts_in_window": len(st["contacts"]),
                "friction_counts": dict(st["friction_counts"]),
                "trigger_event_id": signal.event_id,
                "patterns": patterns,
                "confidence": signal.confidence,
            },
            case_key=case_key,
            supersedes=supersedes,
            account=account,
        )
    )

def _unresolved_issue_alert(
    update: CustomerUpdate, signal: Signal, thread: dict[str, Any], cfg: RiskConfig,
    profile: dict[str, Any] | None = None,
) -> None:
    count, channels = thread["count"], thread["channels"]
    k = cfg.issue_repeat_threshold
    if count < k:
        return
    severity = "medium"
    if count >= k + 1 or len(channels) >= 2:
        severity = "high"
    explicit = signal.churn_intent == "explicit"
    if (count >= k + 2 and len(channels) >= 3) or (explicit and len(channels) >= 2):
        severity = "critical"
    st = update.state
    severity, account = _account(st, signal, severity, profile, cfg)
    alerted = thread.get("alerted")
    if alerted and (
        severity_rank(severity) <= severity_rank(alerted) or _escalation_held(st, signal, cfg)
    ):
        update.suppressed.append("unresolved_issue")
        return
    thread["alerted"] = severity
    alert_id = make_alert_id("unresolved_issue", signal.customer_id, thread["thread_id"], severity)
    supersedes = thread.get("alert_id")
    case_key = thread.get("case_key") or make_case_key(
        "unresolved_issue", signal.customer_id, thread["thread_id"]
    )
    thread["case_key"], thread["alert_id"] = case_key, alert_id
    _alerted(st, signal)
    first = datetime.fromisoformat(thread["first_at"])
    days = max(1, math.ceil((signal.occurred_at - first).total_seconds() / 86400))
    chans = [_CHANNEL_WORDS.get(c, c) for c in channels]
    topic = ", ".join(thread["categories"]) or "the same problem"
    first_ev = next((e for e in st["evidence"] if e["event_id"] == thread["thread_id"]), None)
    first_quote = f' (first raised: "{first_ev["snippet"][:80]}")' if first_ev else ""
    reason = (
        f"{ordinal(count)} contact in {days} day{'s' if days != 1 else ''} about {topic}"
        f"{first_quote}, across {_human_list(chans)}"
    )
    if signal.churn_intent == "explicit":
        reason += "; latest message asks to close the account"
    elif signal.churn_intent == "at_risk":
        reason += "; latest message hints at leaving"
    reasons = [reason]
    if len(channels) >= 2:
        reasons.append(
            f"Integration gap: the customer repeated this on {len(channels)} channels "
            f"({_human_list(chans)}) without it being joined up"
        )
    reasons.append(f"Open since {first.strftime('%Y-%m-%d %H:%M')} UTC, still unresolved")
    if account is not None:
        reasons.append(account_reason(account))
    evidence = [e for e in st["evidence"] if e["event_id"] in thread["event_ids"]][-5:]
    action = (
        "Give this issue one owner now: read the whole thread, fix the root cause, and reply "
        "on the customer's latest channel with the resolution and a reference, so they never "
        "have to explain it again."
    )
    update.alerts.append(
        Alert(
            alert_id=alert_id,
            type="unresolved_issue",
            severity=severity,
            customer_id=signal.customer_id,
            journey_stage=signal.journey_stage,
            score=min(1.0, count / (k + 2)),
            reasons=tuple(reasons),
            evidence=tuple(evidence),
            recommended_action=action,
            created_at=signal.occurred_at,
            model_version=signal.model_version,
            details={
                "thread_id": thread["thread_id"],
                "contacts": count,
                "since": thread["first_at"],
                "channels": list(channels),
                "categories": list(thread["categories"]),
                "cross_channel": len(channels) >= 2,
                "trigger_event_id": signal.event_id,
            },
            case_key=case_key,
            supersedes=supersedes,
            account=account,
        )
    )


# the leaving rule's quote is itself a request ("just cancel it at the end of the billing
# period", "Cancel the whole thing."), so the reason does not say that none was made
_ASKS_TO_CANCEL = re.compile(
    r"\b(cancel|terminate|end|stop|close)\s+(it|everything|the\s+whole\s+thing|the\s+lot|"
    r"all\s+of\s+it|my|our)\b|(^|[.!?,;:]\s*|\b(just|please)\s+)cancel\s*(please|now|[.!]|$)",
    re.IGNORECASE)

_PATTERN_WORDS = {
    "low_rating_after_onboarding": "Low rating right after onboarding",
    "low_rating_after_support": "Low rating right after a support contact",
}


def _reasons(
    st: dict[str, Any],
    signal: Signal,
    item: dict[str, Any],
    quotes: dict[str, str],
    explicit: bool,
    latest: datetime,
    patterns: list[str],
    cfg: RiskConfig,
) -> list[str]:
    """Why the case is raised, most telling first. ``quotes``: per flag of ``signal``, the
    sentence its rule read (redacted); a reason for that flag quotes it, unless the first
    reason quotes a text that holds it already."""
    reasons: list[str] = []
    headline_recurs = False  # the first reason says the problem keeps happening
    channel = _CHANNEL_WORDS.get(signal.channel, signal.channel)
    said = quote(item["snippet"])
    shown = ""  # what the first reason quotes
    if explicit:
        p = signal.intent_probabilities.get("explicit", 0.0)
        how = f"{p:.0%} explicit intent"
        if "leaving_cue" in signal.flags:  # another language, read by a cue list only
            how = (f"written in {signal.language or 'another language'}, found by the leaving "
                   "cue list; low confidence: have someone who reads it check")
        reasons.append(f'Latest {channel} message asks to leave: "{said}" ({how})')
        shown = item["snippet"]
    elif signal.churn_intent != "none" and "retraction" in signal.flags:
        reasons.append(f'Asked to leave on {channel}, then agreed to stay in the same '
                       f'conversation: "{said}"')
        shown = item["snippet"]
    elif signal.churn_intent != "none" and "implicit_leaving" in signal.flags:
        if _ASKS_TO_CANCEL.search(said):
            reasons.append(f'Asks to cancel on {channel}: "{said}"')
        else:
            reasons.append(f'Talks of leaving on {channel}: "{said}" (no request to close '
                           'anything yet)')
        shown = item["snippet"]
    elif signal.churn_intent != "none" and "leaving_terms" in signal.flags:
        shown = quotes.get("leaving_terms", item["snippet"])
        reasons.append(f'Asks about the terms of leaving on {channel}: "{quote(shown)}" '
                       '(weighing it: no request to leave yet)')
    elif signal.churn_intent != "none":
        reasons.append(f'Credible leaving signal on {channel}: "{said}"')
        shown = item["snippet"]
    elif "wants_back" in patterns:
        shown = quotes.get("wants_back", item["snippet"])
        reasons.append(f'Wants a closed account back, or to come back, on {channel}: '
                       f'"{quote(shown)}" (until it is reopened they are a customer lost)')
    elif "keeps_happening" in patterns:
        shown = quotes.get("recurring_problem", "")
        reasons.append(
            f'Says the problem keeps happening, on {channel}: "{quote(shown)}" (a failure that '
            "repeats, not a one-off: find its cause, not only this instance)" if shown else
            f"Says the problem keeps happening, on {channel}: a failure that repeats, not a "
            "one-off (find its cause, not only this instance)")
        headline_recurs = True
    elif st["max_intent"] != "none":
        reasons.append(f"Earlier messages showed {st['max_intent'].replace('_', ' ')} churn intent")

    def quoting(flag: str) -> str:
        """The sentence ``flag``'s rule read, as quoted, unless the first reason holds it."""
        q = quotes.get(flag, "")
        return quote(q) if q and q not in shown else ""

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
        raised = "Friction raised: " + ", ".join(f"{k} ×{v}" for k, v in top)
        if signal.friction_categories and "non_english" in signal.flags:
            raised += (f" (the latest read from {signal.language or 'another language'} by "
                       "English models: low confidence)")
        reasons.append(raised)
    sentiments = [e["sentiment"] for e in st["evidence"]][-4:]
    if len(sentiments) >= 3 and sentiments[-1] < sentiments[0] - 0.3:
        reasons.append(
            f"Sentiment sliding from {sentiments[0]:+.1f} to {sentiments[-1]:+.1f}"
            f" over the last {len(sentiments)} contacts"
        )
    if "intent_rising" in patterns:
        reasons.append(
            f"Churn intent rising: now {signal.churn_intent.replace('_', ' ')}, "
            "up from earlier contacts"
        )
    reasons.extend(_PATTERN_WORDS[p] for p in patterns if p in _PATTERN_WORDS)
    if "leaving_date" in patterns:
        q = quoting("leaving_date")
        reasons.append(f'Says when they leave: "{q}" (the retention window closes then)' if q
                       else "Says when they leave: the retention window closes then")
    if "escalation_threat" in patterns:
        q = quoting("escalation_threat")
        reasons.append(
            "Says they will take the complaint outside, to an ombudsman, a regulator, a court "
            f'or their bank: "{q}"' if q else
            "Says they will take the complaint outside: to an ombudsman, a regulator, a court "
            "or their bank")
    if "trading_down" in patterns:
        q = quoting("downgrade")
        reasons.append(
            f'Asks to trade down after complaining: "{q}" (a cheaper plan, an add-on or a line '
            "removed: revenue is already leaving)" if q else
            "Asks to trade down (a cheaper plan, an add-on or a line removed) after "
            "complaining: revenue is already leaving")
    if "keeps_happening" in patterns and not headline_recurs:
        q = quoting("recurring_problem")
        reasons.append(
            f'Says the problem keeps happening: "{q}" (a failure that repeats: find its cause, '
            "not only this instance)" if q else
            "Says the problem keeps happening: a failure that repeats (find its cause, not only "
            "this instance)")
    if "said_repeat" in patterns:
        thread = next((t for t in st.get("threads") or () if signal.event_id in t["event_ids"]),
                      None)
        q = quoting("repeat_contact")
        repeat = "Says this is not their first contact about it" + (f': "{q}"' if q else "")
        if thread is None or thread["count"] < 2:
            unseen = "no earlier contact about it is on record here: ask which channel they used"
            repeat += f" ({unseen})" if q else f", but {unseen}"
        reasons.append(repeat)
    low = [e for e in st["evidence"] if e.get("rating") is not None and e["rating"] <= 2]
    if low:
        reasons.append(f"Left a {low[-1]['rating']}-star rating on {low[-1]['channel']}")
    score = risk_score(st, latest, cfg)
    reasons.append(f"Risk score {score:.2f} (decayed, half-life {cfg.half_life_hours:g} h)")
    return reasons
