"""The run store keeps a fixed pool of `storage.pool_size` connections: a burst of writes from many
runs at once waits for a free connection instead of opening (and closing again) extra ones."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import event

from patchbay.cli.run import run_store_for
from patchbay.config.loader import load_project
from patchbay.errors import ConfigError
from patchbay.pipeline.state import RunState
from patchbay.runs.executors import ExecutorRegistry
from patchbay.runs.store import RunStore

PROJECT = """\
project: pool
storage:
  pool_size: {size}
providers:
  quick:
    type: extractive
targets:
  out:
    type: memory
integrations:
  summary:
    trigger:
      source: jira
      events: [jira:issue_created]
      secret: s3cret-s3cret-s3cret
    steps:
      - write:
          target: out
"""


def test_a_burst_of_run_writes_never_opens_more_than_pool_size_connections(tmp_path: Path) -> None:
    store = RunStore(f"sqlite:///{tmp_path / 'runs.sqlite'}", pool_size=3)
    opened: list[object] = []
    event.listen(store.engine, "connect", lambda conn, record: opened.append(conn))
    start = threading.Barrier(24)

    def one_run(n: int) -> None:
        state = RunState(run_id=f"run_{n}", integration="summary", delivery_id=f"d-{n}", event={"n": n})
        start.wait()
        store.mark_running(state)  # creates the record (no intake here), then marks it
        store.finish(state, status="succeeded")

    threads = [threading.Thread(target=one_run, args=(n,)) for n in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert store.count(status="succeeded") == 24  # every write got through, waiting its turn
    assert 1 <= len(opened) <= 3  # SQLAlchemy's default pool opened up to 15 here, closing 10 again
    store.close()


def test_pool_size_comes_from_the_storage_section(tmp_path: Path) -> None:
    (tmp_path / "patchbay.yaml").write_text(PROJECT.format(size=4))
    store = run_store_for(load_project(tmp_path, env={}))
    try:
        assert store.engine.pool.size() == 4  # type: ignore[attr-defined]
        assert store.engine.pool._max_overflow == 0  # type: ignore[attr-defined]
    finally:
        store.close()


def test_a_pool_size_of_zero_is_refused_with_the_field_named(tmp_path: Path) -> None:
    (tmp_path / "patchbay.yaml").write_text(PROJECT.format(size=0))
    with pytest.raises(ConfigError) as exc:
        load_project(tmp_path, env={})
    assert "storage.pool_size" in str(exc.value) + " ".join(str(i) for i in exc.value.issues)


def test_heartbeats_do_not_queue_behind_run_record_writes(tmp_path: Path) -> None:
    """Every run-record connection busy (a burst of writes) must not delay this worker's heartbeat:
    a stale heartbeat gets a live worker declared dead and its runs taken over by a peer."""
    store = RunStore(f"sqlite:///{tmp_path / 'runs.sqlite'}", pool_size=1)
    registry = ExecutorRegistry(
        store.side_engine(), executor_id="w-1", app_version="1", role="worker", recover=lambda _: 0
    )
    held = store.engine.connect()  # the run records' only connection, taken
    try:
        beat = threading.Thread(target=registry.beat)
        beat.start()
        beat.join(5)  # a shared pool would wait pool_timeout (30 s) here
        assert not beat.is_alive()
    finally:
        held.close()
        store.close()


def test_an_in_memory_sqlite_url_still_works(tmp_path: Path) -> None:
    store = RunStore("sqlite://", pool_size=4)  # one connection per thread: no pool size applies
    state = RunState(run_id="run_m", integration="summary", delivery_id="d-m", event={})
    store.mark_running(state)
    assert store.get("run_m") is not None
    store.close()
