"""The detector's outputs: dead letters, signals, stage batches and alerts, with their metrics."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from faust.types import EventT

from detector.alerts import Alert
from detector.redact import Redactor
from detector.signals import Signal
from streams.metrics import Metrics
from streams.steps import Rejection, dead_letter_bytes, json_bytes, stage_batches

log = logging.getLogger("churn.app")


@dataclass(frozen=True)
class Topics:
    """The app's topics by role."""

    source: Any
    signals: Any
    stage_signals: Any
    alerts: Any
    deadletter: Any
    profiles: Any

    def by_role(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Outputs:
    """Sends what the steps produce; each ``send`` returns the broker-ack future."""

    def __init__(self, topics: Topics, metrics: Metrics, redactor: Redactor) -> None:
        self.topics = topics
        self.metrics = metrics
        self.redactor = redactor

    async def dead_letter(self, record: EventT, rejection: Rejection) -> None:
        msg = record.message
        self.metrics.events_rejected.labels(reason=rejection.reason).inc()
        log.warning(
            "dead-lettered record from %s[%s]@%s: %s",
            msg.topic, msg.partition, msg.offset, rejection.reason,
            extra={"reason": rejection.reason, "topic": msg.topic, "offset": msg.offset},
        )
        value = dead_letter_bytes(msg.value, rejection, self.redactor, topic=msg.topic,
                                  partition=msg.partition, offset=msg.offset,
                                  at=datetime.now(UTC))
        await self.topics.deadletter.send(key=msg.key, value=value)

    async def signal(self, customer_id: str, wire: dict[str, Any]) -> Any:
        """A signal to the repartition topic, keyed by its customer."""
        return await self.topics.signals.send(key=customer_id.encode("utf-8"), value=wire)

    async def stage_signals(self, wires: Sequence[dict[str, Any]]) -> list[Any]:
        """A batch's new signals to the stage topic: one record per stage (the combiner)."""
        return [await self.topics.stage_signals.send(key=stage.encode("utf-8"), value=batch)
                for stage, batch in stage_batches(wires).items()]

    async def stage_record(self, stage: str, value: dict[str, Any]) -> Any:
        return await self.topics.stage_signals.send(key=stage.encode("utf-8"), value=value)

    async def alert(self, alert: Alert, signal: Signal, key: str) -> Any:
        """One alert (key: customer id, or ``stage:<name>`` for stage alerts)."""
        fut = await self.topics.alerts.send(key=key.encode("utf-8"),
                                            value=json_bytes(alert.to_dict()))
        self.metrics.alerts.labels(type=alert.type, severity=alert.severity).inc()
        lag = (datetime.now(UTC) - signal.occurred_at).total_seconds()
        self.metrics.e2e_latency.labels(type=alert.type).observe(max(0.0, lag))
        log.info(
            "alert emitted",
            extra={"alert_id": alert.alert_id, "alert_type": alert.type,
                   "severity": alert.severity, "event_id": signal.event_id},
        )
        return fut
