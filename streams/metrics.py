"""Prometheus metrics of a worker. The registry is injected; labels come from bounded sets only."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from detector import __version__

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
E2E_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class Metrics:
    """All metrics of one worker, registered on ``registry``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.events_consumed = Counter(
            "churn_events_consumed_total", "Interaction events consumed", ["channel"], registry=r
        )
        self.events_rejected = Counter(
            "churn_events_deadlettered_total",
            "Records sent to the dead-letter topic, by reason",
            ["reason"],
            registry=r,
        )
        self.duplicates = Counter(
            "churn_events_duplicate_total",
            "Redelivered events (same event_id) ignored by the customer state",
            registry=r,
        )
        self.classify_seconds = Histogram(
            "churn_classification_duration_seconds",
            "Time to classify one micro-batch",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "churn_classification_batch_size",
            "Events per classified micro-batch",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.signals = Counter(
            "churn_friction_signals_total",
            "Friction signals by category, journey stage and channel",
            ["category", "journey_stage", "channel"],
            registry=r,
        )
        self.intents = Counter(
            "churn_intents_total", "Classified churn intents by level", ["intent"], registry=r
        )
        self.alerts = Counter(
            "churn_alerts_emitted_total",
            "Alerts emitted by type and severity",
            ["type", "severity"],
            registry=r,
        )
        self.stage_friction_rate = Gauge(
            "churn_stage_friction_rate",
            "Share of a journey stage's events that raised friction",
            ["journey_stage"],
            registry=r,
        )
        self.e2e_latency = Histogram(
            "churn_alert_latency_seconds",
            "From an event's occurred_at to the emission of the alert it triggered",
            ["type"],
            buckets=E2E_BUCKETS,
            registry=r,
        )
        self.info = Info("churn_worker", "Worker build and model", registry=r)

    def set_info(self, model_version: str, encoder: str) -> None:
        self.info.info({"version": __version__, "model_version": model_version, "encoder": encoder})
