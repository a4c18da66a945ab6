"""Two targeted fixes to faust-streaming 0.15's consumer, applied by :func:`streams.app.faust_app`.

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
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import faust


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
