"""A classify-agent harness: raw record bytes in, signals or dead-letter records out.

The records go through the worker's own decode path (``parse_event`` inside the Faust
``classify`` agent, via ``test_context()``); the classifier is the label-trusting one, so
nothing here depends on model quality.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from unittest.mock import AsyncMock

import pytest
from prometheus_client import CollectorRegistry

from models.labelled import LabelledClassifier
from streams.app import build_app
from streams.metrics import Metrics
from streams.settings import Settings


@dataclass
class Outcome:
    signals: list[dict[str, Any]]
    dead: list[dict[str, Any]]
    metrics: Metrics

    def rejected(self, reason: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "churn_events_deadlettered_total", {"reason": reason})
        return value or 0.0

    def consumed(self, channel: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "churn_events_consumed_total", {"channel": channel})
        return value or 0.0


@pytest.fixture
def pipeline(tmp_path, monkeypatch):
    """``await pipeline(records)`` -> :class:`Outcome` of the classify agent."""

    async def run(records: list[bytes], timeout: float = 10.0) -> Outcome:
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
        agent = app.agents_by_role["classify"]
        loop = asyncio.get_running_loop()
        async with agent.test_context() as ctx:
            for raw in records:
                await ctx.put(raw, key=b"k")
            deadline = loop.time() + timeout
            while signals_send.call_count + dl_send.call_count < len(records):
                if loop.time() > deadline:
                    raise AssertionError("records were neither classified nor dead-lettered")
                await asyncio.sleep(0.02)
        return Outcome(
            signals=[c.kwargs["value"] for c in signals_send.call_args_list],
            dead=[json.loads(c.kwargs["value"]) for c in dl_send.call_args_list],
            metrics=metrics,
        )

    return run
