"""Integration tests for the embedded Tansu broker."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.broker import EmbeddedBroker, free_port

pytestmark = pytest.mark.integration


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def broker():
    b = EmbeddedBroker()
    b.start()
    try:
        yield b
    finally:
        b.stop()


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


async def test_produce_consume_roundtrip(broker: EmbeddedBroker) -> None:
    topic = f"roundtrip-{uuid.uuid4().hex[:8]}"
    broker.create_topics({topic: 3})
    broker.create_topics({topic: 3})  # already exists -> no error

    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    await producer.start()
    try:
        md = await producer.send_and_wait(topic, b'{"hello": "world"}', key=b"cust-1")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, md.partition)])
        msg = await asyncio.wait_for(consumer.getone(), timeout=15)
    finally:
        await consumer.stop()
    assert (msg.topic, msg.partition, msg.offset) == (topic, md.partition, md.offset)
    assert msg.key == b"cust-1"
    assert msg.value == b'{"hello": "world"}'


async def test_consumer_group_roundtrip(broker: EmbeddedBroker) -> None:
    topic = f"group-{uuid.uuid4().hex[:8]}"
    broker.create_topics({topic: 1})
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"v1")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=broker.bootstrap,
        group_id="test-group",
        auto_offset_reset="earliest",
        session_timeout_ms=2000,  # Tansu's join wait scales with the session timeout
        heartbeat_interval_ms=500,
    )
    await consumer.start()
    try:
        msg = await asyncio.wait_for(consumer.getone(), timeout=20)
        await consumer.commit()
    finally:
        await consumer.stop()
    assert msg.value == b"v1"


def test_stop_kills_process_and_is_idempotent() -> None:
    b = EmbeddedBroker()
    b.start()
    pid = b.pid
    assert pid is not None and b.is_running() and _pid_alive(pid)
    host, port = b.bootstrap.split(":")
    assert host == "127.0.0.1" and int(port) > 0
    b.stop()
    assert not b.is_running()
    assert not _pid_alive(pid)
    b.stop()  # idempotent
    with pytest.raises(OSError), socket.create_connection((host, int(port)), timeout=1):
        pass


def test_context_manager(tmp_path) -> None:
    log = tmp_path / "tansu.log"
    with EmbeddedBroker(log_path=log) as b:
        pid = b.pid
        assert pid is not None and b.is_running()
    assert not _pid_alive(pid)
    assert "tansu" in log.read_text()


def test_explicit_port_in_use_raises() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        b = EmbeddedBroker(port=port)
        with pytest.raises(RuntimeError, match="tansu"):
            b.start(timeout=10)
        assert not b.is_running()
