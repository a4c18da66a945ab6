"""``churn-detector alerts tail``: a live view of the alert topic for a support agent."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import click

from detector.alerts import ALERT_TYPES, SEVERITIES
from detector.schema import JOURNEY_STAGES
from streams.display import render_alert
from streams.settings import Settings


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts to show: any of ``types``, at least ``min_severity``, any of ``stages``."""

    types: frozenset[str] = frozenset()
    min_severity: str | None = None
    stages: frozenset[str] = frozenset()

    def matches(self, alert: dict[str, Any]) -> bool:
        """True when the alert passes every filter that is set."""
        if self.types and alert.get("type") not in self.types:
            return False
        if self.min_severity is not None:
            severity = alert.get("severity")
            if severity not in SEVERITIES:
                return False
            if SEVERITIES.index(severity) < SEVERITIES.index(self.min_severity):
                return False
        return not (self.stages and alert.get("journey_stage") not in self.stages)


def format_alert(alert: dict[str, Any], as_json: bool, colour: bool) -> str:
    """One alert as a JSON line (``as_json``) or as a short human-readable block."""
    if as_json:
        return json.dumps(alert, ensure_ascii=False, separators=(",", ":"))
    return render_alert(alert, colour=colour) + "\n"


async def tail_alerts(
    source: AsyncIterator[dict[str, Any]],
    flt: AlertFilter,
    emit: Callable[[str], None],
    *,
    as_json: bool = False,
    colour: bool = False,
    limit: int | None = None,
) -> int:
    """Show the alerts of ``source`` that pass ``flt``; stop after ``limit``. Returns the count."""
    shown = 0
    if limit is not None and limit <= 0:
        return 0
    async for alert in source:
        if not flt.matches(alert):
            continue
        emit(format_alert(alert, as_json, colour))
        shown += 1
        if limit is not None and shown >= limit:
            break
    return shown


@click.group(name="alerts")
def alerts() -> None:
    """Work with the alert topic (CHURN_TOPIC_ALERTS)."""


@alerts.command(name="tail")
@click.option("--type", "types", multiple=True, type=click.Choice(ALERT_TYPES),
              help="Only alerts of this type (repeatable).")
@click.option("--severity", type=click.Choice(SEVERITIES), default=None,
              help="Only alerts of at least this severity.")
@click.option("--stage", "stages", multiple=True, type=click.Choice(JOURNEY_STAGES),
              help="Only alerts about this journey stage (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="One JSON alert per line (for piping).")
@click.option("--from-beginning", is_flag=True,
              help="Start at the oldest alert on the topic instead of new ones only.")
@click.option("-n", "--limit", type=click.IntRange(min=1), default=None,
              help="Stop after this many matching alerts.")
@click.option("--colour/--no-colour", "colour", default=None,
              help="Colour by severity (default: when stdout is a terminal).")
def tail(
    types: Sequence[str],
    severity: str | None,
    stages: Sequence[str],
    as_json: bool,
    from_beginning: bool,
    limit: int | None,
    colour: bool | None,
) -> None:
    """Follow the alert topic live: severity in colour, reasons and evidence; Ctrl-C stops."""
    try:
        settings = Settings()  # type: ignore[call-arg]
    except Exception as exc:  # pydantic ValidationError: show it plainly
        raise click.ClickException(f"invalid configuration: {exc}") from None
    if not settings.kafka_broker:
        raise click.ClickException("CHURN_KAFKA_BROKER is not set")
    from streams.kafka import consume_json

    flt = AlertFilter(frozenset(types), severity, frozenset(stages))
    use_colour = sys.stdout.isatty() if colour is None else colour
    if not as_json:
        where = "from the beginning" if from_beginning else "new alerts"
        click.echo(f"following {settings.topic_alerts} on {settings.kafka_broker} ({where});"
                   " Ctrl-C to stop", err=True)

    def emit(line: str) -> None:
        click.echo(line, color=use_colour)  # click strips colour off a non-tty unless told
        sys.stdout.flush()

    async def run() -> int:
        source = consume_json(settings, settings.topic_alerts, from_beginning=from_beginning)
        try:
            return await tail_alerts(source, flt, emit, as_json=as_json, colour=use_colour,
                                     limit=limit)
        finally:
            await source.aclose()  # type: ignore[attr-defined]

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:  # `... | head`: the reader went away
        sys.stderr.close()
