"""Step ``write``: hand the final text to a target, once per delivery.

The idempotency key is derived from (integration, delivery id), so a retried or replayed run asks
the target for the same write again and the target answers ``already_written`` instead of writing
twice. When the model fell back to the safe message, nothing is written unless ``on_fallback: write``.
In a dry run the target only plans its requests.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from patchbay.connectors.base import WriteRequest
from patchbay.errors import StepError
from patchbay.paths import check_path
from patchbay.pipeline.state import RunState, WriteOutcome
from patchbay.pipeline.step import Resources
from patchbay.registry import BuildContext


class Config(BaseModel):
    """Options of the ``write`` step."""

    model_config = ConfigDict(extra="forbid")

    target: str = Field(description="Name of a target defined under 'targets:'.")
    record: str = Field(
        default="issue.key", description="Dotted path in the event to the record's key, e.g. 'issue.key'."
    )
    field: str | None = Field(default=None, description="Field to write, e.g. 'customfield_10050'.")
    format: Literal["text", "rich"] = Field(
        default="text", description="'text': plain single-line string; 'rich': rich text (ADF on Jira Cloud)."
    )
    on_fallback: Literal["skip", "write"] = Field(
        default="skip", description="What to do when the model answered with the safe fallback message."
    )

    @field_validator("record")
    @classmethod
    def _check_record(cls, value: str) -> str:
        return check_path(value)

    def refs(self) -> list[tuple[str, str, str]]:
        """The target this step names, checked when the project loads."""
        return [("target", "target", self.target)]


def idempotency_key(integration: str, delivery_id: str) -> str:
    """The key a target dedupes on: stable for one delivery of one integration."""
    digest = hashlib.sha256(f"{integration}\n{delivery_id}".encode()).hexdigest()
    return "pb1-" + digest[:32]


class WriteStep:
    """Writes ``state.output`` through the configured target and records what happened."""

    name = "write"

    def __init__(self, config: Config) -> None:
        self.config = config

    async def run(self, state: RunState, resources: Resources) -> RunState:
        """Fill ``state.write`` with the target's outcome (written, already_written, dry_run or skipped)."""
        cfg = self.config
        if state.output is None:
            raise StepError("the write step needs a postprocess (or model) step before it")
        target = resources.targets.get(cfg.target)
        if target is None:
            known = ", ".join(sorted(resources.targets)) or "none"
            raise StepError(
                f"the write step names target {cfg.target!r}, which was not built (known: {known})"
            )
        if state.answer is not None and state.answer.safe_fallback and cfg.on_fallback == "skip":
            outcome = WriteOutcome(
                target=cfg.target,
                status="skipped",
                detail="the model fell back to the safe message; nothing written",
            )
            return state.model_copy(update={"write": outcome})
        request = WriteRequest(
            integration=state.integration,
            delivery_id=state.delivery_id,
            idempotency_key=idempotency_key(state.integration, state.delivery_id),
            event=state.event,
            text=state.output,
            record_path=cfg.record,
            field=cfg.field,
            field_format=cfg.format,
        )
        if state.dry_run:
            outcome = WriteOutcome(
                target=cfg.target,
                status="dry_run",
                requests=target.plan(request),
                detail="dry run: these requests were planned, nothing was sent",
            )
        else:
            outcome = await target.write(request)
        return state.model_copy(update={"write": outcome})


def build(config: Config, ctx: BuildContext) -> WriteStep:
    """Construct the step."""
    return WriteStep(config)
