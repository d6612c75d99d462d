"""The validate step: every bad path named at once; bad schemas are config errors."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from patchbay.errors import EventError
from patchbay.pipeline.state import RunState
from patchbay.pipeline.step import Resources
from patchbay.steps.validate import Config, build


def state(event: dict[str, Any]) -> RunState:
    return RunState(run_id="r1", integration="triage", delivery_id="d1", event=event)


def step(**options: Any) -> Any:
    return build(Config.model_validate(options), None)  # type: ignore[arg-type]


GOOD = {"issue": {"key": "SUP-1", "fields": {"summary": "Login fails", "labels": ["sso"], "priority": 2}}}


async def test_valid_event_passes_through_unchanged() -> None:
    s = state(GOOD)
    result = await step(required=["issue.key", "issue.fields.summary", "issue.fields.labels.0"]).run(
        s, Resources()
    )
    assert result == s


async def test_error_lists_every_missing_or_empty_path() -> None:
    event = {"issue": {"key": "", "fields": {"summary": "   ", "labels": []}}}
    with pytest.raises(EventError) as info:
        await step(required=["issue.key", "issue.fields.summary", "issue.fields.labels.0", "issue.id"]).run(
            state(event), Resources()
        )
    message = info.value.message
    assert "4 problems" in message
    assert "issue.key: required, is empty" in message
    assert "issue.fields.summary: required, is empty" in message
    assert "issue.fields.labels.0: required, missing" in message
    assert "issue.id: required, missing" in message


async def test_schema_problems_name_path_and_expectation_without_quoting_the_event() -> None:
    schema = {
        "type": "object",
        "required": ["issue"],
        "properties": {
            "issue": {
                "type": "object",
                "required": ["key", "fields"],
                "properties": {
                    "key": {"type": "string", "pattern": "^[A-Z]+-[0-9]+$"},
                    "fields": {"type": "object", "properties": {"priority": {"type": "string"}}},
                },
            }
        },
    }
    event = {"issue": {"key": "secret-value-not-a-key", "fields": {"priority": 2}}}
    with pytest.raises(EventError) as info:
        await step(json_schema=schema, required=["issue.fields.summary"]).run(state(event), Resources())
    message = info.value.message
    assert "issue.key: expected pattern" in message
    assert "issue.fields.priority: expected type string" in message
    assert "issue.fields.summary: required, missing" in message
    assert "secret-value-not-a-key" not in message


async def test_schema_required_names_each_missing_key() -> None:
    schema = {"type": "object", "required": ["issue", "webhookEvent"]}
    with pytest.raises(EventError) as info:
        await step(json_schema=schema).run(state({}), Resources())
    assert "issue: required by the schema, missing" in info.value.message
    assert "webhookEvent: required by the schema, missing" in info.value.message


def test_bad_schema_is_a_config_error() -> None:
    with pytest.raises(ValidationError) as info:
        Config.model_validate({"json_schema": {"type": "objekt"}})
    assert "not a valid JSON Schema" in str(info.value)
    assert "json_schema" in str(info.value)


def test_malformed_required_path_is_a_config_error() -> None:
    with pytest.raises(ValidationError, match="empty segment"):
        Config.model_validate({"required": ["issue..key"]})


def test_unknown_option_is_a_config_error() -> None:
    with pytest.raises(ValidationError, match="required_fields"):
        Config.model_validate({"required_fields": ["issue.key"]})
