"""The prompt step: trusted templates in a sandbox, ticket text only ever data."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from patchbay.errors import ConfigError, StepError
from patchbay.pipeline.state import RunState
from patchbay.pipeline.step import Resources
from patchbay.steps.prompt import Config, build


def state(sanitized: dict[str, Any]) -> RunState:
    return RunState(run_id="r1", integration="triage", delivery_id="d1", event={}, sanitized=sanitized)


async def render(sanitized: dict[str, Any], **options: Any) -> RunState:
    step = build(Config.model_validate(options), None)  # type: ignore[arg-type]
    return await step.run(state(sanitized), Resources())


async def test_renders_system_and_user_messages_from_the_sanitized_view() -> None:
    result = await render(
        {"title": "Login fails", "description": "Reported by <EMAIL_1>"},
        system="You triage tickets for {{ ticket.title | length }}-char titles.",
        template="Title: {{ ticket.title }}\n{{ ticket.description }}",
    )
    assert result.system_prompt == "You triage tickets for 11-char titles."
    assert result.prompt == "Title: Login fails\nReported by <EMAIL_1>"


async def test_template_syntax_inside_ticket_text_is_rendered_literally() -> None:
    hostile = "{{ 7*7 }} {% raw %}{{ config }}{% endraw %} {{ ''.__class__.__mro__ }} {% for x in range(9) %}"
    result = await render({"title": hostile}, template="T: {{ ticket.title }}")
    assert result.prompt == f"T: {hostile}"
    assert "49" not in (result.prompt or "")


async def test_null_fields_render_empty_not_none() -> None:
    result = await render(
        {"title": "x", "description": None}, template="{{ ticket.title }}|{{ ticket.description }}|"
    )
    assert result.prompt == "x||"


@pytest.mark.parametrize(
    "template",
    [
        "{{ ticket.__class__.__mro__ }}",
        "{{ ''.__class__ }}",
        "{{ ticket.title.__class__.__base__ }}",
        "{{ ticket.pop('title') }}",
    ],
)
async def test_attribute_walks_in_the_template_are_refused(template: str) -> None:
    with pytest.raises(StepError) as info:
        await render({"title": "x"}, template=template)
    assert "sandbox forbids" in info.value.message
    assert "user template" in info.value.message


async def test_undefined_variable_names_it_and_the_available_keys() -> None:
    with pytest.raises(StepError) as info:
        await render({"title": "x", "key": "SUP-1"}, template="{{ ticket.titel }}")
    message = info.value.message
    assert "titel" in message and "key, title" in message
    with pytest.raises(StepError, match="'issue' is undefined"):
        await render({"title": "x"}, system="{{ issue.key }}", template="ok")


async def test_variable_name_is_configurable() -> None:
    result = await render({"title": "x"}, template="{{ issue.title }}", variable="issue")
    assert result.prompt == "x"


def test_syntax_error_is_a_config_error_naming_the_template_line() -> None:
    with pytest.raises(ValidationError) as info:
        Config.model_validate({"template": "line one\n{{ ticket.title }\nline three"})
    assert "template has a Jinja2 syntax error on template line 2" in str(info.value)
    with pytest.raises(ValidationError, match="system has a Jinja2 syntax error on template line 1"):
        Config.model_validate({"template": "ok", "system": "{% if %}"})
    with pytest.raises(ValidationError, match="cannot be a template variable name"):
        Config.model_validate({"template": "ok", "variable": "not-a-name"})


def test_bad_template_regex_and_schema_fail_when_the_project_loads(tmp_path: Path) -> None:
    pytest.importorskip("patchbay.connectors.jira.source")
    from patchbay.config.loader import load_project

    (tmp_path / "patchbay.yaml").write_text(
        textwrap.dedent(
            """\
            integrations:
              triage:
                trigger:
                  source: jira
                  allow_unsigned: true
                steps:
                  - validate:
                      json_schema: {type: objekt}
                  - sanitize:
                      allow_patterns: ["(unclosed"]
                  - prompt:
                      template: "Summarize {{ ticket.title }"
            """
        )
    )
    with pytest.raises(ConfigError) as info:
        load_project(tmp_path, env={})
    text = str(info.value)
    assert "patchbay.yaml:8" in text and "not a valid JSON Schema" in text
    assert "patchbay.yaml:10" in text and "not a valid regular expression" in text
    assert "patchbay.yaml:12" in text and "syntax error on template line 1" in text


async def test_render_time_cap_stops_a_runaway_template_with_a_clear_error() -> None:
    loop = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}.{% endfor %}"
    with pytest.raises(StepError, match=r"longer than 0.2 s to render \(prompt.max_render_s\)"):
        await render({}, template=loop, max_render_s=0.2, max_output_chars=10_000_000)


async def test_output_size_cap_bounds_the_prompt_however_long_the_ticket() -> None:
    long_ticket = {"description": "word " * 50_000}  # 250,000 characters of ticket text
    with pytest.raises(StepError, match=r"longer than 200000 characters \(prompt.max_output_chars\)"):
        await render(long_ticket, template="{{ ticket.description }}")
    fits = await render({"description": "word " * 1000}, template="{{ ticket.description }}")
    assert len(fits.prompt or "") == 5000
    with pytest.raises(StepError, match="longer than 1000 characters"):
        await render({}, template="{% for i in range(5000) %}x{% endfor %}", max_output_chars=1000)


async def test_multiplication_cannot_build_huge_values_in_one_expression() -> None:
    for template in ("{{ 'x' * 10**9 }}", "{{ [1] * 10**8 }}", "{{ 9 ** 9999999 }}"):
        with pytest.raises(StepError, match="sandbox forbids"):
            await render({}, template=template)
    assert (await render({}, template="{{ '-' * 3 }}{{ 2 ** 10 }}")).prompt == "---1024"


def test_caps_are_config_knobs_with_checked_bounds() -> None:
    assert Config(template="x").max_render_s == 1.0 and Config(template="x").max_output_chars == 200_000
    with pytest.raises(ValidationError, match="max_render_s"):
        Config(template="x", max_render_s=0)
