"""The ``rollout:`` key of an integration, and the project-level ``flags:`` source."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Mode = Literal["off", "shadow", "percent", "on"]


class RolloutConfig(BaseModel):
    """How much of an integration's traffic runs, and whether its results are written."""

    model_config = ConfigDict(extra="forbid")

    mode: Mode = Field(
        default="on",
        description="off: nothing runs; shadow: everything runs and is recorded, nothing is written; "
        "percent: 'percent' of keys run and write; on: everything runs and writes.",
    )
    percent: float = Field(
        default=0.0, ge=0, le=100, description="With mode percent: the share of keys that run."
    )
    rest: Literal["off", "shadow"] = Field(
        default="off", description="With mode percent: what the other keys get (skip, or run in shadow)."
    )
    sticky_key: str = Field(
        default="issue.key",
        description="Dotted path into the event whose value decides the bucket, so the same ticket (or "
        "project, or reporter: e.g. issue.fields.project.key) always gets the same answer.",
    )
    allow: list[str] = Field(default_factory=list, description="Sticky-key values that always run and write.")
    deny: list[str] = Field(default_factory=list, description="Sticky-key values that never run.")

    @model_validator(mode="after")
    def _percent_needs_a_share(self) -> RolloutConfig:
        if self.mode == "percent" and self.percent == 0:
            raise ValueError("mode percent needs percent > 0 (e.g. percent: 10); or use mode off")
        return self


class FlagsConfig(BaseModel):
    """Where flag overrides come from, beside the YAML (project level ``flags:``)."""

    model_config = ConfigDict(extra="forbid")

    source: Literal["database", "openfeature"] = Field(
        default="database",
        description="database: overrides set with 'patchbay flags set' / the admin API / the console. "
        "openfeature: also ask the OpenFeature client for 'patchbay.<integration>.mode' and '.percent' "
        "(your flag service's provider must be registered with openfeature.api.set_provider).",
    )
    cache_s: float = Field(
        default=2.0, ge=0, le=60, description="How long a process reuses an override: the kill-switch delay."
    )
