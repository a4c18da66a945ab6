"""The two reference Faust workers the detector is measured against.

``passthrough``: a bare agent on the same source topics that only decodes the JSON and
counts (the stream framework's own ceiling). ``naive``: the tutorial shape, one agent that
parses, encodes and classifies one event at a time (blocking the loop), updates a customer
table and sends alerts; same model as the detector.

Run as ``python -m bench.apps passthrough|naive PROGRESS_FILE EXPECTED`` with ``CHURN_*``
settings in the environment. When ``EXPECTED`` events are counted, the wall time of every
event is written to ``PROGRESS_FILE`` as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import faust

from streams.runtime import faust_app
from streams.settings import Settings


class Progress:
    """Counts events; writes their wall times to a file once ``expect`` are seen."""

    def __init__(self, path: Path, expect: int) -> None:
        self.path = path
        self.expect = expect
        self.times: list[float] = []

    def tick(self) -> None:
        self.times.append(time.time())
        if len(self.times) == self.expect:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"count": self.expect, "times": self.times}))
            tmp.replace(self.path)


def _app(settings: Settings, name: str) -> faust.App:
    return faust_app(settings, store="memory://")


def build_passthrough(settings: Settings, progress: Progress) -> faust.App:
    """Bare agent: decode JSON and count, nothing else."""
    app = _app(settings, "passthrough")
    source = app.topic(*settings.source_topic_names(), value_serializer="raw",
                       key_serializer="raw")

    @app.agent(source, name="passthrough")
    async def passthrough(stream: faust.StreamT) -> None:
        async for value in stream:
            json.loads(value)
            progress.tick()

    return app


def build_naive(settings: Settings, progress: Progress, classifier: Any) -> faust.App:
    """Tutorial shape: per event parse, encode + classify (blocking), table, alerts."""
    from detector.customer import update_customer
    from detector.redact import Redactor
    from detector.schema import EventError, parse_event

    app = _app(settings, "naive")
    source = app.topic(*settings.source_topic_names(), value_serializer="raw",
                       key_serializer="raw")
    alerts = app.topic(settings.topic_alerts, value_serializer="json", key_serializer="raw")
    customers = app.Table("customers", default=None, key_type=str)
    risk = settings.risk_config()
    redactor = Redactor(settings.redact_patterns, enabled=settings.redact_pii)

    @app.agent(source, name="naive")
    async def naive(stream: faust.StreamT) -> None:
        async for value in stream:
            try:
                event = parse_event(value)
            except EventError:
                continue
            signal = classifier.classify([event])[0]
            update = update_customer(customers.get(signal.customer_id), signal, risk, redactor)
            customers[signal.customer_id] = update.state
            for alert in update.alerts:
                await alerts.send(key=signal.customer_id.encode(), value=alert.to_dict())
            progress.tick()

    return app


def main(argv: list[str]) -> None:
    """Entry point of the reference workers (see module docstring)."""
    kind, path, expect = argv[0], Path(argv[1]), int(argv[2])
    settings = Settings()
    progress = Progress(path, expect)
    if kind == "passthrough":
        app = build_passthrough(settings, progress)
    elif kind == "naive":
        from streams.cli import _classifier

        app = build_naive(settings, progress, _classifier(settings))  # loaded before start
    else:
        raise SystemExit(f"unknown reference worker {kind!r}")
    worker = faust.Worker(app, loglevel="warning", quiet=True, override_logging=False)
    worker.spinner = None
    worker.execute_from_commandline()


if __name__ == "__main__":
    main(sys.argv[1:])
