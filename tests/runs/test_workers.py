"""Real processes: intake-only + two workers on PostgreSQL, a worker killed with SIGKILL, graceful SIGTERM."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

import procs
from fakes import FakeJira, FakeOpenAI
from patchbay.runs.store import FINAL_STATUSES, RunStore
from projects import encode, signed, ticket, write_project

pytestmark = pytest.mark.timeout(240)

FAST_FAILOVER = "  heartbeat_s: 0.5\n  dead_after_s: 3\n"


def post(port: int, key: str, delivery_id: str) -> str:
    body = encode(ticket(key))
    resp = httpx.post(
        f"http://127.0.0.1:{port}/hooks/ticket-summary",
        content=body,
        headers=signed(body, delivery_id=delivery_id),
        timeout=10,
    )
    assert resp.status_code == 202, resp.text
    return str(resp.json()["run_id"])


def wait_all_final(store: RunStore, run_ids: list[str], timeout: float) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = [store.get(r) for r in run_ids]
        if all(r is not None and r["status"] in FINAL_STATUSES for r in rows):
            return [r for r in rows if r is not None]
        time.sleep(0.2)
    raise AssertionError(f"not all runs finished: {[(r['run_id'], r['status']) for r in rows if r]}")


def test_two_workers_share_work_and_a_killed_workers_runs_finish_on_the_other(
    tmp_path: Path, pg_url: str, fake_openai: FakeOpenAI, fake_jira: FakeJira
) -> None:
    root = write_project(
        tmp_path / "proj",
        openai_url=fake_openai.server.url,
        jira_url=fake_jira.server.url,
        runtime=FAST_FAILOVER,
    )
    env = {"PATCHBAY_DATABASE_URL": pg_url}
    port = procs.free_port()
    intake = procs.serve(
        root, port, tmp_path / "intake.log", "--no-worker", "--executor-id", "intake-1", env=env
    )
    fake_openai.gate.clear()  # every model call waits: the runs stay in flight
    worker_a = procs.worker(root, "w-a", tmp_path / "a.log", env=env)
    worker_b = procs.worker(root, "w-b", tmp_path / "b.log", env=env)
    store = RunStore(pg_url)
    try:
        run_ids = [post(port, f"SUP-{100 + n}", f"tw-{n}") for n in range(6)]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            running = {r["executor_id"] for r in store.list(status="running", limit=100)}
            if running >= {"w-a", "w-b"}:
                break
            time.sleep(0.2)
        assert running >= {"w-a", "w-b"}, f"work was not shared: {running}"  # both workers took runs
        on_a = [r["run_id"] for r in store.list(status="running", limit=100) if r["executor_id"] == "w-a"]

        killed_at = time.monotonic()
        procs.stop(worker_a, kill=True)
        fake_openai.gate.set()
        rows = wait_all_final(store, run_ids, timeout=60)
        recovered_in = time.monotonic() - killed_at
    finally:
        fake_openai.gate.set()
        for proc in (worker_a, worker_b, intake):
            procs.stop(proc)
        store.close()

    assert [r["status"] for r in rows] == ["succeeded"] * 6
    assert {r["executor_id"] for r in rows if r["run_id"] in on_a} == {"w-b"}  # finished by the survivor
    assert recovered_in < 30  # dead_after_s (3 s) + a heartbeat + the remaining steps
    written = sorted(r.path.split("?")[0].rsplit("/", 1)[-1] for r in fake_jira.accepted)
    assert written == sorted(f"SUP-{100 + n}" for n in range(6))  # each exactly once
    assert "runs.executor_dead" in (tmp_path / "b.log").read_text()
    assert "Unclosed client session" not in (tmp_path / "b.log").read_text()  # SIGTERM closed them


def test_sigterm_lets_the_in_flight_run_finish(
    tmp_path: Path, fake_openai: FakeOpenAI, fake_jira: FakeJira
) -> None:
    root = write_project(tmp_path / "proj", openai_url=fake_openai.server.url, jira_url=fake_jira.server.url)
    port = procs.free_port()
    server = procs.serve(root, port, tmp_path / "serve.log", "--shutdown-timeout", "20")
    fake_openai.delay_s = 2.0
    run_id = post(port, "SUP-200", "gs-1")
    assert fake_openai.arrived.wait(20)
    started = time.monotonic()
    code = procs.stop(server)  # SIGTERM while the model call is in flight
    assert code == 0
    assert time.monotonic() - started >= 1.0  # it waited for the step instead of dropping it
    store = RunStore(f"sqlite:///{root / '.patchbay' / 'runs.sqlite'}")
    row = store.get(run_id)
    store.close()
    assert row is not None and row["status"] == "succeeded"
    assert len(fake_jira.accepted) == 1
    assert "Unclosed" not in (tmp_path / "serve.log").read_text()  # its HTTP clients were closed


def test_sigterm_past_the_deadline_leaves_the_run_to_be_resumed(
    tmp_path: Path, fake_openai: FakeOpenAI, fake_jira: FakeJira
) -> None:
    root = write_project(tmp_path / "proj", openai_url=fake_openai.server.url, jira_url=fake_jira.server.url)
    port = procs.free_port()
    log = tmp_path / "serve.log"
    server = procs.serve(root, port, log, "--shutdown-timeout", "1", "--executor-id", "gs")
    fake_openai.gate.clear()
    run_id = post(port, "SUP-201", "gs-2")
    assert fake_openai.arrived.wait(20)
    started = time.monotonic()
    procs.stop(server)
    assert time.monotonic() - started < 15  # the deadline holds even with a stuck model call
    assert fake_jira.accepted == []
    fake_openai.gate.set()
    again = procs.serve(root, port, log, "--executor-id", "gs")
    store = RunStore(f"sqlite:///{root / '.patchbay' / 'runs.sqlite'}")
    try:
        rows = wait_all_final(store, [run_id], timeout=60)
    finally:
        procs.stop(again)
        store.close()
    assert rows[0]["status"] == "succeeded" and len(fake_jira.accepted) == 1
