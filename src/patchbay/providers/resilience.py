"""Resilience wrappers: each one is a Provider around another Provider.

The ``model`` step composes, per configured provider, innermost first::

    FallbackChain([Guarded(WithRetry(WithTimeout(provider, s), policy)), ...], fallback_message=...)

* ``WithTimeout`` turns a slow attempt into ``ModelTimeout``;
* ``WithRetry`` repeats only ``Retryable`` errors, with exponential backoff and full jitter, waiting at
  least a server's ``Retry-After`` (and giving up at once when that is longer than the policy allows);
* ``Guarded`` rejects an abnormal answer (empty, placeholders only, a copy of the prompt, looping, cut
  off mid-sentence) with ``ModelOutputError`` so the chain moves on;
* ``FallbackChain`` tries each provider in order and ends in a safe, honest message.

Attempts are recorded into the :class:`AttemptLog` opened with :func:`record_attempts` (a contextvar,
so concurrent runs never mix their logs); ``WithRetry`` writes one entry per attempt.
"""

from __future__ import annotations

import asyncio
import contextvars
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import structlog

from patchbay.errors import ModelError, ModelOutputError, ModelTimeout, PatchbayError, Retryable
from patchbay.guards import answer_problem
from patchbay.pipeline.state import Attempt
from patchbay.providers.base import ModelRequest, ModelResponse, Provider

log = structlog.get_logger("patchbay.model")

SAFE_FALLBACK = "safe-fallback"
"""The provider name reported for the safe fallback message."""

Sleep = Callable[[float], Awaitable[None]]
Check = Callable[[ModelRequest, ModelResponse], str | None]


@dataclass
class AttemptLog:
    """Every attempt of one model call, in order."""

    attempts: list[Attempt] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0

    def add(self, attempt: Attempt, response: ModelResponse | None = None) -> None:
        """Append one attempt; an answer's tokens and cost count even if a guard rejects it later."""
        self.attempts.append(attempt)
        if response is not None:
            self.tokens_in += response.tokens_in
            self.tokens_out += response.tokens_out
            self.cost_usd += response.cost_usd

    def mark_rejected(self, provider: str, reason: str) -> None:
        """Turn the provider's last successful attempt into a rejected one (its answer failed a guard)."""
        for index in range(len(self.attempts) - 1, -1, -1):
            attempt = self.attempts[index]
            if attempt.provider == provider and attempt.outcome == "ok":
                self.attempts[index] = attempt.model_copy(
                    update={"outcome": "rejected_output", "error": f"{ModelOutputError.code}: {reason}"}
                )
                return
        self.add(
            Attempt(
                provider=provider,
                outcome="rejected_output",
                elapsed_ms=0.0,
                error=f"{ModelOutputError.code}: {reason}",
            )
        )


_current: contextvars.ContextVar[AttemptLog | None] = contextvars.ContextVar(
    "patchbay_attempts", default=None
)


@contextmanager
def record_attempts() -> Iterator[AttemptLog]:
    """Collect the attempts made inside the ``with`` block into a fresh :class:`AttemptLog`."""
    attempts = AttemptLog()
    token = _current.set(attempts)
    try:
        yield attempts
    finally:
        _current.reset(token)


def current_log() -> AttemptLog | None:
    """The log opened by the innermost :func:`record_attempts`, if any."""
    return _current.get()


Outcome = Literal["ok", "error", "timeout", "rejected_output"]


def _outcome(err: PatchbayError) -> Outcome:
    if isinstance(err, ModelTimeout):
        return "timeout"
    if isinstance(err, ModelOutputError):
        return "rejected_output"
    return "error"


class WithTimeout:
    """Fails an attempt with ``ModelTimeout`` after ``seconds``."""

    def __init__(self, inner: Provider, seconds: float) -> None:
        self.name = inner.name
        self.inner = inner
        self.seconds = seconds

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Run the inner provider, cancelled after ``seconds``."""
        try:
            async with asyncio.timeout(self.seconds):
                return await self.inner.complete(request)
        except TimeoutError:
            raise ModelTimeout(
                f"provider {self.name!r} did not answer within {self.seconds:g}s; "
                "raise the model step's timeout_s (or the provider's) if the model is just slow"
            ) from None

    async def aclose(self) -> None:
        """Close the inner provider."""
        await self.inner.aclose()


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to repeat a retryable failure.

    The n-th retry waits ``uniform(0, min(max_s, initial_s * 2**(n-1)))`` (full jitter) or, without
    jitter, the cap itself; a server's ``retry_after`` is a lower bound. Tests pass a recording
    ``sleep`` so they take no wall time.
    """

    attempts: int = 3
    initial_s: float = 0.5
    max_s: float = 8.0
    max_retry_after_s: float = 60.0
    jitter: bool = True
    sleep: Sleep = asyncio.sleep
    rand: Callable[[], float] = random.random

    def delay(self, retry: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        cap = min(self.max_s, self.initial_s * 2.0 ** (retry - 1))
        backoff = cap * self.rand() if self.jitter else cap
        return max(backoff, retry_after or 0.0)


class WithRetry:
    """Repeats ``Retryable`` failures of the inner provider under a :class:`RetryPolicy`."""

    def __init__(self, inner: Provider, policy: RetryPolicy | None = None) -> None:
        self.name = inner.name
        self.inner = inner
        self.policy = policy or RetryPolicy()

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Try up to ``policy.attempts`` times; the last error is re-raised."""
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                response = await self.inner.complete(request)
            except PatchbayError as err:
                elapsed = (time.perf_counter() - started) * 1000
                self._record(_outcome(err), elapsed, err, None)
                delay = self._retry_delay(attempt, err)
                log.warning(
                    "model.attempt_failed",
                    provider=self.name,
                    attempt=attempt,
                    code=err.code,
                    status_code=err.status_code,
                    elapsed_ms=round(elapsed, 1),
                    retry_in_s=delay,
                )
                if delay is None:
                    raise
                await self.policy.sleep(delay)
                continue
            self._record("ok", (time.perf_counter() - started) * 1000, None, response)
            return response

    def _retry_delay(self, attempt: int, err: PatchbayError) -> float | None:
        """Seconds until the next attempt, or None to give up now."""
        if not isinstance(err, Retryable) or attempt >= self.policy.attempts:
            return None
        if err.retry_after is not None and err.retry_after > self.policy.max_retry_after_s:
            log.warning(
                "model.retry_after_too_long",
                provider=self.name,
                retry_after_s=err.retry_after,
                max_retry_after_s=self.policy.max_retry_after_s,
            )
            return None
        return self.policy.delay(attempt, err.retry_after)

    def _record(
        self, outcome: Outcome, elapsed_ms: float, err: PatchbayError | None, response: ModelResponse | None
    ) -> None:
        attempts = current_log()
        if attempts is not None:
            attempt = Attempt(
                provider=self.name,
                outcome=outcome,
                elapsed_ms=round(elapsed_ms, 3),
                error=err.code if err else None,
                status_code=err.status_code if err else None,
            )
            attempts.add(attempt, response)

    async def aclose(self) -> None:
        """Close the inner provider."""
        await self.inner.aclose()


_SENTENCE_END = re.compile(r"""[.!?\u2026]["')\]\u201d\u2019]*$""")


def default_check(request: ModelRequest, response: ModelResponse, *, allow_copy: bool = False) -> str | None:
    """Why an answer is unusable (see :func:`patchbay.guards.answer_problem`), or None."""
    problem = answer_problem(response.text, source=request.prompt, quoted=allow_copy)
    if problem:
        return problem
    if response.finish_reason == "length" and not _SENTENCE_END.search(response.text.strip()):
        return "answer was cut off at max_tokens mid-sentence"
    return None


class Guarded:
    """Raises ``ModelOutputError`` when an answer fails its check, so a fallback chain moves on.

    ``allow_copy`` skips the copy-of-the-prompt check, for providers (like ``extractive``) whose
    answers are quotes of the input by design.
    """

    def __init__(self, inner: Provider, check: Check | None = None, *, allow_copy: bool = False) -> None:
        self.name = inner.name
        self.inner = inner
        self._check: Check = check or (lambda req, resp: default_check(req, resp, allow_copy=allow_copy))

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Return the inner answer when it passes the check."""
        response = await self.inner.complete(request)
        problem = self._check(request, response)
        if problem is None:
            return response
        log.warning(
            "model.output_rejected", provider=self.name, reason=problem, finish_reason=response.finish_reason
        )
        attempts = current_log()
        if attempts is not None:
            attempts.mark_rejected(self.name, problem)
        raise ModelOutputError(f"provider {self.name!r} gave an unusable answer: {problem}")

    async def aclose(self) -> None:
        """Close the inner provider."""
        await self.inner.aclose()


@dataclass(frozen=True)
class ChainResult:
    """What a fallback chain produced: the response, the position of the provider that gave it, the errors."""

    response: ModelResponse
    position: int | None
    errors: list[ModelError]

    @property
    def safe_fallback(self) -> bool:
        """True when every provider failed and the response is the safe fallback message."""
        return self.position is None


class FallbackChain:
    """Tries each provider in order on any ``ModelError``; ends in ``fallback_message``."""

    name = "fallback-chain"

    def __init__(self, providers: Sequence[Provider], *, fallback_message: str) -> None:
        if not providers:
            raise ValueError("a fallback chain needs at least one provider")
        self.providers = list(providers)
        self.fallback_message = fallback_message

    async def answer(self, request: ModelRequest) -> ChainResult:
        """The first usable answer, with where it came from; never raises ``ModelError``."""
        errors: list[ModelError] = []
        for position, provider in enumerate(self.providers):
            try:
                response = await provider.complete(request)
            except ModelError as err:
                errors.append(err)
                continue
            if position > 0:
                log.warning(
                    "model.fallback_used",
                    provider=provider.name,
                    position=position,
                    failed=[p.name for p in self.providers[:position]],
                )
            return ChainResult(response.model_copy(update={"provider": provider.name}), position, errors)
        log.error(
            "model.safe_fallback_used",
            providers=[p.name for p in self.providers],
            codes=[e.code for e in errors],
        )
        text = self.fallback_message
        return ChainResult(
            ModelResponse(text=text, provider=SAFE_FALLBACK, finish_reason="fallback"), None, errors
        )

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """The first usable answer, or the safe fallback message (see :meth:`answer`)."""
        return (await self.answer(request)).response

    async def aclose(self) -> None:
        """Close every provider in the chain."""
        for provider in self.providers:
            await provider.aclose()
