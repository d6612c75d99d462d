"""The ``observability.alerts`` section: rules evaluated in-process, and where alerts go."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

RuleKind = Literal["latency_p95", "error_rate", "fallback_rate", "abnormal_output"]


class AlertRule(BaseModel):
    """One rule over a sliding window of finished runs."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Shown in the alert, and used to de-duplicate it.")
    kind: RuleKind = Field(
        description="latency_p95: p95 run seconds over threshold; error_rate / fallback_rate / "
        "abnormal_output: share of runs (0-1) failed / answered by a fallback / with an abnormal output."
    )
    threshold: float = Field(
        gt=0, description="Seconds for latency_p95; a share between 0 and 1 for the rates."
    )
    integration: str | None = Field(default=None, description="Only this integration (default: each one).")
    window_s: float = Field(default=300.0, gt=0, description="Sliding window, in seconds.")
    min_runs: int = Field(default=10, ge=1, description="Fewer runs in the window: no verdict.")
    cooldown_s: float = Field(
        default=600.0, ge=0, description="After it resolves, no new alert for this long."
    )

    @model_validator(mode="after")
    def _share(self) -> AlertRule:
        if self.kind != "latency_p95" and self.threshold > 1:
            raise ValueError(f"{self.kind} threshold is a share between 0 and 1 (e.g. 0.2 for 20%)")
        return self


class AlertChannel(BaseModel):
    """Where alerts go: the log, a generic webhook (JSON POST) or a Slack incoming webhook."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["log", "webhook", "slack"] = Field(description="log, webhook or slack.")
    url: SecretStr | None = Field(
        default=None, description="The webhook / Slack incoming-webhook URL (a secret)."
    )

    @model_validator(mode="after")
    def _needs_url(self) -> AlertChannel:
        if self.type != "log" and self.url is None:
            raise ValueError(f"a {self.type} channel needs url: ${{secret:...}}")
        return self


class OutputChecks(BaseModel):
    """What makes an output abnormal (counted per run, alerted by the abnormal_output rule)."""

    model_config = ConfigDict(extra="forbid")

    max_chars: int = Field(default=1200, ge=1, description="Longer outputs are abnormal.")
    language: Literal["en", "any"] = Field(
        default="en", description="'en': an output with no English is abnormal."
    )


class AlertsConfig(BaseModel):
    """Alert rules and channels; the defaults alert to the log."""

    model_config = ConfigDict(extra="forbid")

    rules: list[AlertRule] = Field(
        default_factory=lambda: [
            AlertRule(name="slow summaries", kind="latency_p95", threshold=30.0),
            AlertRule(name="failing runs", kind="error_rate", threshold=0.2),
            AlertRule(name="fallbacks", kind="fallback_rate", threshold=0.3),
            AlertRule(name="abnormal outputs", kind="abnormal_output", threshold=0.1),
        ],
        description="Rules evaluated after every finished run.",
    )
    channels: list[AlertChannel] = Field(
        default_factory=lambda: [AlertChannel(type="log")], description="Where fired/resolved alerts go."
    )
    output: OutputChecks = Field(default_factory=OutputChecks, description="Abnormal-output checks.")
