"""JSON logs: one object a line, with ids and reasons, never an event's text."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from unittest.mock import AsyncMock

import pytest
from prometheus_client import CollectorRegistry

from streams.logs import JsonFormatter, setup_logging
from streams.metrics import Metrics
from streams.settings import Settings
from streams.topology import build_app
from tests.conftest import make_signal

SECRET = "my card 4111 1111 1111 1111 was charged twice, zebra-marmalade"


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Root logger writes JSON lines to a buffer (restored afterwards)."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    yield buffer
    root.handlers[:], _ = saved
    root.setLevel(saved[1])


def records(buffer: io.StringIO) -> list[dict]:
    lines = [ln for ln in buffer.getvalue().splitlines() if ln.strip()]
    out = [json.loads(ln) for ln in lines]  # every line is one JSON object
    assert all(isinstance(r, dict) for r in out)
    return out


def test_formatter_writes_one_object_per_line_with_extras():
    formatter = JsonFormatter()
    try:
        raise ValueError(f"boom with {SECRET}")
    except ValueError:
        import sys

        rec = logging.makeLogRecord({
            "name": "churn.app", "levelno": logging.ERROR, "levelname": "ERROR",
            "msg": "failed for %d events", "args": (3,), "exc_info": sys.exc_info(),
            "event_id": "e-1", "offset": 7, "where": {"a": 1},
        })
    line = formatter.format(rec)
    assert "\n" not in line
    obj = json.loads(line)
    assert obj["message"] == "failed for 3 events" and obj["level"] == "ERROR"
    assert obj["event_id"] == "e-1" and obj["offset"] == 7 and obj["where"] == "{'a': 1}"
    assert obj["exc_type"] == "ValueError"
    assert SECRET not in line, "exception messages (which may quote text) are not logged"


def test_setup_logging_json_switch(capsys):
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        setup_logging("INFO", json_logs=True)
        logging.getLogger("churn.test").info("hello", extra={"event_id": "e-9"})
        err = capsys.readouterr().err.strip().splitlines()
        assert json.loads(err[-1])["event_id"] == "e-9"
        setup_logging("INFO", json_logs=False)
        logging.getLogger("churn.test").info("plain")
        assert not capsys.readouterr().err.startswith("{")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


class ExplodingClassifier:
    model_version = "boom"

    def classify(self, events):
        raise RuntimeError("cannot classify: " + events[0].text)


def make_app(classifier, tmp_path):
    settings = Settings(encoder="hashing", data_dir=tmp_path, metrics_port=0, kafka_broker="x:1")
    app = build_app(settings, lambda: classifier, Metrics(CollectorRegistry()))
    app.conf.store = "memory://"
    app.finalize()
    app.flow_control.resume()
    return app


def event(eid: str, text: str, **over) -> bytes:
    body = {"event_id": eid, "customer_id": "C-7", "channel": "chat",
            "occurred_at": "2026-11-10T09:00:00Z", "text": text}
    body.update(over)
    return json.dumps(body).encode()


async def test_worker_logs_ids_and_reasons_never_event_text(json_log, tmp_path, monkeypatch):
    app = make_app(ExplodingClassifier(), tmp_path)
    dl_send = AsyncMock()
    monkeypatch.setattr(app.topics_by_role["deadletter"], "send", dl_send)
    async with app.agents_by_role["classify"].test_context() as ctx:
        await ctx.put(b'{"text": "' + SECRET.encode() + b'", broken', key=b"k")
        await ctx.put(event("e1", SECRET, channel="fax"), key=b"k")
        await ctx.put(event("e2", SECRET), key=b"k")  # poisons the classifier
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while dl_send.call_count < 3:
            assert loop.time() < deadline, "records not dead-lettered in time"
            await asyncio.sleep(0.05)
    logged = records(json_log)
    assert SECRET not in json_log.getvalue() and "zebra" not in json_log.getvalue()
    dead = [r for r in logged if r.get("reason")]
    assert {r["reason"] for r in dead} >= {"invalid_json", "unknown_channel",
                                           "classification_failed"}
    assert all(r["topic"] and r["offset"] is not None for r in dead)
    failed = [r for r in logged if r.get("exc_type") == "RuntimeError"]
    assert failed, "the classification failure is logged with its exception type"


async def test_alert_log_carries_ids_not_text(json_log, fake_classifier, tmp_path, monkeypatch):
    app = make_app(fake_classifier, tmp_path)
    monkeypatch.setattr(app.topics_by_role["alerts"], "send", AsyncMock())
    monkeypatch.setattr(app.topics_by_role["stage_signals"], "send", AsyncMock())
    story = [
        make_signal("t1", "C-9", hours=0, friction=("billing",), sentiment=-0.6, text=SECRET),
        make_signal("t2", "C-9", hours=20, intent="explicit", p=0.95, sentiment=-0.8,
                    text=SECRET),
    ]
    async with app.agents_by_role["customers"].test_context() as ctx:
        for s in story:
            await ctx.put(s.to_wire(), key=b"C-9")
    emitted = [r for r in records(json_log) if r["message"] == "alert emitted"]
    assert emitted and emitted[-1]["event_id"] == "t2" and emitted[-1]["alert_id"]
    assert SECRET not in json_log.getvalue()
