"""Which databases a project's runs use: embedded SQLite files by default, PostgreSQL to scale out.

    PATCHBAY_DATABASE_URL=postgresql://user@db-host/patchbay    (or storage.database_url in YAML)

With a PostgreSQL URL both the durable-run engine (DBOS, schema ``dbos``) and the run records
(table ``patchbay_runs``) live in that database, so any number of ``patchbay serve --no-worker`` and
``patchbay worker`` processes on any number of machines share them. With SQLite the two stay in two
files in the data folder: sharing DBOS's file dropped throughput to ~5 runs/s with lock errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from patchbay.config.loader import LoadedProject

ENV_VAR = "PATCHBAY_DATABASE_URL"


@dataclass(frozen=True)
class Databases:
    """The two URLs a process needs, each in the form its library expects."""

    engine_url: str  # DBOS system database (sqlite:///... or postgresql://...)
    runs_url: str  # SQLAlchemy URL of the run records

    @property
    def is_postgres(self) -> bool:
        """True when the durable runs live in PostgreSQL (scale-out mode)."""
        return self.engine_url.startswith("postgresql")

    @property
    def kind(self) -> str:
        """'postgresql' or 'sqlite', for logs and health output."""
        return "postgresql" if self.is_postgres else "sqlite"


def sqlalchemy_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 (the driver DBOS brings); others pass through."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def dbos_url(url: str) -> str:
    """DBOS takes a plain ``postgresql://`` URL."""
    if url.startswith("postgres://"):
        return "postgresql://" + url[len("postgres://") :]
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def resolve(project: LoadedProject, env: Mapping[str, str] | None = None) -> Databases:
    """The databases for ``project``: ``$PATCHBAY_DATABASE_URL`` wins over ``storage.database_url``."""
    variables = project.env if env is None else env  # project.env: the real environment over .env
    override = variables.get(ENV_VAR) or None
    storage = project.config.storage
    engine = override or storage.database_url
    if engine is None:
        data = project.data_dir
        return Databases(
            engine_url=f"sqlite:///{data / 'dbos.sqlite'}",
            runs_url=storage.runs_url or f"sqlite:///{data / 'runs.sqlite'}",
        )
    runs = storage.runs_url or (engine if engine.startswith(("postgresql", "postgres")) else None)
    if runs is None:
        runs = f"sqlite:///{project.data_dir / 'runs.sqlite'}"
    return Databases(engine_url=dbos_url(engine), runs_url=sqlalchemy_url(runs))


def sqlite_engine(url: str, *, synchronous: str = "full") -> Any:
    """A SQLAlchemy engine for DBOS's SQLite file with the pragmas it needs, and ours.

    Like DBOS's own: IMMEDIATE transactions (one writer at a time), a generous busy timeout, foreign
    keys. Ours: ``synchronous`` - ``full`` syncs the WAL on every commit (a 202 survives a power loss);
    ``normal`` syncs at checkpoints only (survives any process crash, may lose the last commits on a
    power loss or OS crash) and roughly doubles throughput on slow disks.
    """
    import sqlalchemy as sa
    from sqlalchemy import event

    # No pool_pre_ping: a SQLite file connection cannot go stale, and DBOS checks a connection out
    # several times per run.
    engine = sa.create_engine(url, hide_parameters=True)
    level = "NORMAL" if synchronous == "normal" else "FULL"

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = "IMMEDIATE"
        dbapi_conn.execute("PRAGMA busy_timeout=30000")
        dbapi_conn.execute("PRAGMA foreign_keys=ON")
        dbapi_conn.execute(f"PRAGMA synchronous={level}")

    return engine
