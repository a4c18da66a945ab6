"""Over the wire: the `sink webhook` process restarted mid-stream loses no alert, changes no id."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections import defaultdict
from pathlib import Path

import pytest
from aiohttp import web

from streams.broker import free_port, stop_process_group
from streams.webhook import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from tests.integration.conftest import ROOT, collect, produce
from tests.streams.test_webhook import make_alert

pytestmark = pytest.mark.integration

SECRET = "integration-secret"
ALERTS = "churn.alerts"
DLQ = "churn.alerts.webhook-deadletter"


class SinkProcess:
    """`python -m streams.cli sink webhook` in its own process group, stopped by pid."""

    def __init__(self, bootstrap: str, url: str, tmp_path: Path, n: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHURN_")}
        env.update({
            "CHURN_KAFKA_BROKER": bootstrap, "CHURN_WEBHOOK_URL": url,
            "CHURN_WEBHOOK_SECRET": SECRET, "CHURN_WEBHOOK_CONCURRENCY": "2",
            "CHURN_WEBHOOK_MAX_RETRIES": "2", "CHURN_WEBHOOK_BACKOFF_BASE_SECONDS": "0.05",
            "CHURN_WEBHOOK_BACKOFF_MAX_SECONDS": "0.2", "CHURN_WEBHOOK_TIMEOUT_SECONDS": "5",
            "CHURN_METRICS_PORT": str(free_port()), "CHURN_LOG_LEVEL": "INFO",
        })
        self.metrics_port = int(env["CHURN_METRICS_PORT"])
        self.log_path = tmp_path / f"sink-{n}.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "sink", "webhook"], env=env, cwd=ROOT,
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        stop_process_group(self.proc, timeout, first=sig)
        self._log.close()


async def test_sink_restart_loses_nothing_and_keeps_ids(broker, tmp_path):
    broker.create_topics({ALERTS: 2, DLQ: 1})
    posts: list[tuple[str, dict, bool]] = []
    state = {"delay": 0.2}

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            verify_signature(SECRET, body, request.headers.get(TIMESTAMP_HEADER),
                             request.headers.get(SIGNATURE_HEADER))
            ok = True
        except ValueError:
            ok = False
        alert = json.loads(body)
        await asyncio.sleep(state["delay"])
        if alert["customer_id"] == "C-REFUSED":
            return web.Response(status=422, text="unknown account")
        posts.append((request.headers[IDEMPOTENCY_HEADER], alert, ok))
        return web.Response(status=201, text="created")

    app = web.Application()
    app.router.add_post("/crm", handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/crm"
    sinks: list[SinkProcess] = []
    try:
        alerts = [make_alert(i, customer=f"C-{i % 7}") for i in range(24)]
        refused = make_alert(99, customer="C-REFUSED")
        records = [(ALERTS, a["customer_id"].encode(), json.dumps(a).encode())
                   for a in alerts + [refused]]
        records.insert(5, (ALERTS, b"junk", b"{not an alert"))
        await produce(broker.bootstrap, records)
        sinks.append(SinkProcess(broker.bootstrap, url, tmp_path, 1))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while len(posts) < 6:
            assert loop.time() < deadline, f"no deliveries:\n{sinks[0].log()}"
            assert sinks[0].proc.poll() is None, sinks[0].log()
            await asyncio.sleep(0.05)
        sinks[0].stop(signal.SIGKILL)  # crash mid-stream: uncommitted alerts are re-sent
        first_run = len(posts)
        assert first_run < len(alerts), "the crash must happen before the end"

        state["delay"] = 0.0
        sinks.append(SinkProcess(broker.bootstrap, url, tmp_path, 2))
        wanted = {a["alert_id"] for a in alerts}
        deadline = loop.time() + 60
        while {p[0] for p in posts} != wanted:
            assert loop.time() < deadline, f"missing alerts:\n{sinks[1].log()}"
            assert sinks[1].proc.poll() is None, sinks[1].log()
            await asyncio.sleep(0.1)
        dead = await collect(broker.bootstrap, DLQ, lambda r: {d["reason"] for d in r} == {
            "invalid_alert", "webhook_rejected"}, 30)
        sinks[1].stop(signal.SIGTERM)  # graceful: everything handled is committed
        assert sinks[1].proc.returncode == 0, sinks[1].log()

        settled = len(posts)
        sinks.append(SinkProcess(broker.bootstrap, url, tmp_path, 3))
        deadline = loop.time() + 40
        while "webhook sink started" not in sinks[2].log():  # logged once partitions assigned
            assert loop.time() < deadline, sinks[2].log()
            assert sinks[2].proc.poll() is None, sinks[2].log()
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)
        assert len(posts) == settled, "a committed alert was posted again after a clean restart"
        for path in ("/livez", "/readyz"):  # probes beside /metrics (issue 20, finding 14)
            url_ = f"http://127.0.0.1:{sinks[2].metrics_port}{path}"
            with urllib.request.urlopen(url_, timeout=5) as resp:
                assert resp.status == 200 and json.loads(resp.read())["status"] == "ok"
        sinks[2].stop()
    finally:
        for s in sinks:
            s.stop(signal.SIGKILL)
        await runner.cleanup()

    # Nothing lost: every alert was delivered; nothing posted twice with different ids.
    by_id: dict[str, list[dict]] = defaultdict(list)
    for key, alert, ok in posts:
        assert ok, "every request carries a valid signature"
        assert key == alert["alert_id"], "Idempotency-Key is the alert id"
        by_id[key].append(alert)
    assert set(by_id) == {a["alert_id"] for a in alerts}
    for key, copies in by_id.items():
        assert all(c == copies[0] for c in copies), f"{key} re-posted with a different body"
    originals = {a["alert_id"]: a for a in alerts}
    assert all(by_id[k][0] == originals[k] for k in by_id)
    # Dead letters are at-least-once too (a crash before the commit repeats them).
    assert {d["reason"] for d in dead} == {"invalid_alert", "webhook_rejected"}
    rejected = [d for d in dead if d["reason"] == "webhook_rejected"][0]
    assert rejected["alert_id"] == refused["alert_id"] and rejected["response_code"] == 422
    assert rejected["response_body"] == "unknown account"
