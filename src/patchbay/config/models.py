"""The project file's shape. These models are the source of truth for docs and validation.

Component options (a provider's, a target's, a step's) are validated a second time against the
component's own ``Config`` model from the registry; see :mod:`patchbay.config.loader`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from patchbay.auth.oidc import AuthConfig
from patchbay.config.limits import LimitsConfig
from patchbay.config.secrets import SecretsConfig as SecretsConfig
from patchbay.egress import EgressPolicy
from patchbay.observability.alert_config import AlertsConfig
from patchbay.observability.pricing import PricingConfig
from patchbay.resilience.breaker import BreakerConfig
from patchbay.resilience.limits import SharedLimitsConfig
from patchbay.rollout.config import FlagsConfig, RolloutConfig

DEFAULT_FALLBACK_MESSAGE = "Sorry, I'm having trouble accessing that data. Please try again shortly."


class Strict(BaseModel):
    """Base for every config model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class StorageConfig(Strict):
    """Where durable runs and run records live."""

    data_dir: Path = Field(
        default=Path(".patchbay"),
        description="Folder for the embedded SQLite files (relative to the project).",
    )
    database_url: str | None = Field(
        default=None,
        description="Durable-run database (DBOS system database). Default: SQLite file "
        "'{data_dir}/dbos.sqlite' in WAL mode. Set a postgresql:// URL to scale out.",
    )
    sqlite_synchronous: Literal["full", "normal"] = Field(
        default="full",
        description="SQLite only. full: every commit is synced, so a 202 survives a power loss. normal: "
        "synced at checkpoints; survives any process crash, may lose the last commits on a power loss; "
        "about twice the runs per second on slow disks.",
    )
    runs_url: str | None = Field(
        default=None,
        description="Run-record database (SQLAlchemy URL). Default: SQLite file '{data_dir}/runs.sqlite', "
        "kept apart from the durable-run database on purpose.",
    )
    pool_size: int = Field(
        default=10,
        ge=1,
        le=500,
        description="Connections each process keeps open to the run-record database, never more: a busy "
        "moment waits for a free one instead of opening and closing extra ones (each new PostgreSQL "
        "connection is a server process started). DBOS keeps its own 20 to the durable-run database; "
        "with PostgreSQL, mind max_connections: about pool_size + 25 per process (twice pool_size "
        "when a provider or target has shared limits:, which keep a pool of their own).",
    )


class ServerConfig(Strict):
    """The HTTP server started by ``patchbay serve``."""

    host: str = Field(default="127.0.0.1", description="Interface to listen on.")
    port: int = Field(default=8787, ge=1, le=65535, description="TCP port.")
    max_body_bytes: int = Field(default=1_000_000, ge=1024, description="Larger webhook bodies get 413.")
    max_queue_depth: int = Field(
        default=10_000,
        ge=0,
        description="Back-pressure: with more runs than this waiting, intake answers 503 with Retry-After "
        "instead of queueing more. 0 turns the check off.",
    )
    retry_after_s: int = Field(default=5, ge=1, le=3600, description="Retry-After sent with that 503.")
    metrics: bool = Field(default=True, description="Serve Prometheus metrics at GET /metrics.")
    public_url: str = Field(
        default="http://127.0.0.1:8787",
        description="How people reach this server (for one-click feedback links and console links).",
    )
    feedback_key: SecretStr | None = Field(
        default=None,
        description="Key that signs one-click feedback links (default: a random key in the data folder).",
    )
    admin_token: SecretStr | None = Field(
        default=None,
        description="Bearer token for the admin API (/admin/...). Unset: the admin API answers only "
        "localhost, and only in dev. Use ${secret:...}.",
    )


class RuntimeConfig(Strict):
    """Identity of this process in the durable-run engine."""

    executor_id: str | None = Field(
        default=None,
        description="Stable, unique id of this process. Default: '{hostname}-{project}'. Two processes "
        "must never share one, or they would resume each other's runs.",
    )
    app_version: str = Field(
        default="1",
        description="Explicit application version. Interrupted runs resume only on a process with the "
        "same version; change it only when a workflow's steps change incompatibly.",
    )
    workers: int = Field(
        default=16,
        ge=1,
        le=1000,
        description="Runs executed concurrently by one process. The queue is polled every 0.2 s, so one "
        "process finishes at most about 5x this many runs per second; the local model runs one "
        "generation at a time whatever this says.",
    )
    heartbeat_s: float = Field(
        default=5.0, gt=0, le=300, description="How often a process records it is alive."
    )
    dead_after_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="A worker silent this long is dead: a survivor resumes its runs at their last "
        "finished step.",
    )


class ObservabilityConfig(Strict):
    """Traces, and in-process alert rules (see docs/operations.md)."""

    otlp_endpoint: str | None = Field(
        default=None,
        description="Export OpenTelemetry traces over OTLP/HTTP to this URL (e.g. "
        "http://collector:4318/v1/traces). Unset: no tracing, no cost.",
    )
    alerts: AlertsConfig = Field(default_factory=AlertsConfig, description="Alert rules and where they go.")


class RetentionConfig(Strict):
    """How long history is kept; pruned by a scheduled job, never on the request path."""

    dedupe_days: float = Field(
        default=7.0,
        ge=1.0,
        description="Run records (and so delivery ids) are kept this long: a redelivery within it never runs "
        "twice. Keep it at least as long as your sources' longest redelivery window.",
    )
    history_days: float = Field(
        default=7.0,
        ge=0.1,
        description="The durable engine's step checkpoints are kept this long; 'runs replay --from-step' "
        "needs them.",
    )

    @model_validator(mode="after")
    def _history_within_dedupe(self) -> RetentionConfig:
        if self.history_days > self.dedupe_days:
            raise ValueError(
                "history_days must not exceed dedupe_days: a redelivery after the run record is gone but "
                "the engine still holds the run would be accepted and never run"
            )
        return self


class ComponentSpec(BaseModel):
    """A named provider or target: ``type`` picks the component, the other keys are its options."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="Registered component name, e.g. 'local', 'openai', 'jira'.")
    breaker: BreakerConfig = Field(
        default_factory=BreakerConfig, description="Circuit breaker (on by default): see docs/durability.md."
    )
    limits: SharedLimitsConfig | None = Field(
        default=None,
        description="Rate and concurrency limits shared by every process: see docs/durability.md.",
    )

    def options(self) -> dict[str, Any]:
        """The component's own options (everything but ``type``, ``breaker`` and ``limits``)."""
        return dict(self.model_extra or {})


class TriggerConfig(BaseModel):
    """Which source's webhooks start this integration, and which of their events."""

    model_config = ConfigDict(extra="allow")

    source: str = Field(description="Registered source name, e.g. 'jira'.")
    events: list[str] = Field(
        default_factory=list,
        description="Event types that start a run, e.g. ['jira:issue_created']. Empty: every event.",
    )

    def options(self) -> dict[str, Any]:
        """The source's own options (everything but ``source`` and ``events``)."""
        return dict(self.model_extra or {})


class IntegrationConfig(Strict):
    """An integration: a trigger, ordered steps, and (inside the ``write`` step) a target."""

    description: str = Field(default="", description="What this integration does, for people.")
    enabled: bool = Field(default=True, description="When false, deliveries are acknowledged and ignored.")
    rollout: RolloutConfig = Field(
        default_factory=RolloutConfig,
        description="Rollout flag: off, shadow, percent or on (see docs/operations.md).",
    )
    trigger: TriggerConfig = Field(description="Which source's webhooks start a run, and which events.")
    steps: list[dict[str, dict[str, Any] | None]] = Field(
        description="Ordered steps; each item is a one-key mapping '{step: options}'.", min_length=1
    )


class ProjectConfig(Strict):
    """A whole project: ``patchbay.yaml`` merged with ``environments/{env}.yaml``."""

    project: str = Field(default="patchbay", description="Project name; used in ids and logs.")
    storage: StorageConfig = Field(
        default_factory=StorageConfig, description="Databases of runs and records."
    )
    secrets: SecretsConfig = Field(default_factory=SecretsConfig, description="How ${secret:NAME} resolves.")
    server: ServerConfig = Field(
        default_factory=ServerConfig, description="The `patchbay serve` HTTP server."
    )
    runtime: RuntimeConfig = Field(default_factory=RuntimeConfig, description="This process's identity.")
    auth: AuthConfig = Field(
        default_factory=AuthConfig,
        description="How callers of the APIs authenticate (OIDC); see docs/security.md.",
    )
    limits: LimitsConfig = Field(
        default_factory=LimitsConfig, description="Inbound rate limits (429 with Retry-After)."
    )
    egress: EgressPolicy | None = Field(
        default=None,
        description="SSRF guard for outbound requests. null: https and public addresses only, except in "
        "dev, where http and loopback are allowed too.",
    )
    flags: FlagsConfig = Field(default_factory=FlagsConfig, description="Where rollout overrides come from.")
    observability: ObservabilityConfig = Field(
        default_factory=ObservabilityConfig, description="Tracing export and alert rules."
    )
    pricing: PricingConfig = Field(
        default_factory=PricingConfig, description="Token prices, for cost per run."
    )
    retention: RetentionConfig = Field(
        default_factory=RetentionConfig, description="How long history is kept."
    )
    providers: dict[str, ComponentSpec] = Field(
        default_factory=dict, description="Model providers by name: '{name: {type: ..., options...}}'."
    )
    targets: dict[str, ComponentSpec] = Field(
        default_factory=dict, description="Write-back targets by name: '{name: {type: ..., options...}}'."
    )
    integrations: dict[str, IntegrationConfig] = Field(
        default_factory=dict, description="Integrations by name: a trigger and ordered steps."
    )
