"""The select step: only named fields reach the prompt, as plain text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import structlog
from pydantic import ValidationError

from patchbay.pipeline.state import RunState
from patchbay.pipeline.step import Resources
from patchbay.steps.select import TRUNCATED, Config, build, flatten_adf

FIXTURES = Path(__file__).parent.parent / "fixtures"

ADF = {
    "type": "doc",
    "version": 1,
    "content": [
        {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Steps"}]},
        {
            "type": "paragraph",
            "content": [
                {"type": "text", "text": "Login fails for "},
                {"type": "mention", "attrs": {"id": "abc", "text": "@Ann Lee"}},
                {"type": "text", "text": " since ", "marks": [{"type": "strong"}]},
                {
                    "type": "text",
                    "text": "the release",
                    "marks": [{"type": "link", "attrs": {"href": "https://x"}}],
                },
                {"type": "text", "text": "."},
            ],
        },
        {
            "type": "bulletList",
            "content": [
                {
                    "type": "listItem",
                    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "one"}]}],
                },
                {
                    "type": "listItem",
                    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "two"}]}],
                },
            ],
        },
        {
            "type": "mediaSingle",
            "content": [
                {"type": "media", "attrs": {"id": "f00", "type": "file", "collection": "attachments"}}
            ],
        },
        {
            "type": "paragraph",
            "content": [
                {"type": "text", "text": "line1"},
                {"type": "hardBreak"},
                {"type": "text", "text": "line2"},
            ],
        },
    ],
}


def state(event: dict[str, Any]) -> RunState:
    return RunState(run_id="r1", integration="triage", delivery_id="d1", event=event)


async def select(event: dict[str, Any], **options: Any) -> dict[str, Any]:
    step = build(Config.model_validate(options), None)  # type: ignore[arg-type]
    result = await step.run(state(event), Resources())
    assert result.event == event  # the original event is never modified
    assert result.selected is not None
    return result.selected


def jira_event() -> dict[str, Any]:
    event: dict[str, Any] = json.loads((FIXTURES / "jira" / "cloud_issue_created.json").read_text())
    event["issue"]["fields"]["attachment"] = [
        {
            "self": "https://example.atlassian.net/rest/api/2/attachment/1",
            "filename": "passwords.xlsx",
            "content": "https://example.atlassian.net/secure/attachment/1/passwords.xlsx",
        }
    ]
    return event


async def test_keeps_only_named_fields_and_never_attachments_avatars_or_self_urls() -> None:
    selected = await select(
        jira_event(),
        fields={
            "key": "issue.key",
            "title": "issue.fields.summary",
            "priority": "issue.fields.priority.name",
            "labels": "issue.fields.labels",
        },
    )
    assert selected == {
        "key": "SUP-42",
        "title": "Cannot log in after SSO change",
        "priority": "Medium",
        "labels": "sso, login",
    }
    dumped = json.dumps(selected)
    assert "attachment" not in dumped and "self" not in dumped and "atlassian.net" not in dumped


async def test_objects_are_dropped_unless_a_deeper_path_is_selected() -> None:
    with structlog.testing.capture_logs() as logs:
        selected = await select(
            jira_event(),
            fields={
                "priority": "issue.fields.priority",
                "files": "issue.fields.attachment",
                "file": "issue.fields.attachment.0.filename",
            },
        )
    assert selected == {"priority": None, "files": None, "file": "passwords.xlsx"}
    reasons = {entry["field"]: entry["reason"] for entry in logs if entry["event"] == "select.value_dropped"}
    assert "deeper path" in reasons["priority"]
    assert "files" in reasons


async def test_missing_fields_become_null_and_are_logged_not_fatal() -> None:
    with structlog.testing.capture_logs() as logs:
        selected = await select(
            {"issue": {"key": "A-1"}},
            fields={
                "key": "issue.key",
                "env": "issue.fields.environment",
                "desc": "issue.fields.description",
            },
            optional=["env"],
        )
    assert selected == {"key": "A-1", "env": None, "desc": None}
    missing = {
        entry["field"]: entry["log_level"] for entry in logs if entry["event"] == "select.field_missing"
    }
    assert missing == {"env": "debug", "desc": "warning"}


async def test_adf_description_is_flattened_to_plain_text_without_media() -> None:
    selected = await select(
        {"issue": {"fields": {"description": ADF}}}, fields={"d": "issue.fields.description"}
    )
    assert selected["d"] == "Steps\nLogin fails for @Ann Lee since the release.\n- one\n- two\nline1\nline2"


def test_flatten_adf_ignores_unknown_nodes() -> None:
    assert flatten_adf({"type": "doc", "content": [{"type": "whatever", "content": "not a list"}]}) == ""


async def test_long_text_is_cut_at_a_word_boundary() -> None:
    text = "word " * 30 + "supercalifragilistic " + "tail " * 30
    selected = await select({"t": text}, fields={"t": "t"}, max_chars=160)
    value = selected["t"]
    assert value.endswith(TRUNCATED)
    assert len(value) <= 160
    assert value[: -len(TRUNCATED)].split()[-1] in {"word", "supercalifragilistic", "tail"}


async def test_short_text_and_scalars_are_kept_as_they_are() -> None:
    selected = await select({"a": "short", "n": 3, "b": False}, fields={"a": "a", "n": "n", "b": "b"})
    assert selected == {"a": "short", "n": 3, "b": False}


def test_config_needs_at_least_one_field_and_known_optional_names() -> None:
    with pytest.raises(ValidationError):
        Config.model_validate({"fields": {}})
    with pytest.raises(ValidationError, match="not output names"):
        Config.model_validate({"fields": {"a": "x"}, "optional": ["b"]})
