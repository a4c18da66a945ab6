"""Fixtures for over-the-wire tests: the embedded broker and a worker subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from streams.broker import EmbeddedBroker, free_port, stop_process_group

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker(log_path=tmp_path / "broker.log") as b:
        yield b
    assert not b.is_running()


class WorkerProcess:
    """A `churn-detector worker` subprocess, stopped by pid (its whole process group)."""

    def __init__(self, bootstrap: str, tmp_path: Path, **env: str) -> None:
        self.log_path = tmp_path / f"worker-{len(list(tmp_path.glob('worker-*')))}.log"
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("CHURN_")}
        full_env.update({
            "CHURN_KAFKA_BROKER": bootstrap,
            "CHURN_DATA_DIR": str(tmp_path / "data"),
            "CHURN_METRICS_PORT": str(free_port()),
            "CHURN_BATCH_WITHIN_SECONDS": "0.2",
            "CHURN_BROKER_SESSION_TIMEOUT_SECONDS": "2",
            "CHURN_BROKER_HEARTBEAT_INTERVAL_SECONDS": "0.5",
        })
        full_env.update(env)
        self.metrics_port = int(full_env["CHURN_METRICS_PORT"])
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker"],
            env=full_env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        stop_process_group(self.proc, timeout, first=sig)
        self._log.close()


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Any]:
    started: list[WorkerProcess] = []

    def start(bootstrap: str, **env: str) -> WorkerProcess:
        w = WorkerProcess(bootstrap, tmp_path, **env)
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()
        assert w.proc.poll() is not None


async def produce(
    bootstrap: str, records: list[tuple[str, bytes | None, bytes]], rate: float | None = None
) -> None:
    """Independent producer: (topic, key, value) records, optionally paced (records/s)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        for i, (topic, key, value) in enumerate(records):
            if rate:
                await asyncio.sleep(max(0.0, started + i / rate - loop.time()))
                await producer.send(topic, value=value, key=key)
            else:
                await producer.send_and_wait(topic, value=value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


async def collect(
    bootstrap: str, topic: str, until: Any, timeout: float, worker: WorkerProcess | None = None
) -> list[dict[str, Any]]:
    """Independent consumer: read JSON records from ``topic`` until ``until(records)``."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
        enable_auto_commit=False, group_id=None,
    )
    await consumer.start()
    records: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while not until(records):
            if loop.time() > deadline:
                break
            if worker is not None and not worker.alive():
                raise AssertionError(f"worker died:\n{worker.log()}")
            batch = await consumer.getmany(timeout_ms=500)
            for msgs in batch.values():
                for m in msgs:
                    body = json.loads(m.value)
                    body["_key"] = m.key.decode() if m.key else None
                    records.append(body)
    finally:
        await consumer.stop()
    return records
