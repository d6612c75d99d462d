"""Turn what steps and runs did into metrics: called by the runner, never by components."""

from __future__ import annotations

from patchbay.observability import metrics
from patchbay.pipeline.state import RunState


def record_step(state: RunState, step: str, elapsed_s: float) -> None:
    """After one step execution (not a checkpoint replay)."""
    metrics.STEP_SECONDS.labels(integration=state.integration, step=step).observe(elapsed_s)
    if step == "model" and state.answer is not None:
        answer = state.answer
        for attempt in answer.attempts:
            metrics.MODEL_SECONDS.labels(provider=attempt.provider, outcome=attempt.outcome).observe(
                attempt.elapsed_ms / 1000
            )
        model = answer.model or "unknown"
        metrics.MODEL_TOKENS.labels(provider=answer.provider, model=model, direction="in").inc(
            answer.tokens_in
        )
        metrics.MODEL_TOKENS.labels(provider=answer.provider, model=model, direction="out").inc(
            answer.tokens_out
        )
        if answer.cost_usd:
            metrics.MODEL_COST.labels(provider=answer.provider, model=model).inc(answer.cost_usd)
        if answer.fallback:
            kind = "safe_message" if answer.safe_fallback else "provider"
            metrics.FALLBACKS.labels(integration=state.integration, kind=kind).inc()
    if step == "write" and state.write is not None:
        metrics.WRITES.labels(target=state.write.target, status=state.write.status).inc()


def record_retry(integration: str, step: str, code: str) -> None:
    """A step failed with a retryable error and will be tried again (or gave up)."""
    metrics.STEP_RETRIES.labels(integration=integration, step=step, code=code).inc()


def record_run(state: RunState, status: str) -> None:
    """Once per finished run."""
    metrics.RUNS.labels(integration=state.integration, status=status).inc()
    metrics.RUN_SECONDS.labels(integration=state.integration, status=status).observe(
        sum(state.timings_ms.values()) / 1000
    )
