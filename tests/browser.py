"""Helpers for the console's browser tests: a real ``patchbay serve`` and the system Chromium.

Chromium comes from Debian's package (/usr/bin/chromium, installed by scripts/ensure-chromium.sh) and
is driven by Playwright for Python; Playwright's own browser downloads are never used. Without either,
the browser tests skip with the reason - except under CI=true, where they fail.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

import procs
from fakes import FakeJira, FakeOpenAI
from projects import encode, signed, ticket, write_project
from servers import missing

SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "console"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ANSWER = (
    "EU customers hit a checkout timeout after the 2.14.1 deploy. "
    "Retrying does not help, so the release is the likely cause."
)
ADMIN_TOKEN = "stage-admin-token-0123456789abcdef"


def chromium_path() -> str:
    """The system Chromium, or skip (fail under CI) saying how to install it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        missing(
            "Chromium is not installed (sudo apt-get install -y chromium, or bash scripts/ensure-chromium.sh)"
        )
    assert found is not None
    return found


@dataclass
class Server:
    """A running ``patchbay serve`` and the fakes behind it."""

    url: str
    root: Path
    jira: FakeJira
    model: FakeOpenAI

    def deliver(self, key: str, delivery_id: str, description: str | None = None) -> str:
        """Send a signed Jira webhook; the new run's id."""
        body = encode(ticket(key, description))
        resp = httpx.post(
            f"{self.url}/hooks/ticket-summary",
            content=body,
            headers=signed(body, delivery_id=delivery_id),
            timeout=10,
        )
        assert resp.status_code == 202, resp.text
        return str(resp.json()["run_id"])

    def run(self, run_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        resp = httpx.get(f"{self.url}/admin/runs/{run_id}", headers=headers, timeout=10)
        assert resp.status_code == 200, resp.text
        data: dict[str, Any] = resp.json()
        return data

    def wait_final(self, run_id: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = self.run(run_id)
            if row["status"] not in ("queued", "running"):
                return row
            time.sleep(0.1)
        raise AssertionError(f"run {run_id} did not finish: {self.run(run_id)}")


def start(tmp: Path, *extra: str, admin_token: str | None = None) -> tuple[Server, Any]:
    model = FakeOpenAI(ANSWER)
    model.server.start()
    jira = FakeJira()
    jira.server.start()
    root = write_project(tmp / "proj", openai_url=model.server.url, jira_url=jira.server.url)
    if admin_token is not None:
        text = (root / "patchbay.yaml").read_text()
        server_block = "project: t\nserver:\n  admin_token: ${secret:ADMIN_TOKEN}\n"
        (root / "patchbay.yaml").write_text(text.replace("project: t\n", server_block, 1))
        with (root / ".env").open("a") as env:
            env.write(f"ADMIN_TOKEN={admin_token}\n")
    port = procs.free_port()
    proc = procs.serve(root, port, tmp / "serve.log", *extra)
    return Server(f"http://127.0.0.1:{port}", root, jira, model), proc
