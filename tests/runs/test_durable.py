"""Durable runs in-process: webhook -> DBOS queue -> steps -> write-back, deduplicated."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from fakes import FakeJira, FakeOpenAI
from patchbay.runs.durable import DurableEngine, run_id_for
from projects import encode, signed, ticket, wait_final


async def test_delivery_runs_and_writes_back_once(
    engine: DurableEngine, client: httpx.AsyncClient, fake_jira: FakeJira
) -> None:
    body = encode(ticket("SUP-7"))
    resp = await client.post("/hooks/ticket-summary", content=body, headers=signed(body, delivery_id="d-1"))
    assert resp.status_code == 202, resp.text
    data = resp.json()
    assert data["status"] == "accepted" and data["run_id"] == run_id_for("ticket-summary", "d-1")

    row = await wait_final(engine.store, data["run_id"])
    assert row["status"] == "succeeded", row["error"]
    assert row["provider"] == "primary" and row["tokens_in"] == 120 and row["tokens_out"] == 40
    assert set(row["step_timings"]) == {
        "validate",
        "select",
        "sanitize",
        "prompt",
        "model",
        "postprocess",
        "write",
    }
    assert row["write_status"] == "written"
    writes = fake_jira.field_writes()
    assert len(writes) == 1
    assert writes[0].path.startswith("/rest/api/3/issue/SUP-7")
    assert writes[0].json()["fields"]["customfield_10050"] == row["output"]
    # what went to the model was sanitized; the record keeps the sanitized view apart from the event
    state = row["state"]
    assert "anna@example.org" not in state["prompt"] and "555 0132" not in state["prompt"]
    assert state["findings"].get("email") == 1
    assert row["event"]["issue"]["key"] == "SUP-7"


async def test_duplicate_delivery_runs_once(
    engine: DurableEngine, client: httpx.AsyncClient, fake_jira: FakeJira, fake_openai: FakeOpenAI
) -> None:
    body = encode(ticket("SUP-8"))
    headers = signed(body, delivery_id="dup-1")
    first = await client.post("/hooks/ticket-summary", content=body, headers=headers)
    assert first.status_code == 202
    again = await asyncio.gather(
        *[client.post("/hooks/ticket-summary", content=body, headers=headers) for _ in range(4)]
    )
    assert [r.status_code for r in again] == [200] * 4
    assert all(r.json()["duplicate"] is True and r.json()["run_id"] == first.json()["run_id"] for r in again)
    await wait_final(engine.store, first.json()["run_id"])
    await asyncio.sleep(0.5)  # give a wrongly started second run the time to show up
    assert engine.store.count() == 1
    assert len(fake_jira.field_writes()) == 1
    assert len(fake_openai.completions()) == 1
    late = await client.post("/hooks/ticket-summary", content=body, headers=headers)
    assert late.status_code == 200 and late.json()["duplicate"] is True


async def test_redelivery_without_id_is_deduplicated_by_body_hash(
    engine: DurableEngine, client: httpx.AsyncClient
) -> None:
    body = encode(ticket("SUP-9"))
    first = await client.post("/hooks/ticket-summary", content=body, headers=signed(body))
    second = await client.post("/hooks/ticket-summary", content=body, headers=signed(body))
    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json()["delivery_id"].startswith("sha256:")
    assert second.json()["run_id"] == first.json()["run_id"]


@pytest.mark.parametrize("engine", ["[primary]"], indirect=True)
async def test_garbage_answer_is_not_written(
    engine: DurableEngine, client: httpx.AsyncClient, fake_jira: FakeJira, fake_openai: FakeOpenAI
) -> None:
    fake_openai.answer = "   "
    body = encode(ticket("SUP-10"))
    resp = await client.post("/hooks/ticket-summary", content=body, headers=signed(body, delivery_id="g-1"))
    row = await wait_final(engine.store, resp.json()["run_id"])
    assert row["status"] == "fallback"  # the safe message is a fallback, never a success
    assert row["fallback_used"] is True
    assert row["write_status"] == "skipped"
    assert fake_jira.field_writes() == []


async def test_target_rejection_fails_the_run_with_the_reason(
    engine: DurableEngine, client: httpx.AsyncClient, fake_jira: FakeJira
) -> None:
    body = encode(ticket("not a key"))
    resp = await client.post(
        "/hooks/ticket-summary", content=body, headers=signed(body, delivery_id="bad-key")
    )
    row = await wait_final(engine.store, resp.json()["run_id"])
    assert row["status"] == "failed" and row["error_step"] == "write"
    assert row["error"] and "key" in row["error"].lower()
    assert fake_jira.field_writes() == []
