"""Prometheus metrics of a worker. The registry is injected; labels come from bounded sets only.

Naming follows the Prometheus conventions: a ``churn_`` prefix, ``_total`` for counters,
base units (``_seconds``). Every label value goes through :class:`BoundedMetric`, which maps
anything outside the label's allowed set to ``"other"``: no customer id, event id or free text
can ever become a label value, whatever the caller passes.

Hooks for other parts of the service (call these; do not create metrics elsewhere):

- ``metrics.count_encoder_path(path, n)``: the model cascade took ``path`` (``static`` or
  ``transformer``) for ``n`` texts (``metrics.encoder_path.labels(path=...).inc(n)`` works too).
  ``models/`` stays free of Prometheus: a classifier that exposes ``last_encoder_paths``
  (``{path: texts}`` of its last ``classify`` call) is counted by the ``classify`` agent.
- ``metrics.set_cx_gap(stage, observed=..., expected=..., gap=...)`` and
  ``metrics.set_cx_gap_threshold(value)``: the CX perception gap of a journey stage.
- ``metrics.alert_suppressed(alert_type)``: an alert was held back by the cooldown.
- ``metrics.set_consumer_lag(topic, partition, lag)``: records behind the end of a partition
  (fed by :mod:`streams.lag`).
- ``metrics.record_revenue_at_risk(customer_id, stage, value)``: a customer alert with an
  account; the gauge sums the latest figure per customer by stage (the id never is a label).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from itertools import product
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from detector import __version__
from detector.alerts import ALERT_TYPES, SEVERITIES
from detector.schema import CHANNELS, JOURNEY_STAGES
from detector.signals import FRICTION_CATEGORIES, INTENTS, SIGNAL_FLAGS

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
E2E_BUCKETS = (
    0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
    21600.0, 86400.0,
)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)

OTHER = "other"
#: Dead-letter reasons the service produces (parse_event reasons + stream-side ones).
DEADLETTER_REASONS: tuple[str, ...] = (
    "invalid_json",
    "invalid_utf8",
    "invalid_unicode",
    "not_an_object",
    "missing_field",
    "invalid_field",
    "unknown_channel",
    "unknown_journey_stage",
    "empty_text",
    "invalid_signal",
    "classification_failed",
    "decode_failed",
    "invalid_profile",
)
#: Paths of the encoder cascade: cheap static embeddings, or the transformer.
ENCODER_PATHS: tuple[str, ...] = ("static", "transformer")
#: State agents guarded against offset gaps, and what the guard did about a gap.
GAP_AGENTS: tuple[str, ...] = ("classify", "customers", "stages")
GAP_OUTCOMES: tuple[str, ...] = ("seek", "accepted")
#: Why a customer's state was erased (``churn-detector forget``, or inactivity expiry).
ERASURE_CAUSES: tuple[str, ...] = ("request", "expired")
#: Largest partition number reported on its own; higher ones are summed into ``other``.
MAX_LAG_PARTITIONS = 64
#: Customers whose latest revenue at risk is remembered for the per-stage gauge (oldest out).
MAX_REVENUE_CUSTOMERS = 100_000

#: Every label name a metric of this service may carry, with its allowed values.
#: ``topic`` and ``partition`` are filled in from the configured topics (see ``configure_topics``).
LABEL_VALUES: dict[str, tuple[str, ...]] = {
    "channel": CHANNELS,
    "reason": DEADLETTER_REASONS,
    "category": FRICTION_CATEGORIES,
    "journey_stage": JOURNEY_STAGES,
    "intent": INTENTS,
    "flag": SIGNAL_FLAGS,
    "type": ALERT_TYPES,
    "severity": SEVERITIES,
    "path": ENCODER_PATHS,
    "agent": GAP_AGENTS,
    "outcome": GAP_OUTCOMES,
    "cause": ERASURE_CAUSES,
}
#: Labels of the single-series info metric (one value each per worker process).
INFO_LABELS: tuple[str, ...] = ("version", "model_version", "encoder")


#: a cap on remembered children: values outside the allowed sets all map to ``other``, but
#: each distinct one would otherwise be remembered
_MAX_CACHED_CHILDREN = 4096


class BoundedMetric:
    """A labelled metric whose ``labels()`` maps values outside the allowed sets to ``other``."""

    def __init__(self, metric: Any, allowed: Mapping[str, Sequence[str]]) -> None:
        self.metric = metric
        self.allowed = {k: frozenset(v) for k, v in allowed.items()}
        #: children by the values asked for (bounded: every label has a finite set)
        self._children: dict[tuple[Any, ...], Any] = {}

    def bound(self, name: str, value: object) -> str:
        """The label value actually used for ``value`` (``other`` when not allowed)."""
        text = str(value)
        return text if text in self.allowed[name] else OTHER

    def labels(self, *args: Any, **kwargs: Any) -> Any:
        key = (args, *kwargs.items())
        try:
            child = self._children.get(key)
            cacheable = True
        except TypeError:  # an unhashable value: asked of the metric each time
            child, cacheable = None, False
        if child is None:
            values = dict(zip(list(self.allowed), args, strict=False))
            values.update(kwargs)
            child = self.metric.labels(**{k: self.bound(k, v) for k, v in values.items()})
            if cacheable and len(self._children) < _MAX_CACHED_CHILDREN:
                self._children[key] = child
        return child

    def remove(self, *values: str) -> None:
        self._children.clear()
        self.metric.remove(*values)

    def clear(self) -> None:
        self._children.clear()
        self.metric.clear()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.metric, name)


class Metrics:
    """All metrics of one worker, registered on ``registry``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.allowed: dict[str, tuple[str, ...]] = {
            k: (*v, OTHER) for k, v in LABEL_VALUES.items()
        }
        self.allowed["topic"] = (OTHER,)
        self.allowed["partition"] = (*map(str, range(MAX_LAG_PARTITIONS)), OTHER)

        self.events_consumed = self._bounded(Counter(
            "churn_events_consumed_total", "Interaction events consumed and accepted, by channel",
            ["channel"], registry=r,
        ))
        self.events_rejected = self._bounded(Counter(
            "churn_events_deadlettered_total",
            "Records sent to the dead-letter topic, by reason",
            ["reason"], registry=r,
        ))
        self.duplicates = Counter(
            "churn_events_duplicate_total",
            "Redelivered events (same event_id) ignored by the customer state",
            registry=r,
        )
        self.future_clamped = Counter(
            "churn_events_future_clamped_total",
            "Events dated further ahead than CHURN_MAX_FUTURE_SKEW_SECONDS: dated now instead",
            registry=r,
        )
        self.customers_forgotten = self._bounded(Counter(
            "churn_customers_forgotten_total",
            "Customer states erased, by cause (request: churn-detector forget; expired)",
            ["cause"], registry=r,
        ))
        self.id_conflicts = Counter(
            "churn_events_id_conflicts_total",
            "Redelivered event ids whose content differs from the first (ignored, logged)",
            registry=r,
        )
        self.late_events = Counter(
            "churn_events_late_total",
            "Events later than the allowed lateness: customer state updated, stage windows not",
            registry=r,
        )
        self.offset_gaps = self._bounded(Counter(
            "churn_offset_gaps_total",
            "Holes in a state agent's input partition: re-read by seeking back (seek), or"
            " given up on after the bounded re-seeks (accepted: records were not applied)",
            ["agent", "outcome"], registry=r,
        ))
        self.classify_seconds = Histogram(
            "churn_classification_duration_seconds",
            "Time to classify one micro-batch",
            buckets=LATENCY_BUCKETS, registry=r,
        )
        self.batch_size = Histogram(
            "churn_classification_batch_size",
            "Events per classified micro-batch",
            buckets=BATCH_BUCKETS, registry=r,
        )
        self.encoder_path = self._bounded(Counter(
            "churn_encoder_texts_total",
            "Texts encoded, by the path the encoder cascade took (static / transformer)",
            ["path"], registry=r,
        ))
        self.signals = self._bounded(Counter(
            "churn_friction_signals_total",
            "Friction signals by category, journey stage and channel",
            ["category", "journey_stage", "channel"], registry=r,
        ))
        self.intents = self._bounded(Counter(
            "churn_intents_total", "Classified events by churn-intent level", ["intent"],
            registry=r,
        ))
        self.signal_flags = self._bounded(Counter(
            "churn_signal_flags_total",
            "Classified events by flag: how they were read (non_english: the English models"
            " read little; nothing_to_read; leaving_cue; retraction) and what the event had"
            " (text_truncated, stale, future_clamped, no_customer_turns)",
            ["flag"], registry=r,
        ))
        self.alerts = self._bounded(Counter(
            "churn_alerts_emitted_total",
            "Alerts emitted by type and severity",
            ["type", "severity"], registry=r,
        ))
        self.alerts_suppressed = self._bounded(Counter(
            "churn_alerts_suppressed_total",
            "Alerts held back by the per-customer cooldown, by type",
            ["type"], registry=r,
        ))
        self.stage_friction_rate = self._bounded(Gauge(
            "churn_stage_friction_rate",
            "Share of a journey stage's events that raised friction",
            ["journey_stage"], registry=r,
        ))
        self.cx_observed = self._bounded(Gauge(
            "churn_stage_cx_observed",
            "Customer experience of a journey stage as observed from the signals",
            ["journey_stage"], registry=r,
        ))
        self.cx_expected = self._bounded(Gauge(
            "churn_stage_cx_expected",
            "Customer experience of a journey stage as the company expects it (settings)",
            ["journey_stage"], registry=r,
        ))
        self.cx_gap = self._bounded(Gauge(
            "churn_stage_cx_gap",
            "CX perception gap of a journey stage: the largest over the configured measures"
            " (positive: worse than expected)",
            ["journey_stage"], registry=r,
        ))
        self.cx_gap_threshold = Gauge(
            "churn_stage_cx_gap_threshold",
            "CX gap past which a stage is alerted on (from settings)",
            registry=r,
        )
        self.e2e_latency = self._bounded(Histogram(
            "churn_alert_latency_seconds",
            "From an event's occurred_at to the emission of the alert it triggered",
            ["type"], buckets=E2E_BUCKETS, registry=r,
        ))
        self.consumer_lag = self._bounded(Gauge(
            "churn_consumer_lag_records",
            "Records between the committed offset and the end of a partition",
            ["topic", "partition"], registry=r,
        ))
        self.revenue_at_risk = self._bounded(Gauge(
            "churn_revenue_at_risk",
            "Expected revenue at risk of alerted customers with a profile (latest alert per"
            " customer, this worker's customers), by the journey stage of that alert",
            ["journey_stage"], registry=r,
        ))
        self._revenue: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._revenue_totals: dict[str, float] = {}
        self.info = Info("churn_worker", "Worker build and model", registry=r)
        self._lag_series: set[tuple[str, str]] = set()
        self._initialise()

    def _bounded(self, metric: Any) -> BoundedMetric:
        return BoundedMetric(metric, {n: self.allowed[n] for n in metric._labelnames})

    def _initialise(self) -> None:
        """Create the known series at zero so that rates and panels have data from the start."""
        for channel in CHANNELS:
            self.events_consumed.labels(channel=channel)
        for reason in DEADLETTER_REASONS:
            self.events_rejected.labels(reason=reason)
        for path in ENCODER_PATHS:
            self.encoder_path.labels(path=path)
        for cause in ERASURE_CAUSES:
            self.customers_forgotten.labels(cause=cause)
        for intent in INTENTS:
            self.intents.labels(intent=intent)
        for flag in SIGNAL_FLAGS:
            self.signal_flags.labels(flag=flag)
        for type_, severity in product(ALERT_TYPES, SEVERITIES):
            self.alerts.labels(type=type_, severity=severity)
        for agent, outcome in product(GAP_AGENTS, GAP_OUTCOMES):
            self.offset_gaps.labels(agent=agent, outcome=outcome)
        for type_ in ALERT_TYPES:
            self.alerts_suppressed.labels(type=type_)
            self.e2e_latency.labels(type=type_)
        for stage in JOURNEY_STAGES:
            self.revenue_at_risk.labels(journey_stage=stage)
        for cat, stage, channel in product(FRICTION_CATEGORIES, JOURNEY_STAGES, CHANNELS):
            self.signals.labels(category=cat, journey_stage=stage, channel=channel)

    # -- hooks -------------------------------------------------------------------------------

    def set_info(self, model_version: str, encoder: str) -> None:
        """Worker info: package version, model version and encoder kind (one series)."""
        self.info.info({"version": __version__, "model_version": model_version, "encoder": encoder})

    def count_encoder_path(self, path: str, n: int = 1) -> None:
        """The encoder cascade sent ``n`` texts down ``path`` (``static`` / ``transformer``)."""
        if n > 0:
            self.encoder_path.labels(path=path).inc(n)

    def alert_suppressed(self, alert_type: str, n: int = 1) -> None:
        """An alert of ``alert_type`` was held back by the cooldown."""
        self.alerts_suppressed.labels(type=alert_type).inc(n)

    def set_cx_gap(
        self, stage: str, *, observed: float, expected: float, gap: float | None = None
    ) -> None:
        """CX gap gauges of one journey stage; ``gap`` defaults to ``expected - observed``."""
        self.cx_observed.labels(journey_stage=stage).set(observed)
        self.cx_expected.labels(journey_stage=stage).set(expected)
        self.cx_gap.labels(journey_stage=stage).set(expected - observed if gap is None else gap)

    def record_revenue_at_risk(self, customer_id: str, stage: str | None, value: float) -> None:
        """A customer's latest expected revenue at risk, summed per stage into the gauge (at
        most ``MAX_REVENUE_CUSTOMERS`` customers are remembered, the oldest go first)."""
        label = self.revenue_at_risk.bound("journey_stage", stage)
        touched = {label}
        entries = [(customer_id, self._revenue.pop(customer_id, None))]
        self._revenue[customer_id] = (label, max(0.0, float(value)))
        self._revenue_totals[label] = self._revenue_totals.get(label, 0.0) + max(0.0, value)
        while len(self._revenue) > MAX_REVENUE_CUSTOMERS:
            entries.append(self._revenue.popitem(last=False))
        for _, gone in entries:
            if gone is not None:
                self._revenue_totals[gone[0]] -= gone[1]
                touched.add(gone[0])
        for stage_label in touched:
            total = max(0.0, round(self._revenue_totals.get(stage_label, 0.0), 2))
            self.revenue_at_risk.labels(journey_stage=stage_label).set(total)

    def set_cx_gap_threshold(self, value: float) -> None:
        """The configured CX gap threshold (the ``ChurnCxGapPastThreshold`` rule compares)."""
        self.cx_gap_threshold.set(value)

    def configure_topics(self, topics: Iterable[str]) -> None:
        """Topics whose lag is reported by name (others are reported as ``other``)."""
        self.allowed["topic"] = (*sorted(set(topics)), OTHER)
        self.consumer_lag.allowed["topic"] = frozenset(self.allowed["topic"])

    def set_consumer_lag(self, lags: Mapping[tuple[str, int], int]) -> None:
        """Replace the lag gauges with ``{(topic, partition): lag}`` for the current assignment.

        Series of partitions no longer assigned are removed; partitions past
        ``MAX_LAG_PARTITIONS`` and unknown topics are summed into ``other``.
        """
        summed: dict[tuple[str, str], int] = {}
        for (topic, partition), lag in lags.items():
            key = (
                self.consumer_lag.bound("topic", topic),
                self.consumer_lag.bound("partition", partition),
            )
            summed[key] = summed.get(key, 0) + max(0, int(lag))
        for key in self._lag_series - set(summed):
            try:
                self.consumer_lag.remove(*key)
            except KeyError:
                pass
        for (topic_label, partition_label), total in summed.items():
            self.consumer_lag.labels(topic=topic_label, partition=partition_label).set(total)
        self._lag_series = set(summed)

    # -- introspection (tests, docs) ---------------------------------------------------------

    def metric_names(self) -> set[str]:
        """Every series name this registry exports (``_total``, ``_bucket``, ``_info``, ...)."""
        suffixes = {
            "counter": ("_total", "_created"),
            "gauge": ("",),
            "histogram": ("_bucket", "_sum", "_count", "_created"),
            "info": ("_info",),
        }
        names: set[str] = set()
        for family in self.registry.collect():
            names.update(family.name + s for s in suffixes.get(family.type, ("",)))
            names.update(sample.name for sample in family.samples)
        return names


def add_process_metrics(registry: CollectorRegistry) -> None:
    """Export the process's own ``process_*`` series (resident memory, CPU, open fds) on
    ``registry``, as a worker or a sink serves them (the dashboard's memory panel reads them)."""
    from prometheus_client import ProcessCollector

    ProcessCollector(registry=registry)


__all__ = [
    "DEADLETTER_REASONS",
    "ENCODER_PATHS",
    "INFO_LABELS",
    "LABEL_VALUES",
    "Metrics",
    "add_process_metrics",
]
