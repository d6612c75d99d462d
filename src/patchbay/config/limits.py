"""The ``limits:`` section: request rate limits applied by intake before any work is done."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RateLimit(BaseModel):
    """A token bucket: ``per_second`` sustained, ``burst`` at once."""

    model_config = ConfigDict(extra="forbid")

    per_second: float = Field(gt=0, le=100_000, description="Sustained requests per second.")
    burst: int = Field(ge=1, le=1_000_000, description="Requests allowed at once before the rate applies.")


class LimitsConfig(BaseModel):
    """Rate limits on inbound requests; over a limit, intake answers 429 with ``Retry-After``."""

    model_config = ConfigDict(extra="forbid")

    per_integration: RateLimit | None = Field(
        default_factory=lambda: RateLimit(per_second=100, burst=500),
        description="Per integration (per webhook source), across all callers. null: no limit.",
    )
    per_client: RateLimit | None = Field(
        default_factory=lambda: RateLimit(per_second=50, burst=250),
        description="Per caller: its API key when it presents one, else its address (the socket's, or "
        "X-Forwarded-For from a trusted proxy). null: no limit.",
    )
    integrations: dict[str, RateLimit] = Field(
        default_factory=dict, description="Per-integration overrides of 'per_integration', by name."
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="CIDRs of reverse proxies whose X-Forwarded-For is believed, e.g. ['10.0.0.0/8']. "
        "Empty: the socket address is the client.",
    )
