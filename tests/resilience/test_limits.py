"""Shared limits: several processes (here: several limiters on one database) never exceed the rate."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from patchbay.resilience.limits import SharedLimiter, SharedLimitsConfig
from patchbay.runs.databases import sqlalchemy_url


def engines(url: str, n: int) -> list[sa.Engine]:
    return [sa.create_engine(sqlalchemy_url(url), pool_pre_ping=True) for _ in range(n)]


async def hammer(limiters: list[SharedLimiter], calls: int, hold_s: float = 0.0) -> tuple[list[float], int]:
    stamps: list[float] = []
    running = 0
    peak = 0

    async def one(limiter: SharedLimiter) -> None:
        nonlocal running, peak
        async with limiter.slot():
            running += 1
            peak = max(peak, running)
            stamps.append(time.monotonic())
            await asyncio.sleep(hold_s)
            running -= 1

    await asyncio.gather(*[one(limiters[i % len(limiters)]) for i in range(calls)])
    return sorted(stamps), peak


def max_in_window(stamps: list[float], window: float) -> int:
    return max(sum(1 for t in stamps if s <= t < s + window) for s in stamps)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_rate_is_shared_across_processes(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'runs.sqlite'}" if backend == "sqlite" else request.getfixturevalue("pg_url")
    )
    config = SharedLimitsConfig(requests=4, per_s=1.0)
    limiters = [SharedLimiter(e, "provider:p", config, kind="provider", name="p") for e in engines(url, 3)]
    stamps, _ = await hammer(limiters, 10)
    assert len(stamps) == 10
    assert max_in_window(stamps, 0.95) <= 4  # never more than 4 in any second, whichever process asked
    assert stamps[-1] - stamps[0] >= 1.9  # 10 calls at 4/s need more than two windows


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_concurrency_is_shared(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = (
        f"sqlite:///{tmp_path / 'runs.sqlite'}" if backend == "sqlite" else request.getfixturevalue("pg_url")
    )
    config = SharedLimitsConfig(concurrency=2)
    limiters = [SharedLimiter(e, "target:jira", config, kind="target", name="jira") for e in engines(url, 2)]
    stamps, peak = await hammer(limiters, 8, hold_s=0.1)
    assert len(stamps) == 8 and peak <= 2


def test_a_dead_holders_slot_expires(tmp_path: Path) -> None:
    (engine,) = engines(f"sqlite:///{tmp_path / 'runs.sqlite'}", 1)
    limiter = SharedLimiter(
        engine, "provider:x", SharedLimitsConfig(concurrency=1, lease_s=0.2), kind="provider", name="x"
    )
    lease, _ = limiter.try_acquire()
    assert lease  # held, never released (the process "died")
    assert limiter.try_acquire()[0] is None
    time.sleep(0.25)
    assert limiter.try_acquire()[0]


def test_limits_need_something_to_limit() -> None:
    with pytest.raises(ValidationError, match="requests"):
        SharedLimitsConfig()
