"""One frozen settings object, read from ``CHURN_*`` environment variables (and ``.env``).

Built once at the entry point (the CLI) and passed down; library code never reads
``os.environ``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from detector.customer import RiskConfig


class Settings(BaseSettings):
    """Effective configuration of a worker (see README, Configuration)."""

    model_config = SettingsConfigDict(
        env_prefix="CHURN_", frozen=True, env_file=".env", extra="ignore"
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

    # Model
    encoder: Literal["transformer", "hashing"] = "transformer"
    taxonomy_path: Path | None = None
    embedding_cache_size: int = Field(10_000, ge=0)
    batch_size: int = Field(64, ge=1)
    batch_within_seconds: float = Field(0.5, gt=0)

    # Risk scoring and alerting
    risk_half_life_hours: float = Field(72.0, gt=0)
    risk_severity_medium: float = 0.5
    risk_severity_high: float = 0.7
    risk_severity_critical: float = 0.85
    explicit_probability: float = 0.6
    min_alert_severity: Literal["low", "medium", "high", "critical"] = "medium"
    alert_cooldown_hours: float = Field(72.0, ge=0)
    contact_window_hours: float = Field(14 * 24.0, gt=0)
    evidence_size: int = Field(8, ge=1, le=50)
    redact_pii: bool = True
    redact_patterns: tuple[str, ...] = ()

    # Service
    metrics_port: int = Field(9464, ge=0, le=65535, description="0 disables /metrics")
    web_port: int = Field(6066, ge=1, le=65535, description="Faust web port")
    data_dir: Path = Path(".churn-data")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = False

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
