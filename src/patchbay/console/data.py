"""What the console's run pages read: a filtered run list and one run's displayable parts.

The original event (``event``) and the selected-but-unsanitized fields (``selected``) hold raw
personal data: they are dropped here, before anything reaches a template.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from patchbay.runs.store import runs_table

LIST_COLUMNS = (
    runs_table.c.run_id,
    runs_table.c.integration,
    runs_table.c.environment,
    runs_table.c.delivery_id,
    runs_table.c.event_type,
    runs_table.c.status,
    runs_table.c.received_at,
    runs_table.c.duration_ms,
    runs_table.c.provider,
    runs_table.c.model,
    runs_table.c.cost_usd,
    runs_table.c.write_status,
    runs_table.c.flag_mode,
    runs_table.c.error_code,
    runs_table.c.replay_of,
)
HIDDEN_STATE = ("event", "selected", "pseudonyms")


def search_runs(
    engine: Engine,
    *,
    status: str | None = None,
    integration: str | None = None,
    environment: str | None = None,
    text: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Newest first; ``text`` matches anywhere in the run id or the delivery id (case-insensitive)."""
    query = sa.select(*LIST_COLUMNS).order_by(runs_table.c.received_at.desc()).limit(limit)
    if status:
        query = query.where(runs_table.c.status == status)
    if integration:
        query = query.where(runs_table.c.integration == integration)
    if environment:
        query = query.where(runs_table.c.environment == environment)
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            sa.or_(
                sa.func.lower(runs_table.c.run_id).like(pattern.lower(), escape="\\"),
                sa.func.lower(runs_table.c.delivery_id).like(pattern.lower(), escape="\\"),
            )
        )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def replays_of(engine: Engine, run_id: str) -> list[dict[str, Any]]:
    """The runs that replayed ``run_id``, oldest first."""
    query = (
        sa.select(runs_table.c.run_id, runs_table.c.status, runs_table.c.received_at)
        .where(runs_table.c.replay_of == run_id)
        .order_by(runs_table.c.received_at)
    )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def pretty(value: Any) -> str:
    """JSON for people: indented, non-ASCII kept readable."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def displayable(row: dict[str, Any]) -> dict[str, Any]:
    """A run record without the raw event, and its state without the raw parts."""
    clean = {k: v for k, v in row.items() if k != "event"}
    state = row.get("state") if isinstance(row.get("state"), dict) else {}
    clean["state"] = {k: v for k, v in (state or {}).items() if k not in HIDDEN_STATE}
    return clean


def step_rows(
    names: list[str], timings: dict[str, float], error_step: str | None, status: str
) -> list[dict[str, Any]]:
    """One row per configured step: how long it took and how it ended (done / failed / not reached)."""
    rows, failed_seen = [], False
    for name in names or list(timings):
        if name == error_step:
            outcome, failed_seen = "failed", True
        elif name in timings:
            outcome = "done"
        elif failed_seen or status in ("failed", "skipped"):
            outcome = "not reached"
        else:
            outcome = "pending" if status in ("queued", "running") else "not run"
        rows.append({"name": name, "ms": timings.get(name), "outcome": outcome})
    return rows
