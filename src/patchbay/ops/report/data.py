"""The pilot's numbers, computed from the run records (and feedback) of a time window.

Definitions (also in docs/operations.md):

* **runs**: records received in the window; **finished**: those with a final status.
* **success / fallback / failure rate**: succeeded / fallback / failed runs over finished runs.
* **latency**: ``duration_ms`` (sum of step times) of finished runs that ran their steps (succeeded,
  fallback, shadow, failed); p50/p95/p99 by linear interpolation between closest ranks.
* **cost per ticket**: total ``cost_usd`` over the runs that got a model answer (``provider`` set).
* **useful**: the share of ratings marked useful (the latest rating per rater counts).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from patchbay.ops.advice import advice_for
from patchbay.runs.feedback import FeedbackStore
from patchbay.runs.store import FINAL_STATUSES, runs_table

_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
RAN = frozenset({"succeeded", "fallback", "shadow", "failed"})


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """'7d', '24h', '90m', '2w' before ``now``, or an ISO date/time; ``ValueError`` says what is allowed."""
    now = now or datetime.now(UTC)
    match = _SINCE.match(text)
    if match:
        try:
            return now - timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
        except OverflowError:
            raise ValueError(f"--since {text!r} reaches before year 1; use a shorter window") from None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"--since {text!r} is not a duration or a date; use e.g. 7d, 24h, 90m, 2w or 2025-01-31"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def percentile(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) by linear interpolation between closest ranks; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def collect(
    engine: Engine, *, integration: str | None = None, since: datetime, now: datetime | None = None
) -> dict[str, Any]:
    """Every number of the report, as plain JSON-ready data."""
    now = now or datetime.now(UTC)
    cols = [
        runs_table.c[name]
        for name in (
            "run_id", "integration", "status", "received_at", "duration_ms", "tokens_in", "tokens_out",
            "cost_usd", "provider", "model", "error_step", "error_code", "error", "attempts",
        )
    ]  # fmt: skip
    query = sa.select(*cols).where(runs_table.c.received_at >= since, runs_table.c.received_at <= now)
    if integration:
        query = query.where(runs_table.c.integration == integration)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query.order_by(runs_table.c.received_at)).mappings()]
    finished = [r for r in rows if r["status"] in FINAL_STATUSES]
    statuses = Counter(r["status"] for r in rows)
    durations = [
        float(r["duration_ms"]) for r in finished if r["status"] in RAN and r["duration_ms"] is not None
    ]
    answered = [r for r in finished if r["provider"]]
    cost = sum(float(r["cost_usd"] or 0.0) for r in rows)
    feedback = FeedbackStore(engine).summary(integration=integration, since=since)
    return {
        "integration": integration,
        "since": since.isoformat(),
        "until": now.isoformat(),
        "runs": len(rows),
        "finished": len(finished),
        "statuses": dict(sorted(statuses.items())),
        "rates": {
            "success": _rate(statuses["succeeded"], len(finished)),
            "fallback": _rate(statuses["fallback"], len(finished)),
            "failure": _rate(statuses["failed"], len(finished)),
        },
        "latency_ms": {
            "count": len(durations),
            "p50": percentile(durations, 50),
            "p95": percentile(durations, 95),
            "p99": percentile(durations, 99),
            "max": max(durations) if durations else None,
        },
        "tokens": {
            "in": sum(int(r["tokens_in"] or 0) for r in rows),
            "out": sum(int(r["tokens_out"] or 0) for r in rows),
        },
        "cost_usd": {
            "total": round(cost, 6),
            "per_ticket": round(cost / len(answered), 6) if answered else None,
            "tickets": len(answered),
        },
        "models": dict(Counter(f"{r['provider']} ({r['model']})" for r in answered).most_common()),
        "feedback": {k: feedback[k] for k in ("total", "useful", "not_useful", "useful_share")}
        | {"comments": feedback["comments"][:10]},
        "top_errors": _top_errors(finished),
        "daily": _daily(rows),
        "durations_ms": durations,
    }


def _top_errors(finished: list[dict[str, Any]], limit: int = 5) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in finished:
        if row["status"] == "failed":
            groups[(row["error_step"] or "?", row["error_code"] or "?")].append(row)
    ranked = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))[:limit]
    out = []
    for (step, code), members in ranked:
        last = members[-1]
        attempts = last.get("attempts") or []
        status = attempts[-1].get("status_code") if attempts and isinstance(attempts[-1], dict) else None
        out.append(
            {
                "step": step,
                "code": code,
                "count": len(members),
                "example": (last["error"] or "")[:300],
                "advice": advice_for(code, status, step, message=last["error"]),
            }
        )
    return out


def _daily(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    days: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        days[_utc(row["received_at"]).date().isoformat()].append(row)
    out = []
    for day in sorted(days):
        members = days[day]
        counts = Counter(r["status"] for r in members)
        durations = [
            float(r["duration_ms"]) for r in members if r["status"] in RAN and r["duration_ms"] is not None
        ]
        out.append(
            {
                "day": day,
                "runs": len(members),
                "succeeded": counts["succeeded"],
                "fallback": counts["fallback"],
                "failed": counts["failed"],
                "other": len(members) - counts["succeeded"] - counts["fallback"] - counts["failed"],
                "p50_ms": percentile(durations, 50),
                "p95_ms": percentile(durations, 95),
                "cost_usd": round(sum(float(r["cost_usd"] or 0.0) for r in members), 6),
                "tokens": sum(int(r["tokens_in"] or 0) + int(r["tokens_out"] or 0) for r in members),
            }
        )
    return out
