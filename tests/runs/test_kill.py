"""A process killed with SIGKILL mid-run resumes at the last finished step and writes once."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from threading import Event

import httpx
import pytest

from fakes import FakeJira, FakeOpenAI
from patchbay.runs.store import FINAL_STATUSES, RunStore
from projects import encode, signed, ticket, write_project

pytestmark = pytest.mark.timeout(180)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_serve(root: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("ENVIRONMENT", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "patchbay",
            "serve",
            "--config",
            str(root),
            "--port",
            str(port),
            "--executor-id",
            "kill-test",
            "--log-console",
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env=env,
        cwd=root,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"patchbay serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"patchbay serve did not become healthy:\n{log.read_text()}")


def wait_final(store: RunStore, run_id: str, timeout: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = store.get(run_id)
        if row is not None and row["status"] in FINAL_STATUSES:
            return row
        time.sleep(0.2)
    raise AssertionError(f"run did not finish: {store.get(run_id)}")


def deliver_then_kill(root: Path, port: int, log: Path, key: str, delivery_id: str, reached: Event) -> str:
    """Start serve, deliver one ticket, SIGKILL the process once ``reached`` is set; the run id."""
    first = start_serve(root, port, log)
    try:
        body = encode(ticket(key))
        resp = httpx.post(
            f"http://127.0.0.1:{port}/hooks/ticket-summary",
            content=body,
            headers=signed(body, delivery_id=delivery_id),
            timeout=10,
        )
        assert resp.status_code == 202, resp.text
        assert reached.wait(30), "the run never reached the held call"
        return str(resp.json()["run_id"])
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)


def test_kill_9_mid_model_call_resumes_and_writes_once(
    tmp_path: Path, fake_openai: FakeOpenAI, fake_jira: FakeJira
) -> None:
    root = write_project(tmp_path / "proj", openai_url=fake_openai.server.url, jira_url=fake_jira.server.url)
    port = free_port()
    log = tmp_path / "serve.log"
    fake_openai.gate.clear()  # the model call hangs until the process is dead
    run_id = deliver_then_kill(root, port, log, "SUP-42", "kill-1", fake_openai.arrived)
    assert fake_jira.field_writes() == []
    body = encode(ticket("SUP-42"))

    fake_openai.gate.set()
    second = start_serve(root, port, log)
    try:
        store = RunStore(f"sqlite:///{root / '.patchbay' / 'runs.sqlite'}")
        row = wait_final(store, run_id)
        # a redelivery after the crash is still recognised
        again = httpx.post(
            f"http://127.0.0.1:{port}/hooks/ticket-summary",
            content=body,
            headers=signed(body, delivery_id="kill-1"),
            timeout=10,
        )
        assert again.status_code == 200 and again.json()["duplicate"] is True
    finally:
        second.terminate()
        second.wait(20)
    store.close()

    assert row["status"] == "succeeded", row
    assert len(fake_jira.field_writes()) == 1
    assert len(fake_openai.completions()) == 2  # the interrupted call, then the resumed one
    started = re.findall(r"run\.step_started.*?step=(\w+)", log.read_text())
    # validate..model are one checkpoint: its pure steps ran again with the interrupted model call
    assert started.count("validate") == 2, started
    assert started.count("model") == 2, started
    assert started.count("write") == 1, started


def test_kill_9_mid_write_resumes_after_the_model_and_writes_once(
    tmp_path: Path, fake_openai: FakeOpenAI, fake_jira: FakeJira
) -> None:
    root = write_project(tmp_path / "proj", openai_url=fake_openai.server.url, jira_url=fake_jira.server.url)
    port = free_port()
    log = tmp_path / "serve.log"
    fake_jira.put_gate.clear()  # the field write hangs until the process is dead
    run_id = deliver_then_kill(root, port, log, "SUP-43", "kill-2", fake_jira.put_arrived)
    fake_jira.put_gate.set()  # the write the dead process sent lands now, as a slow server's would
    deadline = time.monotonic() + 10
    while not fake_jira.accepted and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(fake_jira.accepted) == 1

    second = start_serve(root, port, log)
    try:
        store = RunStore(f"sqlite:///{root / '.patchbay' / 'runs.sqlite'}")
        row = wait_final(store, run_id)
    finally:
        second.terminate()
        second.wait(20)
    store.close()

    assert row["status"] == "succeeded", row
    assert row["write_status"] == "already_written"  # checked before writing: not written twice
    assert len(fake_jira.accepted) == 1
    assert len(fake_openai.completions()) == 1  # the recorded answer was reused, not asked again
    started = re.findall(r"run\.step_started.*?step=(\w+)", log.read_text())
    assert started.count("model") == 1, started
    assert started.count("postprocess") == 2, started  # the last group ran again: pure, then a checked write
    assert started.count("write") == 2, started
