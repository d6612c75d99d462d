"""Run steps in order: timing, step-level retries for retryable errors, and the run's final status.

The same functions serve ``patchbay run`` (in-process, not durable) and the durable runner, which
wraps each step call in a checkpointed DBOS step (see :mod:`patchbay.runs.durable`).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import structlog

from patchbay.errors import PatchbayError, Retryable
from patchbay.observability import recorders
from patchbay.pipeline.state import RunState
from patchbay.pipeline.step import Resources, Step

log = structlog.get_logger("patchbay.pipeline")

Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")


@dataclass(frozen=True)
class StepRetry:
    """Retries of a whole step on a retryable error (a 429 from the target, say)."""

    attempts: int = 3
    initial_s: float = 1.0
    max_s: float = 30.0
    max_retry_after_s: float = 120.0

    def delay(self, attempt: int, error: PatchbayError) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up."""
        if attempt >= self.attempts:
            return None
        if error.retry_after is not None:
            return None if error.retry_after > self.max_retry_after_s else error.retry_after
        return random.uniform(0, min(self.max_s, self.initial_s * 2 ** (attempt - 1)))


@dataclass
class StepFailure:
    """Why a run stopped: which step, the error's code, and its safe message."""

    step: str
    code: str
    message: str
    retryable: bool


async def run_step(step: Step, state: RunState, resources: Resources) -> RunState:
    """Run one step and record how long it took under ``timings_ms[step.name]``."""
    started = time.perf_counter()
    try:
        result = await step.run(state, resources)
    finally:
        elapsed = (time.perf_counter() - started) * 1000
    timings = dict(result.timings_ms)
    timings[step.name] = round(elapsed, 3)
    result = result.model_copy(update={"timings_ms": timings})
    result = _priced(result, resources)
    recorders.record_step(result, step.name, elapsed / 1000)
    return result


async def run_step_with_retry(
    step: Step,
    state: RunState,
    resources: Resources,
    *,
    policy: StepRetry | None = None,
    sleep: Sleep = asyncio.sleep,
) -> RunState:
    """``run_step``, repeated on retryable errors as ``policy`` allows."""
    return await retrying(step.name, lambda: run_step(step, state, resources), policy=policy, sleep=sleep)


async def retrying(
    step_name: str,
    call: Callable[[], Awaitable[T]],
    *,
    policy: StepRetry | None = None,
    sleep: Sleep = asyncio.sleep,
    on_error: Callable[[int, PatchbayError, float | None], None] | None = None,
) -> T:
    """Await ``call()`` again after each retryable error, as long as ``policy`` allows; then re-raise.

    The durable runner passes DBOS's durable sleep, so a wait survives a restart, and ``on_error``
    to keep the attempt history (attempt number, error, the delay before the next try or None).
    """
    policy = policy or StepRetry()
    attempt = 1
    while True:
        try:
            return await call()
        except Retryable as exc:
            delay = policy.delay(attempt, exc)
            if on_error is not None:
                on_error(attempt, exc, delay)
            if delay is None:
                raise
            log.warning(
                "run.step_retry",
                step=step_name,
                attempt=attempt,
                delay_s=round(delay, 3),
                code=exc.code,
                status_code=exc.status_code,
            )
            await sleep(delay)
            attempt += 1


def _priced(state: RunState, resources: Resources) -> RunState:
    """Fill in the model cost from the price table when the provider did not report one."""
    answer = state.answer
    if answer is None or answer.cost_usd or resources.pricing is None or not answer.model:
        return state
    cost = resources.pricing.cost(answer.model, answer.tokens_in, answer.tokens_out)
    if not cost:
        return state
    return state.model_copy(update={"answer": answer.model_copy(update={"cost_usd": cost})})


# Steps that only compute from the run state: cheap and safe to run again, so durable runs checkpoint
# them together with the next step that is not pure. A step class can say so itself with
# ``pure = True`` (or False).
PURE_STEPS = frozenset({"validate", "select", "sanitize", "prompt", "postprocess"})


def is_pure(step: Step) -> bool:
    """Whether ``step`` only computes from the run state (no call out, nothing written)."""
    return bool(getattr(step, "pure", step.name in PURE_STEPS))


def checkpoint_groups(steps: list[Step]) -> list[list[int]]:
    """Step indices grouped into checkpoints: pure steps join the next step that is not pure.

    Each group holds at most one step with an effect outside the run (a model call, a write), and
    it comes last: a crash inside a group re-runs only pure steps and the one call that had not been
    recorded yet. The pilot's seven steps become two groups: [validate, select, sanitize, prompt,
    model] and [postprocess, write]. Pure steps after the last call form the last group.
    """
    groups: list[list[int]] = []
    current: list[int] = []
    for index, step in enumerate(steps):
        current.append(index)
        if not is_pure(step):
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def final_status(state: RunState) -> str:
    """'shadow' (ran, wrote nothing: shadow mode or a dry run), 'fallback', 'skipped' or 'succeeded'."""
    if state.flag is not None and not state.flag.write:
        return "shadow"
    if state.write is not None and state.write.status == "dry_run":
        return "shadow"  # ran and recorded, wrote nothing: a preview is not a success
    if state.answer is not None and state.answer.fallback:
        return "fallback"
    if state.write is not None and state.write.status == "skipped":
        return "skipped"
    return "succeeded"


def failure_of(step: str, error: BaseException) -> StepFailure:
    """A safe description of why ``step`` failed; unexpected exceptions say only their type."""
    if isinstance(error, PatchbayError):
        return StepFailure(
            step=step, code=error.code, message=error.message, retryable=isinstance(error, Retryable)
        )
    return StepFailure(
        step=step,
        code="internal_error",
        message=f"unexpected {type(error).__name__} in step {step!r}; see the logs",
        retryable=False,
    )


async def run_inline(
    steps: list[Step], state: RunState, resources: Resources, *, sleep: Sleep = asyncio.sleep
) -> tuple[RunState, StepFailure | None]:
    """Run every step in this process; stop at the first failure and say which."""
    for step in steps:
        try:
            state = await run_step_with_retry(step, state, resources, sleep=sleep)
        except Exception as exc:
            failure = failure_of(step.name, exc)
            log.warning(
                "run.step_failed",
                step=step.name,
                code=failure.code,
                error=failure.message,
                exc_info=not isinstance(exc, PatchbayError),
            )
            return state, failure
    return state, None
