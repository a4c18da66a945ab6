"""One frozen settings object, read from ``CHURN_*`` environment variables (and ``.env``).

Built once at the entry point (the CLI) and passed down; library code never reads
``os.environ``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from detector.customer import RiskConfig
from detector.schema import JOURNEY_STAGES
from detector.stages import StageConfig
from detector.surge import SurgeConfig

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}


def remote_brokers(bootstrap: str) -> list[str]:
    """The bootstrap servers of ``bootstrap`` that are not on this machine (loopback)."""
    out = []
    for server in (s.strip() for s in bootstrap.split(",")):
        host = server.rsplit(":", 1)[0] if server.count(":") == 1 or "]" in server else server
        if server and host.lower() not in LOCAL_HOSTS and not host.startswith("127."):
            out.append(server)
    return out

class Settings(BaseSettings):
    """Effective configuration of a worker (see README, Configuration)."""

    model_config = SettingsConfigDict(
        env_prefix="CHURN_", frozen=True, env_file=".env", extra="ignore",
        hide_input_in_errors=True,  # a validation error must not print secrets or URLs
    )

    # Kafka
    kafka_broker: str = Field("", description="Bootstrap servers, e.g. kafka:9092 (empty: none)")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = (
        "PLAINTEXT"
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    kafka_sasl_username: str = ""
    kafka_sasl_password: SecretStr = SecretStr("")
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    app_id: str = Field("churn-signal-detector", description="Faust app id / consumer group")
    topic_partitions: int = Field(4, ge=1)
    broker_session_timeout_seconds: float = Field(
        10.0, gt=0, description="Consumer group session timeout (embedded broker: 2)"
    )
    broker_heartbeat_interval_seconds: float = Field(1.0, gt=0)
    broker_commit_interval_seconds: float = Field(0.5, gt=0)
    consumer_fetch_max_wait_ms: int = Field(100, ge=10, le=5000)
    topic_replication_factor: int = Field(1, ge=1)

    # Topics
    topic_reviews: str = "interactions.reviews"
    topic_tickets: str = "interactions.tickets"
    topic_social: str = "interactions.social"
    topic_calls: str = "interactions.calls"
    topic_signals: str = "churn.signals"
    topic_stage_signals: str = "churn.stage-signals"
    topic_alerts: str = "churn.alerts"
    topic_deadletter: str = "churn.deadletter"
    topic_profiles: str = Field(
        "customer.profiles",
        description="Compacted topic of customer profiles (key: customer id; plan, revenue,"
        " renewal, owner, segment); absent or empty: alerts carry no account context",
    )
    topic_webhook_deadletter: str = Field(
        "churn.alerts.webhook-deadletter", description="Alerts the webhook sink could not deliver"
    )

    # Model
    classifier: Literal["model", "labels"] = Field(
        "model", description="labels: trust metadata.labels of events (backtesting)"
    )
    encoder: Literal["transformer", "static", "cascade", "hashing"] = Field(
        "transformer", description="Model path (transformer: the best on held-out domains)"
    )
    model_dir: Path | None = Field(None, description="Trained heads (default: bundled artifacts)")
    model_cache_dir: Path = Field(
        Path.home() / ".cache" / "churn-detector",
        description="Static model and embedding caches (built locally, never downloaded)",
    )
    transformer_runtime: Literal["onnx", "torch"] = Field(
        "onnx", description="Transformer encoder: onnx (onnxruntime on CPU, exported once"
        " into model_cache_dir; torch if that fails) or torch (sentence-transformers)"
    )
    cascade_churn_threshold: float | None = Field(
        None, ge=0, le=1, description="Cascade: route at this churn probability (manifest's)"
    )
    cascade_friction_band: float | None = Field(
        None, ge=0, le=1, description="Cascade: route within this band of the presence threshold"
    )
    company_names: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="The company's own names and @handles, comma-separated (`Acme Bank,"
        " @AcmeBank`): with them a switch to another named company reads as leaving, to these"
        " as joining"
    )
    taxonomy_path: Path | None = None
    embedding_cache_size: int = Field(10_000, ge=0)
    blas_threads: int = Field(
        1, ge=0, description="Threads numpy's BLAS may use for the heads' and the static"
        " encoder's small matrix products (0: the library's default, one per core). More than"
        " one spins against the event loop and the broker on a busy worker"
    )
    batch_size: int = Field(64, ge=1)
    batch_within_seconds: float = Field(0.1, gt=0)
    state_batch_size: int = Field(
        500, ge=1, description="Most signals folded into the state tables per micro-batch"
    )
    state_batch_within_seconds: float = Field(
        0.05, gt=0, description="Longest wait to fill a state micro-batch"
    )
    gap_guard: bool = Field(
        True, description="Seek back when a state agent's input partition skips offsets"
    )
    gap_guard_retry_seconds: float = Field(
        1.0, gt=0, description="Wait before seeking again for records still missing; an"
        " agent idle this long while a partition holds records past the last it took seeks"
        " back to them"
    )
    gap_guard_max_seeks: int = Field(
        5, ge=1, description="Seeks before a gap is accepted (logged and counted)"
    )
    source_rereads: bool = Field(
        True, description="Re-read source records Faust would drop after a seek (off only"
        " for transactional producers: commits then pass their control records)"
    )
    seal_changelog_batches: bool | None = Field(
        None, description="Re-send each state write's last changelog record alone (the"
        " embedded broker under-reports end offsets after multi-record batches); unset: on"
        " where every bootstrap server is on loopback (the embedded broker), off elsewhere"
    )
    source_keyed_by_customer: bool = Field(
        False, description="Source records are keyed by customer_id on topics with"
        " CHURN_TOPIC_PARTITIONS partitions: they are folded where they are classified (no"
        " repartition hop); records keyed otherwise still take the hop"
    )

    # Risk scoring and alerting
    risk_half_life_hours: float = Field(72.0, gt=0)
    risk_severity_medium: float = 0.5
    risk_severity_high: float = 0.7
    risk_severity_critical: float = 0.85
    explicit_probability: float = 0.5
    min_alert_severity: Literal["low", "medium", "high", "critical"] = "medium"
    alert_cooldown_hours: float = Field(72.0, ge=0)
    contact_window_hours: float = Field(14 * 24.0, gt=0)
    evidence_size: int = Field(8, ge=1, le=50)
    issue_similarity: float = Field(0.55, ge=0, le=1)
    issue_repeat_threshold: int = Field(3, ge=2)
    issue_window_hours: float = Field(14 * 24.0, gt=0)
    escalation_min_minutes: float = Field(
        60.0, ge=0, description="Per customer: an escalation of an open case waits this long"
        " after the customer's last alert, unless the message carries churn intent",
    )
    case_window_hours: float = Field(
        14 * 24.0, gt=0, description="A customer case stays open (later alerts update it,"
        " same case_key) while its last alert is this recent",
    )
    renewal_window_days: float = Field(
        30.0, ge=0, description="Profile renewal within this many days raises a customer"
        " alert's severity one step",
    )
    revenue_horizon_months: float = Field(
        12.0, gt=0, le=1200,
        description="Expected revenue at risk = monthly revenue x this x risk score",
    )

    # Per-stage windows, spikes and the CX perception gap
    stage_window_minutes: float = Field(60.0, gt=0)
    stage_step_minutes: float = Field(15.0, gt=0)
    lateness_minutes: float = Field(30.0, ge=0)
    max_future_skew_seconds: float = Field(
        120.0, ge=0, description="Events dated further ahead of the processing time are dated"
        " now and flagged future_clamped (capped at the lateness)"
    )
    baseline_alpha: float = Field(0.2, gt=0, le=1)
    baseline_warmup_windows: int = Field(3, ge=1)
    spike_min_events: int = Field(20, ge=1)
    spike_min_count: int = Field(5, ge=1)
    spike_z: float = Field(3.0, gt=0)
    spike_min_lift: float = Field(0.15, ge=0)
    cx_gap_threshold: float = Field(0.15, gt=0)
    cx_gap_min_events: int = Field(10, ge=1)
    cx_gap_duration_minutes: float = Field(120.0, ge=0)
    cx_opinion_threshold: float = Field(
        0.25, gt=0, le=1, description="|sentiment| from which a message without a 1-2 or 4-5"
        " rating counts as an opinion in the CX gap (the rest are neutral: left out)",
    )
    surge_enabled: bool = Field(True, description="The volume (count-model) spike rule")
    surge_p_value: float = Field(
        1e-6, gt=0, lt=1, description="Volume rule: alert when the window's count is this"
        " unlikely under the stage's hour-of-day count model",
    )
    surge_min_ratio: float = Field(
        3.0, ge=1, description="Volume rule: and at least this many times the expected count"
    )
    surge_min_count: int = Field(5, ge=1, description="Volume rule: complaints a window needs")
    surge_min_customers: int = Field(
        3, ge=1, description="Volume rule: different customers a window needs"
    )
    surge_warmup_hours: float = Field(
        24.0, ge=0, description="Volume rule: stage history (event time) before it is armed"
    )
    surge_half_life_days: float = Field(
        7.0, gt=0, description="Volume rule: half-life of the counts in the model"
    )
    surge_customers_high: int = Field(
        10, ge=1, description="Volume rule: different customers for `high`"
    )
    surge_customers_critical: int = Field(
        25, ge=1, description="Volume rule: different customers for `critical`"
    )
    cx_expectations: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {
            "awareness": {"satisfaction": 0.70},
            "purchase": {"satisfaction": 0.75, "friction_rate": 0.15},
            "onboarding": {"satisfaction": 0.75, "friction_rate": 0.20},
            "usage": {"satisfaction": 0.70, "friction_rate": 0.25},
            "support": {"satisfaction": 0.65, "friction_rate": 0.35},
            "billing": {"satisfaction": 0.65, "friction_rate": 0.25},
            "renewal": {"satisfaction": 0.70, "friction_rate": 0.20},
        },
        description="The company's own expectation per journey stage (JSON)",
    )
    customer_expiry_days: float = Field(
        0.0, ge=0, description="Erase a customer's state after this many days without events"
        " (0: keep)"
    )
    customer_expiry_check_seconds: float = Field(
        3600.0, gt=0, description="How often each worker looks for expired customers and"
        " erasure markers to purge"
    )
    redact_pii: bool = True
    redact_patterns: tuple[str, ...] = ()

    # Service
    metrics_port: int = Field(
        9464, ge=0, le=65535, description="/metrics, /livez and /readyz (0: none of them)"
    )
    liveness_timeout_seconds: float = Field(
        30.0, gt=0, description="/livez answers 503 when the event loop's heartbeat is older"
    )
    lag_interval_seconds: float = Field(
        5.0, gt=0, description="How often consumer lag is read for /metrics"
    )
    data_dir: Path = Path(".churn-data")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = False
    bench_timestamps: bool = Field(
        False, description="Add consume/classify wall times to each signal (benchmarks)"
    )

    # State stores (see docs/operating.md)
    store: Literal["memory", "rocksdb"] = Field(
        "memory", description="Table store: memory, or rocksdb (rocksdict) under data_dir"
    )
    standby_replicas: int = Field(0, ge=0, description="Faust standby replicas per table")

    # Webhook sink (`churn-detector sink webhook`, see docs/integrations.md)
    webhook_url: str = Field("", description="POST alerts here (empty: sink refuses to start)")
    webhook_secret: SecretStr = Field(SecretStr(""), description="HMAC-SHA256 signing secret")
    webhook_signature_scheme: Literal["churn", "standard", "both"] = Field(
        "both", description="X-Churn-Signature, Standard Webhooks (webhook-signature), or both"
    )
    webhook_extra_secrets: SecretStr = Field(
        SecretStr(""), description="More signing secrets during a key rotation (comma-separated;"
        " each adds a v1 signature to webhook-signature)"
    )
    webhook_cloudevents: bool = Field(False, description="Wrap as CloudEvents 1.0 structured")
    webhook_format: Literal["alert", "crm_case"] = "alert"
    webhook_timeout_seconds: float = Field(10.0, gt=0)
    webhook_max_retries: int = Field(5, ge=0, description="Retries after the first try")
    webhook_backoff_base_seconds: float = Field(0.5, gt=0)
    webhook_backoff_max_seconds: float = Field(60.0, gt=0)
    webhook_concurrency: int = Field(8, ge=1, description="Alerts in flight at once")
    webhook_consumer_group: str = "churn-webhook-sink"

    @field_validator("company_names", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        """``CHURN_COMPANY_NAMES="Acme Bank, @AcmeBank"``: comma-separated, blanks dropped."""
        if isinstance(value, str):
            return tuple(n.strip() for n in value.split(",") if n.strip())
        return value

    @model_validator(mode="after")
    def _check(self) -> Settings:
        for stage, expected in self.cx_expectations.items():
            if stage not in JOURNEY_STAGES:
                raise ValueError(f"cx_expectations: unknown journey stage {stage!r}")
            for measure, value in expected.items():
                if measure not in ("satisfaction", "friction_rate"):
                    raise ValueError(f"cx_expectations.{stage}: unknown measure {measure!r}")
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"cx_expectations.{stage}.{measure} must be in [0, 1]")
        if self.webhook_url:
            check_webhook_url(self.webhook_url)

        ratio = self.stage_window_minutes / self.stage_step_minutes
        if abs(ratio - round(ratio)) > 1e-9:
            raise ValueError("stage_window_minutes must be a multiple of stage_step_minutes")
        return self

    def future_clamp(self) -> timedelta:
        """How far ahead of the processing time an event may be dated (then it is clamped):
        ``max_future_skew_seconds``, never more than the lateness (a future event must not
        move the watermark past on-time events)."""
        return timedelta(seconds=min(self.max_future_skew_seconds, self.lateness_minutes * 60))

    def webhook_extra_secret_list(self) -> tuple[str, ...]:
        """The rotation secrets of ``webhook_extra_secrets``, in order."""
        raw = self.webhook_extra_secrets.get_secret_value()
        return tuple(s.strip() for s in raw.split(",") if s.strip())

    def source_topics(self) -> dict[str, str]:
        """Channel -> source topic (chat, email and survey share the tickets topic)."""
        return {
            "review": self.topic_reviews,
            "ticket": self.topic_tickets,
            "chat": self.topic_tickets,
            "email": self.topic_tickets,
            "survey": self.topic_tickets,
            "social": self.topic_social,
            "call": self.topic_calls,
        }

    def seals_changelog(self, broker: str | None = None) -> bool:
        """Whether state writes seal their changelog batches (``seal_changelog_batches``;
        unset: only against a broker on loopback, where the embedded one runs)."""
        if self.seal_changelog_batches is not None:
            return self.seal_changelog_batches
        bootstrap = (broker or self.kafka_broker).removeprefix("kafka://")
        return bool(bootstrap) and not remote_brokers(bootstrap)

    def source_topic_names(self) -> list[str]:
        return sorted(set(self.source_topics().values()))

    def risk_config(self) -> RiskConfig:
        return RiskConfig(
            half_life_hours=self.risk_half_life_hours,
            severity_medium=self.risk_severity_medium,
            severity_high=self.risk_severity_high,
            severity_critical=self.risk_severity_critical,
            explicit_probability=self.explicit_probability,
            min_alert_severity=self.min_alert_severity,
            cooldown_hours=self.alert_cooldown_hours,
            contact_window_hours=self.contact_window_hours,
            evidence_size=self.evidence_size,
            issue_similarity=self.issue_similarity,
            issue_repeat_threshold=self.issue_repeat_threshold,
            issue_window_hours=self.issue_window_hours,
            escalation_min_minutes=self.escalation_min_minutes,
            case_window_hours=self.case_window_hours,
            renewal_window_days=self.renewal_window_days,
            revenue_horizon_months=self.revenue_horizon_months,
        )

    def stage_config(self) -> StageConfig:
        return StageConfig(
            window_minutes=self.stage_window_minutes,
            step_minutes=self.stage_step_minutes,
            lateness_minutes=self.lateness_minutes,
            baseline_alpha=self.baseline_alpha,
            warmup_windows=self.baseline_warmup_windows,
            spike_min_events=self.spike_min_events,
            spike_min_count=self.spike_min_count,
            spike_z=self.spike_z,
            spike_min_lift=self.spike_min_lift,
            gap_threshold=self.cx_gap_threshold,
            gap_min_events=self.cx_gap_min_events,
            gap_duration_minutes=self.cx_gap_duration_minutes,
            expectations={k: dict(v) for k, v in self.cx_expectations.items()},
            opinion_threshold=self.cx_opinion_threshold,
            surge=SurgeConfig(
                enabled=self.surge_enabled,
                p_value=self.surge_p_value,
                min_ratio=self.surge_min_ratio,
                min_count=self.surge_min_count,
                min_customers=self.surge_min_customers,
                warmup_hours=self.surge_warmup_hours,
                half_life_days=self.surge_half_life_days,
                customers_high=self.surge_customers_high,
                customers_critical=self.surge_customers_critical,
            ),
        )

    def masked(self) -> dict[str, Any]:
        """Settings as a dict with secrets masked (for ``churn-detector config``)."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = "**********" if value.get_secret_value() else ""
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        return out


def check_webhook_url(url: str) -> str:
    """``url`` if it is an http(s) URL with a host; raise ValueError with a clear reason."""
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port  # the port is parsed (and checked) lazily
    except ValueError as exc:
        raise ValueError(f"webhook URL cannot be parsed ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("webhook URL must start with http:// or https://")
    if not host:
        raise ValueError("webhook URL has no host")
    return url
