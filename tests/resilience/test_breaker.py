"""Circuit breakers: open on failures, fail fast, half-open after the cool-down, close on success."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from patchbay.errors import ModelCircuitOpen, ModelRejected, ModelUnavailable, TargetCircuitOpen
from patchbay.observability import metrics
from patchbay.providers.base import ModelRequest, ModelResponse
from patchbay.providers.testing import FunctionProvider
from patchbay.resilience.breaker import BreakerConfig, CircuitBreaker
from patchbay.resilience.wrap import ProtectedProvider, ProtectedTarget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock, **options: float) -> CircuitBreaker:
    return CircuitBreaker("p", "provider", BreakerConfig(**options), clock=clock)  # type: ignore[arg-type]


def state_metric(name: str = "p") -> float | None:
    return metrics.BREAKER_STATE.labels(kind="provider", name=name)._value.get()


def test_opens_after_consecutive_failures_and_recovers_after_cooldown() -> None:
    clock = Clock()
    b = breaker(clock, failures=3, cooldown_s=30)
    for _ in range(2):
        assert b.allow()
        b.record(False)
    assert b.state == "closed"
    b.record(False)
    assert b.state == "open" and not b.allow() and state_metric() == 2
    assert b.remaining_s() == pytest.approx(30)
    clock.now += 30
    assert b.state == "half_open" and b.allow()
    assert not b.allow()  # one trial at a time
    b.record(True)
    assert b.state == "closed" and b.allow() and state_metric() == 0


def test_a_failed_trial_opens_again() -> None:
    clock = Clock()
    b = breaker(clock, failures=1, cooldown_s=10)
    b.record(False)
    clock.now += 10
    assert b.allow()
    b.record(False)
    assert b.state == "open" and b.remaining_s() == pytest.approx(10)


def test_error_rate_over_the_window_opens_it() -> None:
    clock = Clock()
    b = breaker(clock, failures=100, error_rate=0.5, min_calls=4, window_s=60)
    for ok in (True, False, True, False):
        b.record(ok)
    assert b.state == "open"


def test_old_calls_leave_the_window() -> None:
    clock = Clock()
    b = breaker(clock, failures=100, error_rate=0.5, min_calls=4, window_s=60)
    for ok in (False, False, True):
        b.record(ok)
    clock.now += 61
    b.record(True)
    assert b.state == "closed"


def test_disabled_breaker_never_opens() -> None:
    b = breaker(Clock(), enabled=False, failures=1)  # type: ignore[arg-type]
    b.record(False)
    assert b.allow() and b.state == "closed"


async def test_provider_fails_fast_while_open_and_permanent_errors_do_not_count() -> None:
    clock = Clock()
    calls: list[str] = []

    def answer(request: ModelRequest) -> str:
        calls.append(request.prompt)
        if request.prompt == "bad":
            raise ModelRejected("bad request", status_code=400)
        raise ModelUnavailable("down", status_code=503)

    wrapped = ProtectedProvider(FunctionProvider(answer, name="p"), breaker(clock, failures=2), None)
    with pytest.raises(ModelRejected):
        await wrapped.complete(ModelRequest(prompt="bad"))
    assert wrapped.breaker is not None and wrapped.breaker.state == "closed"
    for _ in range(2):
        with pytest.raises(ModelUnavailable):
            await wrapped.complete(ModelRequest(prompt="x"))
    with pytest.raises(ModelCircuitOpen) as exc:
        await wrapped.complete(ModelRequest(prompt="x"))
    assert not exc.value.retryable  # the fallback chain moves on instead of retrying
    assert len(calls) == 3  # the open circuit did not call the provider


async def test_target_open_circuit_is_retryable_after_the_cooldown() -> None:
    class Failing:
        name = "jira"

        def plan(self, request: object) -> list[object]:
            return []

        async def write(self, request: object) -> object:
            raise ModelUnavailable("unused")

        async def aclose(self) -> None:
            return None

    clock = Clock()
    b = breaker(clock, failures=1, cooldown_s=20)
    b.record(False)
    target = ProtectedTarget(Failing(), b, None)
    with pytest.raises(TargetCircuitOpen) as exc:
        await target.write(object())  # type: ignore[arg-type]
    assert exc.value.retryable and exc.value.retry_after == pytest.approx(20)


async def test_successful_calls_pass_through() -> None:
    wrapped = ProtectedProvider(FunctionProvider(lambda r: "fine, thanks", name="p"), breaker(Clock()), None)
    response = await wrapped.complete(ModelRequest(prompt="hi"))
    assert isinstance(response, ModelResponse) and response.text == "fine, thanks"


@given(
    calls=st.lists(
        st.tuples(st.floats(min_value=0, max_value=20, allow_nan=False), st.booleans()), max_size=120
    )
)
@example(  # a failure that left the window long ago must not count any more
    calls=[(0, False), (1, True), (1, True), (40, True), (1, True), (1, False), (1, True), (1, True)]
)
@settings(max_examples=200, deadline=None)
def test_the_running_failure_count_decides_as_a_recount_of_the_window_would(
    calls: list[tuple[float, bool]],
) -> None:
    """The breaker keeps its window's failure count as calls come and go; a plain recount of the
    window after every call (what it did before) must reach the same state at every step."""
    clock = Clock()
    config = {"failures": 4, "error_rate": 0.4, "min_calls": 5, "window_s": 30.0, "cooldown_s": 25.0}
    b = breaker(clock, **config)
    window: list[tuple[float, bool]] = []
    state, opened_at, consecutive = "closed", 0.0, 0
    for step, ok in calls:
        clock.now += step
        now = clock.now
        if state == "open" and now - opened_at >= config["cooldown_s"]:
            state = "half_open"
        window = [c for c in window if now - c[0] <= config["window_s"]] + [(now, ok)]
        if state == "half_open":
            state, opened_at = ("closed", opened_at) if ok else ("open", now)
            window = [] if ok else window
            consecutive = 0 if ok else consecutive
        else:
            consecutive = 0 if ok else consecutive + 1
            failed = sum(1 for _, good in window if not good)
            tripped = len(window) >= config["min_calls"] and failed / len(window) >= config["error_rate"]
            if state == "closed" and (consecutive >= config["failures"] or tripped):
                state, opened_at = "open", now
        b.state  # noqa: B018 - moves open -> half_open after the cool-down, as a caller's allow() would
        b.record(ok)
        assert b.state == state
