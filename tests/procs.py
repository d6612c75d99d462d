"""Start and stop real ``patchbay`` processes for tests (serve, serve --no-worker, worker)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(
    root: Path, args: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``python -m patchbay ARGS --config ROOT``, output appended to ``log``."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env.pop("ENVIRONMENT", None)
    return subprocess.Popen(
        [sys.executable, "-m", "patchbay", *args, "--config", str(root), "--log-console"],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env=full_env,
        cwd=root,
    )


def wait_healthy(proc: subprocess.Popen[bytes], port: int, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"patchbay exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"patchbay did not become healthy:\n{log.read_text()[-4000:]}")


def wait_started(
    proc: subprocess.Popen[bytes], log: Path, marker: str = "running", timeout: float = 60
) -> None:
    """Wait until a worker printed its start line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"worker exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        if marker in log.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise AssertionError(f"worker did not start:\n{log.read_text()[-4000:]}")


def serve(
    root: Path, port: int, log: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    proc = spawn(root, ["serve", "--port", str(port), *extra], log, env)
    wait_healthy(proc, port, log)
    return proc


def worker(
    root: Path, executor_id: str, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    proc = spawn(root, ["worker", "--executor-id", executor_id], log, env)
    wait_started(proc, log, marker=f"patchbay worker {executor_id}")
    return proc


def stop(proc: subprocess.Popen[bytes], *, kill: bool = False, timeout: float = 30) -> int:
    """SIGTERM (graceful) or SIGKILL, then wait; returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(10)
