"""The sanitize step: selected fields in, placeholders and per-type counts out."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from pydantic import ValidationError

from patchbay.pipeline.state import RunState
from patchbay.pipeline.step import Resources
from patchbay.sanitize import ENTITY_TYPES
from patchbay.steps.sanitize import Config, Entity, build


def step(**options: Any) -> Any:
    return build(Config.model_validate(options), None)  # type: ignore[arg-type]


def state(event: dict[str, Any], selected: dict[str, Any] | None = None) -> RunState:
    return RunState(run_id="r1", integration="triage", delivery_id="d1", event=event, selected=selected)


async def test_sanitizes_selected_fields_with_one_numbering() -> None:
    selected = {
        "title": "Refund for ann@example.com",
        "description": "ann@example.com, card 4111-1111-1111-1111",
    }
    event = {"issue": {"fields": {"summary": "Refund for ann@example.com"}}}
    result = await step().run(state(event, selected), Resources())
    assert result.sanitized == {"title": "Refund for <EMAIL_1>", "description": "<EMAIL_1>, card <CARD_1>"}
    assert result.findings == {"email": 2, "card": 1}
    assert result.selected == selected  # select's slot is untouched
    assert result.event == event


async def test_without_a_select_step_the_event_is_sanitized() -> None:
    result = await step().run(state({"body": "password=hunter2"}), Resources())
    assert result.sanitized == {"body": "password=<SECRET_1>"}
    assert result.findings == {"secret": 1}


async def test_allow_list_entities_and_region_are_applied() -> None:
    s = step(
        entities=["email", "phone"],
        phone_region="gb",
        allow=["support@example.com"],
        allow_patterns=[r".*@noreply\.example\.com"],
    )
    selected = {"t": "support@example.com, bot@noreply.example.com, ann@x.io, 020 7946 0958, password=x1y2z3"}
    result = await s.run(state({}, selected), Resources())
    assert result.sanitized == {
        "t": "support@example.com, bot@noreply.example.com, <EMAIL_1>, <PHONE_1>, password=x1y2z3"
    }


def test_default_entities_are_all_types() -> None:
    assert Config().entities == list(ENTITY_TYPES)
    assert set(get_args(Entity)) == set(ENTITY_TYPES)


def test_bad_regex_is_a_config_error_naming_the_pattern() -> None:
    with pytest.raises(ValidationError) as info:
        Config.model_validate({"allow_patterns": ["ok", "(unclosed"]})
    assert "allow_patterns[1] '(unclosed' is not a valid regular expression" in str(info.value)


def test_unknown_entity_is_a_config_error_listing_allowed_ones() -> None:
    with pytest.raises(ValidationError) as info:
        Config.model_validate({"entities": ["ssn"]})
    assert "url_credentials" in str(info.value)
