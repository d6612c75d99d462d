"""The short chaos run: ~100 deliveries with re-sends while processes are SIGKILLed - 0 lost, 0 duplicated.

The long one (500 deliveries, 50 kills, PostgreSQL restarts) is `make chaos`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos import run_chaos

pytestmark = pytest.mark.timeout(420)


def test_chaos_sqlite(tmp_path: Path) -> None:
    result = run_chaos(tmp_path, backend="sqlite", deliveries=100, kills=4, settle_s=150)
    print(result.report())
    assert result.acknowledged == 100 and result.kills == 4
    assert result.ok, result.report()
    assert result.records_done == 100 and result.writes == 100


def test_chaos_postgres(tmp_path: Path, pg_url: str) -> None:
    result = run_chaos(tmp_path, backend="postgres", pg_url=pg_url, deliveries=100, kills=4, settle_s=150)
    print(result.report())
    assert result.acknowledged == 100 and result.kills == 4
    assert result.ok, result.report()
    assert result.records_done == 100 and result.writes == 100
