"""The write step: writes once, skips the safe fallback, only plans in a dry run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from patchbay import registry
from patchbay.connectors.jira.target import Config as JiraConfig
from patchbay.connectors.jira.target import JiraTarget
from patchbay.connectors.memory import MemoryTarget
from patchbay.errors import StepError
from patchbay.http import HttpClientFactory
from patchbay.pipeline.state import ModelAnswer, RunState
from patchbay.pipeline.step import Resources, Step
from patchbay.steps.write import Config, WriteStep, idempotency_key

EVENT = {
    "webhookEvent": "jira:issue_created",
    "issue": {"key": "SUP-42", "fields": {"summary": "Login fails"}},
}


@pytest.fixture(autouse=True)
def clean() -> Iterator[None]:
    MemoryTarget.clear()
    yield
    MemoryTarget.clear()


def state(**updates: Any) -> RunState:
    values: dict[str, Any] = {
        "run_id": "r-1",
        "integration": "triage",
        "delivery_id": "d-1",
        "event": EVENT,
        "answer": ModelAnswer(text="Login fails after SSO change.", provider="local"),
        "output": "Login fails after SSO change.",
    }
    values.update(updates)
    return RunState(**values)


def step(**options: Any) -> WriteStep:
    module = registry.load("step", "write")
    config = module.Config.model_validate({"target": "notes", "field": "customfield_10050", **options})
    built = module.build(config, registry.BuildContext(name="triage.write", http=HttpClientFactory()))
    assert isinstance(built, WriteStep) and isinstance(built, Step)
    return built


def resources() -> Resources:
    return Resources(targets={"notes": MemoryTarget("notes")})


async def test_writes_the_output_once_per_delivery() -> None:
    first = await step().run(state(), resources())
    assert first.write is not None and first.write.status == "written"
    again = await step().run(state(run_id="r-2"), resources())
    assert again.write is not None and again.write.status == "already_written"
    (entry,) = MemoryTarget.store("notes")
    assert entry["record"] == "SUP-42" and entry["text"] == "Login fails after SSO change."
    assert entry["idempotency_key"] == idempotency_key("triage", "d-1")


async def test_other_slots_are_left_alone() -> None:
    before = state()
    after = await step().run(before, resources())
    assert after.model_dump(exclude={"write"}) == before.model_dump(exclude={"write"})
    assert before.write is None


def test_idempotency_key_is_stable_and_distinct() -> None:
    key = idempotency_key("triage", "d-1")
    assert key == idempotency_key("triage", "d-1")
    assert key.startswith("pb1-") and len(key) == 4 + 32
    assert key != idempotency_key("triage", "d-2") != idempotency_key("other", "d-1")


async def test_safe_fallback_message_is_not_written() -> None:
    answer = ModelAnswer(text="Summary unavailable.", provider="fallback", fallback=True, safe_fallback=True)
    result = await step().run(state(answer=answer, output="Summary unavailable."), resources())
    assert result.write is not None and result.write.status == "skipped"
    assert result.write.detail == "the model fell back to the safe message; nothing written"
    assert MemoryTarget.store("notes") == []


async def test_safe_fallback_is_written_when_asked() -> None:
    answer = ModelAnswer(text="Summary unavailable.", provider="fallback", safe_fallback=True)
    result = await step(on_fallback="write").run(state(answer=answer), resources())
    assert result.write is not None and result.write.status == "written"


async def test_dry_run_plans_the_exact_jira_request_and_sends_nothing() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(204)

    http = HttpClientFactory(transport=httpx.MockTransport(handler))
    config = JiraConfig.model_validate(
        {"base_url": "https://acme.atlassian.net", "auth": {"kind": "bearer", "token": "tok-123"}}
    )
    jira = JiraTarget(config, registry.BuildContext(name="notes", http=http))
    result = await step(format="rich").run(state(dry_run=True), Resources(targets={"notes": jira}))
    assert result.write is not None and result.write.status == "dry_run"
    field_put = result.write.requests[0]
    assert field_put.url == "https://acme.atlassian.net/rest/api/3/issue/SUP-42?notifyUsers=false"
    assert field_put.json_body["fields"]["customfield_10050"]["type"] == "doc"
    assert field_put.headers["Authorization"] == "Bearer ***"
    assert sent == []


async def test_missing_output_says_which_step_is_missing() -> None:
    with pytest.raises(StepError, match="needs a postprocess \\(or model\\) step before it"):
        await step().run(state(output=None), resources())


async def test_unknown_target_at_run_time_is_a_step_error() -> None:
    with pytest.raises(StepError, match="'nowhere'"):
        await step(target="nowhere").run(state(), resources())


def test_config_names_its_target_and_checks_the_record_path() -> None:
    assert Config(target="jira-prod").refs() == [("target", "target", "jira-prod")]
    with pytest.raises(ValidationError):
        Config(target="x", record="issue..key")
    with pytest.raises(ValidationError):
        Config.model_validate({"target": "x", "format": "html"})
