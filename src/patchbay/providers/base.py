"""The interface every model provider and every resilience wrapper implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel, Field


class ModelRequest(BaseModel):
    """One completion request, independent of any wire format."""

    prompt: str = Field(description="The user message: the rendered prompt.")
    system: str | None = Field(default=None, description="Optional system message.")
    max_tokens: int = Field(default=256, ge=1, le=8192)
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    stop: list[str] = Field(default_factory=list)


class ModelResponse(BaseModel):
    """One completion, with token accounting when the provider reports it."""

    text: str
    model: str = ""
    provider: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    finish_reason: str | None = Field(
        default=None, description="'stop', 'length' (cut off by max_tokens), or provider specific."
    )


@runtime_checkable
class Provider(Protocol):
    """Anything that turns a :class:`ModelRequest` into a :class:`ModelResponse`.

    Implementations raise ``ModelTimeout``/``ModelUnavailable`` (retryable) or ``ModelRejected``/
    ``ModelOutputError`` (permanent) from :mod:`patchbay.errors`. Wrappers (timeout, retry,
    fallback) implement this same protocol around another provider.
    """

    name: str

    async def complete(self, request: ModelRequest) -> ModelResponse: ...

    async def aclose(self) -> None: ...
