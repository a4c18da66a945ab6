"""The Faust app: source topics -> classify (micro-batches) -> per-customer state -> alerts.

Topology (all names configurable, see ``Settings``):

    interactions.{reviews,tickets,social,calls}   raw JSON bytes, any key
        └─ agent ``classify``: decode + validate (bad -> churn.deadletter), classify in
           micro-batches, re-key by customer_id
    churn.signals (key customer_id)
        └─ agent ``customers``: table ``customers`` (per-customer state), risk rules,
           alerts -> churn.alerts (key customer_id); deduplicated signals -> stage topic
    churn.stage-signals (key journey_stage)
        └─ agent ``stages``: table ``stages`` (per-stage counters)
    customer.profiles (compacted, key customer_id)
        └─ agent ``profiles``: table ``profiles`` (account context), read by ``customers``
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import ssl
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol, cast

import faust
import faust.streams as faust_streams
from faust.types import EventT

from detector.accounts import ProfileError, parse_profile
from detector.alerts import Alert
from detector.customer import update_customer
from detector.deadletter import deadletter_record
from detector.erasure import (
    MARKER_TTL,
    Forget,
    forget_in_stage,
    forgotten_marker,
    inactive,
    is_forget,
    purge_due,
    purged,
)
from detector.redact import Redactor
from detector.schema import JOURNEY_STAGES, Event, EventError, parse_event
from detector.signals import Signal
from detector.stages import update_stage
from streams.faust_fixes import keep_rereads_of, limit_fetch_wait
from streams.gaps import GapGuard
from streams.lag import report_consumer_lag
from streams.metrics import Metrics
from streams.settings import Settings

log = logging.getLogger("churn.app")


class Classifier(Protocol):
    model_version: str

    def classify(self, events: list[Event]) -> list[Signal]: ...


def classify_isolating(
    classifier: Classifier, events: list[Event]
) -> tuple[list[tuple[int, Signal]], list[tuple[int, Exception]]]:
    """Classify a batch; if the batch raises, classify its events one by one, so that one
    poisoned event fails alone. Returns ([(index, signal)], [(index, error)])."""
    try:
        return list(enumerate(classifier.classify(events))), []
    except Exception:
        if len(events) == 1:
            raise
    done: list[tuple[int, Signal]] = []
    failed: list[tuple[int, Exception]] = []
    for i, event in enumerate(events):
        try:
            done.extend((i, s) for s in classifier.classify([event]))
        except Exception as exc:
            failed.append((i, exc))
    return done, failed


def _json_bytes(obj: dict[str, Any]) -> bytes:
    try:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate got this far: \u escapes are valid JSON
        return json.dumps(obj, separators=(",", ":")).encode("ascii")


def _consumed_at(item: EventT, fallback: datetime) -> float:
    """Wall time the consumer fetched this record (Faust's monitor stamps ``time_in``)."""
    time_in = getattr(item.message, "time_in", None)
    if time_in is None:
        return fallback.timestamp()
    return time.time() - (time.monotonic() - time_in)


def broker_credentials(settings: Settings) -> Any:
    """Faust credentials object for the configured Kafka security protocol (None: plaintext)."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    ssl_context = None
    if protocol in ("SSL", "SASL_SSL"):
        ssl_context = ssl.create_default_context(
            cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
        )
        if settings.kafka_ssl_certfile:
            ssl_context.load_cert_chain(
                str(settings.kafka_ssl_certfile),
                str(settings.kafka_ssl_keyfile) if settings.kafka_ssl_keyfile else None,
            )
    if protocol == "SSL":
        return faust.SSLCredentials(ssl_context)
    password = settings.kafka_sasl_password.get_secret_value()
    mechanism = settings.kafka_sasl_mechanism
    return faust.SASLCredentials(
        username=settings.kafka_sasl_username,
        password=password,
        ssl_context=ssl_context,
        mechanism=mechanism,
    )


@contextmanager
def in_event(event: EventT) -> Iterator[None]:
    """Make ``event`` Faust's current event (tables pick partitions from it)."""
    token = faust_streams._current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        faust_streams._current_event.reset(token)


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
        web_port=settings.web_port,
        web_host="127.0.0.1",
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


def build_app(
    settings: Settings,
    classifier_factory: Callable[[], Classifier],
    metrics: Metrics,
    *,
    broker: str | None = None,
) -> faust.App:
    """Build the detector's Faust app and agents. ``broker`` overrides the broker URL."""
    app = faust_app(settings, broker)
    risk_cfg = settings.risk_config()
    stage_cfg = settings.stage_config()
    redactor = Redactor(settings.redact_patterns, enabled=settings.redact_pii)
    state: dict[str, Any] = {}

    source = app.topic(
        *settings.source_topic_names(), key_type=bytes, value_type=bytes, value_serializer="raw",
        key_serializer="raw",
    )
    # Re-keyed topics feed tables: they must have the tables' partition count, so the
    # app declares (creates) them itself instead of relying on broker auto-creation.
    partitions = settings.topic_partitions
    signals_topic = app.topic(
        settings.topic_signals, value_serializer="json", key_serializer="raw",
        partitions=partitions, internal=True,
    )
    stage_topic = app.topic(
        settings.topic_stage_signals, value_serializer="json", key_serializer="raw",
        partitions=partitions, internal=True,
    )
    alerts_topic = app.topic(
        settings.topic_alerts, value_serializer="raw", key_serializer="raw",
        partitions=partitions, internal=True,
    )
    deadletter_topic = app.topic(
        settings.topic_deadletter, value_serializer="raw", key_serializer="raw",
        partitions=partitions, internal=True,
    )

    @app.task
    async def declare_output_topics() -> None:
        """Create the output topics up front (no agent consumes them)."""
        for topic in (alerts_topic, deadletter_topic):
            await topic.maybe_declare()
    customers = app.Table("customers", default=None, key_type=str)
    # account context: co-partitioned with churn.signals (same key, same partition count)
    profiles_topic = app.topic(
        settings.topic_profiles, key_serializer="raw", value_serializer="raw",
        partitions=partitions, internal=True, compacting=True,
    )
    profiles = app.Table("profiles", default=None, key_type=str)
    stages = app.Table("stages", default=None, key_type=str)
    # last applied offset per input partition of the state agents ("topic:partition")
    applied_offsets = app.Table("applied_offsets", default=None, key_type=str)
    gap_agents = {settings.topic_signals: "customers", settings.topic_stage_signals: "stages"}
    # re-fetched records are delivered, not dropped (streams/faust_fixes.py): every consumer
    # of these topics is idempotent (event_id, last write per key)
    changelogs = {t.changelog_topic.get_topic_name() for t in (customers, stages, applied_offsets)}
    sources = set(settings.source_topic_names()) if settings.source_rereads else set()
    keep_rereads_of(app, {*gap_agents, *changelogs, *sources})

    def gap_guard() -> GapGuard | None:
        if not settings.gap_guard:
            return None
        return GapGuard(settings.gap_guard_retry_seconds, settings.gap_guard_max_seeks)

    customer_guard, stage_guard = gap_guard(), gap_guard()
    # source topics: only where re-reads are on (a transactional producer leaves holes)
    source_guard = gap_guard() if settings.source_rereads else None
    source_read: dict[Any, int] = {}  # last offset taken per source partition
    guards = (("classify", source_guard), ("customers", customer_guard), ("stages", stage_guard))

    @app.timer(interval=settings.gap_guard_retry_seconds, on_leader=False)
    async def repeat_seeks() -> None:
        """Seek again where a seek brought no records back (see GapGuard.due)."""
        for agent, guard in guards:
            for tp, offset in guard.due() if guard is not None else ():
                metrics.offset_gaps.labels(agent=agent, outcome="seek").inc()
                log.warning("offset gap on %s[%s]: nothing came back; seeking to %s again",
                            tp.topic, tp.partition, offset)
                await app.consumer.seek_wait({tp: offset})

    @app.on_partitions_revoked.connect
    async def forget_seeks(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        """Seeks under way for partitions moved to another worker are no longer ours."""
        revoked = args[0] if args else kwargs.get("revoked", ())
        for _, guard in guards:
            if guard is not None:
                guard.forget(revoked)
        for tp in revoked:
            source_read.pop(tp, None)

    def classifier() -> Classifier:
        if "classifier" not in state:
            state["classifier"] = classifier_factory()
            metrics.set_info(state["classifier"].model_version, settings.encoder)
        clf: Classifier = state["classifier"]
        return clf

    app.classifier = classifier  # type: ignore[attr-defined]

    lag_topics = {*settings.source_topic_names(), settings.topic_signals,
                  settings.topic_stage_signals}
    metrics.configure_topics(lag_topics)
    metrics.set_cx_gap_threshold(settings.cx_gap_threshold)

    @app.timer(interval=settings.lag_interval_seconds, on_leader=False)
    async def consumer_lag() -> None:
        """Publish churn_consumer_lag_records for the assigned input partitions."""
        await report_consumer_lag(app, metrics, lag_topics)

    @app.task(on_leader=False)
    async def warm_up() -> None:
        """Load the model before the first batch arrives (off the event loop)."""
        await asyncio.get_running_loop().run_in_executor(None, classifier)

    async def dead_letter(event: EventT, reason: str, detail: str) -> None:
        msg = event.message
        record = deadletter_record(
            msg.value,
            reason,
            redactor(detail),
            source_topic=msg.topic,
            partition=msg.partition,
            offset=msg.offset,
            failed_at=datetime.now(UTC),
        )
        metrics.events_rejected.labels(reason=reason).inc()
        log.warning(
            "dead-lettered record from %s[%s]@%s: %s",
            msg.topic, msg.partition, msg.offset, reason,
            extra={"reason": reason, "topic": msg.topic, "offset": msg.offset},
        )
        await deadletter_topic.send(key=msg.key, value=_json_bytes(record))

    async def acked(futures: list[Any]) -> None:
        """Wait until the broker has acknowledged these sends (a failed send raises)."""
        for fut in futures:
            if inspect.isawaitable(fut):
                await fut

    async def decoded(
        batch: list[EventT], guard: GapGuard | None, applied: dict[str, tuple[Any, EventT]]
    ) -> AsyncIterator[tuple[EventT, Signal | Forget]]:
        """The batch's signals (and forget records), in order, past the gap guard.

        Records after a hole in their partition are held back (the guard seeks back to the
        hole); records that are not a valid signal are dead-lettered. ``applied`` collects
        the last offset taken per partition, persisted with the batch's state.
        """
        for item in batch:
            if guard is not None and not await admit(item, guard, applied):
                continue
            signal: Signal | Forget
            try:
                value = cast(dict[str, Any], item.value)
                signal = Forget.from_wire(value) if is_forget(value) else Signal.from_wire(value)
            except (KeyError, TypeError, ValueError) as exc:
                await dead_letter(item, "invalid_signal", str(exc)[:200])
                continue
            yield item, signal

    async def admit(item: EventT, guard: GapGuard, applied: dict[str, tuple[Any, EventT]]
                    ) -> bool:
        """Whether a state agent processes ``item`` now (streams/gaps.py); seeks on a gap.

        The last applied offset comes from the ``applied_offsets`` table (it survives
        restarts and moves with the partition); ``applied`` collects this batch's.
        """
        msg = item.message
        key = f"{msg.topic}:{msg.partition}"
        last = latest(applied_offsets, applied, key, item)
        if not await guarded(item, guard, last, gap_agents.get(msg.topic, "other")):
            return False
        if last is None or msg.offset > last:
            applied[key] = (msg.offset, item)
        return True

    async def admit_source(item: EventT, guard: GapGuard) -> bool:
        """Whether the classify agent processes ``item`` now (in-memory last offset).

        After an assignment the last offset is taken as the committed one (the position
        the consumer was told to resume from), so a hole right after it is caught too.
        """
        msg = item.message
        last = source_read.get(msg.tp)
        if last is None:
            committed = cast(Any, app.consumer)._committed_offset.get(msg.tp)  # next to read
            last = committed - 1 if committed else None
        if not await guarded(item, guard, last, "classify"):
            return False
        if last is None or msg.offset > last:
            source_read[msg.tp] = msg.offset
        return True

    async def guarded(item: EventT, guard: GapGuard, last: int | None, agent: str) -> bool:
        """Apply the guard's verdict for ``item``: seek back, hold it, or take it."""
        msg = item.message
        verdict = guard.check(msg.tp, msg.offset, last)
        if verdict.action == "seek":
            metrics.offset_gaps.labels(agent=agent, outcome="seek").inc()
            log.warning(
                "offset gap on %s[%s]: got %s after %s; seeking back to %s",
                msg.topic, msg.partition, msg.offset, last, verdict.seek_to,
                extra={"topic": msg.topic, "offset": msg.offset},
            )
            await app.consumer.seek_wait({msg.tp: cast(int, verdict.seek_to)})
            return False
        if verdict.action == "skip":
            return False
        if verdict.accepted_gap:
            metrics.offset_gaps.labels(agent=agent, outcome="accepted").inc()
            log.error(
                "offset gap on %s[%s]: %d records before offset %s never came back after"
                " %d seeks; going on without them",
                msg.topic, msg.partition, verdict.accepted_gap, msg.offset,
                guard.max_seeks, extra={"topic": msg.topic, "offset": msg.offset},
            )
        return True

    def latest(table: Any, changed: dict[str, tuple[Any, EventT]], key: str, item: EventT
               ) -> Any:
        """A row as this batch left it, else as the table holds it (read in the item's
        partition: RocksDB keeps one database per partition)."""
        if key in changed:
            return changed[key][0]
        with in_event(item):
            return table.get(key)

    async def persist(*tables: tuple[Any, dict[str, tuple[Any, EventT]]]) -> None:
        """Write table rows and wait until their changelog records are acknowledged.

        ``table[key] = value`` only queues the changelog record (Faust's ``send_soon``
        buffer) and Faust can commit the source offset before that buffer is flushed, so
        a kill -9 in between loses the update (see docs/robustness.md). Sending here and
        awaiting the acks means an acknowledged batch always has its state in the changelog.
        Each row is written in the context of the last event that changed it, so that the
        store (RocksDB: one database per partition) and the changelog use its partition.
        """
        sending = app.producer.started  # agent unit tests (test_context) have no broker
        futures = []
        tails: dict[tuple[int, int], tuple[Any, str, Any, int]] = {}
        for table, rows in tables:
            for key, (value, event) in rows.items():
                partition = event.message.partition
                with in_event(event):
                    if value is None:  # erased: the changelog gets a tombstone
                        table.data.pop(key, None)
                    else:
                        table.data[key] = value
                if sending:
                    futures.append(await send_changelog(table, key, value, partition))
                    tails[(id(table), partition)] = (table, key, value, partition)
        await acked(futures)
        if tails and settings.seal_changelog_batches:
            # Tansu reports a partition's end offset as (first offset of its last record
            # batch) + 1, so a table recovery stops short of a multi-record last batch; the
            # last record again, alone, makes the last batch a single record (idempotent)
            await acked([await send_changelog(*tail) for tail in tails.values()])

    async def send_changelog(table: Any, key: str, value: Any, partition: int) -> Any:
        return await table.changelog_topic.send(
            key=key, value=value, partition=partition, key_serializer=table.key_serializer,
            value_serializer="raw" if value is None else table.value_serializer,
            callback=table._on_changelog_sent,
        )

    async def emit(alert: Alert, signal: Signal, key: str) -> Any:
        """Send one alert to the alert topic (key: customer id, or stage for stage alerts)."""
        fut = await alerts_topic.send(key=key.encode("utf-8"), value=_json_bytes(alert.to_dict()))
        metrics.alerts.labels(type=alert.type, severity=alert.severity).inc()
        lag = (datetime.now(UTC) - signal.occurred_at).total_seconds()
        metrics.e2e_latency.labels(type=alert.type).observe(max(0.0, lag))
        log.info(
            "alert emitted",
            extra={"alert_id": alert.alert_id, "alert_type": alert.type,
                   "severity": alert.severity, "event_id": signal.event_id},
        )
        return fut

    stamp = settings.bench_timestamps
    future_clamp = settings.future_clamp()

    @app.agent(source, name="classify")
    async def classify(stream: faust.StreamT) -> None:
        loop = asyncio.get_running_loop()
        take = stream.take_events  # type: ignore[attr-defined]
        async for batch in take(settings.batch_size, settings.batch_within_seconds):
            now = datetime.now(UTC)
            events: list[Event] = []
            accepted: list[EventT] = []  # the records behind ``events``
            consumed: list[float] = []  # wall time each event reached the worker (bench only)
            for item in batch:
                if source_guard is not None and not await admit_source(item, source_guard):
                    continue
                try:
                    event = parse_event(item.message.value or b"", now=now,
                                        future_clamp=future_clamp)
                except EventError as exc:
                    await dead_letter(item, exc.reason, exc.detail)
                    continue
                except Exception as exc:  # a decoder bug must not stop the stream
                    log.exception("decoding failed")
                    await dead_letter(item, "decode_failed", type(exc).__name__)
                    continue
                metrics.events_consumed.labels(channel=event.channel).inc()
                if "future_clamped" in event.flags:
                    metrics.future_clamped.inc()
                events.append(event)
                accepted.append(item)
                if stamp:
                    consumed.append(_consumed_at(item, now))
            if not events:
                continue
            # loaded once (off the event loop); later batches take it from the cache
            if "classifier" in state:
                clf: Classifier = state["classifier"]
            else:
                clf = await loop.run_in_executor(None, classifier)
            with metrics.classify_seconds.time():
                try:  # one poisoned event fails alone (classify_isolating)
                    done, failed = await loop.run_in_executor(
                        None, classify_isolating, clf, events)
                except Exception as batch_error:  # a one-event batch that raised
                    done, failed = [], [(0, batch_error)]
            for i, error in failed:
                log.error("classification failed: %s", type(error).__name__,
                          exc_info=(type(error), error, error.__traceback__))
                await dead_letter(accepted[i], "classification_failed", type(error).__name__)
            if not done:
                continue
            signals = [signal for _, signal in done]
            consumed = [consumed[i] for i, _ in done] if stamp else consumed
            metrics.batch_size.observe(len(events))
            # encoder cascade: texts per path in the last classify call, if the model says
            for path, n in (getattr(clf, "last_encoder_paths", None) or {}).items():
                metrics.count_encoder_path(path, n)
            classified_at = time.time()
            for i, signal in enumerate(signals):
                metrics.intents.labels(intent=signal.churn_intent).inc()
                for cat in signal.friction_categories:
                    metrics.signals.labels(
                        category=cat, journey_stage=signal.journey_stage, channel=signal.channel
                    ).inc()
                wire = signal.to_wire()
                if stamp:
                    wire["bench"] = {"consumed_at": consumed[i], "classified_at": classified_at}
                await signals_topic.send(key=signal.customer_id.encode("utf-8"), value=wire)

    Fold = Callable[[EventT, Signal | Forget, dict[str, tuple[Any, EventT]]],
                    Awaitable[list[Any]]]

    async def state_batches(stream: faust.StreamT, table: Any, guard: GapGuard | None,
                            fold: Fold) -> None:
        """Run a state agent, a micro-batch at a time, in the order of effects below.

        (1) ``fold`` each signal into the in-memory state (it records changed rows in the
        batch's ``changed`` and returns the outputs it sent), (2) wait for the acks of the
        batch's outputs (stage signals, alerts), (3) write each changed row once, with the
        last applied offsets, and wait for the acks; only then are the batch's offsets
        acknowledged. A crash before (3) re-processes the batch: outputs are re-sent with
        the same ids, the state is not double counted.
        """
        take = stream.take_events  # type: ignore[attr-defined]
        async for batch in take(settings.state_batch_size, settings.state_batch_within_seconds):
            outputs: list[Any] = []
            changed: dict[str, tuple[Any, EventT]] = {}
            applied: dict[str, tuple[Any, EventT]] = {}
            async for item, signal in decoded(batch, guard, applied):
                outputs += await fold(item, signal, changed)
            await acked(outputs)
            if changed or applied:
                await persist((table, changed), (applied_offsets, applied))

    async def fold_customer(item: EventT, signal: Signal | Forget,
                            changed: dict[str, tuple[Any, EventT]]) -> list[Any]:
        cid = signal.customer_id
        if isinstance(signal, Forget):
            return await forget_customer(item, signal, changed)
        previous = latest(customers, changed, cid, item)
        with in_event(item):
            profile = profiles.get(cid)
        update = update_customer(previous, signal, risk_cfg, redactor, profile)
        if update.duplicate:  # redelivery: already in the state, outputs already sent
            metrics.duplicates.inc()
            if update.conflict:
                metrics.id_conflicts.inc()
                log.warning("event %s of customer %s was seen before with different content;"
                            " ignored", signal.event_id, cid,
                            extra={"event_id": signal.event_id})
            return []
        changed[cid] = (update.state, item)
        wire = dict(cast(dict[str, Any], item.value))
        wire["embedding_packed"] = None
        outputs = [await stage_topic.send(key=signal.journey_stage.encode("utf-8"), value=wire)]
        for kind in update.suppressed:
            metrics.alert_suppressed(kind)
        for alert in update.alerts:
            outputs.append(await emit(alert, signal, key=cid))
            if alert.account and "expected_revenue_at_risk" in alert.account:
                metrics.record_revenue_at_risk(
                    cid, alert.journey_stage, alert.account["expected_revenue_at_risk"])
        return outputs

    async def forget_customer(item: EventT, forget: Forget,
                              changed: dict[str, tuple[Any, EventT]]) -> list[Any]:
        """Replace the customer's row by an erasure marker and pass the erasure on to every
        stage; a purge record deletes an old marker (a tombstone)."""
        cid = forget.customer_id
        previous = latest(customers, changed, cid, item)
        now = datetime.now(UTC)
        if forget.reason == "purge":
            if previous is not None and purge_due(previous, now, MARKER_TTL):
                changed[cid] = (purged(previous), item)
            return []
        changed[cid] = (forgotten_marker(previous, now), item)
        metrics.customers_forgotten.labels(cause=forget.reason).inc()
        log.info("customer state erased", extra={"reason": forget.reason})
        return [await stage_topic.send(
            key=stage.encode("utf-8"),
            value=Forget(forget.customer_id, forget.reason, stage).to_wire(),
        ) for stage in JOURNEY_STAGES]

    async def fold_stage(item: EventT, signal: Signal | Forget,
                         changed: dict[str, tuple[Any, EventT]]) -> list[Any]:
        if isinstance(signal, Forget):
            stage_name = signal.journey_stage or ""
            held = latest(stages, changed, stage_name, item)
            if held is not None:
                changed[stage_name] = (forget_in_stage(held, signal.customer_id), item)
            return []
        stage = signal.journey_stage
        previous = latest(stages, changed, stage, item)
        update = update_stage(previous, signal, stage_cfg)
        if update.duplicate:  # re-sent after an upstream crash: counted once
            metrics.duplicates.inc()
            return []
        changed[stage] = (update.state, item)
        if update.late:
            metrics.late_events.inc()
        observed = update.observed
        if "friction_rate" in observed:
            metrics.stage_friction_rate.labels(journey_stage=stage).set(observed["friction_rate"])
        expected = stage_cfg.expectations.get(stage, {})
        if "satisfaction_gap" in observed:
            metrics.set_cx_gap(
                stage, observed=observed["satisfaction"],
                expected=expected["satisfaction"], gap=observed["satisfaction_gap"],
            )
        return [await emit(alert, signal, key=f"stage:{stage}") for alert in update.alerts]

    @app.agent(signals_topic, name="customers")
    async def customer_state(stream: faust.StreamT) -> None:
        """Per-customer state and alerts (see ``state_batches`` for the order of effects)."""
        await state_batches(stream, customers, customer_guard, fold_customer)

    @app.agent(stage_topic, name="stages")
    async def stage_state(stream: faust.StreamT) -> None:
        """Per-stage windows and alerts (see ``state_batches`` for the order of effects)."""
        await state_batches(stream, stages, stage_guard, fold_stage)

    @app.agent(profiles_topic, name="profiles")
    async def profile_state(stream: faust.StreamT) -> None:
        """Keep the latest profile per customer (a null value removes it); bad records are
        dead-lettered. Idempotent: a re-read profile is written again."""
        async for item in stream.events():
            msg = item.message
            key = (msg.key or b"").decode("utf-8", errors="replace")
            try:
                if msg.value is None:
                    profiles.pop(key, None)
                    continue
                profile = parse_profile(msg.value)
                if profile["customer_id"] != key:
                    raise ProfileError("invalid_profile", "record key is not the customer_id")
            except ProfileError as exc:
                await dead_letter(item, "invalid_profile", exc.detail)
                continue
            profiles[key] = profile

    async def expire_customers() -> int:
        """Send a forget record for each local customer inactive for longer than
        ``CHURN_CUSTOMER_EXPIRY_DAYS`` (it erases through the stream, like ``forget``), and a
        purge record for each erasure marker older than ``MARKER_TTL``."""
        now = datetime.now(UTC)
        sent = 0
        for cid, held in list(customers.data.items()):
            if held is None:
                continue
            reason = ("purge" if purge_due(held, now, MARKER_TTL) else "expired"
                      if inactive(held, now, settings.customer_expiry_days) else None)
            if reason is not None:
                await signals_topic.send(key=str(cid).encode("utf-8"),
                                         value=Forget(str(cid), reason).to_wire())
                sent += 1
        return sent

    app.timer(interval=settings.customer_expiry_check_seconds, on_leader=False,
              name="expire_customers")(expire_customers)
    app.expire_customers = expire_customers  # type: ignore[attr-defined]

    app.agents_by_role = {  # type: ignore[attr-defined]
        "classify": classify,
        "customers": customer_state,
        "stages": stage_state,
        "profiles": profile_state,
    }
    app.tables_by_role = {  # type: ignore[attr-defined]
        "customers": customers, "stages": stages, "applied_offsets": applied_offsets,
        "profiles": profiles,
    }
    app.topics_by_role = {  # type: ignore[attr-defined]
        "source": source,
        "signals": signals_topic,
        "stage_signals": stage_topic,
        "alerts": alerts_topic,
        "deadletter": deadletter_topic,
        "profiles": profiles_topic,
    }
    return app
