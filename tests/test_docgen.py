"""The configuration reference is generated from the config models and must not drift."""

from __future__ import annotations

from pathlib import Path

from patchbay.docgen import reference_markdown

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "reference.md"


def test_reference_matches_the_models() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == reference_markdown(), (
        "docs/reference.md is out of date: run 'make docs' and commit the result"
    )


def test_reference_documents_every_component_option() -> None:
    text = reference_markdown()
    for needle in (
        "### `local`",
        "### `openai`",
        "### `prompt-api`",
        "### `jira`",
        "### `sanitize`",
        "`fallback_message`",
        "`max_body_bytes`",
        "`executor_id`",
    ):
        assert needle in text
