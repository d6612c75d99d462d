"""Flags and feedback on real runs: shadow writes nothing, the kill switch stops writes, ratings are kept."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from fakes import FakeJira, FakeOpenAI
from patchbay.intake.admin_ops import feedback_links
from patchbay.runs.durable import DurableEngine
from patchbay.runs.feedback import FeedbackStore
from projects import encode, signed, ticket, wait_final

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


async def deliver(client: httpx.AsyncClient, key: str) -> str:
    body = encode(ticket(key))
    resp = await client.post(
        "/hooks/ticket-summary", content=body, headers=signed(body, delivery_id=f"d-{key}")
    )
    assert resp.status_code == 202, resp.text
    return str(resp.json()["run_id"])


async def test_shadow_runs_everything_and_writes_nothing(
    engine: DurableEngine, client: httpx.AsyncClient, fake_jira: FakeJira, fake_openai: FakeOpenAI
) -> None:
    resp = await client.put("/admin/flags/ticket-summary", json={"mode": "shadow", "reason": "pilot week 1"})
    assert resp.status_code == 200 and resp.json()["effective"]["mode"] == "shadow"
    row = await wait_final(engine.store, await deliver(client, "SUP-60"))
    assert row["status"] == "shadow" and row["flag_mode"] == "shadow"
    assert row["output"] and row["write_status"] == "dry_run"  # the summary exists: it just was not written
    assert row["state"]["flag"]["reason"].startswith("shadow")
    assert len(fake_openai.completions()) == 1 and fake_jira.accepted == []


async def test_off_skips_the_run_and_records_why(
    engine: DurableEngine, client: httpx.AsyncClient, fake_openai: FakeOpenAI
) -> None:
    await client.put("/admin/flags/ticket-summary", json={"mode": "off"})
    row = await wait_final(engine.store, await deliver(client, "SUP-61"))
    assert row["status"] == "skipped" and row["flag_mode"] == "off"
    assert fake_openai.completions() == []


async def test_kill_switch_stops_writes_of_runs_in_flight_within_seconds(
    engine: DurableEngine, client: httpx.AsyncClient, fake_jira: FakeJira, fake_openai: FakeOpenAI
) -> None:
    fake_openai.gate.clear()  # the run is decided ("on") and waits at the model
    run_id = await deliver(client, "SUP-62")
    assert await asyncio.to_thread(fake_openai.arrived.wait, 20)
    flipped = await client.put("/admin/flags/ticket-summary", json={"mode": "off", "reason": "bad summaries"})
    assert flipped.status_code == 200
    fake_openai.gate.set()
    row = await wait_final(engine.store, run_id)
    assert fake_jira.accepted == []  # decided before the switch, but the write was stopped
    assert row["write_status"] == "dry_run" and row["status"] == "shadow"
    cleared = await client.delete("/admin/flags/ticket-summary")
    assert cleared.json()["effective"]["source"] == "config"


async def test_flag_api_errors(client: httpx.AsyncClient) -> None:
    bad = await client.put("/admin/flags/ticket-summary", json={"mode": "sometimes"})
    assert bad.status_code == 400 and "mode must be one of" in bad.json()["error"]["message"]
    missing = await client.put("/admin/flags/nope", json={"mode": "off"})
    assert missing.status_code == 404
    listed = await client.get("/admin/flags")
    assert [f["integration"] for f in listed.json()["flags"]] == ["ticket-summary"]


async def test_feedback_by_api_and_by_signed_link(engine: DurableEngine, client: httpx.AsyncClient) -> None:
    run_id = await deliver(client, "SUP-63")
    await wait_final(engine.store, run_id)
    resp = await client.post(
        f"/api/runs/{run_id}/feedback", json={"useful": False, "comment": "missed the SLA"}
    )
    assert resp.status_code == 201
    links = feedback_links(engine.runtime.project, run_id)
    up = await client.get(links["up"].replace("http://127.0.0.1:8787", ""))
    assert up.status_code == 200 and "useful" in up.text
    forged = await client.get(f"/feedback/{run_id}/up?sig=deadbeef")
    assert forged.status_code == 403
    summary = FeedbackStore(engine.store.engine).summary(integration="ticket-summary")
    assert summary["total"] == 2 and summary["useful"] == 1 and summary["useful_share"] == 0.5
    assert summary["comments"] == [{"run_id": run_id, "useful": False, "comment": "missed the SLA"}]
    unknown = await client.post("/api/runs/run_nope/feedback", json={"useful": True})
    assert unknown.status_code == 404
    invalid = await client.post(f"/api/runs/{run_id}/feedback", json={"useful": "yes"})
    assert invalid.status_code == 400


async def test_flag_api_refuses_wrong_types_with_400_not_500(client: httpx.AsyncClient) -> None:
    # The long `make fuzz` run found 500s here: a non-string reason reached the database (SQLite
    # cannot bind a dict/list). Each of these must be a 400 in the one error format, and change nothing.
    cases: list[tuple[bytes, str]] = [
        (b'{"mode": "off", "reason": {"a": 1}}', "reason must be a string"),
        (b'{"mode": "off", "reason": [1]}', "reason must be a string"),
        (b'{"mode": "off", "reason": 7}', "reason must be a string"),
        (b'{"mode": "percent", "percent": "10"}', "percent must be a number"),
        (b'{"mode": "percent", "percent": true}', "percent must be a number"),
        (b'{"mode": "percent", "percent": NaN}', "percent must be between 0 and 100"),
        (b'{"mode": "percent", "percent": 1e999}', "percent must be between 0 and 100"),
        (b'["off"]', "must be a JSON object"),
        (b'{"mode": ', "invalid JSON"),
    ]
    for body, message in cases:
        resp = await client.put(
            "/admin/flags/ticket-summary", content=body, headers={"Content-Type": "application/json"}
        )
        assert resp.status_code == 400, (body, resp.text)
        assert message in resp.json()["error"]["message"], body
    listed = await client.get("/admin/flags")
    assert listed.json()["flags"][0]["override"] is None
