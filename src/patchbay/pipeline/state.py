"""The run state: everything one run knows, each step's output in its own slot.

A run keeps the original event, the selected fields, the sanitized view, the rendered prompt, the
model's answer and the final output side by side; no step overwrites another step's data. The state
is a pydantic model so the durable runner can checkpoint it after every step as JSON.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Attempt(BaseModel):
    """One try at one provider: how it ended and how long it took."""

    provider: str
    outcome: Literal["ok", "error", "timeout", "rejected_output"]
    elapsed_ms: float
    error: str | None = None
    status_code: int | None = None


class ModelAnswer(BaseModel):
    """What the model step got back, with the accounting a run record needs."""

    text: str
    provider: str = Field(description="Name of the provider (from config) that produced the text.")
    model: str = Field(default="", description="The model id that provider reported or was configured with.")
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    fallback: bool = Field(
        default=False,
        description="True when the text came from a fallback provider or is the safe fallback message.",
    )
    safe_fallback: bool = Field(
        default=False, description="True when the text is the configured safe fallback message."
    )
    quoted: bool = Field(
        default=False,
        description="True when the text quotes the input by design (the extractive summarizer): output "
        "checks then skip the copied-input and repetition tests.",
    )
    attempts: list[Attempt] = Field(default_factory=list)


class HttpRequestPlan(BaseModel):
    """An outbound HTTP request exactly as a target would send it (auth header masked)."""

    method: str
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    json_body: Any = None


class WriteOutcome(BaseModel):
    """What the write step did: the request, and whether it was sent, skipped or only planned."""

    target: str
    status: Literal["written", "already_written", "dry_run", "skipped"]
    requests: list[HttpRequestPlan] = Field(default_factory=list)
    detail: str = ""


class FlagDecision(BaseModel):
    """What the rollout flag decided for a run, and why (recorded with every run)."""

    run: bool
    write: bool
    mode: str
    percent: float = 0.0
    key: str = ""
    bucket: int = 0
    source: str = "config"
    reason: str = ""

    @property
    def outcome(self) -> str:
        """'on', 'shadow' or 'off': what happened to the run."""
        return "on" if self.write else ("shadow" if self.run else "off")


class RunState(BaseModel):
    """One run of one integration on one delivery."""

    run_id: str
    integration: str
    delivery_id: str
    environment: str = "dev"
    dry_run: bool = False
    event: dict[str, Any] = Field(description="The delivery's body exactly as received. Never modified.")
    selected: dict[str, Any] | None = Field(default=None, description="Output of `select`.")
    sanitized: dict[str, Any] | None = Field(default=None, description="Output of `sanitize`.")
    findings: dict[str, int] = Field(
        default_factory=dict, description="Count of sensitive values found, per entity type (never values)."
    )
    pseudonyms: str | None = Field(
        default=None,
        description="Output of `sanitize`: the pseudonym mapping (token -> value), encrypted with the vault "
        "key; read only by `postprocess` to restore tokens. Never shown or logged.",
    )
    output_findings: dict[str, int] = Field(
        default_factory=dict,
        description="Count of new sensitive values found in the model's answer, per entity type "
        "(never values).",
    )
    system_prompt: str | None = Field(default=None, description="Output of `prompt`: the system message.")
    prompt: str | None = Field(default=None, description="Output of `prompt`: the user message.")
    answer: ModelAnswer | None = Field(default=None, description="Output of `model`.")
    output: str | None = Field(default=None, description="Output of `postprocess`: the text to write.")
    write: WriteOutcome | None = Field(default=None, description="Output of `write`.")
    timings_ms: dict[str, float] = Field(default_factory=dict)
    flag: FlagDecision | None = Field(default=None, description="The rollout decision this run got.")

    def view(self) -> dict[str, Any]:
        """The data a step should read as 'the current payload': the latest of sanitized/selected/event."""
        if self.sanitized is not None:
            return self.sanitized
        if self.selected is not None:
            return self.selected
        return self.event
