"""Dead letters, replays, Retry-After, back-pressure and pruning - in-process, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from dbos._error import DBOSUnexpectedStepError

from fakes import FakeJira, FakeOpenAI, json_reply
from patchbay.runs.durable import DurableEngine, _prune_step
from projects import encode, signed, ticket, wait_final

FIELD_NOT_ON_SCREEN = json_reply(
    400, {"errorMessages": [], "errors": {"customfield_10050": "Field 'customfield_10050' cannot be set."}}
)


async def deliver(client: httpx.AsyncClient, key: str, delivery_id: str) -> str:
    body = encode(ticket(key))
    resp = await client.post(
        "/hooks/ticket-summary", content=body, headers=signed(body, delivery_id=delivery_id)
    )
    assert resp.status_code == 202, resp.text
    return str(resp.json()["run_id"])


async def test_permanent_error_dead_letters_with_step_error_and_attempts(
    engine: DurableEngine, client: httpx.AsyncClient, fake_jira: FakeJira
) -> None:
    fake_jira.fail_field_puts.append(FIELD_NOT_ON_SCREEN)
    run_id = await deliver(client, "SUP-21", "dl-1")
    row = await wait_final(engine.store, run_id)
    assert row["status"] == "failed" and row["error_step"] == "write"
    assert "customfield_10050" in row["error"]
    assert row["attempts"][-1]["step"] == "write" and row["attempts"][-1]["status_code"] == 400
    assert fake_jira.accepted == []
    failed = await client.get("/admin/runs", params={"status": "failed"})
    assert [r["run_id"] for r in failed.json()["runs"]] == [run_id]


async def test_replay_from_the_failed_step_reuses_the_model_answer(
    engine: DurableEngine, client: httpx.AsyncClient, fake_jira: FakeJira, fake_openai: FakeOpenAI
) -> None:
    fake_jira.fail_field_puts.append(FIELD_NOT_ON_SCREEN)
    run_id = await deliver(client, "SUP-22", "rp-1")
    failed = await wait_final(engine.store, run_id)
    assert failed["status"] == "failed"

    resp = await client.post(f"/admin/runs/{run_id}/replay", json={})
    assert resp.status_code == 202, resp.text
    new_id = resp.json()["run_id"]
    replay = await wait_final(engine.store, new_id)
    assert replay["status"] == "succeeded", replay["error"]
    assert replay["replay_of"] == run_id and replay["delivery_id"] == f"rp-1#{new_id}"
    assert len(fake_openai.completions()) == 1  # forked after the model: its recorded answer was reused
    assert len(fake_jira.accepted) == 1
    assert engine.store.get(run_id)["status"] == "failed"  # the original stays as it was

    again = await client.post(f"/admin/runs/{run_id}/replay", json={"from_step": "model"})
    newer = await wait_final(engine.store, again.json()["run_id"])
    assert newer["status"] == "succeeded"
    assert len(fake_openai.completions()) == 2  # from 'model': asked again
    assert len(fake_jira.accepted) == 1  # same delivery, same idempotency key: not written twice
    assert newer["write_status"] == "already_written"


async def test_replay_without_a_usable_history_starts_over_unless_a_step_was_asked_for(
    engine: DurableEngine, client: httpx.AsyncClient, fake_jira: FakeJira, fake_openai: FakeOpenAI
) -> None:
    fake_jira.fail_field_puts.append(FIELD_NOT_ON_SCREEN)
    run_id = await deliver(client, "SUP-26", "rp-3")
    assert (await wait_final(engine.store, run_id))["status"] == "failed"
    await asyncio.to_thread(engine.client.delete_workflows, [run_id])  # history pruned, or an old layout

    asked = await client.post(f"/admin/runs/{run_id}/replay", json={"from_step": "write"})
    assert asked.status_code == 409 and "from the start" in asked.json()["error"]["message"]
    resp = await client.post(f"/admin/runs/{run_id}/replay", json={})  # default: the failed step
    assert resp.status_code == 202, resp.text
    replay = await wait_final(engine.store, resp.json()["run_id"])
    assert replay["status"] == "succeeded", replay["error"]
    assert len(fake_openai.completions()) == 2  # started over: the model was asked again
    assert len(fake_jira.accepted) == 1


async def test_replay_errors_are_clear(engine: DurableEngine, client: httpx.AsyncClient) -> None:
    missing = await client.post("/admin/runs/run_nope/replay", json={})
    assert missing.status_code == 404 and "no run" in missing.json()["error"]["message"]
    run_id = await deliver(client, "SUP-23", "rp-2")
    await wait_final(engine.store, run_id)
    bad = await client.post(f"/admin/runs/{run_id}/replay", json={"from_step": "summarize", "force": True})
    assert bad.status_code == 409 and "validate" in bad.json()["error"]["message"]
    garbage = await client.post(f"/admin/runs/{run_id}/replay", content=b"{nope")
    assert garbage.status_code == 400 and garbage.json()["error"]["code"] == "invalid_json"


async def test_replay_all_failed(
    engine: DurableEngine, client: httpx.AsyncClient, fake_jira: FakeJira
) -> None:
    fake_jira.fail_field_puts.extend([FIELD_NOT_ON_SCREEN, FIELD_NOT_ON_SCREEN])
    first = await deliver(client, "SUP-24", "af-1")
    await wait_final(engine.store, first)
    second = await deliver(client, "SUP-25", "af-2")
    await wait_final(engine.store, second)
    resp = await client.post("/admin/runs/replay", json={"all_failed": True, "integration": "ticket-summary"})
    assert resp.status_code == 202
    replayed = resp.json()["replayed"]
    assert sorted(r["replay_of"] for r in replayed) == sorted([first, second])
    for item in replayed:
        assert (await wait_final(engine.store, item["run_id"]))["status"] == "succeeded"
    assert sorted(r.path.split("?")[0] for r in fake_jira.accepted) == [
        "/rest/api/3/issue/SUP-24",
        "/rest/api/3/issue/SUP-25",
    ]


async def test_429_with_retry_after_is_waited_out_and_written_once(
    engine: DurableEngine, client: httpx.AsyncClient, fake_jira: FakeJira
) -> None:
    fake_jira.fail_field_puts.append(json_reply(429, {"errorMessages": ["slow down"]}, {"Retry-After": "1"}))
    run_id = await deliver(client, "SUP-26", "rl-1")
    row = await wait_final(engine.store, run_id)
    assert row["status"] == "succeeded"
    (attempt,) = row["attempts"]
    assert attempt["step"] == "write" and attempt["status_code"] == 429 and attempt["retry_in_s"] == 1.0
    assert len(fake_jira.accepted) == 1


async def test_503s_until_the_retries_run_out_dead_letter_the_run(
    engine: DurableEngine, client: httpx.AsyncClient, fake_jira: FakeJira
) -> None:
    unavailable = json_reply(503, {"errorMessages": ["down"]}, {"Retry-After": "0"})
    fake_jira.fail_field_puts.extend([unavailable] * 3)
    run_id = await deliver(client, "SUP-27", "rl-2")
    row = await wait_final(engine.store, run_id)
    assert row["status"] == "failed" and row["error_code"] == "target_unavailable"
    assert [a["attempt"] for a in row["attempts"]] == [1, 2, 3]
    assert fake_jira.accepted == []


async def test_truncated_model_body_falls_back_and_writes_the_fallback_summary(
    engine: DurableEngine, client: httpx.AsyncClient, fake_jira: FakeJira, fake_openai: FakeOpenAI
) -> None:
    fake_openai.raw_reply = (200, {"Content-Type": "application/json"}, b'{"id": "x", "choices": [{"mess')
    run_id = await deliver(client, "SUP-28", "tr-1")
    row = await wait_final(engine.store, run_id)
    assert row["status"] == "fallback" and row["provider"] == "backup"
    assert len(fake_jira.accepted) == 1
    assert json.loads(fake_jira.accepted[0].body)["fields"]["customfield_10050"] == row["output"]


async def test_dedupe_outlives_the_engines_history(engine: DurableEngine, client: httpx.AsyncClient) -> None:
    run_id = await deliver(client, "SUP-29", "old-1")
    await wait_final(engine.store, run_id)
    await asyncio.to_thread(engine.client.delete_workflows, [run_id])  # as the pruning job would
    body = encode(ticket("SUP-29"))
    again = await client.post(
        "/hooks/ticket-summary", content=body, headers=signed(body, delivery_id="old-1")
    )
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert engine.store.count() == 1


async def test_pruning_drops_records_past_the_window_only(
    engine: DurableEngine, client: httpx.AsyncClient
) -> None:
    run_id = await deliver(client, "SUP-30", "pr-1")
    await wait_final(engine.store, run_id)
    fresh = await deliver(client, "SUP-31", "pr-2")
    await wait_final(engine.store, fresh)
    with engine.store.engine.begin() as conn:
        from patchbay.runs.store import runs_table

        conn.execute(
            runs_table.update()
            .where(runs_table.c.run_id == run_id)
            .values(received_at=datetime.now(UTC) - timedelta(days=8))
        )
    counts = await _prune_step()
    assert counts["records"] == 1
    assert engine.store.get(run_id) is None and engine.store.get(fresh) is not None


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_backpressure_answers_503_with_retry_after(
    engine: DurableEngine, client: httpx.AsyncClient, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_openai.gate.clear()  # runs pile up in the queue
    monkeypatch.setattr(engine, "max_queue_depth", 1)
    monkeypatch.setattr(engine, "queue_depth", lambda: 2)
    body = encode(ticket("SUP-32"))
    resp = await client.post("/hooks/ticket-summary", content=body, headers=signed(body, delivery_id="bp-1"))
    assert resp.status_code == 503 and resp.headers["retry-after"] == "5"
    assert resp.json()["error"]["code"] == "overloaded"
    assert engine.store.count() == 0  # refused, not silently dropped: the sender retries
    fake_openai.gate.set()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_queue_depth_counts_waiting_runs(engine: DurableEngine, fake_openai: FakeOpenAI) -> None:
    assert engine.queue_depth() == 0
    engine.shutdown(timeout_s=0)  # nobody dequeues now
    engine.role = "intake"
    engine.launch(heartbeat=False)
    from patchbay.connectors.base import Delivery

    for n in range(3):
        await engine.submit(
            "ticket-summary",
            Delivery(event_type="jira:issue_created", delivery_id=f"q-{n}", event=ticket(f"SUP-4{n}")),
        )
    engine._depth_cache = (0.0, 0)
    assert engine.queue_depth() == 3
    engine.max_queue_depth = 2
    assert engine.overloaded()
    assert await engine.overloaded_async()  # the fresh cached count, read on the event loop
    engine._depth_cache = (0.0, 0)  # stale: re-counted (in a worker thread)
    assert await engine.overloaded_async() and engine._depth_cache[1] == 3
    engine.max_queue_depth = 0  # back-pressure off: never counted
    engine._depth_cache = (0.0, 0)
    assert not await engine.overloaded_async() and engine._depth_cache == (0.0, 0)


def test_an_older_run_database_gets_the_new_columns(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from patchbay.runs.store import RunStore

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # the table as the first release created it
        conn.execute(
            sa.text(
                "CREATE TABLE patchbay_runs (run_id VARCHAR(300) PRIMARY KEY, "
                "integration VARCHAR(200) NOT NULL, delivery_id VARCHAR(300) NOT NULL, "
                "environment VARCHAR(50) NOT NULL, status VARCHAR(20) NOT NULL, "
                "received_at DATETIME NOT NULL, event_type VARCHAR(200))"
            )
        )
    store = RunStore(url)
    columns = {c["name"] for c in sa.inspect(store.engine).get_columns("patchbay_runs")}
    assert {"flag_mode", "attempts", "replay_of", "executor_id", "state"} <= columns
    assert (
        store.create(
            run_id="r1", integration="i", delivery_id="d", environment="dev", event_type=None, event={}
        )
        is True
    )


async def test_only_failed_runs_are_replayed_unless_forced_and_all_failed_is_idempotent(
    engine: DurableEngine, client: httpx.AsyncClient, fake_jira: FakeJira
) -> None:
    ok = await deliver(client, "SUP-80", "idem-0")
    await wait_final(engine.store, ok)
    refused = await client.post(f"/admin/runs/{ok}/replay", json={})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_failed"
    forced = await client.post(f"/admin/runs/{ok}/replay", json={"force": True})
    assert forced.status_code == 202

    fake_jira.fail_field_puts.append(FIELD_NOT_ON_SCREEN)
    bad = await deliver(client, "SUP-81", "idem-1")
    await wait_final(engine.store, bad)
    first = await client.post("/admin/runs/replay", json={"all_failed": True})
    assert [r["replay_of"] for r in first.json()["replayed"]] == [bad]
    await wait_final(engine.store, first.json()["replayed"][0]["run_id"])
    second = await client.post("/admin/runs/replay", json={"all_failed": True})
    assert (
        second.json()["replayed"] == [] and second.json()["failed"] == []
    )  # already replayed: nothing again
    wrong = await client.post("/admin/runs/replay", json={"all_failed": True, "integration": ["x"]})
    assert wrong.status_code == 400


def test_postgres_needs_a_shared_vault_key(tmp_path, pg_url) -> None:  # type: ignore[no-untyped-def]
    from patchbay.config.loader import load_project
    from patchbay.errors import ConfigError
    from patchbay.pipeline.build import build_runtime
    from patchbay.runs.databases import resolve
    from patchbay.runs.store import RunStore
    from projects import write_project

    root = write_project(tmp_path / "p", openai_url="http://127.0.0.1:9", jira_url="http://127.0.0.1:9")
    cfg = root / "patchbay.yaml"
    cfg.write_text(cfg.read_text().replace("vault_key: ${secret:VAULT_KEY}", "phone_region: US", 1))
    project = load_project(root, env={"PATCHBAY_DATABASE_URL": pg_url})
    engine = DurableEngine(build_runtime(project), RunStore(resolve(project).runs_url), executor_id="vk")
    with pytest.raises(ConfigError) as exc:
        engine.launch()
    assert "vault_key" in str(exc.value) and "steps[2].sanitize" in str(exc.value)


async def test_a_run_recorded_under_another_checkpoint_layout_fails_clearly(
    engine: DurableEngine, client: httpx.AsyncClient, fake_jira: FakeJira, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What DBOS raises when a recorded step has another name (an older grouping) becomes a clear,
    replayable failure, not an internal error."""

    async def recorded_elsewhere(*_: object) -> None:
        raise DBOSUnexpectedStepError("run_x", 1, "patchbay.steps:validate+model", "patchbay.step")

    monkeypatch.setattr("patchbay.runs.durable._recorded_group", recorded_elsewhere)
    run_id = await deliver(client, "SUP-27", "layout-1")
    row = await wait_final(engine.store, run_id)
    assert row["status"] == "failed" and row["error_code"] == "checkpoint_layout_changed"
    assert row["error_step"] == "validate" and "--from-step validate" in row["error"]
    assert "--from-step validate" in row["attempts"][-1]["advice"]
    assert fake_jira.accepted == []
