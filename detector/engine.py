"""The whole detector offline: the same pure functions the stream path calls, over dicts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from detector.alerts import Alert
from detector.customer import RiskConfig, update_customer
from detector.erasure import forget_in_stage
from detector.redact import Redactor
from detector.signals import Signal
from detector.stages import StageConfig, update_stage


@dataclass
class Detector:
    """Per-customer and per-stage state in memory; ``process`` returns the new alerts.

    The stream path runs the same two steps in two agents: ``update_customer`` keyed by
    customer, then (for signals that are not redeliveries) ``update_stage`` keyed by stage.
    """

    risk: RiskConfig = field(default_factory=RiskConfig)
    stage_config: StageConfig = field(default_factory=StageConfig)
    redactor: Redactor = field(default_factory=Redactor)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Customer profiles by customer id (``detector.accounts.parse_profile``); none: no
    #: account context, alerts as without profiles.
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    duplicates: int = 0
    conflicts: int = 0
    late: int = 0

    def process(self, signal: Signal) -> list[Alert]:
        update = update_customer(
            self.customers.get(signal.customer_id), signal, self.risk, self.redactor,
            self.profiles.get(signal.customer_id),
        )
        self.customers[signal.customer_id] = update.state
        if update.duplicate:
            self.duplicates += 1
            self.conflicts += int(update.conflict)
            return []
        staged = update_stage(self.stages.get(signal.journey_stage), signal, self.stage_config)
        self.stages[signal.journey_stage] = staged.state
        self.late += int(staged.late)
        return update.alerts + staged.alerts

    def forget(self, customer_id: str) -> None:
        """Erase the customer, as a forget record does in the stream."""
        self.customers.pop(customer_id, None)
        for stage, state in self.stages.items():
            self.stages[stage] = forget_in_stage(state, customer_id)

    def run(self, signals: Iterable[Signal]) -> Iterator[Alert]:
        for signal in signals:
            yield from self.process(signal)
