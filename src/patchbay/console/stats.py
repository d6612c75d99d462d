"""The numbers behind the console overview: rates, latency percentiles, tokens, cost and feedback per day.

Computed from the run records (and feedback rows) of a window, grouped per integration and
environment. Reads only the accounting columns - never the event or the run state. The percentile is
``patchbay report``'s, so the console and the pilot report never disagree on p50/p95.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from patchbay.ops.report.data import percentile  # one definition: console and report agree
from patchbay.runs.feedback import feedback_table
from patchbay.runs.store import FINAL_STATUSES, runs_table

STATUSES = ("succeeded", "fallback", "shadow", "skipped", "failed")
MAX_ROWS = 200_000
_COLUMNS = (
    runs_table.c.run_id,
    runs_table.c.integration,
    runs_table.c.environment,
    runs_table.c.status,
    runs_table.c.received_at,
    runs_table.c.duration_ms,
    runs_table.c.tokens_in,
    runs_table.c.tokens_out,
    runs_table.c.cost_usd,
)


@dataclass
class Day:
    """One day of one group."""

    day: date
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    useful: int = 0
    not_useful: int = 0

    @property
    def runs(self) -> int:
        """Runs received this day (any status)."""
        return sum(self.statuses.values())

    @property
    def p50(self) -> float | None:
        """Median run latency (ms) of the day's runs that ran."""
        return percentile(self.latencies, 50)

    @property
    def p95(self) -> float | None:
        """95th percentile run latency (ms)."""
        return percentile(self.latencies, 95)


@dataclass
class Group:
    """The overview of one integration in one environment over the window."""

    integration: str
    environment: str
    days: list[Day]
    comments: list[dict[str, Any]] = field(default_factory=list)

    def _sum(self, attr: str) -> float:
        return float(sum(getattr(d, attr) for d in self.days))

    @property
    def statuses(self) -> Counter[str]:
        """Run counts per status over the window."""
        total: Counter[str] = Counter()
        for d in self.days:
            total.update(d.statuses)
        return total

    @property
    def runs(self) -> int:
        """Runs in the window."""
        return sum(self.statuses.values())

    @property
    def finished(self) -> int:
        """Runs with a final status (the denominator of the rates)."""
        return sum(n for s, n in self.statuses.items() if s in FINAL_STATUSES)

    def rate(self, status: str) -> float | None:
        """Share of finished runs with ``status`` (0..1), None without finished runs."""
        return self.statuses[status] / self.finished if self.finished else None

    @property
    def latencies(self) -> list[float]:
        """Every run latency (ms) in the window."""
        return [v for d in self.days for v in d.latencies]

    @property
    def p50(self) -> float | None:
        """Median run latency (ms) over the window."""
        return percentile(self.latencies, 50)

    @property
    def p95(self) -> float | None:
        """95th percentile run latency (ms) over the window."""
        return percentile(self.latencies, 95)

    @property
    def tokens(self) -> int:
        """Tokens in + out over the window."""
        return int(self._sum("tokens_in") + self._sum("tokens_out"))

    @property
    def cost_usd(self) -> float:
        """Model cost over the window."""
        return self._sum("cost_usd")

    @property
    def useful(self) -> int:
        """'Useful' ratings in the window."""
        return int(self._sum("useful"))

    @property
    def not_useful(self) -> int:
        """'Not useful' ratings in the window."""
        return int(self._sum("not_useful"))

    @property
    def useful_share(self) -> float | None:
        """Share of ratings that said useful."""
        rated = self.useful + self.not_useful
        return self.useful / rated if rated else None


def _day_of(value: datetime) -> date:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite gives naive datetimes back
    return aware.astimezone(UTC).date()


def load(
    engine: Engine, *, days: int, integration: str | None = None, now: datetime | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The run rows and feedback rows of the last ``days`` days (UTC), optionally of one integration."""
    since = (now or datetime.now(UTC)).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
        days=days - 1
    )
    runs_q = sa.select(*_COLUMNS).where(runs_table.c.received_at >= since).limit(MAX_ROWS)
    fb_q = (
        sa.select(feedback_table, runs_table.c.environment)
        .join(runs_table, runs_table.c.run_id == feedback_table.c.run_id)
        .where(feedback_table.c.at >= since)
        .order_by(feedback_table.c.at.desc())
        .limit(MAX_ROWS)
    )
    if integration:
        runs_q = runs_q.where(runs_table.c.integration == integration)
        fb_q = fb_q.where(feedback_table.c.integration == integration)
    feedback_table.create(engine, checkfirst=True)
    with engine.connect() as conn:
        runs = [dict(r) for r in conn.execute(runs_q).mappings()]
        feedback = [dict(r) for r in conn.execute(fb_q).mappings()]
    return runs, feedback


def overview(
    runs: Iterable[dict[str, Any]],
    feedback: Iterable[dict[str, Any]],
    *,
    days: int,
    today: date | None = None,
) -> list[Group]:
    """One :class:`Group` per (integration, environment), each with one :class:`Day` per day of the window."""
    last = today or datetime.now(UTC).date()
    span = [last - timedelta(days=n) for n in range(days - 1, -1, -1)]
    groups: dict[tuple[str, str], dict[date, Day]] = defaultdict(lambda: {d: Day(d) for d in span})
    comments: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in runs:
        key = (row["integration"], row["environment"])
        day = groups[key].get(_day_of(row["received_at"]))
        if day is None:
            continue
        day.statuses[row["status"]] += 1
        if row["status"] in FINAL_STATUSES and row["status"] != "skipped" and row["duration_ms"]:
            day.latencies.append(float(row["duration_ms"]))
        day.tokens_in += row["tokens_in"] or 0
        day.tokens_out += row["tokens_out"] or 0
        day.cost_usd += row["cost_usd"] or 0.0
    for row in feedback:
        key = (row["integration"], row["environment"])
        day = groups[key].get(_day_of(row["at"]))
        if day is None:
            continue
        if row["useful"]:
            day.useful += 1
        else:
            day.not_useful += 1
        if row.get("comment") and len(comments[key]) < 10:
            comments[key].append(
                {"run_id": row["run_id"], "useful": row["useful"], "comment": row["comment"]}
            )
    return [
        Group(integration=i, environment=e, days=list(groups[(i, e)].values()), comments=comments[(i, e)])
        for i, e in sorted(groups)
    ]
