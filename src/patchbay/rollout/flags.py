"""Flag decisions: deterministic, sticky by key, overridable at run time without a restart.

    decision = Flags(engine, config).decide("ticket-summary", rollout, event)

Precedence: an override set at run time (``patchbay flags set``, the admin API, the console - the kill
switch) wins; then, with ``flags.source: openfeature``, the OpenFeature client; then the YAML. A
deny-listed key never runs; an allow-listed key always runs and writes. In ``percent`` mode the key's
bucket is ``sha256(integration:value) mod 10000``: the same ticket always gets the same answer.
"""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine

from patchbay.observability import metrics
from patchbay.paths import MISSING, get_path
from patchbay.pipeline.state import FlagDecision
from patchbay.rollout.config import FlagsConfig, Mode, RolloutConfig
from patchbay.runs.store import metadata

log = structlog.get_logger("patchbay.rollout")

flags_table = sa.Table(
    "patchbay_flags",
    metadata,
    sa.Column("integration", sa.String(200), primary_key=True),
    sa.Column("mode", sa.String(20), nullable=False),
    sa.Column("percent", sa.Float, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("updated_by", sa.String(200), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

MODES: tuple[Mode, ...] = ("off", "shadow", "percent", "on")


def bucket_of(integration: str, value: str) -> int:
    """A stable bucket in 0..9999 for a sticky-key value."""
    digest = hashlib.sha256(f"{integration}:{value}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10_000


class Flags:
    """Decides per run, with overrides read from the database (cached ``cache_s``)."""

    def __init__(self, engine: Engine, config: FlagsConfig | None = None) -> None:
        self._engine = engine
        self.config = config or FlagsConfig()
        self._cache: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._lock = threading.Lock()
        flags_table.create(engine, checkfirst=True)

    # -- overrides -------------------------------------------------------------------------------
    def override(self, integration: str, *, fresh: bool = False) -> dict[str, Any] | None:
        """The run-time override of an integration, or None (cached for ``cache_s``)."""
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(integration)
            if cached is not None and not fresh and now - cached[0] < self.config.cache_s:
                return cached[1]
        with self._engine.begin() as conn:
            row = (
                conn.execute(sa.select(flags_table).where(flags_table.c.integration == integration))
                .mappings()
                .first()
            )
        value = dict(row) if row is not None else None
        with self._lock:
            self._cache[integration] = (now, value)
        return value

    def in_memory(self, integration: str) -> bool:
        """True when a decision for ``integration`` needs no I/O now (its override is cached and fresh,
        and no OpenFeature provider is asked): callers on an event loop can then decide inline."""
        if self.config.source == "openfeature":
            return False
        with self._lock:
            cached = self._cache.get(integration)
        return cached is not None and time.monotonic() - cached[0] < self.config.cache_s

    def set(
        self,
        integration: str,
        *,
        mode: Mode,
        percent: float | None = None,
        reason: str | None = None,
        by: str | None = None,
    ) -> dict[str, Any]:
        """Set (or replace) the override; every process sees it within ``cache_s``."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        if mode == "percent" and not percent:
            raise ValueError("mode percent needs --percent between 0 and 100 (exclusive of 0)")
        if percent is not None and not 0 <= percent <= 100:
            raise ValueError("percent must be between 0 and 100")
        row = {
            "integration": integration,
            "mode": mode,
            "percent": percent,
            "reason": reason,
            "updated_by": by,
            "updated_at": datetime.now(UTC),
        }
        with self._engine.begin() as conn:
            done = conn.execute(
                flags_table.update().where(flags_table.c.integration == integration).values(**row)
            )
            if done.rowcount == 0:
                conn.execute(flags_table.insert().values(**row))
        with self._lock:
            self._cache.pop(integration, None)
        log.warning("rollout.flag_set", integration=integration, mode=mode, percent=percent, by=by)
        return row

    def clear(self, integration: str) -> bool:
        """Remove the override: the YAML (or OpenFeature) decides again."""
        with self._engine.begin() as conn:
            done = conn.execute(flags_table.delete().where(flags_table.c.integration == integration))
        with self._lock:
            self._cache.pop(integration, None)
        return done.rowcount > 0

    def all_overrides(self) -> list[dict[str, Any]]:
        """Every override, for listings."""
        with self._engine.begin() as conn:
            return [dict(r) for r in conn.execute(sa.select(flags_table)).mappings().all()]

    # -- decisions -------------------------------------------------------------------------------
    def effective(
        self, integration: str, rollout: RolloutConfig, *, fresh: bool = False
    ) -> tuple[Mode, float, str]:
        """(mode, percent, source) after overrides."""
        override = self.override(integration, fresh=fresh)
        if override is not None:
            return override["mode"], float(override["percent"] or rollout.percent), "override"
        if self.config.source == "openfeature":
            found = _openfeature(integration, rollout)
            if found is not None:
                return found[0], found[1], "openfeature"
        return rollout.mode, rollout.percent, "config"

    def decide(self, integration: str, rollout: RolloutConfig, event: dict[str, Any]) -> FlagDecision:
        """The decision for one run."""
        mode, percent, source = self.effective(integration, rollout)
        raw = get_path(event, rollout.sticky_key)
        key = "" if raw is MISSING or raw is None else str(raw)
        bucket = bucket_of(integration, key)
        decision = _decide(mode, percent, rollout, key, bucket, source)
        metrics.FLAG_DECISIONS.labels(integration=integration, outcome=decision.outcome).inc()
        return decision

    def writes_allowed(self, integration: str, rollout: RolloutConfig, decision: FlagDecision) -> bool:
        """Right before writing: still allowed? (The kill switch stops writes within ``cache_s``.)"""
        if not decision.write:
            return False
        mode, _, _ = self.effective(integration, rollout)
        return mode in ("on", "percent")


def _decide(
    mode: Mode, percent: float, rollout: RolloutConfig, key: str, bucket: int, source: str
) -> FlagDecision:
    base = {"mode": mode, "percent": percent, "key": key, "bucket": bucket, "source": source}
    if key and key in rollout.deny:
        return FlagDecision(run=False, write=False, reason="key is deny-listed", **base)
    if mode == "off":
        return FlagDecision(run=False, write=False, reason="flag is off", **base)
    if key and key in rollout.allow:
        return FlagDecision(run=True, write=True, reason="key is allow-listed", **base)
    if mode == "shadow":
        return FlagDecision(run=True, write=False, reason="shadow: run and record, write nothing", **base)
    if mode == "percent":
        if bucket < percent * 100:
            return FlagDecision(run=True, write=True, reason=f"bucket {bucket} < {percent:g}%", **base)
        shadow = rollout.rest == "shadow"
        return FlagDecision(
            run=shadow, write=False, reason=f"bucket {bucket} outside {percent:g}% ({rollout.rest})", **base
        )
    return FlagDecision(run=True, write=True, reason="flag is on", **base)


def _openfeature(integration: str, rollout: RolloutConfig) -> tuple[Mode, float] | None:
    try:
        from openfeature import api
    except ImportError:
        log.warning("rollout.openfeature_missing", hint="pip install openfeature-sdk")
        return None
    client = api.get_client("patchbay")
    mode = client.get_string_value(f"patchbay.{integration}.mode", rollout.mode)
    percent = client.get_float_value(f"patchbay.{integration}.percent", rollout.percent)
    if mode not in MODES:
        log.warning("rollout.openfeature_bad_mode", integration=integration, mode=mode)
        return None
    return mode, float(percent)  # type: ignore[return-value]
