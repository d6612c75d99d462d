"""Feedback on runs: people rate a summary useful or not, with an optional comment.

Stored next to the run records (same database), one row per rating; a person may change their mind,
so the latest rating of a (run, rater) pair counts. Never stores ticket text.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from patchbay.runs.store import metadata, runs_table

feedback_table = sa.Table(
    "patchbay_feedback",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("run_id", sa.String(300), nullable=False, index=True),
    sa.Column("integration", sa.String(200), nullable=False),
    sa.Column("useful", sa.Boolean, nullable=False),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("rater", sa.String(200), nullable=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

MAX_COMMENT = 2000


class FeedbackStore:
    """Adds and reads ratings; uses the run store's engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        feedback_table.create(engine, checkfirst=True)

    def add(
        self, run_id: str, *, useful: bool, comment: str | None = None, rater: str | None = None
    ) -> dict[str, Any]:
        """Record a rating; ``LookupError`` when the run does not exist."""
        with self._engine.begin() as conn:
            integration = conn.execute(
                sa.select(runs_table.c.integration).where(runs_table.c.run_id == run_id)
            ).scalar_one_or_none()
            if integration is None:
                raise LookupError(run_id)
            if rater:
                conn.execute(
                    feedback_table.delete().where(
                        feedback_table.c.run_id == run_id, feedback_table.c.rater == rater
                    )
                )
            row = {
                "id": uuid.uuid4().hex,
                "run_id": run_id,
                "integration": integration,
                "useful": useful,
                "comment": (comment or "").strip()[:MAX_COMMENT] or None,
                "rater": rater,
                "at": datetime.now(UTC),
            }
            conn.execute(feedback_table.insert().values(**row))
        return row

    def for_run(self, run_id: str) -> list[dict[str, Any]]:
        """Every rating of one run, oldest first."""
        with self._engine.begin() as conn:
            rows = (
                conn.execute(
                    sa.select(feedback_table)
                    .where(feedback_table.c.run_id == run_id)
                    .order_by(feedback_table.c.at)
                )
                .mappings()
                .all()
            )
        return [dict(r) for r in rows]

    def summary(self, *, integration: str | None = None, since: datetime | None = None) -> dict[str, Any]:
        """Counts of useful / not useful, the share useful, and the latest comments."""
        query = sa.select(feedback_table)
        if integration:
            query = query.where(feedback_table.c.integration == integration)
        if since:
            query = query.where(feedback_table.c.at >= since)
        with self._engine.begin() as conn:
            rows = [
                dict(r) for r in conn.execute(query.order_by(feedback_table.c.at.desc())).mappings().all()
            ]
        useful = sum(1 for r in rows if r["useful"])
        total = len(rows)
        return {
            "total": total,
            "useful": useful,
            "not_useful": total - useful,
            "useful_share": (useful / total) if total else None,
            "comments": [
                {"run_id": r["run_id"], "useful": r["useful"], "comment": r["comment"]}
                for r in rows
                if r["comment"]
            ][:20],
        }
