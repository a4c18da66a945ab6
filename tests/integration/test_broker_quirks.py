"""What the embedded broker (Tansu) does differently from Kafka, pinned so a change shows.

Tansu reports a partition's end offset (ListOffsets, latest) as the first offset of its last
record batch + 1, not as the offset after its last record. Faust's table recovery reads a
changelog up to that end offset, so it would stop short of a multi-record last batch; the
state agents therefore end every state write with a single-record batch
(``CHURN_SEAL_CHANGELOG_BATCHES``, see docs/robustness.md).
"""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

pytestmark = pytest.mark.integration


async def end_offset_after(bootstrap: str, topic: str, batch_size: int) -> tuple[int, int]:
    """(reported end offset, records readable) after 3 single sends and one batch."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(3):
            await producer.send_and_wait(topic, b"single-%d" % i, key=b"k", partition=0)
        batch = producer.create_batch()
        for i in range(batch_size):
            batch.append(key=b"k", value=b"batched-%d" % i, timestamp=None)
        await (await producer.send_batch(batch, topic, partition=0))
    finally:
        await producer.stop()
    tp = TopicPartition(topic, 0)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        end = (await consumer.end_offsets([tp]))[tp]
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        read = 0
        for _ in range(10):
            got = await consumer.getmany(timeout_ms=500)
            read += sum(len(v) for v in got.values())
            if read >= 3 + batch_size:
                break
    finally:
        await consumer.stop()
    return end, read


async def test_end_offset_of_a_single_record_last_batch_is_right(broker):
    assert await end_offset_after(broker.bootstrap, "quirk-single", 1) == (4, 4)


async def test_end_offset_after_a_multi_record_batch_is_short(broker):
    """Kafka would say 7; Tansu says 4 (first offset of the last batch + 1)."""
    end, read = await end_offset_after(broker.bootstrap, "quirk-batch", 4)
    assert read == 7
    assert end == 4, "Tansu fixed its end offsets: CHURN_SEAL_CHANGELOG_BATCHES can go"
