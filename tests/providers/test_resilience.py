"""Timeout, retry, guard and fallback wrappers: what a run sees when a provider misbehaves."""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from patchbay.errors import ModelOutputError, ModelRejected, ModelTimeout, ModelUnavailable
from patchbay.providers.base import ModelRequest, ModelResponse
from patchbay.providers.resilience import (
    SAFE_FALLBACK,
    FallbackChain,
    Guarded,
    RetryPolicy,
    WithRetry,
    WithTimeout,
    record_attempts,
)
from patchbay.providers.testing import FunctionProvider

PROMPT = (
    "Summarize this ticket in two sentences.\n"
    "Title: Checkout times out for EU customers\n"
    "Description: Since the 2.14.1 deploy every checkout from the EU region times out after 30 seconds. "
    "Retrying does not help and the payment provider shows no incoming request."
)
GOOD = "EU checkouts time out since the 2.14.1 deploy. The payment provider never sees the request."
REQUEST = ModelRequest(prompt=PROMPT)


class Sleeps:
    """A fake ``sleep`` that records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def failing(*errors: Exception, then: str = GOOD, name: str = "p") -> FunctionProvider:
    """A provider that raises ``errors`` in turn, then answers ``then``."""
    queue = list(errors)

    def answer(request: ModelRequest) -> str:
        if queue:
            raise queue.pop(0)
        return then

    return FunctionProvider(answer, name=name)


def policy(sleeps: Sleeps, **kwargs: object) -> RetryPolicy:
    return RetryPolicy(sleep=sleeps, jitter=False, **kwargs)  # type: ignore[arg-type]


async def test_retry_waits_exactly_the_retry_after_the_server_asked_for() -> None:
    sleeps = Sleeps()
    provider = failing(ModelUnavailable("429", status_code=429, retry_after=2.5))
    with record_attempts() as log:
        response = await WithRetry(provider, policy(sleeps)).complete(REQUEST)
    assert response.text == GOOD
    assert sleeps.delays == [2.5]
    assert [(a.outcome, a.status_code) for a in log.attempts] == [("error", 429), ("ok", None)]


async def test_retry_stops_at_the_attempt_cap_and_reraises() -> None:
    sleeps = Sleeps()
    provider = failing(*(ModelUnavailable("503", status_code=503) for _ in range(10)))
    with pytest.raises(ModelUnavailable):
        await WithRetry(provider, policy(sleeps, attempts=3)).complete(REQUEST)
    assert len(provider.calls) == 3
    assert sleeps.delays == [0.5, 1.0]


async def test_a_permanent_error_is_never_retried() -> None:
    sleeps = Sleeps()
    provider = failing(ModelRejected("400 bad request", status_code=400))
    with pytest.raises(ModelRejected):
        await WithRetry(provider, policy(sleeps)).complete(REQUEST)
    assert len(provider.calls) == 1
    assert sleeps.delays == []


async def test_retry_gives_up_at_once_when_retry_after_exceeds_the_cap() -> None:
    sleeps = Sleeps()
    provider = failing(ModelUnavailable("429", status_code=429, retry_after=120))
    with pytest.raises(ModelUnavailable) as caught:
        await WithRetry(provider, policy(sleeps, max_retry_after_s=60)).complete(REQUEST)
    assert caught.value.retry_after == 120
    assert len(provider.calls) == 1
    assert sleeps.delays == []


def test_backoff_doubles_up_to_max_and_full_jitter_stays_below_the_cap() -> None:
    fixed = RetryPolicy(initial_s=1.0, max_s=3.0, jitter=False)
    assert [fixed.delay(n, None) for n in range(1, 6)] == [1.0, 2.0, 3.0, 3.0, 3.0]
    jittered = RetryPolicy(initial_s=1.0, max_s=3.0, rand=lambda: 0.25)
    assert [jittered.delay(n, None) for n in range(1, 4)] == [0.25, 0.5, 0.75]
    # Retry-After is a floor, not a replacement for backoff.
    assert fixed.delay(3, 0.1) == 3.0


async def test_timeout_turns_a_slow_attempt_into_a_retryable_model_timeout() -> None:
    async def slow(request: ModelRequest) -> str:
        await asyncio.sleep(5)
        return GOOD

    sleeps = Sleeps()
    provider = FunctionProvider(slow, name="slow")
    with record_attempts() as log, pytest.raises(ModelTimeout, match=r"within 0\.05s"):
        await WithRetry(WithTimeout(provider, 0.05), policy(sleeps, attempts=2)).complete(REQUEST)
    assert [a.outcome for a in log.attempts] == ["timeout", "timeout"]
    assert all(a.elapsed_ms < 1000 for a in log.attempts)


@pytest.mark.parametrize(
    ("text", "finish_reason"),
    [
        ("", "stop"),
        ("   \n", "stop"),
        ("<EMAIL_1> <PERSON_2>", "stop"),
        (PROMPT, "stop"),
        ("the checkout is broken again " * 12, "stop"),
        ("EU checkouts time out since the 2.14.1 deploy and the payment provider never", "length"),
    ],
    ids=["empty", "whitespace", "placeholders", "copy-of-prompt", "looping", "cut-off"],
)
async def test_guard_rejects_unusable_answers(text: str, finish_reason: str) -> None:
    provider = FunctionProvider(lambda r: ModelResponse(text=text, finish_reason=finish_reason), name="p")
    with record_attempts() as log, pytest.raises(ModelOutputError, match="unusable answer"):
        await Guarded(WithRetry(provider, RetryPolicy(sleep=Sleeps()))).complete(REQUEST)
    assert [a.outcome for a in log.attempts] == ["rejected_output"]
    assert log.attempts[0].error is not None and log.attempts[0].error.startswith("model_output_invalid")


async def test_guard_accepts_a_complete_sentence_even_when_max_tokens_was_reached() -> None:
    provider = FunctionProvider(lambda r: ModelResponse(text=GOOD, finish_reason="length"))
    assert (await Guarded(provider).complete(REQUEST)).text == GOOD


async def test_guard_allows_quotes_for_extractive_providers() -> None:
    quote = PROMPT.split("Description: ", 1)[1]
    provider = FunctionProvider(lambda r: quote)
    with pytest.raises(ModelOutputError):
        await Guarded(provider).complete(REQUEST)
    assert (await Guarded(provider, allow_copy=True).complete(REQUEST)).text == quote


async def test_fallback_chain_moves_on_when_the_first_provider_fails() -> None:
    first = failing(ModelRejected("401", status_code=401), name="first")
    second = FunctionProvider(lambda r: "Second provider answer is here.", name="second")
    with capture_logs() as logs:
        result = await FallbackChain([first, second], fallback_message="sorry").answer(REQUEST)
    assert result.response.text == "Second provider answer is here."
    assert result.response.provider == "second"
    assert result.position == 1 and not result.safe_fallback
    assert [e.code for e in result.errors] == ["model_rejected"]
    used = [entry for entry in logs if entry["event"] == "model.fallback_used"]
    assert used and used[0]["provider"] == "second" and used[0]["failed"] == ["first"]


async def test_fallback_chain_ends_in_the_safe_message_and_never_raises() -> None:
    down = failing(*(ModelUnavailable("503", status_code=503) for _ in range(5)), name="down")
    empty = Guarded(FunctionProvider(lambda r: "", name="empty"))
    result = await FallbackChain([down, empty], fallback_message="Summary unavailable.").answer(REQUEST)
    assert result.safe_fallback
    assert result.response.text == "Summary unavailable."
    assert result.response.provider == SAFE_FALLBACK
    assert [e.code for e in result.errors] == ["model_unavailable", "model_output_invalid"]


async def test_logs_name_the_failure_but_never_carry_ticket_text() -> None:
    provider = failing(ModelUnavailable("503", status_code=503), name="llm")
    wrapped = Guarded(WithRetry(provider, policy(Sleeps())))
    with capture_logs() as logs:
        chain = FallbackChain([wrapped, FunctionProvider(lambda r: "", name="empty")], fallback_message="x")
        await chain.answer(REQUEST)
    events = [entry["event"] for entry in logs]
    assert "model.attempt_failed" in events
    failed = next(entry for entry in logs if entry["event"] == "model.attempt_failed")
    assert failed["provider"] == "llm" and failed["status_code"] == 503 and failed["retry_in_s"] == 0.5
    assert all("checkout" not in repr(entry).lower() for entry in logs)
