"""Per-journey-stage aggregation: event-time windows, baselines, friction spikes and CX gap.

State is one JSON dict per stage (a Faust table row keyed by stage in the stream path,
a dict entry in ``replay``). Windows are hopping: buckets ``step`` wide, a window is the
``size`` worth of buckets ending at a bucket boundary. Events later than ``lateness``
behind the stage's watermark (the latest event time seen) are counted as late and left
out of the windows. When a bucket closes its window feeds an EWMA baseline of the
friction rate per category; the open window is compared with that baseline on every
event, so spikes are seen as they form.

Beside that *rate* rule, a *volume* rule (:mod:`detector.surge`) judges the count of each
category in the open window against a gamma-Poisson model of the stage's counts per hour of
day: every closed step, empty ones included, feeds it, so a quiet stage has a baseline too.
Both rules share one episode per stage x category: one case, escalating.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from detector.alerts import Alert, make_alert_id, make_case_key, severity_rank
from detector.signals import FRICTION_CATEGORIES, Signal
from detector.surge import SurgeConfig, expected_in_window, fold_step, surge_tail

ANY = "_any"


@dataclass(frozen=True)
class StageConfig:
    """Window, baseline, spike and CX-gap settings (all settable, see README)."""

    window_minutes: float = 60.0
    step_minutes: float = 15.0
    lateness_minutes: float = 30.0
    baseline_alpha: float = 0.2
    baseline_min_events: int = 5
    warmup_windows: int = 3
    spike_min_events: int = 20
    spike_min_count: int = 5
    spike_z: float = 3.0
    spike_min_lift: float = 0.15
    spike_rate_floor: float = 0.05
    gap_threshold: float = 0.15
    gap_min_events: int = 10
    gap_duration_minutes: float = 120.0
    #: Recent (customer, event id) pairs kept per stage to count a re-sent signal once.
    seen_ids_size: int = 2048
    expectations: dict[str, dict[str, float]] = field(default_factory=dict)
    #: |sentiment| from which a message counts as an opinion in the CX gap (ratings always do).
    opinion_threshold: float = 0.25
    surge: SurgeConfig = field(default_factory=SurgeConfig)

    @property
    def step(self) -> timedelta:
        return timedelta(minutes=self.step_minutes)

    @property
    def size(self) -> timedelta:
        return timedelta(minutes=self.window_minutes)


@dataclass
class StageUpdate:
    state: dict[str, Any]
    alerts: list[Alert] = field(default_factory=list)
    late: bool = False
    observed: dict[str, float] = field(default_factory=dict)
    duplicate: bool = False


def new_stage_state(stage: str) -> dict[str, Any]:
    return {
        "journey_stage": stage,
        "events": 0,
        "with_friction": 0,
        "sentiment_sum": 0.0,
        "friction": {c: 0 for c in FRICTION_CATEGORIES},
        "by_channel": {},
        "late": 0,
        "watermark": None,
        "closed_until": None,
        "buckets": {},
        "baseline": {},
        "spikes": {},
        "gap": {"since": None, "alerted": None},
        "seen": [],
        "volume": None,
    }


def seen_key(customer_id: str, event_id: str) -> str:
    """Deduplication key of a stage: event ids are unique per customer only
    (docs/contracts.md), so the customer is part of it; hashed, so that the stage state
    holds no customer id (an erased customer's keys can stay: they still deduplicate)."""
    return hashlib.sha256(f"{customer_id}\n{event_id}".encode()).hexdigest()[:16]


def friction_rate(state: dict[str, Any]) -> float:
    """Share of the stage's events (all time) that raised any friction."""
    return state["with_friction"] / state["events"] if state["events"] else 0.0


def _floor(at: datetime, step: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((at - epoch) // step) * step


def _empty_counts() -> dict[str, Any]:
    """Counters of one bucket, or of a window summed over buckets."""
    return {
        "events": 0,
        "with_friction": 0,
        "sat_sum": 0.0,
        "judged": 0,
        "satisfied": 0,
        "judged_friction": 0,
        "friction": {},
        "channels": {},
        "examples": {},
        "customers": {},
        "first": {},
    }


#: a window's per-category detail, read only where a rule raises an alert or checks a surge
_DETAIL = ("channels", "examples", "customers", "first")


class _Window(dict[str, Any]):
    """Counters of a window summed over its buckets; the per-category detail (channels,
    example ids, distinct customers, first times) is summed from the same buckets on first
    use, since most events raise no alert and the customer-id sets cost most."""

    def __init__(self, buckets: list[dict[str, Any]]) -> None:
        super().__init__({k: v for k, v in _empty_counts().items() if k not in _DETAIL})
        self._buckets = buckets
        for b in buckets:
            self["events"] += b["events"]
            self["with_friction"] += b["with_friction"]
            self["sat_sum"] += b["sat_sum"]
            for key in ("judged", "satisfied", "judged_friction"):
                self[key] += b.get(key, 0)
            friction = self["friction"]
            for cat, n in b["friction"].items():
                friction[cat] = friction.get(cat, 0) + n

    def __missing__(self, key: str) -> Any:
        if key not in _DETAIL:
            raise KeyError(key)
        customers: dict[str, set[str]] = {}
        first: dict[str, str] = {}
        channels: dict[str, dict[str, int]] = {}
        examples: dict[str, list[str]] = {}
        for b in self._buckets:
            for cat, ids in b.get("customers", {}).items():
                customers.setdefault(cat, set()).update(ids)
            for cat, at in b.get("first", {}).items():
                if cat not in first or at < first[cat]:
                    first[cat] = at
            for ch, per in b["channels"].items():
                dst = channels.setdefault(ch, {})
                for cat, n in per.items():
                    dst[cat] = dst.get(cat, 0) + n
            for cat, ids in b["examples"].items():
                examples.setdefault(cat, []).extend(ids)
        self.update(channels=channels, examples=examples, customers=customers, first=first)
        return self[key]


def _window(state: dict[str, Any], end: datetime, cfg: StageConfig) -> dict[str, Any]:
    """Sum of the buckets in [end - size, end)."""
    start = end - cfg.size
    return _Window([b for key, b in state["buckets"].items()
                    if start <= datetime.fromisoformat(key) < end])


def _rates(window: dict[str, Any]) -> dict[str, float]:
    n = window["events"]
    if not n:
        return {}
    rates = {cat: window["friction"].get(cat, 0) / n for cat in FRICTION_CATEGORIES}
    rates[ANY] = window["with_friction"] / n
    return rates


def _close_buckets(update: StageUpdate, signal: Signal, cfg: StageConfig) -> None:
    """Close buckets behind the watermark: fold their windows into the baselines and
    judge the CX gap on them (closed windows hold every event within the lateness, so
    the result does not depend on arrival order)."""
    state = update.state
    watermark = datetime.fromisoformat(state["watermark"])
    limit = watermark - timedelta(minutes=cfg.lateness_minutes)
    closed = datetime.fromisoformat(state["closed_until"]) if state["closed_until"] else None
    for key in sorted(state["buckets"]):
        start = datetime.fromisoformat(key)
        end = start + cfg.step
        if end > limit:
            break
        if closed is not None and end <= closed:
            continue
        window = _window(state, end, cfg)
        if window["events"] >= cfg.baseline_min_events:
            for cat, rate in _rates(window).items():
                base = state["baseline"].get(cat)
                if base is None:
                    state["baseline"][cat] = {"mean": rate, "var": 0.0, "n": 1}
                    continue
                a = cfg.baseline_alpha
                diff = rate - base["mean"]
                base["mean"] += a * diff
                base["var"] = (1 - a) * (base["var"] + a * diff * diff)
                base["n"] += 1
        _gap(update, signal, window, end, cfg)
        closed = end
    # the count model learns from steps a whole window behind the closed ones: a surge is
    # judged against what came before it, whatever order its events arrive in
    _fold_volume(state, limit - cfg.size, cfg)
    if closed is not None:
        state["closed_until"] = closed.isoformat()
    horizon = limit - cfg.size
    state["buckets"] = {
        k: v for k, v in state["buckets"].items() if datetime.fromisoformat(k) + cfg.step > horizon
    }


def _fold_volume(state: dict[str, Any], limit: datetime, cfg: StageConfig) -> None:
    """Feed every step that closed since the last call (empty ones included) to the
    stage's count model; a long silence is caught up for at most ``catchup_days``."""
    volume = state.get("volume")
    if volume is None:
        if not state["buckets"]:
            return
        first = min(datetime.fromisoformat(k) for k in state["buckets"])
        volume = state["volume"] = {"next": first.isoformat()}
    at = datetime.fromisoformat(volume["next"])
    steps = int((limit - at) // cfg.step)
    if steps <= 0:
        return
    most = int(timedelta(days=cfg.surge.catchup_days) // cfg.step)
    if steps > most:
        at += (steps - most) * cfg.step
        steps = most
    step_hours = cfg.step_minutes / 60
    for _ in range(steps):
        bucket = state["buckets"].get(at.isoformat())
        counts = bucket["friction"] if bucket else {}
        fold_step(volume, at.hour, counts, step_hours, cfg.surge)
        at += cfg.step
    volume["next"] = at.isoformat()


def _opinion(signal: Signal, cfg: StageConfig) -> int | None:
    """CSAT-style judgement of one message: 1 satisfied, 0 dissatisfied, None neutral (a
    question, a statement): a rating of 4-5 / 1-2 decides, else clearly positive or
    negative sentiment."""
    if signal.rating is not None and signal.rating != 3:
        return 1 if signal.rating >= 4 else 0
    if signal.sentiment >= cfg.opinion_threshold:
        return 1
    if signal.sentiment <= -cfg.opinion_threshold:
        return 0
    return None


def update_stage(
    state: dict[str, Any] | None, signal: Signal, cfg: StageConfig | None = None,
    *, owned: bool = False,
) -> StageUpdate:
    """Fold one (deduplicated) signal into its stage; return state, alerts and observations.

    ``state`` is left as it is, unless ``owned``: then it is a copy the caller owns (the state
    an earlier update of the same batch returned), updated in place.
    """
    cfg = cfg or StageConfig()
    if state is None:
        st = new_stage_state(signal.journey_stage)
    else:
        st = state if owned else _copy(state)
    seen = st.setdefault("seen", [])
    key = seen_key(signal.customer_id, signal.event_id)
    if key in seen:
        return StageUpdate(state=st, duplicate=True)
    seen.append(key)
    del seen[: max(0, len(seen) - cfg.seen_ids_size)]
    if {"auto_reply", "case_resolved"} & set(signal.flags):  # no contact, no opinion
        return StageUpdate(state=st)
    st["events"] += 1
    st["sentiment_sum"] += signal.sentiment
    if signal.friction_categories:
        st["with_friction"] += 1
    channel = st["by_channel"].setdefault(signal.channel, {"events": 0, "friction": {}})
    channel["events"] += 1
    for cat in signal.friction_categories:
        st["friction"][cat] = st["friction"].get(cat, 0) + 1
        channel["friction"][cat] = channel["friction"].get(cat, 0) + 1

    at = signal.occurred_at
    lateness = timedelta(minutes=cfg.lateness_minutes)
    if st["watermark"] and at < datetime.fromisoformat(st["watermark"]) - lateness:
        st["late"] += 1
        return StageUpdate(state=st, late=True)

    start = _floor(at, cfg.step)
    bucket = st["buckets"].setdefault(start.isoformat(), _empty_counts())
    bucket["events"] += 1
    bucket["sat_sum"] += (signal.sentiment + 1.0) / 2.0
    opinion = _opinion(signal, cfg)
    if opinion is not None:
        bucket["judged"] = bucket.get("judged", 0) + 1
        bucket["satisfied"] = bucket.get("satisfied", 0) + opinion
        if signal.friction_categories:
            bucket["judged_friction"] = bucket.get("judged_friction", 0) + 1
    if signal.friction_categories:
        bucket["with_friction"] += 1
    per_channel = bucket["channels"].setdefault(signal.channel, {})
    for cat in signal.friction_categories:
        bucket["friction"][cat] = bucket["friction"].get(cat, 0) + 1
        per_channel[cat] = per_channel.get(cat, 0) + 1
        examples = bucket["examples"].setdefault(cat, [])
        if len(examples) < 3:
            examples.append(signal.event_id)
        who = bucket.setdefault("customers", {}).setdefault(cat, [])
        if signal.customer_id not in who and len(who) < cfg.surge.customer_ids:
            who.append(signal.customer_id)
        firsts = bucket.setdefault("first", {})
        if cat not in firsts or at.isoformat() < firsts[cat]:
            firsts[cat] = at.isoformat()
    if not st["watermark"] or at > datetime.fromisoformat(st["watermark"]):
        st["watermark"] = at.isoformat()
    update = StageUpdate(state=st)
    _close_buckets(update, signal, cfg)
    window = _window(st, start + cfg.step, cfg)
    _spikes(update, signal, window, start + cfg.step, cfg)
    _surges(update, signal, window, start + cfg.step, cfg)
    _observe(update, signal.journey_stage, window, cfg)
    return update


def _spike_severity(lift: float) -> str:
    if lift >= 0.5:
        return "critical"
    if lift >= 0.3:
        return "high"
    return "medium"


def _spikes(
    update: StageUpdate, signal: Signal, window: dict[str, Any], end: datetime, cfg: StageConfig
) -> None:
    st = update.state
    n = window["events"]
    rates = _rates(window)
    update.observed["friction_rate"] = rates.get(ANY, 0.0)
    if n < cfg.spike_min_events:
        return
    stage = signal.journey_stage
    for cat in FRICTION_CATEGORIES:
        count = window["friction"].get(cat, 0)
        base = st["baseline"].get(cat)
        if count < cfg.spike_min_count or base is None or base["n"] < cfg.warmup_windows:
            continue
        rate, mean = rates[cat], base["mean"]
        sd = (base["var"] + cfg.spike_rate_floor**2) ** 0.5
        z = (rate - mean) / sd
        if rate - mean < cfg.spike_min_lift or z < cfg.spike_z:
            continue
        severity = _spike_severity(rate - mean)
        opened = _episode(st, stage, cat, severity, end, cfg)
        if opened is None:
            continue
        episode, case_key, supersedes = opened
        alert_id = make_alert_id("stage_friction_spike", stage, cat, episode, severity)
        st["spikes"][cat]["alert_id"] = alert_id
        top, channels, context, evidence = _window_context(window, cat)
        minutes = int(cfg.window_minutes)
        customers = len(window["customers"].get(cat, ()))
        first = window["first"].get(cat) or (end - cfg.size).isoformat()
        first_seen = datetime.fromisoformat(first).strftime("%Y-%m-%d %H:%M")
        update.alerts.append(
            Alert(
                alert_id=alert_id,
                type="stage_friction_spike",
                severity=severity,
                customer_id=None,
                journey_stage=stage,
                score=min(1.0, rate),
                reasons=(
                    f"{cat} friction at {stage} is {rate:.0%} of {n} events in the last "
                    f"{minutes} min, against a usual {mean:.0%} ({z:.1f} standard deviations)",
                    f"{customers} customers affected, since {first_seen} UTC",
                    *context,
                ),
                evidence=evidence,
                recommended_action=(
                    f"Check what changed at {stage} (release, outage, policy, campaign) for "
                    f"{cat}; post a known-issue note for agents and a proactive message to "
                    "affected customers."
                ),
                created_at=signal.occurred_at,
                model_version=signal.model_version,
                details={
                    "rule": "rate",
                    "category": cat,
                    "window_start": (end - cfg.size).isoformat(),
                    "window_end": end.isoformat(),
                    "events": n,
                    "count": count,
                    "customers": customers,
                    "since": first,
                    "rate": round(rate, 4),
                    "baseline_rate": round(mean, 4),
                    "z": round(z, 2),
                    "top_categories": [c for c, _ in top],
                    "channels": channels,
                },
                case_key=case_key,
                supersedes=supersedes,
            )
        )


def _window_context(
    window: dict[str, Any], cat: str
) -> tuple[list[tuple[str, int]], dict[str, int], tuple[str, str], tuple[dict[str, Any], ...]]:
    """What both spike rules tell about a window: its top categories, the category's
    channels, those two as reasons, and up to five of the category's events as evidence."""
    top = sorted(window["friction"].items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    channels = {ch: per.get(cat, 0) for ch, per in window["channels"].items() if per.get(cat)}
    context = ("Top categories in the window: " + ", ".join(f"{c} ×{k}" for c, k in top),
               "Channels: " + ", ".join(f"{c} ×{k}" for c, k in sorted(channels.items())))
    evidence = tuple({"event_id": eid, "category": cat}
                     for eid in window["examples"].get(cat, [])[:5])
    return top, channels, context, evidence


def _episode(
    st: dict[str, Any], stage: str, cat: str, severity: str, end: datetime, cfg: StageConfig
) -> tuple[str, str, str | None] | None:
    """(episode, case key, superseded alert id) for a stage x category alert at
    ``severity``, or None when the open episode already alerted at that severity or
    higher. The rate and the volume rules share the episode: one case per situation."""
    previous = st["spikes"].get(cat)
    episode = (end - cfg.size).isoformat()
    supersedes = None
    if previous and datetime.fromisoformat(previous["until"]) >= end - cfg.size:
        episode = previous["episode"]
        if severity_rank(severity) <= severity_rank(previous["severity"]):
            previous["until"] = end.isoformat()
            return None
        supersedes = previous.get("alert_id")
    case_key = make_case_key("stage_friction_spike", stage, cat, episode)
    record = {"episode": episode, "severity": severity, "until": end.isoformat()}
    if supersedes is not None and previous and previous.get("since"):
        record["since"] = previous["since"]
    st["spikes"][cat] = record
    return episode, case_key, supersedes


def _surge_severity(customers: int, cfg: SurgeConfig) -> str:
    if customers >= cfg.customers_critical:
        return "critical"
    if customers >= cfg.customers_high:
        return "high"
    return "medium"


def _surges(
    update: StageUpdate, signal: Signal, window: dict[str, Any], end: datetime, cfg: StageConfig
) -> None:
    """The volume rule: the open window's count of each of this signal's categories
    against the stage's count model for those hours (see :mod:`detector.surge`)."""
    st = update.state
    volume = st.get("volume")
    scfg = cfg.surge
    if not scfg.enabled or not volume or volume.get("hours", 0.0) < scfg.warmup_hours:
        return
    stage = signal.journey_stage
    start = end - cfg.size
    hours = [(start + i * cfg.step).hour for i in range(int(cfg.size // cfg.step))]
    for cat in signal.friction_categories:
        count = window["friction"].get(cat, 0)
        customers = len(window["customers"].get(cat, ()))
        if count < scfg.min_count or customers < scfg.min_customers:
            continue
        expected, shape = expected_in_window(volume, cat, hours, cfg.step_minutes / 60, scfg)
        if count < scfg.min_ratio * expected:
            continue
        p_value = surge_tail(count, shape, expected)
        if p_value > scfg.p_value:
            continue
        severity = _surge_severity(customers, scfg)
        opened = _episode(st, stage, cat, severity, end, cfg)
        if opened is None:
            continue
        episode, case_key, supersedes = opened
        spike = st["spikes"][cat]
        since = spike.get("since") or window["first"].get(cat) or start.isoformat()
        spike["since"] = since
        alert_id = make_alert_id("stage_friction_spike", stage, cat, episode, severity)
        spike["alert_id"] = alert_id
        top, channels, context, evidence = _window_context(window, cat)
        since_at = datetime.fromisoformat(since)
        ratio = count / max(expected, 1e-9)
        minutes = int(cfg.window_minutes)
        more = "+" if customers >= scfg.customer_ids else ""
        update.alerts.append(
            Alert(
                alert_id=alert_id,
                type="stage_friction_spike",
                severity=severity,
                customer_id=None,
                journey_stage=stage,
                score=min(1.0, 1.0 - p_value),
                reasons=(
                    f"{count} {cat} complaints at {stage} from {customers}{more} customers in "
                    f"the last {minutes} min, since {since_at.strftime('%Y-%m-%d %H:%M')} UTC",
                    f"Expected about {expected:.2g} at these hours ({ratio:.0f}× usual; "
                    f"chance under the stage's count model {p_value:.1e})",
                    *context,
                ),
                evidence=evidence,
                recommended_action=(
                    f"Treat as a possible incident at {stage}: check what changed for {cat} "
                    "(release, outage, provider), post a known-issue note for agents and a "
                    f"proactive message to the {customers}{more} affected customers."
                ),
                created_at=signal.occurred_at,
                model_version=signal.model_version,
                details={
                    "rule": "volume",
                    "category": cat,
                    "window_start": start.isoformat(),
                    "window_end": end.isoformat(),
                    "since": since,
                    "events": window["events"],
                    "count": count,
                    "customers": customers,
                    "expected": round(expected, 4),
                    "ratio": round(ratio, 2),
                    "p_value": float(f"{p_value:.3g}"),
                    "top_categories": [c for c, _ in top],
                    "channels": channels,
                },
                case_key=case_key,
                supersedes=supersedes,
            )
        )


def _gap_measure(
    stage: str, window: dict[str, Any], cfg: StageConfig
) -> tuple[str, float, float, float] | None:
    """(measure, expected, observed, gap) of the stage's worst measure, or None."""
    n = window["judged"]
    expected = cfg.expectations.get(stage)
    if not n or not expected:
        return None
    observed = {
        "satisfaction": window["satisfied"] / n,
        "friction_rate": window["judged_friction"] / n,
    }
    gaps = {}
    if "satisfaction" in expected:
        gaps["satisfaction"] = expected["satisfaction"] - observed["satisfaction"]
    if "friction_rate" in expected:
        gaps["friction_rate"] = observed["friction_rate"] - expected["friction_rate"]
    if not gaps:
        return None
    measure = max(gaps, key=lambda k: gaps[k])
    return measure, expected[measure], observed[measure], gaps[measure]


def _observe(update: StageUpdate, stage: str, window: dict[str, Any], cfg: StageConfig) -> None:
    """Observed values of the open window, for dashboards."""
    n = window["judged"]
    if not n:
        return
    update.observed["satisfaction"] = window["satisfied"] / n
    if "satisfaction" in cfg.expectations.get(stage, {}):
        expected = cfg.expectations[stage]["satisfaction"]
        update.observed["satisfaction_gap"] = expected - update.observed["satisfaction"]
    measured = _gap_measure(stage, window, cfg)
    if measured is not None:
        update.observed["gap"] = measured[3]


def _gap(
    update: StageUpdate, signal: Signal, window: dict[str, Any], end: datetime, cfg: StageConfig
) -> None:
    """Judge one closed window: raise ``cx_gap`` once the gap has stayed past the threshold
    for ``gap_duration_minutes`` of event time; re-alert only when it grows in severity."""
    st = update.state
    stage = signal.journey_stage
    measured = _gap_measure(stage, window, cfg)
    n = window["judged"]
    neutral = window["events"] - n
    if measured is None or n < cfg.gap_min_events:
        return  # not enough evidence either way: keep the current episode as it is
    measure, expected, observed, gap = measured
    state = st["gap"]
    if gap < cfg.gap_threshold:
        st["gap"] = {"since": None, "alerted": None}
        return
    if state["since"] is None:
        state["since"] = (end - cfg.size).isoformat()
    since = datetime.fromisoformat(state["since"])
    if end - since < timedelta(minutes=cfg.gap_duration_minutes):
        return
    severity = "critical" if gap >= 0.45 else "high" if gap >= 0.3 else "medium"
    if state["alerted"] and severity_rank(severity) <= severity_rank(state["alerted"]):
        return
    state["alerted"] = severity
    alert_id = make_alert_id("cx_gap", stage, state["since"], severity)
    supersedes = state.get("alert_id")
    state["alert_id"] = alert_id
    hours = (end - since).total_seconds() / 3600
    label = "satisfaction" if measure == "satisfaction" else "friction rate"
    update.alerts.append(
        Alert(
            alert_id=alert_id,
            type="cx_gap",
            severity=severity,
            customer_id=None,
            journey_stage=stage,
            score=min(1.0, max(0.0, gap)),
            reasons=(
                f"At {stage}, we expect {label} {expected:.0%}; customers report "
                f"{observed:.0%} over the {int(cfg.window_minutes)} min to "
                f"{end.strftime('%H:%M')} UTC ({n} messages with an opinion judged, "
                f"{neutral} neutral left out)",
                f"The gap of {gap:.0%} has stayed past {cfg.gap_threshold:.0%} for {hours:.1f} h",
            ),
            evidence=(),
            recommended_action=(
                f"Take the {stage} gap to the stage owner: compare the expected experience with "
                "the friction categories customers report, and review the stage's target."
            ),
            created_at=end,
            model_version=signal.model_version,
            details={
                "measure": measure,
                "expected": expected,
                "observed": round(observed, 4),
                "gap": round(gap, 4),
                "since": state["since"],
                "window_end": end.isoformat(),
                "events": window["events"],
                "judged": n,
                "neutral_left_out": neutral,
                "friction_rate": round(window["judged_friction"] / n, 4),
                "satisfaction": round(window["satisfied"] / n, 4),
            },
            case_key=make_case_key("cx_gap", stage, state["since"]),
            supersedes=supersedes,
        )
    )


def _clone(obj: Any) -> Any:
    """Copy of a stage-state value: dicts are copied all the way down; every list in the state
    is flat (ids, numbers), so a shallow list copy suffices (much cheaper than deepcopy)."""
    if isinstance(obj, dict):
        return {k: _clone(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return list(obj)
    return obj


def _copy(state: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = _clone(state)
    out["seen"] = list(state.get("seen") or [])
    return out
