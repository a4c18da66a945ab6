"""``churn-detector``: the command-line entry point. Settings are built here, once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import click

from detector.engine import Detector
from detector.redact import Redactor, escape_controls
from detector.schema import Event
from streams.exitcodes import EPILOG, ExitCode
from streams.offline import (
    Rejected,
    open_lines,
    read_events,
    read_profiles,
    replay,
    score_events,
    write_jsonl,
)
from streams.settings import Settings, remote_brokers


def _settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:  # pydantic ValidationError: show it plainly, no traceback
        raise click.ClickException(f"invalid configuration: {exc}") from None


def _classifier(settings: Settings) -> Any:
    clf: Any
    if settings.classifier == "labels":
        from models.labelled import LabelledClassifier

        clf = LabelledClassifier()
    else:
        from models import build_classifier
        from streams.cli_models import cascade_thresholds

        clf = build_classifier(
            settings.encoder, settings.taxonomy_path, settings.embedding_cache_size,
            model_dir=settings.model_dir, cache_dir=settings.model_cache_dir,
            cascade=cascade_thresholds(settings),
            transformer_runtime=settings.transformer_runtime,
            own_names=settings.company_names,
        )
    # after the build: threadpoolctl limits the BLAS libraries loaded by then, and in a
    # fresh process (the worker, `score`) numpy and scipy are first loaded by the build
    limit_blas_threads(settings.blas_threads)
    return clf


def limit_blas_threads(threads: int) -> None:
    """Cap the loaded BLAS libraries' threads for this process (0: leave the library's
    default). Call it once numpy (and scipy) are loaded: a library loaded later is not capped.

    The heads and the static encoder multiply small matrices per micro-batch; with one BLAS
    thread per core those threads spin against the event loop, the classify thread and a
    co-located broker (docs/performance.md).
    """
    if threads > 0:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads, user_api="blas")


def sample_stream_path() -> Path:
    return Path(str(resources.files("streams").joinpath("data/sample_stream.jsonl")))


def sample_profiles_path() -> Path:
    return Path(str(resources.files("streams").joinpath("data/sample_profiles.jsonl")))


def _load_profiles(path: Path | None) -> dict[str, dict[str, Any]]:
    if path is None:
        return {}
    profiles, rejected = read_profiles(open_lines(path))
    for r in rejected:
        click.echo(f"profile line {r.line}: rejected: {r.reason}", err=True)
    return profiles


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("churn-signal-detector")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown (not installed)"


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG)
@click.version_option(_version(), "-V", "--version", prog_name="churn-detector",
                      message="%(prog)s %(version)s")
def main() -> None:
    """Streaming churn-signal detector: classify customer interactions, emit churn alerts.

    Configuration comes from CHURN_* environment variables (see `churn-detector config`).
    """


@main.command()
@click.option("--markdown", is_flag=True, help="Print the documented settings table instead.")
def config(markdown: bool) -> None:
    """Print the effective settings as JSON, secrets masked."""
    if markdown:
        from streams.settings_docs import markdown_table

        click.echo(markdown_table(Settings))
        return
    click.echo(json.dumps(_settings().masked(), indent=2, default=str))


@main.command()
def worker() -> None:
    """Run the detector service against the Kafka at CHURN_KAFKA_BROKER."""
    settings = _settings()
    if not settings.kafka_broker:
        raise click.ClickException("CHURN_KAFKA_BROKER is not set (use `run` for the embedded one)")
    run_worker(settings)


def run_worker(settings: Settings) -> None:
    import faust

    from streams.health import Health, attach, serve
    from streams.logs import setup_logging
    from streams.metrics import Metrics, add_process_metrics
    from streams.topology import build_app

    setup_logging(settings.log_level, settings.log_json)
    metrics = Metrics()
    add_process_metrics(metrics.registry)
    health = Health(settings.liveness_timeout_seconds)
    if settings.metrics_port:  # /metrics, /livez, /readyz
        serve(settings.metrics_port, metrics.registry, health)
    app = build_app(settings, lambda: _classifier(settings), metrics)
    # override_logging=False: keep setup_logging's handler (JSON logs) instead of Faust's
    worker_ = faust.Worker(
        app, loglevel=settings.log_level.lower(), quiet=True, override_logging=False
    )
    worker_.spinner = None  # no terminal escapes in the log (stdout may be a file)
    attach(app, health, worker_.loop)  # heartbeat and readiness for /livez and /readyz
    worker_.execute_from_commandline()


def _redactor(settings: Settings | None = None) -> Redactor:
    if settings is None:
        return Redactor()
    return Redactor(settings.redact_patterns, enabled=settings.redact_pii)


def _report_rejects(rejects: list[Rejected], rejects_path: Path | None,
                    redactor: Redactor | None = None) -> None:
    """Print each rejected line's reason (redacted, control characters escaped) and write
    them to ``rejects_path`` (reason redacted; ``raw`` is the caller's own line)."""
    redactor = redactor or Redactor()
    for r in rejects:
        click.echo(f"line {r.line}: rejected: {escape_controls(redactor(r.reason))}", err=True)
    if rejects_path:
        with open(rejects_path, "w", encoding="utf-8") as fh:
            for r in rejects:
                write_jsonl(fh, {**r.to_dict(), "reason": redactor(r.reason)})


class _Failures:
    """Events the classifier failed on (offline): reported, left out, counted."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, event: Event, exc: Exception) -> None:
        self.count += 1
        click.echo(f"event {escape_controls(event.event_id)}: classification failed:"
                   f" {type(exc).__name__}", err=True)


def _load(path: Path, settings: Settings) -> tuple[list[Event], list[Rejected]]:
    events: list[Event] = []
    rejects: list[Rejected] = []
    for _, item in read_events(open_lines(path), future_clamp=settings.future_clamp()):
        (events if isinstance(item, Event) else rejects).append(item)  # type: ignore[arg-type]
    return events, rejects


@main.command()
@click.argument("infile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write results here (default: stdout).")
@click.option("--rejects", type=click.Path(dir_okay=False, path_type=Path),
              help="Write rejected lines here as JSONL (line, reason, raw).")
def score(infile: Path, output: Path | None, rejects: Path | None) -> None:
    """Classify the events of a JSONL file offline: one JSON result per event.

    Exit status 3 when some lines were rejected (the valid ones are still scored).
    """
    settings = _settings()
    events, rejected = _load(infile, settings)
    _report_rejects(rejected, rejects, _redactor(settings))
    clf = _classifier(settings)
    failures = _Failures()
    out = open(output, "w", encoding="utf-8") if output else sys.stdout
    try:
        for signal_ in score_events(clf, events, settings.batch_size, failures):
            write_jsonl(out, signal_.score_dict())
    finally:
        if output:
            out.close()
    click.echo(f"scored {len(events) - failures.count} events, rejected {len(rejected)} lines"
               + (f", classification failed for {failures.count}" if failures.count else ""),
               err=True)
    if rejected or failures.count:
        sys.exit(ExitCode.LINES_REJECTED)


@main.command(name="replay")
@click.argument("infile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write alerts here as JSONL (default: stdout).")
@click.option("--rejects", type=click.Path(dir_okay=False, path_type=Path),
              help="Write rejected lines here as JSONL (line, reason, raw).")
@click.option("--order", type=click.Choice(["event-time", "file"]), default="event-time",
              show_default=True,
              help="Process in event-time order, or in file (arrival) order like a stream.")
@click.option("--profiles", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Customer profiles (JSONL) for account context.")
def replay_cmd(infile: Path, output: Path | None, rejects: Path | None, order: str,
               profiles: Path | None) -> None:
    """Run the whole detector offline over a JSONL file in event-time order (backtesting).

    Exit status 3 when some lines were rejected (the valid ones are still replayed).
    """
    settings = _settings()
    events, rejected = _load(infile, settings)
    _report_rejects(rejected, rejects, _redactor(settings))
    failures = _Failures()
    detector = Detector(
        risk=settings.risk_config(),
        stage_config=settings.stage_config(),
        redactor=Redactor(settings.redact_patterns, enabled=settings.redact_pii),
        profiles=_load_profiles(profiles),
    )
    clf = _classifier(settings)
    out = open(output, "w", encoding="utf-8") if output else sys.stdout
    n = 0
    try:
        for alert in replay(clf, events, detector, settings.batch_size, order=order,
                            on_error=failures):
            write_jsonl(out, alert.to_dict())
            n += 1
    finally:
        if output:
            out.close()
    click.echo(
        f"replayed {len(events) - failures.count} events, {n} alerts, rejected"
        f" {len(rejected)} lines"
        + (f", classification failed for {failures.count}" if failures.count else ""), err=True
    )
    if rejected:
        sys.exit(ExitCode.LINES_REJECTED)


@main.command()
@click.argument("infile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--rate", type=float, default=None, help="Events per second (default: unlimited).")
def produce(infile: Path, rate: float | None) -> None:
    """Send the events of a JSONL file to their source topics (by channel)."""
    from streams.kafka import produce_events

    settings = _settings()
    if not settings.kafka_broker:
        raise click.ClickException("CHURN_KAFKA_BROKER is not set")
    events, rejected = _load(infile, settings)
    _report_rejects(rejected, None, _redactor(settings))
    sent = asyncio.run(produce_events(settings, [e.to_dict() for e in events], rate=rate))
    click.echo(f"sent {sent} events, rejected {len(rejected)} lines", err=True)


@main.command()
@click.argument("customer_id")
def forget(customer_id: str) -> None:
    """Erase one customer's state (GDPR erasure): a tombstone through the stream.

    The workers drop the customer's row from the `customers` table (a changelog tombstone,
    removed by compaction) and the customer's event ids from every stage's state. Signals and
    alerts already on topics age out with the topics' retention.
    """
    from detector.schema import MAX_ID_CHARS, is_id_char
    from streams.kafka import send_forget

    settings = _settings()
    if not settings.kafka_broker:
        raise click.ClickException("CHURN_KAFKA_BROKER is not set")
    if (not customer_id.strip(" ") or len(customer_id) > MAX_ID_CHARS
            or not all(is_id_char(ch) for ch in customer_id)):
        raise click.ClickException("not a valid customer id")
    asyncio.run(send_forget(settings, customer_id.strip(" ")))
    click.echo("forget record sent; the customer's state is erased when the workers reach it",
               err=True)


@main.command(name="run")
@click.option("--duration", type=float, default=None,
              help="Stop by itself after this many seconds (default: until Ctrl-C).")
@click.option("--rate", type=float, default=8.0, show_default=True,
              help="Sample events fed per second.")
@click.option("--sample", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Event file to replay (default: the bundled sample stream).")
@click.option("--profiles", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Customer profiles (JSONL) to publish first (default: the"
              " bundled sample's, with the bundled sample stream only).")
@click.option("--json", "as_json", is_flag=True, help="Print alerts as JSON lines.")
@click.option("--verbose", is_flag=True, help="Show the worker's log instead of a log file.")
@click.option("--allow-remote-broker", is_flag=True,
              help="Feed the sample stream into a CHURN_KAFKA_BROKER that is not on this "
                   "machine (refused without this flag).")
def run_cmd(
    duration: float | None, rate: float, sample: Path | None, profiles: Path | None,
    as_json: bool, verbose: bool, allow_remote_broker: bool,
) -> None:
    """Run everything locally: embedded broker, worker, sample feeder, live alerts.

    With CHURN_KAFKA_BROKER unset (the default) an embedded broker is started. A broker that
    is not on this machine is refused unless --allow-remote-broker is given: `run` writes the
    sample events into its source topics.
    """
    settings = _settings()
    remote = remote_brokers(settings.kafka_broker or "")
    if remote and not allow_remote_broker:
        raise click.UsageError(
            f"CHURN_KAFKA_BROKER points at {', '.join(remote)}, not this machine: `run` would "
            "write the sample stream into its topics. Unset CHURN_KAFKA_BROKER to use the "
            "embedded broker, or pass --allow-remote-broker if that cluster is a test one.")
    if profiles is None and sample is None:
        profiles = sample_profiles_path()
    code = asyncio.run(_run(settings, duration, rate, sample or sample_stream_path(), as_json,
                            verbose, profiles))
    sys.exit(code)


def _shift_profiles(profiles: dict[str, dict[str, Any]], days: int) -> list[tuple[str, bytes,
                                                                                   bytes]]:
    """Profile records for the profiles topic, renewal dates moved as the events were."""
    out = []
    for cid, profile in profiles.items():
        body = dict(profile)
        if body.get("renewal_date"):
            renewal = date.fromisoformat(body["renewal_date"]) + timedelta(days=days)
            body["renewal_date"] = renewal.isoformat()
        out.append((cid, cid.encode("utf-8"), json.dumps(body).encode("utf-8")))
    return out


async def _run(
    settings: Settings,
    duration: float | None,
    rate: float,
    sample: Path,
    as_json: bool,
    verbose: bool,
    profiles_path: Path | None = None,
) -> int:
    from streams.broker import EmbeddedBroker, stop_process_group
    from streams.display import render_alert
    from streams.kafka import consume_json, produce_events, shift_to_now

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    workdir = Path(tempfile.mkdtemp(prefix="churn-run-"))
    broker = None
    worker_proc: subprocess.Popen[bytes] | None = None
    counts: Counter[tuple[str, str]] = Counter()
    alerted: set[str] = set()
    cases: dict[str, set[str]] = {}  # alerted customer -> its case keys
    colour = sys.stdout.isatty()
    try:
        bootstrap = settings.kafka_broker
        if not bootstrap:
            broker = EmbeddedBroker(log_path=workdir / "broker.log")
            await loop.run_in_executor(None, broker.start)
            bootstrap = broker.bootstrap
            click.echo(f"embedded broker (Tansu) on {bootstrap}, pid {broker.pid}", err=True)
            topics = {t: settings.topic_partitions for t in settings.source_topic_names()}
            topics[settings.topic_alerts] = settings.topic_partitions
            topics[settings.topic_deadletter] = settings.topic_partitions
            topics[settings.topic_signals] = settings.topic_partitions
            topics[settings.topic_stage_signals] = settings.topic_partitions
            topics[settings.topic_profiles] = settings.topic_partitions
            await loop.run_in_executor(None, broker.create_topics, topics)
        env = dict(os.environ)
        if broker is not None:  # Tansu: short session timeout = fast group joins
            env.setdefault("CHURN_BROKER_SESSION_TIMEOUT_SECONDS", "2")
            env.setdefault("CHURN_BROKER_HEARTBEAT_INTERVAL_SECONDS", "0.5")
        env.update({
            "CHURN_KAFKA_BROKER": bootstrap,
            "CHURN_DATA_DIR": str(workdir / "worker"),
        })
        log_file = None if verbose else open(workdir / "worker.log", "wb")
        worker_proc = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker"],
            env=env,
            stdout=log_file or None,
            stderr=subprocess.STDOUT if log_file else None,
            start_new_session=True,
        )
        click.echo(
            f"worker pid {worker_proc.pid} (log: {workdir / 'worker.log' if log_file else 'here'});"
            f" metrics: {_metrics_url(settings)}", err=True,
        )

        events, rejected = _load(sample, settings)
        for r in rejected:
            click.echo(f"sample line {r.line} rejected:"
                       f" {escape_controls(_redactor(settings)(r.reason))}", err=True)
        bodies = shift_to_now(sorted(events, key=lambda e: e.occurred_at))
        profiles = _load_profiles(profiles_path)
        if profiles and events:
            shift = datetime.fromisoformat(bodies[-1]["occurred_at"]) - max(
                e.occurred_at for e in events)
            records = [(settings.topic_profiles, key, value)
                       for _, key, value in _shift_profiles(profiles, shift.days)]
            await produce_events(settings, [], bootstrap=bootstrap, raw=records)
            click.echo(f"published {len(records)} customer profiles", err=True)
        click.echo(f"feeding {len(bodies)} sample events at {rate:g}/s ...", err=True)

        async def show_alerts() -> None:
            async for alert in consume_json(settings, settings.topic_alerts, bootstrap=bootstrap):
                counts[(alert.get("type", "?"), alert.get("severity", "?"))] += 1
                if alert.get("customer_id"):
                    alerted.add(alert["customer_id"])
                    cases.setdefault(alert["customer_id"], set()).add(
                        alert.get("case_key") or alert.get("alert_id", "?"))
                if as_json:
                    click.echo(json.dumps(alert, ensure_ascii=False))
                else:
                    click.echo(render_alert(alert, colour=colour) + "\n")

        async def watch_worker() -> None:
            while worker_proc is not None and worker_proc.poll() is None:
                await asyncio.sleep(0.5)
            click.echo("worker exited unexpectedly; stopping", err=True)
            stop.set()

        tasks = [
            asyncio.create_task(show_alerts()),
            asyncio.create_task(produce_events(settings, bodies, bootstrap=bootstrap, rate=rate)),
            asyncio.create_task(watch_worker()),
        ]
        try:
            await asyncio.wait_for(stop.wait(), timeout=duration)
        except TimeoutError:
            pass
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        summary = ", ".join(f"{t}/{s}: {n}" for (t, s), n in sorted(counts.items())) or "none"
        per_customer = sum(map(len, cases.values())) / len(cases) if cases else 0.0
        click.echo(f"alerts seen: {sum(counts.values())} ({summary});"
                   f" customers alerted: {len(alerted)};"
                   f" cases per alerted customer: {per_customer:.1f}", err=True)
        return 0 if worker_proc.poll() is None else 1
    finally:
        if worker_proc is not None:
            stop_process_group(worker_proc, timeout=20.0)
        if broker is not None:
            broker.stop()
        click.echo("stopped worker and broker", err=True)


def _metrics_url(settings: Settings) -> str:
    """Where the worker's Prometheus metrics are served (or that they are off)."""
    if not settings.metrics_port:
        return "off (CHURN_METRICS_PORT=0)"
    return f"http://127.0.0.1:{settings.metrics_port}/metrics"


from streams.webhook import sink as _sink  # noqa: E402

main.add_command(_sink)

from streams.tail import alerts as _alerts  # noqa: E402

main.add_command(_alerts)

from streams.cli_models import (  # noqa: E402
    build_static_cmd,
    eval_cmd,
    train_cmd,
)

main.add_command(train_cmd)
main.add_command(eval_cmd)
main.add_command(build_static_cmd)

from bench.cli import bench as _bench  # noqa: E402

main.add_command(_bench)


if __name__ == "__main__":
    main()
