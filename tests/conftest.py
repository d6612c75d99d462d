"""Shared fixtures: fake Jira and fake OpenAI servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog

from fakes import FakeJira, FakeOpenAI
from pg import fresh_database

SUMMARY = (
    "EU customers hit a checkout timeout after the 2.14.1 deploy. "
    "Retrying does not help, so the release is the likely cause."
)


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    """Commands configure structlog process-wide; give every test the defaults back."""
    yield
    structlog.reset_defaults()


@pytest.fixture
def fake_jira() -> Iterator[FakeJira]:
    jira = FakeJira()
    jira.server.start()
    yield jira
    jira.server.stop()


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    model = FakeOpenAI(SUMMARY)
    model.server.start()
    yield model
    model.gate.set()
    model.server.stop()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (skips without a server, fails under CI=true)."""
    yield from fresh_database()


_exit_status = 0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _exit_status
    _exit_status = int(exitstatus)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Never let a leftover background thread (a DBOS engine a failed test did not stop) hang CI."""
    import os
    import threading

    from dbos import DBOS

    DBOS.destroy(workflow_completion_timeout_sec=0)
    lingering = [
        t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon and t.is_alive()
    ]
    for thread in lingering:
        thread.join(timeout=5)
    lingering = [t for t in lingering if t.is_alive()]
    if lingering:
        names = ", ".join(t.name for t in lingering)
        print(f"\nconftest: exiting past {len(lingering)} lingering thread(s): {names}", flush=True)
        os._exit(_exit_status)
