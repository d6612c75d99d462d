"""The recommendation line: ready to expand, or not yet and why. Thresholds are flags of the command."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Thresholds:
    """What 'ready to expand' means (defaults documented in docs/operations.md)."""

    max_p95_s: float = 10.0
    max_cost_per_ticket: float = 0.01
    min_useful: float = 0.8
    max_failure_rate: float = 0.02
    max_fallback_rate: float = 0.10
    min_runs: int = 50
    min_ratings: int = 10

    def as_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return asdict(self)


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%" if value >= 0.01 or value == 0 else f"{value * 100:.1f}%"


def recommend(data: dict[str, Any], limits: Thresholds) -> dict[str, Any]:
    """``{"ready": bool, "line": str, "reasons": [...]}`` for the report's numbers."""
    reasons: list[str] = []
    p95 = data["latency_ms"]["p95"]
    per_ticket = data["cost_usd"]["per_ticket"]
    useful = data["feedback"]["useful_share"]
    rates = data["rates"]
    if data["finished"] < limits.min_runs:
        reasons.append(f"only {data['finished']} finished runs (need {limits.min_runs})")
    if p95 is not None and p95 / 1000 > limits.max_p95_s:
        reasons.append(f"p95 {p95 / 1000:.1f} s over {limits.max_p95_s:g} s")
    if per_ticket is not None and per_ticket > limits.max_cost_per_ticket:
        reasons.append(f"cost ${per_ticket:.4f} per ticket over ${limits.max_cost_per_ticket:g}")
    if rates["failure"] is not None and rates["failure"] > limits.max_failure_rate:
        reasons.append(f"failure rate {_pct(rates['failure'])} over {_pct(limits.max_failure_rate)}")
    if rates["fallback"] is not None and rates["fallback"] > limits.max_fallback_rate:
        reasons.append(f"fallback rate {_pct(rates['fallback'])} over {_pct(limits.max_fallback_rate)}")
    ratings = data["feedback"]["total"]
    if ratings < limits.min_ratings:
        reasons.append(f"only {ratings} ratings (need {limits.min_ratings})")
    elif useful is not None and useful < limits.min_useful:
        reasons.append(f"{_pct(useful)} useful, under {_pct(limits.min_useful)}")
    facts = []
    if p95 is not None:
        facts.append(f"p95 {p95 / 1000:.1f} s")
    if per_ticket is not None:
        facts.append(f"cost ${per_ticket:.3g} per ticket")
    if useful is not None:
        facts.append(f"{_pct(useful)} useful")
    if reasons:
        return {"ready": False, "line": "not yet: " + "; ".join(reasons), "reasons": reasons}
    return {"ready": True, "line": "ready to expand: " + ", ".join(facts), "reasons": []}
