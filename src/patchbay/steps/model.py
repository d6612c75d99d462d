"""Step ``model``: ask the configured providers, in order, for an answer to the rendered prompt.

    - model:
        providers: [llm, local, extractive]   # fallback order
        max_tokens: 200
        retry: {attempts: 3}

Each provider is wrapped (innermost first) in a timeout, a retry policy and an output guard, and the
list becomes a fallback chain that ends in ``fallback_message``; see
:mod:`patchbay.providers.resilience`. The step fills ``state.answer`` and never raises for a model
failure: when every provider fails, the answer is the safe message, flagged ``safe_fallback``.
"""

from __future__ import annotations

import asyncio

import structlog
from pydantic import BaseModel, ConfigDict, Field

from patchbay.config.models import DEFAULT_FALLBACK_MESSAGE
from patchbay.errors import StepError
from patchbay.pipeline.state import ModelAnswer, RunState
from patchbay.pipeline.step import Resources
from patchbay.providers.base import ModelRequest, Provider
from patchbay.providers.resilience import (
    ChainResult,
    FallbackChain,
    Guarded,
    RetryPolicy,
    Sleep,
    WithRetry,
    WithTimeout,
    record_attempts,
)
from patchbay.registry import BuildContext
from patchbay.steps.held import held_variants, mask_held

log = structlog.get_logger(__name__)

DEFAULT_PROVIDER_TIMEOUT_S = 10.0


class RetryConfig(BaseModel):
    """How retryable failures (timeouts, 429, 5xx, connection errors) of one provider are repeated."""

    model_config = ConfigDict(extra="forbid")

    attempts: int = Field(default=3, ge=1, le=10, description="Tries per provider, the first one included.")
    initial_s: float = Field(
        default=0.5, ge=0, le=60, description="Backoff before the first retry (doubles)."
    )
    max_s: float = Field(default=8.0, ge=0, le=600, description="Longest backoff between two tries.")
    max_retry_after_s: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="A provider asking to wait longer than this (Retry-After) is given up on at once.",
    )


class Config(BaseModel):
    """Options of the ``model`` step."""

    model_config = ConfigDict(extra="forbid")

    providers: list[str] = Field(
        min_length=1, description="Names of providers (from 'providers:') to try, in fallback order."
    )
    max_tokens: int = Field(default=200, ge=1, le=8192, description="Longest answer, in tokens.")
    temperature: float = Field(default=0.2, ge=0.0, le=2.0, description="Sampling temperature.")
    timeout_s: float | None = Field(
        default=None,
        gt=0,
        description="Seconds one attempt may take; default: each provider's own timeout_s.",
    )
    retry: RetryConfig = Field(default_factory=RetryConfig, description="Retry policy, per provider.")
    guard: bool = Field(
        default=True,
        description="Reject empty, placeholder-only, copied, looping or cut-off answers; try the next one.",
    )
    fallback_message: str = Field(
        default=DEFAULT_FALLBACK_MESSAGE,
        min_length=1,
        description="What the answer says when every provider failed (flagged safe_fallback).",
    )

    def refs(self) -> list[tuple[str, str, str]]:
        """The providers this step names, checked against 'providers:' when the project loads."""
        return [("provider", "providers", name) for name in self.providers]


class ModelStep:
    """Turns ``state.prompt`` into ``state.answer`` through a fallback chain of guarded providers."""

    name = "model"

    def __init__(
        self, config: Config, *, sleep: Sleep = asyncio.sleep, held_secrets: frozenset[str] = frozenset()
    ) -> None:
        self.config = config
        self._sleep = sleep
        self._held = held_variants(held_secrets)

    def _policy(self) -> RetryPolicy:
        retry = self.config.retry
        return RetryPolicy(
            attempts=retry.attempts,
            initial_s=retry.initial_s,
            max_s=retry.max_s,
            max_retry_after_s=retry.max_retry_after_s,
            sleep=self._sleep,
        )

    def _wrap(self, provider: Provider, policy: RetryPolicy) -> Provider:
        seconds = self.config.timeout_s or float(getattr(provider, "timeout_s", DEFAULT_PROVIDER_TIMEOUT_S))
        wrapped: Provider = WithRetry(WithTimeout(provider, seconds), policy)
        if self.config.guard:
            wrapped = Guarded(wrapped, allow_copy=bool(getattr(provider, "extracts_from_input", False)))
        return wrapped

    def chain(self, resources: Resources) -> FallbackChain:
        """The fallback chain over this step's providers, as found in ``resources``."""
        missing = [name for name in self.config.providers if name not in resources.providers]
        if missing:
            known = ", ".join(sorted(resources.providers)) or "none"
            raise StepError(
                f"the model step names provider(s) {', '.join(map(repr, missing))} that were not built "
                f"(known: {known}); define them under 'providers:'"
            )
        policy = self._policy()
        wrapped = [self._wrap(resources.providers[name], policy) for name in self.config.providers]
        return FallbackChain(wrapped, fallback_message=self.config.fallback_message)

    def _quotes_input(self, result: ChainResult, resources: Resources) -> bool:
        """Whether the provider that answered quotes its input by design (``extracts_from_input``)."""
        if result.safe_fallback or result.position is None:
            return False
        provider = resources.providers.get(self.config.providers[result.position])
        return bool(getattr(provider, "extracts_from_input", False))

    async def run(self, state: RunState, resources: Resources) -> RunState:
        """Ask the chain and put its answer, with every attempt made, into ``state.answer``."""
        if state.prompt is None:
            raise StepError(
                "the model step needs a prompt step before it; add '- prompt: ...' above '- model:'"
            )
        request = ModelRequest(
            prompt=state.prompt,
            system=state.system_prompt,
            max_tokens=self.config.max_tokens,
            temperature=self.config.temperature,
        )
        chain = self.chain(resources)
        with record_attempts() as attempts:
            result = await chain.answer(request)
        response = result.response
        # Masked before the answer is checkpointed or recorded: a model told to repeat a credential
        # it somehow saw must not put it into the run record (postprocess masks again before writing).
        text, held = mask_held(response.text, self._held)
        if held:
            log.warning("model.held_secret_masked", count=held)
        answer = ModelAnswer(
            text=text,
            provider=response.provider,
            model=response.model,
            # Every answer received is paid for, rejected ones included: report what the call cost.
            tokens_in=attempts.tokens_in,
            tokens_out=attempts.tokens_out,
            cost_usd=round(attempts.cost_usd, 6),
            fallback=result.safe_fallback or bool(result.position),
            safe_fallback=result.safe_fallback,
            quoted=self._quotes_input(result, resources),
            attempts=attempts.attempts,
        )
        update: dict[str, object] = {"answer": answer}
        if held:
            findings = dict(state.output_findings)
            findings["held_secret"] = findings.get("held_secret", 0) + held
            update["output_findings"] = findings
        return state.model_copy(update=update)


def build(config: Config, ctx: BuildContext) -> ModelStep:
    """Construct the step (``ctx.extra["held_secrets"]``: the project's resolved secrets)."""
    held = frozenset(ctx.extra.get("held_secrets", ())) if ctx is not None else frozenset()
    return ModelStep(config, held_secrets=held)
