"""The overview's numbers: rates, latency percentiles, tokens, cost and feedback per day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from patchbay.console.stats import overview
from patchbay.ops.report.data import percentile

TODAY = date(2026, 3, 10)


def run(
    day: int, status: str, ms: float | None = 100.0, integration: str = "ts", env: str = "prod"
) -> dict[str, Any]:
    at = datetime(2026, 3, 10, 12, tzinfo=UTC) - timedelta(days=day)
    return {
        "run_id": f"r{day}{status}{ms}",
        "integration": integration,
        "environment": env,
        "status": status,
        "received_at": at.replace(tzinfo=None),  # SQLite hands back naive UTC datetimes
        "duration_ms": ms,
        "tokens_in": 100,
        "tokens_out": 20,
        "cost_usd": 0.001,
    }


def test_percentile_interpolates_like_numpy() -> None:
    assert percentile([], 95) is None
    assert percentile([5.0], 95) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert round(percentile([float(n) for n in range(1, 101)], 95) or 0, 2) == 95.05


def test_rates_latency_tokens_cost_and_feedback_per_integration_and_environment() -> None:
    runs = [
        run(0, "succeeded", 100),
        run(0, "succeeded", 300),
        run(0, "fallback", 900),
        run(1, "failed", 50),
        run(1, "shadow", 200),
        run(1, "skipped", None),
        run(0, "running", None),  # not finished: counted as a run, not in the rates
        run(0, "succeeded", 100, env="stage"),
        run(20, "succeeded", 100),  # outside the window
    ]
    feedback = [
        {
            "run_id": "x",
            "integration": "ts",
            "environment": "prod",
            "useful": True,
            "comment": "good",
            "at": datetime(2026, 3, 10, 13, tzinfo=UTC),
        },
        {
            "run_id": "y",
            "integration": "ts",
            "environment": "prod",
            "useful": False,
            "comment": None,
            "at": datetime(2026, 3, 9, 13, tzinfo=UTC),
        },
    ]
    groups = overview(runs, feedback, days=7, today=TODAY)
    assert [(g.integration, g.environment) for g in groups] == [("ts", "prod"), ("ts", "stage")]
    prod = groups[0]
    assert len(prod.days) == 7 and prod.days[-1].day == TODAY
    assert prod.runs == 7 and prod.finished == 6
    assert prod.rate("succeeded") == 2 / 6 and prod.rate("fallback") == 1 / 6
    assert prod.rate("failed") == 1 / 6 and prod.rate("shadow") == 1 / 6
    assert prod.p50 == 200.0  # of 50, 100, 200, 300, 900 (skipped and unfinished runs have no latency)
    assert round(prod.p95 or 0, 6) == 780.0
    assert prod.days[-1].p50 == 300.0
    assert prod.tokens == 7 * 120 and round(prod.cost_usd, 6) == 0.007
    assert (prod.useful, prod.not_useful, prod.useful_share) == (1, 1, 0.5)
    assert prod.days[-1].useful == 1 and prod.days[-2].not_useful == 1
    assert prod.comments == [{"run_id": "x", "useful": True, "comment": "good"}]
    assert groups[1].runs == 1 and groups[1].rate("succeeded") == 1.0
