"""The detector's agents: each runs its steps on a micro-batch of records.

* ``classify``: decode -> classify -> fold per customer (records keyed by their customer,
  with ``CHURN_SOURCE_KEYED_BY_CUSTOMER``) or forward to the signals topic (the others).
* ``customers``: decode -> fold per customer -> stage batches and alerts.
* ``stages``: decode -> fold per stage -> alerts.
* ``profiles``: the latest account context per customer.

A state fold runs in the order of effects of :meth:`CustomerFold.fold`: fold into memory,
wait for the outputs' acks, then write the changed rows durably; only then are the batch's
offsets acknowledged. A crash before the write re-processes the batch: outputs are re-sent
with the same ids and the state drops repeated event ids.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import faust
from faust.types import EventT

from detector.accounts import ProfileError, parse_profile
from detector.customer import update_customer
from detector.erasure import (
    MARKER_TTL,
    Forget,
    forget_in_stage,
    forgotten_marker,
    inactive,
    purge_due,
    purged,
)
from detector.redact import Redactor
from detector.schema import JOURNEY_STAGES
from detector.signals import Signal
from detector.stages import update_stage
from streams.gaps import GapGuard
from streams.metrics import Metrics
from streams.outputs import Outputs
from streams.runtime import Rows, Runtime, acked, consumed_at
from streams.settings import Settings
from streams.steps import (
    Classifier,
    Rejection,
    classify_records,
    decode_signals,
    keyed_partition,
    wires_of,
)

log = logging.getLogger("churn.app")

#: a decoded item of a state batch: the record, its signal, and the signal's wire form
Item = tuple[EventT, Signal | Forget, dict[str, Any]]


async def each(items: list[Item]) -> AsyncIterator[Item]:
    """A list of items as the stream of items a fold takes."""
    for item in items:
        yield item


@dataclass(frozen=True)
class Tables:
    customers: Any
    profiles: Any
    stages: Any
    applied_offsets: Any

    def by_role(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Admission:
    """The gap guard of one agent's input (streams/gaps.py): seek back, hold, or take."""

    def __init__(self, agent: str, guard: GapGuard | None, runtime: Runtime,
                 metrics: Metrics, topics: frozenset[str] = frozenset(),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.agent, self.guard, self.runtime, self.metrics = agent, guard, runtime, metrics
        self.topics, self.clock = topics, clock  # the agent's input topics
        self.taken: dict[Any, int] = {}  # highest offset taken past ``last`` per partition
        self.busy = 0  # batches in progress
        self.idle_since = clock()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Mark the agent busy while it works on a batch (idle time finds tail holes)."""
        self.busy += 1
        try:
            yield
        finally:
            self.busy -= 1
            self.idle_since = self.clock()

    def baseline(self, tp: Any) -> int | None:
        """The last offset taken from ``tp`` since the assignment, else the one before its
        committed (next to read) offset; None when neither is known."""
        last = self.taken.get(tp)
        if last is None:
            committed = self.runtime.committed(tp)
            last = committed - 1 if committed is not None else None
        return last

    async def admit(self, record: EventT, last: int | None) -> bool:
        """Whether ``record`` is processed now, given its partition's last applied offset."""
        if self.guard is None:
            return True
        msg = record.message
        verdict = self.guard.check(msg.tp, msg.offset, last)
        if verdict.action == "apply" and (last is None or msg.offset > last):
            self.taken[msg.tp] = max(msg.offset, self.taken.get(msg.tp, msg.offset))
        if verdict.action == "seek":
            self.metrics.offset_gaps.labels(agent=self.agent, outcome="seek").inc()
            log.warning("offset gap on %s[%s]: got %s after %s; seeking back to %s",
                        msg.topic, msg.partition, msg.offset, last, verdict.seek_to,
                        extra={"topic": msg.topic, "offset": msg.offset})
            await self.runtime.seek(msg.tp, cast(int, verdict.seek_to))
            return False
        if verdict.action == "skip":
            return False
        if verdict.accepted_gap:
            self.metrics.offset_gaps.labels(agent=self.agent, outcome="accepted").inc()
            log.error("offset gap on %s[%s]: %d records before offset %s never came back after"
                      " %d seeks; going on without them", msg.topic, msg.partition,
                      verdict.accepted_gap, msg.offset, self.guard.max_seeks,
                      extra={"topic": msg.topic, "offset": msg.offset})
        return True

    async def find_tail_holes(self) -> None:
        """Seek back where the agent has idled while a partition's end is past the last
        record it took: records lost on their way, with none after them to show the hole
        (GapGuard.tail)."""
        if self.guard is None or self.busy or not self.runtime.settled():
            return
        idle = self.clock() - self.idle_since
        if idle < self.guard.retry_seconds:
            return
        tps = sorted(self.runtime.assigned(self.topics))
        for tp, end in (await self.runtime.ends(tps) if tps else {}).items():
            offset = self.guard.tail(tp, self.baseline(tp), end, idle)
            if offset is not None and end is not None:
                self.metrics.offset_gaps.labels(agent=self.agent, outcome="seek").inc()
                log.warning("offset gap on %s[%s]: records up to %s never arrived after %s;"
                            " seeking back to %s", tp.topic, tp.partition, end - 1, offset - 1,
                            offset, extra={"topic": tp.topic, "offset": offset})
                await self.runtime.seek(tp, offset)

    async def repeat_seeks(self) -> None:
        """Seek again where a seek brought no records back (see GapGuard.due)."""
        for tp, offset in self.guard.due() if self.guard is not None else ():
            self.metrics.offset_gaps.labels(agent=self.agent, outcome="seek").inc()
            log.warning("offset gap on %s[%s]: nothing came back; seeking to %s again",
                        tp.topic, tp.partition, offset)
            await self.runtime.seek(tp, offset)

    def forget(self, revoked: Any) -> None:
        if self.guard is not None:
            self.guard.forget(revoked)
        for tp in revoked:
            self.taken.pop(tp, None)


class StateInput:
    """A state agent's input: admitted records (last applied offsets kept in a table),
    decoded into signals; bad records dead-lettered."""

    def __init__(self, admission: Admission, runtime: Runtime, applied_offsets: Any,
                 outputs: Outputs) -> None:
        self.admission, self.runtime = admission, runtime
        self.applied_offsets, self.outputs = applied_offsets, outputs

    async def items(self, batch: list[EventT], applied: Rows) -> AsyncIterator[Item]:
        for record in batch:
            msg = record.message
            key = f"{msg.topic}:{msg.partition}"
            last = self.runtime.latest(self.applied_offsets, applied, key, record)
            if not await self.admission.admit(record, last):
                continue
            if last is None or msg.offset > last:
                applied[key] = (msg.offset, record)
            decoded = decode_signals(record.value)
            if isinstance(decoded, Rejection):
                await self.outputs.dead_letter(record, decoded)
                continue
            for signal, wire in zip(decoded, wires_of(record.value), strict=True):
                yield record, signal, wire


class StateAgent:
    """A state agent: micro-batches of its input, admitted and decoded, folded."""

    def __init__(self, runtime: Runtime, source: StateInput,
                 fold: Callable[[AsyncIterator[Item], Rows], Awaitable[None]],
                 size: int, within: float) -> None:
        self.runtime, self.source, self.fold = runtime, source, fold
        self.size, self.within = size, within

    async def run(self, stream: faust.StreamT) -> None:
        async for batch in self.runtime.batches(stream, self.size, self.within):
            applied: Rows = {}
            with self.source.admission.batch():
                await self.fold(self.source.items(batch, applied), applied)


class CustomerFold:
    """Fold signals into the per-customer state: risk rules, alerts, stage batches."""

    def __init__(self, settings: Settings, runtime: Runtime, tables: Tables, outputs: Outputs,
                 metrics: Metrics, redactor: Redactor) -> None:
        self.cfg = settings.risk_config()
        self.runtime, self.tables, self.outputs = runtime, tables, outputs
        self.metrics, self.redactor = metrics, redactor
        self.lock = asyncio.Lock()  # the classify and customers agents share the table

    async def fold(self, items: AsyncIterator[Item], applied: Rows) -> None:
        """Fold a batch, wait for its outputs' acks, then persist the changed rows."""
        async with self.lock:
            outputs: list[Any] = []
            changed: Rows = {}
            forwards: list[dict[str, Any]] = []
            async for record, signal, wire in items:
                outputs += await self._fold(record, signal, wire, changed, forwards)
            outputs += await self._flush(forwards)
            await acked(outputs)
            if changed or applied:
                await self.runtime.persist((self.tables.customers, changed),
                                           (self.tables.applied_offsets, applied))

    async def _flush(self, forwards: list[dict[str, Any]]) -> list[Any]:
        sent = await self.outputs.stage_signals(forwards) if forwards else []
        forwards.clear()
        return sent

    async def _fold(self, record: EventT, signal: Signal | Forget, wire: dict[str, Any],
                    changed: Rows, forwards: list[dict[str, Any]]) -> list[Any]:
        if isinstance(signal, Forget):
            # the stages get the customer's earlier signals before the erasure
            return await self._flush(forwards) + await self._forget(record, signal, changed)
        cid = signal.customer_id
        previous = self.runtime.latest(self.tables.customers, changed, cid, record)
        profile = self.runtime.read(self.tables.profiles, cid, record)
        update = update_customer(previous, signal, self.cfg, self.redactor, profile)
        if update.duplicate:  # redelivery: already in the state, outputs already sent
            self.metrics.duplicates.inc()
            if update.conflict:
                self.metrics.id_conflicts.inc()
                log.warning("event %s of customer %s was seen before with different content;"
                            " ignored", signal.event_id, cid, extra={"event_id": signal.event_id})
            return []
        changed[cid] = (update.state, record)
        forwards.append(wire)
        for kind in update.suppressed:
            self.metrics.alert_suppressed(kind)
        outputs = []
        for alert in update.alerts:
            outputs.append(await self.outputs.alert(alert, signal, key=cid))
            if alert.account and "expected_revenue_at_risk" in alert.account:
                self.metrics.record_revenue_at_risk(
                    cid, alert.journey_stage, alert.account["expected_revenue_at_risk"])
        return outputs

    async def _forget(self, record: EventT, forget: Forget, changed: Rows) -> list[Any]:
        """Replace the customer's row by an erasure marker and pass the erasure on to every
        stage; a purge record deletes an old marker (a tombstone)."""
        cid = forget.customer_id
        previous = self.runtime.latest(self.tables.customers, changed, cid, record)
        now = datetime.now(UTC)
        if forget.reason == "purge":
            if previous is not None and purge_due(previous, now, MARKER_TTL):
                changed[cid] = (purged(previous), record)
            return []
        changed[cid] = (forgotten_marker(previous, now), record)
        self.metrics.customers_forgotten.labels(cause=forget.reason).inc()
        log.info("customer state erased", extra={"reason": forget.reason})
        return [await self.outputs.stage_record(
            stage, Forget(forget.customer_id, forget.reason, stage).to_wire())
            for stage in JOURNEY_STAGES]

    async def expire(self, expiry_days: float) -> int:
        """Send a forget record for each local customer inactive for longer than
        ``expiry_days`` (it erases through the stream, like ``forget``), and a purge record
        for each erasure marker older than ``MARKER_TTL``."""
        now = datetime.now(UTC)
        sent = 0
        for cid, held in self.runtime.rows(self.tables.customers):
            if held is None:
                continue
            reason = ("purge" if purge_due(held, now, MARKER_TTL) else "expired"
                      if inactive(held, now, expiry_days) else None)
            if reason is not None:
                await self.outputs.signal(str(cid), Forget(str(cid), reason).to_wire())
                sent += 1
        return sent


class StageFold:
    """Fold signals into the per-stage windows: spike, surge and CX-gap rules."""

    def __init__(self, settings: Settings, runtime: Runtime, tables: Tables, outputs: Outputs,
                 metrics: Metrics) -> None:
        self.cfg = settings.stage_config()
        self.runtime, self.tables, self.outputs, self.metrics = runtime, tables, outputs, metrics

    async def fold(self, items: AsyncIterator[Item], applied: Rows) -> None:
        outputs: list[Any] = []
        changed: Rows = {}
        async for record, signal, _ in items:
            outputs += await self._fold(record, signal, changed)
        await acked(outputs)
        if changed or applied:
            await self.runtime.persist((self.tables.stages, changed),
                                       (self.tables.applied_offsets, applied))

    async def _fold(self, record: EventT, signal: Signal | Forget, changed: Rows) -> list[Any]:
        stages = self.tables.stages
        if isinstance(signal, Forget):
            name = signal.journey_stage or ""
            held = self.runtime.latest(stages, changed, name, record)
            if held is not None:
                changed[name] = (forget_in_stage(held, signal.customer_id), record)
            return []
        stage = signal.journey_stage
        # a row this batch changed is already the batch's own copy: fold into it in place
        update = update_stage(self.runtime.latest(stages, changed, stage, record), signal,
                              self.cfg, owned=stage in changed)
        if update.duplicate:  # re-sent after an upstream crash: counted once
            self.metrics.duplicates.inc()
            return []
        changed[stage] = (update.state, record)
        if update.late:
            self.metrics.late_events.inc()
        observed = update.observed
        if "friction_rate" in observed:
            self.metrics.stage_friction_rate.labels(journey_stage=stage).set(
                observed["friction_rate"])
        if "satisfaction_gap" in observed:
            expected = self.cfg.expectations.get(stage, {})
            self.metrics.set_cx_gap(stage, observed=observed["satisfaction"],
                                    expected=expected["satisfaction"],
                                    gap=observed["satisfaction_gap"])
        return [await self.outputs.alert(alert, signal, key=f"stage:{stage}")
                for alert in update.alerts]


class Classify:
    """Decode source records, classify them in micro-batches, fold or forward the signals."""

    def __init__(self, settings: Settings, runtime: Runtime, outputs: Outputs,
                 metrics: Metrics, admission: Admission, customers: CustomerFold,
                 classifier_factory: Callable[[], Classifier]) -> None:
        self.settings, self.runtime, self.outputs = settings, runtime, outputs
        self.metrics, self.admission, self.customers = metrics, admission, customers
        self.factory = classifier_factory
        self.model: Classifier | None = None

    def classifier(self) -> Classifier:
        """The model, loaded once (call off the event loop the first time)."""
        if self.model is None:
            self.model = self.factory()
            self.metrics.set_info(self.model.model_version, self.settings.encoder)
        return self.model

    async def run(self, stream: faust.StreamT) -> None:
        s = self.settings
        async for batch in self.runtime.batches(stream, s.batch_size, s.batch_within_seconds):
            with self.admission.batch():
                await self.batch(batch)

    async def batch(self, batch: list[EventT]) -> None:
        records = [record for record in batch if await self.admit(record)]
        if not records:
            return
        now = datetime.now(UTC)
        loop = asyncio.get_running_loop()
        model = self.model if self.model is not None else await loop.run_in_executor(
            None, self.classifier)
        with self.metrics.classify_seconds.time():  # decode and classify, off the event loop
            out = await loop.run_in_executor(
                None, classify_records, [r.message.value for r in records], model, now,
                self.settings.future_clamp())
        for _, error in out.errors:
            log.error("classification failed: %s", type(error).__name__,
                      exc_info=(type(error), error, error.__traceback__))
        for i, rejection in out.rejected:
            if rejection.reason == "decode_failed":
                log.error("decoding failed: %s", rejection.detail)
            await self.outputs.dead_letter(records[i], rejection)
        for _, event in out.events:
            self.metrics.events_consumed.labels(channel=event.channel).inc()
            if "future_clamped" in event.flags:
                self.metrics.future_clamped.inc()
        if not out.signals:
            return
        self.metrics.batch_size.observe(len(out.events))
        for path, n in (getattr(model, "last_encoder_paths", None) or {}).items():
            self.metrics.count_encoder_path(path, n)  # encoder cascade: texts per path
        await self.route(records, out.signals, now)

    async def admit(self, record: EventT) -> bool:
        """The source gap guard (only where re-reads are on); the last offset is kept in
        memory, after an assignment taken as the committed one, so that a hole right after
        it is caught too."""
        if self.admission.guard is None:
            return True
        return await self.admission.admit(record, self.admission.baseline(record.message.tp))

    async def route(self, records: list[EventT], done: list[tuple[int, Signal]],
                    now: datetime) -> None:
        """Fold the signals of records keyed by their customer here; forward the rest."""
        stamp, fold_here = self.settings.bench_timestamps, self.settings.source_keyed_by_customer
        classified_at = time.time()
        local: list[Item] = []
        for i, signal in done:
            self.metrics.intents.labels(intent=signal.churn_intent).inc()
            for flag in signal.flags:
                self.metrics.signal_flags.labels(flag=flag).inc()
            for cat in signal.friction_categories:
                self.metrics.signals.labels(category=cat, journey_stage=signal.journey_stage,
                                            channel=signal.channel).inc()
            wire = signal.to_wire()
            if stamp:
                wire["bench"] = {"consumed_at": consumed_at(records[i], now),
                                 "classified_at": classified_at}
            if fold_here and self.in_customer_partition(records[i], signal.customer_id):
                local.append((records[i], signal, wire))
            else:
                await self.outputs.signal(signal.customer_id, wire)
        if local:
            await self.customers.fold(each(local), {})

    def in_customer_partition(self, record: EventT, customer_id: str) -> bool:
        """Whether ``record`` is keyed by its customer and sits where the signals topic would
        put that key: then its state row is in this partition (co-partitioned topics)."""
        key = customer_id.encode("utf-8")
        msg = record.message
        return msg.key == key and msg.partition == keyed_partition(
            key, self.settings.topic_partitions)


class Profiles:
    """Keep the latest profile per customer (a null value removes it); bad records are
    dead-lettered. Idempotent: a re-read profile is written again."""

    def __init__(self, table: Any, outputs: Outputs) -> None:
        self.table, self.outputs = table, outputs

    async def run(self, stream: faust.StreamT) -> None:
        async for record in stream.events():
            msg = record.message
            key = (msg.key or b"").decode("utf-8", errors="replace")
            try:
                if msg.value is None:
                    self.table.pop(key, None)
                    continue
                profile = parse_profile(msg.value)
                if profile["customer_id"] != key:
                    raise ProfileError("invalid_profile", "record key is not the customer_id")
            except ProfileError as exc:
                await self.outputs.dead_letter(record, Rejection("invalid_profile", exc.detail))
                continue
            self.table[key] = profile
