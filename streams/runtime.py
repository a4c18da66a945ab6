"""Everything that knows Faust's internals, behind one narrow interface.

The rest of ``streams/`` sees records (``record.message.topic/partition/offset/key/value``),
and a :class:`Runtime` that takes micro-batches, reads and durably writes table rows, and
reads and moves consumer offsets. A later Faust or broker fix touches this module only.

Fixes to faust-streaming 0.15 applied by :func:`faust_app`:

* :func:`limit_fetch_wait`: Faust hard-codes a 1.5 s fetch wait.
* :func:`keep_rereads_of`: Faust drops records below a partition's "read offset" without a
  word (``DROPPED MESSAGE ROFF``, logged only with ``DEVLOG``). The read offset is set
  after a record's hand-off to the stream, also when the hand-off was abandoned (flow
  stopped) and also after a seek has moved the partition back. A seek that races a hand-off
  (the recovery seek after a restart or a rebalance, or the gap guard's seek) then has the
  re-fetched records dropped: a hole just after the committed offset, never applied
  (docs/robustness.md). Faust also marks such a hole as acknowledged (its "gap" offsets) and
  commits past it. For the detector's internal topics every consumer is idempotent per
  ``event_id``, so re-reads are harmless: their read offsets are simply not kept, which
  turns off both the drop and the gap marking for them. Source topics keep Faust's
  behaviour (their producers may be transactional; the gap marking lets commits pass
  control records).
* Changelog sealing (:meth:`Runtime.persist`): the embedded broker (Tansu) reports a
  partition's end offset as (first offset of its last record batch) + 1, so a table recovery
  stops short of a multi-record last batch; re-sending the last record alone makes the last
  batch a single record. On for the embedded broker only (``Settings.seals_changelog``).
"""

from __future__ import annotations

import inspect
import time
import weakref
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import faust
import faust.streams as faust_streams
from faust.types import EventT

from streams.kafka import ssl_context
from streams.settings import Settings

#: rows a batch changed: ``{key: (value, record that last changed it)}``; value None: delete
Rows = dict[str, tuple[Any, EventT]]


class ReadOffsets(defaultdict[Any, int | None]):
    """Faust's per-partition read offsets, except for ``untracked`` topics (always None)."""

    def __init__(self, untracked: Iterable[str]) -> None:
        super().__init__(lambda: None)
        self.untracked = frozenset(untracked)

    def __getitem__(self, tp: Any) -> int | None:
        if tp.topic in self.untracked:
            return None
        return super().__getitem__(tp)

    def __setitem__(self, tp: Any, offset: int | None) -> None:
        if tp.topic not in self.untracked:
            super().__setitem__(tp, offset)


def keep_rereads_of(app: faust.App, topics: Iterable[str] = ()) -> None:
    """Have ``app``'s consumer deliver re-fetched records of ``topics`` instead of dropping them.

    Call again with the topics once they are known; the consumer picks them up when it is
    created (the worker creates it after the app is built).
    """
    app.untracked_read_topics = frozenset(topics)  # type: ignore[attr-defined]
    from faust.transport import consumer as faust_consumer

    cls = faust_consumer.Consumer
    if getattr(cls, "_churn_original_init", None) is not None:
        return
    original = cls.__init__
    setattr(cls, "_churn_original_init", original)  # noqa: B010

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        untracked: frozenset[str] = getattr(self.app, "untracked_read_topics", frozenset())
        if untracked:
            self._read_offset = ReadOffsets(untracked)

    setattr(cls, "__init__", init)  # noqa: B010


def limit_fetch_wait(max_wait_ms: int) -> None:
    """Cap the consumer's fetch wait (Faust hard-codes 1500 ms).

    Brokers that do not answer a multi-partition fetch early (the embedded Tansu) would
    otherwise add up to 1.5 s per hop at low traffic; on Kafka it only adds polls.
    """
    from faust.transport.drivers import aiokafka as faust_aiokafka

    thread_cls = faust_aiokafka.AIOKafkaConsumerThread
    original = getattr(thread_cls, "_churn_original_create", None)
    if original is None:
        original = thread_cls._create_worker_consumer
        setattr(thread_cls, "_churn_original_create", original)  # noqa: B010

    def create(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = max_wait_ms
        return consumer

    setattr(thread_cls, "_create_worker_consumer", create)  # noqa: B010


def broker_credentials(settings: Settings) -> Any:
    """Faust credentials object for the configured Kafka security protocol (None: plaintext)."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = ssl_context(settings)
    if protocol == "SSL":
        return faust.SSLCredentials(context)
    return faust.SASLCredentials(
        username=settings.kafka_sasl_username,
        password=settings.kafka_sasl_password.get_secret_value(),
        ssl_context=context,
        mechanism=settings.kafka_sasl_mechanism,
    )


def faust_app(settings: Settings, broker: str | None = None, store: str | None = None) -> faust.App:
    """A Faust app configured from settings: broker, security, partitions, group timings.

    ``store`` defaults to the configured table store; ``broker`` to ``CHURN_KAFKA_BROKER``.
    """
    app = faust.App(
        settings.app_id,
        broker=broker or f"kafka://{settings.kafka_broker}",
        broker_credentials=broker_credentials(settings),
        store=store or ("rocksdb://" if settings.store == "rocksdb" else "memory://"),
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        consumer_auto_offset_reset="earliest",
        # no Faust web server: nothing here uses it, and its /table/<name>/<key> views
        # answer any table's value (a customer's state) to whoever reaches the port; it
        # bound 0.0.0.0 whatever web_host said. /metrics and the health probes are ours.
        web_enabled=False,
        datadir=str(settings.data_dir),
        producer_acks=-1,
        stream_wait_empty=False,
        table_standby_replicas=settings.standby_replicas,
        broker_session_timeout=settings.broker_session_timeout_seconds,
        broker_heartbeat_interval=settings.broker_heartbeat_interval_seconds,
        broker_commit_interval=settings.broker_commit_interval_seconds,
    )
    limit_fetch_wait(settings.consumer_fetch_max_wait_ms)
    return app


@contextmanager
def in_event(record: EventT) -> Iterator[None]:
    """Make ``record`` Faust's current event (tables pick partitions from it)."""
    token = faust_streams._current_event.set(weakref.ref(record))
    try:
        yield
    finally:
        faust_streams._current_event.reset(token)


async def acked(futures: Iterable[Any]) -> None:
    """Wait until the broker has acknowledged these sends (a failed send raises)."""
    for fut in futures:
        if inspect.isawaitable(fut):
            await fut


def consumed_at(record: EventT, fallback: datetime) -> float:
    """Wall time the consumer fetched this record (Faust's monitor stamps ``time_in``)."""
    time_in = getattr(record.message, "time_in", None)
    if time_in is None:
        return fallback.timestamp()
    return time.time() - (time.monotonic() - time_in)


class Runtime:
    """The detector's view of a running Faust app: batches, table rows, offsets."""

    def __init__(self, app: faust.App, *, seal_changelog: bool) -> None:
        self.app = app
        self.seal_changelog = seal_changelog

    @staticmethod
    def batches(stream: faust.StreamT, size: int, within: float) -> AsyncIterator[list[EventT]]:
        """Micro-batches of records (up to ``size``, or what came within ``within`` s)."""
        return stream.take_events(size, within)  # type: ignore[attr-defined,no-any-return]

    @staticmethod
    def read(table: Any, key: str, record: EventT) -> Any:
        """A table row, read in ``record``'s partition (RocksDB: one database per partition)."""
        with in_event(record):
            return table.get(key)

    @staticmethod
    def latest(table: Any, changed: Rows, key: str, record: EventT) -> Any:
        """A row as this batch left it, else as the table holds it."""
        if key in changed:
            return changed[key][0]
        return Runtime.read(table, key, record)

    @staticmethod
    def rows(table: Any) -> list[tuple[Any, Any]]:
        """This worker's rows of ``table`` (its assigned partitions)."""
        return list(table.data.items())

    async def persist(self, *tables: tuple[Any, Rows]) -> None:
        """Write table rows and wait until their changelog records are acknowledged.

        ``table[key] = value`` only queues the changelog record (Faust's ``send_soon``
        buffer) and Faust can commit the source offset before that buffer is flushed, so
        a kill -9 in between loses the update (see docs/robustness.md). Sending here and
        awaiting the acks means an acknowledged batch always has its state in the changelog.
        Each row is written in the context of the last record that changed it, so that the
        store (RocksDB: one database per partition) and the changelog use its partition.
        """
        sending = self.app.producer.started  # agent unit tests (test_context) have no broker
        futures = []
        tails: dict[tuple[int, int], tuple[Any, str, Any, int]] = {}
        for table, rows in tables:
            for key, (value, record) in rows.items():
                partition = record.message.partition
                with in_event(record):
                    if value is None:  # erased: the changelog gets a tombstone
                        table.data.pop(key, None)
                    else:
                        table.data[key] = value
                if sending:
                    futures.append(await self._send_changelog(table, key, value, partition))
                    tails[(id(table), partition)] = (table, key, value, partition)
        await acked(futures)
        if tails and self.seal_changelog:  # the last record again, alone (idempotent)
            await acked([await self._send_changelog(*tail) for tail in tails.values()])

    @staticmethod
    async def _send_changelog(table: Any, key: str, value: Any, partition: int) -> Any:
        return await table.changelog_topic.send(
            key=key, value=value, partition=partition, key_serializer=table.key_serializer,
            value_serializer="raw" if value is None else table.value_serializer,
            callback=table._on_changelog_sent,
        )

    def committed(self, tp: Any) -> int | None:
        """The committed (next to read) offset of an assigned partition, if any."""
        offset: int | None = self.app.consumer._committed_offset.get(tp)  # type: ignore[attr-defined]
        return offset

    def committed_offsets(self, tps: Iterable[Any]) -> Mapping[Any, int | None]:
        return {tp: self.committed(tp) for tp in tps}

    def settled(self) -> bool:
        """Not in a rebalance or a table recovery (records are held back then)."""
        app: Any = self.app
        return not (app.rebalancing or getattr(app, "in_recovery", False))

    def assigned(self, topics: Iterable[str]) -> set[Any]:
        """This worker's partitions of ``topics``."""
        wanted = set(topics)
        try:
            return {tp for tp in self.app.consumer.assignment() if tp.topic in wanted}
        except Exception:  # noqa: BLE001 - consumer not started yet: nothing assigned
            return set()

    async def ends(self, tps: list[Any]) -> Mapping[Any, int | None]:
        """The end offsets (next offset to be written) of assigned partitions; {} when the
        broker cannot say now (a rebalance, a lost connection)."""
        try:
            ends: Mapping[Any, int | None] = await self.app.consumer.highwaters(*tps)
        except Exception:  # noqa: BLE001 - the caller tries again on its next round
            return {}
        return ends

    async def seek(self, tp: Any, offset: int) -> None:
        await self.app.consumer.seek_wait({tp: offset})

    @staticmethod
    def changelog_topics(*tables: Any) -> set[str]:
        return {t.changelog_topic.get_topic_name() for t in tables}
