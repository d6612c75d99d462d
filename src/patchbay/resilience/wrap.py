"""``Protected``: a provider or target behind its circuit breaker and shared limits.

Same interface as what it wraps; attributes it does not define (``timeout_s``, ``load``,
``extracts_from_input``...) are read from the wrapped component.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any

from patchbay.connectors.base import Target, WriteRequest
from patchbay.errors import ModelCircuitOpen, Retryable, TargetCircuitOpen
from patchbay.observability import tracing
from patchbay.pipeline.state import HttpRequestPlan, WriteOutcome
from patchbay.providers.base import ModelRequest, ModelResponse, Provider
from patchbay.resilience.breaker import CircuitBreaker
from patchbay.resilience.limits import SharedLimiter


class _Protected:
    def __init__(self, inner: Any, breaker: CircuitBreaker | None, limiter: SharedLimiter | None) -> None:
        self.inner = inner
        self.name: str = inner.name
        self.breaker = breaker
        self.limiter = limiter

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.inner, attr)

    def _slot(self) -> AbstractAsyncContextManager[Any]:
        return self.limiter.slot() if self.limiter is not None else nullcontext()

    def _record(self, exc: BaseException | None) -> None:
        if self.breaker is None:
            return
        if exc is None:
            self.breaker.record(True)
        elif isinstance(exc, Retryable):
            self.breaker.record(False)
        else:
            self.breaker.release_trial()


class ProtectedProvider(_Protected):
    """A provider that fails fast while its circuit is open and waits for a shared slot."""

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Call the provider unless its circuit is open."""
        if self.breaker is not None and not self.breaker.allow():
            raise ModelCircuitOpen(
                f"provider {self.name!r}: circuit open after repeated failures; next trial in "
                f"{self.breaker.remaining_s():.0f} s",
                retry_after=self.breaker.remaining_s(),
            )
        try:
            with tracing.span("model.call", **{"patchbay.provider": self.name}) as current:
                async with self._slot():
                    response: ModelResponse = await self.inner.complete(request)
                current.set_attribute("gen_ai.usage.input_tokens", response.tokens_in)
                current.set_attribute("gen_ai.usage.output_tokens", response.tokens_out)
                current.set_attribute("gen_ai.response.model", response.model)
        except BaseException as exc:
            self._record(exc)
            raise
        self._record(None)
        return response

    async def aclose(self) -> None:
        """Close the wrapped provider."""
        await self.inner.aclose()


class ProtectedTarget(_Protected):
    """A target that waits out an open circuit (a retryable error) and a shared slot."""

    def plan(self, request: WriteRequest) -> list[HttpRequestPlan]:
        """The wrapped target's plan."""
        plans: list[HttpRequestPlan] = self.inner.plan(request)
        return plans

    async def write(self, request: WriteRequest) -> WriteOutcome:
        """Write unless the circuit is open (then: retry after the cool-down)."""
        if self.breaker is not None and not self.breaker.allow():
            remaining = self.breaker.remaining_s()
            raise TargetCircuitOpen(
                f"target {self.name!r}: circuit open after repeated failures; next trial in "
                f"{remaining:.0f} s",
                retry_after=max(remaining, 1.0),
            )
        try:
            with tracing.span("target.write", **{"patchbay.target": self.name}) as current:
                async with self._slot():
                    outcome: WriteOutcome = await self.inner.write(request)
                current.set_attribute("patchbay.write_status", outcome.status)
        except BaseException as exc:
            self._record(exc)
            raise
        self._record(None)
        return outcome

    async def aclose(self) -> None:
        """Close the wrapped target."""
        await self.inner.aclose()


def protect_provider(
    inner: Provider, breaker: CircuitBreaker | None, limiter: SharedLimiter | None
) -> Provider:
    """``inner`` behind its breaker and limits, and traced (every call is a ``model.call`` span)."""
    return ProtectedProvider(inner, breaker, limiter)  # type: ignore[return-value]


def protect_target(inner: Target, breaker: CircuitBreaker | None, limiter: SharedLimiter | None) -> Target:
    """``inner`` behind its breaker and limits, and traced (every write is a ``target.write`` span)."""
    return ProtectedTarget(inner, breaker, limiter)  # type: ignore[return-value]
