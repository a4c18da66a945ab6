"""/livez and /readyz beside /metrics (issue 20, finding 14)."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from types import SimpleNamespace

from prometheus_client import CollectorRegistry, Counter

from streams.health import Health, attach, faust_readiness, serve


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_liveness_follows_the_heartbeat():
    clock = Clock()
    health = Health(stale_after_seconds=10, clock=clock)
    assert health.liveness()[0]  # start-up grace
    clock.now += 11
    alive, body = health.liveness()
    assert not alive and body["status"] == "stale" and "heartbeat" in body["reason"]
    health.beat()
    assert health.liveness() == (True, {"status": "ok", "heartbeat_age_seconds": 0.0})


def fake_app(completed: bool, rebalancing: bool = False, in_recovery: bool = False):
    event = asyncio.Event()
    if completed:
        event.set()
    recovery = SimpleNamespace(completed=event, in_recovery=in_recovery)
    return SimpleNamespace(tables=SimpleNamespace(recovery=recovery), rebalancing=rebalancing)


def test_readiness_needs_an_assignment_recovered_tables_and_no_rebalance():
    assert faust_readiness(fake_app(False))[0] is False
    assert faust_readiness(fake_app(True, rebalancing=True)) == (False, "rebalancing")
    assert faust_readiness(fake_app(True, in_recovery=True)) == (False, "recovering tables")
    assert faust_readiness(fake_app(True)) == (True, "")
    health = Health()
    assert health.readiness()[0] is False  # nothing attached yet

    def broken():
        raise RuntimeError("x")

    health.ready_check = broken
    health.beat()  # the check runs on the event loop, in the heartbeat
    assert health.readiness() == (False, {"status": "not_ready",
                                          "reason": "readiness check failed: RuntimeError"})


def test_readiness_is_the_last_heartbeats_and_lapses_with_it():
    clock = Clock()
    health = Health(stale_after_seconds=5, clock=clock)
    calls = []
    health.ready_check = lambda: (calls.append(1) or True, "")
    assert health.readiness()[0] is False and calls == []  # never evaluated off the loop
    health.beat()
    assert health.readiness() == (True, {"status": "ok"}) and calls == [1]
    clock.now += 6
    assert health.readiness() == (False, {"status": "not_ready",
                                          "reason": "event loop heartbeat is stale"})


def test_endpoints_answer_from_their_own_thread_even_when_the_loop_is_stuck():
    registry = CollectorRegistry()
    Counter("churn_probe_total", "a metric", registry=registry).inc()
    clock = Clock()
    health = Health(stale_after_seconds=5, clock=clock)
    ready = threading.Event()
    health.ready_check = lambda: (ready.is_set(), "waiting for the partition assignment")
    server = serve(0, registry, health, addr="127.0.0.1")
    try:
        port = server.server_port
        health.beat()
        assert get(port, "/livez") == (200, json.dumps(
            {"status": "ok", "heartbeat_age_seconds": 0.0}).encode())
        status, body = get(port, "/readyz")
        assert status == 503 and json.loads(body)["status"] == "not_ready"
        ready.set()
        health.beat()
        assert get(port, "/readyz") == (200, b'{"status": "ok"}')
        clock.now += 6  # no heartbeat: the event loop is stuck
        status, body = get(port, "/livez")
        assert status == 503 and json.loads(body)["status"] == "stale"
        status, body = get(port, "/metrics")
        assert status == 200 and b"churn_probe_total 1.0" in body
    finally:
        server.shutdown()
        server.server_close()


async def test_attach_registers_a_heartbeat_and_the_faust_readiness(tmp_path):
    from models.labelled import LabelledClassifier
    from streams.metrics import Metrics
    from streams.settings import Settings
    from streams.topology import build_app

    settings = Settings(_env_file=None, classifier="labels", data_dir=tmp_path,
                        metrics_port=0, kafka_broker="x:1")
    app = build_app(settings, LabelledClassifier, Metrics(CollectorRegistry()))
    health = Health()
    task = attach(app, health, asyncio.get_running_loop())
    try:
        await asyncio.sleep(0.05)
        assert health.last_beat is not None
        ready, body = health.readiness()
        assert not ready and "assignment" in body["reason"]  # never joined a group
    finally:
        task.cancel()
