"""Executors: who is alive, and taking over the runs of one that died.

Every ``patchbay serve`` / ``patchbay worker`` process has a stable, unique executor id. Workers
write a heartbeat row every ``heartbeat_s``; each worker also looks for executors whose heartbeat is
older than ``dead_after_s`` and, after winning an atomic claim on the dead one's row (so exactly one
survivor acts), asks DBOS to recover its pending runs. DBOS re-enqueues them and its atomic
dequeue admits exactly one runner; they resume at the first step without a checkpoint. A dead
executor that comes back (same id) clears the claim with its next heartbeat.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine

from patchbay.runs.store import metadata

log = structlog.get_logger("patchbay.runs")

executors_table = sa.Table(
    "patchbay_executors",
    metadata,
    sa.Column("executor_id", sa.String(300), primary_key=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("app_version", sa.String(100), nullable=False),
    sa.Column("host", sa.String(300), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("claimed_by", sa.String(300), nullable=True),
)


def _now() -> datetime:
    return datetime.now(UTC)


class ExecutorRegistry:
    """Heartbeats for this process and takeover of dead workers' runs, on a background thread."""

    def __init__(
        self,
        engine: Engine,
        *,
        executor_id: str,
        app_version: str,
        role: str,
        recover: Callable[[str], int],
        heartbeat_s: float = 5.0,
        dead_after_s: float = 30.0,
    ) -> None:
        self._engine = engine
        self.executor_id = executor_id
        self.app_version = app_version
        self.role = role
        self._recover = recover
        self.heartbeat_s = heartbeat_s
        self.dead_after_s = dead_after_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        executors_table.create(engine, checkfirst=True)

    def beat(self) -> None:
        """Record that this process is alive (and, after a restart, take back its own row)."""
        now = _now()
        values = {
            "role": self.role,
            "app_version": self.app_version,
            "host": socket.gethostname(),
            "last_seen": now,
            "claimed_by": None,
        }
        with self._engine.begin() as conn:
            done = conn.execute(
                executors_table.update()
                .where(executors_table.c.executor_id == self.executor_id)
                .values(**values)
            )
            if done.rowcount == 0:
                conn.execute(
                    executors_table.insert().values(executor_id=self.executor_id, started_at=now, **values)
                )

    def dead(self) -> list[str]:
        """Worker executors (same application version) whose heartbeat is too old and not yet claimed."""
        cutoff = _now() - timedelta(seconds=self.dead_after_s)
        with self._engine.begin() as conn:
            rows = (
                conn.execute(
                    sa.select(executors_table.c.executor_id).where(
                        executors_table.c.last_seen < cutoff,
                        executors_table.c.claimed_by.is_(None),
                        executors_table.c.role != "intake",
                        executors_table.c.app_version == self.app_version,
                        executors_table.c.executor_id != self.executor_id,
                    )
                )
                .scalars()
                .all()
            )
        return list(rows)

    def claim(self, executor_id: str) -> bool:
        """Atomically claim a dead executor; only one survivor gets True."""
        with self._engine.begin() as conn:
            done = conn.execute(
                executors_table.update()
                .where(executors_table.c.executor_id == executor_id, executors_table.c.claimed_by.is_(None))
                .values(claimed_by=self.executor_id)
            )
        return done.rowcount == 1

    def take_over_dead(self) -> list[str]:
        """Claim every dead worker and recover its runs; returns the ids taken over."""
        taken: list[str] = []
        for executor_id in self.dead():
            if not self.claim(executor_id):
                continue
            count = self._recover(executor_id)
            log.warning(
                "runs.executor_dead",
                executor_id=executor_id,
                taken_over_by=self.executor_id,
                runs_recovered=count,
            )
            taken.append(executor_id)
        return taken

    def start(self) -> None:
        """Beat now, then beat and watch every ``heartbeat_s`` on a daemon thread."""
        self.beat()
        self._thread = threading.Thread(target=self._loop, name="patchbay-heartbeat", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            try:
                self.beat()
                if self.role != "intake":
                    self.take_over_dead()
            except sa.exc.SQLAlchemyError as exc:  # the database restarting: try again next beat
                log.warning("runs.heartbeat_failed", error=type(exc).__name__)

    def retire(self) -> None:
        """On a graceful stop: mark this executor silent now, so survivors take over what it leaves."""
        with self._engine.begin() as conn:
            conn.execute(
                executors_table.update()
                .where(executors_table.c.executor_id == self.executor_id)
                .values(last_seen=datetime(1970, 1, 1, tzinfo=UTC))
            )

    def stop(self) -> None:
        """Stop the thread (the row stays; others will see it go stale only if we never come back)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.heartbeat_s + 5)
