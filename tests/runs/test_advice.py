"""A dead-lettered run stores "what to do next", and 'patchbay runs show' prints it."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from fakes import FakeJira, json_reply
from patchbay.cli import app
from patchbay.runs.durable import DurableEngine
from projects import encode, signed, ticket, wait_final


async def test_a_dead_lettered_run_stores_the_advice_and_runs_show_prints_it(
    engine: DurableEngine,
    client: httpx.AsyncClient,
    fake_jira: FakeJira,
    backend: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_jira.fail_field_puts.append(json_reply(401, {"errorMessages": ["You are not authenticated."]}))
    body = encode(ticket("SUP-31"))
    resp = await client.post("/hooks/ticket-summary", content=body, headers=signed(body, delivery_id="adv-1"))
    assert resp.status_code == 202, resp.text
    row = await wait_final(engine.store, resp.json()["run_id"])
    assert row["status"] == "failed" and row["error_step"] == "write"
    stored = row["attempts"][-1]["advice"]
    assert "Credentials rejected by the target system" in stored and "patchbay doctor" in stored

    for name, value in backend.items():
        monkeypatch.setenv(name, value)
    root = str(engine.runtime.project.root)
    shown = CliRunner().invoke(app, ["runs", "show", row["run_id"], "-c", root])
    assert shown.exit_code == 0, shown.output
    assert "advice" in shown.stdout and "Credentials rejected" in shown.stdout
    as_json = CliRunner().invoke(app, ["runs", "show", row["run_id"], "-c", root, "--json"])
    assert json.loads(as_json.stdout)["advice"] == stored
