"""A real worker over the embedded broker answers /livez and /readyz (issue 20, finding 14)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import pytest

from streams.settings import Settings

pytestmark = pytest.mark.integration


def get(port: int, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


async def test_worker_is_live_at_once_and_ready_once_assigned_and_recovered(
        broker, start_worker):
    # the topics exist before the worker starts, as in production
    settings = Settings(_env_file=None)
    broker.create_topics({t: settings.topic_partitions for t in (
        *settings.source_topic_names(), settings.topic_signals, settings.topic_stage_signals,
        settings.topic_alerts, settings.topic_deadletter)})
    worker = start_worker(broker.bootstrap, CHURN_CLASSIFIER="labels")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 90
    seen: list[tuple[int, dict]] = []
    while loop.time() < deadline:
        assert worker.alive(), worker.log()
        try:
            seen.append(get(worker.metrics_port, "/readyz"))
        except OSError:  # the server is not up yet
            await asyncio.sleep(0.3)
            continue
        if seen[-1][0] == 200:
            break
        await asyncio.sleep(0.3)
    assert seen and seen[-1] == (200, {"status": "ok"}), f"{seen[-3:]}\n{worker.log()}"
    assert any(code == 503 for code, _ in seen) or len(seen) == 1
    # probing from the start must not disturb the worker's start-up (the probe thread once
    # built Faust's table recovery lazily, off the event loop, and the worker never joined)
    status, body = get(worker.metrics_port, "/livez")
    assert status == 200 and body["status"] == "ok" and body["heartbeat_age_seconds"] < 5
    # the worker listens on its metrics port only: no Faust web server, whose /table views
    # answered any customer's state to whoever reached it (it bound 0.0.0.0)
    assert listening_ports(worker.proc.pid) == {worker.metrics_port}, worker.log()


def listening_ports(pid: int) -> set[int]:
    """The TCP ports a process listens on (Linux: its socket inodes in /proc/net/tcp*)."""
    from pathlib import Path

    proc = Path(f"/proc/{pid}")
    if not proc.exists():
        pytest.skip("no /proc to read listening sockets from")
    inodes = set()
    for fd in (proc / "fd").iterdir():
        try:
            target = fd.readlink().name
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        path = proc / "net" / table
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # state LISTEN, one of its sockets
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports

