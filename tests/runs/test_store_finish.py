"""A recorded outcome is not overwritten by a re-execution of the same run (only 'failed' may be)."""

from __future__ import annotations

from pathlib import Path

from patchbay.pipeline.state import RunState
from patchbay.runs.store import RunStore


def _state(run_id: str) -> RunState:
    return RunState(run_id=run_id, integration="ticket-summary", delivery_id=f"d-{run_id}", event={"k": 1})


def _store(tmp_path: Path) -> RunStore:
    return RunStore(f"sqlite:///{tmp_path / 'runs.sqlite'}")


def test_a_settled_outcome_stays_when_the_run_finishes_again(tmp_path: Path) -> None:
    store = _store(tmp_path)
    state = _state("run_a")
    store.finish(state, status="succeeded")
    # re-executed after a crash past the first finish: the kill switch now says shadow
    store.finish(state, status="shadow")
    store.finish(state, status="failed", error="target down", error_step="write")
    row = store.get("run_a")
    assert row is not None and row["status"] == "succeeded" and row["error"] is None
    store.close()


def test_a_failed_outcome_turns_into_what_a_re_execution_achieved(tmp_path: Path) -> None:
    store = _store(tmp_path)
    state = _state("run_b")
    store.finish(state, status="failed", error="database gone", error_step="write")
    store.finish(state, status="succeeded")
    row = store.get("run_b")
    assert row is not None and row["status"] == "succeeded"
    store.close()


def test_finish_creates_a_missing_record_once(tmp_path: Path) -> None:
    store = _store(tmp_path)
    state = _state("run_c")  # a forked replay: no record yet
    store.finish(state, status="succeeded", record_delivery_id="d-run_c#run_c")
    store.finish(state, status="shadow")
    assert store.count() == 1
    row = store.get("run_c")
    assert row is not None and row["status"] == "succeeded" and row["delivery_id"] == "d-run_c#run_c"
    store.close()
