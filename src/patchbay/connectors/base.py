"""What a source (inbound webhook parser/verifier) and a target (write-back) look like."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from patchbay.pipeline.state import HttpRequestPlan, WriteOutcome


class Delivery(BaseModel):
    """A verified, parsed webhook delivery."""

    event_type: str = Field(description="The source's event name, e.g. 'jira:issue_created'.")
    delivery_id: str = Field(description="The provider's delivery id, or a hash of the body when absent.")
    event: dict[str, Any]


@runtime_checkable
class Source(Protocol):
    """Parses and verifies one system's webhooks. Raises ``RequestError`` (401/400) on bad input."""

    name: str

    def verify(self, headers: Mapping[str, str], body: bytes) -> None: ...

    def parse(self, headers: Mapping[str, str], body: bytes) -> Delivery: ...


class WriteRequest(BaseModel):
    """What the write step asks a target to do."""

    integration: str
    delivery_id: str
    idempotency_key: str = Field(description="Stable for (integration, delivery): a retry reuses it.")
    event: dict[str, Any] = Field(description="The original event, for the target to find its record.")
    text: str = Field(description="The final, post-processed text to write.")
    record_path: str = Field(description="Dotted path into the event to the record's key, e.g. 'issue.key'.")
    field: str | None = Field(default=None, description="Target field, e.g. 'customfield_10050'.")
    field_format: Literal["text", "rich"] = Field(
        default="text", description="'text': a plain single-line string; 'rich': rich text (ADF on Jira v3)."
    )


@runtime_checkable
class Target(Protocol):
    """Writes a result back into a system, idempotently."""

    name: str

    def plan(self, request: WriteRequest) -> list[HttpRequestPlan]:
        """The exact requests ``write`` would send (secrets masked), for dry runs and tests."""
        ...

    async def write(self, request: WriteRequest) -> WriteOutcome:
        """Send the write unless it already happened (same idempotency key)."""
        ...

    async def aclose(self) -> None: ...
