"""Prometheus metrics, served at ``GET /metrics`` by ``patchbay serve``.

Defined in one place so names stay consistent; components never create their own.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

BREAKER_STATE = Gauge(
    "patchbay_breaker_state", "Circuit breaker state: 0 closed, 1 half-open, 2 open.", ["kind", "name"]
)
BREAKER_OPENED = Counter("patchbay_breaker_opened_total", "Times a circuit breaker opened.", ["kind", "name"])
RATE_LIMIT_WAIT = Histogram(
    "patchbay_limit_wait_seconds", "Time spent waiting for a shared rate/concurrency slot.", ["kind", "name"]
)
DELIVERIES = Counter(
    "patchbay_webhook_deliveries_total",
    "Webhook deliveries by integration and outcome.",
    ["integration", "outcome"],
)
QUEUE_DEPTH = Gauge("patchbay_queue_depth", "Runs waiting in the durable queue (as last measured by intake).")
FLAG_DECISIONS = Counter(
    "patchbay_flag_decisions_total",
    "Rollout decisions by integration and outcome.",
    ["integration", "outcome"],
)
FEEDBACK = Counter(
    "patchbay_feedback_total", "Feedback on runs by integration and verdict.", ["integration", "useful"]
)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120)

RUN_SECONDS = Histogram(
    "patchbay_run_duration_seconds",
    "Time of a whole run (sum of its steps).",
    ["integration", "status"],
    buckets=_LATENCY_BUCKETS,
)
RUNS = Counter("patchbay_runs_total", "Finished runs by integration and status.", ["integration", "status"])
STEP_SECONDS = Histogram(
    "patchbay_step_duration_seconds",
    "Time of one step execution.",
    ["integration", "step"],
    buckets=_LATENCY_BUCKETS,
)
STEP_RETRIES = Counter(
    "patchbay_step_retries_total", "Step retries after a retryable error.", ["integration", "step", "code"]
)
MODEL_SECONDS = Histogram(
    "patchbay_model_call_duration_seconds",
    "Time of one model attempt.",
    ["provider", "outcome"],
    buckets=_LATENCY_BUCKETS,
)
MODEL_TOKENS = Counter(
    "patchbay_model_tokens_total",
    "Tokens by provider, model and direction.",
    ["provider", "model", "direction"],
)
MODEL_COST = Counter(
    "patchbay_model_cost_usd_total", "Model cost in USD by provider and model.", ["provider", "model"]
)
FALLBACKS = Counter(
    "patchbay_fallbacks_total", "Runs whose answer came from a fallback.", ["integration", "kind"]
)
WRITES = Counter("patchbay_writes_total", "Write-back outcomes by target and status.", ["target", "status"])
OUTPUT_PROBLEMS = Counter(
    "patchbay_output_problems_total",
    "Abnormal model outputs found by the alert checks.",
    ["integration", "kind"],
)
ALERTS = Counter("patchbay_alerts_total", "Alerts fired by rule and state.", ["rule", "state"])
