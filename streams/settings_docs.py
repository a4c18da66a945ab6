"""One line of documentation per setting, for `churn-detector config --markdown` and README.

Fields that carry a ``description`` in ``Settings`` use it; the rest are described here.
A test checks that every setting is documented and that README's table is current.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

DOCS: dict[str, str] = {
    "kafka_security_protocol": "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
    "kafka_sasl_mechanism": "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512",
    "kafka_sasl_username": "SASL user name",
    "kafka_sasl_password": "SASL password (secret; masked in `config` and logs)",
    "kafka_ssl_cafile": "CA bundle that signed the brokers' certificates",
    "kafka_ssl_certfile": "Client certificate (mutual TLS)",
    "kafka_ssl_keyfile": "Client private key (mutual TLS)",
    "topic_partitions": "Partitions of the topics the app creates (ceiling on workers)",
    "topic_replication_factor": "Replication factor of the topics the app creates",
    "broker_heartbeat_interval_seconds": "Consumer heartbeat interval (< session timeout / 3)",
    "broker_commit_interval_seconds": "How often consumed offsets are committed",
    "consumer_fetch_max_wait_ms": "Longest a fetch waits for data (latency at low traffic)",
    "topic_reviews": "Source topic for `review` events",
    "topic_tickets": "Source topic for `ticket`, `chat`, `email` and `survey` events",
    "topic_social": "Source topic for `social` events",
    "topic_calls": "Source topic for `call` events",
    "topic_signals": "Internal: per-event signals keyed by customer",
    "topic_stage_signals": "Internal: deduplicated signals keyed by journey stage, batched",
    "topic_alerts": "Alerts out (key: customer id, or `stage:<stage>`)",
    "topic_deadletter": "Records that could not be processed, with the reason",
    "encoder": "Model path: transformer (default, best on held-out domains), static, cascade "
    "(hashing: tests only)",
    "taxonomy_path": "A taxonomy JSON replacing the bundled one",
    "cascade_churn_threshold": "Cascade: P(leaving) from which the transformer re-scores "
    "(default: the manifest's)",
    "cascade_friction_band": "Cascade: presence probabilities this close to their threshold "
    "go to the transformer (default: the manifest's)",
    "embedding_cache_size": "Texts whose embeddings are kept (retweets, templates); 0: off",
    "batch_size": "Most events classified in one micro-batch",
    "batch_within_seconds": "Longest wait to fill a micro-batch",
    "risk_half_life_hours": "Half-life of a signal's weight in the customer risk score",
    "risk_severity_medium": "Risk score for a `medium` customer_churn_risk alert",
    "risk_severity_high": "Risk score for `high`",
    "risk_severity_critical": "Risk score for `critical`",
    "explicit_probability": (
        "P(explicit) from which a message counts as a request to leave in the alert rules;"
        " 0.5 is where the models label it `explicit` (raise it for fewer alerts; lower"
        " changes nothing)"
    ),
    "min_alert_severity": (
        "Lowest severity that is emitted (a case stood down is updated at low even so)"
    ),
    "alert_cooldown_hours": "Per customer and type: re-alert within this only if it escalates",
    "contact_window_hours": "Rolling window of contacts counted per customer",
    "evidence_size": "Last N signals kept per customer as evidence",
    "issue_similarity": "Cosine similarity from which two messages are the same issue",
    "issue_repeat_threshold": "Contacts about one issue that make it `unresolved_issue`",
    "issue_window_hours": "An issue thread idle longer than this is closed",
    "stage_window_minutes": "Per-stage window size (event time)",
    "stage_step_minutes": "Per-stage window step (hop); the window is a multiple of it",
    "lateness_minutes": "Out-of-order allowance; later events are counted as late",
    "baseline_alpha": "EWMA weight of the newest window in a series' baseline",
    "baseline_warmup_windows": "Closed windows a baseline needs before spikes are judged",
    "spike_min_events": "Events a stage window needs before a spike is judged",
    "spike_min_count": "Events of the category a window needs for a spike",
    "spike_z": "Standard deviations above the baseline rate for a spike",
    "spike_min_lift": "Absolute rise over the baseline rate for a spike",
    "cx_gap_threshold": "Gap (expected minus observed) that counts as a CX gap",
    "cx_gap_min_events": "Messages with an opinion a closed window needs to judge the gap",
    "cx_gap_duration_minutes": "How long the gap must persist before `cx_gap` is raised",
    "redact_pii": "Redact emails, phones, card/account numbers in evidence and logs",
    "redact_patterns": "Extra regular expressions to redact (JSON list)",
    "data_dir": "Worker state directory (tables, RocksDB)",
    "log_level": "DEBUG, INFO, WARNING or ERROR",
    "log_json": "One JSON object per log line (never full event texts)",
    "webhook_format": "Body: `alert` (the alert JSON) or `crm_case` (mapped case/task)",
    "webhook_timeout_seconds": "Per-request timeout",
    "webhook_backoff_base_seconds": "First retry delay (exponential, with jitter)",
    "webhook_backoff_max_seconds": "Longest retry delay",
    "webhook_consumer_group": "Consumer group of the webhook sink",
}


def describe(name: str, field: Any) -> str:
    return field.description or DOCS.get(name, "")


def markdown_table(settings_cls: Any) -> str:
    """The settings as a markdown table: variable, default, meaning."""
    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for name, field in settings_cls.model_fields.items():
        default = field.default_factory() if field.default_factory else field.default
        if hasattr(default, "get_secret_value"):
            default = ""
        shown = "" if default in ("", None) else str(default)
        if isinstance(default, Path) and default.is_relative_to(Path.home()):  # not this machine's
            shown = str("~" / default.relative_to(Path.home()))
        if isinstance(default, dict):
            shown = "see streams/settings.py"
        elif isinstance(default, tuple):
            shown = "[]" if not default else str(list(default))
        meaning = describe(name, field).replace("|", "\\|")  # a | would split the cell
        rows.append(f"| `CHURN_{name.upper()}` | `{shown}` | {meaning} |")
    return "\n".join(rows)


START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def render_into(readme: str, table: str) -> str:
    """README text with the settings table between its markers."""
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}\n{END}{tail}"


if __name__ == "__main__":  # `make docs`: rewrite README's settings table
    from streams.settings import Settings

    readme = Path("README.md")
    readme.write_text(render_into(readme.read_text(), markdown_table(Settings)))
