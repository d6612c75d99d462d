"""Test doubles: the ``function`` provider (scripted answers, injected faults) and ``FunctionProvider``.

In a project file, ``function`` stands in for a real model in dry runs and pipeline tests::

    providers:
      fake:
        type: function
        responses: ["The customer cannot log in since the last release. Support should reset SSO."]
        fail_first: 2          # the first two calls fail with 503 (retryable)
        retry_after: 1

In Python tests, ``FunctionProvider(fn)`` turns any function of a :class:`ModelRequest` into a provider
and records the requests it saw in ``calls``.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeAlias

from pydantic import BaseModel, ConfigDict, Field

from patchbay.providers import _wire
from patchbay.providers.base import ModelRequest, ModelResponse
from patchbay.registry import BuildContext

DEFAULT_RESPONSE = (
    "The customer reports a problem that blocks their work. Support should confirm the details and reply."
)

Answer: TypeAlias = str | ModelResponse
AnswerFn: TypeAlias = Callable[[ModelRequest], Answer | Awaitable[Answer]]


class Config(BaseModel):
    """Options of the scripted ``function`` provider."""

    model_config = ConfigDict(extra="forbid")

    responses: list[str] = Field(
        default_factory=lambda: [DEFAULT_RESPONSE],
        min_length=1,
        description="Scripted answers, returned in order and cycled.",
    )
    fail_first: int = Field(default=0, ge=0, description="The first N calls fail with fail_status.")
    fail_status: int = Field(
        default=503, ge=400, le=599, description="HTTP-like status of injected failures (429/5xx retryable)."
    )
    retry_after: float | None = Field(
        default=None, ge=0, description="Retry-After seconds carried by injected failures."
    )
    delay_s: float = Field(default=0.0, ge=0, description="Seconds each call waits before answering.")


def _tokens(text: str) -> int:
    return len(text.split())


class FunctionProvider:
    """A provider backed by a plain (sync or async) function; records every request in ``calls``."""

    def __init__(self, fn: AnswerFn, *, name: str = "function", model: str = "function") -> None:
        self.name = name
        self.model = model
        self.timeout_s = 10.0
        self.calls: list[ModelRequest] = []
        self._fn = fn

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Call the function and wrap a plain string into a :class:`ModelResponse`."""
        self.calls.append(request)
        result = self._fn(request)
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, ModelResponse):
            return result.model_copy(update={"provider": result.provider or self.name})
        return ModelResponse(
            text=result,
            model=self.model,
            provider=self.name,
            tokens_in=_tokens(request.prompt),
            tokens_out=_tokens(result),
            finish_reason="stop",
        )

    async def aclose(self) -> None:
        """Nothing to release."""


class ScriptedProvider(FunctionProvider):
    """The ``function`` provider: cycles through scripted answers after ``fail_first`` failures."""

    def __init__(self, config: Config, *, name: str) -> None:
        super().__init__(self._answer, name=name)
        self.config = config
        self._served = 0

    async def _answer(self, request: ModelRequest) -> str:
        if self.config.delay_s:
            await asyncio.sleep(self.config.delay_s)
        call = len(self.calls)
        if call <= self.config.fail_first:
            raise _wire.error_for_status(
                self.config.fail_status,
                where=f"provider {self.name!r} (function)",
                detail=f"injected failure {call} of {self.config.fail_first}",
                retry_after_s=self.config.retry_after,
            )
        text = self.config.responses[self._served % len(self.config.responses)]
        self._served += 1
        return text


def build(config: Config, ctx: BuildContext) -> ScriptedProvider:
    """Construct the scripted provider."""
    return ScriptedProvider(config, name=ctx.name)
