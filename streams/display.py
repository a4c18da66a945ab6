"""Human-readable rendering of alerts for a terminal."""

from __future__ import annotations

import textwrap
from typing import Any

from streams.crm_mapping import escaped

_COLOURS = {
    "critical": "\033[1;97;41m",
    "high": "\033[1;31m",
    "medium": "\033[33m",
    "low": "\033[36m",
}
_RESET = "\033[0m"


def render_alert(alert: dict[str, Any], colour: bool = False, width: int = 100) -> str:
    """A few lines a support agent can read at a glance: who, how urgent, why, what to do.

    Control, zero-width and bidi characters in the alert's text are shown escaped."""
    alert = escaped(alert)
    severity = str(alert.get("severity", "?"))
    tag = f"{severity.upper():<8}"
    if colour and severity in _COLOURS:
        tag = f"{_COLOURS[severity]}{tag}{_RESET}"
    who = alert.get("customer_id") or "(all customers)"
    stage = alert.get("journey_stage") or "-"
    head = (
        f"{tag} {alert.get('type')}  customer={who}  stage={stage}  "
        f"score={float(alert.get('score', 0.0)):.2f}  id={alert.get('alert_id')}"
    )
    lines = [head]
    for i, reason in enumerate(alert.get("reasons") or []):
        prefix = "  why: " if i == 0 else "       "
        lines.append(textwrap.fill(reason, width, initial_indent=prefix, subsequent_indent=" " * 7))
    evidence = alert.get("evidence") or []
    if evidence:
        ids = ", ".join(f"{e.get('event_id')} ({e.get('channel')})" for e in evidence[-5:])
        lines.append(
            textwrap.fill(ids, width, initial_indent="  seen: ", subsequent_indent=" " * 8)
        )
    case = alert.get("case_key")
    if case and case != alert.get("alert_id"):
        update = f" (updates {alert['supersedes']})" if alert.get("supersedes") else " (new)"
        lines.append(f"  case: {case}{update}")
    action = alert.get("recommended_action")
    if action:
        lines.append(
            textwrap.fill(action, width, initial_indent="  do:  ", subsequent_indent=" " * 7)
        )
    return "\n".join(lines)
