"""The whole detector offline: the same pure functions the stream path calls, over dicts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from detector.alerts import Alert
from detector.customer import RiskConfig, update_customer
from detector.redact import Redactor
from detector.signals import Signal
from detector.stages import update_stage


@dataclass
class Detector:
    """Holds per-customer and per-stage state in memory; ``process`` returns new alerts."""

    risk: RiskConfig = field(default_factory=RiskConfig)
    redactor: Redactor = field(default_factory=Redactor)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    duplicates: int = 0

    def process(self, signal: Signal) -> list[Alert]:
        update = update_customer(
            self.customers.get(signal.customer_id), signal, self.risk, self.redactor
        )
        self.customers[signal.customer_id] = update.state
        if update.duplicate:
            self.duplicates += 1
            return []
        self.stages[signal.journey_stage] = update_stage(
            self.stages.get(signal.journey_stage), signal
        )
        return update.alerts

    def run(self, signals: Iterable[Signal]) -> Iterator[Alert]:
        for signal in signals:
            yield from self.process(signal)
