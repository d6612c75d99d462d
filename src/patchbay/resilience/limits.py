"""Shared rate and concurrency limits: every process that uses the same database shares them.

    providers:
      primary:
        type: openai
        limits: {requests: 60, per_s: 60, concurrency: 8}    # across ALL workers on all machines

With 50 workers pointed at one PostgreSQL, the provider still sees at most ``requests`` calls per
``per_s`` seconds and ``concurrency`` calls at once. State lives in two small tables of the run
database; each acquire is one short transaction that first locks the key's row (an UPDATE: a row
lock on PostgreSQL, the write lock on SQLite), so two processes cannot both take the last slot.
A lease whose holder died expires after ``lease_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.engine import Engine

from patchbay.observability import metrics
from patchbay.runs.store import metadata

keys_table = sa.Table(
    "patchbay_limit_keys",
    metadata,
    sa.Column("key", sa.String(300), primary_key=True),
    sa.Column("touched_ms", sa.BigInteger, nullable=False),
)
events_table = sa.Table(
    "patchbay_limit_events",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("key", sa.String(300), nullable=False, index=True),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
)
leases_table = sa.Table(
    "patchbay_limit_leases",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("key", sa.String(300), nullable=False, index=True),
    sa.Column("expires_ms", sa.BigInteger, nullable=False),
)


class SharedLimitsConfig(BaseModel):
    """Shared limits of one provider or target (the ``limits:`` key beside ``type:``)."""

    model_config = ConfigDict(extra="forbid")

    requests: int | None = Field(
        default=None, ge=1, description="At most this many calls per per_s, all processes."
    )
    per_s: float = Field(default=60.0, gt=0, description="The rate window, in seconds.")
    concurrency: int | None = Field(
        default=None, ge=1, description="At most this many calls at once, all processes."
    )
    lease_s: float = Field(
        default=300.0, gt=0, description="A concurrency slot of a dead process frees after this."
    )

    @model_validator(mode="after")
    def _something_to_limit(self) -> SharedLimitsConfig:
        if self.requests is None and self.concurrency is None:
            raise ValueError("set requests (with per_s) and/or concurrency; or remove 'limits'")
        return self


def _now_ms() -> int:
    return int(time.time() * 1000)


class SharedLimiter:
    """Acquires a slot for one key (e.g. 'provider:primary') under a :class:`SharedLimitsConfig`."""

    def __init__(self, engine: Engine, key: str, config: SharedLimitsConfig, *, kind: str, name: str) -> None:
        self._engine = engine
        self.key = key
        self.config = config
        self._kind = kind
        self._name = name
        metadata.create_all(engine, tables=[keys_table, events_table, leases_table])
        with contextlib.suppress(sa.exc.IntegrityError), engine.begin() as conn:
            if conn.execute(sa.select(keys_table.c.key).where(keys_table.c.key == key)).first() is None:
                conn.execute(keys_table.insert().values(key=key, touched_ms=_now_ms()))

    def try_acquire(self) -> tuple[str | None, float]:
        """One attempt: (lease id or '' when granted, 0) or (None, seconds to wait before trying again)."""
        cfg = self.config
        now = _now_ms()
        with self._engine.begin() as conn:
            # Lock the key first: concurrent acquirers of this key queue up here.
            conn.execute(keys_table.update().where(keys_table.c.key == self.key).values(touched_ms=now))
            wait_s = 0.0
            if cfg.requests is not None:
                window_ms = int(cfg.per_s * 1000)
                conn.execute(
                    events_table.delete().where(
                        events_table.c.key == self.key, events_table.c.at_ms <= now - window_ms
                    )
                )
                times = (
                    conn.execute(
                        sa.select(events_table.c.at_ms)
                        .where(events_table.c.key == self.key)
                        .order_by(events_table.c.at_ms)
                        .limit(cfg.requests)
                    )
                    .scalars()
                    .all()
                )
                if len(times) >= cfg.requests:
                    wait_s = max(wait_s, (times[0] + window_ms - now) / 1000)
            if cfg.concurrency is not None:
                conn.execute(
                    leases_table.delete().where(
                        leases_table.c.key == self.key, leases_table.c.expires_ms <= now
                    )
                )
                held = conn.execute(
                    sa.select(sa.func.count()).select_from(leases_table).where(leases_table.c.key == self.key)
                ).scalar_one()
                if held >= cfg.concurrency:
                    wait_s = max(wait_s, 0.05)
            if wait_s > 0:
                return None, wait_s
            if cfg.requests is not None:
                conn.execute(events_table.insert().values(id=uuid.uuid4().hex, key=self.key, at_ms=now))
            lease = ""
            if cfg.concurrency is not None:
                lease = uuid.uuid4().hex
                conn.execute(
                    leases_table.insert().values(
                        id=lease, key=self.key, expires_ms=now + int(cfg.lease_s * 1000)
                    )
                )
            return lease, 0.0

    def release(self, lease: str) -> None:
        """Give a concurrency slot back."""
        if lease:
            with self._engine.begin() as conn:
                conn.execute(leases_table.delete().where(leases_table.c.id == lease))

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for a slot, hold it for the body, give it back."""
        started = time.perf_counter()
        while True:
            lease, wait_s = await asyncio.to_thread(self.try_acquire)
            if lease is not None:
                break
            await asyncio.sleep(min(wait_s, 1.0))
        metrics.RATE_LIMIT_WAIT.labels(kind=self._kind, name=self._name).observe(
            time.perf_counter() - started
        )
        try:
            yield
        finally:
            await asyncio.to_thread(self.release, lease)
