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
