"""The detector's topology: decode -> classify -> fold per customer -> fold per stage -> alerts.

    interactions.{reviews,tickets,social,calls}   raw JSON bytes
        └─ classify: decode (bad -> churn.deadletter), classify in micro-batches; records
           keyed by their customer (CHURN_SOURCE_KEYED_BY_CUSTOMER) fold here, others go on
    churn.signals (key customer_id)
        └─ customers: per-customer state, risk rules, alerts -> churn.alerts
    churn.stage-signals (key journey_stage, one record per stage per batch)
        └─ stages: per-stage windows, spike / surge / CX-gap alerts -> churn.alerts
    customer.profiles (compacted, key customer_id)
        └─ profiles: account context, read by the customer fold

Steps live in streams/steps.py and streams/agents.py, Faust specifics in streams/runtime.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import faust

from detector.redact import Redactor
from streams.agents import (
    Admission,
    Classify,
    CustomerFold,
    Profiles,
    StageFold,
    StateAgent,
    StateInput,
    Tables,
)
from streams.gaps import GapGuard
from streams.lag import report_consumer_lag
from streams.metrics import Metrics
from streams.outputs import Outputs, Topics
from streams.runtime import Runtime, faust_app, keep_rereads_of
from streams.settings import Settings
from streams.steps import Classifier


def build_app(settings: Settings, classifier_factory: Callable[[], Classifier], metrics: Metrics,
              *, broker: str | None = None) -> faust.App:
    """Build the detector's Faust app and agents. ``broker`` overrides the broker URL."""
    s = settings
    app = faust_app(s, broker)
    runtime = Runtime(app, seal_changelog=s.seals_changelog(broker))
    topics = declare_topics(app, s)
    tables = Tables(*(app.Table(name, default=None, key_type=str)
                      for name in ("customers", "profiles", "stages", "applied_offsets")))
    outputs = Outputs(topics, metrics, Redactor(s.redact_patterns, enabled=s.redact_pii))
    customers = CustomerFold(s, runtime, tables, outputs, metrics, outputs.redactor)
    stages = StageFold(s, runtime, tables, outputs, metrics)
    inputs = {"classify": frozenset(s.source_topic_names()),
              "customers": frozenset({s.topic_signals}),
              "stages": frozenset({s.topic_stage_signals})}
    guards = {a: Admission(a, guard(s, a), runtime, metrics, topics)
              for a, topics in inputs.items()}
    classify = Classify(s, runtime, outputs, metrics, guards["classify"], customers,
                        classifier_factory)
    # re-fetched records of internal topics and changelogs are delivered, not dropped
    keep_rereads_of(app, {s.topic_signals, s.topic_stage_signals,
                          *runtime.changelog_topics(*tables.by_role().values()),
                          *(s.source_topic_names() if s.source_rereads else ())})
    def state_agent(agent: str, fold: Any) -> StateAgent:
        source = StateInput(guards[agent], runtime, tables.applied_offsets, outputs)
        return StateAgent(runtime, source, fold, s.state_batch_size, s.state_batch_within_seconds)

    app.agents_by_role = {  # type: ignore[attr-defined]
        "classify": app.agent(topics.source, name="classify")(classify.run),
        "customers": app.agent(topics.signals, name="customers")(
            state_agent("customers", customers.fold).run),
        "stages": app.agent(topics.stage_signals, name="stages")(
            state_agent("stages", stages.fold).run),
        "profiles": app.agent(topics.profiles, name="profiles")(
            Profiles(tables.profiles, outputs).run),
    }
    app.tables_by_role, app.topics_by_role = tables.by_role(), topics.by_role()  # type: ignore[attr-defined]
    add_housekeeping(app, s, runtime, metrics, guards, classify, customers, topics)
    return app


def guard(settings: Settings, agent: str) -> GapGuard | None:
    """A gap guard for an agent's input (source topics only where re-reads are on)."""
    if not settings.gap_guard or (agent == "classify" and not settings.source_rereads):
        return None
    return GapGuard(settings.gap_guard_retry_seconds, settings.gap_guard_max_seeks)


def declare_topics(app: faust.App, s: Settings) -> Topics:
    """The app's topics. Re-keyed topics feed tables: they must have the tables' partition
    count, so the app declares (creates) them itself instead of relying on auto-creation."""
    def internal(name: str, serializer: str, **kw: Any) -> Any:
        return app.topic(name, value_serializer=serializer, key_serializer="raw",
                         partitions=s.topic_partitions, internal=True, **kw)

    topics = Topics(
        source=app.topic(*s.source_topic_names(), key_type=bytes, value_type=bytes,
                         value_serializer="raw", key_serializer="raw"),
        signals=internal(s.topic_signals, "json"),
        stage_signals=internal(s.topic_stage_signals, "json"),
        alerts=internal(s.topic_alerts, "raw"),
        deadletter=internal(s.topic_deadletter, "raw"),
        profiles=internal(s.topic_profiles, "raw", compacting=True),
    )

    @app.task
    async def declare_output_topics() -> None:
        """Create the output topics up front (no agent consumes them)."""
        for topic in (topics.alerts, topics.deadletter):
            await topic.maybe_declare()

    return topics


def add_housekeeping(app: faust.App, s: Settings, runtime: Runtime, metrics: Metrics,
                     guards: dict[str, Admission], classify: Classify, customers: CustomerFold,
                     topics: Topics) -> None:
    """Timers and hooks around the steps: model warm-up, re-seeks, lag, expiry."""
    lag_topics = {*s.source_topic_names(), s.topic_signals, s.topic_stage_signals}
    metrics.configure_topics(lag_topics)
    metrics.set_cx_gap_threshold(s.cx_gap_threshold)
    app.classifier = classify.classifier  # type: ignore[attr-defined]

    @app.task(on_leader=False)
    async def warm_up() -> None:
        """Load the model before the first batch arrives (off the event loop)."""
        await asyncio.get_running_loop().run_in_executor(None, classify.classifier)

    @app.timer(interval=s.gap_guard_retry_seconds, on_leader=False)
    async def repeat_seeks() -> None:
        for admission in guards.values():
            await admission.repeat_seeks()
            await admission.find_tail_holes()

    @app.on_partitions_revoked.connect
    async def forget_seeks(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        """Seeks under way for partitions moved to another worker are no longer ours."""
        revoked = args[0] if args else kwargs.get("revoked", ())
        for admission in guards.values():
            admission.forget(revoked)

    @app.timer(interval=s.lag_interval_seconds, on_leader=False)
    async def consumer_lag() -> None:
        """Publish churn_consumer_lag_records for the assigned input partitions."""
        await report_consumer_lag(app, metrics, lag_topics, runtime.committed_offsets)

    async def expire_customers() -> int:
        return await customers.expire(s.customer_expiry_days)

    app.timer(interval=s.customer_expiry_check_seconds, on_leader=False,
              name="expire_customers")(expire_customers)
    app.expire_customers = expire_customers  # type: ignore[attr-defined]
