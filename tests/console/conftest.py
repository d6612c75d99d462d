"""Fixtures for the console tests: a real ``patchbay serve`` with runs made through the real pipeline,
and a fresh headless Chromium profile to drive it (see tests/browser.py).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import procs
from browser import ADMIN_TOKEN, CHROMIUM_ARGS, SCREENSHOTS, Server, chromium_path, start
from fakes import json_reply
from servers import missing


@pytest.fixture(scope="module")
def browser_context() -> Iterator[Any]:
    """A fresh headless Chromium profile (Playwright's persistent context on the system browser)."""
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed (pip install -e '.[dev]')")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pb-chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1360, "height": 900},
        )
        context.set_default_timeout(15_000)
        yield context
        context.close()


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``patchbay serve`` in dev (the console is open on localhost) with a succeeded and a failed run."""
    server, proc = start(tmp_path_factory.mktemp("console-dev"))
    try:
        ok = server.deliver("SUP-101", "console-ok")
        assert server.wait_final(ok)["status"] == "succeeded"
        # Jira refuses the next field write once: that run fails at the write step (replayable).
        server.jira.fail_field_puts.append(
            json_reply(400, {"errorMessages": [], "errors": {"customfield_10050": "Field cannot be set"}})
        )
        bad = server.deliver("SUP-102", "console-bad")
        assert server.wait_final(bad)["status"] == "failed"
        rated = httpx.post(
            f"{server.url}/api/runs/{ok}/feedback",
            json={"useful": True, "comment": "Spot on, saved me a read"},
        )
        assert rated.status_code == 201, rated.text
        server.ok_run, server.failed_run = ok, bad  # type: ignore[attr-defined]
        yield server
    finally:
        procs.stop(proc)
        server.jira.server.stop()
        server.model.server.stop()


@pytest.fixture(scope="module")
def stage_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``patchbay serve --env stage`` with an admin token: the console needs a login."""
    server, proc = start(tmp_path_factory.mktemp("console-stage"), "--env", "stage", admin_token=ADMIN_TOKEN)
    try:
        yield server
    finally:
        procs.stop(proc)
        server.jira.server.stop()
        server.model.server.stop()
