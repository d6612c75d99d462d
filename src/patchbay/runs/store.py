"""The run record: one row per run, in its own database (never DBOS's own file).

Kept apart from the durable-run engine on purpose: sharing DBOS's SQLite file dropped throughput to
~5 runs/s with lock errors (DESIGN.md). The row carries what an operator asks about a run - status,
per-step timings, model, tokens, cost, fallback, error - and the run's side-by-side data (sanitized
view, prompt, answer, output, write) for ``patchbay runs show``. The original event is kept too, so a
failed run can be replayed; it never appears in logs.

``(integration, delivery_id)`` is unique: the record is also the long-lived dedupe index.
"""

from __future__ import annotations

import builtins
import contextlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine

from patchbay.pipeline.state import RunState
from patchbay.runs.databases import sqlalchemy_url

Status = Literal["queued", "running", "succeeded", "fallback", "skipped", "shadow", "failed"]
FINAL_STATUSES: frozenset[str] = frozenset({"succeeded", "fallback", "skipped", "shadow", "failed"})
# Final statuses that a re-execution of the same run never overwrites (see RunStore.finish).
SETTLED_STATUSES: frozenset[str] = FINAL_STATUSES - {"failed"}

metadata = sa.MetaData()

runs_table = sa.Table(
    "patchbay_runs",
    metadata,
    sa.Column("run_id", sa.String(300), primary_key=True),
    sa.Column("integration", sa.String(200), nullable=False),
    sa.Column("delivery_id", sa.String(300), nullable=False),
    sa.Column("environment", sa.String(50), nullable=False, default="dev"),
    sa.Column("event_type", sa.String(200), nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("duration_ms", sa.Float, nullable=True),
    sa.Column("step_timings", sa.JSON, nullable=True),
    sa.Column("provider", sa.String(200), nullable=True),
    sa.Column("model", sa.String(200), nullable=True),
    sa.Column("tokens_in", sa.Integer, nullable=True),
    sa.Column("tokens_out", sa.Integer, nullable=True),
    sa.Column("cost_usd", sa.Float, nullable=True),
    sa.Column("fallback_used", sa.Boolean, nullable=True),
    sa.Column("write_status", sa.String(30), nullable=True),
    sa.Column("error_step", sa.String(100), nullable=True),
    sa.Column("error_code", sa.String(100), nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("attempts", sa.JSON, nullable=True),
    sa.Column("replay_of", sa.String(300), nullable=True),
    sa.Column("executor_id", sa.String(300), nullable=True),
    sa.Column("flag_mode", sa.String(20), nullable=True),
    sa.Column("output", sa.Text, nullable=True),
    sa.Column("event", sa.JSON, nullable=True),
    sa.Column("state", sa.JSON, nullable=True),
    sa.UniqueConstraint("integration", "delivery_id", name="uq_patchbay_runs_delivery"),
    sa.Index("ix_patchbay_runs_received", "received_at"),
    sa.Index("ix_patchbay_runs_status", "status"),
)

# Built once: intake checks and inserts a record per delivery, a worker marks it running and
# finished per run, and building a statement each time (its values coerced, a cache key computed:
# ~150 µs) cost more CPU than SQLite's own work on it. An UPDATE's SET clause comes from the keys
# of the parameters passed; `where_run_id` picks the row.
_INSERT_RUN = runs_table.insert()
_FIND_DELIVERY = sa.select(runs_table.c.run_id).where(
    runs_table.c.integration == sa.bindparam("integration"),
    runs_table.c.delivery_id == sa.bindparam("delivery_id"),
)
_MARK_RUNNING = runs_table.update().where(
    runs_table.c.run_id == sa.bindparam("where_run_id"), runs_table.c.status.not_in(FINAL_STATUSES)
)
_FINISH = runs_table.update().where(
    runs_table.c.run_id == sa.bindparam("where_run_id"), runs_table.c.status.not_in(SETTLED_STATUSES)
)


DEFAULT_POOL_SIZE = 10  # storage.pool_size's default


def sqlite_url(path: Path) -> str:
    """A SQLAlchemy URL for a SQLite file."""
    return f"sqlite:///{path}"


def enable_wal(url: str) -> None:
    """Put a SQLite database file in WAL mode (persistent in the file): 4-5x throughput for DBOS."""
    if not url.startswith("sqlite:///"):
        return
    path = Path(url.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path, timeout=30) as conn:
        conn.execute("PRAGMA journal_mode=WAL")


def add_missing_columns(engine: Engine, table: sa.Table) -> list[str]:
    """Upgrade an older database in place: add the nullable columns this version has and it lacks."""
    existing = {c["name"] for c in sa.inspect(engine).get_columns(table.name)}
    added: list[str] = []
    for column in table.columns:
        if column.name in existing or not column.nullable:
            continue
        kind = column.type.compile(dialect=engine.dialect)
        with engine.begin() as conn, contextlib.suppress(sa.exc.DBAPIError):  # a concurrent upgrade won
            conn.execute(sa.text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))
            added.append(column.name)
    return added


def _now() -> datetime:
    return datetime.now(UTC)


def _in_memory_sqlite(url: str) -> bool:
    database = sa.engine.make_url(url).database
    return url.startswith("sqlite") and database in (None, "", ":memory:")


def _engine(url: str, *, pool_size: int, synchronous: str, pre_ping: bool) -> Engine:
    """An engine on the run-record database with a fixed pool of ``pool_size`` connections.

    A fixed pool (no overflow): SQLAlchemy's default (5, plus 10 opened and closed again on demand)
    churned connections whenever a worker's runs wrote at once - a new PostgreSQL connection is a
    forked server process: ~1 ms of server CPU per run in bench-runs.
    pool_pre_ping: a restarted PostgreSQL leaves dead connections; a ping per checkout finds them
    (one round trip each). Without it (workers, whose run-record writes retry on connection errors)
    the first query on a dead connection fails and SQLAlchemy drops the whole pool.
    hide_parameters: an error must never print the event or the state (they hold ticket text) into
    a log or a terminal.
    """
    kwargs: dict[str, Any] = {"hide_parameters": True}
    if not _in_memory_sqlite(url):  # an in-memory database has one connection per thread, no pool size
        kwargs.update(pool_size=pool_size, max_overflow=0)
    if not url.startswith("sqlite"):
        kwargs["pool_pre_ping"] = pre_ping  # a SQLite file connection cannot go stale
    else:
        enable_wal(url)
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    engine = sa.create_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @sa_event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA busy_timeout=30000")
            dbapi_conn.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'full' else 'NORMAL'}")

    return engine


class RunStore:
    """Reads and writes run records. Thread safe (one SQLAlchemy engine, short transactions)."""

    def __init__(
        self,
        url: str,
        *,
        synchronous: str = "normal",
        pre_ping: bool = True,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> None:
        url = sqlalchemy_url(url)
        self.url = url
        self._synchronous, self._pre_ping = synchronous, pre_ping
        self.engine: Engine = _engine(url, pool_size=pool_size, synchronous=synchronous, pre_ping=pre_ping)
        self._side_engines: list[Engine] = []
        try:
            metadata.create_all(self.engine)
        except sa.exc.DBAPIError:  # another process created the tables at the same moment
            metadata.create_all(self.engine)
        add_missing_columns(self.engine, runs_table)

    def side_engine(self, pool_size: int = 1) -> Engine:
        """Another engine on the same database with a small pool of its own (closed with the store):
        for work that must not queue behind a burst of run-record writes, such as heartbeats."""
        engine = _engine(
            self.url, pool_size=pool_size, synchronous=self._synchronous, pre_ping=self._pre_ping
        )
        self._side_engines.append(engine)
        return engine

    @contextmanager
    def _tx(self) -> Iterator[sa.Connection]:
        with self.engine.begin() as conn:
            yield conn

    def create(
        self,
        *,
        run_id: str,
        integration: str,
        delivery_id: str,
        environment: str,
        event_type: str | None,
        event: dict[str, Any],
    ) -> bool:
        """Record a newly accepted delivery. False when a record for this delivery already exists."""
        row = {
            "run_id": run_id,
            "integration": integration,
            "delivery_id": delivery_id,
            "environment": environment,
            "event_type": event_type,
            "status": "queued",
            "received_at": _now(),
            "event": event,
        }
        try:
            with self._tx() as conn:
                conn.execute(_INSERT_RUN, row)
        except sa.exc.IntegrityError:
            return False
        return True

    def exists(self, integration: str, delivery_id: str) -> str | None:
        """The run id recorded for this delivery, if any."""
        with self._tx() as conn:
            found = conn.execute(
                _FIND_DELIVERY, {"integration": integration, "delivery_id": delivery_id}
            ).scalar_one_or_none()
        return found

    def mark_running(
        self,
        state: RunState,
        *,
        event_type: str | None = None,
        record_delivery_id: str | None = None,
        executor_id: str | None = None,
    ) -> None:
        """The run started (or resumed): create the record if intake could not, set status running.

        ``record_delivery_id`` is what the record is deduplicated on when it differs from the
        delivery (a replay is a new run of the same delivery).
        """
        running = {
            "where_run_id": state.run_id,
            "status": "running",
            "started_at": _now(),
            "executor_id": executor_id,
        }
        with self._tx() as conn:
            done = conn.execute(_MARK_RUNNING, running)
        if done.rowcount:
            return
        # Intake could not record it (it crashed after enqueueing): create it now, then mark it.
        self.create(
            run_id=state.run_id,
            integration=state.integration,
            delivery_id=record_delivery_id or state.delivery_id,
            environment=state.environment,
            event_type=event_type,
            event=state.event,
        )
        with self._tx() as conn:
            conn.execute(_MARK_RUNNING, {**running, "started_at": _now()})

    def link_replay(self, *, run_id: str, replay_of: dict[str, Any]) -> None:
        """Record that ``run_id`` replays the run ``replay_of`` (a record row); idempotent."""
        row = {
            "run_id": run_id,
            "integration": replay_of["integration"],
            "delivery_id": f"{replay_of['delivery_id']}#{run_id}",
            "environment": replay_of["environment"],
            "event_type": replay_of["event_type"],
            "status": "queued",
            "received_at": _now(),
            "event": replay_of["event"],
            "replay_of": replay_of["run_id"],
        }
        with self._tx() as conn:
            done = conn.execute(
                runs_table.update().where(runs_table.c.run_id == run_id).values(replay_of=replay_of["run_id"])
            )
            if done.rowcount == 0:
                conn.execute(runs_table.insert().values(**row))

    def finish(
        self,
        state: RunState,
        *,
        status: Status,
        error_step: str | None = None,
        error_code: str | None = None,
        error: str | None = None,
        attempts: list[dict[str, Any]] | None = None,
        record_delivery_id: str | None = None,
        executor_id: str | None = None,
    ) -> None:
        """Write the final outcome of a run (creating the record if it is missing: a forked replay)."""
        answer = state.answer
        values: dict[str, Any] = {
            "status": status,
            "finished_at": _now(),
            "step_timings": state.timings_ms,
            "duration_ms": round(sum(state.timings_ms.values()), 3),
            "provider": answer.provider if answer else None,
            "model": answer.model if answer else None,
            "tokens_in": answer.tokens_in if answer else None,
            "tokens_out": answer.tokens_out if answer else None,
            "cost_usd": answer.cost_usd if answer else None,
            "fallback_used": answer.fallback if answer else None,
            "write_status": state.write.status if state.write else None,
            "error_step": error_step,
            "error_code": error_code,
            "error": error,
            "output": state.output,
            # `selected` is raw ticket text before sanitizing: only the original event is kept (for replay).
            "state": state.model_dump(mode="json", exclude={"event", "selected", "pseudonyms"}),
            "attempts": attempts or [],
            "executor_id": executor_id,
            "flag_mode": state.flag.outcome if state.flag else None,
        }
        with self._tx() as conn:
            # A recorded outcome stays: a run re-executed after a crash past this point (its last
            # group runs again) may see a kill switch or an outage that does not describe what it
            # did. Only 'failed' may still turn into what a re-execution achieved.
            done = conn.execute(_FINISH, {"where_run_id": state.run_id, **values})
            if done.rowcount:
                return
            exists = conn.execute(
                sa.select(runs_table.c.run_id).where(runs_table.c.run_id == state.run_id)
            ).first()
            if exists is None:
                conn.execute(
                    runs_table.insert().values(
                        run_id=state.run_id,
                        integration=state.integration,
                        delivery_id=record_delivery_id or state.delivery_id,
                        environment=state.environment,
                        received_at=_now(),
                        event=state.event,
                        **values,
                    )
                )

    def get(self, run_id: str) -> dict[str, Any] | None:
        """One run record as a dict, or None. Accepts a unique prefix of the run id."""
        with self._tx() as conn:
            row = conn.execute(sa.select(runs_table).where(runs_table.c.run_id == run_id)).mappings().first()
            if row is None:
                rows = (
                    conn.execute(
                        sa.select(runs_table)
                        .where(runs_table.c.run_id.startswith(run_id, autoescape=True))
                        .limit(2)
                    )
                    .mappings()
                    .all()
                )
                row = rows[0] if len(rows) == 1 else None
        return dict(row) if row is not None else None

    def list(
        self, *, integration: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Newest runs first, optionally filtered."""
        query = sa.select(runs_table).order_by(runs_table.c.received_at.desc()).limit(limit)
        if integration:
            query = query.where(runs_table.c.integration == integration)
        if status:
            query = query.where(runs_table.c.status == status)
        with self._tx() as conn:
            return [dict(r) for r in conn.execute(query).mappings().all()]

    def count(self, *, status: str | None = None) -> int:
        """How many runs (optionally with one status) are recorded."""
        query = sa.select(sa.func.count()).select_from(runs_table)
        if status:
            query = query.where(runs_table.c.status == status)
        with self._tx() as conn:
            return int(conn.execute(query).scalar_one())

    def replayable_failures(
        self, *, integration: str | None = None, limit: int = 10_000
    ) -> builtins.list[dict[str, Any]]:
        """Failed runs not replayed yet (replaying 'all failed' twice must not run anything twice)."""
        replays = sa.select(runs_table.c.replay_of).where(runs_table.c.replay_of.is_not(None))
        query = (
            sa.select(runs_table)
            .where(runs_table.c.status == "failed", runs_table.c.run_id.not_in(replays))
            .order_by(runs_table.c.received_at)
            .limit(limit)
        )
        if integration:
            query = query.where(runs_table.c.integration == integration)
        with self._tx() as conn:
            return [dict(r) for r in conn.execute(query).mappings().all()]

    def prune(self, *, before: datetime, limit: int = 5000) -> int:
        """Delete finished run records received before ``before`` (at most ``limit``); returns how many."""
        with self._tx() as conn:
            ids = (
                conn.execute(
                    sa.select(runs_table.c.run_id)
                    .where(runs_table.c.received_at < before, runs_table.c.status.in_(FINAL_STATUSES))
                    .limit(limit)
                )
                .scalars()
                .all()
            )
            if ids:
                conn.execute(runs_table.delete().where(runs_table.c.run_id.in_(ids)))
        return len(ids)

    def close(self) -> None:
        """Release the engines' connections."""
        self.engine.dispose()
        for engine in self._side_engines:
            engine.dispose()
