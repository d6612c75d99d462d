"""Fixtures for durable-run tests: an in-process engine on SQLite or PostgreSQL, and an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from fakes import FakeJira, FakeOpenAI
from patchbay.config.loader import load_project
from patchbay.intake.app import create_app
from patchbay.pipeline.build import build_runtime
from patchbay.runs.databases import resolve
from patchbay.runs.durable import DurableEngine
from patchbay.runs.store import RunStore
from projects import write_project


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> dict[str, str]:
    """The same project on the embedded SQLite files and on PostgreSQL (PATCHBAY_DATABASE_URL)."""
    if request.param == "sqlite":
        return {}
    return {"PATCHBAY_DATABASE_URL": request.getfixturevalue("pg_url")}


@pytest.fixture
def engine(
    tmp_path: Path,
    fake_openai: FakeOpenAI,
    fake_jira: FakeJira,
    backend: dict[str, str],
    request: pytest.FixtureRequest,
) -> Iterator[DurableEngine]:
    providers = getattr(request, "param", "[primary, backup]")
    root = write_project(
        tmp_path / "proj",
        openai_url=fake_openai.server.url,
        jira_url=fake_jira.server.url,
        providers=providers,
    )
    project = load_project(root, env=backend)
    runtime = build_runtime(project)
    store = RunStore(resolve(project).runs_url)
    eng = DurableEngine(runtime, store, executor_id="test-executor")
    eng.launch()
    yield eng
    eng.shutdown(timeout_s=0)
    store.close()


@pytest.fixture
async def client(engine: DurableEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(engine.runtime, engine, admin=engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pb") as c:
        yield c
