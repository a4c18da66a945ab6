"""A decode-and-classify harness: raw record bytes in, signals or dead-letter records out.

The records go through the worker's own pure steps (``streams.steps.classify_records``, the
function the ``classify`` agent runs on each micro-batch, and ``dead_letter_bytes``); the
classifier is the label-trusting one, so nothing here depends on model quality. No Faust.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from unittest.mock import AsyncMock

import pytest
from prometheus_client import CollectorRegistry

from detector.redact import Redactor
from models.labelled import LabelledClassifier
from streams.metrics import Metrics
from streams.settings import Settings
from streams.steps import classify_records, dead_letter_bytes
from streams.topology import build_app


@dataclass
class Outcome:
    signals: list[dict[str, Any]]
    dead: list[dict[str, Any]]

    def rejected(self, reason: str) -> int:
        """Records dead-lettered for ``reason`` (the agent counts each in
        ``churn_events_deadlettered_total``, tests/streams/test_metrics.py)."""
        return sum(d["reason"] == reason for d in self.dead)

    def consumed(self, channel: str) -> int:
        """Events classified on ``channel`` (``churn_events_consumed_total``)."""
        return sum(s["channel"] == channel for s in self.signals)


@pytest.fixture
def pipeline():
    """``await pipeline(records)`` -> :class:`Outcome` of one classify micro-batch."""

    async def run(records: list[bytes]) -> Outcome:
        settings = Settings(_env_file=None, classifier="labels", metrics_port=0)
        now = datetime.now(UTC)
        out = classify_records(records, LabelledClassifier(), now, settings.future_clamp())
        redactor = Redactor(settings.redact_patterns, enabled=settings.redact_pii)
        dead = [json.loads(dead_letter_bytes(records[i], rejection, redactor,
                                             topic="interactions.tickets", partition=0,
                                             offset=i, at=now))
                for i, rejection in out.rejected]
        return Outcome(signals=[signal.to_wire() for _, signal in out.signals], dead=dead)

    return run


@dataclass
class AgentOutcome(Outcome):
    metrics: Metrics | None = None


@pytest.fixture
def agent_pipeline(tmp_path, monkeypatch):
    """``await agent_pipeline(records)``: the same records through the Faust ``classify``
    agent (``test_context()``), with its metrics and logs."""

    async def run(records: list[bytes], timeout: float = 10.0) -> AgentOutcome:
        settings = Settings(_env_file=None, classifier="labels", data_dir=tmp_path,
                            metrics_port=0, kafka_broker="x:1", batch_within_seconds=0.05)
        metrics = Metrics(CollectorRegistry())
        app = build_app(settings, LabelledClassifier, metrics)
        app.conf.store = "memory://"
        app.finalize()
        app.flow_control.resume()
        topics = app.topics_by_role
        signals_send, dl_send = AsyncMock(), AsyncMock()
        monkeypatch.setattr(topics["signals"], "send", signals_send)
        monkeypatch.setattr(topics["deadletter"], "send", dl_send)
        loop = asyncio.get_running_loop()
        async with app.agents_by_role["classify"].test_context() as ctx:
            for raw in records:
                await ctx.put(raw, key=b"k")
            deadline = loop.time() + timeout
            while signals_send.call_count + dl_send.call_count < len(records):
                if loop.time() > deadline:
                    raise AssertionError("records were neither classified nor dead-lettered")
                await asyncio.sleep(0.02)
        return AgentOutcome(
            signals=[c.kwargs["value"] for c in signals_send.call_args_list],
            dead=[json.loads(c.kwargs["value"]) for c in dl_send.call_args_list],
            metrics=metrics,
        )

    return run
